"""Read FER2013-style Parquet: an image column (PNG/JPEG bytes, a pixel list or a pixel string),
an integer label column and optionally a split column, in row-group batches with pyarrow.

Column names are found case-insensitively: ``image``/``pixels``/``img``, ``label``/``emotion``
and ``usage``/``split``. Bounds: the file's size and every row group's unpacked size stay under
``--max-data-mb`` (read from the footer, before any data), and so do the decoded images.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reportgen.errors import InputError
from reportgen.loading.csvfile import decode_pixel_rows
from reportgen.loading.dataset import IMAGE_SIZE, N_PIXELS
from reportgen.loading.folders import decode_image
from reportgen.loading.limits import DEFAULT_LIMITS, MB, InputLimits, _too_big, require_regular_file
from reportgen.loading.parts import PART_ROWS, Part, PartBuilder, wanted_splits
from reportgen.loading.splits import SplitNames, split_key

IMAGE_COLUMNS = ("image", "pixels", "img")
LABEL_COLUMNS = ("label", "emotion")
SPLIT_COLUMNS = ("usage", "split")
BATCH_ROWS = 1024
SCAN_ROWS = 65_536  # rows per batch when only the split column is read


def check_parquet_file(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> tuple[str, str, str | None]:
    """Open ``path``'s footer alone and return its (image, label, split or None) column names."""
    return _columns(path, _open(path, limits))


def _open(path: Path, limits: InputLimits) -> pq.ParquetFile:
    info = require_regular_file(path, "data")
    if info.st_size > limits.max_data_mb * MB:
        raise _too_big(path, "data", info.st_size, limits.max_data_mb * MB, "--max-data-mb")
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: not a readable Parquet file ({_first_line(err)})") from None
    for group in range(file.metadata.num_row_groups):
        size = file.metadata.row_group(group).total_byte_size
        if size > limits.max_data_mb * MB:
            raise InputError(f"{path}: row group {group} unpacks to {size / MB:,.0f} MiB, over the "
                             f"--max-data-mb limit of {limits.max_data_mb:,} MiB")
    return file


def _columns(path: Path, file: pq.ParquetFile) -> tuple[str, str, str | None]:
    names = {name.lower(): name for name in file.schema_arrow.names}
    image = next((names[n] for n in IMAGE_COLUMNS if n in names), None)
    label = next((names[n] for n in LABEL_COLUMNS if n in names), None)
    if image is None or label is None:
        raise InputError(f"{path}: Parquet needs an image column ({'/'.join(IMAGE_COLUMNS)}) and a "
                         f"label column ({'/'.join(LABEL_COLUMNS)}); found {', '.join(names.values())}")
    if not pa.types.is_integer(file.schema_arrow.field(label).type):
        raise InputError(f"{path}: label column '{label}' holds {file.schema_arrow.field(label).type}, "
                         "not integers")
    if not _readable_image_type(file.schema_arrow.field(image).type):
        raise InputError(f"{path}: image column '{image}' holds {file.schema_arrow.field(image).type}; "
                         f"expected PNG/JPEG bytes, lists of {N_PIXELS} pixel values or pixel strings")
    return image, label, next((names[n] for n in SPLIT_COLUMNS if n in names), None)


def _readable_image_type(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0:  # Hugging Face Image feature
        kind = kind.field("bytes").type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        # pixel values: numbers only (a list of strings, lists or structs is no image)
        return pa.types.is_integer(kind.value_type) or pa.types.is_floating(kind.value_type)
    return any(test(kind) for test in (
        pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary,
        pa.types.is_string, pa.types.is_large_string))


def parquet_split_names(path: Path, limits: InputLimits, split: str | None) -> tuple[SplitNames, bool]:
    """Every split value in the file, and whether ``split`` (None: any) has a row: the split
    column alone is read."""
    file = _open(path, limits)
    _, _, split_col = _columns(path, file)
    _require_split_column(path, split, split_col)
    names = SplitNames()
    if split_col is None:
        return names, True
    key = split_key(split) if split is not None else None
    found = split is None
    try:
        for batch in file.iter_batches(batch_size=SCAN_ROWS, columns=[split_col]):
            values = pc.unique(_trimmed(batch.column(0))).drop_null()
            names.add(values.to_pylist())
            found = found or bool(pc.any(pc.equal(pc.utf8_lower(values), key)).as_py())
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: cannot read its split column '{split_col}': {_first_line(err)}") from None
    return names, found


def _trimmed(values: pa.Array) -> pa.Array:
    return pc.utf8_trim_whitespace(pc.cast(values, pa.string()))


def _require_split_column(path: Path, split: object, split_col: str | None) -> None:
    if split is not None and split_col is None:
        raise InputError(f"{path}: --split {split} given, but the Parquet file has no "
                         f"{'/'.join(SPLIT_COLUMNS)} column")


def read_parquet_parts(path: Path, split: str | Sequence[str] | None, n_classes: int,
                       limits: InputLimits = DEFAULT_LIMITS, prefix: str = "") -> Iterator[Part]:
    """One Parquet file's rows of ``split`` (all rows when None; several splits: ``split_ids``
    says which), decoded batch by batch and yielded ``PART_ROWS`` rows at a time, so a file of
    any size is never whole in memory."""
    file = _open(path, limits)
    image_col, label_col, split_col = _columns(path, file)
    _require_split_column(path, split, split_col)
    wanted = wanted_splits(split)
    keys = pa.array(list(wanted), pa.string()) if wanted is not None else None
    several = wanted is not None and not isinstance(split, str)
    columns = [image_col, label_col] + ([split_col] if split_col else [])
    builder = PartBuilder(path, prefix, n_classes)
    first_row = 1  # of the batch being read, for the error message
    try:
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            numbers = np.arange(first_row, first_row + batch.num_rows)
            keep = np.ones(batch.num_rows, bool)
            ids = np.zeros(batch.num_rows, np.int16)
            if split_col is not None:
                values = _trimmed(batch.column(split_col))
                builder.usages.add(v for v in pc.unique(values).to_pylist() if v is not None)
                if keys is not None:
                    found = pc.index_in(pc.utf8_lower(values), value_set=keys)
                    keep = np.asarray(found.is_valid())
                    ids = np.asarray(pc.fill_null(found, 0), np.int16)
            missing = keep & np.asarray(batch.column(label_col).is_null())
            builder.add_bad(numbers[missing], "has no label")  # not kept, as in a CSV
            keep &= ~missing
            mask = pa.array(keep)
            decoded, problems, converted = _decode(batch.column(image_col).filter(mask),
                                                   limits.max_image_pixels)
            labels = batch.column(label_col).filter(mask).to_numpy(zero_copy_only=False)
            builder.add(numbers[keep], labels, decoded, problems, ids[keep] if several else None,
                        converted)
            first_row += batch.num_rows
            if builder.n_read >= PART_ROWS:
                yield builder.take()
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path}: cannot read Parquet rows from {first_row}: {_first_line(err)}") from None
    yield builder.take()


def _decode(column: pa.Array | pa.ChunkedArray, max_pixels: int
            ) -> tuple[np.ndarray, list[tuple[int, str]], Counter[str]]:
    """An image column's values → (R, 48, 48) uint8 (zero where bad), [(index, problem)], conversions."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0:  # Hugging Face Image feature
        column, kind = column.field("bytes"), kind.field("bytes").type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return _decode_encoded(column.to_pylist(), max_pixels)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = [value.encode() if value is not None else b"" for value in column.to_pylist()]
        pixels, problems = decode_pixel_rows(values)
        return pixels, [(i, f"has {problem}") for i, problem in problems], Counter()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return (*_decode_lists(column), Counter())
    raise pa.ArrowInvalid(f"image column holds {kind}")  # _columns refuses these up front


def _decode_encoded(values: list[bytes | None], max_pixels: int
                    ) -> tuple[np.ndarray, list[tuple[int, str]], Counter[str]]:
    images = np.zeros((len(values), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    problems: list[tuple[int, str]] = []
    conversions: Counter[str] = Counter()
    for i, value in enumerate(values):
        if value is None:
            problems.append((i, "has no image"))
            continue
        image, problem, conversion = decode_image(io.BytesIO(value), max_pixels)
        if problem:
            problems.append((i, f"has an {problem}"))
        else:
            images[i] = image
            conversions.update([conversion] if conversion else [])
    return images, problems, conversions


def _decode_lists(column: pa.Array) -> tuple[np.ndarray, list[tuple[int, str]]]:
    lengths = np.asarray(pc.fill_null(pc.list_value_length(column), -1))
    images = np.zeros((len(column), N_PIXELS), np.uint8)
    problems = [(int(i), "has no image" if lengths[i] < 0 else
                 f"has {lengths[i]} pixel values, expected {N_PIXELS}")
                for i in np.flatnonzero(lengths != N_PIXELS)]
    good = lengths == N_PIXELS
    if good.any():
        values = column.filter(pa.array(good)).flatten()
        if values.null_count:
            raise pa.ArrowInvalid("a pixel list holds a missing value")
        pixels = np.asarray(values.to_numpy(zero_copy_only=False)).reshape(-1, N_PIXELS)
        out_of_range = ~((pixels >= 0) & (pixels <= 255) & (pixels == np.round(pixels))).all(axis=1)
        rows = np.flatnonzero(good)
        problems += [(int(rows[i]), "has a pixel value outside 0–255 or not an integer")
                     for i in np.flatnonzero(out_of_range)]
        images[rows] = np.where(out_of_range[:, None], 0, pixels).astype(np.uint8)
    return images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), sorted(problems)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
