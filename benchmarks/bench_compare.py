"""Benchmark ``reportgen compare`` of three models against three single ``reportgen gate`` runs.

Run: ``python benchmarks/bench_compare.py [--models A B C] [--data DIR_OR_CSV] [--split NAME]
[--formats html,pdf,json]``

Defaults: ``fer_cnn.keras``, ``fer_cnn_corner_fear.keras`` and ``fer_cnn_ft_clean.keras`` on
``/work/shared/fer2013`` split ``PublicTest`` (3,589 images). In one run, one after the other,
each a fresh process (start-up included) timed by wall clock, its peak RSS read from
``getrusage(RUSAGE_CHILDREN)`` of a wrapper process that runs only it:

- ``reportgen gate`` once per model (writing ``summary.json``), then their sum and largest RSS;
- ``reportgen compare`` of the same models (writing ``--formats``; the default is every file,
  so the PDF's rendering is counted too).

Prints each time and peak, then the ratio of compare to the sum of the gates (target: close to
1, i.e. compare costs close to three gates, not more: the issue-26 target) and compare's peak
RSS against the largest single gate's. All runs share one reference-model cache
(``REPORTGEN_CACHE`` as set, else a fresh temporary folder), and a warm-up gate fills it first
(``--no-warm-up`` skips it when the cache is already warm), so neither side pays for the
clean-model panel's first run on this data.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = ("fer_cnn.keras", "fer_cnn_corner_fear.keras", "fer_cnn_ft_clean.keras")
TARGET_RATIO = 1.10  # compare / (sum of the gates): "close to 3x a single gate, not more"

# Runs one command and prints its children's peak RSS (kB, Linux) on the last line.
WRAPPER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
if code.returncode not in (0, 1):
    sys.exit(code.stderr[-400:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process running ``command``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, *command], capture_output=True,
                          text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[3:5])} failed: {done.stderr.strip()[-400:]}")
    return seconds, int(done.stdout.split()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, nargs="+",
                        default=[REPO / "sample_models" / m for m in MODELS])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/fer2013"))
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--formats", default="html,pdf,json")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write compare's report here (kept) instead of a temporary folder")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                        help="skip the warm-up gate (the cache in REPORTGEN_CACHE is warm)")
    args = parser.parse_args(argv)
    reportgen = [sys.executable, "-m", "reportgen"]
    data = ["--data", str(args.data), *(["--split", args.split] if args.split else []), "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3",
               "REPORTGEN_CACHE": os.environ.get("REPORTGEN_CACHE", str(Path(tmp) / "cache"))}
        if args.warm_up:  # fills the panel's cache for both sides
            measure([*reportgen, "gate", "--model", str(args.models[0]), *data, "--out",
                     str(Path(tmp) / "warm")], env)
        gates = [measure([*reportgen, "gate", "--model", str(m), *data, "--out",
                          str(Path(tmp) / f"gate{i}")], env) for i, m in enumerate(args.models)]
        models = [a for m in args.models for a in ("--model", str(m))]
        compare = measure([*reportgen, "compare", *models, *data, "--formats", args.formats,
                           "--out", str(args.keep or Path(tmp) / "compare")], env)
    for model, (seconds, peak) in zip(args.models, gates):
        print(f"gate {model.name}: {seconds:.1f} s, peak RSS {peak:.0f} MiB")
    total, largest = sum(s for s, _ in gates), max(p for _, p in gates)
    print(f"{len(gates)} gates: {total:.1f} s in all, largest peak RSS {largest:.0f} MiB")
    print(f"compare of {len(gates)} ({args.formats}): {compare[0]:.1f} s, peak RSS {compare[1]:.0f} MiB")
    ratio = compare[0] / total
    print(f"time ratio compare / sum of gates: {ratio:.2f} (target ≤ {TARGET_RATIO:.2f}: "
          f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}); "
          f"peak RSS ratio compare / largest gate: {compare[1] / largest:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
