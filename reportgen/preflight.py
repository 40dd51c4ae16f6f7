"""Every check that can be made before TensorFlow is imported or any stage runs.

The CLI (and the Python API) call ``preflight`` first: a missing file, a wrong CSV header, a
SavedModel without ``--trust-model``, a zip bomb, a policy or baseline that does not fit the
run, or an output path that cannot be written is one InputError naming the file, within a
second, instead of after minutes of work. Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.errors import InputError
from reportgen.gating.baseline import check_class_names, load_baseline
from reportgen.gating.limits import RecallLimits
from reportgen.gating.policy import Policy, load_policy
from reportgen.loading.data import UNSUPPORTED
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits, require_regular_file
from reportgen.loading.modelfile import check_model_file
from reportgen.loading.shards import (
    CSV_SUFFIXES,
    PARQUET_SUFFIX,
    check_shards,
    is_pattern,
    pattern_files,
    shard_files,
)
from reportgen.report.output import check_targets

REPORT_FILES = ("report.html", "report.pdf", "summary.json")
MAX_SEED = 2**32 - 1  # numpy's SeedSequence takes more, but TensorFlow's op seeds are int64


@dataclass(frozen=True)
class GateInputs:
    """The policy and baseline, read and validated once, for the run to use."""

    policy: Policy | None = None
    baseline: dict[str, Any] | None = None


def preflight(
    *,
    model: Path,
    data: Path,
    class_names: Sequence[str],
    out: Path | None = None,
    out_files: Sequence[str] = REPORT_FILES,
    policy: Path | None = None,
    baseline: Path | None = None,
    junit: Path | None = None,
    trust_model: bool = False,
    seed: int = 0,
    limits: InputLimits = DEFAULT_LIMITS,
) -> GateInputs:
    """Check every input and output path of a run; return the validated policy and baseline.

    ``out`` None (the API's in-memory audit) checks no output folder.
    """
    check_seed(seed)
    check_model_file(model, trust_model, limits)
    check_data_path(data, limits)
    policy_read = load_policy(policy) if policy is not None else None
    if policy_read is not None:
        check_policy_classes(policy_read, class_names)
    baseline_read = load_baseline(baseline) if baseline is not None else None
    if baseline_read is not None:
        check_class_names(baseline_read, class_names, str(baseline))
    targets = [] if out is None else [Path(out) / name for name in out_files]
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise InputError(f"{out}: --out exists and is not a directory")
    if junit is not None:
        if Path(junit).is_dir():
            raise InputError(f"{junit}: --junit is a directory; give a file path such as checks.xml")
        targets.append(Path(junit))
    check_targets(targets)
    return GateInputs(policy_read, baseline_read)


def check_seed(seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed: must be an integer from 0 to {MAX_SEED}, got {seed}")


def check_executor(executor: str | None, ray_address: str | None) -> str:
    """The executor to run: ``executor``, or ray when only ``--ray-address`` is given (else
    local); an InputError when it is unknown, contradicts the address, or is not installed."""
    import importlib.util

    if executor is None:
        executor = "ray" if ray_address is not None else "local"
    if executor not in ("local", "ray"):
        raise InputError(f"--executor: '{executor}' is not one of local, ray")
    if ray_address is not None and executor != "ray":
        raise InputError("--ray-address: runs on a Ray cluster, not with --executor local")
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise InputError("--executor ray: Ray is not installed; install the extra with "
                         "pip install 'reportgen[ray]'")
    return executor


def check_data_path(data: Path, limits: InputLimits = DEFAULT_LIMITS) -> None:
    """The data exists and is a folder or a regular CSV or Parquet file whose header is right
    (every shard's, for a folder of shards)."""
    data = Path(data)
    if is_pattern(data):  # a glob of shards: ``shards/*.parquet``
        check_shards(pattern_files(data), limits)
        return
    if not data.exists():
        raise InputError(f"{data}: data not found")
    if data.is_dir():
        check_shards(shard_files(data), limits)  # image folders are checked file by file as read
        return
    require_regular_file(data, "data")
    if not data.name.lower().endswith((*CSV_SUFFIXES, PARQUET_SUFFIX)):
        raise InputError(f"{data}: {UNSUPPORTED}")
    check_shards([data], limits)


def check_policy_classes(policy: Policy, class_names: Sequence[str]) -> None:
    """A per-class limit must name one of this run's classes."""
    for key, limit in policy.limits.items():
        if not isinstance(limit, RecallLimits):
            continue
        unknown = sorted(set(limit.per_class) - set(class_names))
        if unknown:
            raise InputError(f"{policy.source}: {key}.{unknown[0]}: no class named {unknown[0]!r} "
                             f"(classes: {', '.join(class_names)})")
