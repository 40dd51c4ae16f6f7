"""Shortcut and bias analysis (probes, natural slices, localisation, confusions) and hygiene.

The names below load on first use, so that the light modules (``probes``, ``switches``) can be
imported by the command line's checks without TensorFlow, which ``analysis`` pulls in.
"""

from importlib import import_module
from typing import Any

_WHERE = {
    "BiasResult": "analysis", "analyse_bias": "analysis",
    "Finding": "findings", "Severity": "findings",
    "HygieneResult": "hygiene", "check_hygiene": "hygiene",
    "PROBES": "probes", "Probe": "probes", "ProbeKind": "probes",
}

__all__ = ["PROBES", "BiasResult", "Finding", "HygieneResult", "Probe", "ProbeKind", "Severity",
           "analyse_bias", "check_hygiene"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'reportgen.bias' has no attribute {name!r}")
    return getattr(import_module(f"reportgen.bias.{_WHERE[name]}"), name)
