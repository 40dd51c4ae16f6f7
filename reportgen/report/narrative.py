"""Plain-language key findings for the top of the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from reportgen.gating.checks import CHECKS
from reportgen.gating.verdict import Verdict
from reportgen.result import AuditResult
from reportgen.small_sample import NO_CI, too_few

# Regressions that make the baseline sentence a warning when no policy judges them; the same
# numbers as examples/policy.toml's [baseline] limits (accuracy and recall in pp, bias in pp).
REGRESSION_PP = {"accuracy": 1.0, "recall": 5.0, "bias": 5.0}
NEAR_ZERO_RECALL = 0.05  # a class found this rarely is always named in the summary


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def key_findings(result: AuditResult, verdict: Verdict) -> list[dict[str, str]]:
    """Sentences with a severity (info, warning or critical), most important first."""
    names = list(result.options.class_names)
    ev = result.evaluation
    low, high = ev.accuracy_ci
    split = result.dataset.split or result.dataset.path.name
    sentences = [comparison_finding(verdict)] if verdict.comparison is not None else []
    interval = NO_CI if too_few(len(ev.labels)) else f"(95% CI {_pct(low)}–{_pct(high)})"
    sentences += [
        _finding("info", f"Accuracy is {_pct(ev.accuracy)} {interval} on "
                 f"{len(ev.labels):,} images of {split}; balanced accuracy {_pct(ev.balanced_accuracy)}, "
                 f"macro-F1 {ev.macro_f1:.3f}."),
    ]
    recalls = np.array([m.recall if m.support else np.nan for m in ev.per_class])
    near_zero = [k for k in range(len(names)) if recalls[k] < NEAR_ZERO_RECALL]
    if near_zero:
        sentences.append(_finding("warning", "Near-zero recall: " + "; ".join(
            f"'{names[k]}' {_pct(recalls[k])} of {ev.per_class[k].support} images "
            f"(95% CI {_pct(ev.per_class[k].recall_ci[0])}–{_pct(ev.per_class[k].recall_ci[1])})"
            for k in near_zero) + ": the model almost never finds this class."))
    if np.isfinite(recalls).any() and not (len(near_zero) and int(np.nanargmin(recalls)) in near_zero):
        worst = int(np.nanargmin(recalls))
        metric = ev.per_class[worst]
        severity = "warning" if metric.recall < 0.3 else "info"
        interval = ("no CI" if too_few(metric.support)
                    else f"95% CI {_pct(metric.recall_ci[0])}–{_pct(metric.recall_ci[1])}")
        sentences.append(_finding(severity, f"Weakest class: '{names[worst]}', recall {_pct(metric.recall)} "
                         f"({interval}, {metric.support} images)."))
    errors = ev.confusion.sum() - np.trace(ev.confusion)
    # The bias stage states the sink class (with its over-call) when it is a finding: once only.
    sink_stated = result.bias is not None and any(
        f.id.startswith("sink-") for f in result.bias.headline_findings())
    if errors and sink_stated:
        off = ev.confusion * (1 - np.eye(len(names), dtype=int))
        true_k, pred_k = np.unravel_index(off.argmax(), off.shape)
        sentences.append(_finding("info", f"The largest confusion is '{names[true_k]}' → "
                         f"'{names[pred_k]}' ({off[true_k, pred_k]} images, "
                         f"{_pct(ev.confusion_normalised[true_k, pred_k])} of '{names[true_k]}')."))
    elif errors:
        sink = ev.sink_class
        into_sink = ev.confusion[:, sink].sum() - ev.confusion[sink, sink]
        off = ev.confusion * (1 - np.eye(len(names), dtype=int))
        true_k, pred_k = np.unravel_index(off.argmax(), off.shape)
        sentences.append(_finding("info", f"'{names[sink]}' is the sink class: {into_sink} of {errors} "
                         f"errors ({_pct(into_sink / errors)}) are predictions of '{names[sink]}'. "
                         f"The largest confusion is '{names[true_k]}' → '{names[pred_k]}' "
                         f"({off[true_k, pred_k]} images, {_pct(ev.confusion_normalised[true_k, pred_k])} "
                         f"of '{names[true_k]}')."))
    if result.hygiene is not None:
        sentences += [_finding("warning", f"Data: {mark.describe(names)}.")
                      for mark in result.hygiene.marks]
    if result.bias is not None and result.bias.findings_withheld:
        n_images = result.bias.n_images
        sentences.append(_finding("warning", f"Only {n_images} image{'s' * (n_images != 1)}: too "
                         "few to state any shortcut or bias finding with a trustworthy interval."))
    if result.quality is not None:
        failed = [row.title for row in result.quality.rows if row.sanity_passed is False]
        severity = "warning" if failed else "info"
        first = result.quality.verdict.split(". ")[0].rstrip(".")  # the rest: Explanations in brief
        sentences.append(_finding(severity, f"Explanations: {first}."))
    mean_conf = float(ev.probs.max(axis=1).mean())
    direction = "over-confident" if mean_conf > ev.accuracy else "under-confident"
    severity = "warning" if ev.ece > 0.15 else "info"
    sentences.append(_finding(severity, f"Calibration: ECE {ev.ece:.3f}; mean confidence "
                     f"{_pct(mean_conf)} against accuracy {_pct(ev.accuracy)}, so the model is {direction}."))
    return sentences


def comparison_finding(verdict: Verdict) -> dict[str, str]:
    """One sentence on what changed against the baseline: accuracy, the worst recall drop and
    the largest bias-effect growth. A warning when a [baseline] check failed or, without
    such checks, when a change passes ``REGRESSION_PP``."""
    comparison = verdict.comparison
    name = Path(str(comparison.baseline_model.get("path") or "the baseline")).name
    parts = []
    accuracy = next((m for m in comparison.overall if m.name == "accuracy"), None)
    if accuracy is not None and accuracy.delta is not None:
        parts.append(f"accuracy {_pct(accuracy.baseline)} → {_pct(accuracy.candidate)} "
                     f"({accuracy.delta:+.1f} pp)")
    drops = [c for c in comparison.per_class if c.recall.delta is not None]
    worst = min(drops, key=lambda c: c.recall.delta, default=None)
    if worst is not None and worst.recall.delta < 0:
        parts.append(f"largest recall drop '{worst.name}' {_pct(worst.recall.baseline)} → "
                     f"{_pct(worst.recall.candidate)} ({worst.recall.delta:+.1f} pp)")
    grown = comparison.bias[0] if comparison.bias and comparison.bias[0].growth > 0 else None
    if grown is not None:
        parts.append(f"largest bias-effect growth {grown.probe} → '{grown.class_name}' "
                     f"{grown.baseline:+.1f} → {grown.candidate:+.1f} pp")
    text = f"Against the baseline {name}: " + ("; ".join(parts) or "no metric changed") + "."
    return _finding(_comparison_severity(verdict, accuracy, worst, grown), text)


def _comparison_severity(verdict: Verdict, accuracy: Any, worst: Any, grown: Any) -> str:
    # Check names are registry keys, with "[class]" appended for per-class checks.
    specs = [(c, CHECKS.get(c.name.split("[")[0])) for c in verdict.checks]
    judged = [c for c, spec in specs if spec and spec.section == "baseline" and not c.skipped]
    if judged:
        return "warning" if any(not c.passed for c in judged) else "info"
    regressed = (
        (accuracy is not None and accuracy.delta is not None
         and -accuracy.delta > REGRESSION_PP["accuracy"])
        or (worst is not None and -worst.recall.delta > REGRESSION_PP["recall"])
        or (grown is not None and grown.growth > REGRESSION_PP["bias"])
    )
    return "warning" if regressed else "info"


def _finding(severity: str, text: str) -> dict[str, str]:
    return {"severity": severity, "text": text}
