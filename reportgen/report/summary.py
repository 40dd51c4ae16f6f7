"""The machine-readable result, ``summary.json``, as docs/CONTRACT.md defines it.

``reportgen/schemas/summary.schema.json`` states the same keys as a JSON Schema.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reportgen.numbers import round_all, round_finite
from reportgen.result import AuditResult

if TYPE_CHECKING:
    from reportgen.gating.verdict import Verdict

SCHEMA_VERSION = 1




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
             "p_pred": round_finite(c.p_pred)}
            for c in result.selection.cases
        ],
        "bias": result.bias.to_summary() if result.bias is not None else {"findings": [], "probes": []},
        "checks": [],
        "timings": dict(result.timings),
        "notes": list(result.notes),
        # Python, platform, device and package versions, as in the report's appendix.
        "environment": dict(result.environment),
    }
    if result.attributions is not None:
        summary["attributions"] = result.attributions.to_summary()
    if result.quality is not None:
        summary["quality"] = result.quality.to_summary()
    elif result.options.command.value == "audit":
        summary["attributions"] = {}
    if result.hygiene is not None:
        summary["hygiene"] = result.hygiene.to_summary()
    return summary


def with_verdict(summary: dict[str, Any], verdict: Verdict, timings: dict[str, float],
                 result: AuditResult | None = None) -> dict[str, Any]:
    """The summary completed with the verdict's checks and comparison and the final timings
    (which include the stages that ran after the summary was built, such as rendering), and,
    given the result, ``key_statements``: what the report's brief says."""
    completed = {**summary, "checks": [check.to_summary() for check in verdict.checks],
                 "timings": dict(timings)}
    # The policy in force, so a summary says what its checks were measured against; null when
    # gating was off (--policy none) and nothing was checked.
    completed["policy"] = verdict.policy.to_summary() if verdict.policy is not None else None
    if verdict.comparison is not None:
        completed["comparison"] = verdict.comparison.to_summary()
    if result is not None:
        from reportgen.report.brief import make_brief

        # What page 1 of the report says: the verdict, the headline findings, the actions.
        completed["key_statements"] = make_brief(result, verdict).key_statements()
    return completed


def _model(result: AuditResult) -> dict[str, Any]:
    model = result.model
    return {
        "path": str(model.loaded.path),
        "sha256": model.loaded.sha256,
        "input_shape": list(model.loaded.input_shape),
        "n_params": model.loaded.n_params,
        "input_scale": model.scale.scale.value,
        "input_scale_reason": model.scale.reason,
        "input_scale_accuracies": {k: round_finite(v) for k, v in model.scale.accuracies.items()},
        "input_scale_detection": model.scale.to_summary(),
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
        "accuracy": round_finite(ev.accuracy),
        "accuracy_ci": round_all(ev.accuracy_ci),
        "balanced_accuracy": round_finite(ev.balanced_accuracy),
        "balanced_accuracy_ci": round_all(ev.balanced_accuracy_ci),
        "macro_f1": round_finite(ev.macro_f1),
        "macro_f1_ci": round_all(ev.macro_f1_ci),
        "top2_accuracy": round_finite(ev.top2_accuracy),
        "ece": round_finite(ev.ece),
        "ece_ci": round_all(ev.ece_ci),
        "per_class": {
            name: {"precision": round_finite(m.precision), "recall": round_finite(m.recall), "f1": round_finite(m.f1),
                   "support": m.support, "recall_ci": round_all(m.recall_ci)}
            for name, m in zip(names, ev.per_class)
        },
        "confusion_matrix": ev.confusion.astype(int).tolist(),
        "confusion_matrix_normalised": [round_all(row) for row in ev.confusion_normalised],
        "sink_class": names[ev.sink_class],
    }


def to_json(summary: dict[str, Any]) -> bytes:
    return (json.dumps(summary, indent=2, sort_keys=False, allow_nan=False) + "\n").encode()
