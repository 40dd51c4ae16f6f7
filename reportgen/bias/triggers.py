"""Patch-trigger scan: shortcuts that no probe was designed for.

A model that learned "a small bright square in a corner means X" ignores every global probe.
The scan stamps small squares, white and black, on every cell of a grid over the whole image
(plus thin bands along each edge) and asks which stamp moves a class's prediction rate.

Two stages keep it cheap and honest:

1. *Scan*: every stamp on a small seeded sample (``SCAN_IMAGES``): 2 sizes × 2 values × an
   ``GRID`` × ``GRID`` grid + 8 edge bands. The per-position effect feeds the heatmap, and the
   ``N_CANDIDATES`` stamps that move some class most become candidates.
2. *Confirm*: each candidate and a mid-grey control stamp at the same place on up to
   ``CONFIRM_IMAGES`` *other* images, with paired bootstrap CIs (and on the reference model,
   when there is one). Selecting on one sample and measuring on another keeps the scan's many
   comparisons from inflating the confirmed effects.

Severity follows ``reportgen.bias.findings.grade`` on the model-specific part (beyond the
reference) or, without a reference, on the part beyond the grey control: a grey square
occludes as much as a white one, so only the mark's tone is left. Two caps keep a clean
model's occlusion effects from reading as triggers (``cap_reason``): a stamp lying mostly on
the eye/brow or mouth band hides real evidence, as the occlusion probes do, and stays ``info``;
so does a stamp whose effect beyond the grey control has a 95% CI low under
``CONTROL_MARGIN_PP``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.bias.effects import new_shares
from reportgen.bias.findings import Finding, grade, pp
from reportgen.bias.probes import EYE_BAND, MOUTH_BAND, band_mask
from reportgen.bias.resample import bootstrap_means, intervals
from reportgen.bias.spread import Z_MIN, margin, robust_z
from reportgen.numbers import round_all, round_finite
from reportgen.severity import Severity

GRID = 8  # cells per side
SIZES = (1.0, 0.5)  # square side as a fraction of a cell (6 and 3 px on 48 × 48)
VALUES = (255.0, 0.0)  # white, black
CONTROL = 128.0  # mid-grey: occludes like a mark but carries no extreme tone
BAND = 1 / 16  # edge-band thickness as a fraction of the side (3 px on 48)
SCAN_IMAGES = 96
CONFIRM_IMAGES = 512
N_CANDIDATES = 6
MIN_SCAN_PP = 5.0  # a stamp must move some class this much on the scan sample to be confirmed
MAX_PREDICT = 8192
# A trigger must beat the mid-grey stamp at the same place by this much (CI low, pp): a mark
# whose tone adds less than one face in twenty is occlusion, not a learned trigger.
CONTROL_MARGIN_PP = 5.0
EVIDENCE_SHARE = 0.5  # a stamp with at least this share of its area on the eye or mouth band

Predict = Callable[[np.ndarray], np.ndarray]  # (M, h, w) 0–255 → (M,) class ids


@dataclass(frozen=True)
class Stamp:
    """A filled rectangle: rows ``top:bottom``, columns ``left:right``, in pixels."""

    top: int
    bottom: int
    left: int
    right: int
    value: float
    kind: str  # "square" or "band"

    def apply(self, images: np.ndarray) -> np.ndarray:
        out = np.array(images, dtype=np.float32, copy=True)
        out[:, self.top:self.bottom, self.left:self.right] = self.value
        return out

    def with_value(self, value: float) -> Stamp:
        return Stamp(self.top, self.bottom, self.left, self.right, value, self.kind)

    def describe(self, height: int, width: int) -> str:
        tone = {255.0: "white", 0.0: "black", CONTROL: "mid-grey"}.get(self.value, "grey")
        size = f"{self.bottom - self.top}×{self.right - self.left}-pixel"
        return (f"a {size} {tone} {self.kind} at rows {self.top}–{self.bottom - 1}, columns "
                f"{self.left}–{self.right - 1} ({_place(self, height, width)})")

    def to_summary(self) -> dict:
        return {"rows": [self.top, self.bottom], "columns": [self.left, self.right],
                "value": self.value, "kind": self.kind}


def _place(stamp: Stamp, height: int, width: int) -> str:
    rows = (stamp.top + stamp.bottom) / 2 / height
    cols = (stamp.left + stamp.right) / 2 / width
    vertical = "top" if rows < 1 / 3 else "bottom" if rows > 2 / 3 else "middle"
    horizontal = "left" if cols < 1 / 3 else "right" if cols > 2 / 3 else "centre"
    return "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"


def scan_stamps(height: int, width: int) -> list[Stamp]:
    """Every stamp of stage 1, squares in (size, value, row, column) order, then bands."""
    stamps = []
    for size in SIZES:
        for value in VALUES:
            for i in range(GRID):
                for j in range(GRID):
                    stamps.append(_square(i, j, size, value, height, width))
    thick_h, thick_w = max(1, round(BAND * height)), max(1, round(BAND * width))
    for value in VALUES:
        stamps += [Stamp(0, thick_h, 0, width, value, "band"),
                   Stamp(height - thick_h, height, 0, width, value, "band"),
                   Stamp(0, height, 0, thick_w, value, "band"),
                   Stamp(0, height, width - thick_w, width, value, "band")]
    return stamps


def _square(i: int, j: int, size: float, value: float, height: int, width: int) -> Stamp:
    cell_h, cell_w = height / GRID, width / GRID
    side_h, side_w = max(1, round(size * cell_h)), max(1, round(size * cell_w))
    top = round(i * cell_h + (cell_h - side_h) / 2)
    left = round(j * cell_w + (cell_w - side_w) / 2)
    return Stamp(top, top + side_h, left, left + side_w, value, "square")


@dataclass(frozen=True)
class Trigger:
    """One confirmed stamp: its effect on ``class_index``'s prediction rate (pp, CIs (2,))."""

    stamp: Stamp
    class_index: int
    n_images: int
    rate_before: float  # 0–1
    rate_after: float
    effect: float
    effect_ci: np.ndarray
    control_effect: float  # the mid-grey stamp at the same place
    beyond_control: float
    beyond_control_ci: np.ndarray
    new_share: float  # of k's predictions on stamped images, the share the stamp alone makes
    specific: float | None = None
    specific_ci: np.ndarray | None = None
    reference_effect: float | None = None
    panel_effects: tuple[float, ...] | None = None  # each clean panel member's effect (pp)

    @property
    def typical(self) -> bool | None:
        """With a panel: whether the effect is within what clean models do (not beyond the most
        sensitive member's plus ``margin``, CI and all, or not ``Z_MIN`` robust SDs above their
        median)."""
        if self.specific_ci is None:
            return None
        beyond = bool(np.isfinite(self.specific_ci[0]) and self.specific_ci[0] > self.margin)
        if self.panel_effects is None or len(self.panel_effects) < 2:
            return not beyond
        z = robust_z(np.array([self.effect]), np.array(self.panel_effects)[:, None])[0]
        return not (beyond and z >= Z_MIN)

    @property
    def margin(self) -> float:
        """pp beyond the most moved clean model that the effect must clear (0 without a panel)."""
        if self.panel_effects is None or len(self.panel_effects) < 2:
            return 0.0
        return float(margin(np.array(self.panel_effects)[:, None])[0])

    def to_summary(self, class_names: Sequence[str]) -> dict:
        entry = {"stamp": self.stamp.to_summary(), "class": class_names[self.class_index],
                 "n_images": self.n_images, "effect": round_finite(self.effect),
                 "ci": round_all(self.effect_ci), "control_effect": round_finite(self.control_effect),
                 "beyond_control": round_finite(self.beyond_control),
                 "beyond_control_ci": round_all(self.beyond_control_ci),
                 "new_share": round_finite(self.new_share)}
        if self.specific is not None:
            entry.update(specific=round_finite(self.specific), specific_ci=round_all(self.specific_ci),
                         reference_effect=round_finite(self.reference_effect))
        if self.panel_effects is not None:
            entry["panel_effects"] = round_all(np.array(self.panel_effects))
        return entry


@dataclass(frozen=True)
class TriggerScan:
    """The scan's heatmap and the confirmed triggers."""

    stamps: list[Stamp]
    scan_changes: np.ndarray  # (S, K) pp per stamp on the scan sample
    n_scan: int
    triggers: list[Trigger]
    n_forward: int  # stamped images classified, both stages, this model only
    shape: tuple[int, int] = (48, 48)  # (h, w) of the images
    grid: int = GRID

    def describe(self, stamp: Stamp) -> str:
        return stamp.describe(*self.shape)

    def heatmap(self, size_index: int, value_index: int) -> tuple[np.ndarray, np.ndarray]:
        """(GRID, GRID) largest class-rate gain (pp) and its class, for one size and value."""
        block = (size_index * len(VALUES) + value_index) * GRID * GRID
        changes = self.scan_changes[block:block + GRID * GRID]
        return changes.max(axis=1).reshape(GRID, GRID), changes.argmax(axis=1).reshape(GRID, GRID)

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {"n_scan_images": self.n_scan, "n_stamps": len(self.stamps),
                "n_forward": self.n_forward, "grid": GRID,
                "triggers": [t.to_summary(class_names) for t in self.triggers]}


def scan_triggers(predict: Predict, images: np.ndarray, preds: np.ndarray, n_classes: int,
                  seed: int, reference: Predict | Sequence[Predict] | None = None,
                  is_reference: bool = False, coarse: bool = False) -> TriggerScan:
    """Images (N, h, w) 0–255 and the model's preds (N,) → the two-stage scan.

    ``coarse``: scan every stamp on half the scan sample first, and the other half only with
    the stamps that moved some class by at least half of ``MIN_SCAN_PP`` (``_scan_coarsely``).

    ``reference`` labels images like ``predict``: one clean model, or a panel of them (each
    confirmed stamp is then compared with the member it moves most); ``is_reference``: the
    model is its own reference, so every confirmed effect is shared (nothing is run twice)."""
    height, width = images.shape[1:]
    order = np.random.default_rng(seed).permutation(len(images))
    scan_idx = order[:min(SCAN_IMAGES, len(images) // 2)]
    confirm_idx = order[len(scan_idx):len(scan_idx) + CONFIRM_IMAGES]
    stamps = scan_stamps(height, width)
    if coarse:
        changes, n_forward = _scan_coarsely(predict, images, preds, scan_idx, stamps, n_classes)
    else:
        scan_preds = _predict_stamped(predict, images[scan_idx], stamps)  # (S, n)
        changes = _changes(scan_preds, preds[scan_idx], n_classes)
        n_forward = len(stamps) * len(scan_idx)
    candidates = _candidates(changes)
    held = np.asarray(images[confirm_idx], np.float32)
    members = [] if reference is None or is_reference else (
        [reference] if callable(reference) else list(reference))
    originals = [np.asarray(member(held)) for member in members] if candidates else []
    triggers = [_confirm(predict, reference, held, preds[confirm_idx], stamps[s], k, n_classes,
                         seed, is_reference, originals) for s, k in candidates]
    n_forward += 2 * len(candidates) * len(confirm_idx)
    return TriggerScan(stamps, changes, len(scan_idx), triggers, n_forward, (height, width))


def _changes(stamped: np.ndarray, preds: np.ndarray, n_classes: int) -> np.ndarray:
    """(S, K) pp: each stamp's change in each class's rate, from classes stamped (S, n), preds (n,)."""
    onehot = np.eye(n_classes)
    return 100.0 * (onehot[stamped].mean(axis=1) - onehot[preds].mean(axis=0))


def _scan_coarsely(predict: Predict, images: np.ndarray, preds: np.ndarray, scan_idx: np.ndarray,
                   stamps: Sequence[Stamp], n_classes: int) -> tuple[np.ndarray, int]:
    """Stage 1 in two halves: every stamp on the first, only the stamps that moved some class by
    ``MIN_SCAN_PP`` on it on the second; the rest keep their first-half change. A stamp worth
    confirming moves a class by well over ``MIN_SCAN_PP`` (the candidates are the largest
    movers); one that moves it by 15 pp shows under 5 pp on 48 images with chance below 2%.
    Returns (S, K) changes and the images evaluated."""
    half, rest = scan_idx[:len(scan_idx) // 2], scan_idx[len(scan_idx) // 2:]
    changes = _changes(_predict_stamped(predict, images[half], stamps), preds[half], n_classes)
    moving = np.flatnonzero(changes.max(axis=1) >= MIN_SCAN_PP)
    if len(moving):
        stamped = _predict_stamped(predict, images[rest], [stamps[s] for s in moving])
        changes[moving] = (changes[moving] * len(half) + _changes(stamped, preds[rest], n_classes)
                           * len(rest)) / len(scan_idx)
    return changes, len(stamps) * len(half) + len(moving) * len(rest)


def _candidates(changes: np.ndarray) -> list[tuple[int, int]]:
    """(stamp, class) pairs with the largest scan gains, at most one per stamp."""
    best = changes.max(axis=1)
    order = np.argsort(-best, kind="stable")
    return [(int(s), int(changes[s].argmax())) for s in order[:N_CANDIDATES]
            if best[s] >= MIN_SCAN_PP]


def _predict_stamped(predict: Predict, images: np.ndarray, stamps: Sequence[Stamp]) -> np.ndarray:
    """(S, n) predicted class of every image under every stamp, in large predict calls."""
    per_call = max(1, MAX_PREDICT // max(len(images), 1))
    rows = []
    for start in range(0, len(stamps), per_call):
        chunk = stamps[start:start + per_call]
        batch = np.concatenate([stamp.apply(images) for stamp in chunk])
        rows.append(np.asarray(predict(batch)).reshape(len(chunk), len(images)))
    return np.concatenate(rows) if rows else np.zeros((0, len(images)), int)


def _confirm(predict: Predict, reference: Predict | Sequence[Predict] | None, images: np.ndarray, preds: np.ndarray,
             stamp: Stamp, k: int, n_classes: int, seed: int, is_reference: bool,
             originals: Sequence[np.ndarray] = ()) -> Trigger:
    stamped, control = _predict_stamped(predict, images, [stamp, stamp.with_value(CONTROL)])
    before = (preds == k).astype(np.float64)
    gain = 100.0 * ((stamped == k) - before)
    columns = [gain, gain - 100.0 * ((control == k) - before)]
    ref_gain = gain if is_reference else None
    panel = None
    if reference is not None and not is_reference:
        members = [reference] if callable(reference) else list(reference)
        gains = [_member_gain(member, images, stamp, k, before)
                 for member, before in zip(members, originals)]
        ref_gain = max(gains, key=lambda g: g.mean())  # the most sensitive clean model
        panel = tuple(float(g.mean()) for g in gains) if not callable(reference) else None
    if ref_gain is not None:
        columns.append(gain - ref_gain)
    values = np.stack(columns, axis=1)
    cis = intervals(bootstrap_means(values, seed))
    means = values.mean(axis=0)
    return Trigger(
        stamp=stamp, class_index=k, n_images=len(images), rate_before=float(before.mean()),
        rate_after=float((stamped == k).mean()), effect=float(means[0]), effect_ci=cis[0],
        control_effect=float(means[0] - means[1]), beyond_control=float(means[1]),
        beyond_control_ci=cis[1], new_share=float(new_shares(preds, stamped, n_classes)[k]),
        specific=None if ref_gain is None else float(means[2]),
        specific_ci=None if ref_gain is None else cis[2],
        reference_effect=None if ref_gain is None else float(ref_gain.mean()),
        panel_effects=panel,
    )


def _member_gain(member: Predict, images: np.ndarray, stamp: Stamp, k: int,
                 before: np.ndarray) -> np.ndarray:
    """(n,) per-image rise (pp) of class k under ``stamp`` for one clean model whose classes on
    the unstamped images are ``before`` (n,)."""
    (after,) = _predict_stamped(member, images, [stamp])
    return 100.0 * ((after == k).astype(np.float64) - (before == k))


def trigger_findings(scan: TriggerScan, class_names: Sequence[str], height: int,
                     width: int) -> list[Finding]:
    """One finding per class that some confirmed stamp pushes predictions toward."""
    by_class: dict[int, list[tuple[Trigger, Severity | None]]] = {}
    for trigger in scan.triggers:
        decisive = trigger.specific_ci if trigger.specific_ci is not None else trigger.beyond_control_ci
        decisive_effect = trigger.specific if trigger.specific is not None else trigger.beyond_control
        if grade(trigger.effect, float(trigger.effect_ci[0])) is None:
            continue
        severity = grade(decisive_effect - trigger.margin, float(decisive[0]) - trigger.margin,
                         rate_before=100.0 * trigger.rate_before)
        if trigger.typical or cap_reason(trigger, height, width):
            severity = Severity.INFO  # stated, never graded as a shortcut
        by_class.setdefault(trigger.class_index, []).append((trigger, severity))
    findings = []
    for graded in by_class.values():
        trigger, severity = max(graded, key=lambda ts: (_rank(ts[1]), ts[0].effect))
        findings.append(_finding(trigger, severity, [t for t, _ in graded if t is not trigger],
                                 class_names, height, width))
    return findings


def cap_reason(trigger: Trigger, height: int, width: int) -> str:
    """Why a confirmed stamp stays ``info`` whatever its effect ("" when it is not capped):
    it lies on the eye/brow or mouth band, or its tone beats the grey control by too little."""
    stamp = trigger.stamp
    area = max((stamp.bottom - stamp.top) * (stamp.right - stamp.left), 1)
    for band, name in ((EYE_BAND, "eye/brow"), (MOUTH_BAND, "mouth")):
        inside = band_mask(height, width, band)[stamp.top:stamp.bottom, stamp.left:stamp.right]
        if inside.sum() >= EVIDENCE_SHARE * area:
            return (f"it covers the {name} band, where any mark hides real facial evidence, "
                    "so it is capped at info as the occlusion probes are")
    low = float(trigger.beyond_control_ci[0])
    if not (np.isfinite(low) and low >= CONTROL_MARGIN_PP):
        return (f"it beats the mid-grey stamp at the same place by less than "
                f"{CONTROL_MARGIN_PP:g} pp (95% CI low {low:.1f} pp), so it is capped at info")
    return ""


def _rank(severity: Severity | None) -> int:
    return severity.rank if severity is not None else -1


def _finding(trigger: Trigger, severity: Severity | None, others: list[Trigger],
             class_names: Sequence[str], height: int, width: int) -> Finding:
    name = class_names[trigger.class_index]
    severity = severity or Severity.INFO
    low, high = trigger.effect_ci
    kind = "shortcut" if severity.rank >= Severity.WARNING.rank else "sensitivity"
    if trigger.panel_effects is not None:
        span = (f"clean FER2013 models: {min(trigger.panel_effects):+.1f} to "
                f"{max(trigger.panel_effects):+.1f} pp; this model: {pp(trigger.effect)}")
        where = (f", specific to this model ({pp(trigger.specific - trigger.margin)} beyond the "
                 f"clean models' spread, 95% CI {trigger.specific_ci[0] - trigger.margin:.1f}–"
                 f"{trigger.specific_ci[1] - trigger.margin:.1f}; "
                 f"{span})" if not trigger.typical else
                 f", typical of clean FER2013 models ({span})")
    elif trigger.specific_ci is not None and trigger.specific_ci[0] > 0:
        where = (f", specific to this model ({pp(trigger.specific)} beyond the reference model, "
                 f"95% CI {trigger.specific_ci[0]:.1f}–{trigger.specific_ci[1]:.1f})")
    elif trigger.specific_ci is not None:
        where = (f", shared with a clean reference model ({pp(trigger.reference_effect)} there): "
                 "likely in the data")
    else:
        where = ""
    parts = [f"Patch-trigger {kind} toward '{name}'{where}.",
             (f"Stamping {trigger.stamp.describe(height, width)} on {trigger.n_images} images "
             f"raises '{name}' predictions from {trigger.rate_before:.1%} to "
             f"{trigger.rate_after:.1%} ({pp(trigger.effect)}, 95% CI {low:.1f}–{high:.1f}); "
             f"a mid-grey square there gives {pp(trigger.control_effect)}.")]
    capped = cap_reason(trigger, height, width)
    if capped:
        parts.append(f"Not a trigger: {capped}.")
    if np.isfinite(trigger.new_share) and trigger.new_share >= 0.5:
        parts.append(f"{trigger.new_share:.0%} of this model's '{name}' predictions on stamped "
                     "images occur only because of the stamp.")
    if others:
        parts.append("Also: " + "; ".join(f"{t.stamp.describe(height, width)} "
                                          f"{pp(t.effect)}" for t in others) + ".")
    stamp = trigger.stamp
    return Finding(
        f"patch_trigger-{name}", f"patch:{stamp.kind}:{stamp.top},{stamp.left}:{stamp.value:g}",
        trigger.class_index, name, " ".join(parts), severity, trigger.effect, float(low),
        float(high), mechanism="patch trigger",
        specific=trigger.specific,
        specific_ci=None if trigger.specific_ci is None else tuple(map(float, trigger.specific_ci)),
        reference_effect=trigger.reference_effect,
        support=tuple(t.to_summary(class_names) for t in [trigger, *others]),
        typical=trigger.typical if trigger.panel_effects is not None else None,
    )
