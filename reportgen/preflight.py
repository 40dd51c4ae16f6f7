"""Every check that can be made before TensorFlow is imported or any stage runs.

The CLI (and the Python API) call ``preflight`` first: a missing file, a wrong CSV header, a
SavedModel without ``--trust-model``, a zip bomb, a policy or baseline that does not fit the
run, or an output path that cannot be written is one InputError naming the file, within a
second, instead of after minutes of work. Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.errors import InputError
from reportgen.gating.baseline import check_class_names, load_baseline
from reportgen.gating.limits import RecallLimits
from reportgen.gating.policy import Policy, load_policy
from reportgen.loading.folders import resolve_root
from reportgen.loading.limits import DEFAULT_LIMITS, InputLimits
from reportgen.loading.modelfile import check_model_file
from reportgen.loading.shards import check_shards, data_files, split_names
from reportgen.loading.store import check_spill_settings
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
    model: Path | None,
    data: Path | None,
    class_names: Sequence[str],
    split: str | None = None,
    out: Path | None = None,
    out_files: Sequence[str] = REPORT_FILES,
    policy: Path | Policy | None = None,
    baseline: Path | dict[str, Any] | None = None,
    junit: Path | None = None,
    trust_model: bool = False,
    seed: int = 0,
    limits: InputLimits = DEFAULT_LIMITS,
) -> GateInputs:
    """Check every input and output path of a run; return the validated policy and baseline.

    ``out`` None (the API's in-memory audit) checks no output folder; ``model`` or ``data`` None
    (the API's in-memory model or arrays) checks no file for it. ``policy`` and ``baseline`` are
    files to read, or a ``Policy`` and a summary dict already validated (the API's forms).
    """
    check_seed(seed)
    check_spill_settings()
    if model is not None:
        check_model_file(model, trust_model, limits)
    if data is not None:
        check_data_path(data, limits)
        check_split(data, split, tuple(class_names), limits)
    policy_read = load_policy(policy) if isinstance(policy, str | Path) else policy
    if policy_read is not None:
        check_policy_classes(policy_read, class_names)
    baseline_read = load_baseline(baseline) if isinstance(baseline, str | Path) else baseline
    if baseline_read is not None:
        check_class_names(baseline_read, class_names,
                          str(baseline) if isinstance(baseline, str | Path) else "baseline")
    targets = [] if out is None else [Path(out) / name for name in out_files]
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise InputError(f"{out}: --out exists and is not a directory")
    if junit is not None:
        if Path(junit).is_dir():
            raise InputError(f"{junit}: --junit is a directory; give a file path such as checks.xml")
        targets.append(Path(junit))
    check_distinct(targets)
    check_targets(targets)
    return GateInputs(policy_read, baseline_read)


def check_distinct(targets: Sequence[Path]) -> None:
    """No two output files are one file (``--junit OUT/summary.json``, or through a link):
    the last one written would replace the other."""
    seen: dict[str, Path] = {}
    for target in targets:
        key = os.path.normcase(os.path.realpath(target))
        if key in seen:
            raise InputError(f"--junit {target}: {seen[key].name} is written there too (it is "
                             f"the same file as {seen[key]}); give --junit another path")
        seen[key] = target


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
                         "pip install 'reportgen-fer[ray]'")
    if ray_address is not None:
        check_ray_address(ray_address)
    return executor


RAY_ADDRESS = re.compile(r"(?P<scheme>ray://)?(?P<host>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})")
RAY_CONNECT_TIMEOUT_S = 5.0


def check_ray_address(address: str) -> None:
    """``auto``, ``local``, ``HOST:PORT`` or ``ray://HOST:PORT``, and for the last two a port that
    answers within ``RAY_CONNECT_TIMEOUT_S``: a closed port or an unknown host fails here, in
    seconds, instead of Ray retrying for minutes."""
    if address in ("auto", "local"):
        return
    match = RAY_ADDRESS.fullmatch(address)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise InputError(f"--ray-address: '{address[:80]}' is not auto, HOST:PORT (a cluster's head, "
                         "e.g. 10.0.0.5:6379) or ray://HOST:PORT (a Ray Client server)")
    host, port = match["host"].strip("[]"), int(match["port"])
    try:
        with socket.create_connection((host, port), timeout=RAY_CONNECT_TIMEOUT_S) as connection:
            speaks_grpc = _answers_http2(connection)
    except OSError as err:
        why = (f"no answer within {RAY_CONNECT_TIMEOUT_S:.0f} s" if isinstance(err, TimeoutError)
               else err.strerror or str(err))
        raise InputError(f"--ray-address {address}: cannot connect: {why}; is the Ray head "
                         "running there?") from None
    if not speaks_grpc and os.environ.get("RAY_USE_TLS", "0").lower() not in ("1", "true"):
        raise InputError(f"--ray-address {address}: the port answers, but not as Ray does (gRPC); "
                         "give the head's GCS port (6379 by default) or ray://HEAD:10001")


# An HTTP/2 client's opening (RFC 9113 §3.4) and an empty SETTINGS frame: every gRPC server,
# as Ray's GCS and Ray Client are, answers with a SETTINGS frame of its own.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def _answers_http2(connection: socket.socket) -> bool:
    connection.sendall(_HTTP2_PREFACE)
    header = b""
    while len(header) < 9:
        chunk = connection.recv(9 - len(header))
        if not chunk:
            return False
        header += chunk
    return header[3] == 4  # the frame type: SETTINGS


def check_data_path(data: Path, limits: InputLimits = DEFAULT_LIMITS) -> None:
    """The data exists and is a folder or a regular CSV or Parquet file whose header is right
    (every shard's, for a folder or glob of shards)."""
    files = data_files(Path(data))
    if files is not None:  # image folders are checked file by file as read
        check_shards(files, limits)


def check_split(data: Path, split: str | None, class_names: tuple[str, ...],
                limits: InputLimits = DEFAULT_LIMITS) -> None:
    """``split`` names a split the data holds (a Usage value or a split folder, matched
    case-insensitively), or, when None, the data holds one split only. Only the split column
    of a CSV or Parquet file is read."""
    data = Path(data)
    files = data_files(data)
    if files is None:
        resolve_root(data, split, class_names)
        return
    names, found = split_names(files, split, limits)
    if split is not None and not found:
        raise InputError(f"{data}: no rows with Usage '{split}' (found {names.describe()})")
    if split is None and len(names) > 1:
        raise InputError(f"{data}: the data holds several splits ({names.describe()}); "
                         "choose one with --split")


def check_policy_classes(policy: Policy, class_names: Sequence[str]) -> None:
    """A per-class limit must name one of this run's classes."""
    for key, limit in policy.limits.items():
        if not isinstance(limit, RecallLimits):
            continue
        unknown = sorted(set(limit.per_class) - set(class_names))
        if unknown:
            raise InputError(f"{policy.source}: {key}.{unknown[0]}: no class named {unknown[0]!r} "
                             f"(classes: {', '.join(class_names)})")
