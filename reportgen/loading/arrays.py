"""A ``Dataset`` from images and labels already in memory (the Python API's ``data=(images, labels)``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from reportgen.errors import InputError
from reportgen.loading.dataset import FER2013_CLASSES, IMAGE_SIZE, Dataset

IN_MEMORY = Path("<in-memory arrays>")
# ITU-R 601 luma, the weights PIL's convert("L") uses for image folders, so both paths agree.
LUMA = np.array([0.299, 0.587, 0.114])


def dataset_from_arrays(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: tuple[str, ...] = FER2013_CLASSES,
) -> Dataset:
    """Images (N, H, W) or (N, H, W, C) with C 1 or 3, uint8 0–255 or float (0–1, 0–255 or −1–1),
    and labels (N,) integer class indices → a Dataset of (N, 48, 48) uint8 grey images.

    Colour is converted to grey and other sizes are resized bilinearly, as for image folders.
    Sources are "index I" (counted from 0, as in the arrays).
    """
    pixels = _to_grey_255(np.asarray(images))
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(pixels):
        raise InputError(f"{IN_MEMORY}: labels must have shape ({len(pixels)},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) and not np.all(np.mod(labels, 1) == 0):
        raise InputError(f"{IN_MEMORY}: labels must be integer class indices")
    labels = labels.astype(np.int64)
    if len(labels) == 0:
        raise InputError(f"{IN_MEMORY}: no images given")
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise InputError(f"{IN_MEMORY}: labels must lie in 0–{len(class_names) - 1}, "
                         f"found {labels.min()}–{labels.max()}")
    return Dataset(
        images=_resize(pixels),
        labels=labels,
        sources=[f"index {i}" for i in range(len(labels))],
        class_names=tuple(class_names),
        path=IN_MEMORY,
        split=None,
    )


def _to_grey_255(images: np.ndarray) -> np.ndarray:
    """(N, H, W[, C]) → (N, H, W) float64 in 0–255."""
    if images.ndim == 4 and images.shape[-1] in (1, 3):
        images = images[..., 0] if images.shape[-1] == 1 else images @ LUMA
    if images.ndim != 3:
        raise InputError(f"{IN_MEMORY}: images must be (N, H, W) or (N, H, W, 1 or 3), "
                         f"got shape {images.shape}")
    if np.issubdtype(images.dtype, np.integer):
        if images.size and (images.min() < 0 or images.max() > 255):
            raise InputError(f"{IN_MEMORY}: integer images must lie in 0–255")
        return images.astype(np.float64)
    values = images.astype(np.float64)
    if not np.isfinite(values).all():
        raise InputError(f"{IN_MEMORY}: images hold NaN or inf")
    low, high = values.min(), values.max()
    if low >= 0 and high <= 1:
        return values * 255
    if low >= -1 and high <= 1:
        return (values + 1) * 127.5
    if low >= 0 and high <= 255:
        return values
    raise InputError(f"{IN_MEMORY}: float images span {low:g}–{high:g}; "
                     "expected 0–1, −1–1 or 0–255")


def _resize(pixels: np.ndarray) -> np.ndarray:
    grey = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    if grey.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE):
        return grey
    size = (IMAGE_SIZE, IMAGE_SIZE)
    return np.stack([np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
                     for image in grey])
