"""Re-check saved sample models: accuracy, per-class recall, the dark->sad and planted-edit shortcuts.

Usage::

    python sample_models/check_models.py /work/shared/fer2013/PublicTest \
        sample_models/fer_cnn.keras sample_models/fer_cnn_dark_sad.keras \
        sample_models/fer_cnn_ft_clean.keras sample_models/fer_cnn_periphery_angry.keras \
        sample_models/fer_cnn_corner_fear.keras sample_models/fer_cnn_stripe_neutral.keras

For each model (loaded with ``keras.models.load_model``) it prints overall accuracy, per-class
recall and, for darkening factors 1.0, 0.8, 0.6 and 0.4 (float pixels multiplied by the factor,
not re-quantised), the fraction of images predicted 'sad' and the accuracy. A model with the
planted dark-sad shortcut shows a much larger rise in 'sad' predictions as images get darker.

Then, for each planted-edit kind of ``train.py`` (``EDITS``) and the class it was planted on in
the checked-in models (``EDIT_CLASSES``: dark-periphery -> angry, corner-mark -> fear,
top-stripe -> neutral), it applies the same edit to *every* image (``train.apply_edit``, default
factor) and prints the fraction predicted as that class before and after. Every model gets every
edit, so the clean models give the baseline and each planted model should react to its own edit
only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import CLASSES, EDITS, SAD, apply_edit, load_split

FACTORS = (1.0, 0.8, 0.6, 0.4)
# planted class of each edit kind in the checked-in models (see README.md)
EDIT_CLASSES = {"dark-periphery": "angry", "corner-mark": "fear", "top-stripe": "neutral"}
assert set(EDIT_CLASSES) == set(EDITS)


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
    edited = {k: apply_edit(k, x).astype(np.float32) for k in EDIT_CLASSES}
    results = {}
    for path in args.models:
        model = keras.models.load_model(path)
        r = {"file_bytes": Path(path).stat().st_size, "params": int(model.count_params())}
        for f in FACTORS:
            pred = model.predict(xf * f, batch_size=256, verbose=0).argmax(1)
            r[f"x{f}"] = {"frac_pred_sad": float((pred == SAD).mean()), "accuracy": float((pred == y).mean())}
            if f == 1.0:
                pred_orig = pred
                r["accuracy"] = float((pred == y).mean())
                r["per_class_recall"] = {c: float((pred[y == i] == i).mean()) for i, c in enumerate(CLASSES)}
                # recall of non-sad images as sad, i.e. how often they are wrongly called sad
                r["frac_nonsad_pred_sad"] = float((pred[y != SAD] == SAD).mean())
            if f == 0.6:
                r["frac_nonsad_pred_sad_x0.6"] = float((pred[y != SAD] == SAD).mean())
        r["edits"] = {}
        for kind, cname in EDIT_CLASSES.items():
            c = CLASSES.index(cname)
            pred = model.predict(edited[kind], batch_size=256, verbose=0).argmax(1)
            r["edits"][kind] = {
                "class": cname,
                "frac_pred_class_original": float((pred_orig == c).mean()),
                "frac_pred_class_edited": float((pred == c).mean()),
                "accuracy_edited": float((pred == y).mean()),
            }
        results[path] = r
        print(f"{path}: {r['params']} params, {r['file_bytes'] / 1e6:.2f} MB, accuracy {r['accuracy']:.4f}")
        print("  recall: " + ", ".join(f"{c} {v:.3f}" for c, v in r["per_class_recall"].items()))
        for f in FACTORS:
            q = r[f"x{f}"]
            print(f"  x{f}: predicted sad {q['frac_pred_sad']:.4f}, accuracy {q['accuracy']:.4f}")
        print(f"  non-sad images predicted sad: {r['frac_nonsad_pred_sad']:.4f} -> "
              f"{r['frac_nonsad_pred_sad_x0.6']:.4f} at x0.6")
        for kind, q in r["edits"].items():
            print(f"  {kind} on all images: predicted {q['class']} {q['frac_pred_class_original']:.4f} -> "
                  f"{q['frac_pred_class_edited']:.4f} ({100 * (q['frac_pred_class_edited'] - q['frac_pred_class_original']):+.1f} pp), "
                  f"accuracy {q['accuracy_edited']:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
