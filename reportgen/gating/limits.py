"""The vocabulary of the gate: a check's result, the limits a policy sets, what evaluators see.

Every check is one entry in the plain-dict registry ``reportgen.gating.checks.CHECKS``: its policy
section, the kind of limit it takes (which ``reportgen.gating.policy`` parses and validates), and an
evaluator that turns the limit into one or more ``Check`` results.

With ``use_ci`` each check compares the *favourable* end of the 95% CI, so a small split
only fails the gate when even the optimistic bound misses the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reportgen.numbers import round_finite

Section = Literal["thresholds", "baseline"]
LimitKind = Literal["fraction", "points", "severity", "recall", "flag"]
# Differences such as 0.40 − 0.35 carry float noise (0.0500…04); a limit met to within this
# counts as met, so a value exactly on the limit passes as the policy file reads.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Check:
    """One verdict. ``value`` is what was compared (the CI bound under ``use_ci``).

    ``value`` is None when there was nothing to measure; such a check is reported as
    skipped if it passed and as failed (fail-closed) if it did not.
    """

    name: str
    value: float | str | None
    threshold: float | str
    passed: bool
    detail: str = ""

    @property
    def skipped(self) -> bool:
        """Nothing was measured and the check did not fail (e.g. no baseline, no images)."""
        return self.passed and self.value is None

    def to_summary(self) -> dict[str, Any]:
        """The contract's ``checks`` entry, plus ``detail`` and ``skipped``; NaN becomes null."""
        value = self.value
        if isinstance(value, float):
            # Rounded so float noise (0.0114280000001) never makes reruns differ.
            value = round_finite(value)
        return {
            "name": self.name,
            "value": value,
            "threshold": self.threshold,
            "passed": self.passed,
            "skipped": self.skipped,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RecallLimits:
    """Minimum recall per class (fractions 0–1); ``default`` covers classes not named."""

    default: float | None = None
    per_class: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
    """What every evaluator sees. ``source`` names the policy file in error messages."""

    summary: Mapping[str, Any]
    baseline: Mapping[str, Any] | None
    use_ci: bool
    source: str


Evaluator = Callable[[str, Any, Inputs], list[Check]]


@dataclass(frozen=True)
class CheckSpec:
    """A registry entry: where the key lives in the policy, its limit kind, its evaluator.

    ``audit_only`` checks need what only ``reportgen audit`` computes (attributions); in a
    ``gate`` summary they are skipped rather than failed, so one policy serves both commands.
    """

    section: Section
    kind: LimitKind
    evaluate: Evaluator
    audit_only: bool = False


def bound_check(
    name: str, label: str, point: Any, ci: Any, limit: float, at_least: bool, use_ci: bool
) -> Check:
    """Compare ``point`` (or, with ``use_ci``, the favourable end of ``ci``) with ``limit``.

    For a minimum the favourable end is the CI's upper bound, for a maximum its lower bound.
    A missing or NaN value fails the check.
    """
    if point is None:
        return Check(name, None, limit, False, f"{label} is missing or NaN in the summary")
    value, how = float(point), f"{label} {fmt(point)}"
    if use_ci and is_pair(ci):
        value = float(ci[1] if at_least else ci[0])
        end = "upper" if at_least else "lower"
        how = f"{end} CI bound {fmt(value)} ({label} {fmt(point)}, CI {fmt_pair(ci)})"
    elif use_ci:
        how += " (no CI in the summary; point estimate used)"
    passed = within(limit, value) if at_least else within(value, limit)
    sign = (">=" if passed else "<") if at_least else ("<=" if passed else ">")
    return Check(name, value, limit, passed, f"{how} {sign} {fmt(limit)}")



def within(value: float, limit: float) -> bool:
    """value <= limit, allowing float noise; False for NaN, so a broken metric fails."""
    return value <= limit + TOLERANCE


def is_pair(ci: Any) -> bool:
    return isinstance(ci, Sequence) and len(ci) == 2 and all(v is not None for v in ci)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "—" if value is None else str(value)


def fmt_pair(pair: Sequence[float]) -> str:
    return f"[{fmt(float(pair[0]))}, {fmt(float(pair[1]))}]"


def lookup(summary: Mapping[str, Any], path: Sequence[str]) -> Any:
    """``summary[path[0]][path[1]]…``, or None where any key is missing."""
    node: Any = summary
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node
