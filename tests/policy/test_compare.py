"""Baseline comparison on known numbers, its figures and its report section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reportgen.errors import InputError
from reportgen.gating.baseline import load_baseline
from reportgen.gating.compare import bias_deltas, compare
from reportgen.gating.effects import bias_effects
from reportgen.report.figures.compare import comparison_figures

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_overall_and_per_class_deltas(make_summary) -> None:
    baseline = make_summary(accuracy=0.62, ece=0.05)
    candidate = make_summary(accuracy=0.60, ece=0.08, recalls={"fear": 0.30, "happy": 0.90})
    result = compare(baseline, candidate)
    overall = {m.name: m for m in result.overall}
    assert overall["accuracy"].delta == pytest.approx(-2.0)
    assert overall["ece"].delta == pytest.approx(3.0)
    rows = {row.name: row for row in result.per_class}
    assert rows["fear"].recall.delta == pytest.approx(-10.0)
    assert rows["happy"].recall.delta == pytest.approx(10.0)
    assert rows["angry"].recall.delta == 0.0
    assert (rows["disgust"].support_baseline, rows["disgust"].support_candidate) == (10, 10)


def test_confusion_delta_in_row_percentage_points(make_summary) -> None:
    # fear: 40 of 100 right → 30 of 100 right; the 10 extra misses go to neutral.
    result = compare(make_summary(), make_summary(recalls={"fear": 0.30}))
    expected = np.zeros((7, 7))
    expected[2, 2], expected[2, 6] = -10.0, 10.0
    np.testing.assert_allclose(result.confusion_delta, expected)
    assert result.confusion_candidate[2, 6] - result.confusion_baseline[2, 6] == 10


def test_split_size_does_not_change_rate_deltas(make_summary) -> None:
    double = make_summary(supports=[200, 20, 200, 200, 200, 200, 200])
    result = compare(make_summary(), double)
    np.testing.assert_allclose(result.confusion_delta, 0.0)
    assert any("different images" in note for note in result.notes)
    assert any("same model file" in note for note in result.notes)


def test_bias_deltas(make_summary, make_probe, make_finding) -> None:
    baseline = make_summary(probes=[make_probe("blur", {"happy": 0.30}, {"happy": 0.25})])
    candidate = make_summary(
        probes=[make_probe("blur", {"happy": 0.30}, {"happy": 0.18})],
        findings=[make_finding("glasses", "angry", 9.0, (6.0, 12.0))],
    )
    deltas = {(d.probe, d.class_name): d for d in bias_deltas(baseline, candidate)}
    blur = deltas[("blur", "happy")]
    assert (blur.baseline, blur.candidate) == pytest.approx((-5.0, -12.0))
    assert blur.growth == pytest.approx(7.0) and not blur.new
    glasses = deltas[("glasses", "angry")]
    assert (glasses.baseline, glasses.candidate, glasses.growth) == (0.0, 9.0, 9.0)
    assert glasses.new
    assert [d.probe for d in bias_deltas(baseline, candidate)] == ["glasses", "blur"]


def test_different_class_names_are_an_input_error(make_summary) -> None:
    other = make_summary(class_names=["a", "b", "c", "d", "e", "f", "g"])
    with pytest.raises(InputError, match="class names"):
        compare(other, make_summary())


def test_load_baseline_round_trip(tmp_path: Path, make_summary) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(make_summary()), encoding="utf-8")
    assert load_baseline(path) == make_summary()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "not found"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a summary.json object"),
        ('{"data": {"class_names": ["a"]}}', "missing key metrics.accuracy"),
    ],
)
def test_load_baseline_errors(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "summary.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=problem) as error:
        load_baseline(path)
    assert str(path) in str(error.value)


def test_load_baseline_refuses_malformed_sections(tmp_path: Path, make_summary) -> None:
    path = tmp_path / "summary.json"
    broken = make_summary()
    broken["metrics"]["confusion_matrix"] = [[1, 2], [3, 4]]
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(InputError, match="not a 7x7 table"):
        load_baseline(path)
    broken = make_summary()
    broken["metrics"]["confusion_matrix"][0][0] = "many"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(InputError, match="not a 7x7 table"):
        load_baseline(path)
    broken = make_summary(findings=[{"probe": "blur"}])
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(InputError, match="malformed bias section"):
        load_baseline(path)


def test_comparison_summary_is_json(make_summary, make_probe) -> None:
    candidate = make_summary(probes=[make_probe("blur", {"happy": 0.3}, {"happy": 0.2})])
    record = compare(make_summary(), candidate).to_summary()
    text = json.dumps(record, allow_nan=False)
    assert json.loads(text)["per_class"][0]["recall"]["name"] == "recall"


def test_figures_are_png_data_uris(make_summary, make_probe) -> None:
    plain = comparison_figures(compare(make_summary(), make_summary(recalls={"fear": 0.3})))
    assert set(plain) == {"per_class", "confusion"}
    candidate = make_summary(probes=[make_probe("blur", {"happy": 0.3}, {"happy": 0.2})])
    figures = comparison_figures(compare(make_summary(), candidate))
    assert set(figures) == {"per_class", "confusion", "bias"}
    assert all(uri.startswith("data:image/png;base64,") for uri in figures.values())


def _environment() -> Environment:
    """Like the report's (reportgen.report.render): autoescaping, strict, the filters partials use."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: f"{100 * x:.1f}%"
    env.filters["pp"] = lambda x: f"{x:+.1f} pp"
    env.filters["num"] = lambda x: f"{x:.3g}"
    env.filters["ci"] = lambda pair: f"[{pair[0]:.3g}, {pair[1]:.3g}]"
    return env


@pytest.mark.parametrize("as_dict", [False, True])
def test_section_renders_deltas(make_summary, make_probe, as_dict: bool) -> None:
    candidate = make_summary(
        accuracy=0.60,
        recalls={"fear": 0.30},
        probes=[make_probe("blur", {"happy": 0.30}, {"happy": 0.18})],
    )
    result = compare(make_summary(accuracy=0.62), candidate)
    figures = {"per_class": "data:image/png;base64,AAAA", "confusion": "data:image/png;base64,BBBB"}
    html = _environment().get_template("sections/comparison.html").render(
        comparison=result.to_summary() if as_dict else result, comparison_figs=figures
    )
    assert "Comparison with the baseline" in html
    assert "-2.0 pp" in html  # accuracy
    assert "-10.0 pp" in html  # fear recall
    assert "+12.0 pp" in html  # blur → happy growth
    assert 'src="data:image/png;base64,AAAA"' in html
    assert "Bias effects, baseline and candidate" not in html  # no bias figure given


def test_section_escapes_hostile_names(make_summary) -> None:
    names = ["<script>alert(1)</script>", "b", "c", "d", "e", "f", "g"]
    baseline = make_summary(class_names=names)
    baseline["model"]["path"] = "models/<img src=x onerror=alert(1)>.keras"
    html = _environment().get_template("sections/comparison.html").render(
        comparison=compare(baseline, make_summary(class_names=names)), comparison_figs={}
    )
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_probe_rate_changes_with_cis_are_used(make_summary) -> None:
    probe = {
        "name": "glasses",
        "rates_before": {"angry": 0.10},
        "rates_after": {"angry": 0.19},
        "rate_change_pp": {"angry": {"effect": 9.0, "ci_low": 6.0, "ci_high": 12.0},
                           "sad": {"effect": None, "ci_low": None, "ci_high": None}},
    }
    effects = bias_effects(make_summary(probes=[probe]))
    assert list(effects) == [("glasses", "angry")]  # the null effect is skipped
    assert effects[("glasses", "angry")].magnitude(use_ci=True) == 6.0
    assert effects[("glasses", "angry")].magnitude(use_ci=False) == 9.0


def test_summary_sentence_names_the_regressions(make_summary, make_probe) -> None:
    from types import SimpleNamespace

    from reportgen.gating.limits import Check
    from reportgen.report.narrative import comparison_finding

    baseline = make_summary(accuracy=0.62, probes=[make_probe("blur", {"sad": 0.1}, {"sad": 0.12})])
    candidate = make_summary(accuracy=0.60, recalls={"fear": 0.30},
                             probes=[make_probe("blur", {"sad": 0.1}, {"sad": 0.40})])
    comparison = compare(baseline, candidate)
    finding = comparison_finding(SimpleNamespace(comparison=comparison, checks=[]))
    assert finding["severity"] == "warning"  # -10 pp fear recall passes the 5 pp default
    assert "accuracy 62.0% → 60.0% (-2.0 pp)" in finding["text"]
    assert "largest recall drop 'fear' 40.0% → 30.0% (-10.0 pp)" in finding["text"]
    assert "blur → 'sad' +2.0 → +30.0 pp" in finding["text"]
    # A policy that judged the baseline and passed makes it information, not a warning.
    passed = [Check("max_accuracy_drop", 0.02, 0.05, True), Check("max_recall_drop[fear]", 0.1, 0.2, True)]
    assert comparison_finding(SimpleNamespace(comparison=comparison, checks=passed))["severity"] == "info"
    same = compare(baseline, baseline)
    text = comparison_finding(SimpleNamespace(comparison=same, checks=[]))
    assert text["severity"] == "info" and "accuracy 62.0% → 62.0% (+0.0 pp)" in text["text"]
