"""MLflow logging against a real local file store (the optional ``mlflow`` extra)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import reportgen
from reportgen.cli import app
from reportgen.tracking import audit_metrics, metric_name

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = (tmp_path / "mlruns").as_uri()
    # MLflow 3.x refuses the file store (in maintenance) unless asked for; it needs no server.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield mlflow.tracking.MlflowClient(uri)
    mlflow.set_tracking_uri(None)


def _artifacts(client, run_id: str) -> set[str]:
    return {item.path for item in client.list_artifacts(run_id, "reportgen")}


def test_cli_logs_metrics_checks_and_files(store, tmp_path, tiny_model_path, small_csv):
    policy = tmp_path / "policy.toml"
    policy.write_text("[thresholds]\nmin_accuracy = 0.99\nmin_recall = { default = 0.0 }\n")
    out = tmp_path / "a"
    result = CliRunner().invoke(app, [str(a) for a in [
        "audit", "--model", tiny_model_path, "--data", small_csv, "--out", out, "--methods", "none",
        "--cases-per-group", "1", "--formats", "json,html", "--policy", policy, "--mlflow",
        "--quiet"]])
    assert result.exit_code == 1, result.output  # the failed check still exits 1 after logging
    (run,) = store.search_runs([store.search_experiments()[0].experiment_id])
    summary = json.loads((out / "summary.json").read_text())
    assert run.data.metrics["accuracy"] == pytest.approx(summary["metrics"]["accuracy"])
    assert run.data.metrics["check.min_accuracy"] == 0.0
    assert run.data.metrics["check.min_recall_happy"] == 1.0
    assert run.data.params["model.sha256"] == summary["model"]["sha256"]
    assert run.data.tags["reportgen.passed"] == "false"
    assert _artifacts(store, run.info.run_id) == {
        "reportgen/checks.json", "reportgen/report.html", "reportgen/summary.json"}


@pytest.mark.slow  # renders all three formats, the PDF included
def test_api_logs_into_the_active_run(store, tiny_model_path, small_csv):
    audit = reportgen.audit(tiny_model_path, small_csv, methods=[], cases_per_group=1)
    with mlflow.start_run() as active:
        run_id = audit.log_mlflow()
        assert mlflow.active_run().info.run_id == active.info.run_id  # left open for the caller
    assert run_id == active.info.run_id
    assert {"reportgen/summary.json", "reportgen/report.pdf"} <= _artifacts(store, run_id)


def test_metric_names_are_valid_mlflow_keys():
    assert metric_name("min_recall[disgust]") == "min_recall_disgust"
    summary = {"metrics": {"accuracy": 0.5, "ece": None, "per_class": {"sad": {"recall": 0.25}}},
               "checks": [{"name": "max_ece", "passed": True, "skipped": True}],
               "bias": {"findings": [{"severity": "critical"}]}}
    assert audit_metrics(summary) == {"accuracy": 0.5, "recall.sad": 0.25, "findings": 1.0,
                                      "findings.critical": 1.0}
