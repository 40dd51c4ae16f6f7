"""Figures for "Which explanations to trust". ``quality_figures`` returns PNG data URIs for
``templates/sections/quality.html``; every ``plot_*`` draws on the axes it is given.

Maps in the sanity figure are drawn as |map| (what the check compares), each scaled to its
own 99th percentile, because a randomised model's maps can be orders of magnitude smaller.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from reportgen.quality.assess import QualityResult
from reportgen.quality.faithfulness import (
    baseline_images,
    path_images,
    pixel_ranks,
    random_maps,
)
from reportgen.quality.ranks import importance
from reportgen.report.figures.attributions import FONT, HEAT, Mosaic, colour_limit
from reportgen.report.figures.common import new_figure, to_data_uri

WIDTH = 6.6  # inches: the report's text width
EXAMPLE_FRACTION = 0.25  # share of pixels removed in the example thumbnails
RANDOM_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.2}


def plot_mean_curves(deletion: Axes, insertion: Axes, result: QualityResult) -> tuple[Axes, Axes]:
    """Mean p(target) over the cases along the deletion and insertion paths, per method."""
    faith = result.faithfulness
    for ax, kind in ((deletion, "deletion"), (insertion, "insertion")):
        for row in result.rows:
            curve = getattr(faith.curves[row.name], kind).mean(axis=0)
            ax.plot(faith.random.fractions * 100, curve, linewidth=1.4, label=row.title)
        random = getattr(faith.random, kind).mean(axis=0)
        ax.plot(faith.random.fractions * 100, random, label="random maps", **RANDOM_STYLE)
        ax.set_xlabel(f"pixels {'removed' if kind == 'deletion' else 'restored'} (%)", fontsize=8)
        better = "lower" if kind == "deletion" else "higher"
        ax.set_title(f"{kind.capitalize()} ({better} is better)", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlim(0, 100)
        ax.grid(alpha=0.3)
    deletion.set_ylabel("mean p(explained class)", fontsize=8)
    insertion.legend(fontsize=7, loc="lower right", frameon=False)
    return deletion, insertion


def curves_figure(result: QualityResult) -> Figure:
    """Mean deletion and insertion curves of every method against random maps."""
    figure = new_figure(WIDTH, 2.6)
    deletion, insertion = figure.subplots(1, 2, sharey=True)
    plot_mean_curves(deletion, insertion, result)
    return figure


def example_case(result: QualityResult) -> int:
    """The case where the top-ranked method's faithfulness is the median over cases:
    representative, not the best-looking one."""
    margins = result.faithfulness.margins(result.rows[0].name)
    return int(np.argsort(margins)[len(margins) // 2])


def removed_images(result: QualityResult, case: int) -> dict[str, np.ndarray]:
    """(h, w) image of ``case`` with the top ``EXAMPLE_FRACTION`` of each map's pixels replaced
    by the faithfulness baseline, per method in ranked order, plus one random map: the point
    of the stage's own deletion path (``path_images``) at that fraction."""
    image = result.images[case].astype(np.float32)
    settings = result.settings
    fill = baseline_images(image[None], settings.baseline, settings.blur_sigma)[0]
    rng = np.random.default_rng(0)
    titles = [row.title for row in result.rows] + ["random map"]
    scores = [importance(result.maps[row.name][case][None]) for row in result.rows]
    scores.append(random_maps(1, image.shape, rng, settings.random_grain))
    ranks = pixel_ranks(np.concatenate(scores), rng)  # (R, P), drawn in the same order as before
    cut = np.array([round(EXAMPLE_FRACTION * image.size)], dtype=np.int32)
    deleted = path_images(image.ravel(), fill.ravel(), ranks, cut)[:, 0, 0]  # (R, P)
    return {title: pixels.reshape(image.shape) for title, pixels in zip(titles, deleted)}


def plot_case_curves(ax: Axes, result: QualityResult, case: int) -> Axes:
    """One case's deletion curves, per method and for the random map."""
    faith = result.faithfulness
    for row in result.rows:
        ax.plot(faith.random.fractions * 100, faith.curves[row.name].deletion[case], linewidth=1.4,
                label=row.title)
    ax.plot(faith.random.fractions * 100, faith.random.deletion[case], label="random map",
            **RANDOM_STYLE)
    ax.set_xlabel("pixels removed (%)", fontsize=8)
    ax.set_ylabel("p(explained class)", fontsize=8)
    ax.set_xlim(0, 100)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    return ax


def example_figure(result: QualityResult, case: int, class_names: Sequence[str]) -> Figure:
    """Top: the case, then the case with each map's top 25% removed; bottom: its curves."""
    shown = removed_images(result, case)
    n_thumbs = len(shown) + 1
    figure = new_figure(WIDTH, 3.1)
    grid = figure.add_gridspec(2, n_thumbs, height_ratios=[1.0, 2.0])
    thumbs = [figure.add_subplot(grid[0, i]) for i in range(n_thumbs)]
    target = int(result.targets[case])
    target_name = class_names[target] if target < len(class_names) else str(target)
    panels = [(f"image\n(explained: {target_name})", result.images[case].astype(np.float32))]
    panels += [(title.replace(" (", "\n("), pixels) for title, pixels in shown.items()]
    for ax, (title, pixels) in zip(thumbs, panels):
        ax.imshow(pixels, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=7)
        ax.set_axis_off()
    plot_case_curves(figure.add_subplot(grid[1, :]), result, case)
    return figure


def plot_agreement(ax: Axes, result: QualityResult) -> Axes:
    """Methods × methods mean rank correlation of |map|, annotated."""
    titles = [row.title for row in result.rows]
    order = [result.methods.index(row.name) for row in result.rows]
    matrix = result.agreement[np.ix_(order, order)]
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    for i in range(len(order)):
        for j in range(len(order)):
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(matrix[i, j]) > 0.6 else "black")
    ax.set_xticks(range(len(titles)), titles, fontsize=7, rotation=30, ha="right")
    ax.set_yticks(range(len(titles)), titles, fontsize=7)
    ax.figure.colorbar(image, ax=ax, shrink=0.8).set_label("mean Spearman ρ", fontsize=7)
    return ax


def agreement_figure(result: QualityResult) -> Figure:
    size = 1.2 + 0.45 * len(result.rows)
    figure = new_figure(min(WIDTH, size + 1.4), size)
    plot_agreement(figure.add_subplot(), result)
    return figure


def sanity_case(result: QualityResult) -> int | None:
    """A case every method re-explained in the sanity check (position among the M cases)."""
    positions = result.sanity.positions
    if not result.sanity.run or not positions:
        return None
    common = set.intersection(*(set(map(int, p)) for p in positions.values()))
    return min(common) if common else None


def sanity_figure(result: QualityResult, case: int) -> Figure:
    """Rows: methods; columns: image, original |map|, |map| after each cascade checkpoint."""
    sanity = result.sanity
    assert sanity.maps is not None and sanity.positions is not None
    image = result.images[case].astype(np.float32)
    mosaic = Mosaic.create(len(result.rows), len(sanity.stages) + 2, left=0.9, top=0.55)
    mosaic.column_title(0, "image")
    mosaic.column_title(1, "original")
    for s, stage in enumerate(sanity.stages):
        mosaic.column_title(s + 2, "randomised:\n" + stage.split(" (")[0])
    for r, row in enumerate(result.rows):
        verdict = {True: "passed", False: "FAILED", None: "not run"}[row.sanity_passed]
        if row.sanity_borderline:
            verdict = "only just passed"
        mosaic.row_label(r, f"{row.title.replace(' (', chr(10) + '(')}\n{verdict}")
        mosaic.image(r, 0, image, cmap="gray", vmin=0, vmax=255)
        at = int(np.flatnonzero(sanity.positions[row.name] == case)[0])
        maps = [result.maps[row.name][case], *sanity.maps[row.name][:, at]]
        for c, amap in enumerate(maps, start=1):
            if np.isnan(amap).any():
                x0, x1, y0, y1 = mosaic.extent(r, c)
                mosaic.ax.text((x0 + x1) / 2, (y0 + y1) / 2, "not run\n(cost)", ha="center",
                               va="center", fontsize=FONT, color="0.4")
                continue
            mosaic.image(r, c, image, cmap="gray", vmin=0, vmax=255)
            magnitude = np.abs(amap)
            mosaic.image(r, c, magnitude, cmap=HEAT, vmin=0, vmax=colour_limit(magnitude))
    return mosaic.figure


def quality_figures(result: QualityResult, class_names: Sequence[str]) -> dict[str, object]:
    """Data URIs: ``curves``, ``example`` (with ``example_case``, a position among the M cases),
    ``agreement`` (None for one method) and ``sanity`` (None when the check did not run,
    with ``sanity_case``)."""
    case = example_case(result)
    checked = sanity_case(result)
    return {
        "curves": to_data_uri(curves_figure(result)),
        "example": to_data_uri(example_figure(result, case, class_names)),
        "example_case": case,
        "example_fraction": EXAMPLE_FRACTION,
        "agreement": to_data_uri(agreement_figure(result)) if len(result.rows) > 1 else None,
        "sanity": to_data_uri(sanity_figure(result, checked)) if checked is not None else None,
        "sanity_case": checked,
    }
