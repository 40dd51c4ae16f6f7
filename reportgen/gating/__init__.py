"""The gate: a policy file, the checks it sets, the baseline comparison, JUnit output.

Imports point one way: ``limits`` ← ``quality_checks``/``checks`` ← ``policy`` ← ``verdict``;
``compare`` and ``junit`` stand beside them. Nothing here imports the runner or TensorFlow.
"""

from reportgen.gating.baseline import load_baseline
from reportgen.gating.checks import CHECKS
from reportgen.gating.compare import Comparison, compare
from reportgen.gating.limits import Check, RecallLimits
from reportgen.gating.policy import Policy, load_policy
from reportgen.gating.verdict import Verdict, evaluate_checks, judge, load_gate_inputs

__all__ = [
    "CHECKS",
    "Check",
    "Comparison",
    "Policy",
    "RecallLimits",
    "Verdict",
    "compare",
    "evaluate_checks",
    "judge",
    "load_baseline",
    "load_gate_inputs",
    "load_policy",
]
