"""Data sets stored as several files: a folder of Kaggle CSV shards or of Parquet files.

Shards are read in sorted file-name order and their rows concatenated; every image's source is
"<file> row R", R counting that file's data rows from 1. Each shard is bounded as a single file
would be, and the images decoded from all of them together by ``--max-data-mb``.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path

from reportgen.errors import InputError
from reportgen.loading.csvfile import check_csv_header, read_csv_part
from reportgen.loading.dataset import Dataset
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits
from reportgen.loading.parquet import check_parquet_file, read_parquet_parts
from reportgen.loading.parts import Part, assemble, check_decoded_size

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIX = ".parquet"


def shard_files(folder: Path) -> list[Path]:
    """The CSV or Parquet files directly in ``folder``, sorted by name; [] when it holds neither
    (an image-folder root). A folder holding both kinds is an InputError."""
    files = sorted(child for child in folder.iterdir()
                   if child.is_file() and not child.name.startswith("."))
    csvs = [file for file in files if file.name.lower().endswith(CSV_SUFFIXES)]
    parquets = [file for file in files if file.name.lower().endswith(PARQUET_SUFFIX)]
    if csvs and parquets:
        raise InputError(f"{folder}: holds both CSV shards ({csvs[0].name}…) and Parquet files "
                         f"({parquets[0].name}…); keep one kind per folder")
    return csvs or parquets


def is_pattern(path: Path) -> bool:
    """A --data value with glob characters that names no existing file: a shard pattern."""
    return not path.exists() and glob.has_magic(str(path))


def pattern_files(pattern: Path) -> list[Path]:
    """The CSV or Parquet files a glob pattern matches, sorted by path (``shards/*.parquet``,
    ``data/part-*.csv.gz``); an InputError when it matches none or both kinds."""
    files = sorted(Path(match) for match in glob.glob(str(pattern), recursive=True)
                   if Path(match).is_file() and not Path(match).name.startswith("."))
    csvs = [file for file in files if file.name.lower().endswith(CSV_SUFFIXES)]
    parquets = [file for file in files if file.name.lower().endswith(PARQUET_SUFFIX)]
    if csvs and parquets:
        raise InputError(f"{pattern}: matches both CSV shards ({csvs[0].name}…) and Parquet files "
                         f"({parquets[0].name}…); match one kind")
    if not (csvs or parquets):
        raise InputError(f"{pattern}: matches no CSV or Parquet files")
    return csvs or parquets


def check_shards(files: list[Path], limits: InputLimits = DEFAULT_LIMITS) -> None:
    """Every shard's header (CSV) or schema (Parquet) is right, before any body is read."""
    for file in files:
        if file.name.lower().endswith(PARQUET_SUFFIX):
            check_parquet_file(file, limits)
        else:
            check_csv_header(file, limits)


def load_shards(folder: Path, files: list[Path], split: str | None, class_names: tuple[str, ...],
                skip_bad: bool = False, limits: InputLimits = DEFAULT_LIMITS) -> Dataset:
    """Read ``files`` (from ``shard_files``) in order into one Dataset."""
    check_shards(files, limits)

    def parts() -> Iterator[Part]:  # a part at a time: assemble spills each before the next
        n_images = 0
        # named from their common folder: the file name in one folder, a relative path beyond
        root = Path(os.path.commonpath([file.parent for file in files])) if files else folder
        for file in files:
            name = file.relative_to(root).as_posix()
            for part in read_parts(file, split, len(class_names), limits, f"{name} ", n_images):
                n_images += len(part.rows)
                check_decoded_size(folder, n_images, limits)
                yield part
                del part  # before the next one is read

    return assemble(folder, parts(), split, class_names, skip_bad)


def read_parts(file: Path, split: str | None, n_classes: int, limits: InputLimits, prefix: str = "",
               n_before: int = 0) -> Iterator[Part]:
    """One CSV or Parquet file's rows of ``split`` (Parquet: in several parts); ``n_before``
    images come before them."""
    if file.name.lower().endswith(PARQUET_SUFFIX):
        yield from read_parquet_parts(file, split, n_classes, limits, prefix, n_before)
    else:
        yield read_csv_part(file, split, n_classes, limits, prefix)
