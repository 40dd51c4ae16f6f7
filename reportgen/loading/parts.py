"""One split assembled from the rows of one or more files (a CSV, CSV shards, Parquet files).

Each reader turns a file into ``Part``s of a few thousand rows: the good rows of the wanted split,
decoded, and its bad rows counted, with the first few kept to name them. ``assemble``
concatenates the parts in order and applies the bad-input rules once, so a bad row is named by
its file whichever reader found it. Memory holds one part and the first bad rows, whatever the
number of rows; every row of the split, good or bad, counts toward ``--max-data-mb`` as the
48×48 image it would decode to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reportgen.errors import InputError
from reportgen.loading.dataset import IMAGE_SIZE, MAX_REPORTED, N_PIXELS, Dataset
from reportgen.loading.limits import MB, InputLimits
from reportgen.loading.splits import SplitNames, split_key
from reportgen.loading.store import ImageSink

PART_ROWS = 8_192  # rows per Part: ~19 MB of 48×48 images, then handed to the sink


@dataclass(frozen=True)
class Part:
    """Some of one file's rows of the split.

    rows: (R,) row numbers of the good rows, counted from 1 over all the file's data rows;
    labels: (R,) int64; images: (R, 48, 48) uint8; bad: the first ``MAX_REPORTED`` bad rows
    [(row, problem)] and n_bad how many in all; n_read: rows of the split read, good or bad;
    usages: the split values seen; prefix: put before "row R" in sources ("" for a single file,
    "shard.csv " for a shard); split_ids: (R,) the index of each row's split among those asked
    for, when several are (``load_other_splits``), else None.
    """

    path: Path
    prefix: str
    rows: list[int]
    labels: np.ndarray
    images: np.ndarray
    bad: list[tuple[int, str]] = field(default_factory=list)
    n_bad: int = 0
    n_read: int = 0
    usages: SplitNames = field(default_factory=SplitNames)
    conversions: dict[str, int] = field(default_factory=dict)  # {"RGB converted to grey": rows}
    split_ids: np.ndarray | None = None


def wanted_splits(split: str | Sequence[str] | None) -> dict[str, int] | None:
    """The split keys asked for (``split_key``) → their index; None for every row."""
    if split is None:
        return None
    names = [split] if isinstance(split, str) else list(split)
    return {split_key(name): index for index, name in enumerate(names)}


class PartBuilder:
    """Rows of one file gathered into ``Part``s: good rows kept, bad rows counted."""

    def __init__(self, path: Path, prefix: str, n_classes: int) -> None:
        self.path, self.prefix, self.n_classes = path, prefix, n_classes
        self.usages = SplitNames()
        self._reset()

    def _reset(self) -> None:
        self.rows: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.images: list[np.ndarray] = []
        self.split_ids: list[np.ndarray] = []
        self.bad: list[tuple[int, str]] = []
        self.n_bad = 0
        self.n_read = 0
        self.conversions: Counter[str] = Counter()

    def add_bad(self, rows: Sequence[int] | np.ndarray, problem: str) -> None:
        """Rows that were not decoded at all (a wrong field count, no label)."""
        self.n_bad += len(rows)
        self.n_read += len(rows)
        self._keep_examples([(int(row), problem) for row in rows[:MAX_REPORTED]])

    def add(self, rows: np.ndarray, labels: np.ndarray, images: np.ndarray,
            problems: Sequence[tuple[int, str]] = (), split_ids: np.ndarray | None = None,
            conversions: Counter[str] | None = None) -> None:
        """Decoded rows: rows (R,), labels (R,) of any integer type as stored, images (R, 48, 48)
        uint8; problems [(index into rows, problem)] marks bad ones. A label outside the
        classes is a bad row, named with its value as stored (a uint64 2⁶⁴−1 stays that)."""
        rows = np.asarray(rows, np.int64)
        labels = np.asarray(labels)
        found = dict(problems)  # index → its first problem
        outside = np.flatnonzero(~((labels >= 0) & (labels < self.n_classes)))
        for i in outside:
            found.setdefault(int(i), f"has emotion {labels[i]} outside 0–{self.n_classes - 1}")
        good = np.ones(len(rows), bool)
        good[list(found)] = False
        self.n_bad += len(found)
        self.n_read += len(rows)
        self._keep_examples([(int(rows[i]), found[i]) for i in sorted(found)[:MAX_REPORTED]])
        self.rows.append(rows[good])
        self.labels.append(labels[good].astype(np.int64))
        self.images.append(np.asarray(images)[good])
        if split_ids is not None:
            self.split_ids.append(np.asarray(split_ids, np.int16)[good])
        self.conversions.update(conversions or {})

    def _keep_examples(self, examples: list[tuple[int, str]]) -> None:
        if examples:
            self.bad = sorted(self.bad + examples)[:MAX_REPORTED]

    def take(self) -> Part:
        """The rows gathered so far as a Part; the builder starts a new one."""
        part = Part(
            self.path, self.prefix,
            np.concatenate(self.rows).tolist() if self.rows else [],
            np.concatenate(self.labels) if self.labels else np.zeros(0, np.int64),
            (np.concatenate(self.images) if self.images
             else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)),
            self.bad, self.n_bad, self.n_read, self.usages, dict(self.conversions),
            np.concatenate(self.split_ids) if self.split_ids else None,
        )
        self.usages = SplitNames()
        self._reset()
        return part


def check_decoded_size(path: Path, n_rows: int, limits: InputLimits) -> None:
    """Refuse a data set whose rows, decoded, would pass --max-data-mb (48×48 bytes each)."""
    size, limit = n_rows * N_PIXELS, limits.max_data_mb * MB
    if size > limit:
        raise InputError(f"{path}: data holds more than {n_rows:,} images ({size / MB:,.0f} MiB "
                         f"decoded), over the --max-data-mb limit of {limits.max_data_mb:,} MiB; "
                         "raise --max-data-mb if it is genuine")


def _release_arrow_memory() -> None:
    """Hand pyarrow's cached buffers (Parquet decoding) back to the system: mimalloc kept
    ~140 MB of them after reading 300k images."""
    import sys

    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()


@dataclass
class _Tally:
    """What ``assemble`` keeps of the parts besides their images: O(1) per part but sources."""

    usages: SplitNames = field(default_factory=SplitNames)
    bad: list[tuple[Path, str, int, str]] = field(default_factory=list)
    n_bad: int = 0
    n_read: int = 0

    def add(self, part: Part) -> None:
        self.usages.update(part.usages)
        if len(self.bad) < MAX_REPORTED:
            self.bad += [(part.path, part.prefix, row, problem) for row, problem in part.bad]
            self.bad = self.bad[:MAX_REPORTED]
        self.n_bad += part.n_bad
        self.n_read += part.n_read

    def bad_rows_error(self, stopped: bool = False) -> InputError:
        file, _, row, problem = self.bad[0]
        where = f" among the first {self.n_read:,} rows read" if stopped else ""
        more = (f" (and {self.n_bad - 1:,} more bad rows{where}; --skip-bad-rows skips them)"
                if self.n_bad > 1 else "")
        return InputError(f"{file}: row {row} {problem}{more}")

    def check_size(self, path: Path, limits: InputLimits, skip_bad: bool) -> None:
        try:
            check_decoded_size(path, self.n_read, limits)
        except InputError:
            if self.n_bad and not skip_bad:  # the bad rows are the likelier mistake: name them
                raise self.bad_rows_error(stopped=True) from None
            raise


def assemble(path: Path, parts: Iterable[Part], split: str | None, class_names: tuple[str, ...],
             skip_bad: bool, limits: InputLimits) -> Dataset:
    """Concatenate ``parts`` in order into one Dataset; the first bad row is an InputError
    naming its file, unless ``skip_bad``.

    Parts are consumed one at a time (``parts`` may be a generator reading file after file):
    each one's images go to an ``ImageSink`` and the part is dropped, so a split larger than
    ``SPILL_ABOVE_MB`` is never whole in memory.
    """
    sink = ImageSink((IMAGE_SIZE, IMAGE_SIZE))
    try:
        tally = _Tally()
        labels: list[np.ndarray] = []
        sources: list[str] = []
        conversions: Counter[str] = Counter()
        for part in parts:
            tally.add(part)
            tally.check_size(path, limits, skip_bad)
            sink.add(part.images)
            labels.append(part.labels)
            sources += [f"{part.prefix}row {row}" for row in part.rows]
            conversions.update(part.conversions)
            del part
        usages = tally.usages
        if split is None and len(usages) > 1:
            raise InputError(f"{path}: the data holds several splits ({usages.describe()}); "
                             "choose one with --split")
        if split is not None and not tally.n_read:
            raise InputError(f"{path}: no rows with Usage '{split}' (found {usages.describe()})")
        if tally.n_bad and not skip_bad:
            raise tally.bad_rows_error()
        images = sink.finish()
        _release_arrow_memory()
    except BaseException:
        sink.discard()
        raise
    stored = usages.names()
    return Dataset(
        images=images,
        labels=np.concatenate(labels).astype(np.int64) if labels else np.zeros(0, np.int64),
        sources=sources,
        class_names=class_names,
        path=path,
        split=(usages.matching(split) or split) if split is not None else
              (stored[0] if len(usages) == 1 else None),
        n_skipped=tally.n_bad,
        skipped_examples=[f"{prefix}row {row}: {problem}" for _, prefix, row, problem in tally.bad],
        splits=tuple(stored),
        conversions=dict(sorted(conversions.items())),
    )


def collect_splits(parts: Iterable[Part], names: Sequence[str], path: Path,
                   limits: InputLimits) -> dict[str, np.ndarray]:
    """Parts read for several splits at once (``split_ids`` set) → images (M, 48, 48) per split
    name, bad rows dropped; all of them together held to ``--max-data-mb``."""
    chunks: dict[int, list[np.ndarray]] = {i: [] for i in range(len(names))}
    n_read = 0
    for part in parts:
        n_read += part.n_read
        check_decoded_size(path, n_read, limits)
        if part.split_ids is None:
            continue
        for index in range(len(names)):
            chunks[index].append(part.images[part.split_ids == index])
    _release_arrow_memory()
    return {names[i]: np.concatenate(found) for i, found in chunks.items()
            if found and sum(len(c) for c in found)}
