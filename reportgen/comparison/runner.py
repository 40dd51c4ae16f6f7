"""Run a comparison: load the data once, run each model as ``gate`` does (evaluation, probes,
detectors; once per model, never per pair), then the paired stages, which read only the runs'
outputs, plus one saliency map per model and selected case.

    load models → load data → gate run per model → pair tests → disagreements
                → findings side by side → explanations → recommendation
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.comparison.disagreement import find_disagreements
from reportgen.comparison.explain import explain_side_by_side, explanation_cases
from reportgen.comparison.findings import side_by_side
from reportgen.comparison.paired import compare_pairs
from reportgen.comparison.ranking import Standing, count, recommend
from reportgen.comparison.result import MIN_MODELS, CompareOptions, ComparisonResult, ModelRun
from reportgen.errors import InputError
from reportgen.gating.verdict import judge
from reportgen.loading.data import load_dataset
from reportgen.loading.model import Classifier, LoadedModel, load_model
from reportgen.pipeline import run_audit
from reportgen.report.summary import build_summary, with_verdict
from reportgen.result import Command
from reportgen.severity import Severity

if TYPE_CHECKING:
    from reportgen.gating.policy import Policy
    from reportgen.loading.dataset import Dataset
    from reportgen.progress import Reporter


def model_names(paths: Sequence[Path]) -> list[str]:
    """Each model's file stem, or parent/stem where two stems are alike."""
    stems = [Path(p).stem for p in paths]
    return [f"{Path(p).parent.name}/{s}" if stems.count(s) > 1 else s for p, s in zip(paths, stems)]


def load_models(options: CompareOptions, reporter: Reporter,
                given: Sequence[LoadedModel | None] | None = None) -> list[LoadedModel]:
    """Every model, loaded (or as given in memory); refuses fewer than two, or two alike by hash."""
    if len(options.model_paths) < MIN_MODELS:
        raise InputError(f"--model: compare needs at least {MIN_MODELS} models, got "
                         f"{len(options.model_paths)}")
    base = options.base
    models: list[LoadedModel] = []
    with reporter.stage("Loading models"):
        for i, path in enumerate(options.model_paths):
            model = given[i] if given is not None and given[i] is not None else None
            models.append(model or load_model(path, trust=base.trust_model, limits=base.limits))
    seen: dict[str, Path] = {}
    for path, model in zip(options.model_paths, models):
        if model.sha256 in seen:
            raise InputError(f"{path}: same file as {seen[model.sha256]} (sha256 "
                             f"{model.sha256[:12]}); compare distinct models")
        seen[model.sha256] = path
    return models


def run_comparison(options: CompareOptions, policy: Policy | None, reporter: Reporter,
                   models: Sequence[LoadedModel | None] | None = None,
                   dataset: Dataset | None = None) -> ComparisonResult:
    """Run every model on the same images and compare them; nothing is written."""
    loaded = load_models(options, reporter, models)
    base = replace(options.base, command=Command.GATE)
    if dataset is None:
        with reporter.stage("Loading data"):
            dataset = load_dataset(base.data_path, base.split, base.class_names,
                                   base.skip_bad_rows, base.limits)
    names = model_names(options.model_paths)
    runs, classifiers, timings = [], [], dict(reporter.timings)  # loading models and data
    for i, (path, scale, model) in enumerate(zip(options.model_paths, options.input_scales, loaded)):
        reporter.console.print(f"Model {i + 1} of {len(loaded)}: {names[i]}")
        reporter.timings.clear()
        result = run_audit(replace(base, model_path=Path(path), input_scale=scale), reporter,
                           loaded=model, dataset=dataset)
        summary = build_summary(result)
        verdict = judge(summary, policy, None)
        runs.append(ModelRun(names[i], result, verdict, with_verdict(summary, verdict, result.timings)))
        timings.update({f"{names[i]}: {stage}": t for stage, t in reporter.timings.items()})
        classifiers.append(Classifier(model, tuple(dataset.images.shape[1:3]), result.model.scale.scale,
                                      apply_softmax=result.model.softmax_applied,
                                      batch_size=base.batch_size))
    reporter.timings.clear()
    compared = _compare(options, dataset, tuple(runs), classifiers, policy, reporter)
    return replace(compared, timings={**timings, **reporter.timings})


def _compare(options: CompareOptions, dataset: Dataset, runs: tuple[ModelRun, ...],
             classifiers: list[Classifier], policy: Policy | None,
             reporter: Reporter) -> ComparisonResult:
    """The paired stages: they read the runs' outputs; only the saliency maps call the models."""
    base = options.base
    probs = [run.result.evaluation.probs for run in runs]
    names = list(base.class_names)
    with reporter.stage("Comparing models"):
        paired = compare_pairs(probs, dataset.labels, [_point(run, names) for run in runs],
                               names, base.seed)
        disagreement = find_disagreements(probs, dataset.labels, dataset.sources, dataset.path,
                                          [run.result.evaluation.confusion for run in runs])
        rows = side_by_side([run.result.bias.findings if run.result.bias else [] for run in runs])
    explanations = None
    if options.explain:
        with reporter.stage("Explaining cases side by side"):
            indices, kinds = explanation_cases(disagreement, probs, dataset.labels)
            explanations = explain_side_by_side(classifiers, dataset.images, indices, kinds,
                                                [p.argmax(axis=1) for p in probs], base.seed,
                                                base.batch_size)
    policy_name = policy.name if policy is not None else "none"
    recommendation = recommend([_standing(run) for run in runs], paired, policy_name)
    return ComparisonResult(options, dataset, runs, paired, disagreement, rows, explanations,
                            recommendation, policy, notes=tuple(_notes(runs)))


def _point(run: ModelRun, names: list[str]) -> dict[str, float]:
    ev = run.result.evaluation
    point = {"accuracy": ev.accuracy, "balanced_accuracy": ev.balanced_accuracy,
             "macro_f1": ev.macro_f1, "ece": ev.ece}
    return point | {f"recall:{n}": m.recall for n, m in zip(names, ev.per_class)}


def _standing(run: ModelRun) -> Standing:
    from reportgen.gating.limits import fmt

    severities = [f.severity for f in run.result.bias.findings] if run.result.bias else []
    failed = tuple(f"{c.name} {fmt(c.value)} vs {fmt(c.threshold)}" for c in run.verdict.failed)
    ev = run.result.evaluation
    return Standing(run.name, run.verdict.passed, failed, count(severities, Severity.CRITICAL),
                    count(severities, Severity.WARNING), ev.accuracy, ev.balanced_accuracy)


def _notes(runs: Sequence[ModelRun]) -> list[str]:
    """How each model was fed (always stated), then each model's own notes, named."""
    fed = "; ".join(f"{run.name}: {run.result.model.scale.scale.value} pixels, input "
                    f"{'×'.join(str(v) for v in run.result.model.loaded.input_shape)}"
                    for run in runs)
    scales = {run.result.model.scale.scale for run in runs}
    shapes = {run.result.model.loaded.input_shape for run in runs}
    differ = " (the models differ in input scaling or size)" if len(scales) > 1 or len(shapes) > 1 else ""
    notes = [f"Each model was fed as its own input-scale detection says{differ}: {fed}."]
    notes += [f"{run.name}: {note}" for run in runs for note in run.result.notes]
    return notes
