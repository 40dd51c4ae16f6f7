"""Baseline comparison: what changed between a baseline's summary.json and the candidate's.

Works on ``summary.json`` dicts only (see docs/CONTRACT.md), so it needs no model. Recalls, rates
and accuracies are fractions in 0–1; their deltas are reported in percentage points (pp).
Bias effects are already in pp in the summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reportgen.errors import InputError
from reportgen.gating.baseline import CLASS_METRICS, OVERALL_METRICS
from reportgen.gating.effects import bias_effects, optional_float
from reportgen.gating.limits import lookup
from reportgen.numbers import round_all, round_finite


@dataclass(frozen=True)
class MetricDelta:
    """A metric in the baseline and the candidate; ``delta`` = candidate − baseline (pp)."""

    name: str
    baseline: float | None
    candidate: float | None
    delta: float | None


@dataclass(frozen=True)
class ClassDelta:
    """Per-class precision, recall and F1 deltas, with both supports."""

    name: str
    support_baseline: int
    support_candidate: int
    precision: MetricDelta
    recall: MetricDelta
    f1: MetricDelta


@dataclass(frozen=True)
class BiasDelta:
    """A bias effect in both runs (pp); ``growth`` = |candidate| − |baseline| in pp."""

    probe: str
    class_name: str
    baseline: float
    candidate: float
    growth: float
    new: bool  # not seen in the baseline at all


@dataclass(frozen=True)
class Comparison:
    """Baseline vs candidate. Confusion arrays are (K, K), rows true, columns predicted.

    ``confusion_delta`` is in pp of each true class's row (row-normalised rates), so the two
    runs stay comparable when their splits differ in size.
    """

    class_names: list[str]
    baseline_model: dict[str, Any]
    candidate_model: dict[str, Any]
    overall: list[MetricDelta]
    per_class: list[ClassDelta]
    confusion_baseline: np.ndarray
    confusion_candidate: np.ndarray
    confusion_delta: np.ndarray
    bias: list[BiasDelta]
    notes: list[str] = field(default_factory=list)

    def to_summary(self) -> dict[str, Any]:
        """A JSON-ready dict (for ``summary.json`` under ``comparison``)."""
        return {
            "class_names": list(self.class_names),
            "baseline_model": dict(self.baseline_model),
            "candidate_model": dict(self.candidate_model),
            "overall": [vars(m) for m in self.overall],
            "per_class": [
                {**vars(c), **{m: vars(getattr(c, m)) for m in CLASS_METRICS}}
                for c in self.per_class
            ],
            "confusion_delta_pp": [round_all(row) for row in self.confusion_delta],
            "bias": [vars(b) for b in self.bias],
            "notes": list(self.notes),
        }


def compare(baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> Comparison:
    """Compare two validated summaries with the same class names (else InputError)."""
    names = list(candidate["data"]["class_names"])
    if list(baseline["data"]["class_names"]) != names:
        raise InputError(
            f"baseline summary: class names {baseline['data']['class_names']} differ from "
            f"the candidate's {names}"
        )
    confusion_b = _counts(baseline["metrics"]["confusion_matrix"])
    confusion_c = _counts(candidate["metrics"]["confusion_matrix"])
    return Comparison(
        class_names=names,
        baseline_model=_model_identity(baseline),
        candidate_model=_model_identity(candidate),
        overall=[
            _metric_delta(m, lookup(baseline, ("metrics", m)), lookup(candidate, ("metrics", m)))
            for m in OVERALL_METRICS
        ],
        per_class=[_class_delta(name, baseline, candidate) for name in names],
        confusion_baseline=confusion_b,
        confusion_candidate=confusion_c,
        confusion_delta=100.0 * (_row_rates(confusion_c) - _row_rates(confusion_b)),
        bias=bias_deltas(baseline, candidate),
        notes=_notes(baseline, candidate),
    )


def bias_deltas(baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[BiasDelta]:
    """Point-estimate bias deltas for every (probe, class), largest growth first."""
    before, after = bias_effects(baseline), bias_effects(candidate)
    deltas = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        old_pp = old.effect if old else 0.0
        new_pp = new.effect if new else 0.0
        deltas.append(
            BiasDelta(key[0], key[1], old_pp, new_pp, round_finite(abs(new_pp) - abs(old_pp)),
                      old is None)
        )
    return sorted(deltas, key=lambda d: -d.growth)


def _class_delta(
    name: str, baseline: Mapping[str, Any], candidate: Mapping[str, Any]
) -> ClassDelta:
    old = lookup(baseline, ("metrics", "per_class", name)) or {}
    new = lookup(candidate, ("metrics", "per_class", name)) or {}
    return ClassDelta(
        name=name,
        support_baseline=int(old.get("support") or 0),
        support_candidate=int(new.get("support") or 0),
        precision=_metric_delta("precision", old.get("precision"), new.get("precision")),
        recall=_metric_delta("recall", old.get("recall"), new.get("recall")),
        f1=_metric_delta("f1", old.get("f1"), new.get("f1")),
    )


def _metric_delta(name: str, baseline: Any, candidate: Any) -> MetricDelta:
    old, new = optional_float(baseline), optional_float(candidate)
    delta = None if old is None or new is None else round_finite(100.0 * (new - old))
    return MetricDelta(name, old, new, delta)


def _counts(matrix: Any) -> np.ndarray:
    # Via float64: validation allows 3.0 as well as 3 in a JSON confusion matrix.
    return np.asarray(matrix, dtype=np.float64).astype(np.int64)


def _row_rates(matrix: np.ndarray) -> np.ndarray:
    """(K, K) counts → rows as fractions of each true class (rows with no images stay 0)."""
    totals = matrix.sum(axis=1, keepdims=True).astype(np.float64)
    return np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)


def _model_identity(summary: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("path", "sha256")
    model = {k: lookup(summary, ("model", k)) for k in keys}
    data = {f"data_{k}": lookup(summary, ("data", k)) for k in ("path", "split", "n_images")}
    return {**model, **data}


def _notes(baseline: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[str]:
    """Caveats a reader needs before trusting the deltas."""
    notes = []
    if lookup(baseline, ("data", "class_counts")) != lookup(candidate, ("data", "class_counts")):
        notes.append(
            "The two runs were evaluated on different images (class counts differ): "
            "deltas mix model and data changes."
        )
    if lookup(baseline, ("model", "sha256")) == lookup(candidate, ("model", "sha256")):
        notes.append("Baseline and candidate are the same model file (identical SHA-256).")
    if lookup(baseline, ("bias",)) is None:
        notes.append("The baseline summary has no bias analysis; its effects count as 0 pp.")
    return notes
