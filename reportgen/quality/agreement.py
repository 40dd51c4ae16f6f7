"""Agreement between methods: how alike their rankings of the pixels are, case by case."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from reportgen.quality.ranks import importance
from reportgen.stats import spearman_rows


def agreement_matrix(maps: Mapping[str, np.ndarray]) -> np.ndarray:
    """method → (M, h, w) maps → (K, K) mean over cases of the Spearman correlation of |map|.

    Rows and columns follow ``maps``' order; the diagonal is 1.
    """
    methods = list(maps)
    scores = {m: importance(maps[m]) for m in methods}
    matrix = np.eye(len(methods))
    for i, first in enumerate(methods):
        for j in range(i + 1, len(methods)):
            rho = spearman_rows(scores[first], scores[methods[j]])
            matrix[i, j] = matrix[j, i] = float(rho.mean()) if len(rho) else float("nan")
    return matrix
