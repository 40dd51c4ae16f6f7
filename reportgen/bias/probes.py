"""Probe transforms: controlled edits of grey face crops, in a plain dict registry.

Every transform maps images (N, h, w) float32 in 0–255 to a new array of the same shape and
range. *Nuisance* probes (brightness, contrast, gamma, background, mirror, blur, and the ImageNet-C
corruptions of ``reportgen.bias.corruptions``: noise, blur, pixelation, JPEG, elastic warp) should
not change a facial expression, so a model that changes its answer under them relies on a shortcut.
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

from reportgen.bias.corruptions import CORRUPTIONS

CENTRE = (0.50, 0.52)  # (x, y), fractions of (w, h)
SEMI_AXES = (0.36, 0.46)  # (x, y), fractions of (w, h)
EDGE = 0.08  # soft-edge width, as a fraction of the ellipse radius
EYE_BAND = (0.21, 0.42)  # rows, fractions of h
MOUTH_BAND = (0.66, 0.88)  # rows, fractions of h
BAND_COLUMNS = (0.16, 0.84)  # columns, fractions of w

Transform = Callable[[np.ndarray], np.ndarray]


class ProbeKind(StrEnum):
    """Whether a probe should leave the expression unchanged (nuisance) or removes evidence."""

    NUISANCE = "nuisance"
    EVIDENCE = "evidence"


@dataclass(frozen=True)
class Probe:
    """One probe: ``family`` is its dose–response series (one edit at several strengths)."""

    name: str
    family: str
    label: str  # how a finding names the effect, e.g. "Dark-tone"
    description: str  # completes "… raises X predictions", e.g. "darkening images by 40%"
    kind: ProbeKind
    transform: Transform
    mechanism: str = ""  # what the edit does, e.g. "darkening"; findings are one per mechanism
    extreme: bool = False  # far outside natural photographs: supports, never alone decides
    strength: str = ""  # the dose within its family, e.g. "×0.6"
    family_label: str = ""  # how a dose–response curve names the family, e.g. "whole image"

    @property
    def words(self) -> str:
        """A short name in words for figure labels and tables ("Dark-background ×0.1, hard
        edge", "Gaussian noise, severity 3"), never the code name (``brightness_x0.8``)."""
        if self.strength.startswith("severity"):
            return f"{self.family_label[:1].upper()}{self.family_label[1:]}, {self.strength}"
        edge = ", hard edge" if "hard" in self.family else ""
        return f"{self.label} {self.strength}".strip() + edge

    @property
    def is_background(self) -> bool:
        """Edits only the area around the face."""
        return self.family.startswith("periphery")


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


def _periphery_scale(factor: float, hard: bool = False) -> Transform:
    def transform(images: np.ndarray) -> np.ndarray:
        face = face_weights(*images.shape[1:])
        if hard:  # a hard seam: a model keyed to a sharp boundary reacts to this one
            face = (face >= 0.5).astype(np.float32)
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


def _blur(pixels: float) -> Transform:
    def transform(images: np.ndarray) -> np.ndarray:
        sigma = pixels * images.shape[2] / 48.0
        return gaussian_filter(images, sigma=(0.0, sigma, sigma), mode="nearest")

    return transform


def _probe(name: str, family: str, mechanism: str, label: str, description: str,
           transform: Transform, kind: ProbeKind = ProbeKind.NUISANCE, extreme: bool = False,
           strength: str = "", family_label: str = "") -> tuple[str, Probe]:
    return name, Probe(name, family, label, description, kind, transform, mechanism, extreme,
                       strength, family_label or description)


def _series(prefix: str, family: str, mechanism: str, label: str, make: Callable[[float], Transform],
            strengths: tuple[float, ...], describe: Callable[[float], str],
            extreme_from: int | None = None, family_label: str = "",
            symbol: str = "×") -> list[tuple[str, Probe]]:
    """One dose–response family: the same edit at several strengths, mildest first; those from
    index ``extreme_from`` on are far outside natural photographs."""
    return [_probe(f"{prefix}{value:g}", family, mechanism, label, describe(value), make(value),
                   extreme=extreme_from is not None and i >= extreme_from,
                   strength=f"{symbol}{value:g}", family_label=family_label)
            for i, value in enumerate(strengths)]


def _corruption(family: str, mechanism: str, label: str, family_label: str,
                severities: tuple[int, ...], extreme_from: int | None = None) -> list[tuple[str, Probe]]:
    """An ImageNet-C family at ``severities`` (1–5), named e.g. ``gaussian_noise_s3``."""
    corruption = CORRUPTIONS[family]
    return _series(f"{family}_s", family, mechanism, label, corruption.make, severities,
                   corruption.describe, extreme_from, family_label, symbol="severity ")


def _darken(value: float) -> str:
    return f"darkening images by {1 - value:.0%}"


def _periphery(value: float, edge: str) -> str:
    verb = "darkening" if value < 1 else "brightening"
    return f"{verb} only the area around the face ×{value:g} ({edge} edge)"


# Each family is a dose–response series; ``mechanism`` groups the families whose edits act the
# same way (all darkenings, whole-image or background-only), so one finding per class and
# mechanism lists them all instead of several findings restating one effect.
PROBES: dict[str, Probe] = dict([
    *_series("brightness_x", "darker", "darkening", "Dark-tone", _scale, (0.8, 0.6, 0.4, 0.2),
             _darken, extreme_from=3, family_label="whole image"),
    *_series("brightness_x", "brighter", "brightening", "Bright-tone", _scale, (1.2, 1.4, 1.8),
             lambda v: f"brightening images by {v - 1:.0%}", extreme_from=2,
             family_label="whole image"),
    *_series("contrast_x", "low_contrast", "low contrast", "Low-contrast", _contrast, (0.6, 0.3),
             lambda v: f"lowering contrast by {1 - v:.0%}", extreme_from=1,
             family_label="contrast"),
    *_series("contrast_x", "high_contrast", "high contrast", "High-contrast", _contrast,
             (1.4, 2.0), lambda v: f"raising contrast by {v - 1:.0%}", extreme_from=1,
             family_label="contrast"),
    *_series("gamma_", "gamma_darker", "darkening", "Dark-midtone", _gamma, (1.5, 2.5),
             lambda v: f"darkening mid-tones (gamma {v:g})", extreme_from=1,
             family_label="mid-tones", symbol="gamma "),
    *_series("periphery_x", "periphery_darker", "darkening", "Dark-background",
             _periphery_scale, (0.7, 0.35, 0.1), lambda v: _periphery(v, "soft"),
             extreme_from=2, family_label="background only, soft edge"),
    *_series("periphery_hard_x", "periphery_darker_hard", "darkening", "Dark-background",
             lambda v: _periphery_scale(v, hard=True), (0.35, 0.1),
             lambda v: _periphery(v, "hard"), extreme_from=1,
             family_label="background only, hard edge"),
    *_series("periphery_x", "periphery_brighter", "brightening", "Bright-background",
             _periphery_scale, (1.4, 2.0), lambda v: _periphery(v, "soft"), extreme_from=1,
             family_label="background only"),
    _probe("face_only", "face_only", "background removal", "Background-dependence",
           "replacing the area around the face by its mean grey", _face_only),
    _probe("hflip", "hflip", "mirroring", "Mirror-asymmetry", "mirroring images left-right",
           _flip),
    _probe("occlude_eyes", "occlude_eyes", "eye occlusion", "Eye-region reliance",
           "covering the eye/brow band", _occlude(EYE_BAND), ProbeKind.EVIDENCE),
    _probe("occlude_mouth", "occlude_mouth", "mouth occlusion", "Mouth-region reliance",
           "covering the mouth band", _occlude(MOUTH_BAND), ProbeKind.EVIDENCE),
    _probe("blur", "blur", "blur", "Blur", "blurring images (Gaussian, sigma 1 px)", _blur(1.0),
           strength="sigma 1", family_label="Gaussian blur"),
    _probe("blur_2", "blur", "blur", "Blur", "blurring images (Gaussian, sigma 2 px)", _blur(2.0),
           extreme=True, strength="sigma 2", family_label="Gaussian blur"),
    # ImageNet-C corruptions (see ``corruptions`` for the 48 px mapping), two severities a
    # family (one for speckle and elastic warp, near the others); the strongest are extreme,
    # and so are salt-and-pepper pixels and pixelation blocks at any strength: photographs have
    # neither, and models trained apart disagree on them (on PublicTest, the dark→sad sample
    # model's pixelation effect toward 'neutral' exceeds the clean one's by 18 pp at severity 3)
    *_corruption("gaussian_noise", "noise", "Noise", "Gaussian noise", (3, 5), extreme_from=1),
    *_corruption("shot_noise", "noise", "Noise", "shot noise", (3, 5), extreme_from=1),
    *_corruption("impulse_noise", "noise", "Noise", "impulse noise", (1, 3), extreme_from=0),
    *_corruption("speckle_noise", "noise", "Noise", "speckle noise", (3,)),
    *_corruption("defocus_blur", "blur", "Blur", "defocus blur", (3, 5)),
    *_corruption("motion_blur", "blur", "Blur", "motion blur", (3, 5), extreme_from=1),
    *_corruption("zoom_blur", "blur", "Blur", "zoom blur", (3, 5), extreme_from=1),
    *_corruption("pixelate", "pixelation", "Pixelation", "pixelation", (2, 4), extreme_from=0),
    *_corruption("jpeg_compression", "compression", "Compression", "JPEG", (3, 5),
                 extreme_from=1),
    *_corruption("elastic_transform", "elastic warp", "Elastic-warp", "elastic warp", (5,)),
])


def apply_probe(probe: Probe, images: np.ndarray) -> np.ndarray:
    """Apply ``probe`` to images (N, h, w) in 0–255 (any dtype) → float32 (N, h, w) in 0–255."""
    result = probe.transform(np.asarray(images, dtype=np.float32))
    return np.asarray(result, dtype=np.float32)
