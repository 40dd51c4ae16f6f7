"""Ranking and the plain-words verdict."""

from __future__ import annotations

import numpy as np

from reportgen.quality.verdict import MethodQuality, rank_methods, write_verdict


def row(name: str, faithfulness: float, ci: tuple[float, float], passed: bool | None = True,
        rho: float = 0.1, jaccard: float | None = None) -> MethodQuality:
    return MethodQuality(name=name, title=name.upper(), deletion_auc=0.2, insertion_auc=0.5,
                         random_deletion_auc=0.3, random_insertion_auc=0.3,
                         faithfulness=faithfulness, faithfulness_ci=ci, sanity_spearman=rho,
                         sanity_ssim=0.1, sanity_passed=passed, stability_jaccard=jaccard,
                         stability_spearman=None if jaccard is None else 0.5)


def test_sanity_failures_rank_last_then_by_faithfulness() -> None:
    rows = rank_methods([row("a", 0.05, (0.02, 0.08)), row("b", 0.30, (0.2, 0.4), passed=False,
                                                             rho=0.9),
                         row("c", 0.10, (0.05, 0.15))])
    assert [r.name for r in rows] == ["c", "a", "b"]
    assert [r.rank for r in rows] == [1, 2, 3]


def test_verdict_names_the_best_and_warns_about_failures() -> None:
    rows = rank_methods([row("good", 0.10, (0.05, 0.15)), row("flat", 0.001, (-0.01, 0.012)),
                         row("copy", 0.2, (0.1, 0.3), passed=False, rho=0.9),
                         row("lime", 0.08, (0.04, 0.1), jaccard=0.3)])
    text = write_verdict(rows, np.eye(4) * 0.5 + 0.1)
    assert text.startswith("For this model, believe GOOD first")
    assert "LIME also passes both tests" in text
    assert "FLAT's maps are not clearly better than random" in text
    assert "COPY fails the sanity check" in text and "0.90" in text
    assert "LIME's marked regions shift between random seeds (only 30% overlap)" in text
    assert "largely disagree" in text


def test_verdict_when_nothing_can_be_trusted() -> None:
    rows = rank_methods([row("a", 0.004, (0.001, 0.007)), row("b", -0.05, (-0.08, -0.02))])
    text = write_verdict(rows, np.eye(2))
    assert "read none of the maps" in text
    assert "B's maps point away from the evidence" in text
    assert rows[0].faithful == "unclear"  # CI above 0 but a negligible gain


def test_borderline_sanity_pass_is_flagged() -> None:
    rows = rank_methods([row("ig", 0.05, (0.02, 0.08), rho=0.45)])
    assert rows[0].sanity_borderline
    assert "only just passes the sanity check" in write_verdict(rows, np.eye(1))
