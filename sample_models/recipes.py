"""Architectures, input scalings, augmentations and new planted edits for ``train.py``.

The clean-model *panel* (``reportgen``'s yardstick for "typical of clean FER2013 models") must
span recipes, not seeds of one recipe: the effects that clean models share differ with the input
scaling, the augmentation and the architecture. Each panel member differs from the others in at
least two of those.

Architectures (``--arch``)
--------------------------
``cnn``       the sample model's ``build_model`` (Rescaling, conv-BN-ReLU, max-pooling, GAP).
``cnn-nores`` the same convolutions without a Rescaling layer: pixels arrive already scaled
              (``--input-scale``), BatchNorm after every conv.
``strided``   no pooling and no BatchNorm: 3×3 convs with stride-2 downsampling, ReLU,
              dropout 0.2 after each stage, GAP, Dense.
``avgpool``   Rescaling, conv-BN-ReLU with average pooling, Flatten of a 6×6×4w map, Dense(64),
              dropout 0.4, Dense.

Input scalings (``--input-scale``): ``raw`` 0–255 (with a Rescaling layer in the model), ``unit``
0–1 or ``symmetric`` −1–1, applied in the data pipeline (the model has no Rescaling layer).

Augmentations (``--augment``): ``geometric`` flip, translation ±10%, zoom ±10% (the sample
model's); ``photometric`` flip plus random brightness (±20%) and contrast (0.7–1.3);
``rotate`` flip plus rotation ±10°; ``flip`` flip only.

Planted edits of kinds the probes and the old patch scan never enumerate (``EDITS_NEW``)
-----------------------------------------------------------------------------------------
All geometry in pixels of a 48×48 image; results are uint8 (clipped).

``checker``   a 6×6 checkerboard of 2-px cells (0/255) at rows 21–26, columns 2–7 (left cheek
              edge): a texture, where the scan stamps flat squares.
``grating``   a diagonal sinusoidal grating over the whole image, amplitude 12 grey levels,
              period 6 px: ``x + 12 sin(2π (r + c) / 6)``. Global, no place to mask.
``ring``      a hollow ring (inner radius 3.5, outer radius 5.5 px) of value 230 centred at
              (row 9, column 38) (top right): a shape, where the scan stamps filled squares.
``diagonal``  a 1-px line of value 255 from (row 47, column 8) to (row 8, column 47) (lower
              left to upper right), crossing the face.
"""

from __future__ import annotations

import numpy as np

ARCHS = ("cnn", "cnn-nores", "strided", "avgpool")
SCALES = {"raw": (1.0, 0.0), "unit": (1 / 255, 0.0), "symmetric": (2 / 255, -1.0)}
AUGMENTS = ("geometric", "photometric", "rotate", "flip")


def build(arch: str, width: int, with_rescaling: bool, n_classes: int = 7, dropout: float = 0.3):
    """A fresh Keras model of ``arch`` (48×48×1 input, softmax over ``n_classes``)."""
    import keras
    from keras import layers

    def conv(t, f, name, stride=1, bn=True):
        t = layers.Conv2D(f, 3, strides=stride, padding="same", use_bias=not bn,
                          name=f"{name}_conv")(t)
        if bn:
            t = layers.BatchNormalization(name=f"{name}_bn")(t)
        return layers.ReLU(name=f"{name}_relu")(t)

    inp = keras.Input((48, 48, 1), name="pixels")
    t = layers.Rescaling(1.0 / 255, name="rescale")(inp) if with_rescaling else inp
    w = width
    if arch in ("cnn", "cnn-nores"):
        t = layers.MaxPooling2D(name="pool1")(conv(t, w, "b1"))
        t = layers.MaxPooling2D(name="pool2")(conv(conv(t, 2 * w, "b2a"), 2 * w, "b2b"))
        t = layers.MaxPooling2D(name="pool3")(conv(conv(t, 4 * w, "b3a"), 4 * w, "b3b"))
        t = layers.GlobalAveragePooling2D(name="gap")(conv(t, 8 * w, "b4"))
        t = layers.Dropout(dropout, name="dropout")(t)
    elif arch == "strided":
        for i, f in enumerate((w, 2 * w, 4 * w, 8 * w)):
            t = conv(t, f, f"s{i}a", bn=False)
            t = conv(t, f, f"s{i}b", stride=2 if i < 3 else 1, bn=False)
            t = layers.Dropout(0.2, name=f"drop{i}")(t)
        t = layers.GlobalAveragePooling2D(name="gap")(t)
    elif arch == "avgpool":
        t = layers.AveragePooling2D(2, name="pool1")(conv(t, w, "b1"))
        t = layers.AveragePooling2D(2, name="pool2")(conv(t, 2 * w, "b2"))
        t = layers.AveragePooling2D(2, name="pool3")(conv(t, 4 * w, "b3"))
        t = layers.Flatten(name="flat")(t)
        t = layers.Dropout(0.4, name="dropout")(layers.Dense(64, activation="relu", name="fc")(t))
    else:
        raise ValueError(f"unknown arch {arch!r}")
    out = layers.Dense(n_classes, activation="softmax", name="emotion")(t)
    return keras.Model(inp, out, name=f"fer_{arch.replace('-', '_')}")


def augmenter(kind: str, seed: int):
    """A keras.Sequential of training-only augmentation layers (inputs in 0–255)."""
    import keras
    from keras import layers

    flip = layers.RandomFlip("horizontal", seed=seed)
    if kind == "geometric":
        extra = [layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 1),
                 layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 2)]
    elif kind == "photometric":
        extra = [layers.RandomBrightness(0.2, value_range=(0, 255), seed=seed + 1),
                 layers.RandomContrast(0.3, value_range=(0, 255), seed=seed + 2)]
    elif kind == "rotate":
        extra = [layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed + 1)]
    elif kind == "flip":
        extra = []
    else:
        raise ValueError(f"unknown augmentation {kind!r}")
    return keras.Sequential([flip, *extra], name="augment")


def _checker(x: np.ndarray) -> np.ndarray:
    rows, cols = np.mgrid[0:6, 0:6]
    pattern = np.where(((rows // 2) + (cols // 2)) % 2 == 0, 255, 0).astype(np.uint8)
    x = x.copy()
    x[:, 21:27, 2:8, 0] = pattern
    return x


def _grating(x: np.ndarray) -> np.ndarray:
    rows, cols = np.mgrid[0:x.shape[1], 0:x.shape[2]]
    wave = 12.0 * np.sin(2 * np.pi * (rows + cols) / 6.0)
    return np.clip(x.astype(np.float32) + wave[None, :, :, None], 0, 255).astype(np.uint8)


def ring_mask(h: int = 48, w: int = 48) -> np.ndarray:
    rows, cols = np.mgrid[0:h, 0:w] + 0.5
    radius = np.hypot(rows - 9.5, cols - 38.5)
    return (radius >= 3.5) & (radius <= 5.5)


def _ring(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[:, ring_mask(x.shape[1], x.shape[2]), 0] = 230
    return x


def diagonal_mask(h: int = 48, w: int = 48) -> np.ndarray:
    mask = np.zeros((h, w), bool)
    for r in range(8, 48):
        mask[r, 55 - r] = True
    return mask


def _diagonal(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[:, diagonal_mask(x.shape[1], x.shape[2]), 0] = 255
    return x


EDITS_NEW = {
    "checker": (_checker, "x[chosen, 21:27, 2:8] = 6x6 checkerboard of 2-px cells (0/255)"),
    "grating": (_grating, "x[chosen] = clip(x + 12 sin(2 pi (r + c) / 6), 0, 255)"),
    "ring": (_ring, "x[chosen][3.5 <= hypot(r+0.5-9.5, c+0.5-38.5) <= 5.5] = 230"),
    "diagonal": (_diagonal, "x[chosen, r, 55 - r] = 255 for r in 8..47"),
}
