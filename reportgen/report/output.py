"""Atomic output: everything is written to a temporary folder, then moved into place.

A run that fails or is interrupted leaves no half-written report, and files that reportgen
did not write are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reportgen.errors import InputError


def prepare_out_dir(out_dir: Path) -> bool:
    """Create ``out_dir`` if needed; return True when this run created it."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: --out exists and is not a directory")
    if out_dir.exists():
        return False
    try:
        out_dir.mkdir(parents=True)
    except OSError as err:
        raise InputError(f"{out_dir}: cannot create output directory: {err.strerror}") from None
    return True


def write_files(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write ``files`` (name → content) into ``out_dir`` atomically, replacing only those names."""
    staging = Path(tempfile.mkdtemp(prefix=".reportgen-", dir=out_dir))
    try:
        for name, content in files.items():
            (staging / name).write_bytes(content)
        written = []
        for name in files:
            target = out_dir / name
            os.replace(staging / name, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def interrupts_deferred() -> Iterator[list[int]]:
    """Hold off SIGINT and SIGTERM while the finished files are moved into place.

    The moves take microseconds; an interrupt in the middle of them would otherwise leave a new
    ``report.html`` beside an old ``report.pdf``. A signal that arrives meanwhile is recorded in
    the yielded list and dropped: by then the run is complete, so finishing is what stops it.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread may set handlers; nothing to defer elsewhere
        return
    previous = {sig: signal.signal(sig, lambda number, _frame: received.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def remove_if_created_and_empty(out_dir: Path, created: bool) -> None:
    """Undo ``prepare_out_dir`` after a failed run, but only if nothing else is inside."""
    if created and out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()
