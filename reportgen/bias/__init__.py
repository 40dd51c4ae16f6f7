"""Shortcut and bias analysis (probes, natural slices, localisation, confusions) and hygiene."""

from reportgen.bias.analysis import BiasResult, analyse_bias
from reportgen.bias.findings import Finding, Severity
from reportgen.bias.hygiene import HygieneResult, check_hygiene
from reportgen.bias.probes import PROBES, Probe, ProbeKind

__all__ = [
    "PROBES",
    "BiasResult",
    "Finding",
    "HygieneResult",
    "Probe",
    "ProbeKind",
    "Severity",
    "analyse_bias",
    "check_hygiene",
]
