"""Peak memory of ``reportgen gate`` against a bare process holding the same images and model.

Run: ``python benchmarks/bench_memory.py [--model PATH] [--data PATH] [--splits A,B]``

Defaults: ``sample_models/fer_cnn.keras`` on ``/work/shared/fer2013``, splits ``PublicTest`` and
``Training`` (3,589 and 28,709 images). Each measurement is a fresh child process; its peak RSS
is the ``ru_maxrss`` that ``os.wait4`` reports for that child alone (what ``/usr/bin/time -f %M``
prints). Prints one row per split: images, gate peak, bare peak (a process that imports
TensorFlow, loads the model and loads the same split with ``load_dataset``, nothing else), their
ratio, and the gate's memory per image above the bare process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BARE = """
import sys
from pathlib import Path
import keras
from reportgen.loading.data import load_dataset
model = keras.saving.load_model(sys.argv[1])
dataset = load_dataset(Path(sys.argv[2]), sys.argv[3] or None)
print(len(dataset.labels))
"""


@dataclass(frozen=True)
class ChildRun:
    """How one child process ended: its exit code, peak RSS in KB, wall seconds and output."""

    returncode: int
    peak_kb: int
    seconds: float
    stdout: str
    stderr: str
    timed_out: bool = False


def run_child(command: list[str], timeout: float | None = None,
              on_start: Callable[[int], None] | None = None) -> ChildRun:
    """Run ``command`` as a child in a session of its own and wait for it; never raises on its exit.

    ``os.wait4`` gives this child's own rusage; RUSAGE_CHILDREN would be a maximum over all.
    Past ``timeout`` seconds, or on Ctrl-C, the child's whole process group is killed. ``on_start`` gets the
    child's pid as soon as it runs (to sample it from outside).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=_env(), start_new_session=True)
        if on_start is not None:
            on_start(child.pid)
        killed = threading.Event()
        timer = threading.Timer(timeout or 0, _kill_group, (child.pid, killed))
        if timeout:
            timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:  # Ctrl-C: its own session does not get the SIGINT
            _kill_group(child.pid, killed)
            raise
        seconds = time.perf_counter() - start
        timer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(child.returncode, usage.ru_maxrss, seconds,  # ru_maxrss: KB on Linux
                        out.read().decode(), err.read().decode(), killed.is_set())


def _kill_group(pid: int, killed: threading.Event) -> None:
    killed.set()
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended on its own meanwhile
        pass


def peak_of(command: list[str]) -> tuple[int, float, str]:
    """Run ``command`` as a child; return (its peak RSS in KB, wall seconds, stdout).

    Exits the benchmark when the child fails (any exit code but 0, or 1 for failed checks).
    """
    run = run_child(command)
    if run.returncode not in (0, 1):
        sys.exit(f"{' '.join(command[:4])} failed (exit {run.returncode}): {run.stderr[-400:]}")
    return run.peak_kb, run.seconds, run.stdout


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}


def measure(model: Path, data: Path, split: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "reportgen", "gate", "--model", str(model),
                   "--data", str(data), "--out", out, "--quiet"]
        gate_kb, gate_s, _ = peak_of(command + (["--split", split] if split else []))
        n_images = json.loads((Path(out) / "summary.json").read_text())["data"]["n_images"]
    bare_kb, _, _ = peak_of([sys.executable, "-c", BARE, str(model), str(data), split])
    return {"images": n_images, "gate_mb": gate_kb / 1024, "bare_mb": bare_kb / 1024,
            "gate_s": gate_s, "ratio": gate_kb / bare_kb,
            "kb_per_image": (gate_kb - bare_kb) / n_images}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "sample_models" / "fer_cnn.keras")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/fer2013"))
    parser.add_argument("--splits", default="PublicTest,Training",
                        help="comma-separated splits; an empty entry means no --split")
    args = parser.parse_args(argv)
    print(f"{'split':>12} {'images':>8} {'gate MB':>9} {'bare MB':>9} {'ratio':>6} "
          f"{'KB/image':>9} {'gate s':>7}")
    for split in args.splits.split(","):
        row = measure(args.model, args.data, split)
        print(f"{split or '-':>12} {row['images']:>8,} {row['gate_mb']:>9,.0f} {row['bare_mb']:>9,.0f} "
              f"{row['ratio']:>6.2f} {row['kb_per_image']:>9.1f} {row['gate_s']:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
