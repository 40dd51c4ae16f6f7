"""Render an ``AuditResult`` to one self-contained HTML file and, from the same HTML, a PDF.

The renderer reads only the audit result; it never calls the model.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reportgen.evaluation.select import Case
from reportgen.gating.verdict import Verdict
from reportgen.report.figures.common import image_to_data_uri, to_data_uri
from reportgen.report.figures.performance import (
    confusion_figure,
    per_class_figure,
    reliability_figure,
)
from reportgen.report.narrative import key_findings
from reportgen.result import AuditResult
from reportgen.small_sample import NO_CI, too_few

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
THUMBNAIL_PX = 96


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, (int, float, np.number)) and math.isfinite(value)


def _unsigned_zero(value: float, digits: int) -> float:
    """``value`` rounded, with -0.0 made 0.0 so that a tiny negative never prints as "-0.0"."""
    return round(float(value), digits) + 0.0


def fmt_pct(value: Any, digits: int = 1) -> str:
    return f"{_unsigned_zero(100 * value, digits):.{digits}f}%" if _finite(value) else "–"


def fmt_pp(value: Any) -> str:
    return f"{_unsigned_zero(value, 1):+.1f} pp" if _finite(value) else "–"


def fmt_num(value: Any, digits: int = 3) -> str:
    if isinstance(value, str):  # a severity name such as "critical" in the checks table
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:.{digits}g}" if _finite(value) else "–"


def fmt_ci(pair: Any, kind: str = "num") -> str:
    if pair is None:
        return "–"
    low, high = pair
    if kind == "pct":
        return f"[{fmt_pct(low)}, {fmt_pct(high)}]"
    if kind == "pp":  # percentage points, one decimal like the effects they bound
        return f"[{fmt_pp(low).removesuffix(' pp')}, {fmt_pp(high).removesuffix(' pp')}]"
    # Fixed decimals, so both ends read alike whatever their magnitude (ECE [0.065, 0.133]).
    return f"[{low:.3f}, {high:.3f}]" if _finite(low) and _finite(high) else "–"


def _data_uris(images: Any) -> list[str]:
    """PNG data URIs of grey images (N, H, W) uint8, for thumbnails in templates."""
    return [image_to_data_uri(image) for image in images]


def make_environment() -> Environment:
    """Jinja2 environment: autoescaped HTML, number formatting as registered filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt_pct, pp=fmt_pp, num=fmt_num, ci=fmt_ci, data_uris=_data_uris)
    return env


def _gallery(result: AuditResult, cases: list[Case]) -> list[dict[str, Any]]:
    names = result.options.class_names
    return [
        {
            "uri": image_to_data_uri(result.dataset.images[case.index], THUMBNAIL_PX),
            "true": names[case.true],
            "pred": names[case.pred],
            "p_pred": case.p_pred,
            "gap": case.gap,
            "source": case.source,
            "correct": case.true == case.pred,
        }
        for case in cases
    ]


def build_context(result: AuditResult, verdict: Verdict | None = None) -> dict[str, Any]:
    """Everything the templates show, computed from the result (figures as data URIs)."""
    verdict = verdict or Verdict()
    names = list(result.options.class_names)
    ev = result.evaluation
    groups = result.selection.by_group()
    context: dict[str, Any] = {
        "r": result,
        "verdict": verdict,
        "class_names": names,
        "key_findings": key_findings(result, verdict),
        "figs": {
            "confusion": to_data_uri(confusion_figure(ev, names)),
            "reliability": to_data_uri(reliability_figure(ev)),
            "per_class": to_data_uri(per_class_figure(ev, names)),
        },
        "galleries": {group: _gallery(result, cases) for group, cases in groups.items()},
        "group_sizes": result.selection.group_sizes,
        "confusions": _confusion_rows(result, names),
        "sink": _sink(result, names),
    }
    context.update(_optional_sections(result, verdict, names))
    return context


def _confusion_rows(result: AuditResult, names: list[str]) -> list[dict[str, Any]]:
    ev = result.evaluation
    rows = []
    for k, name in enumerate(names):
        other = ev.foremost_confusion(k)
        rows.append({
            "true": name,
            "recall": ev.per_class[k].recall,
            "support": ev.per_class[k].support,
            "pred": names[other] if other is not None else None,
            "count": int(ev.confusion[k, other]) if other is not None else 0,
            "share": float(ev.confusion_normalised[k, other]) if other is not None else 0.0,
            "group": f"confused-{name}-as-{names[other]}" if other is not None else None,
        })
    return rows


def _sink(result: AuditResult, names: list[str]) -> dict[str, Any]:
    ev = result.evaluation
    sink = ev.sink_class
    column = ev.confusion[:, sink].copy()
    column[sink] = 0
    total = int(column.sum())
    feeders = [(names[k], int(column[k]), column[k] / total if total else 0.0)
               for k in np.argsort(-column) if column[k] > 0]
    errors = int(ev.confusion.sum() - np.trace(ev.confusion))
    return {"name": names[sink], "n_errors": total, "all_errors": errors, "feeders": feeders,
            "group": f"wrong-as-{names[sink]}"}


def _optional_sections(result: AuditResult, verdict: Verdict, names: list[str]) -> dict[str, Any]:
    """Contexts of the sections that other stages contribute, when they ran."""
    extra: dict[str, Any] = {"attr": None, "quality": None, "bias": None, "hygiene": None,
                             "comparison": None}
    if result.attributions is not None:
        from reportgen.report.figures.attributions import attribution_figures

        extra["attr"] = result.attributions
        extra["attr_figs"] = attribution_figures(result.attributions, names)
    if result.quality is not None:
        from reportgen.report.figures.quality import quality_figures

        extra["quality"] = result.quality
        extra["quality_figs"] = quality_figures(result.quality, names)
    if result.bias is not None:
        from reportgen.report.figures.bias import bias_figures

        extra["bias"] = result.bias
        extra["bias_figs"] = bias_figures(result.bias, names)
    extra["hygiene"] = result.hygiene
    if verdict.comparison is not None:
        from reportgen.report.figures.compare import comparison_figures

        extra["comparison"] = verdict.comparison
        extra["comparison_figs"] = comparison_figures(verdict.comparison, names)
    return extra


def render_html(result: AuditResult, verdict: Verdict | None = None) -> str:
    """The whole report as one self-contained HTML document."""
    env = make_environment()
    if too_few(len(result.evaluation.labels)):
        env.filters["ci"] = lambda *_args: NO_CI  # the small-sample rule, for every CI shown
    return env.get_template("report.html").render(**build_context(result, verdict))


def data_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses everything but ``data:`` URIs (no network, no files)."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


def render_pdf(html: str) -> bytes:
    """Render the report HTML to PDF bytes with its print stylesheet."""
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=data_only_fetcher()).write_pdf()
