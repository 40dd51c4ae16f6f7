"""Images for the case explorer: each selected case, and each of its attribution maps drawn
over it, as one small picture per view (rather than one mosaic per seven cases), so that the
page can filter, hide and enlarge them one by one.

Overlays are composited here exactly as the mosaics draw them (grey image, the method's
colour map with its transparency on top, one colour scale per method over all cases, clipped
at the 99th percentile), at the image's own resolution: the page scales them up without
smoothing, as the mosaics' nearest-neighbour panels did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import Colormap, Normalize

from reportgen.attributions.result import AttributionResult
from reportgen.report.figures.attributions import (
    HEAT,
    SIGNED,
    boundary_overlay,
    colour_limit,
    overlay_columns,
    supporting_view,
)
from reportgen.report.figures.common import image_to_data_uri

LEGEND_STOPS = 9  # colour stops of a legend's CSS gradient
LEGEND_GREY = 128.0  # the legend shows each colour over mid grey, as the overlays lie on faces


@dataclass(frozen=True)
class ViewColumn:
    """One overlay column of the explorer: a method and how it is viewed."""

    key: str  # "lime", "lime-support", ...: unique per column, used as a CSS hook
    method: str
    title: str
    legend: str | None  # CSS linear-gradient of the colour scale; None for the LIME support view
    low: float
    high: float


def blend(image: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    """(h, w) grey 0–255 under (h, w, 4) RGBA 0–1 → (h, w, 3) uint8, alpha compositing."""
    grey = np.repeat(np.asarray(image, np.float64)[..., None] / 255.0, 3, axis=2)
    alpha = rgba[..., 3:4]
    return np.round(255.0 * (rgba[..., :3] * alpha + grey * (1.0 - alpha))).astype(np.uint8)


def _scale(display: str, limit: float) -> tuple[Colormap, Normalize]:
    if display == "signed":
        return SIGNED, Normalize(-limit, limit)
    return HEAT, Normalize(0.0, limit)


def overlay(image: np.ndarray, amap: np.ndarray, display: str, limit: float,
            segments: np.ndarray | None = None) -> np.ndarray:
    """(h, w) image 0–255 with (h, w) ``amap`` over it → (h, w, 3) uint8; LIME's superpixel
    outlines on top when ``segments`` is given."""
    cmap, norm = _scale(display, limit)
    shown = amap if display == "signed" else np.abs(amap)
    picture = blend(image, cmap(norm(shown)))
    return _outline(picture, segments) if segments is not None else picture


def _outline(picture: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Composite LIME's translucent yellow boundaries over an RGB picture."""
    rgba = boundary_overlay(segments)
    alpha = rgba[..., 3:4]
    mixed = 255.0 * rgba[..., :3] * alpha + picture.astype(np.float64) * (1.0 - alpha)
    return np.round(mixed).astype(np.uint8)


def legend_gradient(display: str) -> str:
    """CSS ``linear-gradient`` of a method's colour scale over mid grey, low to high."""
    cmap, _ = _scale(display, 1.0)
    stops = []
    for t in np.linspace(0.0, 1.0, LEGEND_STOPS):
        rgba = np.asarray(cmap(t))
        rgb = 255.0 * rgba[:3] * rgba[3] + LEGEND_GREY * (1.0 - rgba[3])
        stops.append("rgb({},{},{})".format(*np.round(rgb).astype(int)))
    return f"linear-gradient(to right, {', '.join(stops)})"


def view_columns(result: AttributionResult) -> list[ViewColumn]:
    """The overlay columns in report order, each with its colour scale."""
    out = []
    for method, view in overlay_columns(result):
        display = result.displays[method]
        limit = colour_limit(result.case_maps[method])
        if view == "support":
            out.append(ViewColumn(f"{method}-support", method,
                                  f"{result.titles[method]}: top supporting", None, 0.0, 0.0))
            continue
        low = -limit if display == "signed" else 0.0
        out.append(ViewColumn(method, method, result.titles[method], legend_gradient(display),
                              low, limit))
    return out


def case_views(result: AttributionResult, row: int, cols: list[ViewColumn]) -> dict[str, str]:
    """Data URIs of case ``row``'s overlays, keyed by ``ViewColumn.key``."""
    image = result.case_images[row].astype(np.float64)
    views = {}
    for col in cols:
        amap = result.case_maps[col.method][row]
        segments = result.segments[col.method][row] if col.method in result.segments else None
        if col.legend is None and segments is not None:
            picture = supporting_view(image, segments, amap).astype(np.uint8)
        else:
            superpixels = result.figures[col.method] == "superpixels"
            outline = segments if superpixels else None
            picture = overlay(image, amap, result.displays[col.method], col.high, outline)
        views[col.key] = image_to_data_uri(picture, format="WEBP")
    return views
