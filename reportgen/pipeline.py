"""Run the audit stages in order: load → evaluate → select → attribute → analyse.

Each stage is a plain function from one result to the next; this module only sequences them
and gathers their results into one immutable ``AuditResult`` that the renderer reads.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reportgen.bias.panel import PanelRun
from reportgen.bias.reference import ReferenceModel, ReferenceRun
from reportgen.distribution import version
from reportgen.errors import InputError
from reportgen.evaluation.evaluate import Evaluation, evaluate
from reportgen.evaluation.permutation import permutation_note
from reportgen.evaluation.select import Selection, select_cases
from reportgen.executors import ModelSpec, PassOutputs
from reportgen.loading.data import load_dataset, load_other_splits
from reportgen.loading.dataset import FER2013_CLASSES, Dataset
from reportgen.loading.model import (
    Classifier,
    LoadedModel,
    file_sha256,
    load_model,
    looks_like_probabilities,
)
from reportgen.loading.pixels import InputScale
from reportgen.loading.scaling import ScaleDecision, resolve_scale
from reportgen.progress import Reporter
from reportgen.result import NO_REFERENCE, AuditOptions, AuditResult, Command, ModelReport

if TYPE_CHECKING:
    from reportgen.attributions.result import AttributionResult
    from reportgen.attributions.settings import AttributionSettings
    from reportgen.bias.analysis import BiasResult
    from reportgen.bias.hygiene import HygieneResult
    from reportgen.quality.assess import QualityResult

PACKAGES = ("reportgen", "tensorflow", "keras", "numpy", "scikit-learn", "scikit-image",
            "lime", "shap", "matplotlib", "jinja2", "weasyprint")


def run_audit(options: AuditOptions, reporter: Reporter, loaded: LoadedModel | None = None,
              dataset: Dataset | None = None) -> AuditResult:
    """Run every stage of ``options.command`` and return the result (nothing is written).

    ``loaded`` and ``dataset``, when given (the Python API's in-memory model and arrays), are
    used instead of reading ``options.model_path`` and ``options.data_path``.
    """
    with reporter.stage("Loading model"):
        if loaded is None:
            loaded = load_model(options.model_path, trust=options.trust_model, limits=options.limits)
    if loaded.n_outputs != len(options.class_names):
        raise InputError(
            f"{options.model_path}: model has {loaded.n_outputs} outputs but there are "
            f"{len(options.class_names)} classes; pass --class-names to match the model"
        )
    with reporter.stage("Loading data"):
        if dataset is None:
            dataset = load_dataset(options.data_path, options.split, options.class_names,
                                   options.skip_bad_rows, options.limits)
    with reporter.stage("Choosing input scale"):
        scale = resolve_scale(loaded, options.input_scale, dataset.images, dataset.labels,
                              options.seed, options.batch_size,
                              score_all=options.command is Command.AUDIT)
    reference = _reference(options, dataset, loaded, scale)
    model_report, classifier, probs, passed = _model_pass(loaded, scale, dataset, options,
                                                          reporter, reference)
    panel = _panel(options, dataset, loaded, probs.argmax(axis=1), passed, reporter)
    evaluation = evaluate(probs, dataset.labels, seed=options.seed)
    selection = select_cases(evaluation, dataset.sources, list(options.class_names), options.rules)
    attributions = quality = None
    if options.command is Command.AUDIT:
        from reportgen.attributions import AttributionSettings

        # One settings object for both stages, so the quality stage re-explains with
        # explainers built exactly like the attribution stage's.
        settings = AttributionSettings(seed=options.seed, batch_size=options.batch_size,
                                       layer=options.gradcam_layer, exhaustive=options.exhaustive)
        attributions = _attribute(classifier, dataset, evaluation, selection, options, settings,
                                  reporter)
        if attributions is not None:
            quality = _assess(classifier, attributions, settings, reporter)
    bias, hygiene = _analyse(classifier, dataset, evaluation, options, reporter, passed, panel)
    return AuditResult(
        options=options,
        dataset=dataset,
        model=model_report,
        evaluation=evaluation,
        selection=selection,
        attributions=attributions,
        quality=quality,
        bias=bias,
        hygiene=hygiene,
        timings=dict(reporter.timings),
        environment=environment(classifier, passed.executor),
        notes=_notes(dataset, model_report, evaluation, options),
    )


@dataclass(frozen=True)
class _Reference:
    """The reference model as the bias stage uses it, and what the model pass must add for it."""

    model: ReferenceModel
    spec: ModelSpec | None = None  # set when its probe answers are not cached: run it in the pass
    classifier: Classifier | None = None
    cache: Path | None = None  # where its answers are (or will be) cached


@dataclass(frozen=True)
class _Passed:
    """The model pass's per-image probe answers, for the bias stage."""

    probe_names: tuple[str, ...]
    probe_preds: np.ndarray | None  # (P, N) int16; None: the bias stage probes sequentially
    reference: ReferenceRun | None
    reference_model: ReferenceModel | None
    seconds: float
    executor: str  # which executor ran the pass, and where (for the appendix)


def _model_pass(
    loaded: LoadedModel, scale: ScaleDecision, dataset: Dataset, options: AuditOptions,
    reporter: Reporter, reference: _Reference | None,
) -> tuple[ModelReport, Classifier, np.ndarray, _Passed]:
    """One pass of the model (and the reference, unless cached) over every image, on the
    chosen executor: outputs, then probabilities; probe answers for the bias stage."""
    from reportgen.bias.switches import kept_probes
    from reportgen.executors import ModelPass, make_executor

    image_size = tuple(dataset.images.shape[1:3])
    spec = ModelSpec(options.model_path, options.trust_model, scale.scale, image_size,
                     options.batch_size)
    classifier = Classifier(loaded, image_size, scale.scale, batch_size=options.batch_size)
    needed = reference is not None and reference.spec is not None
    # Sequential probing (the default, without a single reference model) runs the probes in
    # the bias stage on as many images as each needs; the pass then computes outputs only.
    sequential = not options.exhaustive and reference is None
    job = ModelPass(spec, () if sequential else kept_probes(options.skip),
                    reference.spec if needed else None)
    executor = make_executor(options.executor, options.ray_address)
    start = time.perf_counter()
    with reporter.stage("Evaluating and probing", total=len(dataset.labels)) as advance:
        result = executor.model_pass(job, dataset.images, classifier,
                                     reference.classifier if needed else None, advance,
                                     loaded=loaded)
    seconds = time.perf_counter() - start
    outputs = result.outputs
    finite = np.isfinite(outputs).all(axis=1)
    if not finite.any():
        raise InputError(f"{options.model_path}: every prediction is NaN or inf; the model is broken")
    softmax = not looks_like_probabilities(outputs)
    if softmax:
        classifier = Classifier(loaded, image_size, scale.scale, apply_softmax=True,
                                batch_size=options.batch_size)
        shifted = outputs - np.where(finite[:, None], outputs.max(axis=1, keepdims=True), 0)
        outputs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    # Non-finite rows become uniform: they count as (almost surely) wrong and maximally unsure.
    outputs = np.where(finite[:, None], outputs, 1.0 / outputs.shape[1]).astype(np.float32)
    report = ModelReport(loaded, scale, softmax, int((~finite).sum()))
    passed = _Passed(kept_probes(options.skip), None if sequential else result.probe_preds,
                     _reference_run(reference, result),
                     reference.model if reference else None, seconds, executor.description)
    return report, classifier, outputs, passed


def _reference_run(reference: _Reference | None, result: PassOutputs) -> ReferenceRun | None:
    """The reference's answers: the model's own, from the cache, or from this pass (then cached)."""
    from reportgen.bias.reference import load_cached, store_cached

    if reference is None:
        return None
    model = reference.model
    if model.same_as_model:  # its answers are the model's own: the bias stage fills them in
        return None
    if reference.spec is None:
        before, after = load_cached(reference.cache)  # type: ignore[misc]
        return ReferenceRun(model.path, model.sha256, False, True, 0.0, before, after)
    store_cached(reference.cache, result.reference_before, result.reference_after)
    return ReferenceRun(model.path, model.sha256, False, False, 0.0, result.reference_before,
                        result.reference_after)


def _attribute(
    classifier: Classifier, dataset: Dataset, evaluation: Evaluation, selection: Selection,
    options: AuditOptions, settings: AttributionSettings, reporter: Reporter,
) -> AttributionResult | None:
    from reportgen.attributions import default_methods, run_attributions

    methods = default_methods(classifier) if options.methods is None else options.methods
    if not methods or not selection.cases:
        return None
    with reporter.stage("Explaining cases"):
        return run_attributions(
            classifier, dataset.images, dataset.labels, evaluation.preds,
            np.array([case.index for case in selection.cases], dtype=np.int64),
            evaluation.sink_class, methods, settings, progress=reporter.track,
            sources=dataset.sources,
        )


def _assess(
    classifier: Classifier, attributions: AttributionResult, settings: AttributionSettings,
    reporter: Reporter,
) -> QualityResult:
    from reportgen.quality import assess_explanations

    with reporter.stage("Checking explanations"):
        return assess_explanations(
            classifier, attributions.case_images, attributions.case_preds, attributions.case_maps,
            attributions.methods, settings, progress=reporter.track,
        )


def _panel(options: AuditOptions, dataset: Dataset, loaded: LoadedModel, preds: np.ndarray,
           passed: _Passed, reporter: Reporter) -> tuple[PanelRun, list[ReferenceModel]] | None:
    """The bundled clean-model panel's answers to the probes (cached by data hash), for a
    7-class FER2013 audit with no ``--reference-model``; leave-one-out for a member."""
    from reportgen.bias.panel import PanelRun, member_models, panel_sample, read_manifest
    from reportgen.bias.probes import PROBES
    from reportgen.bias.reference import run_reference

    if options.reference_model is not None or tuple(options.class_names) != FER2013_CLASSES:
        return None
    entries = read_manifest()
    if not entries:
        return None
    image_size = tuple(dataset.images.shape[1:3])
    index = panel_sample(len(dataset.labels), options.seed)
    with reporter.stage("Running the clean-model panel"):
        members, left_out = member_models(entries, loaded.sha256, image_size,
                                          options.batch_size, options.trust_model)
        if not members:  # the only member was the audited model itself
            return None
        probes = [PROBES[name] for name in passed.probe_names]
        images = dataset.images[index]
        own = None if passed.probe_preds is None else passed.probe_preds[:, index]
        runs = tuple(run_reference(model, images, probes, (preds[index], own))
                     for _, model in members)
    run = PanelRun(runs, tuple(e.name for e, _ in members), tuple(e.recipe for e, _ in members),
                   tuple(left_out), None if image_size == (48, 48) else image_size, len(index))
    return run, [model for _, model in members]


def _reference(options: AuditOptions, dataset: Dataset, loaded: LoadedModel,
               scale: ScaleDecision) -> _Reference | None:
    """The reference model of ``options`` (see ``AuditOptions.reference_model``), loaded, and
    whether the model pass must run it (its answers on this data are not cached). The default
    (None) is the clean-model panel, run after the pass (``_panel``), not a single reference."""
    from reportgen.bias.probes import PROBES
    from reportgen.bias.reference import cache_path, load_cached, reference_model
    from reportgen.bias.switches import kept_probes

    path = options.reference_model
    if path == NO_REFERENCE or path is None:
        return None
    sha256 = file_sha256(path)
    if sha256 == loaded.sha256:  # the model is its own reference: nothing to run
        return _Reference(ReferenceModel(path, sha256, True, _unused, _unused))
    reference = load_model(path, trust=options.trust_model)
    if reference.n_outputs != len(options.class_names):
        raise InputError(f"{path}: reference model has {reference.n_outputs} outputs but there are "
                         f"{len(options.class_names)} classes")
    # Only its argmax is used, so a softmax is never needed; its own rescaling decides the scale.
    ref_scale = InputScale.RAW if reference.has_rescaling else scale.scale
    image_size = tuple(dataset.images.shape[1:3])
    classifier = Classifier(reference, image_size, ref_scale, batch_size=options.batch_size)
    cache = cache_path(dataset.images, sha256, [PROBES[name] for name in kept_probes(options.skip)])
    model = reference_model(classifier, path, sha256)
    if load_cached(cache) is not None:
        return _Reference(model, cache=cache)
    spec = ModelSpec(Path(path), options.trust_model, ref_scale, image_size, options.batch_size)
    return _Reference(model, spec, classifier, cache)


def _unused(*_: object) -> Any:
    raise AssertionError("a model that is its own reference is never run twice")


def _analyse(
    classifier: Classifier, dataset: Dataset, evaluation: Evaluation, options: AuditOptions,
    reporter: Reporter, passed: _Passed,
    panel: tuple[PanelRun, list[ReferenceModel]] | None = None,
) -> tuple[BiasResult, HygieneResult]:
    from reportgen.bias import analyse_bias, check_hygiene

    # Where-the-evidence-lies needs gradients over every image: audit only, to keep gate fast.
    attribute = None
    if options.command is Command.AUDIT:
        from reportgen.attributions import REGISTRY

        attribute = REGISTRY["saliency"](classifier, batch_size=options.batch_size, seed=options.seed).explain
    with reporter.stage("Probing for shortcuts"):
        bias = analyse_bias(
            classifier, dataset.images, dataset.labels, evaluation.probs, list(options.class_names),
            seed=options.seed, attribute=attribute, progress=reporter.track,
            probe_names=passed.probe_names, reference=passed.reference_model,
            sources=dataset.sources, probe_preds=passed.probe_preds,
            reference_run=passed.reference, probe_seconds=passed.seconds,
            panel=panel[0] if panel else None, panel_models=panel[1] if panel else (),
            skip=options.skip, sequential=passed.probe_preds is None,
        )
    with reporter.stage("Checking data hygiene"):
        # Cross-split duplicates need the neighbouring splits: audit only, to keep gate fast.
        others = load_other_splits(dataset, options.limits) if options.command is Command.AUDIT else {}
        hygiene = check_hygiene(dataset.images, dataset.labels, dataset.sources,
                                list(options.class_names), other_splits=others)
    return bias, hygiene


def _notes(dataset: Dataset, model: ModelReport, evaluation: Evaluation,
           options: AuditOptions) -> list[str]:
    notes = [*options.notes, *([model.scale.warning] if model.scale.warning else [])]
    if permuted := permutation_note(evaluation.confusion, options.class_names):
        notes.append(permuted)
    if model.softmax_applied:
        notes.append("The model's outputs are not probabilities (logits); a softmax was applied.")
    if model.n_nonfinite:
        notes.append(f"{model.n_nonfinite} images gave NaN or inf outputs; they were scored as uniform "
                     "probabilities (counted wrong).")
    if dataset.conversions:
        notes.append("Images were converted to 8-bit grey: " + "; ".join(
            f"{count} {what}" for what, count in dataset.conversions.items()) + ".")
    if dataset.n_skipped:
        notes.append(f"{dataset.n_skipped} bad rows or images were skipped (--skip-bad-rows): "
                     + "; ".join(dataset.skipped_examples))
    return notes


def environment(classifier: Classifier | None = None, executor: str = "local") -> dict[str, str]:
    """Python, platform, package versions, the compute device and the model pass's executor
    (``local`` or ``ray (N actors at ADDR)``), for the appendix."""
    import tensorflow as tf

    info = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:  # reportgen is installed as the reportgen-fer distribution
            info[name] = version() if name == "reportgen" else metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    gpus = tf.config.list_physical_devices("GPU")
    info["device"] = f"GPU: {', '.join(g.name for g in gpus)}" if gpus else "CPU"
    info["executor"] = executor
    return info
