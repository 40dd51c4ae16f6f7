"""The CLI as users and CI meet it: outputs, exit codes, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reportgen.cli import app
from tests.conftest import REPO

runner = CliRunner()
CONTRACT_KEYS = {
    "model": {"path", "sha256", "input_shape", "n_params", "input_scale"},
    "data": {"path", "split", "n_images", "class_names", "class_counts"},
    "metrics": {"accuracy", "balanced_accuracy", "macro_f1", "ece", "per_class", "confusion_matrix"},
}


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory, tiny_model_path, small_csv) -> Path:
    out = tmp_path_factory.mktemp("audit") / "out"
    result = run("audit", "--model", tiny_model_path, "--data", small_csv, "--out", out,
                 "--methods", "saliency,gradcam", "--cases-per-group", "2", "--quiet",
                 "--policy", "none")
    assert result.exit_code == 0, result.output
    return out


def test_audit_writes_the_contract_files(audit_dir):
    assert sorted(p.name for p in audit_dir.iterdir()) == ["report.html", "report.pdf", "summary.json"]
    summary = json.loads((audit_dir / "summary.json").read_text())
    assert summary["schema_version"] == 1
    for section, keys in CONTRACT_KEYS.items():
        assert keys <= set(summary[section]), section
    assert summary["data"]["class_names"][4] == "sad" and summary["data"]["n_images"] == 56
    assert summary["model"]["input_shape"] == [48, 48, 1]
    assert set(summary["model"]["input_scale_accuracies"]) == {"0-255", "0-1", "-1-1"}
    assert {"precision", "recall", "f1", "support"} <= set(summary["metrics"]["per_class"]["happy"])
    assert len(summary["metrics"]["confusion_matrix"]) == 7
    case = summary["cases"][0]
    assert set(case) >= {"group", "source", "true", "pred", "p_pred"} and case["source"].startswith("row ")
    assert set(summary["attributions"]) == {"saliency", "gradcam"}
    assert {"n_images", "seconds"} <= set(summary["attributions"]["saliency"])
    assert {"findings", "probes"} <= set(summary["bias"])
    assert isinstance(summary["checks"], list) and isinstance(summary["timings"], dict)


def test_pdf_has_the_sections_and_html_is_self_contained(audit_dir):
    from pypdf import PdfReader

    reader = PdfReader(audit_dir / "report.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    for title in ["Brief", "Contents", "Summary", "Model and data", "Performance", "Confusions",
                  "Glossary", "Appendix"]:
        assert title in text, title
    bookmarks = _titles(reader.outline)  # PDF bookmarks come from the headings
    assert {"Brief", "Summary", "Performance", "Confusions", "Appendix"} <= set(bookmarks)
    html = (audit_dir / "report.html").read_text()
    assert "Case galleries" in html  # the case cards: the page, and the PDF with --pdf-appendix
    assert "data:image/png;base64," in html
    for external in ['src="http', "src='http", 'href="http', "url(http", "@import"]:
        assert external not in html


def _titles(outline: list) -> list[str]:
    titles = []
    for item in outline:
        titles += _titles(item) if isinstance(item, list) else [item["/Title"]]
    return titles


def test_gate_writes_only_the_summary(tmp_path, tiny_model_path, small_csv):
    result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / "g",
                 "--quiet", "--policy", "none")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "g").iterdir()] == ["summary.json"]
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    assert "attributions" not in summary
    # The model has a Rescaling layer, so gate skips scoring the three scalings.
    assert summary["model"]["input_scale"] == "0-255" and summary["model"]["input_scale_accuracies"] == {}


def test_failed_policy_exits_1_and_still_writes(tmp_path, tiny_model_path, small_csv):
    policy = tmp_path / "policy.toml"
    policy.write_text("[thresholds]\nmin_accuracy = 0.99\n")
    junit = tmp_path / "checks.xml"
    result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / "g",
                 "--policy", policy, "--junit", junit, "--quiet")
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "g" / "summary.json").read_text())
    assert summary["checks"][0]["name"] == "min_accuracy" and summary["checks"][0]["passed"] is False
    assert "<failure" in junit.read_text()


def test_baseline_checks_without_a_baseline_are_skipped_with_a_warning(tmp_path, tiny_model_path,
                                                                      small_csv):
    junit = tmp_path / "checks.xml"
    result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / "g",
                 "--policy", REPO / "examples" / "policy.toml", "--junit", junit, "--quiet")
    assert result.exit_code in (0, 1), result.output
    warning = [line for line in result.stderr.splitlines() if line.startswith("reportgen: warning:")]
    assert len(warning) == 1 and "max_accuracy_drop" in warning[0] and "--baseline" in warning[0]
    checks = json.loads((tmp_path / "g" / "summary.json").read_text())["checks"]
    skipped = [c["name"] for c in checks if c["skipped"]]
    assert skipped == ["max_accuracy_drop", "max_recall_drop", "max_bias_effect_growth"]
    assert all(c["passed"] for c in checks if c["skipped"])
    assert junit.read_text().count("<skipped") == 3


def test_existing_files_are_kept(tmp_path, tiny_model_path, small_csv):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", out, "--quiet",
                 "--policy", "none")
    assert result.exit_code == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "summary.json"]


def _bad_inputs(tmp: Path, model: Path, csv: Path) -> dict[str, tuple[list, str]]:
    corrupt = tmp / "corrupt.keras"
    corrupt.write_bytes(b"not a model")
    cols = tmp / "cols.csv"
    cols.write_text("label,data\n0,1 2 3\n")
    short = tmp / "short.csv"
    short.write_text("emotion,pixels,Usage\n0,1 2 3,PublicTest\n")
    folder = tmp / "folders" / "contempt"
    folder.mkdir(parents=True)
    typo = tmp / "typo.toml"
    typo.write_text("[thresholds]\nmin_acuracy = 0.5\n")
    not_json = tmp / "base.json"
    not_json.write_text("{not json")
    return {
        "missing model": (["--model", tmp / "nope.keras", "--data", csv], "nope.keras"),
        "missing data": (["--model", model, "--data", tmp / "nope.csv"], "nope.csv"),
        "corrupt model": (["--model", corrupt, "--data", csv], "corrupt.keras"),
        "wrong columns": (["--model", model, "--data", cols], "cols.csv"),
        "short row": (["--model", model, "--data", short], "row 1"),
        "unknown class folder": (["--model", model, "--data", folder.parent], "contempt"),
        "empty split": (["--model", model, "--data", csv, "--split", "PrivateTest"], "PrivateTest"),
        "bad scale": (["--model", model, "--data", csv, "--input-scale", "0-9"], "--input-scale"),
        "bad method": (["--model", model, "--data", csv, "--methods", "lime,magic"], "magic"),
        "class count": (["--model", model, "--data", csv, "--class-names", "a,b,c"], "7 outputs"),
        "policy typo": (["--model", model, "--data", csv, "--policy", typo], "min_acuracy"),
        "baseline not json": (["--model", model, "--data", csv, "--baseline", not_json], "base.json"),
        "junit is a folder": (["--model", model, "--data", csv, "--junit", tmp], "--junit"),
    }


@pytest.mark.parametrize("case", ["missing model", "missing data", "corrupt model", "wrong columns",
                                  "short row", "unknown class folder", "empty split", "bad scale",
                                  "bad method", "class count", "policy typo", "baseline not json",
                                  "junit is a folder"])
def test_bad_input_exits_2_with_one_line(tmp_path, tiny_model_path, small_csv, case):
    args, needle = _bad_inputs(tmp_path, tiny_model_path, small_csv)[case]
    out = tmp_path / "report"
    methods = [] if "--methods" in args else ["--methods", "saliency"]
    result = run("audit", *args, "--out", out, "--quiet", *methods)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("reportgen: error:") and needle in lines[0], lines
    assert "Traceback" not in result.output
    assert not out.exists()


def test_same_inputs_and_seed_give_the_same_summary(tmp_path, tiny_model_path, small_csv):
    summaries = []
    for name in ("first", "second"):
        result = run("audit", "--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / name,
                     "--methods", "lime,smoothgrad", "--cases-per-group", "1", "--seed", "3", "--quiet",
                     "--policy", "none")
        assert result.exit_code == 0, result.output
        summaries.append(_without_timings(json.loads((tmp_path / name / "summary.json").read_text())))
    assert summaries[0] == summaries[1]
    assert summaries[0]["attributions"] and summaries[0]["quality"]


def _without_timings(value):
    """The summary with every wall-clock entry ('timings', 'seconds') removed, and whether the
    clean-model panel's answers came from the cache ('cached': the first run of a session
    computes them, the second reads them back; run alone, this test saw only that differ)."""
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items()
                if k not in ("timings", "seconds", "cached")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value
