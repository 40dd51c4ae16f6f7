"""Attach the policy verdict and the baseline comparison to an audit result."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from reportgen.checks import evaluate_checks
from reportgen.compare import compare, load_baseline
from reportgen.pipeline import AuditResult
from reportgen.policy import Policy, load_policy


def load_gate_inputs(
    policy_path: Path | None, baseline_path: Path | None
) -> tuple[Policy | None, dict[str, Any] | None]:
    """Read and validate the policy and baseline up front, so typos fail before any work."""
    policy = load_policy(policy_path) if policy_path is not None else None
    baseline = load_baseline(baseline_path) if baseline_path is not None else None
    return policy, baseline


def apply_policy(
    result: AuditResult, policy: Policy | None, baseline: dict[str, Any] | None
) -> AuditResult:
    """The result with its checks (from the policy) and comparison (from the baseline) set."""
    from reportgen.summary import build_summary

    if policy is None and baseline is None:
        return result
    summary = build_summary(result)
    checks = evaluate_checks(policy, summary, baseline) if policy is not None else []
    comparison = compare(baseline, summary) if baseline is not None else None
    return replace(result, checks=checks, comparison=comparison)
