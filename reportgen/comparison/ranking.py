"""Which model to ship: the first model that passes the policy, in a documented order.

The rule (``RULE``) is a total order, so the same inputs always give the same answer: the
policy's verdict first; among the models that pass, shortcuts decide only between models whose
accuracy the data cannot tell apart from the best one's, so a model is never shipped for one
warning fewer at a significant loss of accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportgen.comparison.paired import PairedStatistics
from reportgen.severity import Severity

RULE = ("Models that pass the policy in force rank before models that fail it. Among those that "
        "pass, the leading group is the most accurate one and every model whose accuracy is not "
        "significantly below it (McNemar, Holm-adjusted, α = 0.05); within the group, fewer "
        "critical findings, then fewer warning findings, then higher accuracy, then higher "
        "balanced accuracy, then the order given, rank first; the other passing models follow "
        "by the same keys, then the failing ones. The first model is recommended if it passes; "
        "if none passes, none is.")


@dataclass(frozen=True)
class Standing:
    """What the rule reads of one model."""

    name: str
    passed: bool
    failed: tuple[str, ...]  # failed checks, one line each
    n_critical: int
    n_warning: int
    accuracy: float
    balanced_accuracy: float

    def key(self, position: int, leading: bool) -> tuple:
        return (not self.passed, not leading, self.n_critical, self.n_warning, -self.accuracy,
                -self.balanced_accuracy, position)


@dataclass(frozen=True)
class Recommendation:
    ship: int | None  # index of the model to ship; None when no model passes
    ranking: tuple[int, ...]  # model indices, best first
    text: str  # the recommendation in plain words
    reasons: tuple[str, ...]  # one line per model, in ranking order
    policy: str  # the policy's name ("none" when nothing is checked)
    rule: str = RULE

    def to_summary(self, names: Sequence[str]) -> dict:
        return {"ship": names[self.ship] if self.ship is not None else None,
                "ranking": [names[i] for i in self.ranking], "text": self.text,
                "reasons": list(self.reasons), "policy": self.policy, "rule": self.rule}


def count(severities: Sequence[Severity], level: Severity) -> int:
    return sum(1 for s in severities if s is level)


def leading_group(standings: Sequence[Standing], paired: PairedStatistics) -> set[int]:
    """The most accurate passing model and the passing models not significantly less accurate."""
    passing = [i for i, s in enumerate(standings) if s.passed]
    if not passing:
        return set()
    best = max(passing, key=lambda i: (standings[i].accuracy, -i))
    return {i for i in passing if i == best or not paired.pair(best, i).get("accuracy").significant}


def recommend(standings: Sequence[Standing], paired: PairedStatistics, policy: str) -> Recommendation:
    """Rank ``standings`` by ``RULE`` and say which to ship and why."""
    group = leading_group(standings, paired)
    ranking = tuple(sorted(range(len(standings)), key=lambda i: standings[i].key(i, i in group)))
    first = standings[ranking[0]]
    ship = ranking[0] if first.passed else None
    reasons = tuple(_reason(standings[i]) for i in ranking)
    if ship is None:
        text = (f"Ship none of the {len(standings)} models: none passes {_policy(policy)}. "
                f"Closest: {first.name} ({_failures(first)}).")
        return Recommendation(None, ranking, text, reasons, policy)
    text = f"Ship {first.name}: it passes {_policy(policy)}{_why(first, standings, ranking, paired)}"
    return Recommendation(ship, ranking, text, reasons, policy)


def _why(first: Standing, standings: Sequence[Standing], ranking: tuple[int, ...],
         paired: PairedStatistics) -> str:
    if len(ranking) < 2:
        return "."
    runner_up_index = ranking[1]
    runner_up = standings[runner_up_index]
    if not runner_up.passed:
        return f", and the other models do not ({_failures(runner_up)} for {runner_up.name})."
    accuracy = paired.pair(ranking[0], runner_up_index).get("accuracy")
    gap = (first.accuracy - runner_up.accuracy) * 100
    test = f"McNemar p = {accuracy.p_value:.2g}, Holm-adjusted {accuracy.p_holm:.2g}"
    if accuracy.significant:
        return (f", and is significantly more accurate than {runner_up.name}, which passes too "
                f"({gap:+.1f} pp; {test}).")
    fewer = (first.n_critical, first.n_warning) < (runner_up.n_critical, runner_up.n_warning)
    basis = "with fewer shortcut findings than" if fewer else "and ranks above"
    return (f", {basis} {runner_up.name}, which passes too and whose accuracy it matches "
            f"({gap:+.1f} pp, not a significant difference: {test}).")


def _policy(name: str) -> str:
    """The policy as a sentence names it: "the default policy (…)", "the policy ci.toml"."""
    if name == "none":
        return "no policy (none is in force, so every model passes)"
    return name if name.startswith("the ") else f"the policy {name}"


def _failures(standing: Standing) -> str:
    shown = "; ".join(standing.failed[:2])
    more = f" and {len(standing.failed) - 2} more" if len(standing.failed) > 2 else ""
    return f"fails {shown}{more}" if standing.failed else "passes"


def _reason(s: Standing) -> str:
    verdict = "passes" if s.passed else _failures(s)
    return (f"{s.name}: {verdict}; {s.n_critical} critical and {s.n_warning} warning findings; "
            f"accuracy {s.accuracy * 100:.1f}%, balanced accuracy {s.balanced_accuracy * 100:.1f}%.")
