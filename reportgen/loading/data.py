"""Load FER2013 from the Kaggle CSV (``emotion,pixels,Usage``, optionally gzipped), a folder of
CSV or Parquet shards, a Parquet file, or image folders.

Every image keeps its source (CSV row number, "<shard> row R", or file path) so that the report
can point back to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reportgen.errors import InputError
from reportgen.loading.csvfile import check_csv_header, decode_pixel_rows, read_csv_part
from reportgen.loading.dataset import FER2013_CLASSES, Dataset
from reportgen.loading.folders import load_folders
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits
from reportgen.loading.parquet import read_parquet_parts
from reportgen.loading.parts import assemble
from reportgen.loading.shards import (
    CSV_SUFFIXES,
    PARQUET_SUFFIX,
    is_pattern,
    load_shards,
    pattern_files,
    shard_files,
)

__all__ = ["FER2013_CLASSES", "check_csv_header", "decode_pixel_rows", "load_csv", "load_dataset",
           "load_other_splits"]
UNSUPPORTED = "unsupported data format (use fer2013.csv, .csv.gz, .parquet or a folder)"


def load_dataset(
    path: Path,
    split: str | None = None,
    class_names: tuple[str, ...] = FER2013_CLASSES,
    skip_bad: bool = False,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Dataset:
    """Load a split from a CSV/CSV.GZ or Parquet file, a folder of such shards, or an image-folder
    root; raise InputError on bad input."""
    path = Path(path)
    if is_pattern(path):
        dataset = load_shards(path, pattern_files(path), split, class_names, skip_bad, limits)
        return _non_empty(dataset, path, split)
    if not path.exists():
        raise InputError(f"{path}: data not found")
    name = path.name.lower()
    if path.is_dir():
        shards = shard_files(path)
        dataset = (load_shards(path, shards, split, class_names, skip_bad, limits) if shards
                   else load_folders(path, split, class_names, skip_bad, limits))
    elif name.endswith(CSV_SUFFIXES):
        dataset = load_csv(path, split, class_names, skip_bad, limits)
    elif name.endswith(PARQUET_SUFFIX):
        dataset = assemble(path, read_parquet_parts(path, split, len(class_names), limits),
                           split, class_names, skip_bad)
    else:
        raise InputError(f"{path}: {UNSUPPORTED}")
    return _non_empty(dataset, path, split)


def _non_empty(dataset: Dataset, path: Path, split: str | None) -> Dataset:
    if len(dataset.labels) == 0:
        where = f"split '{split}'" if split else "the data"
        raise InputError(f"{path}: {where} holds no images")
    return dataset


def load_csv(
    path: Path,
    split: str | None,
    class_names: tuple[str, ...] = FER2013_CLASSES,
    skip_bad: bool = False,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Dataset:
    """Parse the Kaggle CSV. Pixels are decoded in one vectorised pass (the full file in ~seconds)."""
    part = read_csv_part(path, split, len(class_names), limits)
    return assemble(path, [part], split, class_names, skip_bad)


def load_other_splits(dataset: Dataset, limits: InputLimits = DEFAULT_LIMITS) -> dict[str, np.ndarray]:
    """Images (M, 48, 48) of every other split stored beside ``dataset``, for cross-split checks.

    Bad rows are skipped here: they were not asked for, so they must not fail the run.
    """
    if dataset.split is None:
        return {}
    others = {}
    for name in dataset.splits:
        if name.lower() == dataset.split.lower():
            continue
        try:
            others[name] = load_dataset(dataset.path, name, dataset.class_names, skip_bad=True,
                                        limits=limits).images
        except InputError:
            continue  # an empty or unreadable neighbour split is simply not compared
    return others
