"""The one-page brief: a verdict in plain words, a few sentences, the headline findings with
actions, and what was not checked. Read from the audit result and the policy verdict only.

The same statements go to ``summary.json`` as ``key_statements``, so CI sees what page 1 says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reportgen.bias.findings import Finding
from reportgen.bias.panel import panel_sample
from reportgen.bias.probes import PROBES
from reportgen.gating.verdict import Verdict
from reportgen.report.actions import action_for, plain_problem
from reportgen.result import AuditResult
from reportgen.severity import Severity


@dataclass(frozen=True)
class Brief:
    """``level``: "do-not-ship", "check-first" or "no-shortcut"; ``verdict`` one plain line."""

    level: str
    verdict: str
    sentences: list[str]
    headline: list[Finding]
    problems: dict[str, str]  # finding id → the problem in plain words
    actions: dict[str, str]  # finding id → what to do about it
    not_checked: list[str]
    typical: list[Finding] = field(default_factory=list)

    def key_statements(self) -> dict[str, Any]:
        """``key_statements`` in summary.json: what page 1 says, as plain strings."""
        return {
            "level": self.level,
            "verdict": self.verdict,
            "sentences": list(self.sentences),
            "headline_findings": [{"id": f.id, "severity": f.severity.value,
                                   "text": self.problems[f.id]} for f in self.headline],
            "actions": [self.actions[f.id] for f in self.headline],
            "not_checked": list(self.not_checked),
        }


def make_brief(result: AuditResult, verdict: Verdict) -> Brief:
    """The brief of one run (``verdict``: the policy's checks; no policy is allowed)."""
    bias = result.bias
    names = list(result.options.class_names)
    headline = bias.brief_findings() if bias is not None else []
    problems = {f.id: plain_problem(f, bias) for f in headline}
    actions = {f.id: action_for(f, bias) for f in headline}
    typical = [f for f in (bias.findings if bias else []) if f.shared is True
               and f.severity.rank >= Severity.WARNING.rank]
    level, line = _verdict_line(headline, problems, verdict, _sink_clause(result, names))
    return Brief(level, line, _sentences(result, verdict, headline, typical, names), headline,
                 problems, actions, _not_checked(result), typical)


def observational(finding: Finding) -> bool:
    """A finding that watches the model's answers (the sink class, slices, where saliency
    falls) rather than changing a face: a confound cannot be excluded, so it never alone
    stops a model from shipping."""
    return finding.probe == "confusion" or finding.probe.startswith(("slice:", "saliency:"))


def _verdict_line(headline: list[Finding], problems: dict[str, str], verdict: Verdict,
                  sink: str) -> tuple[str, str]:
    edits = [f for f in headline if not observational(f)]
    critical = [f for f in edits if f.severity is Severity.CRITICAL]
    failed = [c.name for c in verdict.failed]
    if critical:
        return "do-not-ship", f"Do not ship: {problems[critical[0].id]}."
    if failed:
        return "do-not-ship", (f"Do not ship: it fails the policy's check{'s' * (len(failed) > 1)} "
                               f"{', '.join(failed)}.")
    if edits:
        return "check-first", f"Check before shipping: {problems[edits[0].id]}."
    return "no-shortcut", "No model-specific shortcut found" + (f"; {sink}." if sink else ".")


def _sink_clause(result: AuditResult, names: list[str]) -> str:
    """"'sad' is over-predicted by 5 pp, as clean FER2013 models do (2 to 7 pp)", or ""."""
    bias = result.bias
    sink = bias.confusions.sink if bias is not None else None
    if sink is None or not sink.overcall >= 1.0:
        return ""
    clause = f"'{names[sink.index]}' is over-predicted by {sink.overcall:.0f} pp"
    span = panel_overcall(result, sink.index)
    if span is None:
        return clause + " (not compared with clean models)"
    low, high = span
    if sink.overcall <= high + 1.0:
        return clause + f", as in clean FER2013 models ({low:+.0f} to {high:+.0f} pp on the same faces)"
    return clause + f", more than clean FER2013 models ({low:+.0f} to {high:+.0f} pp on the same faces)"


def panel_overcall(result: AuditResult, k: int) -> tuple[float, float] | None:
    """The clean panel members' over-call of class k (pp: predicted share minus true share) on
    the images they saw, as (lowest, highest); None without a panel."""
    bias = result.bias
    if bias is None or bias.panel is None:
        return None
    labels = np.asarray(result.evaluation.labels)
    index = panel_sample(len(labels), result.options.seed)
    values = [100.0 * (np.mean(run.preds_before == k) - np.mean(labels[index] == k))
              for run in bias.panel.runs if len(run.preds_before) == len(index)]
    return (float(min(values)), float(max(values))) if values else None


def _sentences(result: AuditResult, verdict: Verdict, headline: list[Finding],
               typical: list[Finding], names: list[str]) -> list[str]:
    ev = result.evaluation
    split = result.dataset.split or result.dataset.path.name
    recalls = np.array([m.recall if m.support else np.nan for m in ev.per_class])
    weakest = ""
    if np.isfinite(recalls).any():
        worst = int(np.nanargmin(recalls))
        weakest = f"; it finds '{names[worst]}' faces least often ({100 * recalls[worst]:.0f}%)"
    out = [(f"On {len(ev.labels):,} test faces ({split}), the model names the expression correctly "
           f"{100 * ev.accuracy:.0f}% of the time ({100 * ev.balanced_accuracy:.0f}% when every "
           f"expression counts equally){weakest}.")]
    specific = [f for f in headline if f.shared is False and not observational(f)]
    out.append(f"{_count(len(specific), 'problem')} found that clean FER2013 models do not show"
               + (f"; {_count(len(typical), 'strong effect')} that they show too." if typical else "."))
    sink = _sink_clause(result, names)
    if sink:
        out.append(sink[0].upper() + sink[1:] + ": it is the answer the model falls back on.")
    if verdict.policy is None:
        out.append("No policy was applied (--policy none): the verdict above is graded from the "
                   "findings alone.")
    else:
        ran = [c for c in verdict.checks if not c.skipped]
        outcome = (f"fails {len(verdict.failed)} of its {len(ran)} checks" if verdict.failed
                   else f"passes its {len(ran)} checks")
        out.append(f"Checked against {verdict.policy_name}: it {outcome}.")
    return out[:5]


def _count(n: int, noun: str) -> str:
    return f"{'No' if n == 0 else n} {noun}{'s' * (n != 1)}"


def _not_checked(result: AuditResult) -> list[str]:
    split = result.dataset.split or result.dataset.path.name
    out = [f"Faces outside FER2013 ({split} only): other cameras, poses, resolutions and colour.",
           "Groups of people (age, gender, skin tone): FER2013 has no such labels.",
           ("Shortcuts other than the edits tried: global edits, squares and bands on a grid, "
           "and one searched patch and pattern per class.")]
    bias = result.bias
    if bias is None or bias.panel is None:
        out.append("Comparison with clean FER2013 models (no panel was run).")
    if result.attributions is None:
        out.append("Where the model looks (no attribution methods were run).")
    if result.options.skip:
        out.append("Detectors switched off: " + ", ".join(result.options.skip) + ".")
    probes = {e.probe.name for e in bias.probes} if bias is not None else set()
    missing = len(PROBES) - len(probes & set(PROBES))
    if bias is not None and missing:
        out.append(f"{missing} of the {len(PROBES)} probes were not run.")
    return out


PAIR_PX = 88  # each face of a before/after pair, in CSS px (about 23 mm in the PDF)


def brief_context(result: AuditResult, verdict: Verdict) -> dict[str, Any]:
    """``brief`` and ``brief_pairs`` (finding id → [{before, after: data URIs, said_before,
    said_after: class names, edited}]) for the brief's template."""
    from reportgen.report.figures.common import image_to_data_uri

    names = list(result.options.class_names)
    examples = result.bias.examples if result.bias is not None else {}
    pairs = {
        fid: [{"before": image_to_data_uri(p.before, PAIR_PX * 2),
               "after": image_to_data_uri(p.after, PAIR_PX * 2),
               "said_before": names[p.class_before], "said_after": names[p.class_after],
               "edited": p.edited} for p in found]
        for fid, found in examples.items()
    }
    return {"brief": make_brief(result, verdict), "brief_pairs": pairs}


def severity_rule() -> str:
    """The severity rule, the extreme-dose rule and the caps, in one sentence."""
    from reportgen.bias import findings as rules
    from reportgen.bias.triggers import CONTROL_MARGIN_PP

    return (f"Severity: a finding is stated when its whole 95% CI lies above zero and its effect is "
            f"at least {rules.MIN_EFFECT_PP:g} pp, and graded on the CI's low end (on the part beyond "
            f"the clean models where they ran): critical from {rules.CRITICAL_CI_LOW_PP:g} pp, or from "
            f"{rules.DOUBLING_CI_LOW_PP:g} pp when the edit at least doubles the class's share; "
            f"warning from {rules.WARNING_CI_LOW_PP:g} pp; info below; an extreme edit (far "
            "outside real photos) counts one level lower, so a large effect under an extreme edit "
            "can be a warning beside a smaller critical one under a mild edit; covering the eyes "
            "or mouth, stamps on those bands and stamps that beat the mid-grey control by under "
            f"{CONTROL_MARGIN_PP:g} pp stay info, and slices and the sink class stop at warning.")
