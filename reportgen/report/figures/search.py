"""Figures for the optimisation-based searches (``reportgen.bias.search``). Each ``plot_*`` draws
on the axes it is given and returns them; ``search_figures`` makes the figures and returns PNG
data URIs for ``templates/sections/search.html``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import NullFormatter, ScalarFormatter

from reportgen.bias.search import ClassPerturbation, ClassTrigger, TriggerSearch, UniversalSearch
from reportgen.bias.search.confirm import Confirmation
from reportgen.bias.search.optimise import ANOMALY_THRESHOLD
from reportgen.report.figures.common import new_figure, to_data_uri

WIDTH = 6.6  # inches: the report's text width
FONT = 7.0  # the smallest text in these figures, in points
ROW_HEIGHT = 1.45


def _image(ax: Axes, image: np.ndarray, title: str, **style: object) -> Axes:
    ax.imshow(image, **({"cmap": "gray", "vmin": 0, "vmax": 255} | style))
    ax.set_title(title, fontsize=FONT)
    ax.set_axis_off()
    return ax


def plot_examples(axes: Sequence[Axes], confirmation: Confirmation,
                  class_names: Sequence[str]) -> Sequence[Axes]:
    """Edited held-out images, each titled "before → after" with the model's classes."""
    for ax in axes:
        ax.set_axis_off()
    for ax, image, before, after in zip(axes, confirmation.examples,
                                        confirmation.examples_before, confirmation.examples_after):
        _image(ax, image, f"held out\n{class_names[before]} → {class_names[after]}")
    return axes


def plot_trigger(axes: Sequence[Axes], trigger: ClassTrigger,
                 class_names: Sequence[str]) -> Sequence[Axes]:
    """One row: the mask, the pattern, the mask × pattern on black, then stamped examples."""
    peak = float(trigger.mask.max()) or 1.0  # scaled to the search's target, often below 1
    _image(axes[0], trigger.mask, f"mask ({trigger.pixels:.0f} px)\nmax {peak:.2f}",
           cmap="magma", vmin=0, vmax=peak)
    _image(axes[1], trigger.pattern, "pattern\n(0–255)")
    _image(axes[2], trigger.mask * trigger.pattern / peak,
           f"mask × pattern\n→ '{class_names[trigger.class_index]}'")
    if trigger.confirmation is not None:
        plot_examples(axes[3:], trigger.confirmation, class_names)
    return axes


def plot_perturbation(axes: Sequence[Axes], pert: ClassPerturbation,
                      class_names: Sequence[str]) -> Sequence[Axes]:
    """One row: δ (red brighter, blue darker), its amplitude spectrum (log), then examples."""
    limit = float(np.abs(pert.delta).max()) or 1.0
    _image(axes[0], pert.delta, f"δ → '{class_names[pert.class_index]}'\n(±{limit:.0f} grey levels)",
           cmap="RdBu_r", vmin=-limit, vmax=limit)
    _image(axes[1], np.log10(pert.spectrum + 1e-3), "amplitude spectrum\n(log scale)",
           cmap="viridis", vmin=None, vmax=None)
    if pert.confirmation is not None:
        plot_examples(axes[2:], pert.confirmation, class_names)
    return axes


def plot_sizes(ax: Axes, sizes: np.ndarray, anomaly: np.ndarray, class_names: Sequence[str],
               label: str) -> Axes:
    """Per class: the minimal edit size found (log scale); dark: anomaly index above threshold."""
    colours = ["#b2182b" if a > ANOMALY_THRESHOLD else "0.6" for a in anomaly]
    rows = np.arange(len(class_names))
    ax.barh(rows, sizes, color=colours)
    ax.set_xscale("log")
    ax.set_xlim(right=float(np.max(sizes)) * 4)  # room for the labels
    # within one decade matplotlib labels the minor ticks too, and they overlap the major ones
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(ScalarFormatter())
    for row, (size, index) in enumerate(zip(sizes, anomaly)):
        ax.text(size, row, f" {index:+.1f}", va="center", fontsize=FONT)
    ax.set_yticks(rows, class_names, fontsize=FONT)
    ax.invert_yaxis()
    ax.set_xlabel(label, fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    return ax


def _rows(figure_rows: list, draw, n_columns: int, class_names: Sequence[str]) -> list[str]:
    uris = []
    for item in figure_rows:
        fig = new_figure(WIDTH, ROW_HEIGHT)
        draw(fig.subplots(1, n_columns, squeeze=False)[0], item, class_names)
        uris.append(to_data_uri(fig))
    return uris


def search_figures(triggers: TriggerSearch | None, universal: UniversalSearch | None,
                   class_names: Sequence[str]) -> dict[str, object]:
    """Data URIs for the search partial; keys missing for a search that did not run."""
    figures: dict[str, object] = {}
    if triggers is not None:
        fig = new_figure(WIDTH / 2, 0.2 * len(class_names) + 0.7)
        plot_sizes(fig.subplots(), np.array([c.pixels for c in triggers.classes]),
                   np.array([c.anomaly for c in triggers.classes]), class_names,
                   "mask L1 (pixels); labels: anomaly index")
        figures["trigger_sizes"] = to_data_uri(fig)
        figures["triggers"] = _rows(triggers.confirmed, plot_trigger, 6, class_names)
    if universal is not None:
        fig = new_figure(WIDTH / 2, 0.2 * len(class_names) + 0.7)
        plot_sizes(fig.subplots(), np.array([c.rms for c in universal.classes]),
                   np.array([c.anomaly for c in universal.classes]), class_names,
                   "RMS perturbation (grey levels); labels: anomaly index")
        figures["universal_sizes"] = to_data_uri(fig)
        figures["universal"] = _rows(universal.confirmed, plot_perturbation, 5, class_names)
    return figures
