"""A clean reference model's answers to the same probes, to tell the model from the data.

Darkening pushes every FER2013 model toward 'sad', clean ones included: such an effect lives in
the data, not in one model. Each probe is therefore also run through a reference model trained
on the same data, and findings are graded on the part beyond it.

The reference's predictions depend only on the images, the reference model and the probes, so
they are cached on disk (``$REPORTGEN_CACHE``, else ``~/.cache/reportgen``) under a key made of
the three hashes: repeated audits of other models on the same data pay for them once. A model
that *is* the reference (same sha256) is its own reference: nothing is recomputed, and every
effect is, by construction, shared.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.bias.effects import predict_probes
from reportgen.bias.probes import Probe
from reportgen.loading.model import Classifier
from reportgen.loading.store import ImageArray, images_digest

CACHE_VERSION = "1"  # bump when probe transforms change meaning under the same names

Predict = Callable[[np.ndarray, Sequence[Probe]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ReferenceModel:
    """A reference model ready to run: ``predict(images, probes)`` → (before (N,), after (P, N))
    predicted classes; ``predict_images`` maps (M, h, w) 0–255 → (M,) classes."""

    path: Path
    sha256: str
    same_as_model: bool
    predict: Predict
    predict_images: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ReferenceRun:
    """The reference's predictions on the audited split, and what they cost."""

    path: Path
    sha256: str
    same_as_model: bool
    cached: bool
    seconds: float
    preds_before: np.ndarray  # (N,) int
    preds_after: np.ndarray  # (P, N) int

    def to_summary(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256,
                "same_as_model": self.same_as_model, "cached": self.cached,
                "seconds": round(self.seconds, 3)}


def cache_dir() -> Path:
    """Where reference predictions are kept between runs."""
    root = os.environ.get("REPORTGEN_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "reportgen"


def bundled_answers() -> Path:
    """The folder of answers that ship with the package: the bundled clean-model panel's on
    the bundled demo data (``sample_models/panel/answers``), named as in the cache, so the
    README's first demo audit does not spend its time re-running five clean models."""
    from reportgen.resources import data_dir

    return data_dir("sample_models") / "panel" / "answers"


def cache_key(images: ImageArray, reference_sha256: str, probes: Sequence[Probe]) -> str:
    """sha256 over the data set's pixels, the reference model's hash and the probe names."""
    digest = images_digest(images, hashlib.sha256(CACHE_VERSION.encode()))
    digest.update(str(tuple(images.shape)).encode())
    digest.update(reference_sha256.encode())
    digest.update("|".join(p.name for p in probes).encode())
    return digest.hexdigest()


def run_reference(reference: ReferenceModel, images: np.ndarray, probes: Sequence[Probe],
                  own: tuple[np.ndarray, np.ndarray]) -> ReferenceRun:
    """The reference's (before, after) predictions: ``own`` (this model's) when it is the
    reference, else from the cache, else computed and cached."""
    start = time.perf_counter()
    if reference.same_as_model:
        return ReferenceRun(reference.path, reference.sha256, True, False, 0.0, *own)
    path = cache_path(images, reference.sha256, probes)
    stored = load_cached(path)
    if stored is None:  # the bundled panel's answers on the bundled demo data ship with it
        stored = load_cached(bundled_answers() / path.name)
    cached = stored is not None
    if stored is None:
        stored = reference.predict(images, probes)
        store_cached(path, *stored)
    return ReferenceRun(reference.path, reference.sha256, False, cached,
                        time.perf_counter() - start, *stored)


def cache_path(images: ImageArray, reference_sha256: str, probes: Sequence[Probe]) -> Path:
    """Where the reference's answers on ``images`` under ``probes`` are cached."""
    return cache_dir() / "reference" / f"{cache_key(images, reference_sha256, probes)}.npz"


def load_cached(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(before (N,), after (P, N)) from the cache, or None when absent or unreadable."""
    try:
        with np.load(path) as stored:
            return stored["before"], stored["after"]
    except (OSError, KeyError, ValueError):
        return None


def store_cached(path: Path, before: np.ndarray, after: np.ndarray) -> None:
    """Write atomically; a cache that cannot be written only costs the next run time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as f:
            np.savez_compressed(f, before=before, after=after)
        os.replace(f.name, path)
    except OSError:
        pass


def reference_model(classifier: Classifier, path: Path, sha256: str,
                    same_as_model: bool = False) -> ReferenceModel:
    """Wrap a loaded reference classifier (labels are its argmax)."""
    def predict_images(images: np.ndarray) -> np.ndarray:
        return classifier.predict(np.asarray(images, np.float32)).argmax(axis=1)

    def predict(images: np.ndarray, probes: Sequence[Probe]) -> tuple[np.ndarray, np.ndarray]:
        return predict_images(images), predict_probes(classifier, images, probes)

    return ReferenceModel(path, sha256, same_as_model, predict, predict_images)
