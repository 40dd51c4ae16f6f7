"""The attribution stage: explain the selected cases, a hypothesis grid and per-class means.

``run_attributions`` is the only function the pipeline calls; it returns an immutable
``AttributionResult``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from reportgen.attributions.base import Explainer, default_batch_size
from reportgen.attributions.registry import check_methods
from reportgen.attributions.result import AttributionResult, device_name
from reportgen.attributions.settings import AttributionSettings
from reportgen.loading.model import Classifier
from reportgen.loading.store import ImageArray
from reportgen.progress import Advance, Track

CHUNK = 64  # images per explain call: large enough to batch well, small enough to report progress
# Per-class cap for mean maps when only perturbation methods (LIME, SHAP) were chosen: each
# image costs them ~1000 forward passes, so 12 per class would add about a minute on a CPU.
SLOW_MEAN_CAP = 5


def grid_cases(case_indices: np.ndarray, labels: np.ndarray, preds: np.ndarray,
               sink_class: int, n_cases: int = 2) -> np.ndarray:
    """Representative cases: the first correct one, then the first error into the sink class
    (or any error), then further cases in order, up to ``n_cases``."""
    cases = [int(i) for i in case_indices]
    correct = [i for i in cases if labels[i] == preds[i]]
    sunk = [i for i in cases if labels[i] != preds[i] and preds[i] == sink_class]
    wrong = [i for i in cases if labels[i] != preds[i]]
    chosen: list[int] = []
    for index in [*correct[:1], *(sunk or wrong)[:1], *cases]:
        if index not in chosen and len(chosen) < n_cases:
            chosen.append(index)
    return np.array(chosen, dtype=np.int64)


def mean_groups(labels: np.ndarray, preds: np.ndarray, n_classes: int, sink_class: int,
                cap: int, seed: int) -> list[np.ndarray]:
    """K+1 index arrays: up to ``cap`` correct images per class, then errors into the sink.

    Larger groups are subsampled at random (seeded) so every class counts equally.
    """
    rng = np.random.default_rng(seed)
    pools = [np.flatnonzero((labels == k) & (preds == k)) for k in range(n_classes)]
    pools.append(np.flatnonzero((preds == sink_class) & (labels != sink_class)))
    return [np.sort(rng.choice(pool, cap, replace=False)) if len(pool) > cap else pool
            for pool in pools]


def explain_in_chunks(explainer: Explainer, images: np.ndarray, targets: np.ndarray,
                      advance: Advance | None) -> np.ndarray:
    """``explainer.explain`` over chunks of ``CHUNK`` images, reporting progress."""
    maps = np.zeros(images.shape, np.float32)
    for start in range(0, len(images), CHUNK):
        part = slice(start, start + CHUNK)
        maps[part] = explainer.explain(images[part], targets[part])
        if advance is not None:
            advance(len(images[part]))
    return maps


@dataclass(frozen=True)
class _Inputs:
    """What every method explains, gathered once: cases, grid cases and mean groups."""

    pixels: ImageArray  # (N, h, w) uint8, the whole split (read by index only)
    labels: np.ndarray  # (N,)
    preds: np.ndarray  # (N,)
    cases: np.ndarray  # (M,) indices
    grid: np.ndarray  # (G,) indices
    groups: list[np.ndarray]  # K+1 index arrays (empty list: no mean maps)
    n_classes: int
    sink_class: int
    sources: tuple[str, ...]  # (N,) the identifier of each image of the split

    @property
    def case_images(self) -> np.ndarray:
        return self.pixels[self.cases].astype(np.float32)

    @property
    def grid_images(self) -> np.ndarray:
        return self.pixels[self.grid].astype(np.float32)

    @property
    def group_targets(self) -> np.ndarray:
        return np.array([*range(self.n_classes), self.sink_class], dtype=np.int32)

    def mean_images(self) -> np.ndarray:
        """(K+1, h, w) float32 average face per group (zeros for an empty group)."""
        shape = self.pixels.shape[1:]
        faces = [self.pixels[group].astype(np.float32).mean(axis=0) if len(group)
                 else np.zeros(shape, np.float32) for group in self.groups]
        return np.stack(faces) if faces else np.zeros((0, *shape), np.float32)


@dataclass(frozen=True)
class _MethodRun:
    """One method's maps, quality numbers and cost."""

    case_maps: np.ndarray  # (M, h, w)
    grid_maps: np.ndarray  # (G, K, h, w)
    mean_maps: np.ndarray | None  # (K+1, h, w)
    diagnostics: dict[str, float]
    n_images: int
    seconds: float


def _run_method(explainer: Explainer, inputs: _Inputs, with_means: bool,
                advance: Advance | None) -> _MethodRun:
    """One method over cases, grid and (optionally) mean groups."""
    start = time.perf_counter()
    # A case picked by two selection groups is explained once.
    unique, inverse = np.unique(inputs.cases, return_inverse=True)
    images, targets = inputs.pixels[unique].astype(np.float32), inputs.preds[unique]
    unique_maps = explain_in_chunks(explainer, images, targets.astype(np.int32), advance)
    diagnostics = explainer.diagnostics(images, targets, unique_maps)
    case_maps = unique_maps[inverse.reshape(-1)]
    grid_maps = explainer.explain_classes(inputs.grid_images, np.arange(inputs.n_classes))
    if advance is not None:
        advance(len(inputs.grid_images) * inputs.n_classes)
    n_images = len(unique) + len(inputs.grid_images) * inputs.n_classes
    means = []
    for group, target in zip(inputs.groups, inputs.group_targets) if with_means else []:
        images = inputs.pixels[group].astype(np.float32).reshape(-1, *inputs.pixels.shape[1:])
        means.append(explainer.explain_mean(images, np.full(len(group), target, np.int32)))
        if advance is not None:
            advance(len(group))
        n_images += len(group)
    return _MethodRun(case_maps, grid_maps, np.stack(means) if means else None, diagnostics,
                      n_images, time.perf_counter() - start)


def run_attributions(
    classifier: Classifier,
    images: np.ndarray,
    labels: np.ndarray,
    preds: np.ndarray,
    case_indices: np.ndarray,
    sink_class: int,
    methods: Sequence[str],
    settings: AttributionSettings | None = None,
    progress: Track | None = None,
    sources: Sequence[str] | None = None,
    exhaustive: bool = False,
) -> AttributionResult:
    """Explain each selected case for its predicted class with every method.

    ``images`` (N, h, w) uint8 is the whole evaluated split, ``labels``/``preds`` (N,) int,
    ``case_indices`` (M,) rows to explain, ``sink_class`` the most frequent wrong prediction.
    Also explains ``settings.n_grid_cases`` representative cases for every class (the
    hypothesis grid) and averages maps over up to ``settings.mean_cap`` correctly classified
    images per class and over errors into the sink class, for ``settings.mean_methods``
    (default: the unsigned gradient methods chosen, see ``_mean_methods``; without any
    gradient method, the chosen methods with at most ``SLOW_MEAN_CAP`` images per class).
    ``progress(description, total)`` may return an ``advance(n)`` callback. ``sources`` (N,)
    names each image as the rest of the report does (CSV row or file); default ``#index``.
    ``exhaustive`` (or ``settings.exhaustive``) runs the adaptive methods at their full fixed
    sample count. Unknown method names raise InputError.
    """
    config = settings or AttributionSettings()
    config = replace(config, exhaustive=config.exhaustive or exhaustive)
    names = check_methods(methods)
    batch = int(config.batch_size or default_batch_size(classifier))
    config = replace(config, batch_size=batch)
    explainers = {name: config.build(name, classifier) for name in names}
    averaged = _mean_methods(names, explainers, config.mean_methods)
    mean_cap = config.mean_cap
    if config.mean_methods is None and not any(explainers[name].gradient_based
                                               for name in averaged):
        mean_cap = min(mean_cap, SLOW_MEAN_CAP)
    labels, preds = np.asarray(labels), np.asarray(preds)
    cases = np.asarray(case_indices, dtype=np.int64)
    n_classes = int(classifier.model.n_outputs)
    inputs = _Inputs(
        pixels=images if hasattr(images, "shape") else np.asarray(images), labels=labels, preds=preds, cases=cases,
        grid=grid_cases(cases, labels, preds, sink_class, config.n_grid_cases),
        groups=mean_groups(labels, preds, n_classes, sink_class, mean_cap, config.seed)
        if averaged else [],
        n_classes=n_classes, sink_class=int(sink_class),
        sources=tuple(sources) if sources is not None else tuple(f"#{i}" for i in range(len(labels))),
    )
    runs = {}
    for name in names:
        means = sum(map(len, inputs.groups)) if name in averaged else 0
        total = len(np.unique(cases)) + len(inputs.grid) * n_classes + means
        advance = progress(f"attributions: {name}", total) if progress else None
        runs[name] = _run_method(explainers[name], inputs, name in averaged, advance)
    return _result(explainers, runs, averaged, inputs, classifier, batch, config.seed, mean_cap)


def _mean_methods(names: tuple[str, ...], explainers: Mapping[str, Explainer],
                  requested: Sequence[str] | None) -> tuple[str, ...]:
    """The chosen methods to average. By default the unsigned gradient methods (SmoothGrad,
    saliency, Grad-CAM): cheap, and their magnitudes add up across faces, whereas signed
    pixel-level maps (IG) average out to speckle. Failing those, any gradient method, then all.
    """
    if requested is not None:
        return tuple(name for name in check_methods(requested) if name in names)
    gradient = tuple(name for name in names if explainers[name].gradient_based)
    unsigned = tuple(name for name in gradient if explainers[name].display != "signed")
    return unsigned or gradient or names


def _result(explainers: Mapping[str, Explainer], runs: Mapping[str, _MethodRun],
            averaged: tuple[str, ...], inputs: _Inputs, classifier: Classifier, batch: int,
            seed: int, mean_cap: int) -> AttributionResult:
    names = tuple(explainers)
    return AttributionResult(
        methods=names,
        titles={name: explainers[name].title for name in names},
        displays={name: explainers[name].display for name in names},
        figures={name: explainers[name].figure for name in names},
        params={name: dict(explainers[name].params) for name in names},
        descriptions={name: explainers[name].describe() for name in names},
        seconds={name: runs[name].seconds for name in names},
        n_images={name: runs[name].n_images for name in names},
        diagnostics={name: runs[name].diagnostics for name in names},
        device=device_name(), batch_size=batch, seed=seed, sink_class=inputs.sink_class,
        case_indices=inputs.cases,
        case_sources=tuple(inputs.sources[i] for i in inputs.cases),
        case_images=inputs.pixels[inputs.cases].astype(np.uint8),
        case_labels=inputs.labels[inputs.cases], case_preds=inputs.preds[inputs.cases],
        case_probs=classifier.predict(inputs.case_images),
        case_maps={name: runs[name].case_maps for name in names},
        segments={name: explainer.segments(inputs.case_images)
                  for name, explainer in explainers.items() if explainer.needs_segments},
        grid_indices=inputs.grid,
        grid_sources=tuple(inputs.sources[i] for i in inputs.grid),
        grid_images=inputs.pixels[inputs.grid].astype(np.uint8),
        grid_labels=inputs.labels[inputs.grid], grid_preds=inputs.preds[inputs.grid],
        grid_probs=classifier.predict(inputs.grid_images),
        grid_maps={name: runs[name].grid_maps for name in names},
        mean_methods=averaged, mean_cap=int(mean_cap), mean_targets=inputs.group_targets,
        mean_counts=np.array([len(group) for group in inputs.groups], dtype=np.int64),
        mean_images=inputs.mean_images(),
        mean_maps={name: runs[name].mean_maps for name in averaged
                   if runs[name].mean_maps is not None},
    )
