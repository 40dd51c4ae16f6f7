"""Plain-language findings with effect sizes, CIs and severities from documented thresholds.

A finding says that some change (a probe, a natural slice, or the model's error pattern) pushes
predictions toward one class. Its effect is that class's prediction-rate change in percentage
points (pp), with a 95% bootstrap CI. Rules:

- A finding is stated only when its whole CI lies above zero and its effect is at least
  ``MIN_EFFECT_PP``; a CI that includes zero is never stated.
- Severity comes from the CI's *lower* bound, i.e. from the smallest effect the data support:
  ``critical`` when it is at least ``CRITICAL_CI_LOW_PP`` (one image in ten pushed into the
  class), or at least ``DOUBLING_CI_LOW_PP`` *and* at least the class's own rate before the edit
  (the edit at least doubles the class's predictions: a relative risk of 2, above which most of
  the class's predictions on edited images are caused by the edit); ``warning`` when at least
  ``WARNING_CI_LOW_PP`` (one image in 50); ``info`` otherwise. The relative rule keeps large
  but diffuse sensitivities (a common class gaining a few points under a strong edit) at
  ``warning`` and reserves ``critical`` for edits that take over a class.
- Evidence probes (occluding eyes or mouth) remove real facial evidence, so a shift is expected:
  their findings are capped at ``info``. Natural slices and the sink class are observational
  (a confound cannot be excluded): capped at ``warning``.
- Probe findings are one per (class, mechanism), graded on the part beyond a reference model
  where there is one (``reportgen.bias.shortcuts``); patch triggers likewise
  (``reportgen.bias.triggers``).
- Nothing is stated on fewer than ``MIN_IMAGES`` images: there a percentile bootstrap
  collapses (one image that flips gives a "CI" of [100, 100] pp), so its intervals would
  claim a certainty the data cannot give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.bias.confusions import SinkClass
from reportgen.bias.slices import SliceResult
from reportgen.numbers import round_finite
from reportgen.severity import Severity

MIN_EFFECT_PP = 1.0
WARNING_CI_LOW_PP = 2.0
CRITICAL_CI_LOW_PP = 10.0
DOUBLING_CI_LOW_PP = 5.0
SLICE_ALPHA = 0.05  # a slice finding also needs its within-class permutation test below this
MIN_IMAGES = 30


@dataclass(frozen=True)
class Finding:
    """One stated bias. ``effect``/``ci_low``/``ci_high`` are in pp of the class's rate."""

    id: str
    probe: str  # the probe or slice that shows it
    class_index: int  # the class it pushes predictions toward
    class_name: str
    text: str
    severity: Severity
    effect: float
    ci_low: float
    ci_high: float
    mechanism: str = ""  # e.g. "darkening", "patch trigger", "data pattern"
    # The part beyond a clean reference model (pp and its CI); None without a reference
    specific: float | None = None
    specific_ci: tuple[float, float] | None = None
    reference_effect: float | None = None
    support: tuple[dict, ...] = ()  # supporting measurements: the dose–response curve, etc.
    # With a panel of clean models: True when the effect is within what clean models do
    # (``reportgen.bias.panel``), which can hold even when the CI clears the panel's maximum
    typical: bool | None = None

    @property
    def brief(self) -> str:
        """The text without its supporting lists (other stamps, the dose–response curve), for
        the summary page; the full text stands in the Shortcuts section."""
        cut = min((i for i in (self.text.find(" Also: "), self.text.find(" Dose–response: "))
                   if i >= 0), default=len(self.text))
        return self.text[:cut]

    @property
    def shared(self) -> bool | None:
        """True when a reference model shows the effect as well (no model-specific part)."""
        if self.specific_ci is None:
            return None
        if self.typical is not None:
            return self.typical
        return not (np.isfinite(self.specific_ci[0]) and self.specific_ci[0] > 0.0)

    @property
    def decisive_low(self) -> float:
        """The CI lower bound severity and order are decided on: the model-specific part when
        there is a reference, else the whole effect."""
        return self.specific_ci[0] if self.specific_ci is not None else self.ci_low

    def to_summary(self) -> dict:
        """The contract's ``bias.findings`` entry, plus mechanism, specificity and support."""
        entry = {
            "id": self.id,
            "probe": self.probe,
            "class": self.class_name,
            "text": self.text,
            "severity": self.severity.value,
            "effect": round_finite(self.effect),
            "ci_low": round_finite(self.ci_low),
            "ci_high": round_finite(self.ci_high),
            "mechanism": self.mechanism,
        }
        if self.specific_ci is not None:
            entry.update(specific=round_finite(self.specific),
                         specific_ci=[round_finite(v) for v in self.specific_ci],
                         reference_effect=round_finite(self.reference_effect),
                         shared=self.shared)
        if self.support:
            entry["support"] = list(self.support)
        return entry


def grade(effect: float, ci_low: float, cap: Severity = Severity.CRITICAL,
          rate_before: float = float("inf")) -> Severity | None:
    """Severity of an effect (pp) given its CI lower bound and the class's rate before the
    change (pp; unknown: only the absolute rule applies). None when it must not be stated."""
    if not (np.isfinite(ci_low) and ci_low > 0.0 and effect >= MIN_EFFECT_PP):
        return None
    doubles = ci_low >= DOUBLING_CI_LOW_PP and ci_low >= rate_before
    if ci_low >= CRITICAL_CI_LOW_PP or doubles:
        severity = Severity.CRITICAL
    elif ci_low >= WARNING_CI_LOW_PP:
        severity = Severity.WARNING
    else:
        severity = Severity.INFO
    return severity if severity.rank <= cap.rank else cap


def slice_findings(slices: Sequence[SliceResult], class_names: Sequence[str]) -> list[Finding]:
    """Findings from natural slices: classes called more in the lowest or highest bin than
    their split-wide habit (excess > 0).

    The wording follows the bin itself: *over-called* when the bin has more predictions of k
    than true members of k; *under-called, less than elsewhere* when it has fewer (a class
    the model rarely predicts anywhere can still gain in one bin without being over-called)."""
    findings = []
    for result in slices:
        if not result.conditional_p < SLICE_ALPHA:
            continue
        for end in ("low", "high"):
            findings += _bin_findings(result, end, class_names)
    return findings


def _bin_findings(result: SliceResult, end: str, class_names: Sequence[str]) -> list[Finding]:
    b = 0 if end == "low" else len(result.sizes) - 1
    phrase = result.feature.low if end == "low" else result.feature.high
    top = int(np.nanargmax(result.excess[b])) if np.isfinite(result.excess[b]).any() else -1
    findings = []
    for k, name in enumerate(class_names):
        effect, (low, high) = float(result.excess[b, k]), result.excess_ci[b, k]
        severity = grade(effect, float(low), cap=Severity.WARNING)
        if severity is None or (k != top and severity is Severity.INFO):
            continue
        predicted, true = result.pred_rates[b, k], result.true_rates[b, k]
        how = ("over-called" if predicted > true else "under-called, but less than elsewhere,")
        text = (f"{phrase[0].upper()}{phrase[1:]} (the {end}est fifth by "
                f"{result.feature.label}) are {how} as '{name}': predicted for {predicted:.1%} of "
                f"them while {true:.1%} are '{name}', {pp(effect)} against the same gap over the "
                f"whole split (95% CI {low:.1f}–{high:.1f}; within-class permutation p = "
                f"{result.conditional_p:.3f}).")
        findings.append(Finding(f"slice-{result.name}-{end}-{name}", f"slice:{result.name}:{end}",
                                k, name, text, severity, effect, float(low), float(high)))
    return findings


def sink_finding(sink: SinkClass | None, class_names: Sequence[str]) -> Finding | None:
    """The sink class, stated when the model calls it more often than it is true."""
    if sink is None:
        return None
    low, high = sink.overcall_ci
    severity = grade(sink.overcall, low, cap=Severity.WARNING)
    if severity is None:
        return None
    name = class_names[sink.index]
    order = np.argsort(-sink.feeders, kind="stable")
    feeders = ", ".join(f"'{class_names[k]}' ({sink.feeders[k]})" for k in order[:3]
                        if sink.feeders[k] > 0)
    text = (
        f"'{name}' is the sink class: it receives {sink.share_of_errors:.0%} of all errors "
        f"(most from {feeders}) and is predicted {pp(sink.overcall)} more often than it is "
        f"true (95% CI {low:.1f}–{high:.1f})."
    )
    return Finding(f"sink-{name}", "confusion", sink.index, name, text, severity,
                   sink.overcall, low, high)


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first; within a severity, model-specific findings (beyond a reference) first,
    each group by its deciding CI lower bound (the whole effect's where there is no reference)."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.shared is not False,
                                           -f.decisive_low, -f.ci_low, f.id))


def pp(value: float) -> str:
    """A signed effect in percentage points, as findings write it."""
    return f"{value:+.1f} pp"

