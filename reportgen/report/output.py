"""Atomic output: everything is written to a temporary folder, then moved into place.

A run that fails or is interrupted leaves no half-written report, and files that reportgen
did not write are never touched.
"""

from __future__ import annotations

import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reportgen.errors import InputError


def prepare_out_dir(out_dir: Path) -> list[Path]:
    """Create ``out_dir`` and any missing parents; return the folders this run created,
    outermost first, so that a failed run can remove them again."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: --out exists and is not a directory")
    missing = [p for p in (out_dir, *out_dir.parents) if not p.exists()][::-1]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{out_dir}: cannot create output directory: {err.strerror}") from None
    return missing


def check_targets(targets: Iterable[Path]) -> None:
    """Refuse, before any work, a target that could not be replaced at the end: one that
    exists as something other than a file, or whose folder cannot be written."""
    folders: dict[Path, Path] = {}
    for target in targets:
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise InputError(f"{target}: exists and is not a regular file; reportgen replaces only "
                             "files it wrote, so move it away")
        folder = _nearest_existing(target.parent)
        folders.setdefault(folder, target)
    for folder, target in folders.items():
        if not folder.is_dir():
            raise InputError(f"{target}: cannot be written: {folder} is not a directory")
        try:
            handle, probe = tempfile.mkstemp(prefix=".reportgen-probe-", dir=folder)
        except OSError as err:
            raise InputError(f"{target}: cannot be written: {folder}: {err.strerror}") from None
        os.close(handle)
        os.unlink(probe)


def _nearest_existing(folder: Path) -> Path:
    return next(p for p in (folder, *folder.parents) if p.exists())


def write_files(out_dir: Path, files: dict[str, bytes], extra: dict[Path, bytes] | None = None) -> list[Path]:
    """Write ``files`` (name → content) into ``out_dir``, and ``extra`` (path → content)
    elsewhere, all or nothing; only those paths are replaced."""
    return replace_all({out_dir / name: content for name, content in files.items()} | (extra or {}))


def replace_all(targets: dict[Path, bytes]) -> list[Path]:
    """Replace every target with its new content, or none of them.

    Each new file is written beside its target first (same file system, so the move is an
    atomic rename). Then each old file is renamed aside and the new one moved in; if anything
    fails on the way (a full disk, a target turned into a folder), the moved files are put
    back and the old ones restored, and the InputError names the path that failed.
    """
    staged: dict[Path, Path] = {}
    moved: list[tuple[Path, Path | None]] = []  # (target, its old file set aside, or None)
    try:
        for target, content in targets.items():
            staged[target] = _stage(target, content)
        for target, new in staged.items():
            backup = None
            if target.exists():
                backup = target.with_name(f".{target.name}.reportgen-old")
                os.replace(target, backup)
            moved.append((target, backup))
            os.replace(new, target)
    except OSError as err:
        _roll_back(moved)
        failed = err.filename or (moved[-1][0] if moved else next(iter(targets)))
        raise InputError(f"{failed}: cannot write: {err.strerror or err}; the previous files are "
                         "kept") from None
    except BaseException:
        _roll_back(moved)
        raise
    finally:
        for new in staged.values():
            Path(new).unlink(missing_ok=True)
    for _, backup in moved:
        if backup is not None:
            backup.unlink(missing_ok=True)
    return list(targets)


def _stage(target: Path, content: bytes) -> Path:
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            os.fchmod(stream.fileno(), _mode_of(target))  # mkstemp's 0600 is not the result's
            stream.write(content)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp)


def _mode_of(target: Path) -> int:
    """The permissions a plain ``open(target, "w")`` would leave: the old file's, else 0666
    less the umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux states it; setting and restoring it would race with other threads
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("Umask:"))
        return int(line.split()[1], 8)
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def _roll_back(moved: list[tuple[Path, Path | None]]) -> None:
    for target, backup in reversed(moved):
        try:
            if backup is not None:
                os.replace(backup, target)
            elif target.is_file():
                target.unlink()
        except OSError:
            continue  # keep restoring the others; the old file stays beside it, under its .reportgen-old name


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


def remove_created(created: list[Path]) -> None:
    """Undo ``prepare_out_dir`` after a failed run: remove the folders it made, innermost
    first, as long as nothing else is inside."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or gone): leave it and everything above it


def run_all_or_nothing(work: Callable[[list[Path]], int], fail: Callable[[str], None]) -> int:
    """A command's run, ended the same way for ``audit``, ``gate`` and ``compare``.

    ``work(created)`` appends every folder it makes (``prepare_out_dir``) to ``created`` and
    returns the exit code. On bad input (2), Ctrl-C or SIGTERM from a CI cancellation (130), or
    any other error (2; raised with ``$REPORTGEN_DEBUG``), those folders are removed and ``fail``
    says why in one line.
    """
    created: list[Path] = []
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return work(created)
    except InputError as err:
        fail(str(err))
        code = 2
    except KeyboardInterrupt:
        fail("interrupted; no report was written")
        code = 130
    except Exception as err:
        if os.environ.get("REPORTGEN_DEBUG"):
            raise
        fail(f"unexpected {type(err).__name__}: {err} (set REPORTGEN_DEBUG=1 for the traceback)")
        code = 2
    remove_created(created)
    return code
