"""Read one Kaggle FER2013 CSV (``emotion,pixels,Usage``, optionally gzipped) into ``Part``s.

The file is streamed a batch of lines at a time and its pixels decoded in vectorised passes of
``PART_ROWS`` rows (the full 290 MB file in seconds); memory holds one part, whatever the file.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from reportgen.errors import InputError
from reportgen.loading.dataset import IMAGE_SIZE, N_PIXELS
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits, first_line, read_lines
from reportgen.loading.parts import PART_ROWS, Part, PartBuilder, wanted_splits
from reportgen.loading.splits import SplitNames, split_key


def check_csv_header(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> list[str]:
    """The CSV's column names (lower case), read from its first line alone: a file whose
    header is wrong is refused before its body is read."""
    return _parse_header(path, first_line(path, limits.max_row_kb * 1024, "data", "--max-row-kb"))


def _parse_header(path: Path, line: bytes) -> list[str]:
    # Spreadsheet programs save "UTF-8 CSV" with a byte-order mark before the header.
    line = line.removeprefix(b"\xef\xbb\xbf").replace(b"\r", b"")
    header = [name.strip().strip(b'"').decode("utf-8", "replace").lower() for name in line.split(b",")]
    if "emotion" not in header or "pixels" not in header:
        found = line[:80].decode("utf-8", "replace")
        raise InputError(f"{path}: CSV header must have columns emotion,pixels[,Usage]; found '{found}'")
    return header


def _usage_column(path: Path, header: list[str], split: object) -> int | None:
    column = header.index("usage") if "usage" in header else None
    if split is not None and column is None:
        raise InputError(f"{path}: --split {split} given, but the CSV has no Usage column")
    return column


def csv_split_names(path: Path, limits: InputLimits, split: str | None) -> tuple[SplitNames, bool]:
    """Every Usage value in the CSV, and whether ``split`` (None: any) has a row: its Usage
    column alone is parsed, a batch of lines at a time."""
    header, body = _header_and_body(path, limits)
    column = _usage_column(path, header, split)
    names = SplitNames()
    if column is None:
        return names, True
    n_fields, key = len(header), split_key(split) if split is not None else None
    found = split is None
    for lines in body:
        values = {fields[column].strip().strip(b'"') for line in lines
                  if len(fields := line.split(b",", n_fields)) == n_fields}
        text = [value.decode("utf-8", "replace") for value in values]
        names.add(text)
        found = found or any(split_key(value) == key for value in text)
    return names, found


def _header_and_body(path: Path, limits: InputLimits) -> tuple[list[str], Iterator[list[bytes]]]:
    """The column names and the batches of lines after the header."""
    batches = read_lines(path, limits)
    first = next(batches, [b""])
    return _parse_header(path, first[0]), itertools.chain([first[1:]], batches)


def read_csv_parts(path: Path, split: str | Sequence[str] | None, n_classes: int,
                   limits: InputLimits = DEFAULT_LIMITS, prefix: str = "") -> Iterator[Part]:
    """One Kaggle CSV's rows of ``split`` (all rows when None; several splits: ``split_ids``
    says which), streamed and decoded ``PART_ROWS`` rows at a time; bad rows are counted."""
    check_csv_header(path, limits)
    header, body = _header_and_body(path, limits)
    col_emotion, col_pixels = header.index("emotion"), header.index("pixels")
    reader = _RowReader(PartBuilder(path, prefix, n_classes), len(header), col_emotion, col_pixels,
                        _usage_column(path, header, split), wanted_splits(split))
    for lines in body:
        yield from reader.read(lines)
    yield reader.flush()


class _RowReader:
    """Lines → fields → the wanted split's rows, in ``PartBuilder``s; row numbers count data
    rows from 1, blank lines included."""

    def __init__(self, builder: PartBuilder, n_fields: int, col_emotion: int, col_pixels: int,
                 col_usage: int | None, wanted: dict[str, int] | None) -> None:
        self.builder, self.n_fields = builder, n_fields
        self.col_emotion, self.col_pixels, self.col_usage = col_emotion, col_pixels, col_usage
        self.wanted = wanted
        self.row = 0
        self.rows: list[int] = []
        self.labels: list[int] = []
        self.pixels: list[bytes] = []
        self.ids: list[int] = []

    def read(self, lines: list[bytes]) -> Iterator[Part]:
        splits: dict[bytes, int | None] = {}  # this batch's Usage values → wanted index
        builder = self.builder
        for line in lines:
            self.row += 1
            if not line.strip():
                continue
            fields = line.split(b",")
            if len(fields) != self.n_fields:
                builder.add_bad([self.row], f"has {len(fields)} fields, expected {self.n_fields}")
                continue
            index = 0
            if self.col_usage is not None:
                usage = fields[self.col_usage].strip().strip(b'"')
                if usage not in splits:
                    splits[usage] = self._index(usage.decode("utf-8", "replace"))
                index = splits[usage]
                if index is None:
                    continue
            text = fields[self.col_emotion].strip().strip(b'"')
            try:
                label = int(text)
            except ValueError:
                builder.add_bad([self.row], f"has a non-integer emotion '{_shown(text)}'")
                continue
            if not 0 <= label < builder.n_classes:
                builder.add_bad([self.row], f"has emotion {_shown(text)} outside "
                                            f"0–{builder.n_classes - 1}")
                continue
            self.rows.append(self.row)
            self.labels.append(label)
            self.pixels.append(fields[self.col_pixels].strip().strip(b'"'))
            self.ids.append(index)
            if len(self.rows) + builder.n_read >= PART_ROWS:
                yield self.flush()
        builder.usages.add(value.decode("utf-8", "replace") for value in splits)

    def _index(self, usage: str) -> int | None:
        return 0 if self.wanted is None else self.wanted.get(split_key(usage))

    def flush(self) -> Part:
        """The rows gathered so far, decoded, as a Part."""
        images, problems = decode_pixel_rows(self.pixels)
        self.builder.add(np.array(self.rows, np.int64), np.array(self.labels, np.int64), images,
                         [(i, f"has {problem}") for i, problem in problems],
                         np.array(self.ids, np.int16) if self.wanted is not None else None)
        self.rows, self.labels, self.pixels, self.ids = [], [], [], []
        return self.builder.take()


def _shown(text: bytes) -> str:
    """A field as stored, for a message: decoded, at most 20 characters."""
    value = text.decode("utf-8", "replace")
    return value if len(value) <= 20 else value[:20] + "…"


def decode_pixel_rows(fields: list[bytes]) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Decode space-separated 0–255 integers, 2304 per row, without a Python loop over pixels.

    Returns (images (R, 48, 48) uint8 with bad rows zeroed, [(row index, problem)]).
    Hand-written because np.loadtxt and str.split are 10–50× slower on the 290 MB Kaggle file.
    """
    images = np.zeros((len(fields), N_PIXELS), np.uint8)
    problems: list[tuple[int, str]] = []
    for first in range(0, len(fields), _CHUNK_ROWS):
        chunk = fields[first : first + _CHUNK_ROWS]
        decoded, chunk_problems = _decode_chunk(chunk)
        images[first : first + len(chunk)] = decoded
        problems += [(first + row, problem) for row, problem in chunk_problems]
    return images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), problems


_CHUNK_ROWS = 1024  # keeps the temporaries to ~10 MB and in cache


def _decode_chunk(fields: list[bytes]) -> tuple[np.ndarray, list[tuple[int, str]]]:
    text = np.frombuffer(b"\n".join(fields) + b"\n", dtype=np.uint8)
    newlines = np.flatnonzero(text == 10)
    is_digit = (text >= 48) & (text <= 57)
    edges = np.diff(is_digit.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    lengths = ends - starts + 1
    digits = text[ends].astype(np.int16) - 48
    two, three = lengths >= 2, lengths >= 3
    digits[two] += 10 * (text[ends[two] - 1].astype(np.int16) - 48)
    digits[three] += 100 * (text[ends[three] - 2].astype(np.int16) - 48)
    counts = np.diff(np.searchsorted(starts, newlines), prepend=0)

    problems: dict[int, str] = {}
    stray = np.flatnonzero(~(is_digit | (text == 32) | (text == 9) | (text == 10)))
    for row in np.unique(np.searchsorted(newlines, stray)):
        problems[int(row)] = "a non-numeric pixel value"
    out_of_range = starts[(lengths > 3) | (digits > 255)]
    for row in np.unique(np.searchsorted(newlines, out_of_range)):
        problems.setdefault(int(row), "a pixel value outside 0–255")
    for row in np.flatnonzero(counts != N_PIXELS):
        problems.setdefault(int(row), f"{counts[row]} pixel values, expected {N_PIXELS}")

    decoded = np.zeros((len(fields), N_PIXELS), np.uint8)
    good = np.ones(len(fields), bool)
    good[list(problems)] = False
    if problems:
        token_good = np.repeat(good, counts)
        decoded[good] = digits[token_good].reshape(-1, N_PIXELS)
    else:
        decoded[:] = digits.reshape(-1, N_PIXELS)
    return decoded, sorted(problems.items())
