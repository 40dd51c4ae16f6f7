"""What a searched edit must show on held-out images to be stated, and the early test that it
surely cannot (sequential confirmation).

A class's confirmation can become a finding by one of two routes (``reportgen.bias.search.
findings`` grades them):

- **anomalous**: its edit is anomalously small among the classes; it must carry over to
  held-out faces (``CARRY_OVER``), and its effect, and its part beyond the random control and
  beyond each clean model, must each reach ``MIN_EFFECT_PP``;
- **untransferred**: not anomalous, but no smaller than the median class's, with two or more
  clean models; it must carry over, its effect must reach ``NO_TRANSFER_MIN_PP``, and no clean
  model may move ``NO_TRANSFER`` of what it moves this model.

In the default (sequential) mode a confirmation first looks at ``LOOKS`` seeded held-out images
and stops as soon as a confidence sequence (``reportgen.stats.confidence_bounds``, valid at
every look at once) shows that some requirement of its route surely fails. Stopping can only
withhold a finding, with probability at most ``ALPHA`` per class; a class that is not stopped
is confirmed on every held-out image, with exactly the numbers of the exhaustive mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.bias.findings import MIN_EFFECT_PP
from reportgen.bias.search.optimise import ANOMALY_THRESHOLD
from reportgen.stats import confidence_bounds

# A searched edit must carry over to held-out faces: send there at least this share of the
# success it was searched for. An adversarial edit fitted to a few hundred images falls off
# (a clean panel model's 7-pixel 'angry' patch: 46% in the search, 17% held out); a shortcut
# the model learned does not (the planted corner mark: 44% and 34%).
CARRY_OVER = 0.5
# A searched edit that moves this model strongly but no clean model at all: an adversarial edit
# exploits features that FER2013 models share and moves some clean model too (the clean sample
# model's searched 'angry' patch: +30 pp there, up to +13 pp on the panel); a learned shortcut
# does not (a planted checkerboard: +36 pp, every clean model within ±1 pp). Stated at warning
# even when the class's mask is not anomalously small (weak models make every class easy).
# Measured on the planted models: the planted class's trigger moves the most moved clean model
# 0.02-0.10 of what it moves the model; every other confirmed class, 0.28-0.66.
NO_TRANSFER = 0.15  # the most moved clean model's rise, as a share of this model's
NO_TRANSFER_MIN_PP = 10.0  # the effect's CI lower bound needed for that rule
# ... and the class's mask must be no larger than the median class's (anomaly index ≥ 0): clean
# models almost never predict a rare class ('disgust'), so nothing moves them there, and a
# large mask toward it looked "untransferred" on a planted model

LOOKS = (128, 256)  # held-out images at each early look, before all of them
ALPHA = 0.01  # chance per class, over its tests and looks, of withholding a finding wrongly


@dataclass(frozen=True)
class Route:
    """How one class's confirmation could be stated (see the module's docstring)."""

    anomalous: bool  # else: the untransferred route
    target: float  # the search's success target (0–1)


def route(anomaly: float, reached: bool, n_panel: int, target: float) -> Route | None:
    """The route by which a class's confirmed edit could be stated, or None when none can."""
    if not reached:
        return None
    if anomaly > ANOMALY_THRESHOLD:
        return Route(True, target)
    if anomaly >= 0.0 and n_panel >= 2:
        return Route(False, target)
    return None


def gains(after: np.ndarray, before: np.ndarray, k: int) -> np.ndarray:
    """Per image, the rise in 'predicted k' in pp (-100, 0 or 100)."""
    return 100.0 * ((after == k).astype(np.float64) - (before == k))


def ruled_out(way: Route | None, k: int, before: np.ndarray, after: np.ndarray,
              after_control: np.ndarray, panel_before: Sequence[np.ndarray],
              panel_after: Sequence[np.ndarray], alpha: float = ALPHA) -> bool:
    """True when the held-out images so far (classes (t,) of this model before and after the
    edit and under the control; each clean model's before and after) surely rule out stating
    the class k by ``way``: some requirement's anytime-valid bound fails it."""
    if way is None:
        return True
    gain = gains(after, before, k)
    panel = [gains(a, b, k) for a, b in zip(panel_after, panel_before)]
    outside = before != k
    # (per-image values, their range, and the requirement: mean at least / at most)
    tests: list[tuple[np.ndarray, tuple[float, float], float, float]] = [
        ((after[outside] == k).astype(np.float64), (0.0, 1.0), CARRY_OVER * way.target, np.inf)]
    if way.anomalous:
        tests.append((gain, (-100.0, 100.0), MIN_EFFECT_PP, np.inf))
        tests += [(gain - other, (-200.0, 200.0), MIN_EFFECT_PP, np.inf)
                  for other in [gains(after_control, before, k), *panel]]
    else:
        reach = 100.0 * (1 + NO_TRANSFER)
        tests.append((gain, (-100.0, 100.0), NO_TRANSFER_MIN_PP, np.inf))
        tests += [(other - NO_TRANSFER * gain, (-reach, reach), -np.inf, 0.0) for other in panel]
    each = alpha / len(tests)
    for values, span, least, most in tests:
        low, high = _bounds(values, span, each)
        if high < least or low > most:
            return True
    return False


def _bounds(values: np.ndarray, span: tuple[float, float], alpha: float) -> tuple[float, float]:
    """Anytime-valid bounds on the mean of values (t,) that lie within span (low, high)."""
    bottom, top = span
    if len(values) == 0:
        return bottom, top
    low, high = confidence_bounds(((np.asarray(values, np.float64) - bottom) / (top - bottom))
                                  [:, None], alpha)
    return bottom + float(low[0]) * (top - bottom), bottom + float(high[0]) * (top - bottom)
