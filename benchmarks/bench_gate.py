"""Benchmark ``reportgen gate`` end to end, as CI runs it, against the inference it cannot avoid.

Run: ``python benchmarks/bench_gate.py [--model PATH] [--data DIR_OR_CSV] [--split NAME] [--runs N]``

Defaults: ``sample_models/fer_cnn.keras`` on ``/work/shared/fer2013`` split ``PublicTest`` (3,589
images), three runs. Each run is a fresh ``reportgen gate`` process (start-up included) writing
``summary.json`` to a temporary directory. Prints:

- the wall time of each gate run and their median;
- the baseline, measured in the same run: a fresh process that imports TensorFlow, loads the
  model and runs ``model.predict`` once per pass that gate needs (one evaluation plus one per
  probe) over the same number of images, and once over as many images as the patch-trigger scan
  stamps, with nothing else (no data loading, no statistics);
- the ratio of the gate median to that baseline (below 1 means gate is faster than the bare
  Keras passes it stands for), and the verdict against the issue-5 target.

Target (issue 5): ``gate`` on 3,589 images in under 30 s on this machine.
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
TARGET_S = 30.0

BASELINE = """
import sys, time
import numpy as np
import keras
from reportgen.bias.probes import PROBES
model = keras.saving.load_model(sys.argv[1])
n, (h, w, c) = int(sys.argv[2]), model.input_shape[1:]
images = np.random.default_rng(0).uniform(0, 255, (n, h, w, c)).astype(np.float32)
for _ in range(1 + len(PROBES)):
    model.predict(images, batch_size=256, verbose=0).argmax(axis=1)
stamped = np.random.default_rng(1).uniform(0, 255, (int(sys.argv[3]), h, w, c)).astype(np.float32)
model.predict(stamped, batch_size=256, verbose=0).argmax(axis=1)  # the patch-trigger scan
print(1 + len(PROBES))
"""


def run_gate(args: argparse.Namespace, out: Path) -> tuple[float, dict]:
    command = [sys.executable, "-m", "reportgen", "gate", "--model", str(args.model),
               "--data", str(args.data), "--out", str(out)]
    if args.split:
        command += ["--split", args.split]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=_env())
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"gate failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return seconds, json.loads((out / "summary.json").read_text())


def run_baseline(model: Path, n_images: int, n_scan: int) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", BASELINE, str(model), str(n_images), str(n_scan)],
                          capture_output=True, text=True, check=True, env=_env())
    return time.perf_counter() - start, int(done.stdout.split()[-1])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "sample_models" / "fer_cnn.keras")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/fer2013"))
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    walls, baselines = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            seconds, summary = run_gate(args, Path(tmp) / f"gate{run}")
            n_images = summary["data"]["n_images"]
            n_scan = (summary["bias"].get("trigger_scan") or {}).get("n_forward", 0)
            baseline, passes = run_baseline(args.model, n_images, n_scan)
            walls.append(seconds)
            baselines.append(baseline)
            stages = summary.get("timings", {})
            print(f"run {run + 1}: gate {seconds:6.2f} s, baseline {baseline:6.2f} s   ("
                  + ", ".join(f"{k} {v:.1f}" for k, v in stages.items() if isinstance(v, float))
                  + ")")
    median, baseline = statistics.median(walls), statistics.median(baselines)
    print(f"gate median over {args.runs} runs: {median:.2f} s on {n_images:,} images")
    print(f"baseline median (TensorFlow import, model load, {passes} x model.predict over "
          f"{n_images:,} images, plus the trigger scan's {n_scan:,} stamped images): {baseline:.2f} s")
    print(f"ratio gate / baseline: {median / baseline:.2f}")
    verdict = "meets" if median < TARGET_S else "MISSES"
    print(f"gate {verdict} the {TARGET_S:.0f} s target ({median:.1f} s, worst {max(walls):.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
