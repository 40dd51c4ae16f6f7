"""Log an audit to MLflow (the optional ``mlflow`` extra): headline metrics, the checks and the
report files, at whatever tracking URI is active (``MLFLOW_TRACKING_URI`` or
``mlflow.set_tracking_uri``). mlflow is imported here only, when logging is asked for."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.distribution import DISTRIBUTION
from reportgen.errors import InputError

if TYPE_CHECKING:
    from reportgen.api import Audit

ARTIFACT_DIR = "reportgen"
HEADLINE = ("accuracy", "balanced_accuracy", "macro_f1", "ece", "top2_accuracy")


def metric_name(name: str) -> str:
    """A check or class name as an MLflow key (letters, digits, ``_-./`` and spaces only)."""
    return re.sub(r"[^\w\-./ ]", "_", name).strip("_")


def audit_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """Headline metrics, per-class recall, each check's pass (1) or fail (0), finding counts."""
    metrics = {name: summary["metrics"][name] for name in HEADLINE
               if isinstance(summary["metrics"].get(name), int | float)}
    for name, values in summary["metrics"]["per_class"].items():
        if isinstance(values.get("recall"), int | float):
            metrics[f"recall.{metric_name(name)}"] = values["recall"]
    for check in summary["checks"]:
        if not check.get("skipped"):
            metrics[f"check.{metric_name(check['name'])}"] = float(check["passed"])
    findings = summary["bias"]["findings"]
    metrics["findings"] = len(findings)
    metrics["findings.critical"] = sum(f["severity"] == "critical" for f in findings)
    return {key: float(value) for key, value in metrics.items()}


def log_audit(audit: Audit, paths: Sequence[Path] | None = None) -> str:
    """Log ``audit`` to the active MLflow run, or to a new one; return the run id.

    ``paths``: the files to log (as written by ``Audit.save``); None renders all three formats
    into a temporary folder and logs those.
    """
    try:
        import mlflow
    except ImportError:
        raise InputError(f"--mlflow needs the mlflow extra: pip install '{DISTRIBUTION}[mlflow]'") from None
    summary = audit.summary
    active = mlflow.active_run()
    run = active or mlflow.start_run(run_name=f"reportgen {Path(summary['model']['path']).name}")
    try:
        mlflow.log_params(_params(summary))
        mlflow.log_metrics(audit_metrics(summary))
        mlflow.set_tags({"reportgen.passed": str(audit.passed).lower(),
                         "reportgen.command": summary["command"]})
        mlflow.log_dict({"checks": summary["checks"]}, f"{ARTIFACT_DIR}/checks.json")
        if paths is None:
            with tempfile.TemporaryDirectory(prefix="reportgen-mlflow-") as folder:
                audit.save(folder)
                mlflow.log_artifacts(folder, ARTIFACT_DIR)
        else:
            for path in paths:
                mlflow.log_artifact(str(path), ARTIFACT_DIR)
    finally:
        if active is None:
            mlflow.end_run()
    return run.info.run_id


def _params(summary: dict[str, Any]) -> dict[str, str]:
    environment = summary.get("environment", {})
    return {
        "model.path": summary["model"]["path"],
        "model.sha256": summary["model"]["sha256"],
        "model.input_scale": summary["model"]["input_scale"],
        "data.path": summary["data"]["path"],
        "data.split": str(summary["data"]["split"]),
        "data.n_images": str(summary["data"]["n_images"]),
        "seed": str(summary["seed"]),
        "reportgen.version": str(environment.get("reportgen", "")),
    }
