"""Figures and the two partial templates render from a result, with no model call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reportgen.bias import check_hygiene
from reportgen.report.figures.bias import bias_figures

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _environment() -> Environment:
    """The report's filters, as the lead's renderer registers them (same names, same inputs)."""
    try:
        from reportgen.report.render import make_environment

        return make_environment()
    except ImportError:  # the renderer is not there yet: stand-ins with the documented behaviour
        env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                          undefined=StrictUndefined)
        env.filters.update(pct=lambda v, d=1: f"{100 * v:.{d}f}%", pp=lambda v: f"{v:+.1f} pp",
                           num=lambda v, d=3: f"{v:.{d}g}",
                           ci=lambda p, kind="num": f"[{p[0]:.3g}, {p[1]:.3g}]")
        return env


@pytest.fixture(scope="module")
def figures(planted_result) -> dict:
    return bias_figures(planted_result, list(planted_result.class_names))


def test_figures_are_data_uris(figures: dict) -> None:
    for key in ("probe_heatmap", "probe_summary", "probe_gallery", "slices", "localisation",
                "difference_maps"):
        assert figures[key].startswith("data:image/png;base64,"), key
    assert all(uri.startswith("data:image/png") for row in figures["pair_examples"] for uri in row)


def _bias_sections(result, figures: dict) -> str:
    """The findings section and its details (the PDF prints the details in its appendix)."""
    env = _environment()
    return "".join(env.get_template(f"sections/{name}.html").render(
        bias=result, bias_figs=figures, class_names=list(result.class_names))
        for name in ("bias", "bias_details"))


def test_bias_partial(planted_result, figures: dict) -> None:
    html = _bias_sections(planted_result, figures)
    assert '<section id="shortcuts">' in html and '<section id="shortcut-details">' in html
    assert 'class="finding critical"' in html
    assert "Dark-tone shortcut toward &#39;sad&#39;" in html
    assert 'id="probe-brightness_x0.6"' in html and "Dark-tone ×0.6" in html
    assert "Natural slices" in html and "Sink class" in html
    assert 'id="severity-rule"' in html and "extreme edit" in html
    assert html.count("<figure") >= 6 and "http" not in html


def test_bias_partial_without_localisation(clean_result) -> None:
    figures = bias_figures(clean_result, list(clean_result.class_names))
    assert "localisation" not in figures and "difference_maps" not in figures
    html = _bias_sections(clean_result, figures)
    assert "Where the evidence lies" not in html


def test_hygiene_partial(faces) -> None:
    images, labels = faces[0][:30].copy(), faces[1][:30]
    images[1] = images[0]
    images[2] = 77
    names = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    result = check_hygiene(images, labels, [f"file{i}.png" for i in range(30)], names)
    html = _environment().get_template("sections/hygiene.html").render(
        hygiene=result, class_names=names)
    assert '<section id="hygiene">' in html and "Exact duplicates" in html
    assert "Near-blank images" in html and "file0.png" in html
    assert np.sum([html.count("data:image/png")]) >= 3
