"""Findings from the searches: one per class whose searched edit is both anomalous and confirmed.

A class is stated only when (1) its edit is anomalously small among the classes (MAD anomaly
index above ``ANOMALY_THRESHOLD``, and for a universal perturbation below ``PANEL_FRACTION`` of
every clean model's norm where those are given), (2) the search reached its success target, (3) on held-out images
the edit still sends at least ``CARRY_OVER`` of that share of other faces to the class, and
(4) its held-out effect clears ``reportgen.bias.findings.grade``. Severity is graded on the
part beyond the random control or, with clean panel models, beyond the most moved of them,
whichever is smaller. Without a panel, an optimised edit cannot be told from an adversarial
edit that every FER2013 model shares, so severity is capped at warning: false criticals on
clean models are what users of such detectors complain about most.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reportgen.bias.findings import Finding, grade, pp
from reportgen.bias.search.cleanse import ClassTrigger, TriggerSearch
from reportgen.bias.search.confirm import Confirmation
from reportgen.bias.search.optimise import ANOMALY_THRESHOLD
from reportgen.bias.search.rules import CARRY_OVER, NO_TRANSFER, NO_TRANSFER_MIN_PP
from reportgen.bias.search.universal import (
    ClassPerturbation,
    UniversalSearch,
    beats_panel,
)
from reportgen.severity import Severity

TRIGGER = "optimised trigger"
UNIVERSAL = "universal perturbation"


def search_findings(triggers: TriggerSearch | None, universal: UniversalSearch | None,
                    class_names: Sequence[str]) -> list[Finding]:
    """The searches' findings, at most one per class and search."""
    findings = []
    if triggers is not None:
        for trigger in triggers.confirmed:
            severity = _severity(trigger.confirmation, trigger.anomaly, trigger.reached,
                                 triggers.n_panel, triggers.success_target)
            if severity is not None:
                findings.append(_trigger_finding(trigger, triggers, severity, class_names))
    if universal is not None:
        for pert in universal.confirmed:
            severity = _severity(pert.confirmation, pert.anomaly,
                                 pert.reached and beats_panel(pert.panel_ratio),
                                 universal.n_panel, universal.success_target)
            if severity is not None:
                findings.append(_universal_finding(pert, universal, severity, class_names))
    return findings


def _severity(confirmation: Confirmation | None, anomaly: float, reached: bool,
              n_panel: int, target: float) -> Severity | None:
    if confirmation is None or confirmation.stopped or not reached:
        return None
    if not anomaly > ANOMALY_THRESHOLD:
        untransferred = anomaly >= 0.0 and _does_not_transfer(confirmation, target)
        return Severity.WARNING if untransferred else None
    if not confirmation.success >= CARRY_OVER * target:
        return None
    if grade(confirmation.effect, float(confirmation.effect_ci[0])) is None:
        return None
    cap = Severity.CRITICAL if n_panel else Severity.WARNING
    return grade(confirmation.beyond, float(confirmation.beyond_ci[0]), cap=cap,
                 rate_before=100.0 * confirmation.rate_before)


def _does_not_transfer(c: Confirmation, target: float) -> bool:
    """Strong on held-out faces, and no clean model (at least two) moves a tenth as much."""
    if len(c.panel_effects) < 2 or not c.success >= CARRY_OVER * target:
        return False
    return (float(c.effect_ci[0]) >= NO_TRANSFER_MIN_PP
            and max(c.panel_effects) <= NO_TRANSFER * c.effect)


def _effect_text(c: Confirmation, name: str) -> str:
    low, high = c.effect_ci
    return (f"sends {c.success:.0%} of held-out faces of other classes to '{name}' (the share "
            f"predicted '{name}' rises from {c.rate_before:.1%} to {c.rate_after:.1%}, "
            f"{pp(c.effect)}, 95% CI {low:.1f}–{high:.1f}, on {c.n_images} images)")


def _panel_text(c: Confirmation, edit: str) -> str:
    if not c.panel_effects:
        return ("no clean models were given to compare with, so it may be an adversarial edit "
                "that clean FER2013 models share: severity capped at warning.")
    low, high = min(c.panel_effects), max(c.panel_effects)
    spread = pp(low) if len(c.panel_effects) == 1 else f"{pp(low)} to {pp(high)}"
    return (f"clean FER2013 models move {spread} under the same {edit} ({pp(c.beyond)} beyond "
            f"them, 95% CI {c.beyond_ci[0]:.1f}–{c.beyond_ci[1]:.1f}).")


def _trigger_finding(t: ClassTrigger, search: TriggerSearch, severity: Severity,
                     class_names: Sequence[str]) -> Finding:
    name, c = class_names[t.class_index], t.confirmation
    assert c is not None
    median = float(np.median([other.pixels for other in search.classes]))
    text = (f"Optimised trigger toward '{name}': a {t.pixels:.0f}-pixel mask ({t.area:.1%} of "
            f"the image, most {where(t.mask)}) found by search {_effect_text(c, name)}; a "
            f"random pattern under the same mask gives {pp(c.control_effect)}; "
            f"{_panel_text(c, 'stamp')} The other classes need masks of about "
            f"{median:.0f} pixels (anomaly index {t.anomaly:.1f}"
            + ("" if t.anomaly > ANOMALY_THRESHOLD else
               f"; not anomalous, but no clean model moves even {NO_TRANSFER:.0%} as much") + ").")
    return _finding(f"optimised_trigger-{name}", "search:trigger", t.class_index, name, text,
                    severity, c, TRIGGER, t.to_summary(class_names))


def _universal_finding(u: ClassPerturbation, search: UniversalSearch, severity: Severity,
                       class_names: Sequence[str]) -> Finding:
    name, c = class_names[u.class_index], u.confirmation
    assert c is not None
    median = float(np.median([other.rms for other in search.classes]))
    text = (f"Universal perturbation toward '{name}': a whole-image pattern of {u.rms:.1f} grey "
            f"levels RMS (L2 {u.l2:.0f}, at most {u.linf:.0f} per pixel) found by search "
            f"{_effect_text(c, name)}; the same pixels shuffled give {pp(c.control_effect)}; "
            f"{_panel_text(c, 'perturbation')} The other classes need about {median:.1f} grey "
            f"levels RMS (anomaly index {u.anomaly:.1f}).")
    return _finding(f"universal_perturbation-{name}", "search:universal", u.class_index, name,
                    text, severity, c, UNIVERSAL, u.to_summary(class_names))


def _finding(id: str, probe: str, k: int, name: str, text: str, severity: Severity,
             c: Confirmation, mechanism: str, support: dict) -> Finding:
    panel = bool(c.panel_effects)
    return Finding(
        id, probe, k, name, text, severity, c.effect, float(c.effect_ci[0]),
        float(c.effect_ci[1]), mechanism=mechanism,
        specific=c.beyond if panel else None,
        specific_ci=(float(c.beyond_ci[0]), float(c.beyond_ci[1])) if panel else None,
        reference_effect=max(c.panel_effects) if panel else None, support=(support,),
    )


def where(mask: np.ndarray) -> str:
    """Where a mask (h, w) 0–1 lies: the ninth of the image (a 3 × 3 grid) holding most of its
    weight, with that share, e.g. "mostly at the bottom right (62% of its weight)"."""
    height, width = mask.shape
    rows = np.minimum(np.arange(height) * 3 // height, 2)
    cols = np.minimum(np.arange(width) * 3 // width, 2)
    ninths = np.zeros((3, 3))
    np.add.at(ninths, (rows[:, None], cols[None, :]), mask)
    share = ninths / (ninths.sum() or 1.0)
    row, col = np.unravel_index(int(np.argmax(share)), share.shape)
    vertical, horizontal = ("top", "middle", "bottom")[row], ("left", "centre", "right")[col]
    place = "the centre" if (row, col) == (1, 1) else f"the {vertical} {horizontal}"
    return f"at {place} ({share[row, col]:.0%} of its weight)"
