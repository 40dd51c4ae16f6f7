"""The one rounding rule for ``summary.json``: every float is rounded to ``DIGITS`` decimals.

Six decimals keep a pp effect to 1e-6 pp and a probability to 1e-6, well below anything the
report states, while float noise (0.0114280000001) never makes two reruns differ. NaN and inf
become ``None`` (JSON ``null``), so the file is always valid JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

DIGITS = 6


def round_finite(value: Any) -> float | None:
    """``value`` rounded to ``DIGITS`` decimals, or None when it is missing, NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return round(value, DIGITS) if math.isfinite(value) else None


def round_all(values: Iterable[Any]) -> list[Any]:
    """``round_finite`` over a sequence or a nested one (an interval, a matrix), as lists."""
    return [round_all(v) if np.ndim(v) else round_finite(v) for v in values]
