"""Load FER2013 from image folders: a root of class folders, or of split folders holding them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from reportgen.errors import InputError
from reportgen.loading.dataset import IMAGE_SIZE, IMAGE_SUFFIXES, MAX_REPORTED, Dataset


def _subdirs(path: Path) -> dict[str, Path]:
    return {child.name.lower(): child for child in sorted(path.iterdir()) if child.is_dir()}


def _resolve_root(path: Path, split: str | None, class_names: tuple[str, ...]) -> Path:
    """The folder that holds the class folders, chosen by ``split`` where the root holds splits."""
    subdirs = _subdirs(path)
    lowered = {name.lower() for name in class_names}
    if split is not None:
        if split.lower() not in subdirs:
            raise InputError(f"{path}: no split folder '{split}' (found: {', '.join(subdirs) or 'none'})")
        return subdirs[split.lower()]
    if subdirs and not (set(subdirs) & lowered):
        splits = ", ".join(child.name for child in subdirs.values())
        raise InputError(f"{path}: holds split folders ({splits}); choose one with --split")
    return path


def load_folders(
    path: Path, split: str | None, class_names: tuple[str, ...], skip_bad: bool = False
) -> Dataset:
    """Read every image under ``root/<class>/`` as 48×48 grey (converted and resized if needed)."""
    root = _resolve_root(path, split, class_names)
    index = {name.lower(): i for i, name in enumerate(class_names)}
    unknown = [child.name for child in _subdirs(root).values() if child.name.lower() not in index]
    if unknown and not skip_bad:
        raise InputError(
            f"{root}: unknown class folder(s) {', '.join(unknown)}; expected {', '.join(class_names)}"
        )
    files: list[Path] = []
    labels: list[int] = []
    for name, child in _subdirs(root).items():
        if name not in index:
            continue
        for file in sorted(child.iterdir()):
            if file.is_file() and not file.name.startswith("."):
                files.append(file)
                labels.append(index[name])
    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(_read_image, files))
    bad = [(file, problem) for file, (_, problem) in zip(files, decoded) if problem]
    if bad and not skip_bad:
        file, problem = bad[0]
        more = f" (and {len(bad) - 1} more; --skip-bad-rows skips them)" if len(bad) > 1 else ""
        raise InputError(f"{file}: {problem}{more}")
    keep = [i for i, (_, problem) in enumerate(decoded) if not problem]
    images = np.stack([decoded[i][0] for i in keep]) if keep else np.zeros((0, 48, 48), np.uint8)
    skipped = [f"{file}: {problem}" for file, problem in bad] + [f"{root / u}: unknown class" for u in unknown]
    return Dataset(
        images=images,
        labels=np.array([labels[i] for i in keep], dtype=np.int64),
        sources=[str(files[i]) for i in keep],
        class_names=class_names,
        path=path,
        split=split,
        n_skipped=len(bad) + len(unknown),
        skipped_examples=skipped[:MAX_REPORTED],
        splits=tuple(split_folders(path, class_names)) if split is not None else (),
    )


def _read_image(file: Path) -> tuple[np.ndarray | None, str]:
    """(48, 48) uint8 grey image and an empty problem string, or (None, problem)."""
    if file.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"not an image file (suffix '{file.suffix}')"
    try:
        with Image.open(file) as image:
            grey = image.convert("L")
            if grey.size != (IMAGE_SIZE, IMAGE_SIZE):
                grey = grey.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
            return np.asarray(grey, dtype=np.uint8), ""
    except (UnidentifiedImageError, OSError, ValueError) as err:
        return None, f"unreadable image ({type(err).__name__})"


def split_folders(root: Path, class_names: tuple[str, ...]) -> list[str]:
    """Names of the subfolders of ``root`` that themselves hold class folders."""
    lowered = {name.lower() for name in class_names}
    return [child.name for child in _subdirs(root).values() if set(_subdirs(child)) & lowered]
