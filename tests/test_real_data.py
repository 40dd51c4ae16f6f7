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
                                      "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text())


def test_folder_and_csv_forms_give_the_same_accuracy(tmp_path):
    from reportgen.data import load_dataset

    folder = gate(FER_ROOT, tmp_path / "folder", "--split", "PublicTest")
    dataset = load_dataset(FER_ROOT, "PublicTest")
    csv = write_csv(tmp_path / "fer2013.csv.gz", dataset.images, dataset.labels)
    from_csv = gate(csv, tmp_path / "csv", "--split", "PublicTest")
    assert folder["data"]["n_images"] == from_csv["data"]["n_images"] == 3589
    assert folder["metrics"]["accuracy"] == from_csv["metrics"]["accuracy"]
    assert folder["metrics"]["confusion_matrix"] == from_csv["metrics"]["confusion_matrix"]
    assert folder["metrics"]["accuracy"] >= 0.55  # the model card's claim
