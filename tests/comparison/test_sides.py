"""Disagreements, findings side by side and the ranking rule, on hand-made inputs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from reportgen.bias.findings import Finding
from reportgen.comparison.disagreement import find_disagreements, pick_gallery, relative_source
from reportgen.comparison.findings import side_by_side
from reportgen.comparison.paired import compare_pairs
from reportgen.comparison.ranking import Standing, recommend
from reportgen.severity import Severity


def _finding(cls: str, mechanism: str, severity: Severity, effect: float) -> Finding:
    return Finding(id=f"{cls}-{mechanism}", probe=mechanism, class_index=0, class_name=cls,
                   text=f"{mechanism} pushes toward {cls}.", severity=severity, effect=effect,
                   ci_low=effect - 5, ci_high=effect + 5, mechanism=mechanism)


def test_a_shortcut_in_one_model_only_is_the_first_row():
    shared = _finding("sad", "darkening", Severity.WARNING, 30.0)
    planted = _finding("fear", "patch trigger", Severity.CRITICAL, 40.0)
    rows = side_by_side([[shared], [shared, planted], [shared]])
    assert (rows[0].class_name, rows[0].mechanism) == ("fear", "patch trigger")
    assert rows[0].differs and [c is None for c in rows[0].cells] == [True, False, True]
    assert not rows[1].differs


def test_rendered_findings_table_shows_the_shortcut_in_one_column():
    from reportgen.comparison.render import _environment

    planted = _finding("fear", "patch trigger", Severity.CRITICAL, 40.0)
    rows = side_by_side([[], [planted]])
    html = _environment().get_template("compare/findings.html").render(
        c=SimpleNamespace(findings=rows), names=["clean", "planted"])
    assert '<tr class="differs"><th class="l">fear</th>' in html
    assert html.count("sev none") == 1 and "+40.0 pp" in html and "badge critical" in html


def test_disagreements_are_counted_per_true_class_and_ids_are_relative(tmp_path):
    labels = np.array([0, 0, 1, 1])
    a = np.eye(2)[[0, 0, 1, 1]] * 0.9 + 0.05
    b = np.eye(2)[[0, 1, 1, 0]] * 0.9 + 0.05
    sources = [str(tmp_path / "happy" / f"{i}.png") for i in range(4)]
    found = find_disagreements([a, b], labels, sources, tmp_path,
                               [np.array([[2, 0], [0, 2]]), np.array([[1, 1], [1, 1]])])
    assert found.n_differ == 2 and found.by_class == (1, 1)
    assert {c.source for c in found.cases} == {str(Path("happy/1.png")), str(Path("happy/3.png"))}
    assert found.confusion_deltas[0].tolist() == [[-1, 1], [1, -1]]
    assert relative_source("row 7", tmp_path) == "row 7"


def test_gallery_takes_two_per_class_before_a_third():
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    assert pick_gallery(scores, np.array([0, 0, 0, 1]), 3) == [0, 1, 3]


def _standing(name: str, passed: bool, critical: int = 0, accuracy: float = 0.6) -> Standing:
    return Standing(name, passed, () if passed else ("max_bias_severity critical vs warning",),
                    critical, 0, accuracy, accuracy)


def _paired(n_models: int):
    labels = np.arange(70) % 7
    probs = [np.eye(7)[labels] * 0.9 + 0.01 for _ in range(n_models)]
    point = {"accuracy": 1.0, "balanced_accuracy": 1.0, "macro_f1": 1.0, "ece": 0.0,
             **{f"recall:{k}": 1.0 for k in range(7)}}
    return compare_pairs(probs, labels, [point] * n_models, [str(k) for k in range(7)], 0, 20)


def test_the_first_passing_model_is_recommended():
    standings = [_standing("planted", False, critical=1, accuracy=0.7), _standing("clean", True)]
    rec = recommend(standings, _paired(2), "the default policy")
    assert rec.ship == 1 and rec.ranking == (1, 0) and rec.text.startswith("Ship clean")


def test_no_model_is_recommended_when_none_passes():
    rec = recommend([_standing("a", False), _standing("b", False)], _paired(2), "ci.toml")
    assert rec.ship is None and "none passes the policy ci.toml" in rec.text


def _paired_from(accuracies: list[float], n: int = 400):
    """Paired statistics of models right on the first ``accuracy · n`` images (nested sets)."""
    labels = np.arange(n) % 7
    probs = []
    for accuracy in accuracies:
        p = np.eye(7)[labels] * 0.9 + 0.01
        wrong = np.arange(round(accuracy * n), n)
        p[wrong] = np.roll(p[wrong], 1, axis=1)
        probs.append(p)
    point = [{"accuracy": a, "balanced_accuracy": a, "macro_f1": a, "ece": 0.0,
              **{f"recall:{k}": a for k in range(7)}} for a in accuracies]
    return compare_pairs(probs, labels, point, [str(k) for k in range(7)], 0, 20)


def test_fewer_warnings_never_buy_a_significant_loss_of_accuracy():
    accurate = Standing("accurate", True, (), 0, 1, 0.60, 0.60)
    clean = Standing("clean", True, (), 0, 0, 0.45, 0.45)
    rec = recommend([accurate, clean], _paired_from([0.60, 0.45]), "the default policy")
    assert rec.ship == 0 and "significantly more accurate" in rec.text


def test_fewer_warnings_decide_between_models_of_indistinguishable_accuracy():
    accurate = Standing("accurate", True, (), 0, 1, 0.60, 0.60)
    clean = Standing("clean", True, (), 0, 0, 0.595, 0.595)
    rec = recommend([accurate, clean], _paired_from([0.60, 0.595]), "the default policy")
    assert rec.ship == 1 and "fewer shortcut findings" in rec.text
