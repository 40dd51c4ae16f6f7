"""Probe transforms: shapes, ranges, per-image independence and known answers."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.bias.probes import (
    EYE_BAND,
    MOUTH_BAND,
    PROBES,
    ProbeKind,
    apply_probe,
    band_mask,
    face_weights,
)

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(5, 48, 48)).astype(np.uint8)


def test_registry_covers_the_issue_probes() -> None:
    families = {probe.family for probe in PROBES.values()}
    assert {"darker", "brighter", "low_contrast", "high_contrast", "gamma_darker",
            "periphery_darker", "periphery_brighter", "face_only", "hflip", "occlude_eyes",
            "occlude_mouth", "blur"} <= families
    # dose–response: several strengths per family, strong ones included
    assert {name for name in PROBES if name.startswith("brightness")} == {
        "brightness_x0.2", "brightness_x0.4", "brightness_x0.6", "brightness_x0.8",
        "brightness_x1.2", "brightness_x1.4", "brightness_x1.8"}
    assert {"periphery_x0.7", "periphery_x0.35", "periphery_x0.1", "periphery_hard_x0.35",
            "periphery_hard_x0.1"} <= set(PROBES)
    assert all(p.mechanism for p in PROBES.values())
    assert {p.kind for p in PROBES.values() if p.family.startswith("occlude")} == {
        ProbeKind.EVIDENCE}


@pytest.mark.parametrize("name", list(PROBES))
def test_probe_contract(name: str) -> None:
    """Same shape, float32, 0–255, deterministic, and each image edited on its own."""
    probe = PROBES[name]
    out = apply_probe(probe, IMAGES)
    assert out.shape == IMAGES.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 255.0
    np.testing.assert_array_equal(out, apply_probe(probe, IMAGES))
    one_by_one = np.concatenate([apply_probe(probe, image[None]) for image in IMAGES])
    np.testing.assert_allclose(out, one_by_one, atol=1e-4)


@pytest.mark.parametrize("name", list(PROBES))
def test_probe_works_on_other_sizes(name: str) -> None:
    images = RNG.uniform(0, 255, size=(2, 64, 40)).astype(np.float32)
    assert apply_probe(PROBES[name], images).shape == (2, 64, 40)


def test_brightness_and_contrast_known_answers() -> None:
    flat = np.full((1, 48, 48), 100.0, np.float32)
    assert np.allclose(apply_probe(PROBES["brightness_x0.6"], flat), 60.0)
    assert np.allclose(apply_probe(PROBES["brightness_x1.4"], flat), 140.0)
    assert np.allclose(apply_probe(PROBES["brightness_x1.4"], flat * 2.5), 255.0)  # clipped
    assert np.allclose(apply_probe(PROBES["contrast_x0.6"], flat), 100.0)  # no contrast to change
    two_tone = np.where(np.arange(48) < 24, 80.0, 120.0)[None, None, :].repeat(48, 1)
    lowered = apply_probe(PROBES["contrast_x0.6"], two_tone)
    assert np.allclose(np.unique(lowered), [88.0, 112.0])  # mean 100 kept, spread x0.6


def test_gamma_keeps_black_and_white() -> None:
    ends = np.array([[[0.0, 255.0]]], np.float32)
    np.testing.assert_allclose(apply_probe(PROBES["gamma_1.5"], ends), ends, atol=1e-3)
    mid = np.full((1, 2, 2), 127.5, np.float32)
    assert apply_probe(PROBES["gamma_1.5"], mid) == pytest.approx(255 * 0.5**1.5)


def test_face_geometry() -> None:
    face = face_weights(48, 48)
    assert face[25, 24] == 1.0 and face[0, 0] == 0.0 and face[47, 47] == 0.0
    assert 0.44 < 1.0 - face.mean() < 0.52  # periphery is about 48% of the crop
    eyes, mouth = band_mask(48, 48, EYE_BAND), band_mask(48, 48, MOUTH_BAND)
    assert not (eyes & mouth).any()
    assert eyes[17, 24] and mouth[36, 24] and not eyes[36, 24]


def test_periphery_probes_leave_the_face_alone() -> None:
    face = face_weights(48, 48) == 1.0
    periphery = face_weights(48, 48) == 0.0
    images = IMAGES.astype(np.float32)
    darker = apply_probe(PROBES["periphery_x0.35"], images)
    np.testing.assert_allclose(darker[:, face], images[:, face])
    np.testing.assert_allclose(darker[:, periphery], images[:, periphery] * 0.35, rtol=1e-6)
    hard = apply_probe(PROBES["periphery_hard_x0.35"], images)
    inside = face_weights(48, 48) >= 0.5
    np.testing.assert_allclose(hard[:, inside], images[:, inside])
    np.testing.assert_allclose(hard[:, ~inside], images[:, ~inside] * 0.35, rtol=1e-6)
    only = apply_probe(PROBES["face_only"], images)
    np.testing.assert_allclose(only[:, face], images[:, face])
    assert np.ptp(only[0][periphery]) < 1e-3  # one flat grey around the face


def test_flip_and_occlusion() -> None:
    images = IMAGES.astype(np.float32)
    flipped = apply_probe(PROBES["hflip"], images)
    np.testing.assert_array_equal(apply_probe(PROBES["hflip"], flipped), images)
    covered = apply_probe(PROBES["occlude_mouth"], images)
    mouth = band_mask(48, 48, MOUTH_BAND)
    np.testing.assert_array_equal(covered[:, ~mouth], images[:, ~mouth])
    assert np.allclose(covered[:, mouth], images.mean(axis=(1, 2))[:, None])


def test_blur_smooths_but_keeps_the_mean() -> None:
    images = IMAGES.astype(np.float32)
    blurred = apply_probe(PROBES["blur"], images)
    assert blurred.std() < images.std()
    assert abs(blurred.mean() - images.mean()) < 1.0
