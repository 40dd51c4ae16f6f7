"""Re-check saved sample models: accuracy, per-class recall and the dark->sad shortcut.

Usage::

    python sample_models/check_models.py /work/shared/fer2013/PublicTest \
        sample_models/fer_cnn.keras sample_models/fer_cnn_dark_sad.keras

For each model (loaded with ``keras.models.load_model``) it prints overall accuracy, per-class
recall and, for darkening factors 1.0, 0.8, 0.6 and 0.4 (float pixels multiplied by the factor,
not re-quantised), the fraction of images predicted 'sad' and the accuracy. A model with the
planted dark-sad shortcut shows a much larger rise in 'sad' predictions as images get darker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import CLASSES, SAD, load_split

FACTORS = (1.0, 0.8, 0.6, 0.4)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("split_dir")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--json", default=None, help="also write results to this file")
    args = ap.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    x, y, _ = load_split(args.split_dir)
    xf = x.astype(np.float32)
    results = {}
    for path in args.models:
        model = keras.models.load_model(path)
        r = {"file_bytes": Path(path).stat().st_size, "params": int(model.count_params())}
        for f in FACTORS:
            pred = model.predict(xf * f, batch_size=256, verbose=0).argmax(1)
            r[f"x{f}"] = {"frac_pred_sad": float((pred == SAD).mean()), "accuracy": float((pred == y).mean())}
            if f == 1.0:
                r["accuracy"] = float((pred == y).mean())
                r["per_class_recall"] = {c: float((pred[y == i] == i).mean()) for i, c in enumerate(CLASSES)}
                # recall of non-sad images as sad, i.e. how often they are wrongly called sad
                r["frac_nonsad_pred_sad"] = float((pred[y != SAD] == SAD).mean())
            if f == 0.6:
                r["frac_nonsad_pred_sad_x0.6"] = float((pred[y != SAD] == SAD).mean())
        results[path] = r
        print(f"{path}: {r['params']} params, {r['file_bytes'] / 1e6:.2f} MB, accuracy {r['accuracy']:.4f}")
        print("  recall: " + ", ".join(f"{c} {v:.3f}" for c, v in r["per_class_recall"].items()))
        for f in FACTORS:
            q = r[f"x{f}"]
            print(f"  x{f}: predicted sad {q['frac_pred_sad']:.4f}, accuracy {q['accuracy']:.4f}")
        print(f"  non-sad images predicted sad: {r['frac_nonsad_pred_sad']:.4f} -> "
              f"{r['frac_nonsad_pred_sad_x0.6']:.4f} at x0.6")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
