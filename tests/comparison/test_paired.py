"""Paired tests: McNemar's exact test and Holm's correction on known answers, and the paired
bootstrap's determinism and pairing."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.comparison.paired import bootstrap_p, compare_pairs, holm, mcnemar_exact


@pytest.mark.parametrize(("b", "c", "expected"), [
    (0, 0, 1.0),  # no discordant image: nothing to test
    (0, 10, 2 * 0.5**10),  # every discordant image favours one model
    (1, 9, 2 * 11 / 1024),  # 2 · P(X ≤ 1), X ~ Bin(10, ½) = 2 · (1 + 10) / 2^10
    (5, 5, 1.0),  # balanced: 2 · P(X ≤ 5) > 1, capped
    (9, 1, 2 * 11 / 1024),  # symmetric in the two models
])
def test_mcnemar_exact_known_answers(b, c, expected):
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_holm_known_answer_and_order_kept():
    # sorted 0.01, 0.03, 0.04 → 3·0.01, 2·0.03, max(0.06, 1·0.04): given back in input order
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    adjusted = holm([0.02, float("nan")])
    assert adjusted[0] == pytest.approx(0.02) and np.isnan(adjusted[1])


def test_bootstrap_p_is_two_sided():
    assert bootstrap_p(np.array([1.0, 2.0, 3.0])) == 0.0
    assert bootstrap_p(np.array([-1.0, 1.0])) == 1.0
    assert bootstrap_p(np.array([-1.0, 1.0, 2.0, 3.0])) == pytest.approx(0.5)


def _models(n: int = 400, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """A model right on every image, one wrong on every tenth, on 7 balanced classes."""
    labels = np.arange(n) % 7
    right = np.full((n, 7), 0.01)
    right[np.arange(n), labels] = 0.94
    wrong = right.copy()
    flipped = np.arange(0, n, 10)
    wrong[flipped] = np.roll(right[flipped], 1, axis=1)
    return [right, wrong], labels


def _point(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    acc = float((probs.argmax(axis=1) == labels).mean())
    return {"accuracy": acc, "balanced_accuracy": acc, "macro_f1": acc, "ece": 0.0,
            **{f"recall:c{k}": acc for k in range(7)}}


def test_pairs_use_mcnemar_for_accuracy_and_are_deterministic():
    probs, labels = _models()
    names = [f"c{k}" for k in range(7)]
    points = [_point(p, labels) for p in probs]
    first = compare_pairs(probs, labels, points, names, seed=3, n_boot=200)
    again = compare_pairs(probs, labels, points, names, seed=3, n_boot=200)
    assert first == again
    pair = first.pairs[0]
    assert (pair.only_a_right, pair.only_b_right) == (40, 0)
    accuracy = pair.get("accuracy")
    assert accuracy.test == "mcnemar-exact" and accuracy.p_value == pytest.approx(2 * 0.5**40)
    assert accuracy.ci[1] < 0 and accuracy.significant and accuracy.better == "a"
    assert pair.get("macro_f1").test == "paired-bootstrap"


def test_identical_models_differ_by_exactly_zero_on_every_resample():
    probs, labels = _models()
    names = [f"c{k}" for k in range(7)]
    stats = compare_pairs([probs[1], probs[1].copy()], labels, [_point(probs[1], labels)] * 2,
                          names, seed=0, n_boot=100)
    for d in stats.pairs[0].differences:
        assert d.ci == (0.0, 0.0) and d.p_value == 1.0 and not d.significant


def test_holm_families_across_three_pairs():
    probs, labels = _models()
    third = probs[0].copy()
    names = [f"c{k}" for k in range(7)]
    stats = compare_pairs([*probs, third], labels, [_point(p, labels) for p in [*probs, third]],
                          names, seed=0, n_boot=100)
    assert len(stats.pairs) == 3
    raw = [p.get("accuracy").p_value for p in stats.pairs]
    assert [p.get("accuracy").p_holm for p in stats.pairs] == pytest.approx(holm(raw))


@pytest.mark.parametrize(("b", "c"), [(213, 164), (119, 110), (135, 175), (3, 40), (0, 1)])
def test_mcnemar_equals_the_two_sided_exact_binomial_test(b, c):
    # An independent computation: scipy's binomtest sums the probabilities no larger than the
    # observed one, which for p = ½ is the doubled tail statsmodels' mcnemar(exact=True) takes.
    from scipy.stats import binomtest

    assert mcnemar_exact(b, c) == pytest.approx(binomtest(min(b, c), b + c, 0.5).pvalue, rel=1e-9)
