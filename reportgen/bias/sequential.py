"""Sequential probing: each probe on growing seeded subsets of the split, stopped once settled.

Most probe evaluations decide nothing: an edit whose effect toward every class is far below the
info threshold, or well inside what clean FER2013 models do, is clear after a few hundred images.
Each probe therefore runs on growing prefixes of one seeded order of the split (``LOOKS``, then
the whole split) and stops at the first look where its decision is *settled* for every class k:

- **typical** (with a clean-model panel): the upper bound is below the smallest effect the panel
  rule could call the model's own (``specific_threshold``), so any finding it makes is ``info``,
  which is stated only for its mechanism's top class (``reportgen.bias.probing`` completes on
  the whole split the probes that decide a finding at warning or above, and a contested top
  class); or
- **moved nothing** (with or without a panel): every class's upper bound is below
  ``MIN_EFFECT_PP``; or
- **info whatever it is**: for a probe whose findings are capped at ``info`` (an evidence
  probe, an extreme corruption: ``reportgen.bias.shortcuts.highest_severity``), a class whose
  lower bound is above ``MIN_EFFECT_PP`` is settled too, as its severity can no longer change.

The bounds are a *confidence sequence*: valid at every look at once, so looking early does not
inflate errors (the predictable plug-in empirical-Bernstein sequence of Waudby-Smith & Ramdas,
"Estimating means of bounded random variables by betting", JRSS-B 2023, Thm 2; in the family of
Howard et al. 2021). Early stopping can only withhold a finding, never make one, and does so with
probability at most ``ALPHA`` per probe. An unsettled probe reaches the whole split, so its
numbers are exactly those of the exhaustive mode.

Dose–response ordering: within a family the strongest strength runs first, the weaker ones
waiting on it. When it surely moved nothing they are not run at all (``SequentialRun.skipped``);
once it surely moved something, or is settled, they run, catching up from the first look. (A
milder edit can move another class more: on a planted model, pixelation at severity 2 moved
'neutral' +5.7 pp where severity 4 moved it +0.8, so a strongest dose that is merely settled
does not stand for its family.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from reportgen.bias.effects import predict_probes
from reportgen.bias.findings import MIN_EFFECT_PP
from reportgen.bias.probes import Probe
from reportgen.bias.shortcuts import highest_severity
from reportgen.bias.spread import MAD_FLOOR_PP, MAD_SCALE, Z_MIN, margin
from reportgen.loading.model import Classifier
from reportgen.progress import Track
from reportgen.severity import Severity
from reportgen.stats import confidence_bounds

LOOKS = (256, 512, 1024, 2048)  # images per probe at each look before the whole split
ALPHA = 0.01  # chance per probe, over its classes, both sides and every look, of a wrong stop


@dataclass(frozen=True)
class SequentialRun:
    """Which images decided each probe. ``preds_after`` holds -1 for images not evaluated."""

    preds_after: np.ndarray  # (P, N) int16; probe p was evaluated on order[:n_images[p]]
    n_images: np.ndarray  # (P,) images that decided each probe (0: skipped)
    order: np.ndarray  # (N,) the seeded order of the split the looks take prefixes of
    looks: tuple[int, ...]
    skipped: tuple[str, ...]  # weaker doses not run: the family's strongest moved nothing
    probe_names: tuple[str, ...] = ()  # (P,) the probes of the rows

    @property
    def evaluations(self) -> int:
        """Probed images sent through the model."""
        return int(self.n_images.sum())

    def to_summary(self) -> dict:
        return {"mode": "sequential", "looks": list(self.looks), "alpha": ALPHA,
                "evaluations": self.evaluations,
                "exhaustive_evaluations": int(len(self.probe_names) * len(self.order)),
                "n_images": {name: int(n) for name, n in zip(self.probe_names, self.n_images)},
                "skipped": list(self.skipped)}


def change_bounds(before: np.ndarray, after: np.ndarray, n_classes: int,
                  alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Bounds (K,) in pp on each class's prediction-rate change, from paired classes (t,)."""
    onehot = np.eye(n_classes)
    changes = onehot[np.asarray(after, np.int64)] - onehot[np.asarray(before, np.int64)]
    low, high = confidence_bounds((changes + 1) / 2, alpha)
    return 100 * (2 * low - 1), 100 * (2 * high - 1)


def specific_threshold(panel_changes: np.ndarray) -> np.ndarray:
    """(P, K) pp: the smallest effect the panel rule could call the model's own, per probe.

    panel_changes (R, P, K): each clean model's change. Beyond the most sensitive member plus
    the margin, and ``Z_MIN`` floored robust SDs above the median (``reportgen.bias.spread``).
    """
    thresholds = []
    for members in np.moveaxis(panel_changes, 1, 0):  # (R, K) per probe
        median = np.median(members, axis=0)
        spread = np.maximum(MAD_SCALE * np.median(np.abs(members - median), axis=0), MAD_FLOOR_PP)
        thresholds.append(np.maximum(members.max(axis=0) + margin(members), median + Z_MIN * spread))
    return np.array(thresholds)


def probing_order(n_images: int, seed: int, first: np.ndarray | None = None) -> np.ndarray:
    """(N,) a seeded order of the split; the indices ``first`` (the panel's sample) lead it, so
    the early looks see the images the clean models were judged on."""
    rng = np.random.default_rng(seed + 11)
    if first is None:
        return rng.permutation(n_images)
    rest = np.setdiff1d(np.arange(n_images), first)
    return np.concatenate([rng.permutation(first), rng.permutation(rest)])


@dataclass(frozen=True)
class Status:
    """Where one probe stands after a look."""

    done: bool  # its decision is settled for every class
    null: bool  # surely moved no class by MIN_EFFECT_PP
    moved: bool  # surely moved some class (a lower bound above zero)


def status(before: np.ndarray, after: np.ndarray, n_classes: int, threshold: np.ndarray | None,
           alpha: float = ALPHA, info_only: bool = False) -> Status:
    """One probe's status on the images so far; threshold (K,) from ``specific_threshold`` or
    None (no panel).

    With a threshold the probe is settled once no class's effect can reach it or be stated at
    all: its findings can then only be ``info``, stated for the mechanism's top class, whose
    probe is completed on the whole split. Without one, only "moved nothing" settles it. A
    probe whose findings are ``info`` whatever its effect (``info_only``: an evidence probe, an
    extreme corruption) is also settled for a class it surely moved by ``MIN_EFFECT_PP``: its
    severity can no longer change.
    """
    low, high = change_bounds(before, after, n_classes, alpha / n_classes)
    null, moved = bool((high < MIN_EFFECT_PP).all()), bool((low > 0).any())
    settled = high < (MIN_EFFECT_PP if threshold is None
                      else np.maximum(threshold, MIN_EFFECT_PP))
    if info_only:
        settled |= low > MIN_EFFECT_PP
    return Status(bool(settled.all()), null, moved)


def probe_sequentially(
    classifier: Classifier, images: np.ndarray, preds: np.ndarray, probes: Sequence[Probe],
    n_classes: int, seed: int, thresholds: np.ndarray | None = None,
    first: np.ndarray | None = None, progress: Track | None = None,
) -> SequentialRun:
    """Run ``probes`` on images (N, h, w) 0-255 look by look until each is settled.

    preds (N,) the model's classes on the originals; thresholds (P, K) from
    ``specific_threshold`` (None without a panel: only "moved nothing" can settle a probe).
    A weaker dose waits for its family's strongest, which runs on until it surely moved nothing
    (the weaker doses are then skipped), or surely moved something, or is settled, or has seen
    the whole split (they then run, catching up on the images it has seen).
    """
    n_images, n_probes = len(images), len(probes)
    order = probing_order(n_images, seed, first)
    looks = tuple(look for look in LOOKS if look < n_images) + (n_images,)
    preds_after = np.full((n_probes, n_images), -1, np.int16)
    used = np.zeros(n_probes, np.int64)
    waiting = _weaker_doses(probes)
    info_only = [highest_severity(probe) is Severity.INFO for probe in probes]
    active = np.array([p not in waiting for p in range(n_probes)])
    states: dict[int, Status] = {}
    skipped: list[str] = []
    advance = progress("Probes (sequential)", len(looks)) if progress else None

    def look_at(rows: np.ndarray, look: int) -> None:
        _evaluate(classifier, images, probes, rows, order, used, look, preds_after)
        seen = order[:look]
        for p in rows:
            states[int(p)] = status(preds[seen], preds_after[p, seen], n_classes,
                                    None if thresholds is None else thresholds[p],
                                    info_only=bool(info_only[p]))
            # a family's strongest dose runs on while its weaker doses wait on its answer
            active[p] = not states[int(p)].done or int(p) in waiting.values()

    for look in looks:
        look_at(np.flatnonzero(active & (used < look)), look)
        released = []
        for weaker, strongest in list(waiting.items()):
            state = states.get(strongest)
            if state is None:
                continue
            if state.null:
                skipped.append(probes[weaker].name)
            elif state.moved or state.done or look == n_images:
                released.append(weaker)
            else:
                continue
            del waiting[weaker]
        for p in set(states) - set(waiting.values()):
            active[p] = not states[p].done
        look_at(np.array(sorted(released), np.int64), look)
        if advance:
            advance(1)
    return SequentialRun(preds_after, used, order, looks, tuple(skipped),
                         tuple(probe.name for probe in probes))


def complete(classifier: Classifier, images: np.ndarray, probes: Sequence[Probe],
             run: SequentialRun, rows: Sequence[int]) -> SequentialRun:
    """The same run with probes ``rows`` evaluated on the whole split (an exact pass)."""
    preds_after, used = run.preds_after.copy(), run.n_images.copy()
    _evaluate(classifier, images, probes, np.asarray(rows, np.int64), run.order, used,
              len(run.order), preds_after)
    return replace(run, preds_after=preds_after, n_images=used)


def _evaluate(classifier: Classifier, images: np.ndarray, probes: Sequence[Probe],
              rows: np.ndarray, order: np.ndarray, used: np.ndarray, look: int,
              preds_after: np.ndarray) -> None:
    """Evaluate probes ``rows`` on order[used[p]:look] (in place), grouped by where they stand."""
    for start in np.unique(used[rows]):
        group = rows[used[rows] == start]
        index = np.sort(order[start:look])
        if len(index):
            preds_after[np.ix_(group, index)] = predict_probes(
                classifier, images[index], [probes[p] for p in group])
        used[group] = look


def _weaker_doses(probes: Sequence[Probe]) -> dict[int, int]:
    """{probe index: its family's strongest probe index} for every weaker dose. A family lists
    its strengths mildest first (``reportgen.bias.probes``), so the last member is strongest."""
    families: dict[str, list[int]] = {}
    for p, probe in enumerate(probes):
        families.setdefault(probe.family, []).append(p)
    return {p: members[-1] for members in families.values() for p in members[:-1]}


def subset_groups(run: SequentialRun) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(probe rows, image indices)] grouping the evaluated probes by the images that decided
    them, the indices sorted (split order), smallest group first."""
    groups = []
    for n in np.unique(run.n_images[run.n_images > 0]):
        groups.append((np.flatnonzero(run.n_images == n), np.sort(run.order[:n])))
    return groups

