"""Where the model runs over a whole split: in this process, or on a Ray cluster.

The audit's cost is one *model pass*: the model's outputs on every image, its predicted class
under every probe, and (when its answers are not cached) the reference model's. That pass is
the same function of one block of images wherever it runs (``run_block``), with blocks of
``BLOCK_IMAGES`` from the start of the split, so every executor gives bit-identical results:

- ``local`` (the default) runs the blocks in order in this process;
- ``ray`` runs them as Ray Data ``map_batches`` on a pool of actors that each load the models
  once (``reportgen.executors.ray``; needs the ``ray`` extra, imported only when chosen).

Only the compact per-image results come back: (K,) float32 outputs, and an int16 class per
probe and model. The driver reduces them (metrics, bootstrap CIs, probe effects).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from reportgen.bias.effects import predict_probes
from reportgen.bias.probes import PROBES, Probe
from reportgen.errors import InputError
from reportgen.loading.model import Classifier, LoadedModel, load_model
from reportgen.loading.pixels import InputScale
from reportgen.loading.store import BLOCK_IMAGES, ImageArray, blocks

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class ModelSpec:
    """How to rebuild a classifier anywhere: the model file, its input scale and batch size."""

    path: Path
    trust: bool
    scale: InputScale
    image_size: tuple[int, int]
    batch_size: int

    def build(self, loaded: LoadedModel | None = None) -> Classifier:
        """The raw-output classifier (no softmax: only argmaxes and raw outputs are returned)."""
        loaded = loaded or load_model(self.path, trust=self.trust)
        return Classifier(loaded, self.image_size, self.scale, batch_size=self.batch_size)


@dataclass(frozen=True)
class ModelPass:
    """What one model pass computes: the model's outputs and probe classes, and optionally the
    reference model's probe classes."""

    model: ModelSpec
    probe_names: tuple[str, ...]
    reference: ModelSpec | None = None

    @property
    def probes(self) -> list[Probe]:
        return [PROBES[name] for name in self.probe_names]


@dataclass(frozen=True)
class PassOutputs:
    """Per-image results of a model pass over N images."""

    outputs: np.ndarray  # (N, K) float32, the model's raw outputs on the unmodified images
    probe_preds: np.ndarray  # (P, N) int16, its predicted class under each probe
    reference_before: np.ndarray | None = None  # (N,) int16, the reference's predicted class
    reference_after: np.ndarray | None = None  # (P, N) int16, the reference's under each probe


def run_block(classifier: Classifier, reference: Classifier | None, probes: Sequence[Probe],
              images: np.ndarray) -> dict[str, np.ndarray]:
    """One block (n, h, w) uint8 → its part of ``PassOutputs`` as a dict of arrays."""
    result = {"outputs": classifier.predict(images),
              "probe_preds": predict_probes(classifier, images, probes)}
    if reference is not None:
        result["reference_before"] = reference.predict(images).argmax(axis=1).astype(np.int16)
        result["reference_after"] = predict_probes(reference, images, probes)
    return result


def assemble_outputs(parts: Sequence[dict[str, np.ndarray]]) -> PassOutputs:
    """Blocks' results, in block order → one ``PassOutputs``."""
    def join(key: str, axis: int) -> np.ndarray | None:
        if key not in parts[0]:
            return None
        return np.concatenate([part[key] for part in parts], axis=axis)

    return PassOutputs(join("outputs", 0), join("probe_preds", 1), join("reference_before", 0),
                       join("reference_after", 1))


class Executor(Protocol):
    """Runs a ``ModelPass`` over every image; ``advance(n)`` after each n images.

    ``classifier`` and ``reference`` are the job's models already built in this process (the
    local executor uses them); ``loaded`` is the model as loaded, for an executor that must
    ship a model that has no file (the Python API's in-memory model).
    """

    name: str
    description: str  # what ran the last pass, for the appendix: "local", "ray (4 actors at …)"

    def model_pass(self, job: ModelPass, images: ImageArray, classifier: Classifier,
                   reference: Classifier | None, advance: Callable[[int], None] | None = None,
                   loaded: LoadedModel | None = None) -> PassOutputs: ...


class LocalExecutor:
    """The blocks in order, in this process, with the classifiers already built."""

    name = "local"
    description = "local"

    def model_pass(self, job: ModelPass, images: ImageArray, classifier: Classifier,
                   reference: Classifier | None, advance: Callable[[int], None] | None = None,
                   loaded: LoadedModel | None = None) -> PassOutputs:
        probes = job.probes
        parts = []
        for _, block in blocks(images, BLOCK_IMAGES):
            parts.append(run_block(classifier, reference, probes, block))
            if advance is not None:
                advance(len(block))
        return assemble_outputs(parts)


def make_executor(name: str, address: str | None = None) -> Executor:
    """The executor called ``name``; ``address`` is a Ray cluster's (ray only)."""
    if name == "local":  # an address with it is refused earlier (``preflight.check_executor``)
        return LocalExecutor()
    if name == "ray":
        from reportgen.executors.ray import RayExecutor

        return RayExecutor(address)
    raise InputError(f"unknown executor '{name}' (choose from {', '.join(EXECUTORS)})")
