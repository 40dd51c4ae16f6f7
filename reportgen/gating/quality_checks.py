"""Gate checks on explanation quality, evaluated over ``summary["quality"]``.

Two evaluators in the shape of ``reportgen.gating.checks`` (``(name, limit, inputs) -> [Check]``),
for the lead to register in ``CHECKS``::

    "min_faithfulness": CheckSpec("thresholds", "recall", min_faithfulness),
    "require_sanity_pass": CheckSpec("thresholds", <a new bool kind>, require_sanity_pass),

``min_faithfulness`` takes a number (every method) or a table ``{default = x, <method> = y}``
(the ``recall`` kind parses exactly that into ``RecallLimits``). The measure is each method's
``faithfulness``: the mean of its deletion margin (random-map deletion AUC − its deletion AUC)
and its insertion margin (its insertion AUC − random-map insertion AUC), in probability units
(0–1); with ``use_ci`` its upper 95% CI bound is compared, as for the other minimums.

``require_sanity_pass = true`` fails when any method did not pass the randomisation check.
Every registered method queries the model, so every one depends on the weights. A check
that could not run (a bare SavedModel, or an audit with ``--methods none``) fails closed, as
the other checks do when their input is missing; in a ``gate`` summary ``reportgen.gating.checks``
skips them before they get here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.errors import InputError
from reportgen.gating.limits import Check, Inputs, RecallLimits, bound_check, lookup

NO_QUALITY = "the summary has no explanation-quality analysis (run `reportgen audit` with methods)"


def min_faithfulness(name: str, limit: float | RecallLimits | Mapping[str, float],
                     inputs: Inputs) -> list[Check]:
    """One check per method: ``faithfulness`` >= its limit (a method without one is skipped)."""
    per_method, default = _limits(limit)
    methods = lookup(inputs.summary, ("quality", "methods"))
    if not methods:
        return [Check(name, None, default if default is not None else "per method", False,
                      NO_QUALITY)]
    unknown = sorted(set(per_method) - set(methods))
    if unknown:
        raise InputError(f"{inputs.source}: {name}.{unknown[0]}: no attribution method named "
                         f"{unknown[0]!r} in the summary (methods: {', '.join(methods)})")
    checks = []
    for method, stats in methods.items():
        threshold = per_method.get(method, default)
        if threshold is None:
            continue
        checks.append(bound_check(f"{name}[{method}]", f"{method} faithfulness",
                                  stats.get("faithfulness"), stats.get("faithfulness_ci"),
                                  float(threshold), True, inputs.use_ci))
    return checks


def require_sanity_pass(name: str, limit: bool, inputs: Inputs) -> list[Check]:
    """One check: every method passed the model-randomisation sanity check (when ``limit``)."""
    if not limit:
        return []
    methods = lookup(inputs.summary, ("quality", "methods"))
    if not methods:
        return [Check(name, None, "pass", False, NO_QUALITY)]
    sanity = {method: stats.get("sanity") or {} for method, stats in methods.items()}
    not_run = [m for m, result in sanity.items() if result.get("passed") is None]
    failed = [m for m, result in sanity.items() if result.get("passed") is False]
    if failed:
        listed = ", ".join(f"{m} (rank correlation {_fmt(sanity[m].get('spearman'))}, "
                           f"SSIM {_fmt(sanity[m].get('ssim'))})" for m in failed)
        return [Check(name, "fail", "pass", False,
                      f"maps barely change when the weights are randomised: {listed}")]
    if not_run:
        reason = sanity[not_run[0]].get("reason") or "not run"
        return [Check(name, None, "pass", False,
                      f"sanity check not run for {', '.join(not_run)}: {reason}")]
    return [Check(name, "pass", "pass", True, f"all {len(methods)} methods passed")]


def _limits(
    limit: float | RecallLimits | Mapping[str, float],
) -> tuple[dict[str, float], float | None]:
    """(per-method limits, default) from a number, RecallLimits or a plain table."""
    if isinstance(limit, RecallLimits):
        return dict(limit.per_class), limit.default
    if isinstance(limit, Mapping):
        table = {k: float(v) for k, v in limit.items()}
        return {k: v for k, v in table.items() if k != "default"}, table.get("default")
    return {}, float(limit)


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float | int) else "—"
