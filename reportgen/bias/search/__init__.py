"""Optimisation-based searches for shortcuts no one wrote down: a minimal trigger per class
(``cleanse``, after Neural Cleanse) and a minimal universal perturbation per class
(``universal``), each confirmed on held-out images against a random control and clean models
(``confirm``), and stated as findings only when anomalous and confirmed (``findings``).

Imports point one way: ``optimise`` and ``compiled`` (shared machinery) ← ``rules`` (what a
finding needs, and the early test that it surely cannot be stated) ← ``confirm`` ← ``cleanse``
and ``universal`` ← ``findings``.
"""

from reportgen.bias.search.cleanse import ClassTrigger, TriggerSearch, search_triggers
from reportgen.bias.search.findings import search_findings
from reportgen.bias.search.optimise import Budget
from reportgen.bias.search.universal import ClassPerturbation, UniversalSearch, search_universal

__all__ = [
    "Budget",
    "ClassPerturbation",
    "ClassTrigger",
    "TriggerSearch",
    "UniversalSearch",
    "search_findings",
    "search_triggers",
    "search_universal",
]
