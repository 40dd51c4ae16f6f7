"""Explanation quality: which attribution maps to trust for this model.

Faithfulness (deletion/insertion AUC against random maps), the cascading model-randomisation
sanity check, seed stability of the stochastic methods, agreement between methods, and a ranked verdict.
``assess_explanations`` is the only function the pipeline calls.
"""

from reportgen.quality.assess import QualityResult, QualitySettings, assess_explanations
from reportgen.quality.verdict import MethodQuality

__all__ = ["MethodQuality", "QualityResult", "QualitySettings", "assess_explanations"]
