"""Models whose outputs hold NaN or inf: detected, counted, reported, never silently scored."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from reportgen.cli import app
from tests.conftest import write_csv


def overflowing_model():
    """Finite softmax outputs for dark images (mean pixel < ~128), NaN for bright ones.

    Mean brightness b in [0, 1] → exp(200 b − 12) overflows float32 above b ≈ 0.5; inf times
    weights of both signs gives +inf and −inf logits, and their softmax is NaN. Only stock
    layers, so the model loads in Keras safe mode.
    """
    import keras

    model = keras.Sequential([
        keras.Input((48, 48, 1)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1, activation="exponential"),
        keras.layers.Dense(7, activation="softmax"),
    ])
    model.layers[-2].set_weights([np.full((1, 1), 200.0, "float32"), np.full(1, -12.0, "float32")])
    signs = np.array([[1, -1, 1, -1, 1, -1, 1]], "float32") * 1e-3
    model.layers[-1].set_weights([signs, np.zeros(7, "float32")])
    return model


@pytest.fixture(scope="module")
def overflowing_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("nan") / "overflow.keras"
    overflowing_model().save(path)
    return path


def _csv(tmp_path, values: list[int]):
    images = np.stack([np.full((48, 48), v, np.uint8) for v in values])
    labels = np.arange(len(values)) % 7
    return write_csv(tmp_path / "data.csv", images, labels)


def test_some_nonfinite_outputs_are_counted_scored_wrong_and_reported(tmp_path, overflowing_path):
    data = _csv(tmp_path, [30] * 35 + [230] * 5)
    out = tmp_path / "g"
    result = CliRunner().invoke(app, ["gate", "--model", str(overflowing_path), "--data", str(data),
                                      "--out", str(out), "--quiet", "--policy", "none"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["n_nonfinite_predictions"] == 5
    assert any("5 images gave NaN or inf outputs" in note for note in summary["notes"])
    warnings = [line for line in result.stderr.splitlines() if line.startswith("reportgen: warning:")
                and "--policy none" not in line]
    assert len(warnings) == 1 and "NaN or inf" in warnings[0]
    # Kept and scored as uniform, not dropped: every image counts, and all of them (dark ones by
    # their logits, NaN ones by the uniform row's argmax) are predicted 'angry'.
    assert summary["data"]["n_images"] == 40
    assert summary["metrics"]["accuracy"] == pytest.approx(6 / 40)


def test_only_nonfinite_outputs_are_an_input_error(tmp_path, overflowing_path):
    data = _csv(tmp_path, [230] * 10)
    out = tmp_path / "g"
    result = CliRunner().invoke(app, ["gate", "--model", str(overflowing_path), "--data", str(data),
                                      "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    assert "every prediction is NaN or inf" in result.stderr and not out.exists()
