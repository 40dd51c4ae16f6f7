"""run_attributions: what the report receives, determinism, progress, selection helpers."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from reportgen.attributions import AttributionSettings, run_attributions
from reportgen.attributions.runner import grid_cases, mean_groups
from reportgen.errors import InputError
from reportgen.loading.model import Classifier
from tests.attributions.conftest import block_images

METHODS = ["lime", "saliency", "gradcam"]
FAST = {"lime": {"num_samples": 150}}


@pytest.fixture(scope="module")
def split(tiny_classifier):
    images = block_images(40, seed=2)
    preds = tiny_classifier.predict(images).argmax(axis=1)
    labels = preds.copy()
    labels[::3] = (preds[::3] + 1) % 7  # every third image is an error
    return images, labels, preds


def run(classifier, split, cases=(0, 1, 2, 3), **kwargs):
    images, labels, preds = split
    methods = kwargs.pop("methods", METHODS)
    progress = kwargs.pop("progress", None)
    settings = AttributionSettings(**{"method_params": FAST, "mean_cap": 3, **kwargs})
    return run_attributions(classifier, images, labels, preds, np.array(cases),
                            int(preds[0]), methods, settings, progress)


@pytest.fixture(scope="module")
def result(tiny_classifier, split):
    return run(tiny_classifier, split)


def test_result_holds_everything_the_report_shows(result):
    assert result.methods == tuple(METHODS)
    assert result.device == "CPU" or result.device.startswith("GPU: ")
    assert result.case_images.shape == (4, 48, 48) and result.case_images.dtype == np.uint8
    assert result.case_probs.shape == (4, 7)
    for method in METHODS:
        assert result.case_maps[method].shape == (4, 48, 48)
        assert result.grid_maps[method].shape == (len(result.grid_indices), 7, 48, 48)
        assert result.seconds[method] >= 0
    assert set(result.segments) == {"lime"} and result.segments["lime"].shape == (4, 48, 48)
    assert result.mean_methods == ("saliency", "gradcam")  # gradient methods by default
    assert result.mean_maps["saliency"].shape == (8, 48, 48)
    assert (result.mean_counts <= 3).all() and result.mean_targets[-1] == result.sink_class
    assert "num_samples=150" in result.describe("lime")
    assert result.case_sources == ("#0", "#1", "#2", "#3")  # no sources given: the index


def test_cases_are_named_by_their_source_as_in_the_galleries(tiny_classifier, split):
    images, labels, preds = split
    sources = [f"row {i + 1}" for i in range(len(labels))]
    named = run_attributions(tiny_classifier, images, labels, preds, np.array([5, 2]),
                             int(preds[0]), ["saliency"], AttributionSettings(mean_cap=0),
                             sources=sources)
    assert named.case_sources == ("row 6", "row 3")
    assert named.grid_sources == tuple(sources[i] for i in named.grid_indices)


def test_grid_has_a_correct_case_then_an_error(result):
    assert len(result.grid_indices) == 2
    assert result.grid_labels[0] == result.grid_preds[0]
    assert result.grid_labels[1] != result.grid_preds[1]


def test_summary_is_json_with_counts_and_seconds(result):
    summary = json.loads(json.dumps(result.to_summary()))
    assert set(summary) == set(METHODS)
    assert summary["lime"]["n_images"] == 4 + 2 * 7
    assert summary["saliency"]["n_images"] == 4 + 2 * 7 + int(result.mean_counts.sum())
    assert summary["lime"]["params"]["num_samples"] == 150
    assert 30 <= summary["lime"]["segments_mean"] <= 60
    assert isinstance(summary["gradcam"]["seconds"], float)


def test_same_seed_same_maps(tiny_classifier, split, result):
    again = run(tiny_classifier, split)
    for method in METHODS:
        np.testing.assert_array_equal(again.case_maps[method], result.case_maps[method])
        np.testing.assert_array_equal(again.mean_maps.get(method), result.mean_maps.get(method))


def test_progress_is_reported_per_method(tiny_classifier, split):
    seen: dict[str, list[int]] = {}

    def progress(description, total):
        seen[description] = [total, 0]
        return lambda n: seen[description].__setitem__(1, seen[description][1] + n)

    run(tiny_classifier, split, methods=["saliency"], progress=progress)
    (total, done), = seen.values()
    assert total == done > 0


def test_unknown_method_is_an_input_error(tiny_classifier, split):
    with pytest.raises(InputError, match="unknown attribution method 'lrp'"):
        run(tiny_classifier, split, methods=["lrp"])


def test_gradcam_requested_on_a_bare_savedmodel_is_an_input_error(tiny_classifier, split):
    bare = Classifier(replace(tiny_classifier.model, keras_model=None), (48, 48),
                      tiny_classifier.scale)
    with pytest.raises(InputError, match="gradcam"):
        run(bare, split, methods=["gradcam"])


def test_no_cases_still_gives_a_result(tiny_classifier, split):
    images, labels, preds = split
    empty = run_attributions(tiny_classifier, images, labels, preds, np.zeros(0, int), 0,
                             ["saliency"], AttributionSettings(mean_cap=2))
    assert empty.case_maps["saliency"].shape == (0, 48, 48) and len(empty.grid_indices) == 0


def test_grid_cases_prefers_a_correct_case_and_an_error_into_the_sink():
    labels = np.array([1, 2, 3, 3, 5])
    preds = np.array([0, 2, 4, 3, 4])
    assert grid_cases(np.array([0, 1, 2, 3, 4]), labels, preds, sink_class=4).tolist() == [1, 2]
    assert grid_cases(np.array([0]), labels, preds, sink_class=4).tolist() == [0]


def test_mean_groups_cap_and_sink_errors():
    labels = np.array([0, 0, 0, 1, 1, 2])
    preds = np.array([0, 0, 0, 1, 2, 2])
    groups = mean_groups(labels, preds, n_classes=3, sink_class=2, cap=2, seed=0)
    assert [len(g) for g in groups] == [2, 1, 1, 1]
    assert set(groups[0]) <= {0, 1, 2} and groups[3].tolist() == [4]


def test_perturbation_only_runs_average_fewer_images(tiny_classifier, split):
    lime_only = run(tiny_classifier, split, methods=["lime"], mean_cap=20)
    assert lime_only.mean_methods == ("lime",)
    assert lime_only.mean_cap == 5 and (lime_only.mean_counts <= 5).all()


def test_a_case_in_two_groups_is_explained_once(tiny_classifier, split):
    twice = run(tiny_classifier, split, cases=(5, 2, 5), methods=["saliency"], mean_cap=0)
    maps = twice.case_maps["saliency"]
    assert maps.shape[0] == 3 and np.array_equal(maps[0], maps[2])
    assert twice.n_images["saliency"] == 2 + len(twice.grid_indices) * 7


def test_mean_maps_prefer_unsigned_gradient_methods(tiny_classifier, split):
    chosen = run(tiny_classifier, split, methods=["ig", "saliency"], mean_cap=1)
    assert chosen.mean_methods == ("saliency",)
    only_ig = run(tiny_classifier, split, methods=["ig"], mean_cap=1,
                  method_params={"ig": {"steps": 4}})
    assert only_ig.mean_methods == ("ig",) and only_ig.mean_cap == 1
