"""Progress bars on stderr (rich) and per-stage timings."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Advance = Callable[[int], None]
# A stage's way to open a sub-bar: ``track(label, total)`` returns its Advance (or None).
Track = Callable[[str, int], Advance | None]
LOG_WIDTH = 120  # columns when stderr is a file or a CI log rather than a terminal


class Reporter:
    """Shows one progress bar per stage unless quiet, and records each stage's wall time."""

    def __init__(self, quiet: bool = False) -> None:
        self.console = Console(stderr=True, quiet=quiet)
        if not self.console.is_terminal and "COLUMNS" not in os.environ:
            # CI logs are wide: rich's 80-column default would fold every check's detail.
            self.console.width = LOG_WIDTH
        self.timings: dict[str, float] = {}
        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),  # estimated from the pace so far; blank until there is one
            console=self.console,
            transient=False,
            disable=quiet or not self.console.is_terminal,
        )
        # Without a terminal (CI logs, pipes) bars cannot redraw: print a line per stage instead.
        self._plain = not quiet and not self.console.is_terminal

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    @contextmanager
    def stage(self, name: str, total: int = 1) -> Iterator[Advance]:
        """Time a stage named ``name`` and yield a callable that advances its bar."""
        if self._plain:
            self.console.print(f"{name}...")
        task = self._progress.add_task(name, total=max(total, 1))
        start = time.perf_counter()
        try:
            yield lambda steps=1: self._progress.advance(task, steps)
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)
            self._progress.update(task, completed=max(total, 1))
            if self._plain:
                self.console.print(f"{name} done in {self.timings[name]:.1f} s")

    def track(self, description: str, total: int) -> Advance:
        """A bar for work inside a stage (used by the attribution and probe stages). Without a
        terminal, a line at each quarter done says how long the rest should take."""
        task = self._progress.add_task("  " + description, total=max(total, 1))
        if not self._plain:
            return lambda steps=1: self._progress.advance(task, steps)
        start, done, quarter = time.perf_counter(), 0, 1

        def advance(steps: int = 1) -> None:
            nonlocal done, quarter
            self._progress.advance(task, steps)
            done += steps
            if quarter < 4 and done * 4 >= quarter * max(total, 1):
                left = (time.perf_counter() - start) * (max(total, 1) - done) / done
                self.console.print(f"  {description}: {done}/{total}, about {left:.0f} s left")
                quarter = done * 4 // max(total, 1) + 1

        return advance

    def note(self, message: str) -> None:
        self.console.print(message)


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide what C++ libraries print on fd 2 meanwhile (TensorFlow's oneDNN and CUDA start-up
    notes, which TF_CPP_MIN_LOG_LEVEL no longer silences; Ray's start-up lines); Python errors
    still raise."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up lines hidden (the CLI and the API alike)."""
    with native_stderr_silenced():
        import tensorflow as tf
    # Retracing notes (tiny splits give many batch shapes) are for TF developers, not users.
    tf.get_logger().setLevel("ERROR")
