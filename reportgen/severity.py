"""The one severity scale used by findings, narrative sentences and the gate."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """How much a finding matters, in increasing order of concern; compare with ``rank``."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    @classmethod
    def rank_of(cls, name: str) -> int:
        """Rank of a severity name; an unknown name ranks above critical, so gates fail closed."""
        try:
            return cls(name).rank
        except ValueError:
            return len(cls)
