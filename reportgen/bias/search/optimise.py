"""What the optimisation-based searches share: the seeded sample, the adaptive penalty weight,
the per-step minibatches, the search loop that keeps each candidate's smallest successful
edit, and the MAD anomaly index that compares the classes.

A *candidate* is one edit being optimised toward one target class (a mask and a pattern, or a
perturbation); every candidate is optimised at once in one compiled step, each on its own
minibatch of optimisation images that the model does not already put in its target class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reportgen.loading.model import Classifier

MAD_SCALE = 1.4826  # MAD → standard deviation under a normal distribution
ANOMALY_THRESHOLD = 2.0  # Neural Cleanse's cut: an index above 2 is an outlier (p ≈ 0.05)
# A floor on the MAD of log sizes (×1.2): sizes closer than this are not told apart.
MAD_FLOOR = float(np.log(1.2))
RAISE, LOWER = 1.5, 1.5**1.5  # Neural Cleanse's multipliers of the penalty weight
SMOOTHING = 0.7  # weight of the past in the running success: about the last 5 minibatches
CHECK_EVERY = 4  # steps between checks of the candidate edits on fixed images
SCALE_OCTAVES, SCALE_STEPS = 6, 6  # final scaling of each edit: down to 1/64, to within 7%

# (images (B, m, h, w) f32, weights (B,)) → success (B,), sizes (B,), params (B, P, h, w)
Step = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
# (params (b, P, h, w), targets (b,)) → (b,) success of each edit on its check images
Check = Callable[[np.ndarray, np.ndarray], np.ndarray]
Predict = Callable[[np.ndarray], np.ndarray]  # (M, h, w) 0–255 → (M,) class ids


@dataclass(frozen=True)
class Budget:
    """How much a search may spend: images sampled, steps, images per candidate and step."""

    n_optimise: int = 256
    n_confirm: int = 512
    steps: int = 80
    per_step: int = 8  # images per candidate and step
    starts: int = 2  # random starts per class
    n_check: int = 32  # optimisation images per class on which an edit's success is checked
    n_scale: int = 48  # optimisation images per candidate on which its edit is scaled down


DEFAULT_BUDGET = Budget()


@dataclass(frozen=True)
class Sample:
    """The seeded images a search works on: ``pool`` (n, h, w) float32 0–255 to optimise on and
    ``held`` (M, h, w) held out to confirm with, disjoint, with the model's classes on each."""

    pool: np.ndarray
    pool_preds: np.ndarray
    held: np.ndarray
    held_preds: np.ndarray

    def outside(self, k: int, n_images: int) -> np.ndarray:
        """(n_images, h, w): the first pool images the model puts outside class k, repeated
        when there are fewer (all the pool when none is outside)."""
        chosen = self.pool[self.pool_preds != k]
        return np.resize(chosen if len(chosen) else self.pool, (n_images, *self.pool.shape[1:]))


def draw_sample(images: np.ndarray, preds: np.ndarray, seed: int, budget: Budget) -> Sample:
    """Disjoint seeded samples of images (N, h, w) with preds (N,): the optimisation images and,
    from the rest, the held-out ones; each gets at most half of a small split. Indices are
    sorted, as spilled images are read best in order."""
    order = np.random.default_rng(seed).permutation(len(images))
    n_opt = min(budget.n_optimise, len(images) // 2)
    pool, held = np.sort(order[:n_opt]), np.sort(order[n_opt:n_opt + budget.n_confirm])
    preds = np.asarray(preds)
    return Sample(np.asarray(images[pool], np.float32), preds[pool],
                  np.asarray(images[held], np.float32), preds[held])


class Penalty:
    """Neural Cleanse's adaptive weight on the edit's size, one per candidate.

    The weight starts at zero, so the attack succeeds first; after ``patience`` steps at or above
    the success target it is set to ``initial``, then raised by ``RAISE`` after each further
    ``patience`` successful steps (the edit shrinks) and lowered by ``LOWER`` after ``patience``
    failed ones (the edit may grow back)."""

    def __init__(self, n_candidates: int, initial: float, target: float, patience: int = 2) -> None:
        self.initial, self.target, self.patience = initial, target, patience
        self.weights = np.zeros(n_candidates, np.float32)
        self._up = np.zeros(n_candidates, int)
        self._down = np.zeros(n_candidates, int)

    def update(self, success: np.ndarray) -> None:
        """success (B,): each candidate's running attack success this step (0–1)."""
        hit = success >= self.target
        self._up = np.where(hit, self._up + 1, 0)
        self._down = np.where(hit, 0, self._down + 1)
        up, down = self._up >= self.patience, self._down >= self.patience
        zero = self.weights == 0
        self.weights = np.where(up & zero, self.initial, self.weights)
        self.weights = np.where(up & ~zero, self.weights * RAISE, self.weights)
        self.weights = np.where(down & ~zero, self.weights / LOWER, self.weights).astype(np.float32)
        self._up[up], self._down[down] = 0, 0


@dataclass
class Outcome:
    """Per candidate: its smallest edit whose success on the check images reached the target,
    or its last edit when none did. sizes (B,), success (B,) 0–1 (on the check images; NaN
    for an edit never checked), reached (B,), params (B, P, h, w)."""

    sizes: np.ndarray
    success: np.ndarray
    reached: np.ndarray
    params: np.ndarray
    n_gradient: int = 0  # images through forward and backward passes
    n_forward: int = 0  # images through forward passes only (the checks)

    def keep(self, chosen: np.ndarray, sizes: np.ndarray, success: np.ndarray,
             params: np.ndarray) -> None:
        self.sizes[chosen], self.success[chosen] = sizes[chosen], success[chosen]
        self.params[chosen] = params[chosen]


def minibatch(pool_preds: np.ndarray, targets: np.ndarray, per_step: int,
              rng: np.random.Generator) -> np.ndarray:
    """(B, per_step) pool indices: for each candidate, images the model puts outside its target."""
    rows = []
    for k in targets:
        others = np.flatnonzero(pool_preds != k)
        others = others if len(others) else np.arange(len(pool_preds))
        rows.append(others[rng.integers(len(others), size=per_step)])
    return np.stack(rows)


def optimise(step: Step, check: Check, pool: np.ndarray, pool_preds: np.ndarray,
             targets: np.ndarray, budget: Budget, penalty: Penalty, seed: int) -> Outcome:
    """Run ``budget.steps`` steps of ``step`` on minibatches of ``pool`` (n, h, w) float32 and
    keep, per candidate (targets (B,)), the smallest edit whose success reached the target.

    The penalty follows the success smoothed over steps (``SMOOTHING``), as Neural Cleanse
    averages it over an epoch. Every ``CHECK_EVERY`` steps, the edits smaller than their best
    whose smoothed success is at the target are measured on fixed check images (``check``,
    forward passes only), and kept if they reach it there: a lucky minibatch, or a running
    average that lags a shrinking edit, would otherwise pass an edit that mostly fails."""
    rng = np.random.default_rng(seed)
    n = len(targets)
    best = Outcome(np.full(n, np.inf), np.full(n, np.nan), np.zeros(n, bool), np.empty(0))
    smoothed = np.zeros(n)
    for i in range(budget.steps):
        success, sizes, params = step(pool[minibatch(pool_preds, targets, budget.per_step, rng)],
                                      penalty.weights)
        smoothed = success if i == 0 else SMOOTHING * smoothed + (1 - SMOOTHING) * success
        penalty.update(smoothed)
        if i == 0:
            best.params = params.copy()
        due = (smoothed >= penalty.target) & (sizes < best.sizes)
        if (i % CHECK_EVERY == CHECK_EVERY - 1 or i == budget.steps - 1) and due.any():
            checked = np.full(n, np.nan)
            checked[due] = check(params[due], targets[due])
            best.n_forward += int(due.sum()) * budget.n_check
            passed = due & (checked >= penalty.target)
            best.keep(passed, sizes, checked, params)
            best.reached |= passed
        best.keep(~best.reached, sizes, np.full(n, np.nan), params)  # follow until one passes
    best.n_gradient = budget.steps * n * budget.per_step
    return best


def best_per_class(sizes: np.ndarray, success: np.ndarray, reached: np.ndarray,
                   targets: np.ndarray, n_classes: int) -> np.ndarray:
    """(K,) the candidate chosen for each class among its starts (sizes, success, reached and
    targets (B,)): the smallest that reached the target, else the one that came closest."""
    chosen = np.zeros(n_classes, int)
    for k in range(n_classes):
        mine = np.flatnonzero(targets == k)
        keys = [(not reached[b], 0.0 if reached[b] else -np.nan_to_num(success[b]), sizes[b])
                for b in mine]
        chosen[k] = mine[min(range(len(mine)), key=keys.__getitem__)]
    return chosen


def smallest_scale(success_at: Callable[[np.ndarray], np.ndarray], reached: np.ndarray,
                   success: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate, the smallest factor in [2^-SCALE_OCTAVES, 1] by which its edit can be
    scaled and still reach ``target`` (``success_at``: (B,) factors → (B,) success 0–1, one
    batched evaluation), by bisection on the log scale; 1 for an edit that never reached it.
    A search that overshoots (a penalty that had not yet caught up) leaves an edit larger than
    it needs; scaling every class's edit down to the target puts the classes on one footing.
    → (B,) factors and (B,) the success at each (``success`` where the factor is 1)."""
    low = np.full(len(reached), -float(SCALE_OCTAVES))
    high = np.zeros(len(reached))
    best = np.asarray(success, np.float64).copy()
    for _ in range(SCALE_STEPS):
        mid = (low + high) / 2
        rates = success_at(np.where(reached, 2.0**mid, 1.0))
        ok = reached & (rates >= target)
        best = np.where(ok, rates, best)
        high = np.where(ok, mid, high)
        low = np.where(ok, low, mid)
    return np.where(reached, 2.0**high, 1.0), best


def scale_down(check: Check, outcome: Outcome, targets: np.ndarray, target: float,
               n_images: int) -> Outcome:
    """``outcome`` with every edit that reached the target scaled down as far as it still
    does (``smallest_scale``), measured by ``check`` on ``n_images`` images per candidate.
    The first parameter of each edit (a mask, a perturbation) is the one scaled, and sizes
    scale with it."""

    def scaled(factors: np.ndarray) -> np.ndarray:
        params = outcome.params.copy()
        params[:, 0] *= factors[:, None, None]
        return params

    factors, success = smallest_scale(lambda f: check(scaled(f), targets), outcome.reached,
                                      outcome.success, target)
    return Outcome(outcome.sizes * factors, success, outcome.reached, scaled(factors),
                   outcome.n_gradient,
                   outcome.n_forward + SCALE_STEPS * len(targets) * n_images)


def start_spread(sizes: np.ndarray, reached: np.ndarray, targets: np.ndarray) -> float:
    """The search's own noise: the median, over classes with two or more starts that reached
    the target, of the range of their log sizes (0 when there is no such class). sizes,
    reached, targets (B,)."""
    spreads = []
    for k in np.unique(targets):
        logs = np.log(sizes[(targets == k) & reached])
        if len(logs) >= 2:
            spreads.append(float(logs.max() - logs.min()))
    return float(np.median(spreads)) if spreads else 0.0


def anomaly_indices(sizes: np.ndarray, noise: float = 0.0) -> np.ndarray:
    """(K,) edit sizes → (K,) Neural Cleanse anomaly indices, (median − s_k) / (1.4826 · MAD),
    positive on the small side, over *log* sizes: minimal sizes are scale quantities that span
    orders of magnitude (a 6-pixel trigger among 30-pixel adversarial patches, where 'disgust'
    needs 60). The MAD is floored at ``noise`` (``start_spread``: classes that differ by less
    than two starts of one class do not differ) and at ``MAD_FLOOR``."""
    logs = np.log(np.maximum(np.asarray(sizes, np.float64), 1e-12))
    median = float(np.median(logs))
    mad = max(float(np.median(np.abs(logs - median))), noise, MAD_FLOOR)
    return (median - logs) / (MAD_SCALE * mad)


def labeller(classifier: Classifier) -> Predict:
    """(M, h, w) 0–255 → (M,) the classifier's predicted classes, in large compiled batches."""
    return lambda images: classifier.predict(np.asarray(images, np.float32)).argmax(axis=1)


def hit_rates(predict: Predict, edited: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """edited (B, n, h, w): candidate b's edit on n images outside its target class targets[b]
    → (B,) the share of them predicted as the target, in one batched call."""
    after = predict(edited.reshape(-1, *edited.shape[2:])).reshape(edited.shape[:2])
    return (after == np.asarray(targets)[:, None]).mean(axis=1)
