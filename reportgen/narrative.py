"""Plain-language key findings for the top of the report."""

from __future__ import annotations

import numpy as np

from reportgen.pipeline import AuditResult


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def key_findings(result: AuditResult) -> list[dict[str, str]]:
    """Sentences with a severity (info, warning or critical), most important first."""
    names = list(result.options.class_names)
    ev = result.evaluation
    low, high = ev.accuracy_ci
    split = result.dataset.split or result.dataset.path.name
    sentences = [
        _finding("info", f"Accuracy is {_pct(ev.accuracy)} (95% CI {_pct(low)}–{_pct(high)}) on "
                 f"{len(ev.labels):,} images of {split}; balanced accuracy {_pct(ev.balanced_accuracy)}, "
                 f"macro-F1 {ev.macro_f1:.3f}."),
    ]
    recalls = np.array([m.recall if m.support else np.nan for m in ev.per_class])
    if np.isfinite(recalls).any():
        worst = int(np.nanargmin(recalls))
        metric = ev.per_class[worst]
        severity = "warning" if metric.recall < 0.3 else "info"
        sentences.append(_finding(severity, f"Weakest class: '{names[worst]}', recall {_pct(metric.recall)} "
                         f"(95% CI {_pct(metric.recall_ci[0])}–{_pct(metric.recall_ci[1])}, "
                         f"{metric.support} images)."))
    errors = ev.confusion.sum() - np.trace(ev.confusion)
    if errors:
        sink = ev.sink_class
        into_sink = ev.confusion[:, sink].sum() - ev.confusion[sink, sink]
        off = ev.confusion * (1 - np.eye(len(names), dtype=int))
        true_k, pred_k = np.unravel_index(off.argmax(), off.shape)
        sentences.append(_finding("info", f"'{names[sink]}' is the sink class: {into_sink} of {errors} "
                         f"errors ({_pct(into_sink / errors)}) are predictions of '{names[sink]}'. "
                         f"The largest confusion is '{names[true_k]}' → '{names[pred_k]}' "
                         f"({off[true_k, pred_k]} images, {_pct(ev.confusion_normalised[true_k, pred_k])} "
                         f"of '{names[true_k]}')."))
    if result.quality is not None:
        failed = [row.title for row in result.quality.rows if row.sanity_passed is False]
        severity = "warning" if failed else "info"
        sentences.append(_finding(severity, "Explanations: " + result.quality.verdict))
    mean_conf = float(ev.probs.max(axis=1).mean())
    direction = "over-confident" if mean_conf > ev.accuracy else "under-confident"
    severity = "warning" if ev.ece > 0.15 else "info"
    sentences.append(_finding(severity, f"Calibration: ECE {ev.ece:.3f}; mean confidence "
                     f"{_pct(mean_conf)} against accuracy {_pct(ev.accuracy)}, so the model is {direction}."))
    return sentences


def _finding(severity: str, text: str) -> dict[str, str]:
    return {"severity": severity, "text": text}
