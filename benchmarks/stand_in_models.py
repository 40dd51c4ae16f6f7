"""Two tiny untrained Keras models with FER2013's input and output, for memory benchmarks.

A gate run's memory above a bare process is what it keeps per image (outputs, probe classes,
labels, names, features, hashes) plus fixed costs; it does not depend on the model's size, but
its time does: the sample CNN needs ~2 hours of this 2-core machine for 28 passes over a million
images. ``bench_scale.py --stand-in`` measures memory with these instead (4 convolution filters
on a 12×12 grid, a few microseconds per image) and says so in its output; a second one, with
other weights, serves as the reference model so that the reference's answers are held too.

Run: ``python benchmarks/stand_in_models.py OUT_DIR`` → OUT_DIR/stand_in.keras, stand_in_ref.keras
"""

from __future__ import annotations

import sys
from pathlib import Path


def write_stand_in(path: Path, seed: int) -> Path:
    """A (48, 48, 1) 0–255 → 7-way softmax model with seeded random weights, saved at ``path``."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((48, 48, 1)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 4, strides=4, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(7, activation="softmax"),
    ], name=f"stand_in_{seed}")
    model.save(path)
    return path


def write_stand_ins(folder: Path) -> tuple[Path, Path]:
    """(model, reference) stand-ins in ``folder``, written once."""
    folder.mkdir(parents=True, exist_ok=True)
    model, reference = folder / "stand_in.keras", folder / "stand_in_ref.keras"
    for path, seed in ((model, 1), (reference, 2)):
        if not path.exists():
            write_stand_in(path, seed)
    return model, reference


if __name__ == "__main__":
    print(*write_stand_ins(Path(sys.argv[1])), sep="\n")
