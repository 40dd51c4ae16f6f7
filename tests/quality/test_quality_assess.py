"""The whole stage: assess_explanations → summary, figures and the report partial."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from markupsafe import escape

from reportgen.attributions import AttributionSettings, make_explainer
from reportgen.loading.model import Classifier
from reportgen.quality import QualityResult, QualitySettings, assess_explanations
from reportgen.report.figures.quality import quality_figures
from reportgen.report.render import make_environment

CLASS_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
METHODS = ["saliency", "gradcam", "ig", "lime"]
PARAMS: dict[str, dict[str, object]] = {"ig": {"steps": 8}, "lime": {"num_samples": 150}}
SETTINGS = QualitySettings(n_steps=8, n_sanity=3)


def explain(classifier: Classifier, images: np.ndarray,
            targets: np.ndarray) -> dict[str, np.ndarray]:
    return {m: make_explainer(m, classifier, seed=0, **PARAMS.get(m, {})).explain(images, targets)
            for m in METHODS}


@pytest.fixture(scope="module")
def assessed(quadrant_classifier, images) -> QualityResult:
    targets = quadrant_classifier.predict(images).argmax(axis=1)
    maps = explain(quadrant_classifier, images, targets)
    calls: list[tuple[str, int]] = []

    def progress(description: str, total: int) -> None:
        calls.append((description, total))

    result = assess_explanations(quadrant_classifier, images, targets, maps, METHODS,
                                 AttributionSettings(seed=0, method_params=PARAMS),
                                 progress=progress, settings=SETTINGS)
    assert [c[0] for c in calls] == ["quality: faithfulness", "quality: sanity check",
                                     "quality: stability"]
    return result


def test_summary_has_the_contracted_keys_and_is_plain_json(assessed) -> None:
    summary = json.loads(json.dumps(assessed.to_summary(), allow_nan=False))
    assert set(summary["methods"]) == set(METHODS)
    for stats in summary["methods"].values():
        for key in ("deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc",
                    "faithfulness", "faithfulness_ci", "rank"):
            assert stats[key] is not None
        assert set(stats["sanity"]) >= {"spearman", "ssim", "passed"}
    for method in ("saliency", "gradcam", "ig"):  # deterministic: no stability to measure
        assert summary["methods"][method]["stability"] is None
    assert 0 <= summary["methods"]["lime"]["stability"]["jaccard"] <= 1
    # LIME is re-explained with every layer randomised only (the cost): earlier stages are null.
    stages = summary["methods"]["lime"]["sanity"]["stages"]
    assert len(stages) == 2  # the quadrant model has two weight layers: top one, then all
    assert stages[0]["spearman"] is None and stages[1]["spearman"] is not None
    assert sorted(s["rank"] for s in summary["methods"].values()) == [1, 2, 3, 4]
    assert summary["agreement"]["methods"] == METHODS
    assert np.array(summary["agreement"]["matrix"]).shape == (4, 4)
    assert summary["verdict"] == assessed.verdict and len(summary["verdict"]) > 50
    assert summary["settings"]["n_sanity"] == 3


def test_every_method_beats_random_on_the_quadrant_model(assessed) -> None:
    for row in assessed.rows:
        assert row.deletion_auc < row.random_deletion_auc
        assert row.faithfulness > 0


def test_figures_and_partial_render(assessed) -> None:
    figures = quality_figures(assessed, CLASS_NAMES)
    for key in ("curves", "example", "agreement", "sanity"):
        assert str(figures[key]).startswith("data:image/png;base64,")
    html = make_environment().get_template("sections/quality.html").render(
        quality=assessed, quality_figs=figures, class_names=CLASS_NAMES)
    assert "Which explanations to trust" in html
    assert f"<b>Verdict.</b> {escape(assessed.verdict)}" in html
    for row in assessed.rows:
        assert row.title in html


def test_a_bare_saved_model_skips_the_sanity_check(quadrant_classifier, images) -> None:
    bare = Classifier(replace(quadrant_classifier.model, keras_model=None), (48, 48),
                      quadrant_classifier.scale)
    targets = bare.predict(images).argmax(axis=1)
    maps = {"saliency": make_explainer("saliency", bare).explain(images, targets)}
    result = assess_explanations(bare, images, targets, maps, ["saliency"], settings=SETTINGS)
    sanity = result.to_summary()["methods"]["saliency"]["sanity"]
    assert sanity["run"] is False and sanity["passed"] is None and "SavedModel" in sanity["reason"]
    figures = quality_figures(result, CLASS_NAMES)
    assert figures["sanity"] is None and figures["agreement"] is None
    html = make_environment().get_template("sections/quality.html").render(
        quality=result, quality_figs=figures, class_names=CLASS_NAMES)
    assert "could not run" in html


def test_no_cases_is_an_error(quadrant_classifier) -> None:
    with pytest.raises(ValueError, match="at least one"):
        assess_explanations(quadrant_classifier, np.zeros((0, 48, 48), np.uint8), np.zeros(0, int),
                            {"saliency": np.zeros((0, 48, 48))}, ["saliency"])


def test_every_stochastic_method_gets_a_stability_row(quadrant_classifier, images) -> None:
    """Stability follows ``Explainer.stochastic``, so SmoothGrad (a gradient method) has one."""
    targets = quadrant_classifier.predict(images).argmax(axis=1)
    params = {"smoothgrad": {"n_samples": 8}}
    maps = {m: make_explainer(m, quadrant_classifier, seed=0, **params.get(m, {}))
            .explain(images, targets) for m in ("smoothgrad", "saliency")}
    result = assess_explanations(quadrant_classifier, images, targets, maps,
                                 ["smoothgrad", "saliency"],
                                 AttributionSettings(seed=0, method_params=params),
                                 settings=replace(SETTINGS, n_sanity=1))
    summary = result.to_summary()["methods"]
    assert summary["saliency"]["stability"] is None
    assert -1 <= summary["smoothgrad"]["stability"]["spearman"] <= 1
    assert summary["smoothgrad"]["stability"]["seeds"] == [0, 1]
