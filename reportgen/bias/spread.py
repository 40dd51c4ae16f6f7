"""How far an effect sits above what clean models do: the rule of ``reportgen.bias.panel``.

Kept apart from the panel (which runs models) so that effects and triggers can apply the rule
without importing the panel, and the panel can import them.
"""

from __future__ import annotations

import numpy as np

Z_MIN = 3.0  # robust SDs above the clean models' median for an effect to be the model's own
MAD_FLOOR_PP = 2.0  # the spread is never taken as narrower than this (pp)
MAD_SCALE = 1.4826  # MAD → standard deviation for a normal distribution
# The margin beyond the most sensitive clean model: the distance from the clean models' median
# to their maximum, at least MARGIN_FLOOR_PP. Judged leave-one-out, two of six clean models of
# other recipes exceeded the others' maximum by 15-19 pp (a black cheek patch toward 'happy';
# ×0.4 darkening toward 'sad'): the maximum of four recipes is not the edge of what clean
# models do, and how far it sits from their median says how wide that edge is.
MARGIN_FLOOR_PP = 5.0


def margin(panel: np.ndarray) -> np.ndarray:
    """(K,) pp beyond the panel's (R, K) maximum that an effect must clear to be the model's own."""
    return np.maximum(panel.max(axis=0) - np.median(panel, axis=0), MARGIN_FLOOR_PP)


def robust_z(values: np.ndarray, panel: np.ndarray) -> np.ndarray:
    """How far ``values`` (K,) sit above the panel's (R, K) median, in floored robust SDs."""
    median = np.median(panel, axis=0)
    mad = MAD_SCALE * np.median(np.abs(panel - median), axis=0)
    return (values - median) / np.maximum(mad, MAD_FLOOR_PP)
