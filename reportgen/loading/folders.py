"""Load FER2013 from image folders: a root of class folders, or of split folders holding them."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, UnidentifiedImageError

from reportgen.errors import InputError
from reportgen.loading.dataset import IMAGE_SIZE, IMAGE_SUFFIXES, MAX_REPORTED, Dataset
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits, not_a_file
from reportgen.loading.splits import name_list, split_key

# Pillow's own names for modes whose samples are wider than 8 bits; convert("L") clips them.
WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def _subdirs(path: Path) -> dict[str, Path]:
    """The folders in ``path`` by ``split_key`` (lower case), in name order."""
    return {split_key(child.name): child for child in sorted(path.iterdir()) if child.is_dir()}


def resolve_root(path: Path, split: str | None, class_names: tuple[str, ...]) -> Path:
    """The folder that holds the class folders, chosen by ``split`` where the root holds splits
    (matched as a CSV's Usage values are: case-insensitively; ``splits.split_key``)."""
    subdirs = _subdirs(path)
    lowered = {name.lower() for name in class_names}
    if split is not None:
        if split_key(split) not in subdirs:
            found = name_list([child.name for child in subdirs.values()]) or "none"
            raise InputError(f"{path}: no split folder '{split}' (found: {found})")
        return subdirs[split_key(split)]
    if subdirs and not (set(subdirs) & lowered):
        splits = name_list([child.name for child in subdirs.values()])
        raise InputError(f"{path}: holds split folders ({splits}); choose one with --split")
    return path


def _class_entries(root: Path, index: dict[str, int]) -> tuple[list[str], list[str]]:
    """The root's bad entries: folders that are no class, and entries named as a class that are
    not folders (a file, a dangling or looping link), each with what is wrong."""
    unknown = [child.name for child in _subdirs(root).values() if child.name.lower() not in index]
    not_folders = [f"{child.name}: named as a class but not a folder" for child in sorted(root.iterdir())
                   if not child.is_dir() and _class_name(child.name) in index]
    return unknown, not_folders


def _class_name(name: str) -> str:
    return name.lower().split(".")[0]


def _entries(folder: Path) -> list[Path]:
    """Every entry of a class folder but hidden ones and subfolders: files, and links or special
    files that ``_read_image`` refuses by name rather than dropping."""
    return [entry for entry in sorted(folder.iterdir())
            if not entry.name.startswith(".") and not entry.is_dir()]


def load_folders(
    path: Path, split: str | None, class_names: tuple[str, ...], skip_bad: bool = False,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Dataset:
    """Read every image under ``root/<class>/`` as 48×48 grey (converted and resized if needed)."""
    root = resolve_root(path, split, class_names)
    index = {name.lower(): i for i, name in enumerate(class_names)}
    unknown, not_folders = _class_entries(root, index)
    if (unknown or not_folders) and not skip_bad:
        if not_folders:
            raise InputError(f"{root / not_folders[0]} (--skip-bad-rows skips it)")
        raise InputError(
            f"{root}: unknown class folder(s) {name_list(unknown)}; expected {', '.join(class_names)}"
        )
    files: list[Path] = []
    labels: list[int] = []
    for name, child in _subdirs(root).items():
        if name not in index:
            continue
        for file in _entries(child):
            files.append(file)
            labels.append(index[name])
    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(partial(_read_image, max_pixels=limits.max_image_pixels), files))
    bad = [(file, problem) for file, (_, problem, _) in zip(files, decoded) if problem]
    if bad and not skip_bad:
        file, problem = bad[0]
        more = f" (and {len(bad) - 1:,} more; --skip-bad-rows skips them)" if len(bad) > 1 else ""
        raise InputError(f"{file}: {problem}{more}")
    keep = [i for i, (_, problem, _) in enumerate(decoded) if not problem]
    conversions = Counter(decoded[i][2] for i in keep if decoded[i][2])
    images = np.stack([decoded[i][0] for i in keep]) if keep else np.zeros((0, 48, 48), np.uint8)
    skipped = ([f"{file}: {problem}" for file, problem in bad] + [f"{root / u}: unknown class" for u in unknown]
               + [f"{root / entry}" for entry in not_folders])
    return Dataset(
        images=images,
        labels=np.array([labels[i] for i in keep], dtype=np.int64),
        sources=[str(files[i]) for i in keep],
        class_names=class_names,
        path=path,
        split=_subdirs(path)[split_key(split)].name if split is not None else None,
        n_skipped=len(bad) + len(unknown) + len(not_folders),
        skipped_examples=skipped[:MAX_REPORTED],
        splits=tuple(split_folders(path, class_names)) if split is not None else (),
        conversions=dict(sorted(conversions.items())),
    )


def _read_image(file: Path, max_pixels: int) -> tuple[np.ndarray | None, str, str]:
    """(48, 48) uint8 grey image, a problem ("" if none) and the conversion made ("" if none).

    Only regular files are opened: a FIFO would block the read, a device never end it."""
    why = not_a_file(file)
    if why is not None:
        return None, f"cannot be read: {why}", ""
    if file.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"not an image file (suffix '{file.suffix}')", ""
    return decode_image(file, max_pixels)


def decode_image(source: Path | IO[bytes], max_pixels: int) -> tuple[np.ndarray | None, str, str]:
    """An image file or an open stream of its bytes (PNG, JPEG…) → as ``_read_image``."""
    try:
        with Image.open(source) as image:
            width, height = image.size  # from the header: nothing is decoded yet
            if width * height > max_pixels:
                return None, (f"image of {width}×{height} pixels is over the --max-image-pixels "
                              f"limit of {max_pixels:,}"), ""
            grey, conversion = to_grey(image)
            if grey.size != (IMAGE_SIZE, IMAGE_SIZE):
                grey = grey.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
            return np.asarray(grey, dtype=np.uint8), "", conversion
    except Image.DecompressionBombError:
        # Pillow's own guard (over twice its MAX_IMAGE_PIXELS) fires in open() itself.
        return None, f"image too large to decode safely (over the --max-image-pixels limit of {max_pixels:,})", ""
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        return None, f"unreadable image ({type(err).__name__})", ""


def to_grey(image: Image.Image) -> tuple[Image.Image, str]:
    """An 8-bit grey ("L") copy of ``image`` and a plain description of the conversion.

    Wide samples are scaled into 0–255 (16-bit: ÷257, so 65535 → 255; float: 0–1 → 0–255 when
    they fit that range), not clipped as ``convert("L")`` would. Colour becomes luminance
    (ITU-R 601-2), and transparency is dropped.
    """
    mode = image.mode
    if mode == "L":
        return image, ""
    if mode in WIDE_MODES:
        values = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16") or (mode == "I" and values.max(initial=0) > 255):
            scaled, text = values / 257.0, f"16-bit grey ({mode}) scaled to 8 bits"
        elif mode == "F" and values.max(initial=0) <= 1.0:
            scaled, text = values * 255.0, "floating-point grey (0–1) scaled to 8 bits"
        else:
            scaled, text = values, f"{mode} grey read as 8 bits"
        pixels = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        return Image.fromarray(pixels, mode="L"), text
    return image.convert("L"), f"{mode} converted to grey"


def split_folders(root: Path, class_names: tuple[str, ...]) -> list[str]:
    """Names of the subfolders of ``root`` that themselves hold class folders."""
    lowered = {name.lower() for name in class_names}
    return [child.name for child in _subdirs(root).values() if set(_subdirs(child)) & lowered]
