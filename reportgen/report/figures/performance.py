"""Performance figures: confusion matrices, reliability diagram, per-class scores."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from reportgen.evaluation.evaluate import Evaluation
from reportgen.report.figures.common import new_figure


def plot_confusion(ax: Axes, matrix: np.ndarray, class_names: list[str], title: str,
                   fmt: str = "d") -> Axes:
    """Heatmap of a (K, K) matrix, rows true and columns predicted, with each cell's value."""
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right", fontsize=7.5)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=7.5)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    ax.set_title(title, fontsize=8.5)
    top = matrix.max() if matrix.size and matrix.max() > 0 else 1
    for (row, col), value in np.ndenumerate(matrix):
        text = format(value, fmt)
        ax.text(col, row, text, ha="center", va="center", fontsize=7,
                color="white" if value > 0.55 * top else "black")
    ax.figure.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=7)
    return ax


def confusion_figure(evaluation: Evaluation, class_names: list[str]) -> Figure:
    # At the text width (6.6 in), so its 7 pt cell numbers print at 7 pt, not shrunk to 5.
    figure = new_figure(6.6, 3.3)
    # "compressed" lays out fixed-aspect (square) heatmaps; "constrained" cut off their titles.
    figure.set_layout_engine("compressed")
    left, right = figure.subplots(1, 2)
    plot_confusion(left, evaluation.confusion, class_names, "Counts")
    plot_confusion(right, evaluation.confusion_normalised, class_names,
                   "Row-normalised (recall on the diagonal)", fmt=".2f")
    return figure


def plot_reliability(ax: Axes, evaluation: Evaluation) -> Axes:
    """Accuracy against confidence per bin; the diagonal is perfect calibration."""
    cal = evaluation.calibration
    centres = (cal.bin_edges[:-1] + cal.bin_edges[1:]) / 2
    width = cal.bin_edges[1] - cal.bin_edges[0]
    filled = cal.counts > 0
    ax.bar(centres[filled], cal.accuracy[filled], width=width * 0.9, color="#4c78a8",
           edgecolor="white", label="accuracy in bin")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    ax.plot(cal.confidence[filled], cal.accuracy[filled], "o", color="#e45756", ms=3,
            label="mean confidence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (ECE {evaluation.ece:.3f}, 15 bins)")
    ax.legend(loc="upper left", fontsize=7)
    return ax


def reliability_figure(evaluation: Evaluation) -> Figure:
    figure = new_figure(8.5, 3.4)
    left, right = figure.subplots(1, 2, width_ratios=[1.3, 1])
    plot_reliability(left, evaluation)
    counts = evaluation.calibration.counts
    edges = evaluation.calibration.bin_edges
    right.bar((edges[:-1] + edges[1:]) / 2, counts, width=(edges[1] - edges[0]) * 0.9, color="#9d9d9d")
    right.set_xlim(0, 1)
    right.set_xlabel("confidence")
    right.set_ylabel("images")
    right.set_title("Images per confidence bin")
    return figure


def per_class_figure(evaluation: Evaluation, class_names: list[str]) -> Figure:
    """Grouped bars of precision, recall and F1 per class, recall with its 95% CI."""
    figure = new_figure(8.5, 3.0)
    ax = figure.subplots()
    x = np.arange(len(class_names))
    metrics = evaluation.per_class
    recall = np.array([m.recall for m in metrics])
    errors = np.abs(np.array([m.recall_ci for m in metrics]).T - recall)
    ax.bar(x - 0.27, [m.precision for m in metrics], 0.27, label="precision", color="#4c78a8")
    ax.bar(x, recall, 0.27, yerr=np.nan_to_num(errors), capsize=2, label="recall (95% CI)", color="#f58518")
    ax.bar(x + 0.27, [m.f1 for m in metrics], 0.27, label="F1", color="#54a24b")
    ax.set_xticks(x, class_names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score")
    ax.legend(ncols=3, fontsize=7, loc="upper right")
    return figure
