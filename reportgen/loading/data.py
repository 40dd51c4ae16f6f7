"""Load FER2013 from the Kaggle CSV (``emotion,pixels,Usage``, optionally gzipped), a folder of
CSV or Parquet shards, a Parquet file, or image folders.

Every image keeps its source (CSV row number, "<shard> row R", or file path) so that the report
can point back to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reportgen.errors import InputError
from reportgen.loading.csvfile import check_csv_header, decode_pixel_rows
from reportgen.loading.dataset import FER2013_CLASSES, Dataset
from reportgen.loading.folders import load_folders
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits
from reportgen.loading.parts import assemble, collect_splits
from reportgen.loading.shards import UNSUPPORTED, data_files, file_parts
from reportgen.loading.splits import split_key

__all__ = ["FER2013_CLASSES", "UNSUPPORTED", "check_csv_header", "decode_pixel_rows", "load_dataset",
           "load_other_splits"]
MAX_OTHER_SPLITS = 8  # neighbouring splits compared for cross-split copies


def load_dataset(
    path: Path,
    split: str | None = None,
    class_names: tuple[str, ...] = FER2013_CLASSES,
    skip_bad: bool = False,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Dataset:
    """Load a split from a CSV/CSV.GZ or Parquet file, a folder of such shards, a glob of them,
    or an image-folder root; raise InputError on bad input."""
    path = Path(path)
    files = data_files(path)
    if files is None:
        dataset = load_folders(path, split, class_names, skip_bad, limits)
    else:
        dataset = assemble(path, file_parts(path, files, split, len(class_names), limits), split,
                           class_names, skip_bad, limits)
    if len(dataset.labels) == 0:
        where = f"split '{split}'" if split else "the data"
        raise InputError(f"{path}: {where} holds no images")
    return dataset


def load_other_splits(dataset: Dataset, limits: InputLimits = DEFAULT_LIMITS) -> dict[str, np.ndarray]:
    """Images (M, 48, 48) of the other splits stored beside ``dataset`` (at most
    ``MAX_OTHER_SPLITS`` of them), for cross-split checks; a CSV or Parquet set is read once.

    Bad rows are skipped here, and a neighbour that cannot be read is not compared: they were not
    asked for, so they must not fail the run.
    """
    if dataset.split is None:
        return {}
    names = [name for name in dataset.splits
             if split_key(name) != split_key(dataset.split)][:MAX_OTHER_SPLITS]
    if not names:
        return {}
    try:
        files = data_files(dataset.path)
        if files is not None:
            parts = file_parts(dataset.path, files, tuple(names), len(dataset.class_names), limits)
            return collect_splits(parts, names, dataset.path, limits)
    except InputError:
        return {}
    others = {}
    for name in names:
        try:
            others[name] = load_folders(dataset.path, name, dataset.class_names, True, limits).images
        except InputError:
            continue  # an empty or unreadable neighbour split is simply not compared
    return {name: images for name, images in others.items() if len(images)}
