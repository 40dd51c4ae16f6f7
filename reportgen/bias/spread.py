"""How far an effect sits above what clean models do: the rule of ``reportgen.bias.panel``.

Kept apart from the panel (which runs models) so that effects and triggers can apply the rule
without importing the panel, and the panel can import them.
"""

from __future__ import annotations

import numpy as np

Z_MIN = 3.0  # robust SDs above the clean models' median for an effect to be the model's own
MAD_FLOOR_PP = 2.0  # the spread is never taken as narrower than this (pp)
MAD_SCALE = 1.4826  # MAD → standard deviation for a normal distribution


def robust_z(values: np.ndarray, panel: np.ndarray) -> np.ndarray:
    """How far ``values`` (K,) sit above the panel's (R, K) median, in floored robust SDs."""
    median = np.median(panel, axis=0)
    mad = MAD_SCALE * np.median(np.abs(panel - median), axis=0)
    return (values - median) / np.maximum(mad, MAD_FLOOR_PP)
