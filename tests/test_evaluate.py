"""Evaluation and case selection on hand-made probability arrays with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.evaluation.evaluate import evaluate, expected_calibration_error
from reportgen.evaluation.select import SelectionRules, select_cases, top2_gap

NAMES = ["a", "b", "c"]


def probs_for(preds: list[int], confidence: list[float], n_classes: int = 3) -> np.ndarray:
    probs = np.zeros((len(preds), n_classes))
    for i, (pred, conf) in enumerate(zip(preds, confidence)):
        probs[i] = (1 - conf) / (n_classes - 1)
        probs[i, pred] = conf
    return probs


def test_metrics_known_answer():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    preds = [0, 0, 0, 1, 1, 2, 2, 2]
    ev = evaluate(probs_for(preds, [0.9] * 8), labels)
    assert ev.accuracy == pytest.approx(6 / 8)
    assert ev.per_class[0].recall == pytest.approx(0.75)
    assert ev.per_class[2].precision == pytest.approx(2 / 3)
    assert ev.balanced_accuracy == pytest.approx((0.75 + 0.5 + 1.0) / 3)
    np.testing.assert_array_equal(ev.confusion, [[3, 1, 0], [0, 1, 1], [0, 0, 2]])
    assert ev.sink_class in (1, 2)
    assert ev.foremost_confusion(0) == 1 and ev.foremost_confusion(2) is None
    assert ev.top2_accuracy >= ev.accuracy
    low, high = ev.accuracy_ci
    assert low <= ev.accuracy <= high


def test_ece_known_answer():
    labels = np.array([0, 0, 0, 0, 0])
    probs = probs_for([0, 0, 0, 0, 1], [0.9, 0.9, 0.9, 0.9, 0.9])
    # one bin holds all five at confidence 0.9 with accuracy 0.8
    assert expected_calibration_error(probs, labels) == pytest.approx(0.1)
    perfect = probs_for([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5])
    assert expected_calibration_error(perfect, np.array([0, 1, 1, 0])) == pytest.approx(0.0)


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 200)
    probs = rng.dirichlet(np.ones(3), 200)
    assert evaluate(probs, labels, seed=3).accuracy_ci == evaluate(probs, labels, seed=3).accuracy_ci
    assert evaluate(probs, labels, seed=3).accuracy_ci != evaluate(probs, labels, seed=4).accuracy_ci


def test_selection_rules():
    labels = np.array([0, 0, 1, 1, 2, 2, 0, 0])
    probs = np.array([
        [0.48, 0.45, 0.07],  # borderline correct
        [0.45, 0.48, 0.07],  # borderline wrong
        [0.05, 0.90, 0.05],  # confident correct
        [0.85, 0.10, 0.05],  # confident wrong
        [0.20, 0.20, 0.60],  # neither
        [0.30, 0.50, 0.20],  # neither, wrong
        [0.70, 0.20, 0.10],
        [0.20, 0.70, 0.10],
    ])
    np.testing.assert_allclose(top2_gap(probs)[:2], [0.03, 0.03])
    ev = evaluate(probs, labels)
    sources = [f"row {i + 1}" for i in range(8)]
    selection = select_cases(ev, sources, NAMES, SelectionRules(per_group=5))
    groups = {group: [c.index for c in cases] for group, cases in selection.by_group().items()}
    assert groups["borderline-correct"] == [0]
    assert groups["borderline-wrong"] == [1]
    assert groups["confident-correct"] == [2]
    assert groups["confident-wrong"] == [3]
    assert groups["confused-a-as-b"] == [1, 7]
    assert groups["correct-c"] == [4]
    assert selection.cases[0].source == "row 1"


def test_selection_is_deterministic_and_capped():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    probs = rng.dirichlet(np.ones(3) * 0.5, 300)
    ev = evaluate(probs, labels)
    sources = [str(i) for i in range(300)]
    first = select_cases(ev, sources, NAMES, SelectionRules(per_group=2, seed=5))
    again = select_cases(ev, sources, NAMES, SelectionRules(per_group=2, seed=5))
    other = select_cases(ev, sources, NAMES, SelectionRules(per_group=2, seed=6))
    assert first.cases == again.cases and first.cases != other.cases
    assert all(len(cases) <= 2 for cases in first.by_group().values())


def test_recall_ci_is_wilson_and_not_degenerate_at_0_and_1():
    # class 0: 0 of 50 right; class 1: 50 of 50 right; class 2: 3 of 4
    labels = np.array([0] * 50 + [1] * 50 + [2] * 4)
    preds = [1] * 50 + [1] * 50 + [2, 2, 2, 0]
    ev = evaluate(probs_for(preds, [0.9] * len(preds)), labels)
    z2 = 1.959963984540054 ** 2
    low, high = ev.per_class[0].recall_ci
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(z2 / (50 + z2))
    low, high = ev.per_class[1].recall_ci
    assert high == pytest.approx(1.0) and low == pytest.approx(50 / (50 + z2))
    low, high = ev.per_class[2].recall_ci  # Wilson for 3/4: 0.3006-0.9544
    assert (low, high) == (pytest.approx(0.3006, abs=1e-4), pytest.approx(0.9544, abs=1e-4))


def test_recall_ci_of_an_absent_class_is_nan():
    ev = evaluate(probs_for([0, 1], [0.9, 0.9]), np.array([0, 1]))
    assert all(np.isnan(ev.per_class[2].recall_ci))
