"""Policy checks: evaluate a gate policy against a summary (and optionally a baseline summary).

Every check is one entry in the plain-dict registry ``CHECKS``: its policy section, the kind
of limit it takes (which ``reportgen.policy`` parses and validates), and an evaluator that
turns the limit into one or more ``Check`` results. Adding a check (for example on a future
``quality`` key) is one new entry; the policy parser picks the key up from here.

With ``use_ci`` each check compares the *favourable* end of the 95% CI, so a small split
only fails the gate when even the optimistic bound misses the limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reportgen.compare import bias_effects, lookup
from reportgen.errors import InputError

if TYPE_CHECKING:
    from reportgen.policy import Policy

Section = Literal["thresholds", "baseline"]
LimitKind = Literal["fraction", "points", "severity", "recall", "flag"]
SEVERITIES = ("info", "warning", "critical")  # in increasing order of concern
# Differences such as 0.40 − 0.35 carry float noise (0.0500…04); a limit met to within this
# counts as met, so a value exactly on the limit passes as the policy file reads.
TOLERANCE = 1e-9
NO_BASELINE = "skipped: no baseline summary given (--baseline PATH)"
AUDIT_ONLY = "skipped: gate computes no attributions; reportgen audit checks this"


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
            value = round(value, 6) if math.isfinite(value) else None
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


def print_checks(checks: Sequence[Check], console: Console) -> None:
    """Print the checks as a rich table with a one-line verdict under it."""
    if not checks:
        console.print("No policy checks were set.")
        return
    table = Table(title="Policy checks", show_lines=False)
    # Only the detail wraps, so check names stay whole and greppable in narrow CI logs.
    table.add_column("check", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("threshold", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold", ratio=1)
    for check in checks:
        result = "[green]PASS[/]" if check.passed else "[bold red]FAIL[/]"
        if check.skipped:
            result = "[yellow]SKIP[/]"
        # Names and details hold user text (class names, "[disgust]"): never rich markup.
        cells = (check.name, _fmt(check.value), _fmt(check.threshold))
        table.add_row(*map(escape, cells), result, escape(check.detail))
    console.print(table)
    failed = [escape(c.name) for c in checks if not c.passed]
    skipped = sum(c.skipped for c in checks)
    verdict = f"[bold red]FAILED[/]: {', '.join(failed)}" if failed else "[bold green]PASSED[/]"
    ran = len(checks) - skipped
    also = f" ({skipped} skipped)" if skipped else ""
    console.print(f"{ran - len(failed)} of {ran} checks passed{also}. Gate {verdict}")


def bound_check(
    name: str, label: str, point: Any, ci: Any, limit: float, at_least: bool, use_ci: bool
) -> Check:
    """Compare ``point`` (or, with ``use_ci``, the favourable end of ``ci``) with ``limit``.

    For a minimum the favourable end is the CI's upper bound, for a maximum its lower bound.
    A missing or NaN value fails the check.
    """
    if point is None:
        return Check(name, None, limit, False, f"{label} is missing or NaN in the summary")
    value, how = float(point), f"{label} {_fmt(point)}"
    if use_ci and _is_pair(ci):
        value = float(ci[1] if at_least else ci[0])
        end = "upper" if at_least else "lower"
        how = f"{end} CI bound {_fmt(value)} ({label} {_fmt(point)}, CI {_fmt_pair(ci)})"
    elif use_ci:
        how += " (no CI in the summary; point estimate used)"
    passed = _within(limit, value) if at_least else _within(value, limit)
    sign = (">=" if passed else "<") if at_least else ("<=" if passed else ">")
    return Check(name, value, limit, passed, f"{how} {sign} {_fmt(limit)}")


def metric_bound(metric: str, at_least: bool) -> Evaluator:
    """Evaluator for a summary value >= (or <=) the limit, with ``<metric>_ci`` as its CI.

    ``metric`` is a key of ``metrics`` ("accuracy") or a dotted path ("quality.deletion").
    """
    path = metric.split(".") if "." in metric else ["metrics", metric]

    def evaluate(name: str, limit: float, inputs: Inputs) -> list[Check]:
        point = lookup(inputs.summary, path)
        ci = lookup(inputs.summary, [*path[:-1], path[-1] + "_ci"])
        return [bound_check(name, path[-1], point, ci, limit, at_least, inputs.use_ci)]

    return evaluate


def _min_recall(name: str, limits: RecallLimits, inputs: Inputs) -> list[Check]:
    class_names = _class_names(inputs, limits.per_class, name)
    checks = []
    for class_name in class_names:
        limit = limits.per_class.get(class_name, limits.default)
        if limit is None:
            continue
        stats = lookup(inputs.summary, ("metrics", "per_class", class_name)) or {}
        check_name = f"{name}[{class_name}]"
        if stats.get("support") == 0:
            detail = "no images of this class in the split"
            checks.append(Check(check_name, None, limit, True, detail))
            continue
        recall, ci = stats.get("recall"), stats.get("recall_ci")
        label = f"{class_name} recall"
        checks.append(bound_check(check_name, label, recall, ci, limit, True, inputs.use_ci))
    return checks


def _max_bias_severity(name: str, limit: str, inputs: Inputs) -> list[Check]:
    findings = lookup(inputs.summary, ("bias", "findings"))
    if findings is None:
        return [Check(name, None, limit, False, "the summary has no bias analysis")]
    if lookup(inputs.summary, ("bias", "findings_withheld")) is True:
        n_images = lookup(inputs.summary, ("bias", "n_images"))
        detail = f"skipped: {n_images} images are too few for bias findings"
        return [Check(name, None, limit, True, detail)]
    over = [f for f in findings if _severity_rank(f["severity"]) > _severity_rank(limit)]
    worst = max((f["severity"] for f in findings), key=_severity_rank, default="none")
    if not over:
        return [Check(name, worst, limit, True, f"{len(findings)} findings, worst: {worst}")]
    # Probe → class keeps the table readable; the findings' full text is in the report.
    listed = ", ".join(f"{f['probe']} → {f['class']} ({f['severity']})" for f in over[:3])
    more = f" and {len(over) - 3} more" if len(over) > 3 else ""
    return [Check(name, worst, limit, False, f"{len(over)} above {limit}: {listed}{more}")]


def _severity_rank(severity: str) -> int:
    # An unknown severity counts as worse than critical: the gate fails closed.
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _max_probe_effect(name: str, limit: float, inputs: Inputs) -> list[Check]:
    if lookup(inputs.summary, ("bias",)) is None:
        return [Check(name, None, limit, False, "the summary has no bias analysis")]
    effects = bias_effects(inputs.summary)
    if not effects:
        return [Check(name, 0.0, limit, True, "no probe or finding effects")]
    worst = max(effects.values(), key=lambda e: e.magnitude(inputs.use_ci))
    value = worst.magnitude(inputs.use_ci)
    bound = " (CI bound nearest 0)" if inputs.use_ci and worst.ci_low is not None else ""
    detail = f"largest |effect|{bound}: {worst.probe} → {worst.class_name}, {_fmt(value)} pp"
    return [Check(name, value, limit, _within(value, limit), detail)]


def _max_accuracy_drop(name: str, limit: float, inputs: Inputs) -> list[Check]:
    assert inputs.baseline is not None  # evaluate_checks guarantees it
    old = lookup(inputs.baseline, ("metrics", "accuracy"))
    new = lookup(inputs.summary, ("metrics", "accuracy"))
    ci = lookup(inputs.summary, ("metrics", "accuracy_ci"))
    return [_drop_check(name, "accuracy", old, new, ci, limit, inputs.use_ci)]


def _max_recall_drop(name: str, limit: float, inputs: Inputs) -> list[Check]:
    assert inputs.baseline is not None
    checks = []
    for class_name in _class_names(inputs, {}, name):
        old = lookup(inputs.baseline, ("metrics", "per_class", class_name, "recall"))
        new_stats = lookup(inputs.summary, ("metrics", "per_class", class_name)) or {}
        new, ci = new_stats.get("recall"), new_stats.get("recall_ci")
        check_name = f"{name}[{class_name}]"
        if new_stats.get("support") == 0:
            detail = "no images of this class in the candidate's split"
            checks.append(Check(check_name, None, limit, True, detail))
            continue
        label = f"{class_name} recall"
        checks.append(_drop_check(check_name, label, old, new, ci, limit, inputs.use_ci))
    return checks


def _drop_check(
    name: str, label: str, old: Any, new: Any, ci: Any, limit: float, use_ci: bool
) -> Check:
    """Drop = baseline point − candidate (its upper CI bound under ``use_ci``), in 0–1."""
    if old is None or new is None:
        side = "baseline" if old is None else "candidate"
        return Check(name, None, limit, False, f"{label} is missing or NaN in the {side} summary")
    compared, how = float(new), f"{label} {_fmt(old)} → {_fmt(new)}"
    if use_ci and _is_pair(ci):
        compared = float(ci[1])
        how += f" (upper CI bound {_fmt(compared)})"
    drop = float(old) - compared
    passed = _within(drop, limit)
    sign = "<=" if passed else ">"
    return Check(name, drop, limit, passed, f"{how}: drop {_fmt(drop)} {sign} {_fmt(limit)}")


def _max_bias_effect_growth(name: str, limit: float, inputs: Inputs) -> list[Check]:
    assert inputs.baseline is not None
    if lookup(inputs.summary, ("bias",)) is None:
        return [Check(name, None, limit, False, "the summary has no bias analysis")]
    before, after = bias_effects(inputs.baseline), bias_effects(inputs.summary)
    if not after:
        return [Check(name, 0.0, limit, True, "no bias effects in the candidate")]
    growth = {
        key: effect.magnitude(inputs.use_ci) - abs(before[key].effect if key in before else 0.0)
        for key, effect in after.items()
    }
    key = max(growth, key=lambda k: growth[k])
    new = " (new in the candidate)" if key not in before else ""
    detail = f"largest growth: {key[0]} → {key[1]}, {_fmt(growth[key])} pp{new}"
    return [Check(name, growth[key], limit, _within(growth[key], limit), detail)]


def _class_names(inputs: Inputs, named: Mapping[str, float], key: str) -> list[str]:
    """The summary's class names; a policy naming an unknown class is an InputError."""
    names = list(lookup(inputs.summary, ("data", "class_names")) or [])
    unknown = sorted(set(named) - set(names))
    if unknown:
        raise InputError(
            f"{inputs.source}: {key}.{unknown[0]}: no class named {unknown[0]!r} "
            f"(classes: {', '.join(names)})"
        )
    return names


def _within(value: float, limit: float) -> bool:
    """value <= limit, allowing float noise; False for NaN, so a broken metric fails."""
    return value <= limit + TOLERANCE


def _is_pair(ci: Any) -> bool:
    return isinstance(ci, Sequence) and len(ci) == 2 and all(v is not None for v in ci)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "—" if value is None else str(value)


def _fmt_pair(pair: Sequence[float]) -> str:
    return f"[{_fmt(float(pair[0]))}, {_fmt(float(pair[1]))}]"


def _quality_check(name: str) -> Evaluator:
    """An evaluator from reportgen.quality.checks, imported when used (that module imports this one)."""

    def evaluate(key: str, limit: Any, inputs: Inputs) -> list[Check]:
        from reportgen.quality import checks as quality_checks

        return getattr(quality_checks, name)(key, limit, inputs)

    return evaluate


# The policy format is documented, key by key, in examples/policy.toml.
CHECKS: dict[str, CheckSpec] = {
    "min_accuracy": CheckSpec("thresholds", "fraction", metric_bound("accuracy", True)),
    "min_balanced_accuracy": CheckSpec(
        "thresholds", "fraction", metric_bound("balanced_accuracy", True)
    ),
    "min_macro_f1": CheckSpec("thresholds", "fraction", metric_bound("macro_f1", True)),
    "min_top2_accuracy": CheckSpec("thresholds", "fraction", metric_bound("top2_accuracy", True)),
    "max_ece": CheckSpec("thresholds", "fraction", metric_bound("ece", False)),
    "min_recall": CheckSpec("thresholds", "recall", _min_recall),
    "max_bias_severity": CheckSpec("thresholds", "severity", _max_bias_severity),
    "max_probe_effect": CheckSpec("thresholds", "points", _max_probe_effect),
    "min_faithfulness": CheckSpec(
        "thresholds", "recall", _quality_check("min_faithfulness"), audit_only=True
    ),
    "require_sanity_pass": CheckSpec(
        "thresholds", "flag", _quality_check("require_sanity_pass"), audit_only=True
    ),
    "max_accuracy_drop": CheckSpec("baseline", "fraction", _max_accuracy_drop),
    "max_recall_drop": CheckSpec("baseline", "fraction", _max_recall_drop),
    "max_bias_effect_growth": CheckSpec("baseline", "points", _max_bias_effect_growth),
}
