"""Sequential against exhaustive: the same findings from fewer model evaluations (issue 22).

Run: ``python benchmarks/bench_sequential.py [--data DIR] [--split NAME] [--models A,B,...]``

Defaults: the bundled model and two planted models (``fer_cnn_corner_fear``, a white corner
patch toward 'fear'; ``planted/grating_angry``, a sinusoidal grating toward 'angry') on
``/work/shared/fer2013`` ``PublicTest`` (3,589 images). For each model it runs, in one run and
alternating, ``reportgen gate --exhaustive`` and ``reportgen gate`` (the default, sequential),
each a fresh process with the clean-model panel's answers already cached (a first run
computes them once; the benchmark warms the cache with one gate first). It prints:

- per stage, model evaluations (images through the model: forward passes, and gradient passes
  for the searches) and seconds, exhaustive against sequential, with their ratio;
- the wall time of each gate and the ratio sequential / exhaustive (target: at most 0.4, and
  at most 15 s on the bundled model);
- the findings of both modes side by side: (class, mechanism, severity, effect [95% CI]), and
  whether they agree: the same (class, mechanism, severity) set, the same numbers for every
  warning and critical finding (their probes are completed on the whole split), and which info
  findings (numbers from the images that settled their probe) have an effect outside the other
  mode's CI.

Exit code 1 when some model's (class, mechanism, severity) findings differ between the modes, or
a warning or critical finding's numbers do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = ("sample_models/fer_cnn.keras", "sample_models/fer_cnn_corner_fear.keras",
          "sample_models/planted/grating_angry.keras")
TARGET_RATIO, TARGET_S = 0.4, 15.0


def run_gate(model: str, data: str, split: str, out: Path, exhaustive: bool) -> tuple[float, dict]:
    command = [sys.executable, "-m", "reportgen", "gate", "--model", model, "--data", data,
               "--split", split, "--out", str(out), "--policy", "none", "--quiet"]
    if exhaustive:
        command.append("--exhaustive")
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    return time.perf_counter() - start, json.loads((out / "summary.json").read_text())


def stages(summary: dict) -> dict[str, tuple[int, float]]:
    """{stage: (model evaluations, seconds)} from a gate's summary.json."""
    bias, n = summary["bias"], summary["bias"]["n_images"]
    seconds = bias["seconds"]
    search = bias.get("trigger_search") or {}
    universal = bias.get("universal_search") or {}
    return {
        "model pass (N images)": (n, summary["timings"].get("Evaluating and probing", 0.0)),
        "probes": (bias["probing"]["evaluations"], seconds.get("probes", 0.0)),
        "patch scan": ((bias.get("trigger_scan") or {}).get("n_forward", 0),
                       seconds.get("trigger_scan", 0.0)),
        "trigger search": (search.get("n_forward", 0) + search.get("n_gradient", 0),
                           seconds.get("trigger_search", 0.0)),
        "universal search": (universal.get("n_forward", 0) + universal.get("n_gradient", 0),
                             seconds.get("universal_search", 0.0)),
    }


def findings(summary: dict) -> dict[tuple[str, str, str], tuple[float, float, float]]:
    return {(f["class"], f.get("mechanism") or f["probe"], f["severity"]):
            (f["effect"], f["ci_low"], f["ci_high"]) for f in summary["bias"]["findings"]}


def inside(a: tuple, b: tuple) -> bool:
    """Each (effect, low, high)'s effect inside the other's CI."""
    return b[1] <= a[0] <= b[2] and a[1] <= b[0] <= a[2]


def agree(a: dict, b: dict) -> tuple[bool, bool, list]:
    """(same (class, mechanism, severity) keys, every warning and critical finding's numbers
    equal, the info findings whose effects fall outside the other mode's CI)."""
    shared = set(a) & set(b)
    graded = all(a[k] == b[k] for k in shared if k[2] != "info")
    loose = [k for k in sorted(shared) if k[2] == "info" and not inside(a[k], b[k])]
    return set(a) == set(b), graded, loose


def report(model: str, results: dict[bool, tuple[float, dict]]) -> bool:
    (t_ex, s_ex), (t_seq, s_seq) = results[True], results[False]
    print(f"\n## {model}\n")
    print(f"{'stage':24s} {'evals exh.':>11s} {'evals seq.':>11s} {'ratio':>6s} "
          f"{'s exh.':>7s} {'s seq.':>7s}")
    total = [0, 0]
    for stage, (e_ex, sec_ex) in stages(s_ex).items():
        e_seq, sec_seq = stages(s_seq)[stage]
        total = [total[0] + e_ex, total[1] + e_seq]
        ratio = e_seq / e_ex if e_ex else float("nan")
        print(f"{stage:24s} {e_ex:11,d} {e_seq:11,d} {ratio:6.2f} {sec_ex:7.1f} {sec_seq:7.1f}")
    print(f"{'all stages':24s} {total[0]:11,d} {total[1]:11,d} {total[1] / total[0]:6.2f}")
    n = s_ex["bias"]["n_images"]
    print(f"evaluations per image: exhaustive {total[0] / n:.1f}, sequential {total[1] / n:.1f}")
    print(f"gate wall time: exhaustive {t_ex:.1f} s, sequential {t_seq:.1f} s, "
          f"ratio {t_seq / t_ex:.2f} (target <= {TARGET_RATIO})")
    f_ex, f_seq = findings(s_ex), findings(s_seq)
    print("\nfindings (class, mechanism, severity): exhaustive | sequential")
    for key in sorted(set(f_ex) | set(f_seq)):
        cell = [f"{f[key][0]:+6.1f} [{f[key][1]:.1f}, {f[key][2]:.1f}]" if key in f else "-"
                for f in (f_ex, f_seq)]
        print(f"  {key[0]:9s} {key[1][:28]:28s} {key[2]:8s} {cell[0]:24s} | {cell[1]}")
    same, graded, loose = agree(f_ex, f_seq)
    print(f"same (class, mechanism, severity) findings: {same}; warning and critical findings' "
          f"numbers identical: {graded}; info findings with an effect outside the other mode's "
          f"CI: {len(loose)} of {sum(k[2] == 'info' for k in f_ex)} {[k[:2] for k in loose]}")
    return same and graded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/work/shared/fer2013")
    parser.add_argument("--split", default="PublicTest")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    all_agree = True
    with tempfile.TemporaryDirectory() as tmp:
        for i, model in enumerate(args.models.split(",")):
            if i == 0:  # the panel's answers depend on the data only: cached for every model
                run_gate(model, args.data, args.split, Path(tmp) / "warm", False)
            results = {mode: run_gate(model, args.data, args.split, Path(tmp) / f"{i}-{mode}", mode)
                       for mode in (True, False)}
            all_agree &= report(model, results)
    return 0 if all_agree else 1


if __name__ == "__main__":
    sys.exit(main())
