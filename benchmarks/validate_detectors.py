"""Validate the shortcut detectors like an outsider: planted models of several kinds and recipes,
each with and without the probe family made for its kind, and every clean model against the panel.

    python benchmarks/validate_detectors.py --data ../shared/fer2013/PublicTest [--out DIR]

For each planted model (``sample_models/*.keras`` and ``sample_models/planted/*.keras`` with a
``.train.json`` record that names the planted class), it runs ``reportgen gate`` twice: with
every detector, and with the detector or probe family that matches the planted kind switched
off (``--skip-detectors``). It prints the planted class and the real strength of the edit (the
share of *all* PublicTest images sent to that class, from the training record), then the first
finding toward the planted class: its detector (mechanism), severity and effect with CI, and
the first finding overall. For each clean model (every panel member, judged leave-one-out, and
the other clean samples) it counts critical and warning findings. Output: a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_models"
# planted kind → the detector or probe family made for it (switched off in the second run)
MATCHING = {
    "dark-sad": "darkening", "dark-periphery": "darkening", "corner-mark": "patch-scan",
    "top-stripe": "patch-scan", "checker": "patch-scan", "ring": "patch-scan",
    "diagonal": "patch-scan", "grating": "noise",
}
CLEAN = ["fer_cnn.keras", "fer_cnn_ft_clean.keras"]


def planted_models() -> list[tuple[Path, dict]]:
    found = []
    for path in [*sorted((SAMPLES / "planted").glob("*.keras")), *sorted(SAMPLES.glob("*.keras"))]:
        record = path.with_name(path.stem + ".train.json")
        if record.exists():
            planted = json.loads(record.read_text()).get("planted")
            if planted:
                found.append((path, json.loads(record.read_text())))
    return found


def gate(model: Path, data: Path, out: Path, skip: str | None = None) -> tuple[dict, float]:
    command = [sys.executable, "-m", "reportgen", "gate", "--model", str(model), "--data", str(data),
               "--out", str(out), "--quiet"]
    if skip:
        command += ["--skip-detectors", skip]
    start = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{model.name}: gate failed ({done.returncode}): {done.stderr[-400:]}")
    return json.loads((out / "summary.json").read_text()), seconds


def first_toward(summary: dict, name: str) -> str:
    for f in summary["bias"]["findings"]:
        if f["class"] == name and f.get("mechanism") != "":
            return (f"{f['mechanism'] or 'slice/sink'}, **{f['severity']}**, {f['effect']:+.1f} pp "
                    f"[{f['ci_low']:.1f}, {f['ci_high']:.1f}]")
    return "**not found**"


def first_overall(summary: dict) -> str:
    findings = summary["bias"]["findings"]
    if not findings:
        return "none"
    f = findings[0]
    return f"{f['severity']} {f['mechanism'] or 'slice/sink'} → '{f['class']}' {f['effect']:+.1f} pp"


def strength(record: dict) -> str:
    check = record.get("eval", {}).get("planted_check") or record.get("eval", {}).get("dark_check")
    if not check:
        return "?"
    if "frac_pred_class_edited" in check:
        return (f"{check['frac_pred_class_original']:.0%} → {check['frac_pred_class_edited']:.0%} "
                "of all images")
    return f"sad {check['frac_pred_sad_original']:.0%} → {check['frac_pred_sad_darkened']:.0%} (×0.6)"


def recipe(record: dict) -> str:
    r = record.get("recipe") or {"arch": "cnn", "input_scale": "raw", "augment": "geometric"}
    init = " fine-tuned" if record.get("init") else ""
    return f"{r['arch']}/{r['input_scale']}/{r['augment']}{init}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/fer2013/PublicTest")
    parser.add_argument("--out", type=Path, default=Path("/tmp/validate_detectors"))
    parser.add_argument("--only", default="", help="comma-separated model stems to run")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    args.out.mkdir(parents=True, exist_ok=True)
    print("| model | recipe | planted → class | real strength | first finding toward it "
          "(all detectors) | same, matching family off | first finding overall | s |")
    print("|---|---|---|---|---|---|---|---|")
    for path, record in planted_models():
        if only and path.stem not in only:
            continue
        planted = record["planted"]
        kind, name = planted["shortcut"], planted.get("class", "sad")
        full, seconds = gate(path, args.data, args.out / f"{path.stem}-all")
        off, _ = gate(path, args.data, args.out / f"{path.stem}-off", MATCHING.get(kind))
        print(f"| {path.stem} | {recipe(record)} | {kind} → '{name}' | {strength(record)} | "
              f"{first_toward(full, name)} | {first_toward(off, name)} (off: {MATCHING.get(kind)}) "
              f"| {first_overall(full)} | {seconds:.0f} |", flush=True)
    print("\n| clean model | judged against | criticals | warnings | first finding |")
    print("|---|---|---|---|---|")
    panel = sorted((SAMPLES / "panel").glob("*.keras"))
    for path in [*panel, *(SAMPLES / c for c in CLEAN)]:
        if only and path.stem not in only:
            continue
        summary, _ = gate(path, args.data, args.out / f"clean-{path.stem}")
        severities = [f["severity"] for f in summary["bias"]["findings"]]
        against = summary["bias"].get("panel") or {}
        judged = (f"{len(against.get('members', []))} panel members"
                  + (f" (left out: {', '.join(against['left_out'])})" if against.get("left_out") else ""))
        print(f"| {path.stem} | {judged} | {severities.count('critical')} | "
              f"{severities.count('warning')} | {first_overall(summary)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
