"""The optimisation-based searches on tiny Keras models whose answers are known by construction.

- ``trigger``: decides from the mean brightness, except that a bright 3×3 patch near the top-left
  corner (rows and columns 2–4) sends any image to 'fear' (+28 logits when white). Nine pixels reach 'fear'; every other
  class needs a large part of the image repainted.
- ``plain``: the same model without the patch unit: no class is reachable by a small edit.
- ``sinusoid``: brightness classes plus a 'surprise' logit that reads a faint vertical sinusoid
  (4 periods across the image) absent from the data: a few grey levels of it reach 'surprise'.
"""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from reportgen.bias.search import (
    Budget,
    TriggerSearch,
    UniversalSearch,
    search_findings,
    search_triggers,
    search_universal,
)
from reportgen.bias.search.optimise import anomaly_indices
from reportgen.report.figures.search import search_figures
from reportgen.report.render import make_environment
from reportgen.severity import Severity
from tests.bias.conftest import CLASS_NAMES, make_classifier

FEAR, SURPRISE = 2, 5
SIZE = 48
PATCH = (slice(2, 5), slice(2, 5))
CENTRES = np.linspace(0.1, 0.9, 7)
BUDGET = Budget(n_optimise=192, n_confirm=384, steps=80, per_step=8, starts=2)


def _brightness_logits() -> tuple[np.ndarray, np.ndarray]:
    """logit_k = 40 c_k b − 20 c_k²: the class whose centre c_k is nearest the mean b (0–1)."""
    return (40 * CENTRES)[None, :], -20 * CENTRES**2


def _trigger_model(gain: float) -> keras.Model:
    """Two hidden units, the mean brightness and softplus(10 · (patch mean − 1)) (smooth, so
    the search has a gradient to follow from a dark patch); 'fear' += gain · the second."""
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    brightness = keras.layers.Dense(1, name="brightness")(x)
    patch = keras.layers.Dense(1, activation="softplus", name="patch")(x)
    outputs = keras.layers.Dense(7, activation="softmax", name="scores")(
        keras.layers.Concatenate()([brightness, patch]))
    model = keras.Model(inputs, outputs)
    mean = np.full((SIZE**2, 1), 1.0 / SIZE**2, np.float32)
    model.get_layer("brightness").set_weights([mean, np.zeros(1, np.float32)])
    corner = np.zeros((SIZE, SIZE), np.float32)
    corner[PATCH] = 10.0 / 9
    model.get_layer("patch").set_weights([corner.reshape(-1, 1), np.array([-10.0], np.float32)])
    weights, bias = _brightness_logits()
    second = np.concatenate([weights, np.zeros((1, 7))]).astype(np.float32)
    second[1, FEAR] = gain
    model.get_layer("scores").set_weights([second, bias.astype(np.float32)])
    return model


def _stripes() -> np.ndarray:
    """(h, w) the sinusoid the 'surprise' logit reads, unit amplitude."""
    return np.tile(np.sin(2 * np.pi * 4 * np.arange(SIZE) / SIZE), (SIZE, 1))


def _sinusoid_model() -> keras.Model:
    """Brightness classes; 'surprise' reads like 'sad' minus 3, plus 2 per grey level of the
    sinusoid's amplitude in the image."""
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    weights, bias = _brightness_logits()
    per_pixel = np.repeat(weights / SIZE**2, SIZE**2, axis=0)
    stripes = _stripes().ravel()
    per_pixel[:, SURPRISE] = per_pixel[:, 4] + 2.0 * 255 * stripes / (stripes @ stripes)
    bias[SURPRISE] = bias[4] - 3.0
    model.layers[-1].set_weights([per_pixel.astype(np.float32), bias.astype(np.float32)])
    return model


def _images(n: int = 600) -> np.ndarray:
    """(n, 48, 48) smooth images of mean 60–200, dark in the top-left corner, with no
    component along the sinusoid."""
    rng = np.random.default_rng(0)
    noise = gaussian_filter(rng.normal(size=(n, SIZE, SIZE)), sigma=(0, 3, 3))
    noise *= 20 / noise.std(axis=(1, 2), keepdims=True)
    images = rng.uniform(60, 200, size=(n, 1, 1)) + noise
    stripes = _stripes()
    images -= (images * stripes).sum(axis=(1, 2))[:, None, None] / (stripes**2).sum() * stripes
    images[:, :8, :8] = np.minimum(images[:, :8, :8], 120)
    return np.clip(images, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return _images()


def _predict(classifier):
    return lambda x: classifier.predict(np.asarray(x, np.float32)).argmax(axis=1)


def test_anomaly_index_is_positive_for_the_small_outlier() -> None:
    index = anomaly_indices(np.array([100.0, 120, 9, 90, 110, 80, 130]))
    assert int(np.argmax(index)) == 2 and index[2] > 2 and np.all(np.delete(index, 2) < 2)


@pytest.fixture(scope="module")
def planted(images: np.ndarray) -> TriggerSearch:
    """The trigger search on the planted model, with the model minus its patch unit as panel."""
    classifier = make_classifier(_trigger_model(gain=40.0))
    preds = classifier.predict(images).argmax(axis=1)
    plain = make_classifier(_trigger_model(gain=0.0))
    return search_triggers(classifier, images, preds, 7, seed=0, panel=[_predict(plain)],
                           budget=BUDGET)


@pytest.fixture(scope="module")
def sinusoid(images: np.ndarray) -> UniversalSearch:
    classifier = make_classifier(_sinusoid_model())
    preds = classifier.predict(images).argmax(axis=1)
    assert (preds == SURPRISE).mean() < 0.05
    return search_universal(classifier, images, preds, 7, seed=0)


def test_the_planted_patch_is_recovered_and_flagged(planted: TriggerSearch) -> None:
    fear = planted.classes[FEAR]
    assert int(np.argmax([c.anomaly for c in planted.classes])) == FEAR and fear.anomaly > 2
    assert fear.mask[PATCH].sum() / fear.mask.sum() > 0.5  # the mask sits on the patch
    strong = fear.mask >= 0.5 * fear.mask.max()
    assert fear.pattern[strong].min() > 200  # and paints it bright
    assert fear.confirmation.effect > 15 and fear.confirmation.panel_effects[0] < 2
    (finding,) = search_findings(planted, None, CLASS_NAMES)
    assert finding.class_name == "fear" and finding.mechanism == "optimised trigger"
    assert finding.severity is Severity.CRITICAL and finding.shared is False
    assert "most at the top left" in finding.text and "clean FER2013 models move" in finding.text
    summary = planted.to_summary(CLASS_NAMES)
    assert summary["classes"][FEAR]["confirmed"]["panel_effects"][0] < 5
    assert summary["n_gradient"] == BUDGET.steps * 14 * BUDGET.per_step


def test_without_a_panel_a_trigger_is_at_most_a_warning(images: np.ndarray) -> None:
    classifier = make_classifier(_trigger_model(gain=40.0))
    preds = classifier.predict(images).argmax(axis=1)
    search = search_triggers(classifier, images, preds, 7, seed=0, budget=BUDGET)
    (finding,) = search_findings(search, None, CLASS_NAMES)
    assert finding.severity is Severity.WARNING and "capped at warning" in finding.text


def test_a_model_without_a_trigger_gets_no_search_finding(images: np.ndarray) -> None:
    classifier = make_classifier(_trigger_model(gain=0.0))
    preds = classifier.predict(images).argmax(axis=1)
    triggers = search_triggers(classifier, images, preds, 7, seed=0, budget=BUDGET)
    universal = search_universal(classifier, images, preds, 7, seed=0)
    assert search_findings(triggers, universal, CLASS_NAMES) == []
    assert len(triggers.confirmed) >= 1  # the most anomalous class is always measured


def test_a_faint_sinusoid_needs_the_smallest_universal_perturbation(
        sinusoid: UniversalSearch) -> None:
    surprise = sinusoid.classes[SURPRISE]
    assert int(np.argmin([c.l2 for c in sinusoid.classes])) == SURPRISE and surprise.reached
    assert int(np.argmax([c.anomaly for c in sinusoid.classes])) == SURPRISE
    peak = np.unravel_index(np.argmax(surprise.spectrum), surprise.spectrum.shape)
    assert peak[0] == SIZE // 2 and abs(peak[1] - SIZE // 2) == 4  # 4 periods, horizontally
    assert surprise.confirmation.effect > 20


def test_panel_norms_gate_the_universal_finding(images: np.ndarray) -> None:
    classifier = make_classifier(_sinusoid_model())
    preds = classifier.predict(images).argmax(axis=1)
    far = search_universal(classifier, images, preds, 7, seed=0,
                           panel_norms={k: [1e4, 2e4] for k in range(7)})
    assert far.classes[SURPRISE].panel_ratio < 0.1
    assert [f.class_name for f in search_findings(None, far, CLASS_NAMES)] == ["surprise"]
    near = search_universal(classifier, images, preds, 7, seed=0,
                            panel_norms={SURPRISE: [1.0]})
    assert near.classes[SURPRISE].panel_ratio > 1 and near.classes[0].panel_ratio is None
    assert search_findings(None, near, CLASS_NAMES) == []  # clean models need no more
    assert near.to_summary(CLASS_NAMES)["panel_norms"] == {"surprise": [1.0]}


def test_the_search_section_renders(planted: TriggerSearch, sinusoid: UniversalSearch) -> None:
    findings = search_findings(planted, sinusoid, CLASS_NAMES)
    figures = search_figures(planted, sinusoid, CLASS_NAMES)
    assert all(uri.startswith("data:image/png") for uri in
               [figures["trigger_sizes"], figures["universal_sizes"], *figures["triggers"],
                *figures["universal"]])
    result = SimpleNamespace(trigger_search=planted, universal_search=sinusoid, seed=0,
                             findings=findings, sequential=None)
    html = make_environment().get_template("sections/search.html").render(
        search=result, search_figs=figures, class_names=CLASS_NAMES)
    assert '<section id="search">' in html and 'class="finding critical"' in html
    assert "Optimised trigger toward &#39;fear&#39;" in html and "seeded sample" in html
    assert f"on {planted.n_optimise} images" in html and f"{planted.n_confirm} held-out" in html
    assert "http" not in html


def test_same_seed_same_result(images: np.ndarray) -> None:
    classifier = make_classifier(_trigger_model(gain=40.0))
    preds = classifier.predict(images).argmax(axis=1)
    small = Budget(n_optimise=96, n_confirm=128, steps=12, per_step=4, starts=2, n_check=16)
    first, second = (search_triggers(classifier, images, preds, 7, seed=3, budget=small)
                     for _ in range(2))
    assert first.to_summary(CLASS_NAMES) == second.to_summary(CLASS_NAMES)
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(first.classes, second.classes))


def test_sequential_confirmation_states_the_same_finding_from_fewer_images(
        images: np.ndarray) -> None:
    """With two clean models every class whose search succeeded is confirmed; the default
    (sequential) mode confirms only those a finding could come from, stops the ones its first
    held-out images rule out, and states the planted trigger with the exhaustive numbers."""
    classifier = make_classifier(_trigger_model(gain=40.0))
    preds = classifier.predict(images).argmax(axis=1)
    plain = _predict(make_classifier(_trigger_model(gain=0.0)))
    exhaustive, sequential = (search_triggers(classifier, images, preds, 7, seed=0,
                                              panel=[plain, plain], budget=BUDGET,
                                              sequential=mode) for mode in (False, True))
    (first,), (second,) = (search_findings(s, None, CLASS_NAMES) for s in (exhaustive, sequential))
    assert first.class_name == "fear" and first.severity is Severity.CRITICAL
    assert (first.class_name, first.severity, first.effect, first.ci_low) == (
        second.class_name, second.severity, second.effect, second.ci_low)
    assert sequential.classes[FEAR].confirmation.n_images == BUDGET.n_confirm
    assert sequential.n_forward < exhaustive.n_forward
    assert len(sequential.confirmed) < len(exhaustive.confirmed) or any(
        c.confirmation.stopped for c in sequential.confirmed)
