"""One split assembled from the rows of one or more files (a CSV, CSV shards, Parquet files).

Each reader turns a file into a ``Part``: its rows of the wanted split, decoded, with its bad rows
listed but not yet refused. ``assemble`` concatenates the parts in order and applies the
bad-input rules once, so a bad row is named by its file whichever reader found it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reportgen.errors import InputError
from reportgen.loading.dataset import IMAGE_SIZE, MAX_REPORTED, Dataset
from reportgen.loading.limits import MB, InputLimits
from reportgen.loading.store import ImageSink


@dataclass(frozen=True)
class Part:
    """One file's rows of the split.

    rows: (R,) row numbers in the file, counted from 1 over all its data rows; labels: (R,) int64;
    images: (R, 48, 48) uint8, zero where the row is bad; bad: [(row, problem)] (rows that are
    not in ``rows`` too); usages: every split value the file holds; prefix: put before "row R"
    in sources ("" for a single file, "shard.csv " for a shard).
    """

    path: Path
    prefix: str
    rows: list[int]
    labels: np.ndarray
    images: np.ndarray
    bad: list[tuple[int, str]]
    usages: set[str]
    conversions: dict[str, int] = field(default_factory=dict)  # {"RGB converted to grey": rows}


def check_decoded_size(path: Path, n_images: int, limits: InputLimits) -> None:
    """Refuse a data set whose decoded images would pass --max-data-mb (48×48 bytes each)."""
    size, limit = n_images * IMAGE_SIZE * IMAGE_SIZE, limits.max_data_mb * MB
    if size > limit:
        raise InputError(f"{path}: data holds more than {n_images:,} images ({size / MB:,.0f} MiB "
                         f"decoded), over the --max-data-mb limit of {limits.max_data_mb:,} MiB; "
                         "raise --max-data-mb if it is genuine")


def check_labels(part: Part, n_classes: int) -> Part:
    """The part with every label outside 0…n_classes-1 listed as a bad row."""
    out_of_range = [(row, f"has emotion {label} outside 0–{n_classes - 1}")
                    for row, label in zip(part.rows, part.labels) if not 0 <= label < n_classes]
    if not out_of_range:
        return part
    return Part(part.path, part.prefix, part.rows, part.labels, part.images,
                part.bad + out_of_range, part.usages, part.conversions)


def _release_arrow_memory() -> None:
    """Hand pyarrow's cached buffers (Parquet decoding) back to the system: mimalloc kept
    ~140 MB of them after reading 300k images."""
    import sys

    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()


def assemble(path: Path, parts: Iterable[Part], split: str | None, class_names: tuple[str, ...],
             skip_bad: bool) -> Dataset:
    """Concatenate ``parts`` in order into one Dataset; the first bad row is an InputError
    naming its file, unless ``skip_bad``.

    Parts are consumed one at a time (``parts`` may be a generator reading file after file):
    each one's images go to an ``ImageSink`` and the part is dropped, so a split larger than
    ``SPILL_ABOVE_MB`` is never whole in memory.
    """
    sink = ImageSink((IMAGE_SIZE, IMAGE_SIZE))
    try:
        usages: set[str] = set()
        bad: list[tuple[Path, str, int, str]] = []
        labels: list[np.ndarray] = []
        sources: list[str] = []
        conversions: Counter[str] = Counter()
        any_rows = False
        for part in parts:
            usages |= part.usages
            bad += [(part.path, part.prefix, row, problem) for row, problem in part.bad]
            any_rows = any_rows or bool(part.rows or part.bad)
            bad_rows = {row for row, _ in part.bad}
            keep = np.array([row not in bad_rows for row in part.rows], dtype=bool)
            sink.add(part.images[keep] if len(part.rows) else part.images[:0])
            labels.append(part.labels[keep] if len(part.rows) else part.labels[:0])
            sources += [f"{part.prefix}row {row}" for row, ok in zip(part.rows, keep) if ok]
            conversions.update(part.conversions)
            del part
        if split is None and len(usages) > 1:
            raise InputError(f"{path}: the data holds several splits {sorted(usages)}; choose one with --split")
        if split is not None and not any_rows:
            raise InputError(f"{path}: no rows with Usage '{split}' (found {sorted(usages)})")
        if bad and not skip_bad:
            file, _, row, problem = bad[0]
            more = f" (and {len(bad) - 1} more bad rows; --skip-bad-rows skips them)" if len(bad) > 1 else ""
            raise InputError(f"{file}: row {row} {problem}{more}")
        images = sink.finish()
        _release_arrow_memory()
    except BaseException:
        sink.discard()
        raise
    return Dataset(
        images=images,
        labels=np.concatenate(labels).astype(np.int64) if labels else np.zeros(0, np.int64),
        sources=sources,
        class_names=class_names,
        path=path,
        split=split if split is not None else (next(iter(usages)) if len(usages) == 1 else None),
        n_skipped=len({(file, prefix, row) for file, prefix, row, _ in bad}),
        skipped_examples=[f"{prefix}row {row}: {problem}" for _, prefix, row, problem in bad[:MAX_REPORTED]],
        splits=tuple(sorted(usages)),
        conversions=dict(sorted(conversions.items())),
    )
