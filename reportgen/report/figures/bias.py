"""Figures for the bias section. Each ``plot_*`` draws on the axes it is given and returns them;
``bias_figures`` makes the figures and returns PNG data URIs for ``templates/sections/bias.html``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse, Rectangle

from reportgen.bias.analysis import BiasResult
from reportgen.bias.localisation import REGIONS, LocalisationResult
from reportgen.bias.probes import (
    BAND_COLUMNS,
    CENTRE,
    EYE_BAND,
    MOUTH_BAND,
    SEMI_AXES,
    Probe,
    apply_probe,
)
from reportgen.bias.spray import Cluster
from reportgen.bias.triggers import MIN_SCAN_PP, SIZES, VALUES, TriggerScan
from reportgen.report.figures.common import image_to_data_uri, new_figure, to_data_uri

WIDTH = 6.6  # inches: the report's text width
GALLERY_COLUMNS = 8  # probe gallery panels per row
DIVERGING = "RdBu_r"
HEATMAP_LIMIT_PP = 20.0  # fixed colour scale, so heatmaps of different models compare


def plot_probe_heatmap(ax: Axes, result: BiasResult, class_names: Sequence[str]) -> Axes:
    """Probes × classes, cell = change in prediction rate (pp); bold when the CI excludes 0."""
    changes = np.array([e.rate_change for e in result.probes])
    image = ax.imshow(changes, cmap=DIVERGING, vmin=-HEATMAP_LIMIT_PP, vmax=HEATMAP_LIMIT_PP,
                      aspect="auto")
    for row, effect in enumerate(result.probes):
        for col, value in enumerate(effect.rate_change):
            low, high = effect.rate_change_ci[col]
            significant = low > 0 or high < 0
            colour = "black" if significant else "0.45"
            if abs(value) > 0.6 * HEATMAP_LIMIT_PP:
                colour = "white"  # legible on the saturated end of the scale
            ax.text(col, row, f"{value:+.1f}", ha="center", va="center", fontsize=7,
                    fontweight="bold" if significant else "normal", color=colour)
    ax.set_xticks(range(len(class_names)), class_names, fontsize=7)
    ax.set_yticks(range(len(result.probes)), [e.probe.words for e in result.probes], fontsize=7)
    ax.xaxis.tick_top()
    ax.figure.colorbar(image, ax=ax, shrink=0.8, extend="both",
                       label="change in prediction rate (pp)")
    return ax


def plot_probe_summary(flips: Axes, accuracy: Axes, result: BiasResult) -> tuple[Axes, Axes]:
    """Flip rate (%) and accuracy change (pp) per probe, with 95% CIs."""
    names = [e.probe.words for e in result.probes]
    rows = np.arange(len(names))
    flip = np.array([100 * e.flip_rate for e in result.probes])
    flip_ci = np.array([[100 * v for v in e.flip_ci] for e in result.probes])
    change = np.array([e.accuracy_change for e in result.probes])
    change_ci = np.array([e.accuracy_change_ci for e in result.probes])
    for ax, values, cis, title in ((flips, flip, flip_ci, "predictions flipped (%)"),
                                   (accuracy, change, change_ci, "accuracy change (pp)")):
        errors = np.abs(cis.T - values)
        ax.barh(rows, values, xerr=errors, color="0.6", error_kw={"lw": 0.8})
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
    flips.invert_yaxis()  # the axes share y: inverting both would cancel out
    flips.set_yticks(rows, names)
    accuracy.tick_params(labelleft=False)
    return flips, accuracy


def plot_probe_gallery(axes: np.ndarray, image: np.ndarray,
                       probes: Sequence[Probe]) -> np.ndarray:
    """The original image (with the face ellipse and bands drawn) and each of ``probes`` applied."""
    height, width = image.shape
    panels = [("original", image.astype(np.float32))]
    panels += [(probe.words.replace(", ", "\n"), apply_probe(probe, image[None])[0])
               for probe in probes]
    for ax, (name, picture) in zip(axes.flat, panels):
        ax.imshow(picture, cmap="gray", vmin=0, vmax=255)
        ax.set_title(name, fontsize=7)
    draw_geometry(axes.flat[0], height, width)
    for ax in axes.flat:
        ax.set_axis_off()
    return axes


def draw_geometry(ax: Axes, height: int, width: int,
                  colours: tuple[str, str, str] = ("yellow", "cyan", "magenta")) -> Axes:
    """Outline the face ellipse (periphery outside) and the eye/brow and mouth bands."""
    ax.add_patch(Ellipse((CENTRE[0] * width - 0.5, CENTRE[1] * height - 0.5),
                         2 * SEMI_AXES[0] * width, 2 * SEMI_AXES[1] * height,
                         fill=False, color=colours[0], lw=0.8))
    for rows, colour in ((EYE_BAND, colours[1]), (MOUTH_BAND, colours[2])):
        top, left = round(rows[0] * height), round(BAND_COLUMNS[0] * width)
        ax.add_patch(Rectangle((left - 0.5, top - 0.5),
                               round(BAND_COLUMNS[1] * width) - left,
                               round(rows[1] * height) - top,
                               fill=False, color=colour, lw=0.7, ls="--"))
    return ax


def plot_slices(axes: np.ndarray, result: BiasResult, class_names: Sequence[str]) -> np.ndarray:
    """Per slice: accuracy with its CI band (top) and predicted-class rates (bottom) by bin."""
    for col, piece in enumerate(result.slices):
        bins = np.arange(1, len(piece.sizes) + 1)
        top, bottom = axes[0, col], axes[1, col]
        top.plot(bins, 100 * piece.accuracy, color="black", marker="o", ms=3)
        top.fill_between(bins, 100 * piece.accuracy_ci[:, 0], 100 * piece.accuracy_ci[:, 1],
                         color="0.8")
        top.set_title(f"{piece.feature.label}\n(p = {piece.conditional_p:.3f})", fontsize=7.5)
        for k, name in enumerate(class_names):
            bottom.plot(bins, 100 * piece.pred_rates[:, k], marker="o", ms=2.5, lw=1,
                        label=name, color=f"C{k}")
        bottom.set_xlabel("quintile (1 = lowest)", fontsize=7)
        for ax in (top, bottom):
            ax.set_xticks(bins)
            ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("accuracy (%)", fontsize=7)
    axes[1, 0].set_ylabel("predicted as (%)", fontsize=7)
    axes[1, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return axes


def plot_localisation(periphery: Axes, bands: Axes, loc: LocalisationResult) -> tuple[Axes, Axes]:
    """Share of attribution in the periphery, and in the eye vs mouth band, per group."""
    groups = [g for g in [*loc.per_class, loc.sink_errors, loc.sink_correct] if g and g.n_images]
    rows = np.arange(len(groups))
    index = {region: i for i, region in enumerate(REGIONS)}
    for ax, regions in ((periphery, ["periphery"]), (bands, ["eye band", "mouth band"])):
        height = 0.8 / len(regions)
        for j, region in enumerate(regions):
            i = index[region]
            values = np.array([100 * g.shares[i] for g in groups])
            errors = np.abs(np.array([100 * g.shares_ci[i] for g in groups]).T - values)
            ax.barh(rows + j * height, values, height, xerr=errors, label=region,
                    color=f"C{j}", error_kw={"lw": 0.7})
            ax.axvline(100 * loc.area_shares[i], color=f"C{j}", ls=":", lw=1)
        ax.set_xlabel("share of |attribution| (%); dotted: area share", fontsize=7)
        ax.tick_params(labelsize=7)
    periphery.invert_yaxis()  # shared y axis: once is enough
    periphery.set_yticks(rows + 0.2, [f"{g.group} (n={g.n_images})" for g in groups])
    bands.tick_params(labelleft=False)
    bands.legend(fontsize=7, loc="lower right", framealpha=0.9)
    return periphery, bands


def plot_difference_maps(axes: np.ndarray, result: BiasResult,
                         class_names: Sequence[str]) -> np.ndarray:
    """Mean attribution of A→B errors minus correct A, per top pair (red: more on errors)."""
    pairs = [p for p in result.confusions.pairs if p.difference_map is not None]
    limit = max(float(np.nanmax(np.abs(p.difference_map))) for p in pairs)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, pair in zip(axes.flat, pairs):
        ax.imshow(pair.difference_map, cmap=DIVERGING, vmin=-limit, vmax=limit)
        draw_geometry(ax, *pair.difference_map.shape, colours=("0.3", "0.3", "0.3"))
        ax.set_title(f"{class_names[pair.true_class]} → {class_names[pair.pred_class]} "
                     f"(n={pair.count})", fontsize=7)
    return axes


def plot_trigger_heatmap(axes: np.ndarray, scan: TriggerScan, class_names: Sequence[str]) -> np.ndarray:
    """(len(SIZES), len(VALUES)) axes: per grid cell, the largest class-rate gain (pp) that the
    stamp there causes on the scan sample, labelled with the class's first letters."""
    for i, size in enumerate(SIZES):
        for j, value in enumerate(VALUES):
            ax = axes[i, j]
            gains, classes = scan.heatmap(i, j)
            # The scale reaches the largest gain, so a 75 pp trigger does not read as 40.
            image = ax.imshow(np.clip(gains, 0, None), cmap="Reds", vmin=0.0,
                              vmax=max(2 * HEATMAP_LIMIT_PP, float(scan.scan_changes.max())))
            for (r, c), gain in np.ndenumerate(gains):
                if gain >= MIN_SCAN_PP:
                    ax.text(c, r, class_names[classes[r, c]][:3], ha="center", va="center",
                            fontsize=7)
            tone = "white" if value > 127 else "black"
            ax.set_title(f"{tone} squares, {size:g} of a cell", fontsize=7.5)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, -1].figure.colorbar(image, ax=axes.ravel().tolist(), shrink=0.7, label="pp")
    return axes


def plot_cluster(axes: np.ndarray, cluster: Cluster, class_names: Sequence[str]) -> np.ndarray:
    """One row: the cluster's mean map, the class's other clusters' mean map, then members."""
    limit = float(max(cluster.mean_map.max(), cluster.rest_map.max()))
    for ax in axes.flat:
        ax.set_axis_off()
    name = class_names[cluster.class_index]
    for ax, image, title in ((axes[0], cluster.mean_map, f"cluster (n={cluster.size})"),
                             (axes[1], cluster.rest_map, f"other '{name}' maps")):
        ax.imshow(image, cmap="inferno", vmin=0.0, vmax=limit)
        draw_geometry(ax, *image.shape, colours=("0.7", "0.7", "0.7"))
        ax.set_title(title, fontsize=7)
    for ax, image in zip(axes[2:], cluster.images):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    return axes


def bias_figures(result: BiasResult, class_names: Sequence[str]) -> dict[str, object]:
    """Data URIs for the bias partial; keys missing when their data is (e.g. no attribution)."""
    figures: dict[str, object] = {}
    fig = new_figure(WIDTH, 0.28 * len(result.probes) + 1.0)
    plot_probe_heatmap(fig.subplots(), result, class_names)
    figures["probe_heatmap"] = to_data_uri(fig)
    fig = new_figure(WIDTH, 0.2 * len(result.probes) + 0.8)
    plot_probe_summary(*fig.subplots(1, 2, sharey=True), result)
    figures["probe_summary"] = to_data_uri(fig)
    probes = [effect.probe for effect in result.probes]
    rows = -(-(len(probes) + 1) // GALLERY_COLUMNS)  # wide enough panels for 7 pt titles
    fig = new_figure(WIDTH, 1.05 * rows)
    plot_probe_gallery(fig.subplots(rows, GALLERY_COLUMNS, squeeze=False), result.example_image,
                       probes)
    figures["probe_gallery"] = to_data_uri(fig)
    fig = new_figure(WIDTH, 3.6)
    plot_slices(fig.subplots(2, len(result.slices), sharex=True, squeeze=False), result,
                class_names)
    figures["slices"] = to_data_uri(fig)
    if result.triggers is not None:
        fig = new_figure(WIDTH * 0.75, 4.4)
        plot_trigger_heatmap(fig.subplots(len(SIZES), len(VALUES), squeeze=False),
                             result.triggers, class_names)
        figures["trigger_heatmap"] = to_data_uri(fig)
    if result.localisation is not None:
        fig = new_figure(WIDTH, 0.22 * (len(class_names) + 2) + 0.9)
        plot_localisation(*fig.subplots(1, 2, sharey=True), result.localisation)
        figures["localisation"] = to_data_uri(fig)
    if any(p.difference_map is not None for p in result.confusions.pairs):
        fig = new_figure(WIDTH, 2.3)
        plot_difference_maps(fig.subplots(1, len(result.confusions.pairs), squeeze=False),
                             result, class_names)
        figures["difference_maps"] = to_data_uri(fig)
    if result.spray is not None and result.spray.clusters:
        figures["clusters"] = []
        for cluster in result.spray.clusters:
            fig = new_figure(WIDTH, 1.3)
            plot_cluster(fig.subplots(1, 2 + len(cluster.images), squeeze=False)[0], cluster,
                         class_names)
            figures["clusters"].append(to_data_uri(fig))
    figures["pair_examples"] = [[image_to_data_uri(image) for image in pair.examples]
                                for pair in result.confusions.pairs]
    return figures
