"""``reportgen compare`` and ``reportgen.compare`` end to end on tiny models, and their refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reportgen.cli import app
from tests.conftest import REPO, brightness_model

runner = CliRunner()
FAST = ("--skip-detectors", "trigger-search,universal-search")


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def unit_model_path(tmp_path_factory) -> Path:
    """The brightness model without its Rescaling layer: it reads 0–1 pixels."""
    path = tmp_path_factory.mktemp("models") / "brightness_unit.keras"
    brightness_model(rescaling=False).save(path)
    return path


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory, tiny_model_path, unit_model_path, small_csv) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("compare") / "out"
    result = run("compare", "--model", tiny_model_path, "--model", unit_model_path, "--data",
                 small_csv, "--out", out, "--formats", "html,json", "--policy", "none", "--quiet",
                 *FAST)
    assert result.exit_code == 0, result.output
    return out, result.stdout


def test_compare_writes_one_report_and_a_summary(compare_dir):
    out, stdout = compare_dir
    assert sorted(p.name for p in out.iterdir()) == ["compare.html", "summary.json"]
    assert stdout.strip().splitlines()[-1] == str(out / "compare.html")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["command"] == "compare"
    assert [m["name"] for m in summary["models"]] == ["brightness", "brightness_unit"]
    pair = summary["paired"]["pairs"][0]
    assert [d["metric"] for d in pair["differences"]][:4] == ["accuracy", "balanced_accuracy",
                                                              "macro_f1", "ece"]
    assert pair["differences"][0]["test"] == "mcnemar-exact"
    assert summary["recommendation"]["ship"] in ("brightness", "brightness_unit")
    assert "Holm" in summary["paired"]["multiple_comparisons"]
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "reportgen" / "schemas" / "compare.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(summary)


def test_models_of_different_scalings_are_each_fed_their_own(compare_dir):
    out, _ = compare_dir
    summary = json.loads((out / "summary.json").read_text())
    assert [m["input_scale"] for m in summary["models"]] == ["0-255", "0-1"]
    assert "differ in input scaling" in summary["notes"][0]
    html = (out / "compare.html").read_text()
    for anchor in ("recommendation", "findings", "metrics", "disagreement", "models"):
        assert f'id="{anchor}"' in html
    assert "src=\"data:image/" in html and "http" not in html.split("<main>")[1][:200]


def test_duplicate_models_are_refused_before_any_work(tmp_path, tiny_model_path, small_csv):
    copy = tmp_path / "copy.keras"
    shutil.copy(tiny_model_path, copy)
    out = tmp_path / "new" / "out"
    result = run("compare", "--model", tiny_model_path, "--model", copy, "--data", small_csv,
                 "--out", out, "--quiet")
    assert result.exit_code == 2
    assert "same file as" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("case", ["one model", "missing model", "scale count", "bad format"])
def test_bad_input_exits_2(tmp_path, tiny_model_path, unit_model_path, small_csv, case):
    models = {"one model": ["--model", tiny_model_path],
              "missing model": ["--model", tiny_model_path, "--model", tmp_path / "nope.keras"]}
    args = models.get(case, ["--model", tiny_model_path, "--model", unit_model_path])
    extra = {"scale count": ["--input-scale", "0-255,0-1,0-1"], "bad format": ["--formats", "docx"]}
    result = run("compare", *args, "--data", small_csv, "--out", tmp_path / "o", "--quiet",
                 *extra.get(case, []))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("reportgen: error:")
    assert not (tmp_path / "o").exists()


def test_the_api_returns_a_comparison(tmp_path, unit_model_path, small_data):
    import reportgen
    from reportgen.loading.dataset import FER2013_CLASSES

    comparison = reportgen.compare([brightness_model(), unit_model_path], small_data,
                                   class_names=FER2013_CLASSES, policy="none",
                                   skip_detectors="trigger-search,universal-search")
    assert comparison.summary["models"][1]["input_scale"] == "0-1"
    assert comparison.recommended in {"brightness_unit", comparison.result.names[0]}
    assert "Findings side by side" in comparison._repr_html_()
    written = comparison.save(tmp_path / "c", formats=["json"])
    assert [p.name for p in written] == ["summary.json"]


def test_the_api_refuses_one_model(tiny_model_path):
    import reportgen

    with pytest.raises(reportgen.InputError, match="at least 2"):
        reportgen.compare([tiny_model_path])
