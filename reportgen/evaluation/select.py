"""Choose the cases worth looking at, by rules the report states exactly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.evaluation.evaluate import Evaluation


@dataclass(frozen=True)
class SelectionRules:
    """Borderline: top-2 probability gap < ``borderline_gap``. Confident: top probability ≥ ``confident_p``."""

    borderline_gap: float = 0.10
    confident_p: float = 0.80
    per_group: int = 3
    seed: int = 0


@dataclass(frozen=True)
class Case:
    """One selected image. ``index`` points into the evaluated split."""

    group: str
    index: int
    source: str
    true: int
    pred: int
    p_pred: float
    gap: float  # top-1 minus top-2 probability


@dataclass(frozen=True)
class Selection:
    rules: SelectionRules
    cases: list[Case]
    group_sizes: dict[str, int]  # how many images were eligible for each group

    def by_group(self) -> dict[str, list[Case]]:
        groups: dict[str, list[Case]] = {}
        for case in self.cases:
            groups.setdefault(case.group, []).append(case)
        return groups


def top2_gap(probs: np.ndarray) -> np.ndarray:
    """(N, K) probabilities → (N,) top-1 minus top-2 probability."""
    ordered = np.sort(probs, axis=1)
    return ordered[:, -1] - ordered[:, -2]


def group_masks(evaluation: Evaluation, rules: SelectionRules, class_names: list[str]) -> dict[str, np.ndarray]:
    """Every group's eligibility mask over the split, in report order."""
    probs, preds, labels = evaluation.probs, evaluation.preds, evaluation.labels
    correct = preds == labels
    borderline = top2_gap(probs) < rules.borderline_gap
    confident = probs.max(axis=1) >= rules.confident_p
    masks = {
        "borderline-correct": borderline & correct,
        "borderline-wrong": borderline & ~correct,
        "confident-correct": confident & correct,
        "confident-wrong": confident & ~correct,
    }
    for k, name in enumerate(class_names):
        masks[f"correct-{name}"] = correct & (labels == k)
        other = evaluation.foremost_confusion(k)
        if other is not None:
            masks[f"confused-{name}-as-{class_names[other]}"] = (labels == k) & (preds == other)
    sink = evaluation.sink_class
    masks[f"wrong-as-{class_names[sink]}"] = ~correct & (preds == sink)
    return masks


def select_cases(
    evaluation: Evaluation, sources: list[str], class_names: list[str], rules: SelectionRules
) -> Selection:
    """Draw up to ``rules.per_group`` images per group, uniformly at random under ``rules.seed``."""
    rng = np.random.default_rng(rules.seed)
    probs = evaluation.probs
    gaps = top2_gap(probs)
    cases: list[Case] = []
    sizes: dict[str, int] = {}
    for group, mask in group_masks(evaluation, rules, class_names).items():
        eligible = np.flatnonzero(mask)
        sizes[group] = len(eligible)
        chosen = np.sort(rng.choice(eligible, size=min(rules.per_group, len(eligible)), replace=False))
        for i in chosen:
            pred = int(evaluation.preds[i])
            cases.append(
                Case(group, int(i), sources[i], int(evaluation.labels[i]), pred,
                     float(probs[i, pred]), float(gaps[i]))
            )
    return Selection(rules, cases, sizes)
