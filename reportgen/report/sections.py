"""The report's sections, written once: the contents (screen and print) and the body are both
built from ``SECTIONS``.

A section marked ``appendix`` holds detail a deciding reader does not need (case cards, the
full probe table, per-method galleries): the HTML always shows it, the PDF only with
``--pdf-appendix`` (``Layout.appendix``), so the PDF stays about a dozen pages.
"""

from __future__ import annotations

import html as html_escape
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment
from markupsafe import Markup


@dataclass(frozen=True)
class Section:
    """One top-level report section: its anchor, its title in the table of contents, its
    partial, the context key it needs (the section is left out when that key is empty), and
    whether it is detail that the PDF prints only in its appendix."""

    id: str
    title: str
    template: str
    needs: str | None = None
    appendix: bool = False
    pdf_only: bool = False  # a printed stand-in for what the page does with JavaScript

    def shown(self, context: dict[str, Any]) -> bool:
        return self.needs is None or bool(context.get(self.needs))


@dataclass(frozen=True)
class Layout:
    """Which document a rendering is for: the HTML page, or the PDF (with or without its
    appendix of detail sections)."""

    pdf: bool = False
    appendix: bool = True

    def includes(self, section: Section) -> bool:
        if section.pdf_only:
            return self.pdf
        return not (self.pdf and section.appendix and not self.appendix)


PAGE = Layout()  # the HTML page: every section


# The one list of sections: the table of contents and the body are both built from it.
SECTIONS: tuple[Section, ...] = (
    Section("brief", "Brief", "sections/brief.html"),
    Section("summary", "Summary", "sections/summary.html"),
    Section("model-data", "Model and data", "sections/model_data.html"),
    Section("performance", "Performance", "sections/performance.html"),
    Section("confusions", "Confusions", "sections/confusions.html"),
    Section("shortcuts", "Shortcuts and biases", "sections/bias.html", needs="bias"),
    Section("explanations-brief", "Explanations in brief", "sections/explain_brief.html",
            needs="quality"),
    Section("comparison", "Comparison with baseline", "sections/comparison.html",
            needs="comparison"),
    Section("hygiene", "Dataset hygiene", "sections/hygiene.html", needs="hygiene"),
    Section("cases-by-class", "Cases by predicted class", "sections/cases_by_class.html",
            needs="cases_by_pred", pdf_only=True),
    Section("glossary", "Glossary and method notes", "sections/glossary.html"),
    Section("shortcut-details", "Shortcut details", "sections/bias_details.html", needs="bias",
            appendix=True),
    Section("search", "Searched triggers", "sections/search.html", needs="search", appendix=True),
    Section("cases", "Case galleries", "sections/cases.html", appendix=True),
    Section("attributions", "Explanations", "sections/attributions.html", needs="attr",
            appendix=True),
    Section("quality", "Which explanations to trust", "sections/quality.html", needs="quality",
            appendix=True),
    Section("appendix", "Appendix", "sections/appendix.html"),
)


def shown_sections(context: dict[str, Any], sections: tuple[Section, ...] = SECTIONS,
                   layout: Layout = PAGE) -> list[Section]:
    """The sections this result has, in report order, that the layout prints."""
    return [s for s in sections if s.shown(context) and layout.includes(s)]


_H3 = re.compile(r"<h3(?P<attrs>[^>]*)>(?P<inner>.*?)</h3>", re.DOTALL)
_ID = re.compile(r'\bid="([^"]+)"')


@dataclass(frozen=True)
class RenderedSection:
    """A section's HTML, with (anchor, title) of each of its subsections for the contents."""

    section: Section
    html: Markup
    subsections: list[tuple[str, str]]


def _plain_text(fragment: str) -> str:
    """Heading text without its tags or its small print (e.g. "(12 eligible)")."""
    fragment = re.sub(r'<span class="caption">.*?</span>', "", fragment, flags=re.DOTALL)
    return html_escape.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "part"


def anchor_subsections(section: Section, html: str) -> tuple[str, list[tuple[str, str]]]:
    """Give every ``<h3>`` of a section an id (``<section id>-<slug of its text>`` unless it
    has one) and list them, so each subsection can be linked to and is in the contents."""
    found: list[tuple[str, str]] = []
    used: set[str] = set()

    def anchor(match: re.Match[str]) -> str:
        attrs, inner = match["attrs"], match["inner"]
        title = _plain_text(inner)
        given = _ID.search(attrs)
        anchor_id = given.group(1) if given else f"{section.id}-{_slug(title)}"
        while anchor_id in used:
            anchor_id += "-2"
        used.add(anchor_id)
        found.append((anchor_id, title))
        if given:
            return match[0]
        return f'<h3 id="{anchor_id}"{attrs}>{inner}</h3>'

    return _H3.sub(anchor, html), found


def render_sections(env: Environment, context: dict[str, Any]) -> list[RenderedSection]:
    """Each shown section rendered alone, its subsections anchored."""
    rendered = []
    for section in context["sections"]:
        html, subsections = anchor_subsections(
            section, env.get_template(section.template).render(**context))
        rendered.append(RenderedSection(section, Markup(html), subsections))
    return rendered


_LINK = re.compile(r'<a(?P<attrs>[^>]*?)\shref="#(?P<target>[^"]+)"(?P<rest>[^>]*)>(?P<text>.*?)</a>',
                   re.DOTALL)


def drop_dead_links(html: str) -> str:
    """Internal links whose target is not in the document (a section the PDF leaves out)
    become plain text, so no link in the PDF leads nowhere."""
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    return _LINK.sub(lambda m: m[0] if m["target"] in ids else m["text"], html)
