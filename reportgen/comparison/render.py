"""Render a ``ComparisonResult`` to one self-contained HTML file and, from it, a PDF.

It reads only the result (the saliency maps were computed by the runner); it never calls a model.
The report's stylesheet, macros and number filters are the single-model report's.
"""

from __future__ import annotations

import math
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from reportgen.comparison.disagreement import relative_source
from reportgen.comparison.figures import explanation_rows, gallery_items
from reportgen.comparison.findings import FindingRow
from reportgen.comparison.paired import HEADLINE, PairedStatistics
from reportgen.comparison.result import ComparisonResult
from reportgen.report.render import Section, fmt_pp, make_environment, render_pdf, shown_sections
from reportgen.severity import Severity

# The one list of sections: the table of contents and the body are both built from it.
SECTIONS: tuple[Section, ...] = (
    Section("recommendation", "Recommendation", "compare/recommendation.html"),
    Section("findings", "Findings side by side", "compare/findings.html"),
    Section("metrics", "Metrics side by side", "compare/metrics.html"),
    Section("disagreement", "Where they disagree", "compare/disagreement.html"),
    Section("explanations", "Explanations side by side", "compare/explanations.html",
            needs="explanations"),
    Section("models", "Models, data and notes", "compare/models.html"),
)
LABELS = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "macro_f1": "macro-F1",
          "ece": "ECE (lower is better)"}
PERCENT = frozenset({"accuracy", "balanced_accuracy"})
MAX_DIFFERING = 6  # rows of "in some models, not in others" on the first page


def fmt_p(value: float) -> str:
    """A p-value: two significant digits, "<0.001" below that."""
    if math.isnan(value):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.2g}"


def render_compare_html(result: ComparisonResult) -> str:
    env = _environment()
    context = build_context(result)
    sections = shown_sections(context, SECTIONS)
    # Each part is HTML rendered by an autoescaping template: safe to insert as it is.
    parts = [{"section": s, "html": Markup(env.get_template(s.template).render(**context))}
             for s in sections]
    return env.get_template("compare.html").render(parts=parts, **context)


def render_sections(result: ComparisonResult, ids: tuple[str, ...]) -> str:
    """Only the sections ``ids``, with the styles, as one fragment (the notebook view)."""
    env = _environment()
    context = build_context(result)
    styles = env.get_template("compare/compare.css").render()
    body = "".join(env.get_template(s.template).render(**context)
                   for s in shown_sections(context, SECTIONS) if s.id in ids)
    return f'<div class="reportgen-compare"><style>{styles}</style>{body}</div>'


def breakable(name: str) -> Markup:
    """A model name that may wrap after its underscores (long names in narrow table heads)."""
    return Markup("_\u200b").join(name.split("_"))


def _environment() -> Environment:
    env = make_environment()
    env.filters.update(pval=fmt_p, breakable=breakable)
    return env


def render_compare_pdf(html: str) -> bytes:
    return render_pdf(html)


def build_context(result: ComparisonResult) -> dict[str, Any]:
    """Everything the templates show, computed from the result (pictures as data URIs)."""
    from reportgen.attributions import REGISTRY

    names, classes = result.names, list(result.options.base.class_names)
    dataset = result.dataset
    maps = result.explanations
    explanations = []
    if maps is not None and len(maps.indices):
        sources = [relative_source(dataset.sources[i], dataset.path) for i in maps.indices]
        explanations = explanation_rows(maps, dataset.images, dataset.labels, sources, classes,
                                        REGISTRY[maps.method].display)
    return {
        "c": result, "names": names, "class_names": classes,
        "rec": result.recommendation,
        "differing": [_differing(row, names) for row in result.findings if row.differs][:MAX_DIFFERING],
        "metric_rows": _metric_rows(result),
        "pair_rows": _pair_rows(result.paired, names),
        "recall_rows": _recall_rows(result, classes),
        "gallery": gallery_items(result.disagreement, dataset.images, classes, names),
        "deltas": [(names[i + 1], d) for i, d in enumerate(result.disagreement.confusion_deltas)],
        "explanations": explanations,
        "method_title": REGISTRY[maps.method].title if maps is not None else "",
    }


def _differing(row: FindingRow, names: list[str]) -> dict[str, str]:
    """A row that differs as one sentence: which models have it, how strongly, which do not."""
    has = [f"{n} ({c.severity.value}, {fmt_pp(c.effect)})" for n, c in zip(names, row.cells)
           if c is not None and c.severity.rank >= Severity.WARNING.rank]
    lacks = [n + (" (info only)" if c is not None else "") for n, c in zip(names, row.cells)
             if c is None or c.severity.rank < Severity.WARNING.rank]
    return {"severity": row.worst.value, "title": f"{row.mechanism} → {row.class_name}:",
            "text": f"found in {', '.join(has)}; not in {', '.join(lacks)}."}


def _metric_rows(result: ComparisonResult) -> list[dict[str, Any]]:
    rows = []
    for metric in HEADLINE:
        cells = [(getattr(run.result.evaluation, metric), getattr(run.result.evaluation, f"{metric}_ci"))
                 for run in result.runs]
        values = [v for v, _ in cells]
        best = values.index(min(values) if metric == "ece" else max(values))
        rows.append({"label": LABELS[metric], "pct": metric in PERCENT, "cells": cells, "best": best})
    return rows


def _pair_rows(paired: PairedStatistics, names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for pair in paired.pairs:
        for d in pair.differences:
            if d.metric not in HEADLINE:
                continue
            better = {"a": names[pair.a], "b": names[pair.b], None: "–"}[d.better]
            rows.append({"a": names[pair.a], "b": names[pair.b], "label": LABELS[d.metric],
                         "pct": d.metric in PERCENT, "d": d, "better": better,
                         "discordant": (pair.only_a_right, pair.only_b_right)
                         if d.metric == "accuracy" else None})
    return rows


def _recall_rows(result: ComparisonResult, classes: list[str]) -> list[dict[str, Any]]:
    rows = []
    for k, name in enumerate(classes):
        cells = [(run.result.evaluation.per_class[k].recall, run.result.evaluation.per_class[k].recall_ci)
                 for run in result.runs]
        diffs = [(result.names[p.a], result.names[p.b], p.get(f"recall:{name}")) for p in result.paired.pairs]
        rows.append({"name": name, "support": result.runs[0].result.evaluation.per_class[k].support,
                     "cells": cells, "diffs": diffs})
    return rows
