"""Benchmark the probe suite: every probe on every image of a split, through the compiled model.

Run: ``python benchmarks/bench_probes.py [--model PATH] [--data DIR_OR_CSV] [--split NAME]``

Defaults: ``sample_models/fer_cnn.keras`` (or, while it does not exist yet, an untrained model of
the same architecture from ``sample_models/train.py``, which costs the same per image) on
``/work/shared/fer2013/PublicTest`` (3,589 images). Prints:

- the time of one plain forward pass over the split (the baseline);
- the time of the full probe suite: all probes applied, classified, and their effects with
  paired-bootstrap CIs (``predict_probes`` + ``measure_effects``), and its ratio to the
  baseline (the suite runs one forward pass per probe, so a ratio near the number of probes
  means no overhead);
- the rest of ``analyse_bias`` without attribution (slices, confusions, findings).

Target (issue 4): the full probe suite on 3,589 images in under 60 s on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TARGET_S = 60.0


def load_classifier(path: Path, image_size: tuple[int, int]):
    """The model at ``path`` as a Classifier (raw 0–255 input), or the untrained stand-in."""
    from reportgen.loading.model import Classifier, InputScale, describe_keras_model, load_model

    if path.exists():
        loaded = load_model(path)
        print(f"model: {path} ({loaded.n_params:,} parameters)")
    else:
        sys.path.insert(0, str(REPO / "sample_models"))
        from train import build_model

        loaded = describe_keras_model(build_model())
        print(f"model: {path} missing; untrained stand-in of the same architecture "
              f"({loaded.n_params:,} parameters)")
    scale = InputScale.RAW if loaded.has_rescaling else InputScale.UNIT
    return Classifier(loaded, image_size, scale)


def timed(label: str, function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"{label:<44s}{seconds:8.2f} s")
    return value, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "sample_models" / "fer_cnn.keras")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/fer2013/PublicTest"))
    parser.add_argument("--split", default=None)
    args = parser.parse_args(argv)

    from reportgen.bias import analyse_bias
    from reportgen.bias.effects import PREDICT_BATCH, measure_effects, predict_probes
    from reportgen.bias.probes import PROBES
    from reportgen.loading.data import load_dataset

    dataset, _ = timed("load data", load_dataset, args.data, args.split)
    images, labels = dataset.images, dataset.labels
    names = list(dataset.class_names)
    classifier = load_classifier(args.model, images.shape[1:3])
    print(f"data: {args.data} ({len(images):,} images); {len(PROBES)} probes")
    classifier.predict(images[:PREDICT_BATCH], batch_size=PREDICT_BATCH)  # trace once, untimed

    probs, forward_s = timed("plain forward pass (baseline)", classifier.predict, images,
                             batch_size=PREDICT_BATCH)
    preds = probs.argmax(axis=1)
    probes = list(PROBES.values())
    start = time.perf_counter()
    after, _predict_s = timed("  probes applied and classified", predict_probes, classifier,
                             images, probes)
    _, _effects_s = timed("  effects with bootstrap CIs", measure_effects, probes, preds, after,
                         labels, len(names), 0)
    suite_s = time.perf_counter() - start
    print(f"{'full probe suite':<44s}{suite_s:8.2f} s   ratio to one forward pass: "
          f"{suite_s / forward_s:.1f}x ({len(probes)} passes)")
    result, _total_s = timed("analyse_bias without attribution (total)", analyse_bias,
                            classifier, images, labels, probs, names, 0)
    print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.seconds.items()))
    verdict = "meets" if suite_s < TARGET_S else "MISSES"
    print(f"probe suite on {len(images):,} images: {suite_s:.1f} s, {verdict} the "
          f"{TARGET_S:.0f} s target")
    for finding in result.headline_findings(limit=3):
        print(f"  [{finding.severity}] {finding.text}")
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
