"""reportgen: audit reports for Keras image classifiers.

    import reportgen
    a = reportgen.audit(model, (images, labels))   # or paths; see reportgen.api
    a.save("audit/")
    verdict = reportgen.gate(model, data, policy="policy.toml")
    c = reportgen.compare([model_a, model_b], data)  # paired tests, findings side by side

The gate's modules live in ``reportgen.gating`` (not ``reportgen.gate``), so importing them
never replaces the ``reportgen.gate`` function.
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) is noise in a CLI tool's output;
# real failures still surface as Python exceptions. Set before anything imports TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from reportgen.api import Audit, audit, gate
from reportgen.comparison.entry import compare
from reportgen.errors import InputError


def __getattr__(name: str) -> str:
    # Looked up on first use: importlib.metadata costs ~0.1 s, most of `import reportgen`.
    if name != "__version__":
        raise AttributeError(f"module 'reportgen' has no attribute {name!r}")
    from reportgen.distribution import version

    return version()

__all__ = ["Audit", "InputError", "__version__", "audit", "compare", "gate"]
