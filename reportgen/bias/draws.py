"""Random draws that are a function of each image's own pixels, never of its batch position.

A probe that adds noise must give an image the same noise whether it is edited alone, in a block
of 2048 or on another executor. Each image's key is a hash of its pixels (as float32 bytes); the
draws are SplitMix64 outputs of that key, a constant per family (``salt``) and the pixel's
index: a counter-based generator, vectorised over the batch with wrapping uint64 arithmetic.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np
from scipy import special

_GOLDEN, _MIX1, _MIX2 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9),
                         np.uint64(0x94D049BB133111EB))


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise on uint64."""
    values = (values ^ (values >> np.uint64(30))) * _MIX1
    values = (values ^ (values >> np.uint64(27))) * _MIX2
    return values ^ (values >> np.uint64(31))


@lru_cache(maxsize=8)
def _counters(size: int) -> np.ndarray:
    counters = np.arange(1, size + 1, dtype=np.uint64) * _GOLDEN
    counters.setflags(write=False)
    return counters


def image_keys(images: np.ndarray) -> np.ndarray:
    """(N, h, w) → (N,) uint64: a hash of each image's own pixels."""
    flat = np.ascontiguousarray(images, np.float32).reshape(len(images), -1).view(np.uint32)
    weights = _mix(_counters(flat.shape[1])) | np.uint64(1)
    return _mix((flat.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64))


def _keys(images: np.ndarray, family: str, stream: int) -> np.ndarray:
    salt = np.uint64(zlib.crc32(family.encode()) << 8 | stream)
    return _mix(image_keys(images) ^ salt)


def image_uniforms(images: np.ndarray, family: str, stream: int = 0) -> np.ndarray:
    """(N, h, w) → (N,) float64 uniforms in (0, 1): one draw per image (an angle, a shift)."""
    return uniforms(_keys(images, family, stream))


def random_draws(images: np.ndarray, family: str, bits: int = 16, stream: int = 0) -> np.ndarray:
    """(N, h, w) → (N, h, w) random unsigned integers of ``bits`` (16, 32 or 64) bits, one per
    pixel, a function of the image, ``family`` and ``stream`` alone."""
    n_images, height, width = images.shape
    words = _mix(_keys(images, family, stream)[:, None]
                 + _counters(-(-height * width * bits // 64)))
    draws = words.view(np.dtype(f"uint{bits}"))[:, : height * width]
    return draws.reshape(n_images, height, width)


def uniforms(draws: np.ndarray) -> np.ndarray:
    """Unsigned integer draws → float64 uniforms in (0, 1), same shape."""
    return (draws.astype(np.float64) + 0.5) / float(np.iinfo(draws.dtype).max + 1)


@lru_cache(maxsize=1)
def _normal_table() -> np.ndarray:
    levels = 1 << 16
    table = special.ndtri((np.arange(levels) + 0.5) / levels).astype(np.float32)
    table.setflags(write=False)
    return table


def normals(images: np.ndarray, family: str) -> np.ndarray:
    """(N, h, w) → (N, h, w) float32 standard normal draws, one per pixel: the normal quantile
    of a 16-bit uniform (2^16 levels, |z| ≤ 4.3; a table look-up, 14× faster than ``ndtri``)."""
    return _normal_table()[random_draws(images, family)]
