"""ImageNet-C corruptions: the probe contract, per-image determinism, known answers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from reportgen.bias.corruptions import CORRUPTIONS, GAUSSIAN, IMPULSE, JPEG, SHOT, SIDE
from reportgen.bias.draws import random_draws
from reportgen.bias.probes import PROBES

FAMILIES = list(CORRUPTIONS)
SEVERITIES = (1, 2, 3, 4, 5)


def _faces(n: int, height: int = 48, width: int = 48, seed: int = 0) -> np.ndarray:
    """(n, h, w) float32 smooth random grey images with integer levels, as decoded data."""
    rng = np.random.default_rng(seed)
    noise = gaussian_filter(rng.normal(size=(n, height, width)), sigma=(0, 2, 2))
    noise /= noise.std(axis=(1, 2), keepdims=True)
    means = rng.uniform(70, 180, size=(n, 1, 1))
    return np.rint(np.clip(means + 40 * noise, 0, 255)).astype(np.float32)


IMAGES = _faces(6)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", [(6, 48, 48), (2, 64, 40), (2, 50, 36)])
def test_shape_range_and_dtype(family: str, shape: tuple[int, int, int]) -> None:
    images = _faces(*shape)
    for severity in SEVERITIES:
        out = np.asarray(CORRUPTIONS[family].make(severity)(images), np.float32)
        assert out.shape == images.shape and np.isfinite(out).all()
        assert out.min() >= 0.0 and out.max() <= 255.0


@pytest.mark.parametrize("family", FAMILIES)
def test_each_image_gets_its_own_corruption_whatever_the_block(family: str) -> None:
    """Alone, in a block, in another order, twice: the same image gets the same bits."""
    transform = CORRUPTIONS[family].make(3)
    block = transform(IMAGES)
    np.testing.assert_array_equal(block, transform(IMAGES))
    alone = np.concatenate([transform(image[None]) for image in IMAGES])
    np.testing.assert_array_equal(block, alone)
    order = np.array([3, 0, 5, 1, 4, 2])
    np.testing.assert_array_equal(transform(IMAGES[order]), block[order])
    bigger = np.concatenate([_faces(9, seed=1), IMAGES[:2], IMAGES[:2]])
    out = transform(bigger)
    np.testing.assert_array_equal(out[9:11], block[:2])
    np.testing.assert_array_equal(out[11:], block[:2])


def test_draws_follow_the_image_not_its_position() -> None:
    flat = np.full((2, 48, 48), 128.0, np.float32)
    flat[1, 0, 0] = 129.0  # one grey level apart: different images, different noise
    draws = random_draws(flat, "gaussian_noise")
    assert (draws[0] != draws[1]).mean() > 0.99
    assert not np.array_equal(random_draws(flat, "speckle_noise"), draws)  # per family
    np.testing.assert_array_equal(random_draws(flat[1:], "gaussian_noise")[0], draws[1])


@pytest.mark.parametrize("family", FAMILIES)
def test_stronger_severity_changes_more(family: str) -> None:
    changes = [np.abs(CORRUPTIONS[family].make(s)(IMAGES) - IMAGES).mean() for s in SEVERITIES]
    assert np.all(np.diff(changes) > 0), changes


@pytest.mark.parametrize("severity", SEVERITIES)
def test_jpeg_equals_pillow_at_the_same_quality(severity: int) -> None:
    for block in (IMAGES, _faces(3, 50, 36, seed=3)):  # whole 8 × 8 blocks, and padded ones
        out = CORRUPTIONS["jpeg_compression"].make(severity)(block)
        for image, corrupted in zip(block.astype(np.uint8), out):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, "JPEG", quality=JPEG[severity - 1])
            np.testing.assert_array_equal(corrupted, np.asarray(Image.open(buffer)))


@pytest.mark.parametrize("family", ["pixelate", "defocus_blur", "zoom_blur", "motion_blur"])
def test_linear_corruptions_keep_a_constant_image(family: str) -> None:
    flat = np.full((2, 48, 48), 97.0, np.float32)
    for severity in SEVERITIES:
        np.testing.assert_allclose(CORRUPTIONS[family].make(severity)(flat), flat, atol=1e-3)


def test_pixelation_makes_blocks() -> None:
    out = CORRUPTIONS["pixelate"].make(5)(IMAGES)  # 48 px → 12 px: blocks of 4 × 4
    blocks = out.reshape(len(out), 12, 4, 12, 4)
    assert np.ptp(blocks, axis=(2, 4)).max() < 1e-3


def test_noise_is_the_same_scene_seen_at_48_px() -> None:
    """Sensor noise at 224 px, averaged over the (224/48)² pixels behind each 48 px one."""
    grey = np.full((40, 48, 48), 128.0, np.float32) + np.arange(40)[:, None, None]
    residual = CORRUPTIONS["gaussian_noise"].make(3)(grey) - grey
    assert residual.std() == pytest.approx(255 * GAUSSIAN[2] * 48 / SIDE, rel=0.02)
    assert abs(residual.mean()) < 0.2
    bigger = np.full((10, 96, 96), 128.0, np.float32) + np.arange(10)[:, None, None]
    wider = CORRUPTIONS["gaussian_noise"].make(3)(bigger) - bigger
    assert wider.std() == pytest.approx(2 * residual.std(), rel=0.03)
    flipped = CORRUPTIONS["impulse_noise"].make(4)(grey) != grey  # per pixel at any size
    assert flipped.mean() == pytest.approx(IMPULSE[3], rel=0.05)
    photons, dim = SHOT[2] * (SIDE / 48) ** 2, grey - 60
    counts = CORRUPTIONS["shot_noise"].make(3)(dim) * round(photons) / 255
    means = dim[:, 0, 0] / 255 * round(photons)
    np.testing.assert_allclose(counts.mean(axis=(1, 2)), means, rtol=0.02)  # Poisson: mean
    np.testing.assert_allclose(counts.var(axis=(1, 2)).mean(), means.mean(), rtol=0.05)  # = var
    assert np.allclose(counts, np.rint(counts), atol=1e-3)


def test_every_family_is_a_registered_probe_series() -> None:
    mechanisms = {"noise", "blur", "pixelation", "compression", "elastic warp"}
    for family in FAMILIES:
        members = [p for p in PROBES.values() if p.family == family]
        assert members, family
        for probe in members:
            assert probe.mechanism in mechanisms and probe.label[0].isupper()
            assert probe.name.startswith(f"{family}_s") and probe.strength.startswith("severity ")
            assert probe.description.split()[0].endswith("ing")  # "… raises X predictions"
    blur = {p.family for p in PROBES.values() if p.mechanism == "blur"}
    assert blur == {"blur", "defocus_blur", "motion_blur", "zoom_blur"}
    noise = [p for p in PROBES.values() if p.mechanism == "noise"]
    assert any(p.extreme for p in noise) and not all(p.extreme for p in noise)
