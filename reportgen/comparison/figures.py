"""Pictures for the comparison report: thumbnails of disagreements and each model's saliency
over the same image, as data URIs. Each model's maps share one colour scale of their own
(gradient magnitudes of different models are not on one scale)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from reportgen.comparison.disagreement import Disagreement
from reportgen.comparison.explain import SideBySideMaps
from reportgen.report.figures.attributions import colour_limit
from reportgen.report.figures.cases import overlay
from reportgen.report.figures.common import image_to_data_uri

THUMBNAIL_PX = 96


def gallery_items(disagreement: Disagreement, images: np.ndarray, class_names: Sequence[str],
                  model_names: Sequence[str]) -> list[dict[str, Any]]:
    """One item per gallery case: the image, its id, the true class, each model's answer."""
    return [{"uri": image_to_data_uri(images[c.index], THUMBNAIL_PX, "JPEG"), "source": c.source,
             "true": class_names[c.true], "spread": c.spread,
             "answers": [{"model": m, "pred": class_names[p], "p_pred": pp, "p_true": pt,
                          "correct": p == c.true}
                         for m, p, pp, pt in zip(model_names, c.preds, c.p_pred, c.p_true)]}
            for c in disagreement.cases]


def explanation_rows(maps: SideBySideMaps, images: np.ndarray, labels: np.ndarray,
                     sources: Sequence[str], class_names: Sequence[str],
                     display: str) -> list[dict[str, Any]]:
    """One row per case: the image, then each model's map of its own answer over it.

    maps.maps: (M, C, h, w); images: the data set's (N, h, w) uint8; sources: the cases' ids.
    """
    limits = [colour_limit(model_maps) for model_maps in maps.maps]
    rows = []
    for c, index in enumerate(maps.indices):
        image = np.asarray(images[index])
        views = [{"uri": image_to_data_uri(overlay(image, maps.maps[m, c], display, limits[m]),
                                           THUMBNAIL_PX),
                  "target": class_names[int(maps.targets[m, c])],
                  "correct": int(maps.targets[m, c]) == int(labels[index])}
                 for m in range(len(maps.maps))]
        rows.append({"uri": image_to_data_uri(image, THUMBNAIL_PX), "source": sources[c],
                     "kind": maps.kinds[c], "true": class_names[int(labels[index])], "views": views})
    return rows
