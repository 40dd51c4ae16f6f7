"""Evidence outside the face: known-answer maps, and linear models whose evidence is placed."""

from __future__ import annotations

import numpy as np

from reportgen.bias.localisation import normalised_attributions
from reportgen.bias.offface import off_face_findings, off_face_masks, off_face_shares
from reportgen.bias.probes import region_masks
from reportgen.severity import Severity
from tests.bias.conftest import (
    CLASS_NAMES,
    SIZE,
    _linear_model,
    gradient_attribute,
    make_classifier,
)

FEAR = 2


def test_masks_cover_the_bands_and_corners() -> None:
    masks = off_face_masks(48, 48)
    assert masks["top band"][:6].all() and not masks["top band"][6:].any()
    assert masks["bottom-right corner"][38:, 38:].all() and masks["bottom-right corner"].sum() == 100
    assert np.isclose(masks["outside the face"].sum(), region_masks(48, 48)["periphery"].sum())


def test_a_class_whose_maps_sit_in_one_corner_is_critical_there() -> None:
    rng = np.random.default_rng(0)
    preds = rng.integers(0, 7, size=700)
    maps = rng.random((700, 48, 48)).astype(np.float32)
    maps[preds == FEAR, 38:, 38:] += 5.0  # fear's evidence: the bottom-right corner
    maps /= maps.sum(axis=(1, 2), keepdims=True)
    result = off_face_shares(maps, preds, 7, seed=0)
    findings = off_face_findings(result, CLASS_NAMES)
    assert [f.class_name for f in findings] == ["fear"]
    assert findings[0].severity is Severity.CRITICAL
    assert "bottom-right corner" in findings[0].text and findings[0].probe == "saliency:bottom-right corner"
    r = result.regions.index("bottom-right corner")
    assert np.isclose(result.area_shares[r], 100 / 48**2)
    assert result.excess_ci[FEAR, r, 0] > 5 and result.ratio_ci[FEAR, r, 0] > 2


def test_uniform_maps_give_no_finding() -> None:
    rng = np.random.default_rng(1)
    maps = rng.random((700, 48, 48)).astype(np.float32)
    maps /= maps.sum(axis=(1, 2), keepdims=True)
    result = off_face_shares(maps, rng.integers(0, 7, size=700), 7, seed=0)
    assert off_face_findings(result, CLASS_NAMES) == []


def _face_patterns(patterns: np.ndarray) -> np.ndarray:
    """The class patterns kept inside the face ellipse: a model that looks only at the face."""
    face = region_masks(SIZE, SIZE)["face"].ravel() > 0.99
    return patterns * face


def test_linear_model_with_a_corner_cue_is_flagged_and_its_clean_twin_is_not(
    patterns: np.ndarray, faces: tuple[np.ndarray, np.ndarray],
) -> None:
    images = faces[0].copy()
    images[:125, 40:44, 40:44] = 255  # 125 images carry the mark (a leaky evaluation set)
    weights = _face_patterns(patterns)
    cue = np.zeros((SIZE, SIZE))
    cue[40:44, 40:44] = 1.0  # a white mark → fear; an ordinary corner (≤ 0.75) → not fear
    planted = weights.copy()
    planted[FEAR] += cue.ravel()
    bias = np.zeros(7)
    bias[FEAR] = -0.75 * cue.sum()
    results = {}
    for name, w, b in (("clean", weights, np.zeros(7)), ("planted", planted, bias)):
        classifier = make_classifier(_linear_model(w, b))
        preds = classifier.predict(images).argmax(axis=1)
        maps = normalised_attributions(gradient_attribute(classifier), images, preds)
        results[name] = off_face_findings(off_face_shares(maps, preds, 7, seed=0), CLASS_NAMES)
    assert results["clean"] == []
    (finding,) = [f for f in results["planted"] if f.severity is Severity.CRITICAL]
    assert finding.class_name == "fear" and "corner" in finding.text
