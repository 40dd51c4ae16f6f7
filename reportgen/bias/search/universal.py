"""A targeted universal perturbation per class (in the spirit of Moosavi-Dezfooli et al., 2017).

For each class k the search looks for the smallest full-image perturbation δ (h×w, grey
levels) such that clip(x + δ, 0, 255) sends most images of other classes (``SUCCESS_TARGET``)
to k: it minimises the cross-entropy toward k plus μ·RMS(δ)/255, with the same adaptive μ as
the trigger search (``reportgen.bias.search.optimise.Penalty``), and keeps per class the
smallest δ that reached the target on fixed check images. A class that needs a far smaller δ
than the others (MAD anomaly index above 2), or than clean models need (``panel_norms``), is
reached by a global pattern, such as a faint stripe or texture the model keys on. Its δ is
confirmed on held-out images against the same δ with its pixels shuffled (the same L2 and L∞
norms, no structure) and against clean panel models given the same perturbed images.

The pattern and its 2-D amplitude spectrum are kept for the report: a shortcut keyed to a
periodic pattern shows as a few bright peaks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from reportgen.bias.search.compiled import Adam, target_loss
from reportgen.bias.search.confirm import Confirmation, confirm, originals
from reportgen.bias.search.optimise import (
    ANOMALY_THRESHOLD,
    Budget,
    Check,
    Penalty,
    Predict,
    Sample,
    Step,
    anomaly_indices,
    draw_sample,
    hit_rates,
    labeller,
    optimise,
    scale_down,
)
from reportgen.bias.search.rules import Route, route
from reportgen.loading.model import Classifier
from reportgen.numbers import round_all, round_finite

SUCCESS_TARGET = 0.5  # most of the other classes' images
INITIAL_WEIGHT = 1.0  # μ once the attack first succeeds, per unit of RMS / 255
LEARNING_RATE = 2.0  # grey levels per Adam step
PANEL_FRACTION = 0.8  # with panel norms: a class is flagged only below this × the smallest
UNIVERSAL_BUDGET = Budget(steps=60, per_step=12, starts=1)


def perturb(images: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """(M, h, w) 0–255 images plus ``delta`` (h, w) grey levels, clipped to 0–255."""
    return np.clip(np.asarray(images, np.float32) + delta, 0.0, 255.0)


@dataclass(frozen=True)
class ClassPerturbation:
    """The smallest universal perturbation found toward one class: delta (h, w) grey levels,
    spectrum (h, w) its amplitude spectrum, zero frequency at the centre."""

    class_index: int
    delta: np.ndarray
    spectrum: np.ndarray
    l2: float  # ‖δ‖₂ in grey levels
    linf: float  # max |δ| in grey levels
    reached: bool  # the perturbation reached the success target during the search
    attack_success: float  # 0–1, on ``Budget.n_scale`` optimisation images outside the class
    anomaly: float  # MAD anomaly index of ``l2`` among the classes (positive: smaller)
    panel_ratio: float | None = None  # l2 / the smallest panel model's norm for this class
    confirmation: Confirmation | None = None

    @property
    def rms(self) -> float:
        """Root-mean-square perturbation per pixel, in grey levels."""
        return self.l2 / np.sqrt(self.delta.size)

    def to_summary(self, class_names: Sequence[str]) -> dict:
        return {"class": class_names[self.class_index], "l2": round_finite(self.l2),
                "linf": round_finite(self.linf), "rms": round_finite(self.rms),
                "reached": bool(self.reached),
                "attack_success": round_finite(self.attack_success),
                "anomaly_index": round_finite(self.anomaly),
                "panel_ratio": round_finite(self.panel_ratio),
                "confirmed": self.confirmation.to_summary() if self.confirmation else None}


@dataclass(frozen=True)
class UniversalSearch:
    """One minimal universal perturbation per class and the confirmed ones."""

    classes: tuple[ClassPerturbation, ...]
    n_optimise: int
    n_confirm: int
    budget: Budget
    n_gradient: int  # images through forward and backward passes
    n_forward: int  # images through forward passes only (this model)
    seconds: float
    shape: tuple[int, int]
    n_panel: int = 0
    panel_norms: dict[int, tuple[float, ...]] | None = None

    success_target = SUCCESS_TARGET
    anomaly_threshold = ANOMALY_THRESHOLD

    @property
    def confirmed(self) -> list[ClassPerturbation]:
        """The classes confirmed on held-out images, most anomalous first."""
        chosen = [c for c in self.classes if c.confirmation is not None]
        return sorted(chosen, key=lambda c: -c.anomaly)

    def to_summary(self, class_names: Sequence[str]) -> dict:
        norms = None if self.panel_norms is None else {
            class_names[k]: round_all(v) for k, v in sorted(self.panel_norms.items())}
        return {"n_optimise": self.n_optimise, "n_confirm": self.n_confirm,
                "steps": self.budget.steps, "success_target": self.success_target,
                "anomaly_threshold": self.anomaly_threshold, "n_panel": self.n_panel,
                "panel_norms": norms, "n_gradient": self.n_gradient,
                "n_forward": self.n_forward,
                "classes": [c.to_summary(class_names) for c in self.classes]}


def compile_step(classifier: Classifier, targets: np.ndarray, seed: int) -> Step:
    """One compiled Adam step on a perturbation per candidate (targets (B,) classes)."""
    n, (height, width) = len(targets), classifier.image_size
    start = np.random.default_rng(seed).normal(0.0, 1.0, (n, height, width))
    deltas = tf.Variable(start.astype(np.float32))
    adam = Adam([deltas], LEARNING_RATE)
    goals = tf.constant(targets, tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([n, None, height, width], tf.float32),
                                  tf.TensorSpec([n], tf.float32)])
    def step(images: tf.Tensor, weights: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            delta = tf.convert_to_tensor(deltas)  # the value before this step's update
            edited = tf.clip_by_value(images + delta[:, None], 0.0, 255.0)
            entropy, success = target_loss(classifier, edited, goals)
            sizes = tf.sqrt(tf.reduce_mean(tf.square(delta), axis=[1, 2]) + 1e-6) / 255.0
            loss = tf.reduce_sum(entropy + weights * sizes)
        adam.apply(tape.gradient(loss, adam.variables))
        return success, sizes, delta[:, None]

    def run(images: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(t.numpy() for t in step(tf.constant(images, tf.float32),
                                             tf.constant(weights, tf.float32)))

    return run


def perturb_check(predict: Predict, sample: Sample, n_images: int) -> Check:
    """The search's check: each δ on ``n_images`` fixed pool images outside its target →
    (b,) the share sent to the target."""

    def check(params: np.ndarray, targets: np.ndarray) -> np.ndarray:
        outside = np.stack([sample.outside(k, n_images) for k in targets])
        return hit_rates(predict, np.clip(outside + params[:, :1], 0.0, 255.0), targets)

    return check


def search_universal(classifier: Classifier, images: np.ndarray, preds: np.ndarray,
                     n_classes: int, seed: int, panel: Sequence[Predict] = (),
                     panel_norms: Mapping[int, Sequence[float]] | None = None,
                     budget: Budget = UNIVERSAL_BUDGET, sequential: bool = False) -> UniversalSearch:
    """images (N, h, w) 0–255 and the model's preds (N,) → one minimal universal perturbation
    per class, confirmed on held-out images for the anomalous classes. ``panel``: clean models
    ((M, h, w) float32 → (M,) classes) run on the same perturbed images; ``panel_norms``: the
    L2 norms (grey levels) clean models need per class, from the same search run on them.
    ``sequential``: each confirmation stops early once its first held-out images rule a
    finding out (``reportgen.bias.search.rules``)."""
    start = time.perf_counter()
    sample = draw_sample(images, preds, seed, budget)
    targets = np.arange(n_classes)
    predict = labeller(classifier)
    outcome = optimise(compile_step(classifier, targets, seed),
                       perturb_check(predict, sample, budget.n_check), sample.pool,
                       sample.pool_preds, targets, budget,
                       Penalty(n_classes, INITIAL_WEIGHT, SUCCESS_TARGET), seed)
    outcome = scale_down(perturb_check(predict, sample, budget.n_scale), outcome, targets,
                         SUCCESS_TARGET, budget.n_scale)
    deltas = outcome.params[:, 0]
    l2 = np.sqrt((deltas.astype(np.float64) ** 2).sum(axis=(1, 2)))
    anomaly = anomaly_indices(l2)
    ratios = _panel_ratios(l2, panel_norms)
    flagged = [_to_confirm(k, anomaly, outcome.reached, ratios) for k in range(n_classes)]
    ways = [route(anomaly[k], bool(outcome.reached[k]) and beats_panel(ratios[k]), len(panel),
                  SUCCESS_TARGET) for k in range(n_classes)]
    confirmations = _confirm_flagged(predict, sample, deltas, flagged, panel, seed,
                                     ways if sequential else None)
    classes = [ClassPerturbation(k, deltas[k], amplitude_spectrum(deltas[k]), float(l2[k]),
                                 float(np.abs(deltas[k]).max()), bool(outcome.reached[k]),
                                 float(outcome.success[k]), float(anomaly[k]), ratios[k],
                                 confirmations[k]) for k in range(n_classes)]
    confirmed = sum(c.confirmation.n_images for c in classes if c.confirmation is not None)
    norms = None if panel_norms is None else {int(k): tuple(map(float, v))
                                              for k, v in panel_norms.items()}
    return UniversalSearch(tuple(classes), len(sample.pool), len(sample.held), budget,
                           outcome.n_gradient, outcome.n_forward + 2 * confirmed,
                           time.perf_counter() - start, classifier.image_size, len(panel), norms)


def _confirm_flagged(predict: Predict, sample: Sample, deltas: np.ndarray, flagged: list[bool],
                     panel: Sequence[Predict], seed: int,
                     ways: Sequence[Route | None] | None = None) -> list[Confirmation | None]:
    """Each flagged class's δ (deltas (K, h, w)) on the held-out images, against the same δ
    with its pixels shuffled (seeded) and the panel; with ``ways`` (each class's route to a
    finding), sequentially."""
    rng = np.random.default_rng(seed + 1)
    before = originals(panel, sample.held) if any(flagged) else []
    confirmations: list[Confirmation | None] = []
    for k, delta in enumerate(deltas):
        if not flagged[k]:
            confirmations.append(None)
            continue
        shuffled = rng.permutation(delta.ravel()).reshape(delta.shape)
        confirmations.append(confirm(predict, sample.held, sample.held_preds, k,
                                     lambda x, d=delta: perturb(x, d),
                                     lambda x, d=shuffled: perturb(x, d), panel, seed, before,
                                     sequential=ways is not None,
                                     way=ways[k] if ways is not None else None))
    return confirmations


def amplitude_spectrum(delta: np.ndarray) -> np.ndarray:
    """(h, w) perturbation → (h, w) float32 amplitude of its 2-D Fourier transform, zero
    frequency at the centre, in grey levels per pixel (divided by h·w)."""
    return (np.abs(np.fft.fftshift(np.fft.fft2(delta))) / delta.size).astype(np.float32)


def _panel_ratios(l2: np.ndarray, panel_norms: Mapping[int, Sequence[float]] | None
                  ) -> list[float | None]:
    if panel_norms is None:
        return [None] * len(l2)
    return [float(l2[k] / min(panel_norms[k])) if panel_norms.get(k) else None
            for k in range(len(l2))]


def beats_panel(ratio: float | None) -> bool:
    """A class's norm over the smallest clean model's (``panel_ratio``) leaves it open to a
    finding: no clean models' norms given, or below ``PANEL_FRACTION`` of theirs."""
    return ratio is None or ratio < PANEL_FRACTION


def _to_confirm(k: int, anomaly: np.ndarray, reached: np.ndarray,
                ratios: Sequence[float | None]) -> bool:
    """Confirm the anomalous classes whose search succeeded, the classes clearly below every
    panel model's norm, and always the most anomalous."""
    below_panel = ratios[k] is not None and ratios[k] < PANEL_FRACTION
    return bool(((anomaly[k] > ANOMALY_THRESHOLD or below_panel) and reached[k])
                or k == int(np.argmax(anomaly)))
