"""Atomic output: everything is written to a temporary folder, then moved into place.

A run that fails or is interrupted leaves no half-written report, and files that reportgen
did not write are never touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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


def remove_if_created_and_empty(out_dir: Path, created: bool) -> None:
    """Undo ``prepare_out_dir`` after a failed run, but only if nothing else is inside."""
    if created and out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()
