"""Where the files that ship with reportgen live: report templates, the sample model and data,
the example policy, and the JSON Schema of ``summary.json``.

In a wheel the templates and samples are copied into ``reportgen/_data/`` (``force-include`` in
pyproject.toml) and read through ``importlib.resources``. In a checkout (an editable install,
``uv run``) that folder does not exist, and the top-level ``templates/`` and ``sample_models/``
folders are used instead, so that nobody has to copy files to try an edit.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_MODEL_NAME = "fer_cnn.keras"
SAMPLE_DATA_NAME = "fer2013_demo.csv.gz"
SUMMARY_SCHEMA_NAME = "summary.schema.json"


def data_dir(name: str) -> Path:
    """The folder ``name`` (``templates``, ``sample_models`` or ``examples``) as installed, else the
    checkout's.

    Only a package unpacked on disk is supported (pip and uv always unpack wheels), because Jinja
    and Keras need real file paths.
    """
    installed = resources.files("reportgen").joinpath("_data", name)
    if installed.is_dir():
        return Path(str(installed))
    return CHECKOUT_ROOT / name


def templates_dir() -> Path:
    """The folder holding ``report.html``, its sections and ``report.css``."""
    return data_dir("templates")


def sample_model() -> Path:
    """The bundled clean sample model (7-class FER2013, 48×48 grey)."""
    return data_dir("sample_models") / SAMPLE_MODEL_NAME


def sample_data() -> Path:
    """The bundled demo sample of FER2013 (Kaggle CSV format, 50 PublicTest images per class)."""
    return data_dir("sample_models") / SAMPLE_DATA_NAME


def example_policy() -> Path:
    """The documented example policy that sets every key (``examples/policy.toml``)."""
    return data_dir("examples") / "policy.toml"


def summary_schema_path() -> Path:
    """The JSON Schema (draft 2020-12) that every ``summary.json`` validates against."""
    return Path(str(resources.files("reportgen").joinpath("schemas", SUMMARY_SCHEMA_NAME)))
