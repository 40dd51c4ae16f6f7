"""Probe transforms: controlled edits of grey face crops, in a plain dict registry.

Every transform maps images (N, h, w) float32 in 0–255 to a new array of the same shape and
range. *Nuisance* probes (brightness, contrast, gamma, background, mirror, blur) should not
change a facial expression, so a model that changes its answer under them relies on a shortcut.
*Evidence* probes (occluding the eye/brow or mouth band) remove real facial evidence, so a shift
is expected; they show what the model relies on rather than a shortcut.

Face geometry
-------------
FER2013 crops are registered so that the face fills the frame: on the mean PublicTest image the
brows sit at about 25% of the height, the eyes at 36%, the mouth at 75–85% and the cheeks span
17–83% of the width. All geometry is in fractions of the image size, so it holds for any h × w:

- face ellipse: centre (x, y) = (0.50 w, 0.52 h), semi-axes (0.36 w, 0.46 h); the *periphery*
  is everything outside it (about 48% of a 48 × 48 crop). The ellipse edge is softened over
  ``EDGE`` of its radius, so periphery edits leave no hard seam for the model to react to.
- eye/brow band: rows 0.21 h – 0.42 h; mouth band: rows 0.66 h – 0.88 h; both span columns
  0.16 w – 0.84 w (the face width).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter

CENTRE = (0.50, 0.52)  # (x, y), fractions of (w, h)
SEMI_AXES = (0.36, 0.46)  # (x, y), fractions of (w, h)
EDGE = 0.08  # soft-edge width, as a fraction of the ellipse radius
EYE_BAND = (0.21, 0.42)  # rows, fractions of h
MOUTH_BAND = (0.66, 0.88)  # rows, fractions of h
BAND_COLUMNS = (0.16, 0.84)  # columns, fractions of w
BLUR_SIGMA = 1.0  # pixels of a 48-pixel crop; scaled with the image width

Transform = Callable[[np.ndarray], np.ndarray]


class ProbeKind(StrEnum):
    """Whether a probe should leave the expression unchanged (nuisance) or removes evidence."""

    NUISANCE = "nuisance"
    EVIDENCE = "evidence"


@dataclass(frozen=True)
class Probe:
    """One probe: ``family`` groups probes that push the same way (e.g. both darkenings)."""

    name: str
    family: str
    label: str  # how a finding names the effect, e.g. "Dark-tone"
    description: str  # completes "… raises X predictions", e.g. "darkening images by 40%"
    kind: ProbeKind
    transform: Transform


@lru_cache(maxsize=8)
def face_weights(height: int, width: int) -> np.ndarray:
    """(h, w) float32 in [0, 1]: 1 inside the face ellipse, 0 in the periphery, soft edge."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    dx = (cols - CENTRE[0] * width) / (SEMI_AXES[0] * width)
    dy = (rows - CENTRE[1] * height) / (SEMI_AXES[1] * height)
    radius = np.sqrt(dx**2 + dy**2)
    weights = np.clip((1.0 + EDGE / 2 - radius) / EDGE, 0.0, 1.0).astype(np.float32)
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=16)
def band_mask(height: int, width: int, rows: tuple[float, float]) -> np.ndarray:
    """(h, w) bool: the band of ``rows`` (fractions of h) across the face width."""
    mask = np.zeros((height, width), dtype=bool)
    top, bottom = round(rows[0] * height), round(rows[1] * height)
    left, right = round(BAND_COLUMNS[0] * width), round(BAND_COLUMNS[1] * width)
    mask[top:bottom, left:right] = True
    mask.setflags(write=False)
    return mask


def region_masks(height: int, width: int) -> dict[str, np.ndarray]:
    """Soft (h, w) float32 weights of the four regions used for attribution shares."""
    face = face_weights(height, width)
    return {
        "face": face,
        "periphery": 1.0 - face,
        "eye band": band_mask(height, width, EYE_BAND).astype(np.float32),
        "mouth band": band_mask(height, width, MOUTH_BAND).astype(np.float32),
    }


def _scale(factor: float) -> Transform:
    return lambda images: np.clip(images * factor, 0.0, 255.0)


def _contrast(factor: float) -> Transform:
    def transform(images: np.ndarray) -> np.ndarray:
        means = images.mean(axis=(1, 2), keepdims=True)  # per image, so brightness is kept
        return np.clip(means + factor * (images - means), 0.0, 255.0)

    return transform


def _gamma(gamma: float) -> Transform:
    return lambda images: 255.0 * (np.clip(images, 0.0, 255.0) / 255.0) ** gamma


def _periphery_scale(factor: float) -> Transform:
    def transform(images: np.ndarray) -> np.ndarray:
        face = face_weights(*images.shape[1:])
        return np.clip(images * (face + (1.0 - face) * factor), 0.0, 255.0)

    return transform


def _face_only(images: np.ndarray) -> np.ndarray:
    face = face_weights(*images.shape[1:])
    periphery = 1.0 - face
    fill = (images * periphery).sum(axis=(1, 2), keepdims=True) / periphery.sum()
    return images * face + fill * periphery


def _flip(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(images[:, :, ::-1])


def _occlude(rows: tuple[float, float]) -> Transform:
    def transform(images: np.ndarray) -> np.ndarray:
        mask = band_mask(*images.shape[1:], rows)
        fill = images.mean(axis=(1, 2), keepdims=True)  # the image's own mean: no new tone
        return np.where(mask, fill, images)

    return transform


def _blur(images: np.ndarray) -> np.ndarray:
    sigma = BLUR_SIGMA * images.shape[2] / 48.0
    return gaussian_filter(images, sigma=(0.0, sigma, sigma), mode="nearest")


def _probe(name: str, family: str, label: str, description: str, transform: Transform,
           kind: ProbeKind = ProbeKind.NUISANCE) -> tuple[str, Probe]:
    return name, Probe(name, family, label, description, kind, transform)


PROBES: dict[str, Probe] = dict([
    _probe("brightness_x0.6", "darker", "Dark-tone", "darkening images by 40%", _scale(0.6)),
    _probe("brightness_x0.8", "darker", "Dark-tone", "darkening images by 20%", _scale(0.8)),
    _probe("brightness_x1.2", "brighter", "Bright-tone", "brightening images by 20%", _scale(1.2)),
    _probe("brightness_x1.4", "brighter", "Bright-tone", "brightening images by 40%", _scale(1.4)),
    _probe("contrast_x0.6", "low_contrast", "Low-contrast", "lowering contrast by 40%",
           _contrast(0.6)),
    _probe("contrast_x1.4", "high_contrast", "High-contrast", "raising contrast by 40%",
           _contrast(1.4)),
    # One gamma (darker mid-tones, as under-exposure): the brightness probes already cover
    # lighter images, and each probe costs a forward pass over the whole split.
    _probe("gamma_1.5", "gamma_darker", "Dark-midtone", "darkening mid-tones (gamma 1.5)",
           _gamma(1.5)),
    _probe("periphery_x0.6", "periphery_darker", "Dark-background",
           "darkening only the area around the face by 40%", _periphery_scale(0.6)),
    _probe("periphery_x1.4", "periphery_brighter", "Bright-background",
           "brightening only the area around the face by 40%", _periphery_scale(1.4)),
    _probe("face_only", "face_only", "Background-dependence",
           "replacing the area around the face by its mean grey", _face_only),
    _probe("hflip", "hflip", "Mirror-asymmetry", "mirroring images left-right", _flip),
    _probe("occlude_eyes", "occlude_eyes", "Eye-region reliance",
           "covering the eye/brow band", _occlude(EYE_BAND), ProbeKind.EVIDENCE),
    _probe("occlude_mouth", "occlude_mouth", "Mouth-region reliance",
           "covering the mouth band", _occlude(MOUTH_BAND), ProbeKind.EVIDENCE),
    _probe("blur", "blur", "Blur", "blurring images (Gaussian, sigma 1 px)", _blur),
])


def apply_probe(probe: Probe, images: np.ndarray) -> np.ndarray:
    """Apply ``probe`` to images (N, h, w) in 0–255 (any dtype) → float32 (N, h, w) in 0–255."""
    result = probe.transform(np.asarray(images, dtype=np.float32))
    return np.asarray(result, dtype=np.float32)
