"""The machine-readable result, ``summary.json``, as CONTRACT.md defines it."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from reportgen.pipeline import AuditResult

SCHEMA_VERSION = 1


def _round(value: float, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _interval(pair: tuple[float, float]) -> list[float | None]:
    return [_round(pair[0]), _round(pair[1])]


def build_summary(result: AuditResult) -> dict[str, Any]:
    """Everything CI needs, with only JSON types, rounded so reruns compare equal."""
    names = list(result.options.class_names)
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "command": result.options.command.value,
        "seed": result.options.seed,
        "model": _model(result),
        "data": _data(result),
        "metrics": _metrics(result, names),
        "cases": [
            {"group": c.group, "source": c.source, "true": names[c.true], "pred": names[c.pred],
             "p_pred": _round(c.p_pred, 4)}
            for c in result.selection.cases
        ],
        "bias": result.bias.to_summary() if result.bias is not None else {"findings": [], "probes": []},
        "checks": [check.to_summary() for check in result.checks],
        "timings": dict(result.timings),
        "notes": list(result.notes),
    }
    if result.attributions is not None:
        summary["attributions"] = result.attributions.to_summary()
    if result.quality is not None:
        summary["quality"] = result.quality.to_summary()
    elif result.options.command.value == "audit":
        summary["attributions"] = {}
    if result.hygiene is not None:
        summary["hygiene"] = result.hygiene.to_summary()
    if result.comparison is not None:
        summary["comparison"] = result.comparison.to_summary()
    return summary


def _model(result: AuditResult) -> dict[str, Any]:
    model = result.model
    return {
        "path": str(model.loaded.path),
        "sha256": model.loaded.sha256,
        "input_shape": list(model.loaded.input_shape),
        "n_params": model.loaded.n_params,
        "input_scale": model.scale.scale.value,
        "input_scale_reason": model.scale.reason,
        "input_scale_accuracies": {k: _round(v) for k, v in model.scale.accuracies.items()},
        "softmax_applied": model.softmax_applied,
        "n_nonfinite_predictions": model.n_nonfinite,
    }


def _data(result: AuditResult) -> dict[str, Any]:
    dataset = result.dataset
    return {
        "path": str(dataset.path),
        "split": dataset.split,
        "n_images": len(dataset.labels),
        "class_names": list(dataset.class_names),
        "class_counts": dataset.class_counts,
        "n_skipped": dataset.n_skipped,
    }


def _metrics(result: AuditResult, names: list[str]) -> dict[str, Any]:
    ev = result.evaluation
    return {
        "accuracy": _round(ev.accuracy),
        "accuracy_ci": _interval(ev.accuracy_ci),
        "balanced_accuracy": _round(ev.balanced_accuracy),
        "balanced_accuracy_ci": _interval(ev.balanced_accuracy_ci),
        "macro_f1": _round(ev.macro_f1),
        "macro_f1_ci": _interval(ev.macro_f1_ci),
        "top2_accuracy": _round(ev.top2_accuracy),
        "ece": _round(ev.ece),
        "ece_ci": _interval(ev.ece_ci),
        "per_class": {
            name: {"precision": _round(m.precision), "recall": _round(m.recall), "f1": _round(m.f1),
                   "support": m.support, "recall_ci": _interval(m.recall_ci)}
            for name, m in zip(names, ev.per_class)
        },
        "confusion_matrix": ev.confusion.astype(int).tolist(),
        "confusion_matrix_normalised": np.round(ev.confusion_normalised, 6).tolist(),
        "sink_class": names[ev.sink_class],
    }


def to_json(summary: dict[str, Any]) -> bytes:
    return (json.dumps(summary, indent=2, sort_keys=False, allow_nan=False) + "\n").encode()
