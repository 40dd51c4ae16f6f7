"""Attribution figures and the report partial, rendered from a small result."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.attributions import AttributionSettings, run_attributions
from reportgen.report.figures.attributions import (
    attribution_figures,
    colour_limit,
    mean_figure,
    supporting_view,
)
from reportgen.report.figures.cases import case_views, overlay, view_columns
from reportgen.report.render import make_environment
from tests.attributions.conftest import block_images

CLASS_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


@pytest.fixture(scope="module")
def result(tiny_classifier):
    images = block_images(30, seed=4)
    preds = tiny_classifier.predict(images).argmax(axis=1)
    labels = preds.copy()
    labels[::2] = (preds[::2] + 2) % 7
    return run_attributions(tiny_classifier, images, labels, preds, np.arange(10),
                            int(preds[0]), ["lime", "ig", "gradcam"],
                            AttributionSettings(method_params={"lime": {"num_samples": 100},
                                                               "ig": {"steps": 4}}, mean_cap=2))


@pytest.fixture(scope="module")
def figures(result):
    return attribution_figures(result, CLASS_NAMES)


def test_figures_are_png_data_uris(figures):
    assert "cases" not in figures  # each case's maps are drawn one by one for the explorer
    assert len(figures["grid"]) == 2
    for uri in [*figures["grid"], figures["means"]]:
        assert uri.startswith("data:image/png;base64,")


def test_case_views_one_small_image_per_method_view(result):
    columns = view_columns(result)
    assert [c.key for c in columns] == ["lime", "lime-support", "ig", "gradcam"]
    assert columns[0].low == -columns[0].high and columns[-1].low == 0.0
    views = case_views(result, 0, columns)
    assert list(views) == [c.key for c in columns]
    assert all(uri.startswith("data:image/webp;base64,") for uri in views.values())


def test_overlay_is_the_image_where_the_map_is_zero():
    image = np.full((4, 4), 90.0)
    amap = np.zeros((4, 4))
    amap[0, 0] = 1.0
    picture = overlay(image, amap, "signed", 1.0)
    assert picture.shape == (4, 4, 3)
    assert np.abs(picture[1:, 1:].astype(int) - 90).max() <= 2  # the scale's middle is clear
    assert picture[0, 0, 1] > picture[0, 0, 0]  # green raises the class


def test_mean_figure_needs_averaged_methods(result):
    assert mean_figure(result, CLASS_NAMES) is not None
    no_means = type(result)(**{**vars(result), "mean_methods": (), "mean_maps": {}})
    assert mean_figure(no_means, CLASS_NAMES) is None


def test_partial_renders_methods_parameters_and_reading_guide(result, figures):
    html = make_environment().get_template("sections/attributions.html").render(
        attr=result, attr_figs=figures, class_names=CLASS_NAMES)
    assert 'id="attributions"' in html
    assert "How to read the overlays" in html and "green" in html
    assert "LIME (num_samples=100" in html and "Integrated Gradients (steps=4" in html
    assert "Grad-CAM (layer=inner_conv)" in html
    assert html.count('<img src="data:image/png;base64,') == 3  # 2 grids + the means
    assert 'href="#cases-explorer"' in html
    assert "superpixels per image" in html and "completeness gap" in html
    assert f"on {result.device}" in html


def test_supporting_view_keeps_only_positive_top_superpixels():
    image = np.full((2, 4), 100.0)
    segments = np.array([[0, 0, 1, 1], [2, 2, 3, 3]])
    amap = np.array([[0.5, 0.5, -1, -1], [0.2, 0.2, 0.0, 0.0]])
    view = supporting_view(image, segments, amap, top=1)
    assert (view[0, :2] == 100).all() and (view[:, 2:] != 100).all() and (view[1] != 100).all()


def test_colour_limit_ignores_a_single_extreme_pixel():
    maps = np.ones((40, 40))
    maps[0, 0] = 1e6
    assert colour_limit(maps) == pytest.approx(1.0)
    assert colour_limit(np.zeros((3, 3))) == 1.0
