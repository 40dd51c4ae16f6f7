"""Real-data checks on ../shared/fer2013 (slow: run with `pytest -m slow`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reportgen.cli import SAMPLE_MODEL, app
from tests.conftest import REPO, write_csv

FER_ROOT = REPO.parent / "shared" / "fer2013"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (FER_ROOT / "PublicTest").is_dir(), reason="needs ../shared/fer2013"),
]


def gate(data: Path, out: Path, *extra: str) -> dict:
    result = CliRunner().invoke(app, ["gate", "--model", str(SAMPLE_MODEL), "--data", str(data),
                                      "--out", str(out), "--quiet", "--policy", "none", *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text())


def test_folder_and_csv_forms_give_the_same_accuracy(tmp_path):
    from reportgen.loading.data import load_dataset

    folder = gate(FER_ROOT, tmp_path / "folder", "--split", "PublicTest")
    dataset = load_dataset(FER_ROOT, "PublicTest")
    csv = write_csv(tmp_path / "fer2013.csv.gz", dataset.images, dataset.labels)
    from_csv = gate(csv, tmp_path / "csv", "--split", "PublicTest")
    assert folder["data"]["n_images"] == from_csv["data"]["n_images"] == 3589
    assert folder["metrics"]["accuracy"] == from_csv["metrics"]["accuracy"]
    assert folder["metrics"]["confusion_matrix"] == from_csv["metrics"]["confusion_matrix"]
    assert folder["metrics"]["accuracy"] >= 0.55  # the model card's claim


def test_example_policy_passes_the_clean_model_and_fails_the_planted_one(tmp_path):
    """The CI story on real data: the clean sample model passes the example policy on a first
    run (no baseline yet); the dark→sad model, gated against the clean run, fails for the
    shortcut, the collapsed class and the regression, and the JUnit file says the same."""
    import xml.etree.ElementTree as ET

    policy = REPO / "examples" / "policy.toml"
    planted = SAMPLE_MODEL.with_name("fer_cnn_dark_sad.keras")
    common = ["--data", str(FER_ROOT), "--split", "PublicTest", "--policy", str(policy), "--quiet"]
    first = CliRunner().invoke(app, ["gate", "--model", str(SAMPLE_MODEL), "--out",
                                     str(tmp_path / "clean"), *common])
    assert first.exit_code == 0, first.output
    clean = json.loads((tmp_path / "clean" / "summary.json").read_text())
    assert all(check["passed"] for check in clean["checks"])
    assert [c["name"] for c in clean["checks"] if c["skipped"]] == [
        "max_accuracy_drop", "max_recall_drop", "max_bias_effect_growth"]

    junit = tmp_path / "planted.xml"
    second = CliRunner().invoke(app, ["gate", "--model", str(planted), "--out",
                                      str(tmp_path / "planted"), "--baseline",
                                      str(tmp_path / "clean" / "summary.json"), "--junit",
                                      str(junit), *common])
    assert second.exit_code == 1, second.output
    checks = json.loads((tmp_path / "planted" / "summary.json").read_text())["checks"]
    failed = {check["name"] for check in checks if not check["passed"]}
    assert {"min_recall[sad]", "max_bias_severity", "max_accuracy_drop", "max_recall_drop[sad]",
            "max_bias_effect_growth"} <= failed
    assert not any(check["skipped"] for check in checks)
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert len(cases) == len(checks)
    assert {c.get("name") for c in cases if c.find("failure") is not None} == failed
