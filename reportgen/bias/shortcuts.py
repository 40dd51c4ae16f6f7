"""Probe findings: one per (class, mechanism), with its dose–response curve inside it.

A *mechanism* is what an edit does (darkening, brightening, blur…); several probe families
share one (darkening the whole image, its mid-tones, or only the background), each family
being one edit at several strengths. For each mechanism and class:

- the finding is stated when some member's whole-effect CI lies above zero (the rule of
  ``reportgen.bias.findings.grade``), for the class that gains most plus any class at
  ``warning`` or above;
- with a reference model, severity is graded on the *model-specific* part (this model's change
  minus the reference's on the same images, paired CI); an effect the reference shares is
  ``info`` ("likely in the data");
- an *extreme* strength (far outside natural photographs: ×0.2 brightness, sigma-2 blur…)
  supports a finding but counts one severity level lower: independently trained models
  disagree widely on such images (measured on PublicTest: +40 pp 'happy' under sigma-2 blur
  between the clean sample model and one trained from scratch with a shortcut on another
  class), so they cannot alone make a shortcut critical;
- an ImageNet-C corruption (noise, defocus/motion/zoom blur, pixelation, JPEG, elastic warp)
  measures robustness and counts at most ``warning``: clean models of different recipes disagree
  widely under heavy corruption (measured: elastic warp at severity 5 moves the clean sample model
  +18.6 pp toward 'neutral' beyond the most sensitive of four small clean models), so a
  corruption alone cannot make a model unfit to ship; a shortcut that a corruption happens to
  resemble is found at full severity by the searches (``reportgen.bias.search``);
- the headline probe is the member that sets the severity (then the largest deciding CI low);
  the text lists every family's curve and, when the model is much more sensitive to an edit
  of the background alone than the whole image suggests, says the background carries it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reportgen.bias.corruptions import CORRUPTIONS
from reportgen.bias.effects import ProbeEffect
from reportgen.bias.findings import Finding, grade, pp
from reportgen.bias.panel import typical_range
from reportgen.bias.probes import PROBES, Probe, ProbeKind
from reportgen.numbers import round_finite
from reportgen.severity import Severity

CONDITIONAL_SHARE = 0.5  # state "x% of its 'k' predictions occur only on edited images" above
BACKGROUND_CARRIES = 0.75  # background-only effect ≥ this share of the whole-image one


def probe_findings(effects: Sequence[ProbeEffect], class_names: Sequence[str]) -> list[Finding]:
    """One finding per (class, mechanism) from the probe suite."""
    mechanisms: dict[str, list[ProbeEffect]] = {}
    for effect in effects:
        mechanisms.setdefault(effect.probe.mechanism or effect.probe.family, []).append(effect)
    findings = []
    for mechanism, members in mechanisms.items():
        top = int(np.argmax([max(e.rate_change[k] for e in members)
                             for k in range(len(class_names))]))
        for k, name in enumerate(class_names):
            finding = _mechanism_finding(mechanism, members, k, name)
            if finding and (k == top or finding.severity.rank >= Severity.WARNING.rank):
                findings.append(finding)
    return findings


def _severity(effect: ProbeEffect, k: int) -> Severity | None:
    """None: not stated. Graded on the specific part where there is a reference; an extreme
    strength counts one level lower; evidence probes stay ``info``."""
    before = 100.0 * effect.rates_before[k]
    severity = grade(float(effect.rate_change[k]), float(effect.rate_change_ci[k, 0]),
                     rate_before=before)
    if severity is None:
        return None
    if effect.specific is not None:
        severity = (grade(float(effect.specific[k]), float(effect.specific_ci[k, 0]),
                          rate_before=before) if effect.is_specific(k) else None) or Severity.INFO
    if effect.probe.kind is ProbeKind.EVIDENCE:
        return Severity.INFO
    if effect.probe.family in CORRUPTIONS:  # robustness, not alone a shortcut: see the docstring
        severity = min(severity, Severity.WARNING, key=lambda s: s.rank)
    if effect.probe.extreme:
        return list(Severity)[max(severity.rank - 1, 0)]
    return severity


def highest_severity(probe: Probe) -> Severity:
    """The most a finding from ``probe`` can be, whatever its effect (``_severity``'s caps):
    ``info`` for an evidence probe or an extreme corruption, ``warning`` for any other
    corruption or extreme strength, else ``critical``."""
    if probe.kind is ProbeKind.EVIDENCE:
        return Severity.INFO
    rank = Severity.WARNING.rank if probe.family in CORRUPTIONS else Severity.CRITICAL.rank
    return list(Severity)[rank - 1 if probe.extreme else rank]


def deciding_ci(effect: ProbeEffect, k: int) -> np.ndarray:
    """(2,) the CI that ranks a mechanism's members for class k's finding: the part beyond the
    reference or panel where the effect was judged against one, else the whole effect's."""
    ci = effect.specific_ci if effect.specific_ci is not None else effect.rate_change_ci
    return ci[k]


def _mechanism_finding(mechanism: str, members: list[ProbeEffect], k: int,
                       name: str) -> Finding | None:
    graded = [(e, _severity(e, k)) for e in members]
    graded = [(e, s) for e, s in graded if s is not None]
    if not graded:
        return None
    best, severity = max(graded, key=lambda es: (es[1].rank, float(deciding_ci(es[0], k)[0])))
    where, title_effect = _where(members, k)
    probe = (title_effect or best).probe
    kind = "shortcut" if severity.rank >= Severity.WARNING.rank else "sensitivity"
    title = probe.label if probe.kind is ProbeKind.EVIDENCE else f"{probe.label} {kind}"
    change, (low, high) = float(best.rate_change[k]), best.rate_change_ci[k]
    parts = [f"{title} toward '{name}'{_specificity(best, k)}.",
             (f"{best.probe.description[0].upper()}{best.probe.description[1:]} raises '{name}' "
             f"predictions from {best.rates_before[k]:.1%} to {best.rates_after[k]:.1%} "
             f"({pp(change)}, 95% CI {low:.1f}–{high:.1f})."),
             _conditional(best, k, name), _curves(members, k), where]
    specific = None if best.specific is None else float(best.specific[k])
    return Finding(
        f"{mechanism.replace(' ', '_')}-{name}", best.probe.name, k, name,
        " ".join(p for p in parts if p), severity, change, float(low), float(high),
        mechanism=mechanism, specific=specific,
        specific_ci=None if best.specific_ci is None else tuple(map(float, best.specific_ci[k])),
        reference_effect=None if best.reference_change is None else float(best.reference_change[k]),
        support=tuple(_point(e, k) for e in members),
        typical=None if best.specific is None else not best.is_specific(k),
    )


def _specificity(effect: ProbeEffect, k: int) -> str:
    if effect.specific is None:
        return ""
    low, high = effect.specific_ci[k]
    if effect.panel_changes is not None:
        where = f"{typical_range(effect, k)}; this model: {pp(effect.rate_change[k])}"
        if effect.is_specific(k):
            return (f", specific to this model ({pp(effect.specific[k])} beyond the clean "
                    f"models' spread, 95% CI {low:.1f}–{high:.1f}; {where})")
        return f", typical of clean FER2013 models ({where})"
    if np.isfinite(low) and low > 0:
        return (f", specific to this model ({pp(effect.specific[k])} beyond the reference model, "
                f"95% CI {low:.1f}–{high:.1f})")
    return (f", shared with a clean reference model ({pp(effect.reference_change[k])} there): "
            "likely in the data")


def _conditional(effect: ProbeEffect, k: int, name: str) -> str:
    share = np.nan if effect.new_share is None else effect.new_share[k]
    if not (np.isfinite(share) and share >= CONDITIONAL_SHARE and effect.rate_change[k] > 0):
        return ""
    return (f"{share:.0%} of this model's '{name}' predictions on the edited images occur only "
            "because of the edit (the unedited image is called something else).")


def _curves(members: list[ProbeEffect], k: int) -> str:
    families: dict[str, list[ProbeEffect]] = {}
    order = list(PROBES)  # mildest first within a family
    for effect in sorted(members, key=lambda e: order.index(e.probe.name)
                         if e.probe.name in PROBES else len(order)):
        families.setdefault(effect.probe.family_label, []).append(effect)
    if all(len(m) == 1 for m in families.values()) and len(families) == 1:
        return ""
    curves = ["; ".join(f"{e.probe.strength or e.probe.name} {pp(e.rate_change[k])}"
                        for e in m) for m in families.values()]
    return "Dose–response: " + " | ".join(
        f"{label}: {curve}" for label, curve in zip(families, curves)) + "."


def _where(members: list[ProbeEffect], k: int) -> tuple[str, ProbeEffect | None]:
    """Whether an edit of the background alone carries the effect, and its strongest probe."""
    def strongest(effects: list[ProbeEffect]) -> ProbeEffect | None:
        usable = [e for e in effects if e.probe.kind is ProbeKind.NUISANCE and not e.probe.extreme]
        return max(usable, key=lambda e: e.rate_change[k], default=None)

    background = strongest([e for e in members if e.probe.is_background])
    whole = strongest([e for e in members if not e.probe.is_background])
    if background is None or whole is None or background.rate_change_ci[k, 0] <= 0:
        return "", None
    ratio = background.rate_change[k] / max(whole.rate_change[k], 1e-9)
    if ratio >= BACKGROUND_CARRIES:
        return ((f"The background alone carries it: {background.probe.description} gives "
                f"{pp(background.rate_change[k])}, against {pp(whole.rate_change[k])} for "
                f"{whole.probe.description}."), background)
    return "", None


def _point(effect: ProbeEffect, k: int) -> dict:
    point = {"probe": effect.probe.name, "family": effect.probe.family,
             "strength": effect.probe.strength, "extreme": effect.probe.extreme,
             "effect": round_finite(effect.rate_change[k]),
             "ci": [round_finite(v) for v in effect.rate_change_ci[k]]}
    if effect.panel_changes is not None:
        point["panel_range"] = [round_finite(effect.panel_changes[:, k].min()),
                                round_finite(effect.panel_changes[:, k].max())]
    if effect.specific is not None:
        point["specific"] = round_finite(effect.specific[k])
        point["specific_ci"] = [round_finite(v) for v in effect.specific_ci[k]]
    return point
