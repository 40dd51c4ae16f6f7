"""Render an ``AuditResult`` to one self-contained HTML file and, from the same HTML, a PDF.

The renderer reads only the audit result; it never calls the model.
"""

from __future__ import annotations

import base64
import io
import math
import re
from functools import partial
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reportgen.bias.panel import MAD_FLOOR_PP, Z_MIN
from reportgen.evaluation.select import Case
from reportgen.gating.verdict import Verdict
from reportgen.report.brief import brief_context, severity_rule
from reportgen.report.explorer import case_anchor, case_numbers, explorer_context, relative_source
from reportgen.report.figures.common import DPI, image_to_data_uri, to_data_uri
from reportgen.report.figures.performance import (
    confusion_figure,
    per_class_figure,
    reliability_figure,
)
from reportgen.report.narrative import key_findings
from reportgen.report.sections import (  # noqa: F401  (re-exported: the section list's home)
    PAGE,
    SECTIONS,
    Layout,
    RenderedSection,
    Section,
    anchor_subsections,
    drop_dead_links,
    render_sections,
    shown_sections,
)
from reportgen.resources import templates_dir
from reportgen.result import AuditResult
from reportgen.severity import Severity
from reportgen.small_sample import NO_CI, too_few

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


def fmt_num(value: Any, digits: int = 3, fixed: bool = False) -> str:
    """Integers with thousands separators; floats to ``digits`` significant digits, or to
    ``digits`` decimals with ``fixed`` (for columns whose entries must line up)."""
    if isinstance(value, str):  # a severity name such as "critical" in the checks table
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    if not _finite(value):
        return "–"
    if fixed:
        return f"{_unsigned_zero(value, digits):.{digits}f}"
    return f"{value:.{digits}g}"


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


def finding_links(finding: Any, pdf: bool = False) -> list[tuple[str, ...]]:
    """(href, label[, predicted class to filter the case explorer by]) of the evidence
    behind a bias finding: its probe row or slice rows, the sink gallery, and the cases.
    In the PDF, "cases predicted 'X'" leads to the printed list of those cases."""
    probe = getattr(finding, "probe", None)
    if not isinstance(probe, str):
        return []
    if probe.startswith("slice:"):
        links: list[tuple[str, ...]] = [(f"#slice-{probe.split(':')[1]}", "slice rows")]
    elif probe == "confusion":
        links = [("#sink-gallery", "sink gallery")]
    elif probe.startswith("saliency:"):
        links = [("#off-face", "off-face table")]
    elif probe.startswith("search:"):
        links = [("#search", "search")]
    elif probe.startswith("patch:"):
        links = [(f"#trigger-{probe.replace(':', '-').replace(',', '-')}", "stamp row")]
    else:
        links = [(f"#probe-{probe}", "probe row")]
    name = getattr(finding, "class_name", None)
    if name and pdf:
        links.append((f"#cases-pred-{name}", f"cases predicted '{name}'"))
    elif name:
        links.append(("#cases-explorer", f"cases predicted '{name}'", name))
    return links


def _data_uris(images: Any) -> list[str]:
    """PNG data URIs of grey images (N, H, W) uint8, for thumbnails in templates."""
    return [image_to_data_uri(image) for image in images]


def make_environment(layout: Layout = PAGE) -> Environment:
    """Jinja2 environment: autoescaped HTML, number formatting as registered filters."""
    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt_pct, pp=fmt_pp, num=fmt_num, ci=fmt_ci, data_uris=_data_uris)
    env.globals.update(evidence=partial(finding_links, pdf=layout.pdf), layout=layout,
                       panel_rule={"z_min": Z_MIN, "mad_floor_pp": MAD_FLOOR_PP},
                       stamp_anchor=stamp_anchor, severity_rule=severity_rule())
    return env


def stamp_anchor(stamp: Any) -> str:
    """The id of a confirmed stamp's row, as a patch finding's evidence link names it."""
    return f"trigger-patch-{stamp.kind}-{stamp.top}-{stamp.left}-{stamp.value:g}"


def _gallery(result: AuditResult, cases: list[Case], numbers: dict[int, int]) -> list[dict[str, Any]]:
    names = result.options.class_names
    return [
        {
            "uri": image_to_data_uri(result.dataset.images[case.index], THUMBNAIL_PX, "JPEG"),
            "anchor": case_anchor(numbers[id(case)]),
            "true": names[case.true],
            "pred": names[case.pred],
            "p_pred": case.p_pred,
            "gap": case.gap,
            "source": relative_source(case.source, result.dataset.path),
            "correct": case.true == case.pred,
        }
        for case in cases
    ]


def build_context(result: AuditResult, verdict: Verdict | None = None,
                  layout: Layout = PAGE) -> dict[str, Any]:
    """Everything the templates show, computed from the result (figures as data URIs)."""
    verdict = verdict or Verdict()
    names = list(result.options.class_names)
    ev = result.evaluation
    groups = result.selection.by_group()
    numbers = case_numbers(result)
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
        "galleries": {group: _gallery(result, cases, numbers) for group, cases in groups.items()},
        "explorer": explorer_context(result),
        "group_sizes": result.selection.group_sizes,
        "confusions": _confusion_rows(result, names),
        "sink": _sink(result, names),
    }
    context.update(_optional_sections(result, verdict, names))
    context.update(brief_context(result, verdict))
    context["cases_by_pred"] = _cases_by_pred(result, context["explorer"]["cards"])
    context["sections"] = shown_sections(context, layout=layout)
    return context


def _cases_by_pred(result: AuditResult, cards: list[dict[str, Any]]) -> dict[str, list[dict]]:
    """Predicted class → its selected cases, for each class a finding names: the printed
    list that a warning or critical finding's "cases predicted 'X'" link leads to in the PDF
    (an info finding's link is left out there: ``drop_dead_links``)."""
    bias = result.bias
    named = {f.class_name for f in bias.findings
             if f.severity.rank >= Severity.WARNING.rank} if bias is not None else set()
    return {name: [c for c in cards if c["pred"] == name]
            for name in result.options.class_names if name in named}


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
                             "comparison": None, "search": None}
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
        if result.bias.trigger_search or result.bias.universal_search:
            from reportgen.report.figures.search import search_figures

            extra["search"] = result.bias
            extra["search_figs"] = search_figures(result.bias.trigger_search,
                                                  result.bias.universal_search, names)
    extra["hygiene"] = result.hygiene
    if verdict.comparison is not None:
        from reportgen.report.figures.compare import comparison_figures

        extra["comparison"] = verdict.comparison
        extra["comparison_figs"] = comparison_figures(verdict.comparison, names)
    return extra


_DATA_IMG = re.compile(r'<img src="data:image/(png|jpeg|webp);base64,([A-Za-z0-9+/=]+)"')
WEBP_MIN_PIXELS = 100_000  # re-encode PNGs above this size: below it the gain is small


def _webp_lossless(picture: Any) -> bytes:
    buffer = io.BytesIO()
    # method 2 / quality 20: nearly the smallest files at a third of the default's time.
    picture.convert("RGB").save(buffer, format="WEBP", lossless=True, method=2, quality=20)
    return buffer.getvalue()


def embed_images(html: str) -> str:
    """Embedded images as the page shows them: each saved above screen density (figures at
    2x) gets the width it is meant to be shown at, in CSS px, from the density recorded in
    the file; large PNG figures are re-encoded as lossless WebP (half the bytes, same pixels)."""
    from PIL import Image

    def embedded(match: re.Match[str]) -> str:
        kind, payload = match.group(1), match.group(2)
        with Image.open(io.BytesIO(base64.b64decode(payload))) as picture:
            dpi = float(picture.info.get("dpi", (DPI, DPI))[0])
            width = picture.width
            if kind == "png" and picture.width * picture.height >= WEBP_MIN_PIXELS:
                webp = _webp_lossless(picture)
                if len(webp) * 4 < len(payload) * 3:  # base64 is 4/3 of the bytes
                    kind, payload = "webp", base64.b64encode(webp).decode("ascii")
        size = f' width="{round(width * DPI / dpi)}"' if round(dpi) > DPI else ""
        return f'<img{size} src="data:image/{kind};base64,{payload}"'

    return _DATA_IMG.sub(embedded, html)


def render_html(result: AuditResult, verdict: Verdict | None = None,
                layout: Layout = PAGE) -> str:
    """The whole report as one self-contained HTML document (``layout``: the page, or the
    HTML that the PDF is printed from)."""
    return render_documents(result, verdict, (layout,))[0]


def render_documents(result: AuditResult, verdict: Verdict | None,
                     layouts: tuple[Layout, ...]) -> list[str]:
    """The report's HTML for each layout, its context (figures and all) built once."""
    context = build_context(result, verdict)
    documents = []
    for layout in layouts:
        env = make_environment(layout)
        if too_few(len(result.evaluation.labels)):
            env.filters["ci"] = lambda *_args: NO_CI  # the small-sample rule, for every CI shown
        shown = {**context, "sections": shown_sections(context, layout=layout)}
        parts = render_sections(env, shown)
        html = env.get_template("report.html").render(**shown, parts=parts)
        documents.append(embed_images(drop_dead_links(html) if layout.pdf else html))
    return documents


def data_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses everything but ``data:`` URIs (no network, no files)."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


def render_pdf(html: str) -> bytes:
    """Render the report HTML to PDF bytes with its print stylesheet."""
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=data_only_fetcher()).write_pdf()
