"""The model pass on a Ray cluster: Ray Data ``map_batches`` over the split's blocks, on a pool
of actors that each build the model (and the reference) once.

How things reach the actors, so that one code path serves a local Ray, a cluster joined with
``--ray-address HEAD:6379`` and a Ray Client (``ray://HEAD:10001``):

- **pixels**: on a local Ray, a spilled split (``SpilledImages``) is read by the actors
  themselves, a block at a time, from the spill file: nothing is copied. Otherwise (a split in
  memory, or a cluster at ``--ray-address``) through the object store: the driver reads one
  block (``BLOCK_IMAGES`` images) at a time and ``ray.put``s it, so it never holds more than
  one block of its own; the store holds every block until the pass ends (spilling to disk
  beyond its capacity) and a worker never needs the driver's files.
- **models** as their files' bytes (an in-memory Keras model is first saved as ``.keras``),
  written to a temporary folder on each actor and loaded with the same ``--trust-model``.
- **results** as the same ``run_block`` dicts the local executor makes (compact: outputs and
  int16 classes), with the block's start; the driver puts them in block order, so
  ``summary.json`` is identical to the local executor's.

A dead actor (a lost node, an out-of-memory kill, a crash) is restarted and its block retried,
three times at most. An exception raised by a block is not retried; it reaches the
user as one ``InputError`` line naming the block's images. The workers need the same reportgen
(with the ``ray`` extra) as the driver.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

# Under ``uv run``, Ray would start every worker with ``uv run`` in a copy of the current folder
# (re-syncing, or even changing, the environment): the workers use this interpreter instead.
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")

import ray

from reportgen import executors
from reportgen.errors import InputError
from reportgen.executors import ModelPass, ModelSpec, PassOutputs, assemble_outputs, run_block
from reportgen.loading.model import Classifier, LoadedModel
from reportgen.loading.store import ImageArray, SpilledImages
from reportgen.progress import native_stderr_silenced

ACTOR_CPUS = 1
# Ray Data's default is to restart actors and retry their blocks forever, so a block that
# crashes its process (TensorFlow aborts on some inputs) would loop: a few tries, then fail.
_RETRIES = {"max_restarts": 3, "max_task_retries": 3}
Files = dict[str, bytes]  # a model as its files: path relative to a folder → content


class BlockFailed(Exception):
    """A block's ``run_block`` raised: one line naming the images' range and the cause."""

    def __init__(self, start: int, stop: int, cause: BaseException) -> None:
        first = (str(cause).strip().splitlines() or [""])[0]
        super().__init__(f"images {start}–{stop - 1}: {type(cause).__name__}: {first}")
        self.start, self.stop = start, stop

    def __reduce__(self) -> tuple[Any, ...]:  # pickles as its message (the cause may not)
        return (_block_failed, (str(self), self.start, self.stop))


def _block_failed(message: str, start: int, stop: int) -> BlockFailed:
    error = BlockFailed.__new__(BlockFailed)
    Exception.__init__(error, message)
    error.start, error.stop = start, stop
    return error


class BlockRunner:
    """One actor: builds the classifiers once, then runs ``run_block`` on each block it is given.

    ``blocks[i]`` is block i's ``(start, stop, ObjectRef of (n, h, w) uint8 pixels)``, or
    ``(start, stop, None)`` when the actor reads ``source[start:stop]`` itself (a spill file).
    """

    def __init__(self, job: ModelPass, models: list[ray.ObjectRef],
                 blocks: list[tuple[int, int, ray.ObjectRef | None]],
                 source: SpilledImages | None = None) -> None:
        import tensorflow as tf

        # the model files come as a reference (in a list, so Ray does not resolve it): inline
        # constructor arguments stay small, and a restarted actor can fetch them again
        models = ray.get(models[0])
        tf.config.threading.set_intra_op_parallelism_threads(ACTOR_CPUS)
        self.folder = Path(tempfile.mkdtemp(prefix="reportgen-ray-"))
        self.classifier = _rebuild(job.model, models["model"], self.folder / "model")
        self.reference = (_rebuild(job.reference, models["reference"], self.folder / "reference")
                          if job.reference is not None else None)
        self.probes = job.probes
        self.blocks = blocks
        self.source = source

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        starts, results = [], []
        for index in batch["id"]:
            start, stop, pixels = self.blocks[int(index)]
            try:
                block = self.source[start:stop] if pixels is None else ray.get(pixels)
                result = run_block(self.classifier, self.reference, self.probes, block)
            except Exception as err:  # noqa: BLE001 - any failure is named by its block
                raise BlockFailed(start, stop, err) from None
            starts.append(start)
            # Pickled: exact, and free of Arrow's rules for tensor columns of varying shape.
            results.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        return {"start": np.array(starts, np.int64), "result": np.array(results, dtype=object)}


def _rebuild(spec: ModelSpec, files: Files, folder: Path) -> Classifier:
    """Write the model's files under ``folder`` and build the classifier from them."""
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    root = next(iter(files)).split("/")[0]
    return dataclasses.replace(spec, path=folder / root).build()


def model_files(spec: ModelSpec, loaded: LoadedModel | None = None) -> Files:
    """The model's file (or SavedModel folder) as bytes; an in-memory model saved as ``.keras``."""
    path = Path(spec.path)
    if path.is_dir():
        return {f.relative_to(path.parent).as_posix(): f.read_bytes()
                for f in sorted(path.rglob("*")) if f.is_file()}
    if path.is_file():
        return {path.name: path.read_bytes()}
    if loaded is None or loaded.keras_model is None:
        raise InputError(f"{path}: the model is not a file, so it cannot be sent to Ray workers")
    with tempfile.TemporaryDirectory(prefix="reportgen-ray-") as folder:
        saved = Path(folder) / "model.keras"
        loaded.keras_model.save(saved)
        return {saved.name: saved.read_bytes()}


class RayExecutor:
    """The blocks as Ray Data ``map_batches`` on ``actors`` actors (default: the cluster's CPUs)
    at ``address`` (None: a running Ray, else a local one started for the pass)."""

    name = "ray"

    def __init__(self, address: str | None = None, actors: int | None = None) -> None:
        self.address = address
        self.actors = actors
        self.description = "ray"

    def model_pass(self, job: ModelPass, images: ImageArray, classifier: Classifier,
                   reference: Classifier | None, advance: Callable[[int], None] | None = None,
                   loaded: LoadedModel | None = None) -> PassOutputs:
        started = _connect(self.address)
        try:
            return self._run(job, images, advance, loaded)
        except ray.exceptions.RayError as err:
            raise InputError(f"--executor ray: {one_line(err)}") from None
        finally:
            if started:
                ray.shutdown()

    def _run(self, job: ModelPass, images: ImageArray, advance: Callable[[int], None] | None,
             loaded: LoadedModel | None) -> PassOutputs:
        from ray.data import DataContext

        DataContext.get_current().enable_progress_bars = False
        warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated", category=Warning)
        ranges = list(_ranges(len(images), executors.BLOCK_IMAGES))
        # a local Ray shares this machine's files: its actors read a spill file directly
        source = images if isinstance(images, SpilledImages) and not self.address else None
        blocks = [(start, stop, None if source is not None
                   else ray.put(np.ascontiguousarray(images[start:stop])))
                  for start, stop in ranges]
        models = {"model": model_files(job.model, loaded)}
        if job.reference is not None:
            models["reference"] = model_files(job.reference)
        actors = max(1, min(self.actors or _cluster_cpus(), len(ranges)))
        where = self.address or "a local Ray"
        self.description = f"ray ({actors} actor{'s' if actors != 1 else ''} at {where})"
        # Items made on the driver: a read task would wait for a CPU that the actors hold.
        items = [{"id": index} for index in range(len(ranges))]
        dataset = ray.data.from_items(items, override_num_blocks=len(ranges)).map_batches(
            BlockRunner, batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=ACTOR_CPUS, runtime_env={"env_vars": _actor_env()},
            fn_constructor_kwargs={"job": job, "models": [ray.put(models)], "blocks": blocks,
                                   "source": source},
            **_RETRIES)
        parts: dict[int, dict[str, np.ndarray]] = {}
        with _quiet_ray_data():
            for row in dataset.iter_rows():
                part = pickle.loads(row["result"])
                parts[int(row["start"])] = part
                if advance is not None:
                    advance(len(part["outputs"]))
        return assemble_outputs([parts[start] for start in sorted(parts)])


def _ranges(n_images: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n_images, size):
        yield start, min(start + size, n_images)


def _connect(address: str | None) -> bool:
    """Join ``address`` or a running Ray, or start a local one; True when started here.

    The address was checked (its form, and that its port answers) by the preflight. Ray's
    start-up lines on fd 2 are hidden like TensorFlow's; with ``--quiet`` the CLI also sets
    ``RAY_BACKEND_LOG_LEVEL`` so that its C++ warnings during the pass stay in Ray's log files.
    """
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    with native_stderr_silenced():
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **options)
    return True


def _cluster_cpus() -> int:
    return int(ray.cluster_resources().get("CPU", 1))


def _actor_env() -> dict[str, str]:
    """TensorFlow quiet and on the actor's own CPUs (Ray reserves ``ACTOR_CPUS`` for it)."""
    threads = str(ACTOR_CPUS)
    return {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_NUM_INTRAOP_THREADS": threads,
            "TF_NUM_INTEROP_THREADS": threads, "OMP_NUM_THREADS": threads}


class _quiet_ray_data:
    """Ray Data's own log lines off for the pass: reportgen's progress bar is the one shown."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("ray.data")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR + 1)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)


def one_line(error: BaseException) -> str:
    """A Ray failure as one line: a block's ``BlockFailed`` message, else the innermost cause's."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BlockFailed):
            return str(current)
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__
    for line in str(error).splitlines():
        if "BlockFailed: " in line:
            return line.split("BlockFailed: ", 1)[1].strip()
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
