"""Findings side by side: one row per (class, mechanism), one cell per model.

A row *differs* when one model has a stated finding at warning or above there and another has
none or only an info one: a shortcut one model learned and another did not. Those rows come
first, the most severe first; the rows all models share follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportgen.bias.findings import Finding
from reportgen.numbers import round_finite
from reportgen.severity import Severity


@dataclass(frozen=True)
class FindingCell:
    """One model's finding in a row: the most severe of its findings for that class and mechanism."""

    severity: Severity
    effect: float  # pp toward the class
    specific: float | None  # pp beyond the clean models, when judged against them
    text: str  # the finding's brief text
    probe: str
    others: int = 0  # further findings of this model in the same row

    def to_summary(self) -> dict:
        return {"severity": self.severity.value, "effect": round_finite(self.effect),
                "specific": round_finite(self.specific), "probe": self.probe, "text": self.text,
                "others": self.others}


@dataclass(frozen=True)
class FindingRow:
    class_name: str
    mechanism: str
    cells: tuple[FindingCell | None, ...]  # one per model; None: nothing stated

    @property
    def ranks(self) -> list[int]:
        return [c.severity.rank if c is not None else -1 for c in self.cells]

    @property
    def differs(self) -> bool:
        """Some model has it at warning or above and some other has it at most as info."""
        return max(self.ranks) >= Severity.WARNING.rank and min(self.ranks) < Severity.WARNING.rank

    @property
    def worst(self) -> Severity:
        return max((c.severity for c in self.cells if c is not None), key=lambda s: s.rank)

    def to_summary(self, model_names: Sequence[str]) -> dict:
        return {"class": self.class_name, "mechanism": self.mechanism, "differs": self.differs,
                "models": {m: c.to_summary() if c is not None else None
                           for m, c in zip(model_names, self.cells)}}


def side_by_side(findings: Sequence[Sequence[Finding]]) -> tuple[FindingRow, ...]:
    """Rows from each model's findings (one list per model), rows that differ first, then by
    the worst severity and the largest effect."""
    keys: dict[tuple[str, str], None] = {}
    for model_findings in findings:
        for f in model_findings:
            keys.setdefault((f.class_name, f.mechanism or f.probe), None)
    rows = [FindingRow(name, mechanism, tuple(_cell([f for f in fs if (f.class_name, f.mechanism or f.probe)
                                                      == (name, mechanism)]) for fs in findings))
            for name, mechanism in keys]
    return tuple(sorted(rows, key=lambda r: (not r.differs, -r.worst.rank,
                                            -max(abs(c.effect) for c in r.cells if c is not None))))


def _cell(findings: list[Finding]) -> FindingCell | None:
    if not findings:
        return None
    top = max(findings, key=lambda f: (f.severity.rank, f.decisive_low))
    return FindingCell(top.severity, top.effect, top.specific, top.brief, top.probe, len(findings) - 1)
