"""The check registry: one entry per policy key, each a reference to its evaluator.

Adding a check is one evaluator and one ``CHECKS`` entry; the policy parser picks the key up
from here. The policy format is documented, key by key, in ``examples/policy.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.errors import InputError
from reportgen.gating import quality_checks
from reportgen.gating.effects import bias_effects
from reportgen.gating.limits import (
    Check,
    CheckSpec,
    Evaluator,
    Inputs,
    RecallLimits,
    bound_check,
    fmt,
    is_pair,
    lookup,
    within,
)
from reportgen.severity import Severity


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
    over = [f for f in findings if Severity.rank_of(f["severity"]) > Severity.rank_of(limit)]
    worst = max((f["severity"] for f in findings), key=Severity.rank_of, default="none")
    if not over:
        return [Check(name, worst, limit, True, f"{len(findings)} findings, worst: {worst}")]
    # Probe → class keeps the table readable; the findings' full text is in the report.
    listed = ", ".join(f"{f['probe']} → {f['class']} ({f['severity']})" for f in over[:3])
    more = f" and {len(over) - 3} more" if len(over) > 3 else ""
    return [Check(name, worst, limit, False, f"{len(over)} above {limit}: {listed}{more}")]



def _max_probe_effect(name: str, limit: float, inputs: Inputs) -> list[Check]:
    if lookup(inputs.summary, ("bias",)) is None:
        return [Check(name, None, limit, False, "the summary has no bias analysis")]
    # Judged on the part beyond the reference model where there is one: a darkening that
    # pushes every FER2013 model toward 'sad' is the data's, not this model's.
    referenced = lookup(inputs.summary, ("bias", "reference")) is not None
    effects = bias_effects(inputs.summary, specific=referenced)
    if not effects:
        return [Check(name, 0.0, limit, True, "no probe or finding effects")]
    worst = max(effects.values(), key=lambda e: e.magnitude(inputs.use_ci))
    value = worst.magnitude(inputs.use_ci)
    bound = " (CI bound nearest 0)" if inputs.use_ci and worst.ci_low is not None else ""
    kind = "model-specific |effect| (beyond the reference model)" if referenced else "|effect|"
    detail = f"largest {kind}{bound}: {worst.probe} → {worst.class_name}, {fmt(value)} pp"
    return [Check(name, value, limit, within(value, limit), detail)]


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
    compared, how = float(new), f"{label} {fmt(old)} → {fmt(new)}"
    if use_ci and is_pair(ci):
        compared = float(ci[1])
        how += f" (upper CI bound {fmt(compared)})"
    drop = float(old) - compared
    passed = within(drop, limit)
    sign = "<=" if passed else ">"
    return Check(name, drop, limit, passed, f"{how}: drop {fmt(drop)} {sign} {fmt(limit)}")


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
    detail = f"largest growth: {key[0]} → {key[1]}, {fmt(growth[key])} pp{new}"
    return [Check(name, growth[key], limit, within(growth[key], limit), detail)]


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
        "thresholds", "recall", quality_checks.min_faithfulness, audit_only=True
    ),
    "require_sanity_pass": CheckSpec(
        "thresholds", "flag", quality_checks.require_sanity_pass, audit_only=True
    ),
    "max_accuracy_drop": CheckSpec("baseline", "fraction", _max_accuracy_drop),
    "max_recall_drop": CheckSpec("baseline", "fraction", _max_recall_drop),
    "max_bias_effect_growth": CheckSpec("baseline", "points", _max_bias_effect_growth),
}
