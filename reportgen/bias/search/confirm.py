"""Confirm a searched edit on held-out images, against a random control and clean models.

The search picks, for each class, the edit that works best on its optimisation images; on
those images its success is inflated by the selection. Confirmation applies it to images the
search never saw and measures, per image and paired, the rise in the share predicted as the
target class (pp), beside

- the *control*: a random edit of the same kind and size (a random pattern under the same
  mask, or the perturbation's pixels shuffled), and
- each *panel* model (a clean reference model) under the very same edited images: a trigger
  that moves clean models as much is a universal adversarial edit typical of such models.

The part beyond the control, and beyond each panel model, is resampled with the effect in one
paired bootstrap; the decisive part is the smallest of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.bias.resample import bootstrap_means, intervals
from reportgen.bias.search.optimise import Predict
from reportgen.numbers import round_all, round_finite

N_EXAMPLES = 3
Edit = Callable[[np.ndarray], np.ndarray]  # (M, h, w) float32 0–255 → edited, same shape


@dataclass(frozen=True)
class Confirmation:
    """One edit on ``n_images`` held-out images: effects in pp of the target's prediction rate,
    CIs (2,); examples (E, h, w) uint8 edited images with their classes before and after."""

    class_index: int
    n_images: int
    rate_before: float  # 0–1, the model on the unedited held-out images
    rate_after: float
    success: float  # of the held-out images outside the class, the share the edit sends to it
    effect: float
    effect_ci: np.ndarray
    control_effect: float
    panel_effects: tuple[float, ...]  # each clean model's rise under the same edited images
    beyond: float  # the part beyond the control or the most moved panel model, whichever is less
    beyond_ci: np.ndarray
    beyond_panel: bool  # True when a panel model, not the control, decides ``beyond``
    examples: np.ndarray
    examples_before: np.ndarray  # (E,) class ids
    examples_after: np.ndarray

    def to_summary(self) -> dict:
        return {"n_images": self.n_images, "rate_before": round_finite(self.rate_before),
                "rate_after": round_finite(self.rate_after),
                "success": round_finite(self.success), "effect": round_finite(self.effect),
                "ci": round_all(self.effect_ci),
                "control_effect": round_finite(self.control_effect),
                "panel_effects": round_all(self.panel_effects),
                "beyond": round_finite(self.beyond), "beyond_ci": round_all(self.beyond_ci),
                "beyond_panel": self.beyond_panel}


def originals(panel: Sequence[Predict], images: np.ndarray) -> list[np.ndarray]:
    """Each clean model's classes (M,) on the unedited images (M, h, w), computed once for all
    the classes confirmed on them."""
    return [np.asarray(member(np.asarray(images, np.float32))) for member in panel]


def _gains(after: np.ndarray, before: np.ndarray, k: int) -> np.ndarray:
    return 100.0 * ((after == k).astype(np.float64) - (before == k))


def confirm(predict: Predict, images: np.ndarray, preds: np.ndarray, k: int, edit: Edit,
            control: Edit, panel: Sequence[Predict], seed: int,
            panel_before: Sequence[np.ndarray] | None = None) -> Confirmation:
    """images (M, h, w) 0–255 held out, preds (M,) the model's classes on them; ``edit`` and
    ``control`` edit a batch; ``panel`` label images like ``predict``; ``panel_before`` their
    classes on the unedited images, when already known (they are the same for every class)."""
    pixels = np.asarray(images, np.float32)
    edited, controlled = edit(pixels), control(pixels)
    both = predict(np.concatenate([edited, controlled]))
    after, after_control = both[:len(pixels)], both[len(pixels):]
    gain = _gains(after, preds, k)
    columns = [gain, gain - _gains(after_control, preds, k)]
    if panel_before is None:
        panel_before = originals(panel, pixels)
    panel_gains = [_gains(np.asarray(member(edited)), before, k)
                   for member, before in zip(panel, panel_before)]
    columns += [gain - g for g in panel_gains]
    values = np.stack(columns, axis=1)
    cis = intervals(bootstrap_means(values, seed))
    means = values.mean(axis=0)
    decisive = 1 + int(np.argmin(means[1:]))
    others = preds != k
    chosen = _examples(preds, after, k)
    return Confirmation(
        class_index=k, n_images=len(pixels), rate_before=float((preds == k).mean()),
        rate_after=float((after == k).mean()),
        success=float((after[others] == k).mean()) if others.any() else float("nan"),
        effect=float(means[0]), effect_ci=cis[0], control_effect=float(means[0] - means[1]),
        panel_effects=tuple(float(g.mean()) for g in panel_gains), beyond=float(means[decisive]),
        beyond_ci=cis[decisive], beyond_panel=decisive > 1,
        examples=np.clip(np.rint(edited[chosen]), 0, 255).astype(np.uint8),
        examples_before=preds[chosen].astype(int), examples_after=after[chosen].astype(int),
    )


def _examples(preds: np.ndarray, after: np.ndarray, k: int) -> np.ndarray:
    """Up to ``N_EXAMPLES`` indices: images the edit sends to k first, then any outside k."""
    flipped = np.flatnonzero((preds != k) & (after == k))
    rest = np.flatnonzero((preds != k) & (after != k))
    return np.concatenate([flipped, rest, np.flatnonzero(preds == k)])[:N_EXAMPLES].astype(int)
