"""Benchmark the optimisation-based searches (``reportgen.bias.search``) on a real split.

Run: ``python benchmarks/bench_search.py [--model PATH ...] [--data DIR_OR_CSV] [--panel PATH ...]``

Defaults: ``sample_models/fer_cnn.keras`` on ``/work/shared/fer2013/PublicTest`` (3,589 images).
For each model, prints the seconds of one plain forward pass over the split (the baseline), then
for each search its seconds (tracing the compiled step included), the images through the model
and back (``n_gradient``), the images classified without gradients (``n_forward``: the checks and
the held-out confirmation, this model only), and what it found per class. The 1-minute load
average is printed before and after, as the machine is shared.

Target (issue 21): each search within about 10–15 s on this 2-core CPU when the machine is quiet.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_classifier(path: Path, scale_name: str | None = None):
    """A model as a Classifier: raw 0–255 input when it rescales itself, else ``scale_name``
    (an ``InputScale`` value such as ``0-1`` or ``-1-1``; default ``0-1``)."""
    from reportgen.loading.model import Classifier, InputScale, load_model

    loaded = load_model(path)
    scale = InputScale(scale_name) if scale_name else InputScale.UNIT
    scale = InputScale.RAW if loaded.has_rescaling else scale
    return Classifier(loaded, loaded.input_shape[:2], scale)


def describe(search, names: list[str], size: str) -> None:
    for entry in search.to_summary(names)["classes"]:
        confirmed = entry["confirmed"]
        line = (f"  {entry['class']:<9s} {size}={entry.get('mask_l1', entry.get('rms')):8.2f} "
                f"reached={entry['reached']!s:5s} success={entry['attack_success'] or 0:.2f} "
                f"anomaly={entry['anomaly_index']:+6.2f}")
        if confirmed:
            line += (f" | held-out {confirmed['effect']:+.1f} pp {confirmed['ci']}, control "
                     f"{confirmed['control_effect']:+.1f}, panel {confirmed['panel_effects']}")
        print(line)


def bench(model: Path, images: np.ndarray, panel: list, seed: int) -> None:
    from reportgen.bias.search import search_findings, search_triggers, search_universal
    from reportgen.loading.data import FER2013_CLASSES

    names = list(FER2013_CLASSES)
    classifier = load_classifier(model)
    start = time.perf_counter()
    preds = classifier.predict(images).argmax(axis=1)
    print(f"\n{model}: forward pass over {len(images):,} images "
          f"{time.perf_counter() - start:.2f} s (load {os.getloadavg()[0]:.1f})")
    triggers = search_triggers(classifier, images, preds, len(names), seed, panel)
    print(f"trigger search    {triggers.seconds:6.2f} s  n_gradient={triggers.n_gradient:,} "
          f"n_forward={triggers.n_forward:,} (load {os.getloadavg()[0]:.1f})")
    describe(triggers, names, "mask_l1")
    universal = search_universal(classifier, images, preds, len(names), seed, panel)
    print(f"universal search  {universal.seconds:6.2f} s  n_gradient={universal.n_gradient:,} "
          f"n_forward={universal.n_forward:,} (load {os.getloadavg()[0]:.1f})")
    describe(universal, names, "rms")
    for finding in search_findings(triggers, universal, names):
        print(f"  [{finding.severity}] {finding.text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, nargs="+",
                        default=[REPO / "sample_models" / "fer_cnn.keras"])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/fer2013/PublicTest"))
    parser.add_argument("--panel", nargs="*", default=[],
                        help="clean models for the transfer check, each PATH or PATH=SCALE")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from reportgen.loading.data import load_dataset

    images = np.asarray(load_dataset(args.data).images)
    panel = []
    for spec in args.panel:
        path, _, scale = str(spec).partition("=")
        member = load_classifier(Path(path), scale or None)
        panel.append(lambda x, m=member: m.predict(np.asarray(x, np.float32)).argmax(axis=1))
    for model in args.model:
        bench(model, images, panel, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
