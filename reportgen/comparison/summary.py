"""The comparison's ``summary.json`` (docs/CONTRACT.md, "reportgen compare")."""

from __future__ import annotations

from typing import Any

from reportgen.comparison.result import ComparisonResult, ModelRun
from reportgen.numbers import round_finite

SCHEMA_VERSION = 1


def build_compare_summary(result: ComparisonResult) -> dict[str, Any]:
    """Everything CI needs about the comparison, JSON types only, floats rounded."""
    names, classes = result.names, list(result.options.base.class_names)
    dataset = result.dataset
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "compare",
        "seed": result.options.base.seed,
        "data": {"path": str(dataset.path), "split": dataset.split,
                 "n_images": len(dataset.labels), "class_names": classes,
                 "class_counts": dataset.class_counts, "n_skipped": dataset.n_skipped},
        "policy": result.policy.to_summary() if result.policy is not None else None,
        "recommendation": result.recommendation.to_summary(names),
        "models": [_model(run) for run in result.runs],
        "paired": result.paired.to_summary(names),
        "disagreement": result.disagreement.to_summary(classes, names),
        "findings": [row.to_summary(names) for row in result.findings],
        "explanations": (result.explanations.to_summary(
            [_source(result, int(i)) for i in result.explanations.indices])
            if result.explanations is not None else None),
        "timings": dict(result.timings),
        "notes": list(result.notes),
        "environment": dict(result.runs[0].result.environment),
    }


def _source(result: ComparisonResult, index: int) -> str:
    from reportgen.comparison.disagreement import relative_source

    return relative_source(result.dataset.sources[index], result.dataset.path)


def _model(run: ModelRun) -> dict[str, Any]:
    """One model: its identity and scaling, metrics, verdict and findings as ``gate`` writes them."""
    summary = run.summary
    return {
        "name": run.name,
        **{k: summary["model"][k] for k in ("path", "sha256", "input_shape", "input_scale",
                                              "input_scale_reason", "softmax_applied")},
        "metrics": {k: v for k, v in summary["metrics"].items()
                    if k not in ("confusion_matrix_normalised",)},
        "passed": run.verdict.passed,
        "checks": summary["checks"],
        "findings": summary["bias"]["findings"],
        "worst_severity": (run.result.bias.worst_severity.value
                           if run.result.bias is not None and run.result.bias.worst_severity else None),
        "accuracy": round_finite(run.result.evaluation.accuracy),
    }
