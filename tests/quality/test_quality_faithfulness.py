"""Deletion/insertion faithfulness: known answers on the quadrant model and the curves' plumbing."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.attributions import REGISTRY, make_explainer
from reportgen.quality import faithfulness as faith
from reportgen.quality.faithfulness import (
    baseline_images,
    measure_faithfulness,
    path_images,
    pixel_ranks,
)
from tests.quality.conftest import HALF, SIZE

# Small sample counts keep the default run fast; the known answer does not need more.
FAST_PARAMS: dict[str, dict[str, object]] = {
    "lime": {"num_samples": 300},
    "shap": {"max_evals": 200},
    "smoothgrad": {"n_samples": 8},
    "ig": {"steps": 16},
}
SLOW = {"shap"}  # shap's numba kernels compile for ~20 s on first use


def quadrant_mask(n_images: int, inside: bool = True) -> np.ndarray:
    mask = np.zeros((n_images, SIZE, SIZE), np.float32)
    mask[:, :HALF, :HALF] = 1.0
    return mask if inside else 1.0 - mask


@pytest.fixture(scope="module")
def targets(quadrant_classifier, images) -> np.ndarray:
    return quadrant_classifier.predict(images).argmax(axis=1)


@pytest.mark.parametrize(
    "method", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m for m in REGISTRY]
)
def test_every_method_beats_random_maps_on_the_quadrant_model(
    method, quadrant_classifier, images, targets
) -> None:
    explainer = make_explainer(method, quadrant_classifier, seed=0, **FAST_PARAMS.get(method, {}))
    maps = {method: explainer.explain(images, targets)}
    result = measure_faithfulness(quadrant_classifier, images, targets, maps, seed=0)
    deletion = result.curves[method].deletion_aucs().mean()
    assert deletion < result.random.deletion_aucs().mean()
    assert result.margins(method).mean() > 0


@pytest.mark.parametrize("baseline", ["blur", "mean"])
def test_an_oracle_map_beats_random_and_its_opposite_does_not(
    baseline, quadrant_classifier, images, targets
) -> None:
    maps = {"oracle": quadrant_mask(len(images)), "opposite": quadrant_mask(len(images), False)}
    result = measure_faithfulness(quadrant_classifier, images, targets, maps, baseline=baseline)
    random = result.random.deletion_aucs().mean()
    assert result.curves["oracle"].deletion_aucs().mean() < random
    assert result.curves["opposite"].deletion_aucs().mean() > random
    # Removing everything outside the quadrant first changes nothing for 75% of the path.
    opposite = result.curves["opposite"].deletion
    assert np.allclose(opposite[:, : int(0.75 * result.n_steps) + 1], opposite[:, :1], atol=1e-5)


def test_curves_start_and_end_at_the_image_and_the_baseline(
    quadrant_classifier, images, targets
) -> None:
    maps = {"oracle": quadrant_mask(len(images))}
    result = measure_faithfulness(quadrant_classifier, images, targets, maps, baseline="mean")
    rows = np.arange(len(images))
    p_image = quadrant_classifier.predict(images)[rows, targets]
    p_empty = quadrant_classifier.predict(baseline_images(images, "mean"))[rows, targets]
    curves = result.curves["oracle"]
    assert curves.deletion.shape == (len(images), result.n_steps + 1)
    np.testing.assert_allclose(curves.deletion[:, 0], p_image, atol=1e-6)
    np.testing.assert_allclose(curves.deletion[:, -1], p_empty, atol=1e-6)
    np.testing.assert_allclose(curves.insertion[:, 0], p_empty, atol=1e-6)
    np.testing.assert_allclose(curves.insertion[:, -1], p_image, atol=1e-6)


def test_rounds_do_not_change_the_result(monkeypatch, quadrant_classifier, images, targets) -> None:
    maps = {"oracle": quadrant_mask(len(images))}
    whole = measure_faithfulness(quadrant_classifier, images, targets, maps, seed=3)
    monkeypatch.setattr(faith, "ROUND_IMAGES", 1)  # one case per round
    split = measure_faithfulness(quadrant_classifier, images, targets, maps, seed=3)
    np.testing.assert_allclose(whole.curves["oracle"].deletion, split.curves["oracle"].deletion,
                               atol=1e-6)
    np.testing.assert_allclose(whole.random.insertion, split.random.insertion, atol=1e-6)


def test_baselines() -> None:
    images = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE)).astype(np.uint8)
    mean = baseline_images(images, "mean")
    means = images.mean(axis=(1, 2))[:, None, None]
    np.testing.assert_allclose(mean, np.broadcast_to(means, mean.shape), rtol=1e-5)
    blur = baseline_images(images, "blur")
    assert blur.std() < images.std() / 4  # the detail is gone
    np.testing.assert_allclose(blur.mean(axis=(1, 2)), images.mean(axis=(1, 2)), rtol=0.02)
    with pytest.raises(ValueError, match="baseline"):
        baseline_images(images, "black")  # type: ignore[arg-type]


def test_pixel_ranks_are_permutations_that_break_ties_at_random() -> None:
    scores = np.zeros((2, 4, 4))
    scores[:, 3, 3] = 1.0
    ranks = pixel_ranks(scores, np.random.default_rng(0))
    for row in ranks:
        assert sorted(row) == list(range(16))
        assert row[15] == 0  # the one marked pixel comes first
    assert not np.array_equal(ranks[0], ranks[1])  # ties broken differently per image
    assert not np.array_equal(ranks[0][:15], np.arange(1, 16))  # not in raster order


def test_path_images_switch_pixels_in_rank_order() -> None:
    image, fill = np.full(4, 10.0), np.zeros(4)
    ranks = np.array([[2, 0, 3, 1]])
    paths = path_images(image, fill, ranks, np.array([1, 2, 3]))
    assert paths.shape == (1, 2, 3, 4)
    np.testing.assert_array_equal(paths[0, 0, 0], [10, 0, 10, 10])  # rank 0 deleted first
    np.testing.assert_array_equal(paths[0, 0, 1], [10, 0, 10, 0])
    np.testing.assert_array_equal(paths[0, 1, 0], [0, 10, 0, 0])  # and restored first
