"""Images of a split on disk instead of in memory, read a block or a few cases at a time.

A million 48×48 images are 2.3 GB of pixels: more than the whole memory budget of an audit. The
loaders therefore write a large split, as they decode it, to one flat uint8 file (a *spill*,
``SPILL_ABOVE_MB`` and up) and hand the stages a ``SpilledImages``: an array-like that reads
the rows asked for with ``pread``. It is deliberately not a memory map, whose pages would count
in the process's resident memory as soon as they were touched; reads go through the page cache,
which the kernel may drop at will.

Stages take ``ImageArray`` (an ndarray or a ``SpilledImages``) and only ever index it with an
int, a slice, or an array of indices, so the same code runs on both.
"""

from __future__ import annotations

import atexit
import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from reportgen.errors import InputError

# Splits whose decoded pixels exceed this are spilled to disk (about 58k 48×48 images: FER2013's
# largest split, Training, is 63 MiB and stays in memory); ``$REPORTGEN_SPILL_MB`` overrides it
# (0 spills every split: the tests use that).
SPILL_ABOVE_MB = 128
BLOCK_IMAGES = 2048  # rows per block of a whole-split pass: a multiple of every batch size used


def spill_threshold_bytes() -> int:
    """The decoded size above which a split is spilled, from ``$REPORTGEN_SPILL_MB``."""
    value = os.environ.get("REPORTGEN_SPILL_MB")
    if value in (None, ""):
        return SPILL_ABOVE_MB * 2**20
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and megabytes >= 0):
        raise InputError(f"$REPORTGEN_SPILL_MB: must be a number of MiB, 0 or more, got {value!r}")
    return int(megabytes * 2**20)


def check_spill_settings() -> None:
    """``$REPORTGEN_SPILL_MB`` is a number and ``$REPORTGEN_SPILL_DIR``, when set, a folder that
    can be written: checked before any work, not when a split first needs spilling."""
    spill_threshold_bytes()
    root = os.environ.get("REPORTGEN_SPILL_DIR")
    if not root:
        return
    if not os.path.isdir(root):
        problem = "does not exist" if not os.path.exists(root) else "is not a folder"
        raise InputError(f"{root}: $REPORTGEN_SPILL_DIR {problem}; create it, or unset the "
                         "variable to spill to the system's temporary folder")
    try:
        shutil.rmtree(tempfile.mkdtemp(prefix=".reportgen-probe-", dir=root))
    except OSError as err:
        raise InputError(f"{root}: $REPORTGEN_SPILL_DIR cannot be written: {err.strerror}") from None


class SpilledImages:
    """(N, h, w) uint8 images in a flat file: ``images[key]`` reads ``key``'s rows.

    ``key`` is an int, a slice with step 1 (or None), an int array or a bool mask. Pickles as its
    path and shape (a Ray worker on the same file system reads the same file).
    """

    def __init__(self, path: Path, shape: tuple[int, int, int]) -> None:
        self.path = Path(path)
        self.shape = (int(shape[0]), int(shape[1]), int(shape[2]))
        self.dtype = np.dtype(np.uint8)
        self.ndim = 3
        self._row_bytes = self.shape[1] * self.shape[2]

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"SpilledImages({str(self.path)!r}, shape={self.shape})"

    def __getitem__(self, key: object) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            index = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= index < len(self):
                raise IndexError(f"image {key} out of range for {len(self)} images")
            return self._read_range(index, index + 1)[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise IndexError("SpilledImages slices must have step 1")
            return self._read_range(start, max(start, stop))
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return self._read_indices(index.astype(np.int64).ravel()).reshape(
            *index.shape, *self.shape[1:])

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        """The whole split in memory: only for code paths that are bounded by a small N."""
        whole = self._read_range(0, len(self))
        return whole if dtype is None else whole.astype(dtype)

    def _read_range(self, start: int, stop: int) -> np.ndarray:
        count = (stop - start) * self._row_bytes
        out = np.empty(count, np.uint8)
        if count:
            with open(self.path, "rb", buffering=0) as handle:
                handle.seek(start * self._row_bytes)
                handle.readinto(memoryview(out))
        return out.reshape(stop - start, *self.shape[1:])

    def _read_indices(self, index: np.ndarray) -> np.ndarray:
        if len(index) and (index.min() < -len(self) or index.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} images")
        index = np.where(index < 0, index + len(self), index)
        out = np.empty((len(index), *self.shape[1:]), np.uint8)
        order = np.argsort(index, kind="stable")
        with open(self.path, "rb", buffering=0) as handle:
            for position in order:  # in file order: sequential reads where indices are sorted
                handle.seek(int(index[position]) * self._row_bytes)
                handle.readinto(memoryview(out[position]).cast("B"))
        return out


ImageArray = np.ndarray | SpilledImages


class SpillWriter:
    """Append decoded blocks to a new spill file; ``finish()`` returns the ``SpilledImages``.

    The file lives in a private temporary folder (``$REPORTGEN_SPILL_DIR`` or the system's),
    removed when the process exits or ``discard()`` is called.
    """

    def __init__(self, image_shape: tuple[int, int]) -> None:
        root = os.environ.get("REPORTGEN_SPILL_DIR") or None
        try:
            self.folder = Path(tempfile.mkdtemp(prefix="reportgen-spill-", dir=root))
        except OSError as err:
            raise _spill_error(root or tempfile.gettempdir(), err) from None
        _TO_REMOVE.append(self.folder)
        self.path = self.folder / "images.u8"
        self._handle = open(self.path, "wb")  # noqa: SIM115 - open across write() calls
        self.image_shape = image_shape
        self.n_images = 0

    def write(self, images: np.ndarray) -> None:
        images = np.ascontiguousarray(images, dtype=np.uint8)
        if images.shape[1:] != self.image_shape:
            raise ValueError(f"spill of {self.image_shape} images given {images.shape[1:]}")
        try:
            self._handle.write(memoryview(images).cast("B"))
        except OSError as err:  # a full disk: the run cannot go on, and the spill goes
            self.discard()
            raise _spill_error(self.folder.parent, err) from None
        self.n_images += len(images)

    def finish(self) -> SpilledImages:
        try:
            self._handle.close()  # writes the buffered tail
        except OSError as err:
            self.discard()
            raise _spill_error(self.folder.parent, err) from None
        return SpilledImages(self.path, (self.n_images, *self.image_shape))

    def discard(self) -> None:
        try:
            self._handle.close()
        except OSError:
            pass  # the buffered tail could not be written either: the file goes anyway
        shutil.rmtree(self.folder, ignore_errors=True)


class ImageSink:
    """Blocks of images in order → one ``ImageArray``: in memory while they total at most
    ``spill_threshold_bytes()``, else every block (earlier ones too) in a spill file."""

    def __init__(self, image_shape: tuple[int, int]) -> None:
        self.image_shape = image_shape
        self.limit = spill_threshold_bytes()
        self._held: list[np.ndarray] = []
        self._bytes = 0
        self._spill: SpillWriter | None = None

    def add(self, images: np.ndarray) -> None:
        if self._spill is not None:
            self._spill.write(images)
            return
        self._held.append(np.asarray(images, np.uint8))
        self._bytes += self._held[-1].nbytes
        if self._bytes > self.limit:
            self._spill = SpillWriter(self.image_shape)
            for held in self._held:
                self._spill.write(held)
            self._held = []

    def finish(self) -> ImageArray:
        if self._spill is not None:
            return self._spill.finish()
        if not self._held:
            return np.zeros((0, *self.image_shape), np.uint8)
        return np.concatenate(self._held) if len(self._held) > 1 else self._held[0]

    def discard(self) -> None:
        self._held = []
        if self._spill is not None:
            self._spill.discard()


def _spill_error(folder: str | Path, err: OSError) -> InputError:
    where = "$REPORTGEN_SPILL_DIR" if os.environ.get("REPORTGEN_SPILL_DIR") else "the temporary folder"
    return InputError(f"{folder}: cannot write the spill file of decoded images ({where}): "
                      f"{err.strerror or err}; free space there, point $REPORTGEN_SPILL_DIR at a "
                      "larger disk, or raise $REPORTGEN_SPILL_MB to hold more in memory")


_TO_REMOVE: list[Path] = []


def _remove_spills() -> None:
    for folder in _TO_REMOVE:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_remove_spills)


def blocks(images: ImageArray, size: int = BLOCK_IMAGES) -> Iterator[tuple[int, np.ndarray]]:
    """(start, images[start:start + size]) over the whole split, in order."""
    for start in range(0, len(images), size):
        yield start, np.asarray(images[start : start + size])


def images_digest(images: ImageArray, digest: hashlib._Hash | None = None) -> hashlib._Hash:
    """sha256 (or ``digest``) updated with every pixel in order, a block at a time.

    Equal to hashing ``np.ascontiguousarray(images).tobytes()`` in one call.
    """
    digest = digest or hashlib.sha256()
    for _, block in blocks(images):
        digest.update(np.ascontiguousarray(block, dtype=np.uint8).tobytes())
    return digest
