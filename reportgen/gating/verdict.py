"""Run a policy's checks over a summary: the gate's verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.gating.baseline import load_baseline
from reportgen.gating.checks import CHECKS
from reportgen.gating.compare import Comparison, compare
from reportgen.gating.limits import Check, Inputs, RecallLimits
from reportgen.gating.policy import Policy, load_policy

NO_BASELINE = "skipped: no baseline summary given (--baseline PATH)"
AUDIT_ONLY = "skipped: gate computes no attributions; reportgen audit checks this"
NO_METHODS = "skipped: no attribution methods ran, and the default policy does not ask for them"


def evaluate_checks(
    policy: Policy,
    summary: Mapping[str, Any],
    baseline: Mapping[str, Any] | None = None,
) -> list[Check]:
    """Run every check the policy sets, in registry order (then class order).

    ``baseline`` (validated, e.g. by ``compare.load_baseline``) feeds the ``[baseline]`` keys;
    without it each of those keys gives one skipped check, which never fails the gate.
    """
    inputs = Inputs(summary, baseline, policy.use_ci, policy.source)
    # The same Policy methods decide what the CLI warns about, so the two never disagree.
    skip = dict.fromkeys(policy.skipped_without_baseline(baseline), NO_BASELINE)
    if summary.get("command") == "gate":
        skip |= dict.fromkeys(policy.skipped_in_gate(), AUDIT_ONLY)
    elif policy.default and not summary.get("attributions"):
        # A policy file that sets these keys fails an audit without methods; the default,
        # which nobody chose, skips them (audit --methods none is a normal run).
        skip |= dict.fromkeys(policy.skipped_in_gate(), NO_METHODS)
    checks: list[Check] = []
    for key, spec in CHECKS.items():
        if key in skip:
            checks.append(Check(key, None, _limit_value(policy.limits[key]), True, skip[key]))
        elif key in policy.limits:
            checks.extend(spec.evaluate(key, policy.limits[key], inputs))
    return checks


def _limit_value(limit: Any) -> float | str:
    """A policy limit as the threshold of a check that did not run (e.g. 0.2, "pass")."""
    if isinstance(limit, bool):
        return "pass" if limit else "not required"
    if isinstance(limit, RecallLimits):
        named = [f"{name} {value:g}" for name, value in limit.per_class.items()]
        if not named and limit.default is not None:
            return limit.default
        default = [] if limit.default is None else [f"default {limit.default:g}"]
        return ", ".join(default + named)
    return limit if isinstance(limit, float | str) else str(limit)


def all_passed(checks: Sequence[Check]) -> bool:
    """True when no check failed (an empty policy passes)."""
    return all(check.passed for check in checks)



@dataclass(frozen=True)
class Verdict:
    """The policy's checks and the baseline comparison for one run, kept apart from the
    ``AuditResult`` so that the summary is built once, judged, and then completed."""

    checks: tuple[Check, ...] = ()
    comparison: Comparison | None = None
    policy: Policy | None = None  # the policy in force; None when gating was off

    @property
    def policy_name(self) -> str:
        """The policy as the terminal and the report name it ("none" when gating was off)."""
        return self.policy.name if self.policy is not None else "none"

    @property
    def passed(self) -> bool:
        return all_passed(self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def to_summary(self) -> dict[str, Any]:
        """The verdict as ``gate --json`` prints it: passed, the policy in force (None when
        gating was off), every check and the names of the failed ones."""
        return {"passed": self.passed,
                "policy": self.policy.to_summary() if self.policy is not None else None,
                "checks": [check.to_summary() for check in self.checks],
                "failed": [check.name for check in self.failed]}


def load_gate_inputs(
    policy_path: Path | None, baseline_path: Path | None
) -> tuple[Policy | None, dict[str, Any] | None]:
    """Read and validate the policy and baseline up front, so typos fail before any work."""
    policy = load_policy(policy_path) if policy_path is not None else None
    baseline = load_baseline(baseline_path) if baseline_path is not None else None
    return policy, baseline


def judge(
    summary: Mapping[str, Any], policy: Policy | None, baseline: Mapping[str, Any] | None
) -> Verdict:
    """The verdict of ``policy`` (if any) and the comparison with ``baseline`` (if any)."""
    checks = evaluate_checks(policy, summary, baseline) if policy is not None else []
    comparison = compare(baseline, summary) if baseline is not None else None
    return Verdict(tuple(checks), comparison, policy)
