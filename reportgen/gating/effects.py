"""Every bias effect in a summary, as (probe, class) → Effect, for checks and comparison."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reportgen.gating.limits import lookup


@dataclass(frozen=True)
class Effect:
    """One bias effect: how far a probe or slice moves predictions toward ``class_name``.

    ``effect`` is in percentage points; ``ci_low``/``ci_high`` are its CI in pp, or None
    when the source (a probe's raw rates) carries no interval.
    """

    probe: str
    class_name: str
    effect: float
    ci_low: float | None = None
    ci_high: float | None = None
    finding_id: str | None = None

    def magnitude(self, use_ci: bool) -> float:
        """|effect| in pp; with ``use_ci``, the CI's distance from zero (0 if it spans 0)."""
        if not use_ci or self.ci_low is None or self.ci_high is None:
            return abs(self.effect)
        if self.ci_low <= 0.0 <= self.ci_high:
            return 0.0
        return min(abs(self.ci_low), abs(self.ci_high))


def bias_effects(summary: Mapping[str, Any], specific: bool = False) -> dict[tuple[str, str], Effect]:
    """Every (probe, class) effect in a summary, from probes and findings.

    A probe's ``rate_change_pp`` (effect and CI) is used when present, else the shift between
    its ``rates_before`` and ``rates_after``. A finding replaces its probe's entry when its
    |effect| is larger, and adds slices that are not probes. Nulls (NaN upstream) are skipped.
    With ``specific``, the part beyond the summary's reference model is used where the summary
    has one (a probe's ``specific_pp``, a finding's ``specific``), so that an effect any model
    trained on the data shows does not count as this model's.
    """
    effects: dict[tuple[str, str], Effect] = {}
    for probe in lookup(summary, ("bias", "probes")) or []:
        for effect in _probe_effects(probe, specific):
            effects[(effect.probe, effect.class_name)] = effect
    for finding in lookup(summary, ("bias", "findings")) or []:
        value, ci = finding["effect"], (finding.get("ci_low"), finding.get("ci_high"))
        if specific and optional_float(finding.get("specific")) is not None:
            value, ci = finding["specific"], tuple(finding.get("specific_ci") or (None, None))
        if optional_float(value) is None:
            continue
        key = (str(finding["probe"]), str(finding["class"]))
        effect = Effect(
            key[0],
            key[1],
            float(value),
            optional_float(ci[0]),
            optional_float(ci[1]),
            str(finding.get("id", "")) or None,
        )
        known = effects.get(key)
        if known is None or abs(effect.effect) >= abs(known.effect):
            effects[key] = effect
    return effects


def _probe_effects(probe: Mapping[str, Any], specific: bool = False) -> list[Effect]:
    name = str(probe["name"])
    changes = probe.get("rate_change_pp")
    if specific and isinstance(probe.get("specific_pp"), Mapping):
        changes = probe["specific_pp"]
    if isinstance(changes, Mapping):
        return [
            Effect(name, str(cls), float(c["effect"]), optional_float(c.get("ci_low")),
                   optional_float(c.get("ci_high")))
            for cls, c in changes.items()
            if optional_float(c.get("effect")) is not None
        ]
    before, after = probe.get("rates_before") or {}, probe.get("rates_after") or {}
    shifts = {
        cls: (optional_float(after[cls]), optional_float(before[cls]))
        for cls in sorted(set(before) & set(after), key=list(before).index)
    }
    return [
        Effect(name, str(cls), 100.0 * (new - old))
        for cls, (new, old) in shifts.items()
        if new is not None and old is not None
    ]


def optional_float(value: Any) -> float | None:
    """A number from a summary, or None for null, NaN and booleans."""
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return None if math.isnan(number) else number
