"""What the detectors of issue 21 add to ``reportgen gate``: seconds per stage, in one run.

    python benchmarks/bench_detectors.py [--model PATH] [--data DIR] [--runs N]

Runs ``reportgen gate`` on the same model and data (default: the bundled model on FER2013
PublicTest, 3,589 images), each a fresh process, in this order:

1. ``baseline``: the round-two detectors only (``--skip-detectors`` drops the optimised
   trigger search, the universal-perturbation search and the corruption probes;
   ``--reference-model none`` drops the clean-model panel);
2. ``all, cold cache``: every detector, with an empty ``$REPORTGEN_CACHE`` (the panel's answers
   are computed);
3. ``all, warm cache``: the same again (the panel's answers come from the cache), ``--runs`` times.

It prints each run's wall time, the stage seconds from ``summary.json`` (``bias.seconds``) and
the ratio of each run to the baseline measured in the same invocation, so that the numbers
compare on a loaded machine. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NEW_PROBES = ("noise", "pixelation", "compression", "elastic warp", "motion blur", "defocus blur",
              "zoom blur")


def _gate(model: Path, data: Path, cache: Path, extra: list[str]) -> tuple[float, dict]:
    from reportgen.bias.switches import switch_names

    extra = [a if a != "{new}" else ",".join(
        ["trigger-search", "universal-search", *[n for n in NEW_PROBES if n in switch_names()]])
        for a in extra]
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "reportgen", "gate", "--model", str(model), "--data",
                   str(data), "--out", f"{out}/gate", "--quiet", *extra]
        start = time.perf_counter()
        done = subprocess.run(command, check=False, capture_output=True, text=True,
                              env={**os.environ, "REPORTGEN_CACHE": str(cache)})
        seconds = time.perf_counter() - start
        if done.returncode not in (0, 1):
            raise SystemExit(f"gate failed ({done.returncode}): {done.stderr[-500:]}")
        return seconds, json.loads(Path(f"{out}/gate/summary.json").read_text())


def _row(label: str, seconds: float, summary: dict, baseline: float | None) -> str:
    stages = summary["bias"]["seconds"]
    ratio = f"{seconds / baseline:.2f}×" if baseline else "1.00×"
    parts = ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if v >= 0.05)
    return f"| {label} | {seconds:.1f} | {ratio} | {len(summary['bias']['probes'])} | {parts} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=REPO / "sample_models" / "fer_cnn.keras")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/fer2013/PublicTest")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print("| run | wall s | vs baseline | probes | stage seconds (bias.seconds) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as cache:
        base_s, base = _gate(args.model, args.data, Path(cache),
                             ["--skip-detectors", "{new}", "--reference-model", "none"])
        print(_row("baseline (round two detectors)", base_s, base, None), flush=True)
        cold_s, cold = _gate(args.model, args.data, Path(cache), [])
        print(_row("all detectors, cold cache", cold_s, cold, base_s), flush=True)
        warm = [_gate(args.model, args.data, Path(cache), []) for _ in range(args.runs)]
        median = statistics.median(s for s, _ in warm)
        print(_row(f"all detectors, warm cache (median of {args.runs})", median, warm[0][1],
                   base_s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
