"""Baseline comparison: what changed between a baseline's summary.json and the candidate's.

Works on ``summary.json`` dicts only (see CONTRACT.md), so it needs no model. Recalls, rates
and accuracies are fractions in 0–1; their deltas are reported in percentage points (pp).
Bias effects are already in pp in the summary.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.errors import InputError
from reportgen.numbers import round_all, round_finite

OVERALL_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "ece", "top2_accuracy")
CLASS_METRICS = ("precision", "recall", "f1")
# A summary without these cannot be compared or gated on; everything else is optional.
REQUIRED_KEYS = (
    ("data", "class_names"),
    ("metrics", "accuracy"),
    ("metrics", "per_class"),
    ("metrics", "confusion_matrix"),
)


@dataclass(frozen=True)
class Effect:
    """One bias effect: how far a probe or slice moves predictions toward ``class_name``.

    ``effect`` is in percentage points; ``ci_low``/``ci_high`` are its CI in pp, or None
    when the source (a probe's raw rates) carries no interval.
    """

    probe: str
    class_name: str
    effect: float
    ci_low: float | None = None
    ci_high: float | None = None
    finding_id: str | None = None

    def magnitude(self, use_ci: bool) -> float:
        """|effect| in pp; with ``use_ci``, the CI's distance from zero (0 if it spans 0)."""
        if not use_ci or self.ci_low is None or self.ci_high is None:
            return abs(self.effect)
        if self.ci_low <= 0.0 <= self.ci_high:
            return 0.0
        return min(abs(self.ci_low), abs(self.ci_high))


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


def lookup(summary: Mapping[str, Any], path: Sequence[str]) -> Any:
    """``summary[path[0]][path[1]]…``, or None where any key is missing."""
    node: Any = summary
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def validate_summary(summary: Any, source: str) -> dict[str, Any]:
    """Raise InputError naming ``source`` if ``summary`` lacks what comparison needs."""
    if not isinstance(summary, dict):
        raise InputError(f"{source}: not a summary.json object")
    for path in REQUIRED_KEYS:
        if lookup(summary, path) is None:
            raise InputError(f"{source}: missing key {'.'.join(path)}")
    names, metrics = summary["data"]["class_names"], summary["metrics"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{source}: data.class_names is not a list of names")
    for metric in OVERALL_METRICS:
        _require_number(metrics.get(metric), f"{source}: metrics.{metric}")
    if not isinstance(metrics["per_class"], dict):
        raise InputError(f"{source}: metrics.per_class is not an object")
    for name, stats in metrics["per_class"].items():
        if not isinstance(stats, dict):
            raise InputError(f"{source}: metrics.per_class.{name} is not an object")
        for key in (*CLASS_METRICS, "support"):
            _require_number(stats.get(key), f"{source}: metrics.per_class.{name}.{key}")
    try:
        matrix = np.asarray(metrics["confusion_matrix"], dtype=np.float64)
    except (TypeError, ValueError):
        matrix = np.full((0,), np.nan)
    square = matrix.shape == (len(names), len(names))
    # Whole counts below 2**53 survive the float round trip and fit int64 exactly.
    counts = np.isfinite(matrix).all() and ((matrix >= 0) & (matrix < 2**53)).all()
    if not (square and counts and (matrix == np.floor(matrix)).all()):
        raise InputError(
            f"{source}: metrics.confusion_matrix is not a {len(names)}x{len(names)} table of counts"
        )
    _validate_bias(summary, source)
    return summary


def _require_number(value: Any, where: str) -> None:
    """Finite numbers, NaN and null (NaN upstream) pass; anything else is an InputError."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isinf(value):
        raise InputError(f"{where} is not a number: {value!r:.40}")


def _validate_bias(summary: Mapping[str, Any], source: str) -> None:
    """The bias section is optional, but when present it must be readable by bias_effects."""
    try:
        bias_effects(summary)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        problem = f"{type(err).__name__}: {err}"
        raise InputError(f"{source}: malformed bias section ({problem})") from None


def load_baseline(path: Path) -> dict[str, Any]:
    """Read and validate a baseline ``summary.json``; every problem is an InputError."""
    try:
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: baseline summary not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read baseline summary ({err})") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deeply to be a summary") from None
    return validate_summary(summary, str(path))


def bias_effects(summary: Mapping[str, Any]) -> dict[tuple[str, str], Effect]:
    """Every (probe, class) effect in a summary, from probes and findings.

    A probe's ``rate_change_pp`` (effect and CI) is used when present, else the shift between
    its ``rates_before`` and ``rates_after``. A finding replaces its probe's entry when its
    |effect| is larger, and adds slices that are not probes. Nulls (NaN upstream) are skipped.
    """
    effects: dict[tuple[str, str], Effect] = {}
    for probe in lookup(summary, ("bias", "probes")) or []:
        for effect in _probe_effects(probe):
            effects[(effect.probe, effect.class_name)] = effect
    for finding in lookup(summary, ("bias", "findings")) or []:
        if _optional_float(finding["effect"]) is None:
            continue
        key = (str(finding["probe"]), str(finding["class"]))
        effect = Effect(
            key[0],
            key[1],
            float(finding["effect"]),
            _optional_float(finding.get("ci_low")),
            _optional_float(finding.get("ci_high")),
            str(finding.get("id", "")) or None,
        )
        known = effects.get(key)
        if known is None or abs(effect.effect) >= abs(known.effect):
            effects[key] = effect
    return effects


def _probe_effects(probe: Mapping[str, Any]) -> list[Effect]:
    name = str(probe["name"])
    changes = probe.get("rate_change_pp")
    if isinstance(changes, Mapping):
        return [
            Effect(name, str(cls), float(c["effect"]), _optional_float(c.get("ci_low")),
                   _optional_float(c.get("ci_high")))
            for cls, c in changes.items()
            if _optional_float(c.get("effect")) is not None
        ]
    before, after = probe.get("rates_before") or {}, probe.get("rates_after") or {}
    shifts = {
        cls: (_optional_float(after[cls]), _optional_float(before[cls]))
        for cls in sorted(set(before) & set(after), key=list(before).index)
    }
    return [
        Effect(name, str(cls), 100.0 * (new - old))
        for cls, (new, old) in shifts.items()
        if new is not None and old is not None
    ]


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
    old, new = _optional_float(baseline), _optional_float(candidate)
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


def _optional_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return None if math.isnan(number) else number
