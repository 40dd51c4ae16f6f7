"""Data sets stored as several files: a folder of Kaggle CSV shards or of Parquet files.

Shards are read in sorted file-name order and their rows concatenated; every image's source is
"<file> row R", R counting that file's data rows from 1. Each shard is bounded as a single file
would be, and the rows read from all of them together by ``--max-data-mb`` (``parts.assemble``).
A shard that cannot be read as a file (a dangling or looping link, a device) is refused.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from reportgen.errors import InputError
from reportgen.loading.csvfile import check_csv_header, csv_split_names, read_csv_parts
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits, not_a_file, require_regular_file
from reportgen.loading.parquet import check_parquet_file, parquet_split_names, read_parquet_parts
from reportgen.loading.parts import Part
from reportgen.loading.splits import SplitNames

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIX = ".parquet"
UNSUPPORTED = "unsupported data format (use fer2013.csv, .csv.gz, .parquet or a folder)"


def is_shard_name(name: str) -> bool:
    return name.lower().endswith((*CSV_SUFFIXES, PARQUET_SUFFIX)) and not name.startswith(".")


def shard_files(folder: Path) -> list[Path]:
    """The CSV or Parquet files directly in ``folder``, sorted by name; [] when it holds neither
    (an image-folder root). A folder holding both kinds is an InputError, and so is a shard that
    cannot be read as a file (a dangling or looping link, a device): its rows would be lost."""
    try:
        children = sorted(child for child in folder.iterdir() if is_shard_name(child.name))
    except OSError as err:
        raise InputError(f"{folder}: cannot list the data folder: {err.strerror}") from None
    return _one_kind(folder, _shards(children), "holds")


def _shards(paths: list[Path]) -> list[Path]:
    """``paths`` less the folders among them (a Spark ``x.parquet/`` output is not a shard)."""
    return [require_shard(path) for path in paths if not path.is_dir()]


def require_shard(path: Path) -> Path:
    """``path`` if it is a regular file after following links; else an InputError saying why."""
    why = not_a_file(path)
    if why is not None:
        raise InputError(f"{path}: data shard cannot be read: {why}")
    return path


def _one_kind(where: Path, files: list[Path], verb: str) -> list[Path]:
    csvs = [file for file in files if file.name.lower().endswith(CSV_SUFFIXES)]
    parquets = [file for file in files if file.name.lower().endswith(PARQUET_SUFFIX)]
    if csvs and parquets:
        keep = "keep one kind per folder" if verb == "holds" else "match one kind"
        raise InputError(f"{where}: {verb} both CSV shards ({csvs[0].name}…) and Parquet files "
                         f"({parquets[0].name}…); {keep}")
    return csvs or parquets


def is_pattern(path: Path) -> bool:
    """A --data value with glob characters that names no existing file: a shard pattern."""
    return not path.exists() and glob.has_magic(str(path))


def pattern_files(pattern: Path) -> list[Path]:
    """The CSV or Parquet files a glob pattern matches, sorted by path (``shards/*.parquet``,
    ``data/part-*.csv.gz``); an InputError when it matches none or both kinds.

    The longest leading part of the pattern that exists as it is written is taken literally,
    so a folder named ``run[1]`` needs no escaping.
    """
    matches = sorted(Path(match) for match in glob.glob(_literal_prefix(pattern), recursive=True)
                     if is_shard_name(Path(match).name))
    files = _one_kind(pattern, _shards(matches), "matches")
    if not files:
        hint = (" (a [ in a file or folder name is a glob character: write [[] for it)"
                if "[" in str(pattern) else "")
        raise InputError(f"{pattern}: matches no CSV or Parquet files{hint}")
    return files


def _literal_prefix(pattern: Path) -> str:
    """``pattern`` with its longest existing leading folder escaped for ``glob``."""
    parts = pattern.parts
    for cut in range(len(parts) - 1, 0, -1):
        head = Path(*parts[:cut])
        if head.is_dir():
            rest = parts[cut:]
            return str(Path(glob.escape(str(head)), *rest))
    return str(pattern)


def data_files(path: Path) -> list[Path] | None:
    """The CSV or Parquet files that ``--data`` names (one file, a folder's shards or a glob's
    matches), or None for an image-folder root; an InputError when it names nothing readable."""
    path = Path(path)
    if is_pattern(path):
        return pattern_files(path)
    if not path.exists():
        raise InputError(f"{path}: data not found")
    if path.is_dir():
        return shard_files(path) or None
    require_regular_file(path, "data")
    if not path.name.lower().endswith((*CSV_SUFFIXES, PARQUET_SUFFIX)):
        raise InputError(f"{path}: {UNSUPPORTED}")
    return [path]


def check_shards(files: list[Path], limits: InputLimits = DEFAULT_LIMITS) -> None:
    """Every shard's header (CSV) or schema (Parquet) is right, before any body is read."""
    for file in files:
        if file.name.lower().endswith(PARQUET_SUFFIX):
            check_parquet_file(file, limits)
        else:
            check_csv_header(file, limits)


def split_names(files: list[Path], split: str | None, limits: InputLimits) -> tuple[SplitNames, bool]:
    """Every split value the files hold, and whether ``split`` (None: any) has a row in one:
    only their split columns are read."""
    names, found = SplitNames(), split is None
    for file in files:
        scan = parquet_split_names if file.name.lower().endswith(PARQUET_SUFFIX) else csv_split_names
        file_names, file_found = scan(file, limits, split)
        names.update(file_names)
        found = found or file_found
    return names, found


def file_parts(path: Path, files: list[Path], split: str | Sequence[str] | None, n_classes: int,
               limits: InputLimits = DEFAULT_LIMITS) -> Iterator[Part]:
    """The rows of ``split`` in ``files`` (from ``data_files(path)``), file after file, a part
    at a time. A folder's or a glob's rows are named "<file> row R", a single file's "row R"."""
    if len(files) == 1 and files[0] == path:
        yield from read_parts(path, split, n_classes, limits)
        return
    # named from their common folder: the file name in one folder, a relative path beyond
    root = Path(os.path.commonpath([file.parent for file in files])) if files else path
    for file in files:
        name = file.relative_to(root).as_posix()
        yield from read_parts(file, split, n_classes, limits, f"{name} ")


def read_parts(file: Path, split: str | Sequence[str] | None, n_classes: int,
               limits: InputLimits = DEFAULT_LIMITS, prefix: str = "") -> Iterator[Part]:
    """One CSV or Parquet file's rows of ``split``, a part at a time."""
    if file.name.lower().endswith(PARQUET_SUFFIX):
        yield from read_parquet_parts(file, split, n_classes, limits, prefix)
    else:
        yield from read_csv_parts(file, split, n_classes, limits, prefix)
