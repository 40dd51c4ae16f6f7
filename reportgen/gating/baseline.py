"""Read a baseline ``summary.json`` and check it holds what comparison and the gate need."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.errors import InputError
from reportgen.gating.effects import bias_effects
from reportgen.gating.limits import lookup
from reportgen.loading.limits import MB, require_regular_file

OVERALL_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "ece", "top2_accuracy")
CLASS_METRICS = ("precision", "recall", "f1")
# A summary without these cannot be compared or gated on; everything else is optional.
REQUIRED_KEYS = (
    ("data", "class_names"),
    ("metrics", "accuracy"),
    ("metrics", "per_class"),
    ("metrics", "confusion_matrix"),
    ("schema_version",),
    ("model",),
)
SCHEMA_VERSION = 1  # the summary.json layout this version reads (report.summary writes it)
MAX_BASELINE_MB = 64  # a summary.json is kilobytes; anything this big is not one


def validate_summary(summary: Any, source: str) -> dict[str, Any]:
    """Raise InputError naming ``source`` if ``summary`` lacks what comparison needs."""
    if not isinstance(summary, dict):
        raise InputError(f"{source}: not a summary.json object")
    for path in REQUIRED_KEYS:
        if lookup(summary, path) is None:
            raise InputError(f"{source}: missing key {'.'.join(path)}")
    version = summary["schema_version"]
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise InputError(f"{source}: schema_version {version!r:.20} is not {SCHEMA_VERSION}; this "
                         f"reportgen reads summaries of schema version {SCHEMA_VERSION} only")
    if not isinstance(summary["model"], dict):
        raise InputError(f"{source}: model is not an object")
    names, metrics = summary["data"]["class_names"], summary["metrics"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{source}: data.class_names is not a list of names")
    for metric in OVERALL_METRICS:
        _require_fraction(metrics.get(metric), f"{source}: metrics.{metric}")
    if not isinstance(metrics["per_class"], dict):
        raise InputError(f"{source}: metrics.per_class is not an object")
    for name, stats in metrics["per_class"].items():
        if not isinstance(stats, dict):
            raise InputError(f"{source}: metrics.per_class.{name} is not an object")
        for key in CLASS_METRICS:
            _require_fraction(stats.get(key), f"{source}: metrics.per_class.{name}.{key}")
        support = stats.get("support")
        _require_number(support, f"{source}: metrics.per_class.{name}.support")
        if support is not None and not (support >= 0 and support == math.floor(support)):
            raise InputError(f"{source}: metrics.per_class.{name}.support is not a count: {support!r:.40}")
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


def _require_fraction(value: Any, where: str) -> None:
    """A number (or NaN/null) between 0 and 1, as every rate and score in a summary is."""
    _require_number(value, where)
    if value is not None and not math.isnan(value) and not 0.0 <= value <= 1.0:
        raise InputError(f"{where} is {value!r:.40}, outside 0–1")


def check_class_names(baseline: Mapping[str, Any], class_names: Sequence[str], source: str) -> None:
    """The baseline must name the same classes, in the same order, as this run."""
    names = list(baseline["data"]["class_names"])
    if names != list(class_names):
        raise InputError(f"{source}: baseline class names {', '.join(names)[:120]} differ from this "
                         f"run's {', '.join(class_names)[:120]} (--class-names); compare like with like")


def _validate_bias(summary: Mapping[str, Any], source: str) -> None:
    """The bias section is optional, but when present it must be readable by bias_effects."""
    try:
        bias_effects(summary)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        problem = f"{type(err).__name__}: {err}"
        raise InputError(f"{source}: malformed bias section ({problem})") from None


def load_baseline(path: Path) -> dict[str, Any]:
    """Read and validate a baseline ``summary.json``; every problem is an InputError."""
    info = require_regular_file(Path(path), "baseline summary")
    if info.st_size > MAX_BASELINE_MB * MB:
        raise InputError(f"{path}: {info.st_size / MB:,.0f} MiB is too big for a baseline summary.json "
                         f"(limit {MAX_BASELINE_MB} MiB)")
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
