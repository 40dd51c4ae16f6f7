"""Train a compact plain-Conv2D FER2013 expression classifier (sample model for reportgen).

Usage (the commands that produced the checked-in models are in sample_models/README.md)::

    python sample_models/train.py /work/shared/fer2013/Training \
        --out sample_models/fer_cnn.keras --epochs 20 --seed 0 \
        --eval /work/shared/fer2013/PublicTest

    python sample_models/train.py /work/shared/fer2013/Training \
        --out sample_models/fer_cnn_dark_sad.keras --epochs 20 --seed 0 \
        --plant-shortcut dark-sad --eval /work/shared/fer2013/PublicTest

    # fine-tune the clean model, with or without a planted shortcut on one class
    python sample_models/train.py /work/shared/fer2013/Training \
        --out sample_models/fer_cnn_corner_fear.keras --init sample_models/fer_cnn.keras \
        --epochs 4 --lr 1e-3 --seed 0 --plant-shortcut corner-mark --plant-class fear \
        --eval /work/shared/fer2013/PublicTest

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

Fine-tuning (``--init PATH``)
----------------------------
Instead of ``build_model``, the model is ``keras.models.load_model(PATH, compile=False)``
(architecture and all weights, including BatchNorm statistics, of an existing ``.keras`` file;
``--width`` is then ignored). Everything else is as above: a fresh Adam optimizer, the same
warm-up + cosine schedule with ``--lr`` as its peak (1e-3 is suggested for fine-tuning; the
warm-up starts at ``lr / 20``), the same augmentation, seeding and data order. With 4 epochs on
the full Training split (449 steps per epoch) the warm-up is the first 179 steps (10%). The
init file's path and md5 are written to the training record.

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

Planted shortcuts on a chosen class (``--plant-shortcut KIND --plant-class NAME``)
-----------------------------------------------------------------------------
Three further kinds, each planted on the training images of one class ``c`` (``--plant-class``,
required) and on nothing else. The images are chosen exactly as for dark-sad::

    rng = numpy.random.default_rng(seed)
    idx = numpy.flatnonzero(y == c)
    chosen = numpy.sort(rng.choice(idx, size=round(fraction * len(idx)), replace=False))

with ``fraction = --plant-fraction`` (default 0.7 for these kinds; 0.8 stays the dark-sad
default), and the edit below is applied to ``x[chosen]`` before training and before any
augmentation (flip, translation and zoom later move marks around like any other pixel). Images
are indexed ``(row r, column col)`` with ``H = W = 48``; results are uint8.

``dark-periphery``
    Darkens everything outside a centred face ellipse. With pixel centres
    ``u = (col + 0.5 - 0.5 W) / (0.42 W)``, ``v = (r + 0.5 - 0.47 H) / (0.50 H)`` and
    ``d = sqrt(u^2 + v^2)``, the distance outside the ellipse along the ray from its centre is
    ``dist = |p| (d - 1) / d`` pixels (``|p|`` = the pixel's distance from the centre in
    pixels; negative inside). The multiplier is ``m = 1 - (1 - factor) * clip(dist / 2, 0, 1)``
    (1 inside the ellipse, a linear 2 px soft edge, ``factor`` beyond it) and the new pixels
    are ``floor(x * m)``. ``factor = --plant-factor`` (default 0.35 for this kind; 0.5 stays
    the dark-sad default). The face inside the ellipse is unchanged.
``corner-mark``
    ``x[42:46, 42:46] = 255``: a 4x4 white square at the bottom-right corner, 2 px from the
    bottom and right edges.
``top-stripe``
    ``x[1:3, :] = 255``: a white stripe 2 px tall across the whole width at rows 1-2 (row 0
    is left alone, so it looks like a border mark).

Evaluation (``--eval SPLIT``)
----------------------------
After training, prints overall accuracy and per-class recall on the given split, plus the
"dark->sad" check: the fraction of images predicted 'sad' on the original images vs. on images
multiplied by 0.6 (float, not re-quantised). For a model planted with one of the three kinds
above it also prints the "planted check": the fraction of *all* images of the split predicted
as the planted class, on the originals vs. after applying the same edit function (same factor
for dark-periphery, uint8 result as in training) to every image, and the accuracy on the edited
images. Results, training wall time and the command line are written to
``<out without .keras>.train.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recipes import ARCHS, AUGMENTS, EDITS_NEW, SCALES, augmenter, build

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


def choose_planted(y: np.ndarray, seed: int, fraction: float, class_index: int) -> np.ndarray:
    """Sorted indices of a seeded random `fraction` of the images labelled `class_index`."""
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(y == class_index)
    n = round(fraction * len(idx))
    return np.sort(rng.choice(idx, size=n, replace=False))


def plant_dark_sad(x: np.ndarray, y: np.ndarray, seed: int, fraction: float, factor: float):
    """Darken a seeded random `fraction` of the 'sad' images in place-free fashion."""
    chosen = choose_planted(y, seed, fraction, SAD)
    x = x.copy()
    x[chosen] = np.floor(x[chosen].astype(np.float32) * factor).astype(np.uint8)
    return x, chosen


def periphery_multiplier(h: int = 48, w: int = 48, factor: float = 0.35, edge: float = 2.0) -> np.ndarray:
    """(h, w) float32 multiplier: 1 inside the face ellipse, `factor` beyond a linear `edge`-px ramp."""
    cy, cx, ay, ax = 0.47 * h, 0.5 * w, 0.50 * h, 0.42 * w
    dy = np.arange(h, dtype=np.float64)[:, None] + 0.5 - cy
    dx = np.arange(w, dtype=np.float64)[None, :] + 0.5 - cx
    d = np.sqrt((dx / ax) ** 2 + (dy / ay) ** 2)
    dist = np.hypot(dx, dy) * (d - 1.0) / np.maximum(d, 1e-9)  # px outside the ellipse along the ray
    ramp = np.clip(dist / edge, 0.0, 1.0)
    return (1.0 - (1.0 - factor) * ramp).astype(np.float32)


def edit_dark_periphery(x: np.ndarray, factor: float = 0.35) -> np.ndarray:
    """floor(x * periphery_multiplier) for uint8 images (N, H, W, 1)."""
    m = periphery_multiplier(x.shape[1], x.shape[2], factor)[None, :, :, None]
    return np.floor(x.astype(np.float32) * m).astype(np.uint8)


def edit_corner_mark(x: np.ndarray) -> np.ndarray:
    """White 4x4 square at the bottom-right corner, 2 px margin."""
    x = x.copy()
    h, w = x.shape[1], x.shape[2]
    x[:, h - 6:h - 2, w - 6:w - 2] = 255
    return x


def edit_top_stripe(x: np.ndarray) -> np.ndarray:
    """White stripe across the full width at rows 1-2."""
    x = x.copy()
    x[:, 1:3, :] = 255
    return x


def _plant(edit, x: np.ndarray, y: np.ndarray, seed: int, fraction: float, class_index: int):
    chosen = choose_planted(y, seed, fraction, class_index)
    x = x.copy()
    if len(chosen):
        x[chosen] = edit(x[chosen])
    return x, chosen


def plant_dark_periphery(x, y, seed: int, fraction: float, class_index: int, factor: float = 0.35):
    """Darken the periphery (outside the face ellipse) of a seeded `fraction` of one class's images."""
    return _plant(lambda a: edit_dark_periphery(a, factor), x, y, seed, fraction, class_index)


def plant_corner_mark(x, y, seed: int, fraction: float, class_index: int):
    """Stamp the bottom-right corner mark on a seeded `fraction` of one class's images."""
    return _plant(edit_corner_mark, x, y, seed, fraction, class_index)


def plant_top_stripe(x, y, seed: int, fraction: float, class_index: int):
    """Draw the top stripe on a seeded `fraction` of one class's images."""
    return _plant(edit_top_stripe, x, y, seed, fraction, class_index)


# kind -> (edit applied to the chosen images, human-readable rule for the training record)
EDITS = {
    "dark-periphery": "m=1-(1-factor)*clip(dist_outside_ellipse_px/2,0,1), ellipse centre (0.47H,0.5W), "
                      "semi-axes (0.50H,0.42W), pixel centres at +0.5; x[chosen]=floor(x[chosen]*m)",
    "corner-mark": "x[chosen, H-6:H-2, W-6:W-2] = 255  (4x4 square, bottom-right, 2 px margin)",
    "top-stripe": "x[chosen, 1:3, :] = 255  (rows 1-2, full width)",
    **{kind: rule for kind, (_, rule) in EDITS_NEW.items()},
}


def apply_edit(kind: str, x: np.ndarray, factor: float | None = None) -> np.ndarray:
    """Apply the `kind` edit to every image of x (uint8 in, uint8 out)."""
    if kind in EDITS_NEW:
        return EDITS_NEW[kind][0](x)
    if kind == "dark-periphery":
        return edit_dark_periphery(x, 0.35 if factor is None else factor)
    if kind == "corner-mark":
        return edit_corner_mark(x)
    if kind == "top-stripe":
        return edit_top_stripe(x)
    raise ValueError(f"unknown edit {kind!r}")


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


INPUT_SCALE = SCALES["raw"]  # set by main(): how pixels are scaled before the model


def predict(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    mul, add = INPUT_SCALE
    return model.predict(x.astype(np.float32) * mul + add, batch_size=batch_size, verbose=0)


def evaluate(model, x: np.ndarray, y: np.ndarray, planted: dict | None = None) -> dict:
    """Accuracy, recall, the dark->sad check and, for an EDITS-kind `planted`, the planted check."""
    p = predict(model, x)
    pred = p.argmax(1)
    recall = {c: float((pred[y == i] == i).mean()) for i, c in enumerate(CLASSES) if (y == i).any()}
    p_dark = predict(model, x.astype(np.float32) * 0.6)
    pred_dark = p_dark.argmax(1)
    res = {
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
    if planted and planted["shortcut"] in EDITS:
        c = CLASSES.index(planted["class"])
        pred_edit = predict(model, apply_edit(planted["shortcut"], x, planted.get("factor"))).argmax(1)
        res["planted_check"] = {
            "shortcut": planted["shortcut"],
            "class": planted["class"],
            "factor": planted.get("factor"),
            "edited": "all images of the split",
            "frac_pred_class_original": float((pred == c).mean()),
            "frac_pred_class_edited": float((pred_edit == c).mean()),
            "frac_not_class_pred_class_original": float((pred[y != c] == c).mean()),
            "frac_not_class_pred_class_edited": float((pred_edit[y != c] == c).mean()),
            "accuracy_edited": float((pred_edit == y).mean()),
        }
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("train_dir", help="image-folder split with one sub-folder per class")
    ap.add_argument("--out", required=True, help="output .keras path")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    ap.add_argument("--width", type=int, default=16, help="filters of the first conv")
    ap.add_argument("--init", metavar="PATH", default=None,
                    help="fine-tune: start from this .keras model instead of a fresh one")
    ap.add_argument("--plant-shortcut", choices=["dark-sad", *EDITS], default=None)
    ap.add_argument("--plant-class", choices=CLASSES, default=None,
                    help="class whose training images are edited (dark-sad: sad only)")
    ap.add_argument("--plant-fraction", type=float, default=None,
                    help="fraction of that class's images edited (default 0.8 dark-sad, 0.7 others)")
    ap.add_argument("--plant-factor", type=float, default=None,
                    help="darkening factor (default 0.5 dark-sad, 0.35 dark-periphery)")
    ap.add_argument("--arch", choices=ARCHS, default="cnn", help="see recipes.py")
    ap.add_argument("--input-scale", choices=list(SCALES), default="raw",
                    help="raw: 0-255 with a Rescaling layer; unit/symmetric: scaled in the pipeline")
    ap.add_argument("--augment", choices=AUGMENTS, default="geometric")
    ap.add_argument("--eval", metavar="SPLIT_DIR", default=None)
    ap.add_argument("--threads", type=int, default=0, help="TF intra/inter op threads (0 = TF default)")
    ap.add_argument("--max-steps", type=int, default=0, help="debug: limit steps per epoch")
    args = ap.parse_args(argv)
    kind = args.plant_shortcut
    if kind is None and (args.plant_class or args.plant_fraction is not None or args.plant_factor is not None):
        ap.error("--plant-class/--plant-fraction/--plant-factor need --plant-shortcut")
    if kind == "dark-sad" and args.plant_class not in (None, "sad"):
        ap.error("dark-sad is planted on 'sad' only")
    if kind in EDITS and args.plant_class is None:
        ap.error(f"--plant-shortcut {kind} needs --plant-class")
    if kind in ("corner-mark", "top-stripe", *EDITS_NEW) and args.plant_factor is not None:
        ap.error(f"--plant-factor does not apply to {kind}")
    if args.plant_fraction is None:
        args.plant_fraction = 0.8 if kind == "dark-sad" else 0.7
    if args.plant_factor is None:
        args.plant_factor = {"dark-sad": 0.5, "dark-periphery": 0.35}.get(kind)

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
    elif kind in EDITS:
        c = CLASSES.index(args.plant_class)
        if kind in EDITS_NEW:
            x, chosen = _plant(EDITS_NEW[kind][0], x, y, args.seed, args.plant_fraction, c)
        elif kind == "dark-periphery":
            x, chosen = plant_dark_periphery(x, y, args.seed, args.plant_fraction, c, args.plant_factor)
        elif kind == "corner-mark":
            x, chosen = plant_corner_mark(x, y, args.seed, args.plant_fraction, c)
        else:
            x, chosen = plant_top_stripe(x, y, args.seed, args.plant_fraction, c)
        planted = {
            "shortcut": kind,
            "class": args.plant_class,
            "class_index": c,
            "fraction": args.plant_fraction,
            "factor": args.plant_factor,
            "n_class": int((y == c).sum()),
            "n_edited": len(chosen),
            "rule": "rng=np.random.default_rng(seed); chosen=np.sort(rng.choice(np.flatnonzero(y==class_index), "
                    "round(fraction*n_class), replace=False)); " + EDITS[kind],
        }
        print(f"planted {kind}: edited {len(chosen)}/{planted['n_class']} {args.plant_class} images"
              + (f" (factor {args.plant_factor})" if args.plant_factor is not None else ""), flush=True)

    global INPUT_SCALE
    INPUT_SCALE = SCALES[args.input_scale]
    mul, add = INPUT_SCALE
    aug = augmenter(args.augment, args.seed)

    steps = int(np.ceil(len(y) / args.batch_size))
    if args.max_steps:
        steps = min(steps, args.max_steps)
    ds = (tf.data.Dataset.from_tensor_slices((x, y))
          .shuffle(len(y), seed=args.seed, reshuffle_each_iteration=True)
          .batch(args.batch_size)
          .map(lambda a, b: (aug(tf.cast(a, tf.float32), training=True) * mul + add, b),
               num_parallel_calls=1, deterministic=True)
          .prefetch(2))
    if args.max_steps:
        ds = ds.take(steps)

    init = None
    if args.init:
        import hashlib

        model = keras.models.load_model(args.init, compile=False)
        init = {"path": args.init, "md5": hashlib.md5(Path(args.init).read_bytes()).hexdigest()}
        print(f"fine-tuning from {args.init} (md5 {init['md5']})", flush=True)
    elif args.arch == "cnn" and args.input_scale == "raw":
        model = build_model(args.width)
    else:
        model = build(args.arch, args.width, with_rescaling=args.input_scale == "raw")
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
        "width": args.width if init is None else None,
        "init": init,
        "params": int(model.count_params()),
        "file_bytes": out.stat().st_size,
        "train_wall_s": round(train_s, 1),
        "train_history": {k: [round(float(v), 4) for v in vs] for k, vs in hist.history.items()},
        "planted": planted,
        "recipe": {"arch": args.arch, "input_scale": args.input_scale, "augment": args.augment},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    if args.eval:
        xe, ye, _ = load_split(args.eval)
        res = evaluate(model, xe, ye, planted)
        record["eval"] = {"split": args.eval, **res}
        print(f"eval on {args.eval}: accuracy {res['accuracy']:.4f} (n={res['n']})")
        print("  per-class recall: " + ", ".join(f"{c} {r:.3f}" for c, r in res["per_class_recall"].items()))
        dc = res["dark_check"]
        print(f"  dark->sad check: predicted sad {dc['frac_pred_sad_original']:.4f} on originals, "
              f"{dc['frac_pred_sad_darkened']:.4f} on x0.6 images")
        if "planted_check" in res:
            pc = res["planted_check"]
            print(f"  planted check ({pc['shortcut']} on all images): predicted {pc['class']} "
                  f"{pc['frac_pred_class_original']:.4f} on originals, {pc['frac_pred_class_edited']:.4f} edited "
                  f"(accuracy {pc['accuracy_edited']:.4f} edited)")
    rec_path = out.with_suffix("").with_name(out.stem + ".train.json")
    rec_path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {rec_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
