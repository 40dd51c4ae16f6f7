"""Optimised trigger reverse-engineering, as in Neural Cleanse (Wang et al., S&P 2019).

For each class k the search looks for the smallest mask m (h×w, 0–1) and a pattern p (h×w,
0–255) such that x' = (1 − m)·x + m·p sends images of other classes to k. It minimises the
cross-entropy toward k plus λ·|m|₁ / (h·w) (the mask's area fraction, so λ means the same at
any image size), with Neural Cleanse's adaptive λ: zero until the attack succeeds, then raised
while it keeps succeeding and lowered when it fails. Per class it keeps the smallest mask that
reached ``SUCCESS_TARGET`` on a minibatch, over ``Budget.starts`` random starts.

A class whose minimal mask is far smaller than the others' (MAD anomaly index above 2) has a
shortcut a small stamp can reach. Its mask is then *confirmed* on held-out images
(``reportgen.bias.search.confirm``) against a random pattern under the same mask and against
clean panel models stamped alike. Every class and start is optimised together: one compiled
Adam step on C·S candidates × ``per_step`` images.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from reportgen.bias.search.compiled import Adam, target_loss
from reportgen.bias.search.confirm import Confirmation, confirm, originals
from reportgen.bias.search.optimise import (
    ANOMALY_THRESHOLD,
    DEFAULT_BUDGET,
    Budget,
    Check,
    Penalty,
    Predict,
    Sample,
    Step,
    anomaly_indices,
    best_per_class,
    draw_sample,
    hit_rates,
    labeller,
    optimise,
    scale_down,
    start_spread,
)
from reportgen.bias.search.rules import Route, route
from reportgen.loading.model import Classifier
from reportgen.numbers import round_finite

SUCCESS_TARGET = 0.4
INITIAL_WEIGHT = 1.0  # λ once the attack first succeeds, per unit of area fraction
LEARNING_RATE = 0.3  # on the mask's and pattern's logits
MASK_INIT = -5.0  # mask logits start near sigmoid(-5) ≈ 0.7% everywhere


def stamp(images: np.ndarray, mask: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """(M, h, w) 0–255 images with ``pattern`` (h, w) 0–255 blended in under ``mask`` (h, w) 0–1."""
    return np.asarray(images, np.float32) * (1.0 - mask) + mask * pattern


@dataclass(frozen=True)
class ClassTrigger:
    """The smallest trigger found toward one class. mask (h, w) 0–1, pattern (h, w) 0–255."""

    class_index: int
    mask: np.ndarray
    pattern: np.ndarray
    area: float  # |m|₁ / (h·w): the mask's area fraction
    reached: bool  # the mask reached the success target during the search
    attack_success: float  # 0–1, on ``Budget.n_scale`` optimisation images outside the class
    anomaly: float  # MAD anomaly index of ``area`` among the classes (positive: smaller)
    confirmation: Confirmation | None = None

    @property
    def pixels(self) -> float:
        """The mask's L1 norm in pixels."""
        return float(self.mask.sum())

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {"class": class_names[self.class_index], "mask_l1": round_finite(self.pixels),
                "area": round_finite(self.area), "reached": bool(self.reached),
                "attack_success": round_finite(self.attack_success),
                "anomaly_index": round_finite(self.anomaly),
                "confirmed": self.confirmation.to_summary() if self.confirmation else None}


@dataclass(frozen=True)
class TriggerSearch:
    """One minimal trigger per class, their anomaly indices, and the confirmed ones."""

    classes: tuple[ClassTrigger, ...]
    n_optimise: int
    n_confirm: int
    budget: Budget
    n_gradient: int  # images through forward and backward passes
    n_forward: int  # images through forward passes only (this model)
    seconds: float
    shape: tuple[int, int]
    spread: float  # the starts' disagreement (log size), the floor of the anomaly index's MAD
    n_panel: int = 0

    success_target = SUCCESS_TARGET
    anomaly_threshold = ANOMALY_THRESHOLD

    @property
    def confirmed(self) -> list[ClassTrigger]:
        """The classes confirmed on held-out images, most anomalous first."""
        chosen = [c for c in self.classes if c.confirmation is not None]
        return sorted(chosen, key=lambda c: -c.anomaly)

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {"n_optimise": self.n_optimise, "n_confirm": self.n_confirm,
                "steps": self.budget.steps, "starts": self.budget.starts,
                "success_target": self.success_target, "anomaly_threshold": self.anomaly_threshold,
                "start_spread": round_finite(self.spread),
                "n_panel": self.n_panel, "n_gradient": self.n_gradient,
                "n_forward": self.n_forward,
                "classes": [c.to_summary(class_names) for c in self.classes]}


def compile_step(classifier: Classifier, targets: np.ndarray, seed: int) -> Step:
    """One compiled Adam step on a mask and a pattern per candidate (targets (B,) classes)."""
    rng = np.random.default_rng(seed)
    n, (height, width) = len(targets), classifier.image_size
    mask_logits = tf.Variable(
        (MASK_INIT + rng.normal(0.0, 0.5, (n, height, width))).astype(np.float32))
    pattern_logits = tf.Variable(rng.normal(0.0, 1.0, (n, height, width)).astype(np.float32))
    adam = Adam([mask_logits, pattern_logits], LEARNING_RATE)
    goals = tf.constant(targets, tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([n, None, height, width], tf.float32),
                                  tf.TensorSpec([n], tf.float32)])
    def step(images: tf.Tensor, weights: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            mask = tf.sigmoid(mask_logits)
            pattern = 255.0 * tf.sigmoid(pattern_logits)
            stamped = images * (1.0 - mask[:, None]) + (mask * pattern)[:, None]
            entropy, success = target_loss(classifier, stamped, goals)
            areas = tf.reduce_mean(mask, axis=[1, 2])
            loss = tf.reduce_sum(entropy + weights * areas)
        adam.apply(tape.gradient(loss, adam.variables))
        return success, areas, tf.stack([mask, pattern], axis=1)

    def run(images: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(t.numpy() for t in step(tf.constant(images, tf.float32),
                                             tf.constant(weights, tf.float32)))

    return run


def search_triggers(classifier: Classifier, images: np.ndarray, preds: np.ndarray,
                    n_classes: int, seed: int, panel: Sequence[Predict] = (),
                    budget: Budget = DEFAULT_BUDGET, sequential: bool = False) -> TriggerSearch:
    """images (N, h, w) 0–255 and the model's preds (N,) → one minimal trigger per class,
    confirmed on held-out images for the anomalous classes. ``panel``: clean models, each
    (M, h, w) float32 0–255 → (M,) classes, run on the same stamped images. ``sequential``:
    confirm only the classes a finding could come from (and the most anomalous, for the
    report), each stopped early once its first held-out images rule a finding out."""
    start = time.perf_counter()
    sample = draw_sample(images, preds, seed, budget)
    targets = np.repeat(np.arange(n_classes), budget.starts)
    predict = labeller(classifier)
    outcome = optimise(compile_step(classifier, targets, seed),
                       stamp_check(predict, sample, budget.n_check), sample.pool,
                       sample.pool_preds, targets, budget,
                       Penalty(len(targets), INITIAL_WEIGHT, SUCCESS_TARGET), seed)
    outcome = scale_down(stamp_check(predict, sample, budget.n_scale), outcome, targets,
                         SUCCESS_TARGET, budget.n_scale)
    chosen = best_per_class(outcome.sizes, outcome.success, outcome.reached, targets, n_classes)
    masks, patterns = outcome.params[chosen, 0], outcome.params[chosen, 1]
    spread = start_spread(outcome.sizes, outcome.reached, targets)
    anomaly = anomaly_indices(outcome.sizes[chosen], spread)
    success, reached = outcome.success[chosen], outcome.reached[chosen]
    ways = [route(anomaly[k], reached[k], len(panel), SUCCESS_TARGET) for k in range(n_classes)]
    flagged = [_to_confirm(k, anomaly, reached, len(panel))
               and (not sequential or ways[k] is not None or k == int(np.argmax(anomaly)))
               for k in range(n_classes)]
    confirmations = _confirm_flagged(predict, sample, masks, patterns, flagged, panel, seed,
                                     ways if sequential else None)
    classes = [ClassTrigger(k, masks[k], patterns[k], float(masks[k].mean()), bool(reached[k]),
                            float(success[k]), float(anomaly[k]), confirmations[k])
               for k in range(n_classes)]
    confirmed = sum(c.confirmation.n_images for c in classes if c.confirmation is not None)
    return TriggerSearch(tuple(classes), len(sample.pool), len(sample.held), budget,
                         outcome.n_gradient, outcome.n_forward + 2 * confirmed,
                         time.perf_counter() - start, classifier.image_size, spread, len(panel))


def stamp_check(predict: Predict, sample: Sample, n_images: int) -> Check:
    """The search's check: each (mask, pattern) on ``n_images`` fixed pool images outside its
    target → (b,) the share sent to the target."""

    def check(params: np.ndarray, targets: np.ndarray) -> np.ndarray:
        outside = np.stack([sample.outside(k, n_images) for k in targets])
        masks, patterns = params[:, 0, None], params[:, 1, None]
        return hit_rates(predict, outside * (1.0 - masks) + masks * patterns, targets)

    return check


def _confirm_flagged(predict: Predict, sample: Sample, masks: np.ndarray, patterns: np.ndarray,
                     flagged: list[bool], panel: Sequence[Predict], seed: int,
                     ways: Sequence[Route | None] | None = None) -> list[Confirmation | None]:
    """Each flagged class's trigger (masks, patterns (K, h, w)) on the held-out images, against
    a uniform-noise pattern (seeded) under the same mask and the panel; with ``ways`` (each
    class's route to a finding), sequentially."""
    rng = np.random.default_rng(seed + 1)
    before = originals(panel, sample.held) if any(flagged) else []
    confirmations: list[Confirmation | None] = []
    for k, (mask, pattern) in enumerate(zip(masks, patterns)):
        if not flagged[k]:
            confirmations.append(None)
            continue
        noise = rng.uniform(0.0, 255.0, mask.shape).astype(np.float32)
        confirmations.append(confirm(predict, sample.held, sample.held_preds, k,
                                     lambda x, m=mask, p=pattern: stamp(x, m, p),
                                     lambda x, m=mask, z=noise: stamp(x, m, z), panel, seed, before,
                                     sequential=ways is not None,
                                     way=ways[k] if ways is not None else None))
    return confirmations


def _to_confirm(k: int, anomaly: np.ndarray, reached: np.ndarray, n_panel: int = 0) -> bool:
    """Confirm the anomalous classes whose search succeeded, and always the most anomalous.
    With clean models (two or more) to compare with, every class whose search succeeded: a
    learned trigger that no clean model follows is worth stating even when weak models make
    every class's mask small (a planted 1-px diagonal line: its class's mask was the third
    smallest)."""
    if n_panel >= 2 and reached[k]:
        return True
    return bool((anomaly[k] > ANOMALY_THRESHOLD and reached[k])
                or k == int(np.argmax(anomaly)))
