"""The compact notebook view of an audit (``Audit._repr_html_``): a few kilobytes of headline
numbers, findings and two figures, instead of the whole multi-megabyte report."""

from __future__ import annotations

from reportgen.gating.verdict import Verdict
from reportgen.report.figures.common import to_data_uri
from reportgen.report.figures.performance import confusion_figure, per_class_figure
from reportgen.report.narrative import key_findings
from reportgen.result import AuditResult

MAX_FINDINGS = 6
MAX_FAILED = 5  # failed checks listed; the rest are counted


def notebook_findings(result: AuditResult, verdict: Verdict) -> list[dict[str, str]]:
    """Shortcut findings (warning or worse) first, then the report's key sentences."""
    findings: list[dict[str, str]] = []
    if result.bias is not None:
        findings += [{"severity": f.severity.value, "text": f.text}
                     for f in result.bias.headline_findings()]
    return findings + key_findings(result, verdict)


def render_notebook(result: AuditResult, verdict: Verdict) -> str:
    """Self-contained HTML (scoped styles, figures as data URIs) for Jupyter's rich display."""
    from reportgen.report.render import make_environment

    names = list(result.options.class_names)
    findings = notebook_findings(result, verdict)
    figs = {"confusion": to_data_uri(confusion_figure(result.evaluation, names)),
            "per_class": to_data_uri(per_class_figure(result.evaluation, names))}
    return make_environment().get_template("notebook.html").render(
        r=result, verdict=verdict, findings=findings[:MAX_FINDINGS], max_failed=MAX_FAILED,
        n_more=max(len(findings) - MAX_FINDINGS, 0), figs=figs)
