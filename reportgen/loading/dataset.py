"""One split of an image-classification data set in memory, and the FER2013 constants."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FER2013_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
IMAGE_SIZE = 48
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm"}
MAX_REPORTED = 5  # bad rows or files named in an error or note


@dataclass(frozen=True)
class Dataset:
    """One split of FER2013 in memory.

    images: (N, 48, 48) uint8 grey; labels: (N,) int64 class indices into ``class_names``;
    sources: (N,) "row R" (data rows counted from 1, the header not counted) or the file path.
    """

    images: np.ndarray
    labels: np.ndarray
    sources: list[str]
    class_names: tuple[str, ...]
    path: Path
    split: str | None
    n_skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    splits: tuple[str, ...] = ()  # the splits stored at ``path`` (Usage values, the first 20; or split folders)
    conversions: dict[str, int] = field(default_factory=dict)  # {"RGB converted to grey": images}

    @property
    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(count) for name, count in zip(self.class_names, counts)}
