"""The bias stage: probes → natural slices → localisation → confusions → findings.

``analyse_bias`` runs the stages once and returns an immutable ``BiasResult``; the report and
``summary.json`` are made from that result without calling the model again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from reportgen.bias import findings as rules
from reportgen.bias.confusions import (
    ConfusionPair,
    ConfusionResult,
    analyse_confusions,
    sink_pushes,
)
from reportgen.bias.effects import ProbeEffect, measure_effects, predict_probes
from reportgen.bias.examples import BeforeAfter, finding_edit, finding_examples, headline
from reportgen.bias.findings import Finding, Severity
from reportgen.bias.localisation import (
    Attribute,
    LocalisationResult,
    localise,
    normalised_attributions,
)
from reportgen.bias.offface import OffFaceShares, off_face_findings, off_face_shares
from reportgen.bias.panel import PanelRun, judge_effects
from reportgen.bias.probes import PROBES
from reportgen.bias.probing import measure_sequentially
from reportgen.bias.reference import ReferenceModel, ReferenceRun, run_reference
from reportgen.bias.search import (
    TriggerSearch,
    UniversalSearch,
    search_findings,
    search_triggers,
    search_universal,
)
from reportgen.bias.sequential import SequentialRun
from reportgen.bias.shortcuts import probe_findings
from reportgen.bias.slices import SliceResult, analyse_slices
from reportgen.bias.spray import SprayResult, spray
from reportgen.bias.triggers import TriggerScan, scan_triggers, trigger_findings
from reportgen.loading.model import Classifier
from reportgen.progress import Track

# Attribution maps (localisation, off-face shares, SpRAy) on at most this many images: every
# image of FER2013's Training split (28,709), a seeded sample of larger splits (276 MB of maps).
MAX_MAP_IMAGES = 30_000


@dataclass(frozen=True)
class BiasResult:
    """Everything the bias section shows. See each part's dataclass for shapes and units."""

    class_names: tuple[str, ...]
    n_images: int
    seed: int
    probes: list[ProbeEffect]
    slices: list[SliceResult]
    localisation: LocalisationResult | None
    confusions: ConfusionResult
    findings: list[Finding]  # sorted most severe first
    example_image: np.ndarray  # (h, w) uint8, a clear correct image to illustrate the probes
    seconds: dict[str, float] = field(default_factory=dict)
    reference: ReferenceRun | None = None
    triggers: TriggerScan | None = None
    off_face: OffFaceShares | None = None  # attribution outside the face, per predicted class
    spray: SprayResult | None = None  # clusters of attribution maps per predicted class
    panel: PanelRun | None = None  # the clean models each effect is judged against
    trigger_search: TriggerSearch | None = None  # a minimal optimised trigger per class
    universal_search: UniversalSearch | None = None  # a minimal universal perturbation per class
    sequential: SequentialRun | None = None  # how many images decided each probe (None: all)
    # Finding id → real faces before and after its edit, for the brief's headline findings
    examples: dict[str, tuple[BeforeAfter, ...]] = field(default_factory=dict)

    def brief_findings(self) -> list[Finding]:
        """The brief's headline: at most three findings, warning or above, not typical of clean
        FER2013 models (``reportgen.bias.examples.headline``)."""
        return headline(self.findings)

    def headline_findings(
        self, min_severity: Severity = Severity.WARNING, limit: int | None = None
    ) -> list[Finding]:
        """Findings at ``min_severity`` or above, most severe first, for the report's opening."""
        chosen = [f for f in self.findings if f.severity.rank >= min_severity.rank]
        return chosen[:limit] if limit is not None else chosen

    @property
    def worst_severity(self) -> Severity | None:
        """The most severe finding's severity (None when nothing is stated)."""
        return self.findings[0].severity if self.findings else None

    @property
    def findings_withheld(self) -> bool:
        """True when the split is too small (under ``MIN_IMAGES``) for any finding to be stated."""
        return self.n_images < rules.MIN_IMAGES

    @property
    def thresholds(self) -> dict[str, float]:
        """The documented severity thresholds the findings were graded with."""
        return {
            "min_effect_pp": rules.MIN_EFFECT_PP,
            "warning_ci_low_pp": rules.WARNING_CI_LOW_PP,
            "critical_ci_low_pp": rules.CRITICAL_CI_LOW_PP,
            "doubling_ci_low_pp": rules.DOUBLING_CI_LOW_PP,
            "slice_alpha": rules.SLICE_ALPHA,
            "min_images": rules.MIN_IMAGES,
        }

    def sink_pushes(self) -> list[ProbeEffect]:
        """Probes that push images into the sink class (CI above zero), strongest first."""
        sink = self.confusions.sink
        return sink_pushes(self.probes, sink.index) if sink else []

    def pair_pushes(self, pair: ConfusionPair, limit: int = 3) -> list[tuple[str, float, tuple]]:
        """(probe description, pp, (low, high)) of the probes that most raise B among true A,
        only those whose CI lies above zero."""
        order = np.argsort(-np.nan_to_num(pair.probe_changes, nan=-np.inf), kind="stable")
        rows = [(self.probes[i].probe.description, float(pair.probe_changes[i]),
                 tuple(pair.probe_changes_ci[i])) for i in order if pair.probe_changes_ci[i, 0] > 0]
        return rows[:limit]

    def to_summary(self) -> dict:
        """``bias`` in summary.json: contract keys ``findings`` and ``probes``, plus details."""
        names = list(self.class_names)
        probe_names = [effect.probe.name for effect in self.probes]
        return {
            "findings": [finding.to_summary() for finding in self.findings],
            "findings_withheld": self.findings_withheld,
            "probes": [effect.to_summary(names) for effect in self.probes],
            "slices": [result.to_summary(names) for result in self.slices],
            "localisation": self.localisation.to_summary() if self.localisation else None,
            "confusions": self.confusions.to_summary(names, probe_names),
            "thresholds": self.thresholds,
            "n_images": self.n_images,
            "seed": self.seed,
            "seconds": {stage: round(s, 3) for stage, s in self.seconds.items()},
            "reference": self.reference.to_summary() if self.reference else None,
            "panel": self.panel.to_summary() if self.panel else None,
            "trigger_scan": self.triggers.to_summary(names) if self.triggers else None,
            "off_face": self.off_face.to_summary(names) if self.off_face else None,
            "spray": self.spray.to_summary(names) if self.spray else None,
            "trigger_search": (self.trigger_search.to_summary(names) if self.trigger_search
                               else None),
            "universal_search": (self.universal_search.to_summary(names)
                                 if self.universal_search else None),
            "probing": (self.sequential.to_summary() if self.sequential else
                        {"mode": "exhaustive", "evaluations": len(self.probes) * self.n_images}),
            "examples": {fid: [{"index": p.index, "class_before": names[p.class_before],
                                "class_after": names[p.class_after], "edited": p.edited}
                               for p in pairs] for fid, pairs in self.examples.items()},
        }


def analyse_bias(
    classifier: Classifier,
    images: np.ndarray,
    labels: np.ndarray,
    probs: np.ndarray,
    class_names: Sequence[str],
    seed: int = 0,
    attribute: Attribute | None = None,
    progress: Track | None = None,
    probe_names: Sequence[str] | None = None,
    reference: ReferenceModel | None = None,
    sources: Sequence[str] | None = None,
    probe_preds: np.ndarray | None = None,
    reference_run: ReferenceRun | None = None,
    probe_seconds: float | None = None,
    panel: PanelRun | None = None,
    panel_models: Sequence[ReferenceModel] = (),
    skip: Sequence[str] = (),
    searches: bool = True,
    panel_predicts: Sequence[Callable[[np.ndarray], np.ndarray]] = (),
    sequential: bool = False,
) -> BiasResult:
    """Measure shortcuts and biases on a whole split.

    images (N, h, w) uint8; labels (N,) int; probs (N, K) the model's probabilities on the
    unmodified images. ``attribute(images (M, h, w) float32 0–255, targets (M,)) → (M, h, w)``
    enables localisation and difference maps. ``probe_names`` picks probes from ``PROBES``.
    ``reference``: a clean model on the same data; effects are then also graded on the part
    beyond it (``reportgen.bias.reference``). ``sources`` (N,) name the images of the
    attribution clusters shown in the report. ``probe_preds`` (P, N), ``reference_run`` and
    ``probe_seconds``: the probes' answers from the pipeline's model pass
    (``reportgen.executors``), instead of running the probes here. ``panel`` (the panel's
    answers to the same probes) and ``panel_models`` (its members, for the trigger scan): clean
    models of several recipes that effects are judged against instead of one reference
    (``reportgen.bias.panel``). ``skip``: detectors switched off (``reportgen.bias.switches``).
    ``searches``: run the optimised trigger and universal perturbation searches
    (``reportgen.bias.search``); ``panel_predicts``: clean models for their transfer check, each
    (M, h, w) float32 0–255 → (M,) classes, beside the panel members and the reference.
    ``sequential``: probe on growing subsets until each decision is settled
    (``reportgen.bias.sequential``; not with a single reference or given ``probe_preds``).
    """
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(probs).argmax(axis=1)
    n_classes = len(class_names)
    probes = [PROBES[name] for name in (probe_names or PROBES)]
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    run = None
    if sequential and probe_preds is None and reference is None:
        measured = measure_sequentially(classifier, images, preds, labels, probes, class_names,
                                        seed, panel, progress)
        probes, effects, preds_after = measured.probes, measured.effects, measured.preds_after
        panel, run, ref_run = measured.panel, measured.run, None
        seconds["probes"] = time.perf_counter() - start
        if panel is not None:
            seconds["panel"] = sum(r.seconds for r in panel.runs)
    else:
        effects, preds_after, ref_run = _exhaustive_effects(
            classifier, images, preds, labels, probes, n_classes, seed, progress, reference,
            (probe_preds, reference_run, probe_seconds), panel, seconds)

    start = time.perf_counter()
    triggers = None
    if len(images) >= rules.MIN_IMAGES and "patch-scan" not in skip:
        scan_reference = (None if reference is None or reference.same_as_model
                          else reference.predict_images)
        if panel_models:
            scan_reference = [member.predict_images for member in panel_models]
        triggers = scan_triggers(_labeller(classifier), images, preds, n_classes, seed,
                                 reference=scan_reference,
                                 is_reference=reference is not None and reference.same_as_model,
                                 coarse=sequential)
    seconds["trigger_scan"] = time.perf_counter() - start
    trigger_search, universal_search = None, None
    if len(images) >= rules.MIN_IMAGES and searches:
        clean = [*panel_predicts, *(member.predict_images for member in panel_models)]
        if reference is not None and not reference.same_as_model and not panel_models:
            clean.append(reference.predict_images)
        if "trigger-search" not in skip:
            trigger_search = search_triggers(classifier, images, preds, n_classes, seed, clean,
                                             sequential=sequential)
            seconds["trigger_search"] = trigger_search.seconds
        if "universal-search" not in skip:
            universal_search = search_universal(classifier, images, preds, n_classes, seed, clean,
                                                 sequential=sequential)
            seconds["universal_search"] = universal_search.seconds

    start = time.perf_counter()
    slices = analyse_slices(images, labels, preds, n_classes, seed)
    seconds["slices"] = time.perf_counter() - start

    start = time.perf_counter()
    maps, index = None, np.arange(len(images))
    if attribute is not None:
        index = map_sample(len(images), seed)
        sampled = len(index) < len(images)
        map_images = images[index] if sampled else images
        map_sources = [sources[i] for i in index] if sampled and sources is not None else sources
        maps = normalised_attributions(attribute, map_images, preds[index], progress)
    confusions = analyse_confusions(images, labels, probs, preds_after, maps, seed, map_index=index)
    localisation = None
    if maps is not None:
        sink = confusions.sink.index if confusions.sink else None
        localisation = localise(maps, labels[index], preds[index], sink, class_names, seed)
    seconds["localisation_confusions"] = time.perf_counter() - start
    off_face, clusters = None, None
    if maps is not None:
        start = time.perf_counter()
        off_face = off_face_shares(maps, preds[index], n_classes, seed)
        seconds["off_face"] = time.perf_counter() - start
        start = time.perf_counter()
        clusters = spray(maps, preds[index], map_images, n_classes, seed, map_sources)
        seconds["spray"] = time.perf_counter() - start
    findings = (_findings(effects, slices, confusions, triggers, off_face, class_names,
                          images.shape[1:], (trigger_search, universal_search))
                if len(images) >= rules.MIN_IMAGES else [])
    examples = finding_examples(
        findings, _labeller(classifier), images, labels, preds, seed,
        lambda f: finding_edit(f, triggers, trigger_search, universal_search))
    return BiasResult(
        class_names=tuple(class_names), n_images=len(images), seed=seed, probes=effects,
        slices=slices, localisation=localisation, confusions=confusions, findings=findings,
        example_image=_example(images, labels, probs), seconds=seconds, reference=ref_run,
        triggers=triggers, off_face=off_face, spray=clusters, panel=panel,
        trigger_search=trigger_search, universal_search=universal_search, sequential=run,
        examples=examples,
    )


def _exhaustive_effects(
    classifier: Classifier, images: np.ndarray, preds: np.ndarray, labels: np.ndarray,
    probes: list, n_classes: int, seed: int, progress: Track | None,
    reference: ReferenceModel | None, given: tuple, panel: PanelRun | None,
    seconds: dict[str, float],
) -> tuple[list[ProbeEffect], np.ndarray, ReferenceRun | None]:
    """Every probe on every image (or the model pass's answers, ``given`` as (probe_preds,
    reference_run, probe_seconds)), measured, and judged against the reference or panel."""
    probe_preds, ref_run, probe_seconds = given
    start = time.perf_counter()
    if probe_preds is None:
        preds_after = predict_probes(classifier, images, probes, progress)
        seconds["probes"] = time.perf_counter() - start
    else:
        preds_after = probe_preds
        seconds["probes"] = probe_seconds or 0.0  # the whole model pass, run by the executor
    if reference is not None and ref_run is None:
        ref_run = run_reference(reference, images, probes, (preds, preds_after))
    if ref_run is not None:
        seconds["reference"] = ref_run.seconds
    start = time.perf_counter()
    effects = measure_effects(probes, preds, preds_after, labels, n_classes, seed,
                              None if ref_run is None else (ref_run.preds_before,
                                                            ref_run.preds_after))
    if panel is not None:
        effects = judge_effects(effects, panel, n_classes)
        seconds["panel"] = sum(run.seconds for run in panel.runs)
    seconds["probe_effects"] = time.perf_counter() - start
    return effects, preds_after, ref_run


def map_sample(n_images: int, seed: int, most: int | None = None) -> np.ndarray:
    """Indices of the images whose attribution maps are computed: all up to ``most``
    (``MAX_MAP_IMAGES``), else a seeded uniform sample of ``most`` in split order."""
    most = MAX_MAP_IMAGES if most is None else most
    if n_images <= most:
        return np.arange(n_images)
    return np.sort(np.random.default_rng(seed).choice(n_images, most, replace=False))


def _labeller(classifier: Classifier):
    return lambda images: classifier.predict(np.asarray(images, np.float32)).argmax(axis=1)


def _findings(effects: list[ProbeEffect], slices: list[SliceResult],
              confusions: ConfusionResult, triggers: TriggerScan | None,
              off_face: OffFaceShares | None, class_names: Sequence[str],
              shape: tuple[int, int],
              searched: tuple[TriggerSearch | None, UniversalSearch | None] = (None, None),
              ) -> list[Finding]:
    """Every stated finding, most severe first (rules in ``reportgen.bias.findings``)."""
    findings = probe_findings(effects, class_names)
    if triggers is not None:
        findings += trigger_findings(triggers, class_names, *shape)
    findings += search_findings(*searched, class_names)
    if off_face is not None:
        findings += off_face_findings(off_face, class_names)
    findings += rules.slice_findings(slices, class_names)
    sink = rules.sink_finding(confusions.sink, class_names)
    return rules.sort_findings(findings + ([sink] if sink else []))


def _example(images: np.ndarray, labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The most confidently correct image (any image if none is correct)."""
    confidence = np.where(probs.argmax(axis=1) == labels, probs.max(axis=1), -1.0)
    return np.asarray(images[int(np.argmax(confidence))], dtype=np.uint8)
