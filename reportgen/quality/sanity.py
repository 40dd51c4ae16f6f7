"""Sanity check by cascading model-parameter randomisation (Adebayo et al., 2018).

The Keras model is cloned (``keras.models.clone_model`` plus a copy of the weights) and its
layers are re-initialised from the top (the logits) down, cumulatively, with each layer's own
initialisers. At each checkpoint of the cascade every method explains the same cases again,
for the same target classes and with the same seed, and its maps are compared with the
original ones. A map that depends on what the model learned must change.

Comparison: Spearman rank correlation and SSIM (``skimage.metrics.structural_similarity``)
between |original| and |randomised| maps, each scaled to 0–1 by its maximum. Absolute values
are compared, as Adebayo et al. did, because a map whose sign flips but whose shape stays is
still the same picture to a reader.

Threshold (documented): after *every* layer is randomised, a method fails when the mean
Spearman correlation is at least ``MAX_SPEARMAN`` = 0.5 or the mean SSIM is at least
``MAX_SSIM`` = 0.5. Independent random maps score about 0 on both; maps that merely trace
the face's edges whatever the weights (the failure Adebayo et al. found) score well above 0.5.

Layers with weights form *blocks*: a layer with a kernel (convolution, dense) together with
the weight layers that follow it before the next kernel (its BatchNormalization). The cascade
checkpoints are: the top block, the top half of the blocks, all blocks; the sampling methods
(LIME, SHAP: ~1000 model calls per image) are checked at the last one only, to save time.
The clone's weights are assigned in place between checkpoints, so every compiled explainer is
traced once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

import keras
import numpy as np
from skimage.metrics import structural_similarity

from reportgen.attributions.base import Explainer
from reportgen.attributions.gradcam import walk_layers
from reportgen.attributions.settings import AttributionSettings
from reportgen.loading.model import Classifier
from reportgen.progress import Advance
from reportgen.quality.ranks import importance
from reportgen.stats import spearman_rows

MAX_SPEARMAN = 0.5
MAX_SSIM = 0.5


@dataclass(frozen=True)
class SanityResult:
    """Randomisation check of every method; ``run`` False (with ``reason``) when skipped.

    ``stages`` name the checkpoints, top block first; per method, ``spearman`` and ``ssim``
    are (n_stages,) means over the checked cases, ``maps`` (n_stages, n, h, w) the
    randomised maps, ``positions`` (n,) the checked cases as positions among the M cases.
    """

    run: bool
    reason: str = ""
    stages: tuple[str, ...] = ()
    positions: dict[str, np.ndarray] | None = None
    maps: dict[str, np.ndarray] | None = None
    spearman: dict[str, np.ndarray] | None = None
    ssim: dict[str, np.ndarray] | None = None
    max_spearman: float = MAX_SPEARMAN
    max_ssim: float = MAX_SSIM

    def final(self, method: str) -> tuple[float, float] | None:
        """(Spearman, SSIM) after every layer is randomised; None when not run for ``method``."""
        if self.spearman is None or self.ssim is None or method not in self.spearman:
            return None
        return float(self.spearman[method][-1]), float(self.ssim[method][-1])

    def passed(self, method: str) -> bool | None:
        """True when the fully randomised maps differ enough; None when not run."""
        final = self.final(method)
        if not self.run or final is None:
            return None
        return final[0] < self.max_spearman and final[1] < self.max_ssim


def weight_blocks(model: keras.Model) -> list[list[keras.layers.Layer]]:
    """Layers with trainable weights, in forward order, grouped as kernel layer + the weight
    layers that follow it. Layers with only fixed weights (an input ``Normalization``) are
    left alone: they are preprocessing, not something the model learned."""
    blocks: list[list[keras.layers.Layer]] = []
    for layer in walk_layers(model):
        if not layer.trainable_weights:
            continue
        has_kernel = any("kernel" in weight.name for weight in layer.weights)
        if has_kernel or not blocks:
            blocks.append([layer])
        else:
            blocks[-1].append(layer)
    return blocks


def checkpoints(n_blocks: int) -> list[int]:
    """How many top blocks are randomised at each checkpoint: 1, half, all (distinct, sorted)."""
    return sorted({1, math.ceil(n_blocks / 2), n_blocks}) if n_blocks > 0 else []


def random_weights(layer: keras.layers.Layer, seed: int) -> list[np.ndarray]:
    """Fresh values for every weight of ``layer``, from the layer's own initialisers."""
    values = []
    for index, weight in enumerate(layer.weights):
        initializer = _initializer(layer, weight.name)
        if "float" not in str(weight.dtype):  # counters, seed states: not learned
            values.append(np.asarray(weight.numpy()))
            continue
        if initializer is None:  # no initialiser to ask: keep the scale, lose the values
            rng = np.random.default_rng(seed + index)
            original = np.asarray(weight.numpy())
            fresh = rng.normal(0.0, original.std() or 1.0, original.shape)
            values.append(fresh.astype(original.dtype))
            continue
        config = initializer.get_config()
        if "seed" in config:
            initializer = type(initializer).from_config({**config, "seed": seed + index})
        values.append(np.asarray(initializer(tuple(weight.shape), dtype=weight.dtype)))
    return values


def _initializer(layer: keras.layers.Layer,
                 weight_name: str) -> keras.initializers.Initializer | None:
    # Conv/Dense name it kernel_initializer; depthwise/pointwise kernels drop the "_kernel".
    short = weight_name.replace("_kernel", "")
    for attribute in (f"{weight_name}_initializer", f"{short}_initializer"):
        found = getattr(layer, attribute, None)
        if isinstance(found, keras.initializers.Initializer):
            return found
    return None


class Cascade:
    """A clone of the classifier's Keras model whose top blocks can be randomised in place."""

    def __init__(self, classifier: Classifier, seed: int) -> None:
        original = classifier.model.keras_model
        if original is None:
            raise ValueError("the model has no Keras layers to randomise")
        clone = keras.models.clone_model(original)
        clone.set_weights(original.get_weights())
        self.blocks = weight_blocks(clone)
        self.original = [[layer.get_weights() for layer in block] for block in self.blocks]
        self.random = [[random_weights(layer, seed + 1000 * b + 100 * i)
                        for i, layer in enumerate(block)] for b, block in enumerate(self.blocks)]
        loaded = replace(classifier.model, call=lambda x: clone(x, training=False),
                         keras_model=clone)
        self.classifier = Classifier(loaded, classifier.image_size, classifier.scale,
                                     apply_softmax=classifier.apply_softmax,
                                     batch_size=classifier.batch_size, freeze=False)

    def randomise_top(self, n_top: int) -> None:
        """Original weights below, random weights in the top ``n_top`` blocks."""
        cut = len(self.blocks) - n_top
        for b, block in enumerate(self.blocks):
            values = self.random[b] if b >= cut else self.original[b]
            for layer, weights in zip(block, values):
                layer.set_weights(weights)

    def label(self, n_top: int) -> str:
        """Checkpoint name for the report, e.g. "top 1 of 7 layers (emotion)"."""
        if n_top == len(self.blocks):
            return f"all {n_top} layers"
        names = ", ".join(block[0].name for block in self.blocks[-n_top:])
        return f"top {n_top} of {len(self.blocks)} layers ({names})"


def compare_maps(original: np.ndarray, randomised: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, h, w) and (n, h, w) maps → (n,) Spearman and (n,) SSIM of |maps| scaled to 0–1."""
    a, b = _unit(original), _unit(randomised)
    ssim = [structural_similarity(x, y, data_range=1.0) for x, y in zip(a, b)]
    return spearman_rows(a, b), np.array(ssim, dtype=np.float64)


def _unit(maps: np.ndarray) -> np.ndarray:
    magnitude = importance(maps)
    peak = magnitude.reshape(len(magnitude), -1).max(axis=1, initial=0.0)[:, None, None]
    return np.divide(magnitude, peak, out=np.zeros_like(magnitude), where=peak > 0)


def check_randomisation(
    classifier: Classifier,
    images: np.ndarray,
    targets: np.ndarray,
    maps: Mapping[str, np.ndarray],
    positions: Mapping[str, np.ndarray],
    settings: AttributionSettings | None = None,
    advance: Advance | None = None,
    max_spearman: float = MAX_SPEARMAN,
    max_ssim: float = MAX_SSIM,
    final_only: Collection[str] = (),
) -> SanityResult:
    """Cascading randomisation of ``classifier``'s Keras model for each method in ``positions``.

    ``images`` (M, h, w) 0–255, ``targets`` (M,), ``maps`` method → (M, h, w) original maps;
    ``positions`` method → (n,) the cases to re-explain, by explainers built from
    ``settings`` (the attribution stage's; its seed also seeds the randomisation). Methods in ``final_only`` (the costly
    sampling ones) are re-explained only with every layer randomised, which is what decides
    the verdict; their other stages are NaN. ``advance(n)`` counts re-explained images.
    A model without Keras layers returns ``SanityResult(run=False, reason=...)``.
    """
    settings = settings or AttributionSettings()
    seed = settings.seed
    if classifier.model.keras_model is None:
        return SanityResult(False, "the model is a bare TF SavedModel, so its weights cannot be "
                                   "randomised")
    try:
        cascade = Cascade(classifier, seed)
    except Exception as err:  # noqa: BLE001 - clone_model fails variously on custom models
        return SanityResult(False, f"the model could not be cloned for randomisation ({err})"[:300])
    steps = checkpoints(len(cascade.blocks))
    if not steps:
        return SanityResult(False, "the model has no layers with weights")
    explainers = {m: settings.build(m, cascade.classifier) for m in positions}
    result = _explain_cascade(cascade, steps, explainers, np.asarray(images, dtype=np.float32),
                              np.asarray(targets, dtype=np.int32), positions, final_only, advance)
    spearman, ssim = _scores(maps, positions, result)
    return SanityResult(True, "", tuple(cascade.label(n) for n in steps),
                        {m: np.asarray(where) for m, where in positions.items()}, result,
                        spearman, ssim, max_spearman, max_ssim)


def _explain_cascade(cascade: Cascade, steps: Sequence[int], explainers: Mapping[str, Explainer],
                     pixels: np.ndarray, targets: np.ndarray, positions: Mapping[str, np.ndarray],
                     final_only: Collection[str], advance: Advance | None) -> dict[str, np.ndarray]:
    """Method → (n_stages, n, h, w) maps at each checkpoint (NaN where skipped)."""
    result = {m: np.full((len(steps), len(where), *pixels.shape[1:]), np.nan, np.float32)
              for m, where in positions.items()}
    for stage, n_top in enumerate(steps):
        cascade.randomise_top(n_top)
        for m, where in positions.items():
            if m in final_only and stage < len(steps) - 1:
                continue
            result[m][stage] = explainers[m].explain(pixels[where], targets[where])
            if advance is not None:
                advance(len(where))
    return result


def _scores(maps: Mapping[str, np.ndarray], positions: Mapping[str, np.ndarray],
            randomised: Mapping[str, np.ndarray],
            ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per method, (n_stages,) mean Spearman and SSIM against the original maps; NaN if skipped."""
    spearman, ssim = {}, {}
    for m, stages in randomised.items():
        rhos, similarities = [], []
        for stage in stages:
            if np.isnan(stage).any():
                rhos.append(np.nan)
                similarities.append(np.nan)
                continue
            rho, similarity = compare_maps(maps[m][positions[m]], stage)
            rhos.append(float(rho.mean()))
            similarities.append(float(similarity.mean()))
        spearman[m], ssim[m] = np.array(rhos), np.array(similarities)
    return spearman, ssim


def sanity_subset(n_cases: int, methods: Sequence[str], sampled: set[str], n_gradient: int,
                  n_sampled: int, seed: int) -> dict[str, np.ndarray]:
    """Which of the M cases each method re-explains: a seeded random ``n_gradient`` for cheap
    methods, the first ``n_sampled`` of those for sampling methods (LIME, SHAP)."""
    order = np.random.default_rng(seed).permutation(n_cases)
    return {m: np.sort(order[: n_sampled if m in sampled else n_gradient]) for m in methods}
