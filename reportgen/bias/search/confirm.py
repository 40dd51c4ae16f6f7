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
paired bootstrap; the decisive part is the smallest of them. In the sequential mode a class is
first confirmed on a few seeded held-out images and stopped there once they rule out stating it
(``reportgen.bias.search.rules``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.bias.resample import bootstrap_means, intervals
from reportgen.bias.search.optimise import Predict
from reportgen.bias.search.rules import LOOKS, Route, gains, ruled_out
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
    stopped: bool = False  # settled early: these images already ruled out stating the class

    def to_summary(self) -> dict:
        return {"n_images": self.n_images, "rate_before": round_finite(self.rate_before),
                "rate_after": round_finite(self.rate_after),
                "success": round_finite(self.success), "effect": round_finite(self.effect),
                "ci": round_all(self.effect_ci),
                "control_effect": round_finite(self.control_effect),
                "panel_effects": round_all(self.panel_effects),
                "beyond": round_finite(self.beyond), "beyond_ci": round_all(self.beyond_ci),
                "beyond_panel": self.beyond_panel, "stopped_early": self.stopped}


def originals(panel: Sequence[Predict], images: np.ndarray) -> list[np.ndarray]:
    """Each clean model's classes (M,) on the unedited images (M, h, w), computed once for all
    the classes confirmed on them."""
    return [np.asarray(member(np.asarray(images, np.float32))) for member in panel]


def confirm(predict: Predict, images: np.ndarray, preds: np.ndarray, k: int, edit: Edit,
            control: Edit, panel: Sequence[Predict], seed: int,
            panel_before: Sequence[np.ndarray] | None = None, sequential: bool = False,
            way: Route | None = None) -> Confirmation:
    """images (M, h, w) 0–255 held out, preds (M,) the model's classes on them; ``edit`` and
    ``control`` edit a batch; ``panel`` label images like ``predict``; ``panel_before`` their
    classes on the unedited images, when already known (they are the same for every class).

    ``sequential``: look first at ``rules.LOOKS`` seeded held-out images and stop, with the
    numbers of those images, once they rule out stating the class by ``way`` (None: no route
    can state it, so the first look is enough); otherwise every image is used."""
    pixels = np.asarray(images, np.float32)
    if panel_before is None:
        panel_before = originals(panel, pixels)
    n, done = len(pixels), 0
    after, after_control = np.full(n, -1), np.full(n, -1)
    panel_after = [np.full(n, -1) for _ in panel]
    order = np.random.default_rng(seed + 7).permutation(n)
    for look in [*(look for look in LOOKS if sequential and look < n), n]:
        batch = np.sort(order[done:look])
        edited = edit(pixels[batch])
        both = predict(np.concatenate([edited, control(pixels[batch])]))
        after[batch], after_control[batch] = both[:len(batch)], both[len(batch):]
        for member, answers in zip(panel, panel_after):
            answers[batch] = np.asarray(member(edited))
        done = look
        seen = order[:look]  # in the seeded order: the confidence sequence's order
        if look < n and ruled_out(way, k, preds[seen], after[seen], after_control[seen],
                                  [b[seen] for b in panel_before], [a[seen] for a in panel_after]):
            return _measure(np.sort(seen), pixels, preds, k, edit, after, after_control,
                            panel_before, panel_after, seed, stopped=True)
    return _measure(np.arange(n), pixels, preds, k, edit, after, after_control, panel_before,
                    panel_after, seed)


def _measure(index: np.ndarray, pixels: np.ndarray, preds: np.ndarray, k: int, edit: Edit,
             after: np.ndarray, after_control: np.ndarray, panel_before: Sequence[np.ndarray],
             panel_after: Sequence[np.ndarray], seed: int, stopped: bool = False) -> Confirmation:
    """The confirmation from held-out images ``index`` (sorted): the effect, its part beyond
    the control and each clean model, resampled in one paired bootstrap."""
    preds, after, after_control = preds[index], after[index], after_control[index]
    gain = gains(after, preds, k)
    panel_gains = [gains(a[index], b[index], k) for a, b in zip(panel_after, panel_before)]
    columns = [gain, gain - gains(after_control, preds, k), *(gain - g for g in panel_gains)]
    values = np.stack(columns, axis=1)
    cis = intervals(bootstrap_means(values, seed))
    means = values.mean(axis=0)
    decisive = 1 + int(np.argmin(means[1:]))
    others = preds != k
    chosen = _examples(preds, after, k)
    return Confirmation(
        class_index=k, n_images=len(index), rate_before=float((preds == k).mean()),
        rate_after=float((after == k).mean()),
        success=float((after[others] == k).mean()) if others.any() else float("nan"),
        effect=float(means[0]), effect_ci=cis[0], control_effect=float(means[0] - means[1]),
        panel_effects=tuple(float(g.mean()) for g in panel_gains), beyond=float(means[decisive]),
        beyond_ci=cis[decisive], beyond_panel=decisive > 1,
        examples=np.clip(np.rint(edit(pixels[index[chosen]])), 0, 255).astype(np.uint8),
        examples_before=preds[chosen].astype(int), examples_after=after[chosen].astype(int),
        stopped=stopped,
    )


def _examples(preds: np.ndarray, after: np.ndarray, k: int) -> np.ndarray:
    """Up to ``N_EXAMPLES`` indices: images the edit sends to k first, then any outside k."""
    flipped = np.flatnonzero((preds != k) & (after == k))
    rest = np.flatnonzero((preds != k) & (after != k))
    return np.concatenate([flipped, rest, np.flatnonzero(preds == k)])[:N_EXAMPLES].astype(int)
