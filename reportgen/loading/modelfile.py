"""Checks on a model file made before Keras or TensorFlow reads it (kept free of TensorFlow).

A model is code and data from someone else: a SavedModel runs its own graph when loaded, and a
``.keras`` zip can declare gigabytes behind a few megabytes. Both are refused here, with one
line that says why, before anything is loaded.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

from reportgen.errors import InputError
from reportgen.loading.limits import DEFAULT_LIMITS, MB, InputLimits, require_regular_file

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
MAX_CONFIG_MB = 16  # config.json / metadata.json: a model's config is kilobytes, never megabytes
MAX_RATIO = 200  # unpacked / packed size of one member; trained weights barely compress
RATIO_FLOOR_MB = 1  # members smaller than this are not held to MAX_RATIO (tiny zeroed tensors)
SAVED_MODEL_ADVICE = (
    "a TF SavedModel runs its own graph code when loaded; pass --trust-model if you trust its "
    "source, or re-save it as .keras where it was built (model.save('model.keras')), which "
    "Keras loads in safe mode"
)


def check_model_file(path: Path, trust: bool = False, limits: InputLimits = DEFAULT_LIMITS) -> None:
    """Raise InputError (naming ``path``) unless the model may be loaded as it stands."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: model not found")
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise InputError(f"{path}: directory is not a TF SavedModel (no saved_model.pb)")
        if not trust:
            raise InputError(f"{path}: {SAVED_MODEL_ADVICE}")
        _check_total(path, _directory_bytes(path), limits)
        return
    suffix = path.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise InputError(f"{path}: unsupported model format '{suffix}' (use .keras, .h5 or a SavedModel)")
    info = require_regular_file(path, "model")
    _check_total(path, info.st_size, limits)
    if suffix == ".keras":
        check_keras_zip(path, limits)


def check_keras_zip(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> None:
    """Refuse a ``.keras`` archive whose members declare more than the limits allow.

    Python's zipfile never returns more than a member's declared size (a member that inflates
    further fails its CRC), so checking the declared sizes bounds what Keras will unpack.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"{path}: not a valid .keras file (not a zip archive)") from None
    _check_total(path, sum(m.file_size for m in members), limits, unpacked=True)
    for member in members:
        name = member.filename
        if Path(name).name in ("config.json", "metadata.json") and member.file_size > MAX_CONFIG_MB * MB:
            raise InputError(f"{path}: {name} unpacks to {member.file_size / MB:,.0f} MiB; a model "
                             f"config is never over {MAX_CONFIG_MB} MiB, so this is not a usable model")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_MB * MB and ratio > MAX_RATIO:
            raise InputError(f"{path}: {name} unpacks {ratio:,.0f}× ({member.file_size / MB:,.0f} MiB "
                             f"from {member.compress_size / MB:,.1f} MiB), over the {MAX_RATIO}× "
                             "limit for model weights (a zip bomb?)")


def _directory_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            info = os.stat(Path(root) / name)
            if not stat.S_ISREG(info.st_mode):
                raise InputError(f"{Path(root) / name}: model file is not a regular file")
            total += info.st_size
    return total


def _check_total(path: Path, size: int, limits: InputLimits, unpacked: bool = False) -> None:
    if size > limits.max_model_mb * MB:
        raise InputError(f"{path}: model {'unpacks to' if unpacked else 'holds'} {size / MB:,.0f} MiB, "
                         f"over the --max-model-mb limit of {limits.max_model_mb:,} MiB; raise "
                         "--max-model-mb if it is genuine")
