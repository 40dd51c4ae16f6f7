"""The Python API as a notebook user meets it: an in-memory model trained here, arrays as data."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import reportgen
from reportgen.errors import InputError
from reportgen.loading.arrays import dataset_from_arrays
from tests.conftest import REPO


@pytest.fixture(scope="module")
def trained_model(small_data):
    """A small CNN trained for a few epochs on the 56 test images, entirely in memory."""
    import keras

    keras.utils.set_random_seed(0)
    images, labels = small_data
    model = keras.Sequential([
        keras.Input((48, 48, 1)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(7, activation="softmax"),
    ], name="notebook_cnn")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images[..., None].astype("float32"), labels, epochs=3, batch_size=16, verbose=0)
    return model


@pytest.fixture(scope="module")
def api_audit(trained_model, small_data):
    images, labels = small_data
    # Floats in 0–1 with a channel axis: the API must bring them back to 0–255 grey. Without
    # class_names, FER2013's order is assumed, and said.
    with pytest.warns(UserWarning, match="FER2013's index order was assumed"):
        return reportgen.audit(trained_model, (images[..., None] / 255.0, labels),
                               methods=["saliency"], cases_per_group=1)


def test_audit_of_an_in_memory_model_on_arrays(api_audit, trained_model):
    summary = api_audit.summary
    assert summary["model"]["path"] == "<in-memory notebook_cnn>"
    assert len(summary["model"]["sha256"]) == 64
    assert summary["model"]["n_params"] == trained_model.count_params()
    assert summary["data"]["n_images"] == 56 and summary["data"]["path"] == "<in-memory arrays>"
    assert summary["cases"][0]["source"].startswith("index ")
    assert set(summary["attributions"]) == {"saliency"}
    assert api_audit.findings == summary["bias"]["findings"]
    # No policy given: the default applies, and the summary says so.
    assert summary["policy"]["default"] and [c["name"] for c in api_audit.checks] == [
        "min_accuracy", "max_bias_severity", "require_sanity_pass"]
    assert api_audit.passed == all(c["passed"] for c in api_audit.checks)
    assert "notebook_cnn" in repr(api_audit)
    assert any("FER2013's index order was assumed: 0 angry" in note for note in summary["notes"])


def test_summary_matches_the_shipped_schema(api_audit):
    jsonschema = pytest.importorskip("jsonschema")
    from reportgen.resources import summary_schema_path

    schema = json.loads(summary_schema_path().read_text())
    jsonschema.Draft202012Validator(schema).validate(api_audit.summary)
    assert api_audit.summary["environment"]["reportgen"] == reportgen.__version__


def test_save_writes_only_the_chosen_formats(api_audit, tmp_path):
    written = api_audit.save(tmp_path / "out", formats=("json", "html"))
    assert sorted(p.name for p in written) == ["report.html", "summary.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "summary.json"]
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["metrics"] == api_audit.summary["metrics"]
    assert "Rendering report" in saved["timings"]
    with pytest.raises(InputError, match="docx"):
        api_audit.save(tmp_path / "other", formats=("docx",))


def test_notebook_view_is_compact(api_audit):
    html = api_audit._repr_html_()
    assert "accuracy" in html and "Key findings" in html and html.count("<img") == 2
    assert "<html" not in html and "<script" not in html and "http://" not in html
    assert len(html) < 300_000  # the full report is megabytes


def test_gate_returns_the_verdict(tiny_model_path, small_csv):
    policy = REPO / "examples" / "policy.toml"
    with pytest.warns(UserWarning, match="--baseline"):
        verdict = reportgen.gate(tiny_model_path, small_csv, policy=policy)
    assert verdict.checks and verdict.passed == all(c.passed for c in verdict.checks)
    assert {c.name for c in verdict.failed} <= {c.name for c in verdict.checks}


def test_a_dict_policy_and_an_audit_as_the_baseline(api_audit, tiny_model_path, small_csv):
    policy = {"thresholds": {"min_accuracy": 0.0}, "baseline": {"max_accuracy_drop": 1.0}}
    verdict = reportgen.gate(tiny_model_path, small_csv, policy=policy, baseline=api_audit)
    assert verdict.policy.source == "policy dict" and not verdict.policy.default
    assert [c.name for c in verdict.checks] == ["min_accuracy", "max_accuracy_drop"]
    assert verdict.passed and not any(c.skipped for c in verdict.checks)
    assert verdict.comparison is not None
    # The same baseline as a summary dict; a policy object as it is.
    again = reportgen.gate(tiny_model_path, small_csv, policy=verdict.policy,
                           baseline=api_audit.summary)
    assert again.checks == verdict.checks
    with pytest.raises(InputError, match="baseline dict: missing key data.class_names"):
        reportgen.gate(tiny_model_path, small_csv, baseline={"schema_version": 1})
    with pytest.raises(InputError, match="policy dict: unknown section"):
        reportgen.gate(tiny_model_path, small_csv, policy={"threshold": {}})


def test_labels_in_another_class_order_are_named(tiny_model_path):
    """Flat images the brightness model classifies exactly, labelled with FER2013's classes
    numbered alphabetically (neutral 4, sad 5, surprise 6): a cycle sad → neutral → surprise."""
    import keras

    from reportgen.loading.dataset import FER2013_CLASSES
    from tests.conftest import brightness_model

    levels = np.rint(np.linspace(0.1, 0.9, 7) * 255).astype(np.uint8)
    classes = np.repeat(np.arange(7), 6)
    images = np.broadcast_to(levels[classes][:, None, None], (len(classes), 48, 48)).copy()
    alphabetical = np.argsort(np.argsort(FER2013_CLASSES))  # FER2013 index → alphabetical index
    keras.utils.set_random_seed(0)
    with pytest.warns(UserWarning, match="another class order") as caught:
        audit = reportgen.audit(brightness_model(), (images, alphabetical[classes]), methods=[],
                                class_names=FER2013_CLASSES, policy="none")
    assert not any("index order was assumed" in str(w.message) for w in caught)
    note = next(n for n in audit.summary["notes"] if "another class order" in n)
    assert "of 'sad' predicted 'neutral'" in note and "of 'neutral' predicted 'surprise'" in note
    assert audit.summary["policy"] is None and audit.checks == []


def test_bad_arguments_raise_input_error(tiny_model_path):
    with pytest.raises(InputError, match="model: expected a path or a keras.Model"):
        reportgen.audit(42, methods=[])
    with pytest.raises(InputError, match="magic"):
        reportgen.audit(tiny_model_path, methods=["magic"])


def test_gate_function_survives_importing_the_gating_package():
    import reportgen.gating.policy

    assert callable(reportgen.gate) and reportgen.gate.__module__ == "reportgen.api"


def test_version_is_the_installed_one():
    from importlib import metadata

    assert reportgen.__version__ == metadata.version("reportgen-fer")


def test_import_pulls_in_no_heavy_optional_parts():
    code = ("import sys, reportgen, reportgen.cli, reportgen.pipeline, reportgen.attributions;"
            "print(sorted(m for m in ('shap', 'numba', 'llvmlite', 'mlflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    light_code = "import sys, reportgen, reportgen.cli; print('tensorflow' in sys.modules)"
    light = subprocess.run([sys.executable, "-c", light_code], capture_output=True, text=True,
                           check=True)
    assert light.stdout.strip() == "False"  # --version and --help never start TensorFlow


@pytest.mark.parametrize("convert", [
    lambda x: x.astype(np.float32),                    # float 0–255
    lambda x: x[..., None] / 255.0,                    # float 0–1 with a channel axis
    lambda x: x / 127.5 - 1.0,                         # float −1–1
    lambda x: np.repeat(x[..., None], 3, axis=-1),     # RGB of equal channels
])
def test_array_layouts_give_the_same_grey_images(small_data, convert):
    images, labels = small_data
    dataset = dataset_from_arrays(convert(images), labels)
    assert np.abs(dataset.images.astype(int) - images).max() <= 1
    assert dataset.images.dtype == np.uint8 and dataset.class_counts["happy"] == 8


def test_other_sizes_are_resized_and_bad_arrays_refused():
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (4, 64, 64), dtype=np.uint8)
    assert dataset_from_arrays(big, np.array([0, 1, 2, 3])).images.shape == (4, 48, 48)
    for images, labels, message in [
        (big[:, :, :, None, None], [0, 1, 2, 3], "shape"),
        (big, [0, 1, 2], "labels must have shape"),
        (big, [0, 1, 2, 9], "0–6"),
        (big * 10.0, [0, 1, 2, 3], "span"),
        (big.astype(np.int32) * 2, [0, 1, 2, 3], "0–255"),
    ]:
        with pytest.raises(InputError, match=message):
            dataset_from_arrays(images, np.asarray(labels))
