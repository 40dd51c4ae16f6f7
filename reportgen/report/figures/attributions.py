"""Attribution figures: per-class hypothesis grids and per-class mean maps (each case's own
overlays are drawn for the case explorer by ``figures.cases``, with the helpers here).

Every map is drawn over its grey image. Signed maps use one diverging scale (green raises
the explained class, red lowers it, transparent is no effect); magnitudes and Grad-CAM use a
transparent-to-red heat scale. Each method has one colour scale per figure, clipped at the
99th percentile of |value| so one extreme pixel does not wash out the rest, with a colour bar.

Panels are laid out on one Axes in data units (a ``Mosaic``) instead of one Axes per panel:
a 6x7 grid of Axes with constrained layout takes seconds to draw, this takes a fraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from skimage.segmentation import find_boundaries

from reportgen.attributions.result import AttributionResult
from reportgen.report.figures.common import new_figure, to_data_uri

SIGNED = LinearSegmentedColormap.from_list(
    "attribution_signed", [(0.85, 0.1, 0.1, 0.9), (1.0, 1.0, 1.0, 0.0), (0.05, 0.65, 0.15, 0.9)]
)
HEAT = LinearSegmentedColormap.from_list(
    "attribution_heat", [(1.0, 1.0, 0.2, 0.0), (1.0, 0.75, 0.0, 0.6), (0.85, 0.05, 0.0, 0.9)]
)
BOUNDARY = (1.0, 0.9, 0.0, 0.22)  # lime's mark_boundaries yellow, mostly transparent
LIME_TOP = 5  # superpixels kept in the "supporting regions" view, as lime's default
PANEL_INCHES = 0.95
GAP = 0.08  # space between panels, in panel widths
FONT = 7.0


@dataclass
class Mosaic:
    """A grid of square image panels on one Axes; panel (r, c) spans one data unit.

    Margins (in panel units) leave room for row labels (``left``), column titles (``top``),
    colour bars under the columns (``bottom``) or beside the rows (``right``).
    """

    figure: Figure
    ax: Axes
    n_rows: int
    n_cols: int
    left: float
    bottom: float
    right: float
    top: float

    @classmethod
    def create(cls, n_rows: int, n_cols: int, left: float = 0.35, bottom: float = 0.05,
               right: float = 0.05, top: float = 0.4) -> Mosaic:
        width = left + n_cols * (1 + GAP) + right
        height = bottom + n_rows * (1 + GAP) + top
        figure = new_figure(width * PANEL_INCHES, height * PANEL_INCHES)
        figure.set_layout_engine("none")
        ax = figure.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(-left, width - left)
        ax.set_ylim(-bottom, height - bottom)
        ax.set_axis_off()
        return cls(figure, ax, n_rows, n_cols, left, bottom, right, top)

    def extent(self, row: int, col: int) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of panel (row, col); row 0 is at the top."""
        x0 = col * (1 + GAP)
        y0 = (self.n_rows - 1 - row) * (1 + GAP)
        return x0, x0 + 1, y0, y0 + 1

    def image(self, row: int, col: int, pixels: np.ndarray, **kwargs: object) -> ScalarMappable:
        """Draw (h, w) or (h, w, 4) ``pixels`` into panel (row, col)."""
        return self.ax.imshow(pixels, extent=self.extent(row, col), interpolation="nearest",
                              **kwargs)  # type: ignore[arg-type]

    def column_title(self, col: int, text: str) -> None:
        x0, x1, _, y1 = self.extent(0, col)
        self.ax.text((x0 + x1) / 2, y1 + 0.04, text, ha="center", va="bottom", fontsize=FONT)

    def row_label(self, row: int, text: str) -> None:
        x0, _, y0, y1 = self.extent(row, 0)
        self.ax.text(x0 - 0.05, (y0 + y1) / 2, text, ha="right", va="center", rotation=90,
                     fontsize=FONT, multialignment="center")

    def column_bar(self, col: int, mappable: ScalarMappable) -> None:
        """Horizontal colour bar under column ``col``."""
        x0, x1, _, _ = self.extent(self.n_rows - 1, col)
        cax = self.ax.inset_axes((x0 + 0.05, -self.bottom + 0.3, x1 - x0 - 0.1, 0.07),
                                 transform=self.ax.transData)
        _colour_bar(self.figure, mappable, cax, "horizontal")

    def row_bar(self, row: int, mappable: ScalarMappable) -> None:
        """Vertical colour bar right of row ``row``."""
        _, x1, y0, y1 = self.extent(row, self.n_cols - 1)
        cax = self.ax.inset_axes((x1 + 0.08, y0 + 0.1, 0.07, y1 - y0 - 0.2),
                                 transform=self.ax.transData)
        _colour_bar(self.figure, mappable, cax, "vertical")


def _colour_bar(figure: Figure, mappable: ScalarMappable, cax: Axes, orientation: str) -> None:
    bar = figure.colorbar(mappable, cax=cax, orientation=orientation,
                          format=FuncFormatter(lambda value, _: f"{value:.2g}"))
    bar.locator = MaxNLocator(3, symmetric=mappable.norm.vmin < 0)
    bar.update_ticks()
    bar.ax.tick_params(labelsize=7, length=2, pad=1)


def colour_limit(maps: np.ndarray) -> float:
    """Upper end of a shared scale: the 99th percentile of |maps| (> 0)."""
    values = np.abs(np.asarray(maps, np.float64)).ravel()
    if values.size == 0:
        return 1.0
    limit = float(np.percentile(values, 99))
    return limit if limit > 0 else float(values.max()) or 1.0


def draw_map(mosaic: Mosaic, row: int, col: int, image: np.ndarray, amap: np.ndarray,
             display: str, limit: float) -> ScalarMappable:
    """Grey ``image`` (h, w) 0–255 with ``amap`` (h, w) over it; returns the overlay."""
    mosaic.image(row, col, image, cmap="gray", vmin=0, vmax=255)
    if display == "signed":
        shown, cmap, norm = amap, SIGNED, Normalize(-limit, limit)
    else:
        shown, cmap, norm = np.abs(amap), HEAT, Normalize(0.0, limit)
    return mosaic.image(row, col, shown, cmap=cmap, norm=norm)


def boundary_overlay(segments: np.ndarray) -> np.ndarray:
    """(h, w) superpixel labels → (h, w, 4) RGBA outline in translucent yellow."""
    overlay = np.zeros((*segments.shape, 4))
    overlay[find_boundaries(segments, mode="inner")] = BOUNDARY
    return overlay


def supporting_view(image: np.ndarray, segments: np.ndarray, amap: np.ndarray,
                    top: int = LIME_TOP) -> np.ndarray:
    """(h, w) image with only the ``top`` superpixels of positive weight kept; the rest is
    washed out to light grey."""
    counts = np.bincount(segments.ravel())
    weights = np.bincount(segments.ravel(), weights=amap.ravel()) / np.maximum(counts, 1)
    ranked = [label for label in np.argsort(-weights)[:top] if weights[label] > 0]
    keep = np.isin(segments, ranked)
    return np.where(keep, image, 0.25 * image + 0.75 * 215.0)


def overlay_columns(result: AttributionResult) -> list[tuple[str, str]]:
    """(method, view) per overlay column; a superpixel method also gets a supporting view."""
    columns: list[tuple[str, str]] = []
    for method in result.methods:
        columns.append((method, "map"))
        if result.figures[method] == "superpixels" and method in result.segments:
            columns.append((method, "support"))
    return columns


def short_source(source: str) -> str:
    """A case's identifier for a figure label: the CSV row as it is, a file without its folders."""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def grid_figure(result: AttributionResult, case: int, class_names: list[str]) -> Figure:
    """Grid case ``case``: one row per method, one column per class (the hypotheses)."""
    n_classes = len(class_names)
    mosaic = Mosaic.create(len(result.methods), n_classes + 1, left=0.45, right=0.6)
    image = result.grid_images[case].astype(np.float32)
    true, pred = int(result.grid_labels[case]), int(result.grid_preds[case])
    mosaic.column_title(0, f"{short_source(result.grid_sources[case])}\n"
                           f"{class_names[true]} → {class_names[pred]}")
    for k in range(n_classes):
        mosaic.column_title(k + 1, f"{class_names[k]}\np={float(result.grid_probs[case, k]):.2f}")
    for r, method in enumerate(result.methods):
        maps = result.grid_maps[method][case]
        limit = colour_limit(maps)
        mosaic.image(r, 0, image, cmap="gray", vmin=0, vmax=255)
        mosaic.row_label(r, result.titles[method].replace(" (", "\n("))
        for k in range(n_classes):
            mappable = draw_map(mosaic, r, k + 1, image, maps[k], result.displays[method], limit)
        mosaic.row_bar(r, mappable)
    return mosaic.figure


def mean_figure(result: AttributionResult, class_names: list[str]) -> Figure | None:
    """Rows: averaged methods; columns: correct images of each class, then errors into the
    sink class. Each map is drawn over the average face of its images."""
    methods = [method for method in result.mean_methods if method in result.mean_maps]
    if not methods:
        return None
    counts = result.mean_counts
    mosaic = Mosaic.create(len(methods), len(counts), left=0.45, right=0.6)
    for c, (name, n) in enumerate(zip(class_names, counts[:-1])):
        mosaic.column_title(c, f"{name}\ncorrect, n={int(n)}")
    sink = class_names[result.sink_class]
    mosaic.column_title(len(counts) - 1, f"errors → {sink}\nn={int(counts[-1])}")
    for r, method in enumerate(methods):
        maps = result.mean_maps[method]
        limit = colour_limit(maps[counts > 0])
        mosaic.row_label(r, result.titles[method].replace(" (", "\n("))
        for c in range(len(counts)):
            if counts[c] == 0:
                x0, x1, y0, y1 = mosaic.extent(r, c)
                mosaic.ax.text((x0 + x1) / 2, (y0 + y1) / 2, "no images", ha="center",
                               va="center", fontsize=FONT, color="0.4")
                continue
            mappable = draw_map(mosaic, r, c, result.mean_images[c], maps[c],
                                result.displays[method], limit)
        mosaic.row_bar(r, mappable)
    return mosaic.figure


def attribution_figures(result: AttributionResult, class_names: list[str]) -> dict[str, object]:
    """Data URIs for templates/sections/attributions.html: ``grid``, one URI per grid case;
    ``means``, one URI or None. (Each case's own maps are drawn one by one for the case
    explorer, by ``figures.cases``.)"""
    grid = [to_data_uri(grid_figure(result, case, class_names))
            for case in range(len(result.grid_indices))]
    means = mean_figure(result, class_names)
    return {"grid": grid, "means": to_data_uri(means) if means else None}
