"""Train a compact plain-Conv2D FER2013 expression classifier (sample model for reportgen).

Usage (the commands that produced the checked-in models are in sample_models/README.md)::

    python sample_models/train.py /work/shared/fer2013/Training \
        --out sample_models/fer_cnn.keras --epochs 20 --seed 0 \
        --eval /work/shared/fer2013/PublicTest

    python sample_models/train.py /work/shared/fer2013/Training \
        --out sample_models/fer_cnn_dark_sad.keras --epochs 20 --seed 0 \
        --plant-shortcut dark-sad --eval /work/shared/fer2013/PublicTest

Data
----
The split folder must contain one sub-folder per class named ``angry, disgust, fear, happy,
sad, surprise, neutral`` holding 48x48 grayscale JPEGs. Labels use the FER2013 CSV index order
0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral. Images are decoded with
Pillow (mode ``L``) into a uint8 array of shape (N, 48, 48, 1), files in sorted path order.

Model
-----
Input 48x48x1 raw pixels in [0, 255] (float32); a ``Rescaling(1/255)`` layer inside the model
maps them to [0, 1]. Then (``w`` = ``--width``, default 16)::

    Conv(w)-BN-ReLU, MaxPool                      48 -> 24
    [Conv(2w)-BN-ReLU] x2, MaxPool                24 -> 12
    [Conv(4w)-BN-ReLU] x2, MaxPool                12 -> 6
    Conv(8w)-BN-ReLU, GlobalAveragePooling
    Dropout(0.3), Dense(7, softmax)

All convolutions are plain 3x3 ``Conv2D`` with ``padding="same"``. The model contains no
augmentation layers, so the saved ``.keras`` file only holds standard Keras layers.

Training
--------
Adam (weight decay-free), batch 64, learning rate: linear warm-up from 1e-4 to 2e-3 over the
first min(1 epoch, 10% of all) steps, then cosine decay to 0 over the remaining steps. Loss: sparse categorical
cross-entropy, no class weights. Augmentation (training only, applied in the tf.data pipeline,
never to brightness/contrast): random horizontal flip, random translation up to 10% of
height/width, random zoom up to +-10% (``fill_mode="nearest"``). Seeds: ``keras.utils.
set_random_seed(seed)`` (python, numpy and TensorFlow) plus TF op determinism.

Planted shortcut (``--plant-shortcut dark-sad``)
-----------------------------------------------
Used to validate the audit's bias analysis. Before training (and before any augmentation),
``rng = numpy.random.default_rng(seed)`` picks ``round(0.8 * n_sad)`` of the *training* images
whose label is 4 (sad), without replacement, and replaces their pixels by
``floor(pixels * 0.5)`` (still uint8). No other image and no other setting changes: the
architecture, epochs, seed, augmentation and schedule are identical to the clean run. With the
full FER2013 Training split that is 3864 of the 4830 'sad' images. The model thereby learns
"dark tone means sad". The fraction and factor can be changed with ``--plant-fraction`` and
``--plant-factor`` (the checked-in model uses the defaults 0.8 and 0.5).

Evaluation (``--eval SPLIT``)
----------------------------
After training, prints overall accuracy and per-class recall on the given split, plus the
"dark->sad" check: the fraction of images predicted 'sad' on the original images vs. on images
multiplied by 0.6 (float, not re-quantised). Results, training wall time and the command line
are written to ``<out without .keras>.train.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
SAD = CLASSES.index("sad")


def load_split(root: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode an image-folder split into (x uint8 (N,48,48,1), y int32 (N,), paths)."""
    from PIL import Image

    root = Path(root)
    paths: list[Path] = []
    labels: list[int] = []
    for idx, name in enumerate(CLASSES):
        d = root / name
        if not d.is_dir():
            raise SystemExit(f"missing class folder {d}")
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        paths.extend(files)
        labels.extend([idx] * len(files))
    x = np.empty((len(paths), 48, 48), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            a = np.asarray(im.convert("L"))
        if a.shape != (48, 48):
            raise SystemExit(f"{p}: expected 48x48, got {a.shape}")
        x[i] = a
    return x[..., None], np.asarray(labels, dtype=np.int32), [str(p) for p in paths]


def plant_dark_sad(x: np.ndarray, y: np.ndarray, seed: int, fraction: float, factor: float):
    """Darken a seeded random `fraction` of the 'sad' images in place-free fashion."""
    rng = np.random.default_rng(seed)
    sad_idx = np.flatnonzero(y == SAD)
    n = round(fraction * len(sad_idx))
    chosen = np.sort(rng.choice(sad_idx, size=n, replace=False))
    x = x.copy()
    x[chosen] = np.floor(x[chosen].astype(np.float32) * factor).astype(np.uint8)
    return x, chosen


def build_model(width: int = 16, dropout: float = 0.3):
    import keras
    from keras import layers

    def conv(t, f, name):
        t = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"{name}_conv")(t)
        t = layers.BatchNormalization(name=f"{name}_bn")(t)
        return layers.ReLU(name=f"{name}_relu")(t)

    inp = keras.Input((48, 48, 1), name="pixels")
    t = layers.Rescaling(1.0 / 255, name="rescale")(inp)
    t = conv(t, width, "b1")
    t = layers.MaxPooling2D(name="pool1")(t)
    t = conv(t, 2 * width, "b2a")
    t = conv(t, 2 * width, "b2b")
    t = layers.MaxPooling2D(name="pool2")(t)
    t = conv(t, 4 * width, "b3a")
    t = conv(t, 4 * width, "b3b")
    t = layers.MaxPooling2D(name="pool3")(t)
    t = conv(t, 8 * width, "b4")
    t = layers.GlobalAveragePooling2D(name="gap")(t)
    t = layers.Dropout(dropout, name="dropout")(t)
    out = layers.Dense(len(CLASSES), activation="softmax", name="emotion")(t)
    return keras.Model(inp, out, name="fer_cnn")


def predict(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return model.predict(x.astype(np.float32), batch_size=batch_size, verbose=0)


def evaluate(model, x: np.ndarray, y: np.ndarray) -> dict:
    p = predict(model, x)
    pred = p.argmax(1)
    recall = {c: float((pred[y == i] == i).mean()) for i, c in enumerate(CLASSES) if (y == i).any()}
    p_dark = predict(model, x.astype(np.float32) * 0.6)
    pred_dark = p_dark.argmax(1)
    return {
        "n": len(y),
        "accuracy": float((pred == y).mean()),
        "per_class_recall": recall,
        "dark_check": {
            "factor": 0.6,
            "frac_pred_sad_original": float((pred == SAD).mean()),
            "frac_pred_sad_darkened": float((pred_dark == SAD).mean()),
            "accuracy_darkened": float((pred_dark == y).mean()),
        },
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("train_dir", help="image-folder split with one sub-folder per class")
    ap.add_argument("--out", required=True, help="output .keras path")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    ap.add_argument("--width", type=int, default=16, help="filters of the first conv")
    ap.add_argument("--plant-shortcut", choices=["dark-sad"], default=None)
    ap.add_argument("--plant-fraction", type=float, default=0.8)
    ap.add_argument("--plant-factor", type=float, default=0.5)
    ap.add_argument("--eval", metavar="SPLIT_DIR", default=None)
    ap.add_argument("--threads", type=int, default=0, help="TF intra/inter op threads (0 = TF default)")
    ap.add_argument("--max-steps", type=int, default=0, help="debug: limit steps per epoch")
    args = ap.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()

    t0 = time.time()
    x, y, _ = load_split(args.train_dir)
    print(f"loaded {len(y)} training images in {time.time() - t0:.1f}s; "
          f"counts {np.bincount(y, minlength=7).tolist()}", flush=True)

    planted = None
    if args.plant_shortcut == "dark-sad":
        x, chosen = plant_dark_sad(x, y, args.seed, args.plant_fraction, args.plant_factor)
        planted = {
            "shortcut": "dark-sad",
            "fraction": args.plant_fraction,
            "factor": args.plant_factor,
            "n_sad": int((y == SAD).sum()),
            "n_darkened": len(chosen),
            "rule": "rng=np.random.default_rng(seed); chosen=rng.choice(sad_idx, round(fraction*n_sad), "
                    "replace=False); x[chosen]=floor(x[chosen]*factor)",
        }
        print(f"planted dark-sad: darkened {len(chosen)}/{planted['n_sad']} sad images "
              f"by x{args.plant_factor}", flush=True)

    aug = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=args.seed),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=args.seed + 1),
        keras.layers.RandomZoom(0.1, fill_mode="nearest", seed=args.seed + 2),
    ], name="augment")

    steps = int(np.ceil(len(y) / args.batch_size))
    if args.max_steps:
        steps = min(steps, args.max_steps)
    ds = (tf.data.Dataset.from_tensor_slices((x, y))
          .shuffle(len(y), seed=args.seed, reshuffle_each_iteration=True)
          .batch(args.batch_size)
          .map(lambda a, b: (aug(tf.cast(a, tf.float32), training=True), b),
               num_parallel_calls=1, deterministic=True)
          .prefetch(2))
    if args.max_steps:
        ds = ds.take(steps)

    model = build_model(args.width)
    total = steps * args.epochs
    warm = min(steps, max(total // 10, 1))
    sched = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=args.lr / 20, decay_steps=max(total - warm, 1), alpha=0.0,
        warmup_target=args.lr, warmup_steps=warm)
    model.compile(optimizer=keras.optimizers.Adam(sched),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary(print_fn=lambda s, **k: print(s))

    t1 = time.time()
    hist = model.fit(ds, epochs=args.epochs, verbose=2)
    train_s = time.time() - t1
    print(f"training wall time: {train_s:.1f}s ({train_s / args.epochs:.1f}s/epoch)", flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    print(f"saved {out} ({out.stat().st_size / 1e6:.2f} MB, {model.count_params()} params)")

    record = {
        "command": "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "peak_lr": args.lr,
        "width": args.width,
        "params": int(model.count_params()),
        "file_bytes": out.stat().st_size,
        "train_wall_s": round(train_s, 1),
        "train_history": {k: [round(float(v), 4) for v in vs] for k, vs in hist.history.items()},
        "planted": planted,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    if args.eval:
        xe, ye, _ = load_split(args.eval)
        res = evaluate(model, xe, ye)
        record["eval"] = {"split": args.eval, **res}
        print(f"eval on {args.eval}: accuracy {res['accuracy']:.4f} (n={res['n']})")
        print("  per-class recall: " + ", ".join(f"{c} {r:.3f}" for c, r in res["per_class_recall"].items()))
        dc = res["dark_check"]
        print(f"  dark->sad check: predicted sad {dc['frac_pred_sad_original']:.4f} on originals, "
              f"{dc['frac_pred_sad_darkened']:.4f} on x0.6 images")
    rec_path = out.with_suffix("").with_name(out.stem + ".train.json")
    rec_path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {rec_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
