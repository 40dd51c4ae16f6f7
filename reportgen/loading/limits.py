"""Bounds on untrusted input, and bounded reading of regular files (kept free of TensorFlow).

Every limit is a CLI option with a safe default; an input over a limit is an InputError that
names the file, the limit and the option that raises it, so a hostile or broken input costs
neither memory nor time.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reportgen.errors import InputError

MB = 1 << 20
CHUNK = 1 << 20  # bytes read (or decompressed) at a time


@dataclass(frozen=True)
class InputLimits:
    """Upper bounds for what reportgen reads. Sizes are in MiB (decompressed where relevant).

    The defaults pass the full Kaggle FER2013 CSV (296 MB, 9 kB rows) and keep a refused input
    well under 1 GB of memory.
    """

    max_data_mb: int = 512  # --max-data-mb: CSV bytes after decompression
    max_row_kb: int = 64  # --max-row-kb: one CSV line (a FER2013 row is about 9 kB)
    max_image_pixels: int = 4096 * 4096  # --max-image-pixels: one image file, width × height
    max_model_mb: int = 2048  # --max-model-mb: a model's bytes, unpacked (.keras members summed)

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"--{name.replace('_', '-')}: must be a positive integer, got {value!r}")


DEFAULT_LIMITS = InputLimits()


def require_regular_file(path: Path, what: str) -> os.stat_result:
    """The file's stat, after following symlinks; devices, FIFOs and sockets are refused
    (reading ``/dev/zero`` never ends)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read {what}: {err.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: {what} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: {what} is not a regular file (a device, pipe or socket)")
    return info


def not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a regular file (after following links), or None: "a link
    that loops", "a link to nothing", "not a regular file (a device, pipe or socket)"…"""
    try:
        info = os.stat(path)
    except OSError as err:
        return ("a link that loops" if err.errno == errno.ELOOP else
                "a link to nothing" if path.is_symlink() else err.strerror or str(err))
    if stat.S_ISDIR(info.st_mode):
        return "a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or socket)"
    return None


def read_lines(path: Path, limits: InputLimits, what: str = "data") -> Iterator[list[bytes]]:
    """A regular file's lines (without line endings, the first line included), a batch of about
    ``CHUNK`` bytes at a time; gunzipped on the fly when it ends in ``.gz``.

    Every line's length is checked as it arrives and the total as it grows, so a gzip bomb (or
    a file of zeros) is refused after ``max_row_kb`` or ``max_data_mb``, and memory holds one
    batch, whatever the file's size.
    """
    info = require_regular_file(path, what)
    limit, max_line = limits.max_data_mb * MB, limits.max_row_kb * 1024
    if not path.name.lower().endswith(".gz") and info.st_size > limit:
        raise _too_big(path, what, info.st_size, limit, "--max-data-mb")
    carry = b""  # the unfinished last line of the previous chunk
    total = 0
    for chunk in stream_chunks(path):
        total += len(chunk)
        if total > limit:
            raise _too_big(path, what, None, limit, "--max-data-mb")
        lines = (carry + chunk).split(b"\n")
        carry = lines.pop()
        if len(carry) > max_line or any(len(line) > max_line for line in lines):
            raise InputError(f"{path}: holds a line longer than {limits.max_row_kb:,} kB before "
                             f"byte {total:,} (the --max-row-kb limit; a FER2013 row is about 9 kB)")
        if lines:
            yield [line.removesuffix(b"\r") for line in lines]
    if carry:
        yield [carry.removesuffix(b"\r")]


def stream_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes in chunks of about ``CHUNK``, gunzipped on the fly for ``.gz``."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        else:
            with open(path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
    except (OSError, EOFError, zlib.error) as err:
        detail = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise InputError(f"{path}: cannot read: {detail}") from None


def first_line(path: Path, max_bytes: int, what: str, option: str) -> bytes:
    """The first line (without its newline), read without reading the rest of the file."""
    require_regular_file(path, what)
    head = bytearray()
    for chunk in stream_chunks(path):
        head += chunk
        end = head.find(b"\n")
        if end >= 0:
            return bytes(head[:end])
        if len(head) > max_bytes:
            break
    if len(head) > max_bytes:
        raise InputError(f"{path}: first line is longer than {max_bytes // 1024} kB "
                         f"(the {option} limit); not a FER2013 CSV header")
    return bytes(head)


def _too_big(path: Path, what: str, size: int | None, limit: int, option: str) -> InputError:
    found = f"{size / MB:,.0f} MiB" if size is not None else f"more than {limit // MB:,} MiB"
    return InputError(f"{path}: {what} holds {found}{' unpacked' if size is None else ''}, over the "
                      f"{option} limit of {limit // MB:,} MiB; raise {option} if it is genuine")
