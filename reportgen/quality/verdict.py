"""The ranked table of methods and the plain-words verdict on which maps to believe.

Ranking: methods that fail the randomisation check come last; within each group, higher
faithfulness first. A method is called *faithful* ("better" than random maps) when the 95%
bootstrap CI of its faithfulness over the explained cases lies above 0 and the mean gain is
at least ``MIN_GAIN`` (one percentage point of probability): a gain too small to matter to a
reader does not count, however certain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from reportgen.quality.sanity import MAX_SPEARMAN, MAX_SSIM
from reportgen.small_sample import MIN_SAMPLE, too_few

MIN_GAIN = 0.01  # faithfulness (probability units) below which a gain is negligible
BORDERLINE = 0.8  # a sanity score above this share of its limit is only just a pass
STABLE_JACCARD = 0.5  # below: the top regions shift noticeably between seeds
LOW_AGREEMENT = 0.3  # mean rank correlation between methods below which they "disagree"
HIGH_AGREEMENT = 0.6

Faithful = Literal["better", "unclear", "worse"]


@dataclass(frozen=True)
class MethodQuality:
    """One row of the ranked table. AUCs and faithfulness are in probability units (0–1)."""

    name: str
    title: str
    deletion_auc: float
    insertion_auc: float
    random_deletion_auc: float
    random_insertion_auc: float
    faithfulness: float  # mean of the deletion and insertion margins over random maps
    faithfulness_ci: tuple[float, float]
    sanity_spearman: float | None = None  # after all layers are randomised
    sanity_ssim: float | None = None
    sanity_passed: bool | None = None  # None: the check was not run
    sanity_max_spearman: float = MAX_SPEARMAN  # the limits it was judged against
    sanity_max_ssim: float = MAX_SSIM
    stability_jaccard: float | None = None
    stability_spearman: float | None = None
    rank: int = 0

    @property
    def faithful(self) -> Faithful:
        """"better" (CI above 0), "worse" (CI below 0) or "unclear" than random maps."""
        low, high = self.faithfulness_ci
        if low > 0 and self.faithfulness >= MIN_GAIN:
            return "better"
        if high < 0 and self.faithfulness <= -MIN_GAIN:
            return "worse"
        return "unclear"

    @property
    def stable(self) -> bool | None:
        """Whether the top regions mostly survive a change of seed; None when not measured."""
        if self.stability_jaccard is None or math.isnan(self.stability_jaccard):
            return None
        return self.stability_jaccard >= STABLE_JACCARD

    @property
    def sanity_borderline(self) -> bool:
        """Passed the randomisation check, but within 20% of a limit."""
        if not self.sanity_passed or self.sanity_spearman is None or self.sanity_ssim is None:
            return False
        return (self.sanity_spearman >= BORDERLINE * self.sanity_max_spearman
                or self.sanity_ssim >= BORDERLINE * self.sanity_max_ssim)

    @property
    def trusted(self) -> bool:
        """Faithful and not failing the sanity check."""
        return self.faithful == "better" and self.sanity_passed is not False


def rank_methods(rows: Sequence[MethodQuality]) -> list[MethodQuality]:
    """Rows sorted best first (sanity failures last, then by faithfulness), ``rank`` set 1..K."""
    def key(row: MethodQuality) -> tuple[bool, float]:
        score = row.faithfulness if math.isfinite(row.faithfulness) else -math.inf
        return (row.sanity_passed is False, -score)

    return [replace(row, rank=i + 1) for i, row in enumerate(sorted(rows, key=key))]


def write_verdict(rows: Sequence[MethodQuality], agreement: np.ndarray, n_cases: int | None = None) -> str:
    """One paragraph in plain words: which maps to believe for this model, and why.

    ``rows`` ranked best first; ``agreement`` (K, K) rank correlations between the methods;
    ``n_cases`` the explained cases the faithfulness intervals rest on. Under ``MIN_SAMPLE``
    cases no method is recommended and no interval is quoted (the small-sample rule).
    """
    if not rows:
        return "No attribution maps were made, so there is nothing to judge."
    if n_cases is not None and too_few(n_cases):
        return (f"Only {n_cases} case{'s' * (n_cases != 1)} {'were' if n_cases != 1 else 'was'} "
                f"explained: too few (under {MIN_SAMPLE}) to say which maps to believe, or to give "
                "an interval for any method's faithfulness; explain more cases "
                "(--cases-per-group) or use a larger split.")
    sentences = [_lead(rows)]
    sentences += [_faithfulness_note(row) for row in rows if row.faithful != "better"]
    sentences += [_sanity_note(row) for row in rows if row.sanity_passed is False]
    sentences += [_borderline_note(row) for row in rows if row.sanity_borderline]
    sentences += [_stability_note(row) for row in rows if row.stable is not None]
    sentences.append(_agreement_note(rows, agreement))
    return " ".join(s for s in sentences if s)


def _lead(rows: Sequence[MethodQuality]) -> str:
    trusted = [row for row in rows if row.trusted]
    if not trusted:
        return ("No method's maps locate the evidence this model uses clearly better than "
                "random maps do and pass the randomisation check, so read none of the maps as "
                "an explanation of its decisions.")
    best = trusted[0]
    low, high = best.faithfulness_ci
    text = (f"For this model, believe {best.title} first: removing the pixels it marks lowers "
            f"the model's confidence faster, and restoring them raises it faster, than with "
            f"random maps (faithfulness {_signed(best.faithfulness)}, 95% CI {_signed(low)} to "
            f"{_signed(high)})")
    if best.sanity_passed:
        text += ", and its maps change when the model's weights are randomised."
    else:
        text += "; the randomisation check could not be run on this model."
    others = [row.title for row in trusted[1:]]
    if others:
        text += f" {_join(others)} {'also pass' if len(others) > 1 else 'also passes'} both tests."
    return text


def _faithfulness_note(row: MethodQuality) -> str:
    if row.faithful == "worse":
        return (f"{_possessive(row.title)} maps point away from the evidence: removing what they "
                f"mark changes the prediction less than removing random pixels (faithfulness "
                f"{_signed(row.faithfulness)}).")
    return (f"{_possessive(row.title)} maps are not clearly better than random maps at finding "
            f"the pixels the model uses (faithfulness {_signed(row.faithfulness)}).")


def _sanity_note(row: MethodQuality) -> str:
    return (f"{row.title} fails the sanity check: its maps stay much the same when every "
            f"layer's weights are replaced by random ones (rank correlation "
            f"{row.sanity_spearman:.2f}, SSIM {row.sanity_ssim:.2f}), so they show the image more "
            f"than what the model learned; do not rely on them.")


def _borderline_note(row: MethodQuality) -> str:
    return (f"{row.title} only just passes the sanity check (rank correlation "
            f"{row.sanity_spearman:.2f}, SSIM {row.sanity_ssim:.2f}, against limits of "
            f"{row.sanity_max_spearman:.2g} and {row.sanity_max_ssim:.2g}): part of its maps "
            f"follows the image whatever the weights, so read them with care.")


def _stability_note(row: MethodQuality) -> str:
    overlap = f"{100 * (row.stability_jaccard or 0.0):.0f}%"
    if row.stable:
        return (f"{row.title} marks about the same regions whatever its random seed "
                f"({overlap} overlap).")
    return (f"{_possessive(row.title)} marked regions shift between random seeds (only "
            f"{overlap} overlap), so read its maps as rough.")


def _agreement_note(rows: Sequence[MethodQuality], agreement: np.ndarray) -> str:
    if len(rows) < 2:
        return ""
    off = agreement[~np.eye(len(agreement), dtype=bool)]
    mean = float(np.nanmean(off)) if np.isfinite(off).any() else float("nan")
    if not math.isfinite(mean):
        return ""
    if mean < LOW_AGREEMENT:
        return (f"The methods largely disagree with one another (mean rank correlation "
                f"{mean:.2f}); where they differ, believe the higher-ranked one.")
    if mean > HIGH_AGREEMENT:
        return f"The methods broadly agree with one another (mean rank correlation {mean:.2f})."
    return f"The methods agree only in part (mean rank correlation {mean:.2f})."


def _possessive(title: str) -> str:
    return f"{title}'" if title.endswith("s") else f"{title}'s"


def _signed(value: float) -> str:
    return f"{value:+.2f}"


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
