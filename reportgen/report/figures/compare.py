"""Figures for the baseline comparison. Plot functions draw on the Axes they are given."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from reportgen.gating.compare import Comparison
from reportgen.report.figures.common import new_figure, to_data_uri

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, GREY = "#0072B2", "#E69F00", "#999999"
TOP_BIAS_ROWS = 12


def plot_class_deltas(
    comparison: Comparison, ax: Axes, labels: Sequence[str] | None = None
) -> Axes:
    """Grouped bars of the recall and F1 change per class, candidate − baseline, in pp.

    ``labels`` name the classes on the axis (default: the comparison's class names).
    """
    names = list(labels or comparison.class_names)
    positions = np.arange(len(names))
    recalls = [_zero_if_none(c.recall.delta) for c in comparison.per_class]
    f1s = [_zero_if_none(c.f1.delta) for c in comparison.per_class]
    ax.bar(positions - 0.2, recalls, width=0.4, color=BLUE, label="recall")
    ax.bar(positions + 0.2, f1s, width=0.4, color=ORANGE, label="F1")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(positions, names, rotation=30, ha="right")
    ax.set_ylabel("change vs baseline (pp)")
    _legend_above(ax)
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_confusion_delta(
    comparison: Comparison, ax: Axes, labels: Sequence[str] | None = None
) -> Axes:
    """(K, K) heatmap of the change in row-normalised confusion rates (pp), annotated.

    The colour scale is symmetric around 0, so equal changes look equally strong.
    """
    deltas = comparison.confusion_delta
    limit = max(float(np.abs(deltas).max()), 1.0)
    image = ax.imshow(deltas, cmap="RdBu", vmin=-limit, vmax=limit)
    names = list(labels or comparison.class_names)
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, names, rotation=45, ha="right")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (row, col), value in np.ndenumerate(deltas):
        colour = "white" if abs(value) > 0.6 * limit else "black"
        ax.text(col, row, _cell_label(value), ha="center", va="center", fontsize=7, color=colour)
    ax.figure.colorbar(image, ax=ax, label="change in % of the true class (pp)", shrink=0.8)
    return ax


def plot_bias_deltas(comparison: Comparison, ax: Axes, top: int = TOP_BIAS_ROWS) -> Axes:
    """Dumbbells from the baseline effect (grey) to the candidate effect (blue), in pp.

    Shows the ``top`` (probe, class) pairs whose |effect| changed most.
    """
    rows = sorted(comparison.bias, key=lambda d: -abs(d.growth))[:top][::-1]
    positions = np.arange(len(rows))
    for y, row in zip(positions, rows, strict=True):
        ax.plot([row.baseline, row.candidate], [y, y], color=GREY, linewidth=1.5, zorder=1)
    ax.scatter([r.baseline for r in rows], positions, color=GREY, label="baseline", zorder=2)
    ax.scatter([r.candidate for r in rows], positions, color=BLUE, label="candidate", zorder=3)
    ax.set_yticks(positions, [f"{r.probe} → {r.class_name}" for r in rows])
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("effect on the class's prediction rate (pp)")
    _legend_above(ax)
    ax.grid(axis="x", alpha=0.3)
    return ax


def comparison_figures(
    comparison: Comparison, class_names: Sequence[str] | None = None
) -> dict[str, str]:
    """PNG data URIs keyed ``per_class``, ``confusion`` and (if any effects) ``bias``.

    ``class_names`` label the axes (default: the comparison's own, which are the same names).
    """
    figures = {}
    figure = new_figure(7.0, 3.0)
    plot_class_deltas(comparison, figure.add_subplot(), class_names)
    figures["per_class"] = to_data_uri(figure)
    figure = new_figure(6.0, 4.8)
    plot_confusion_delta(comparison, figure.add_subplot(), class_names)
    figures["confusion"] = to_data_uri(figure)
    if comparison.bias:
        shown = min(len(comparison.bias), TOP_BIAS_ROWS)
        figure = new_figure(7.0, 1.2 + 0.3 * shown)
        plot_bias_deltas(comparison, figure.add_subplot())
        figures["bias"] = to_data_uri(figure)
    return figures


def _legend_above(ax: Axes) -> None:
    # Above the axes, the legend can never hide a bar or a point.
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)


def _cell_label(value: float) -> str:
    """Cell text: plain 0 where nothing changed, so the changed cells stand out; else ±pp."""
    if abs(value) < 0.05:
        return "0"
    return f"{value:+.1f}" if abs(value) < 10 else f"{value:+.0f}"


def _zero_if_none(value: float | None) -> float:
    # A class with no metric in one run has no bar; 0 keeps the positions aligned.
    return 0.0 if value is None else value
