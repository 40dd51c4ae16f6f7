"""The brief (page 1), the layered findings, the PDF's layout and every internal link.

One audit of the tiny brightness model on 56 demo images (a few seconds), rendered as the
HTML page and as the PDF's HTML, and printed once.
"""

from __future__ import annotations

import io
import json
import re

import jsonschema
import pytest

from reportgen.gating.verdict import Verdict


@pytest.fixture(scope="module")
def audited(tiny_model_path, small_csv):
    """The tiny model's audit result (no attribution methods: the brief must not need them)."""
    from reportgen.pipeline import run_audit
    from reportgen.progress import Reporter
    from reportgen.result import AuditOptions

    options = AuditOptions(model_path=tiny_model_path, data_path=small_csv, methods=())
    with Reporter(True) as reporter:
        return run_audit(options, reporter)


@pytest.fixture(scope="module")
def documents(audited) -> tuple[str, str]:
    """(the HTML page, the HTML the PDF is printed from), with no policy in force."""
    from reportgen.report.render import Layout, render_documents

    page, printed = render_documents(audited, Verdict(), (Layout(), Layout(pdf=True, appendix=False)))
    return page, printed


@pytest.fixture(scope="module")
def pdf(documents) -> bytes:
    from reportgen.report.render import render_pdf

    return render_pdf(documents[1])


def _targets(html: str) -> tuple[set[str], list[str]]:
    return set(re.findall(r'\bid="([^"]+)"', html)), re.findall(r'href="#([^"]*)"', html)


@pytest.mark.parametrize("which", [0, 1], ids=["page", "pdf-html"])
def test_every_internal_link_resolves(documents, which) -> None:
    ids, links = _targets(documents[which])
    assert links, "the report has internal links"
    assert sorted({link for link in links if link not in ids}) == []


def test_brief_comes_first_with_a_verdict_even_without_a_policy(documents, audited) -> None:
    page = documents[0]
    for html in documents:
        body = html[html.index("<main>"):]
        assert body.index('id="brief"') < body.index('id="summary"')
    assert re.search(r'<p class="verdict (do-not-ship|check-first|no-shortcut)">[^<]+</p>', page)
    assert "No policy was applied" in page and 'href="#glossary"' in page
    assert 'id="glossary"' in page and "Sink class" in page and "ECE" in page


def test_pdf_leaves_the_detail_sections_to_the_html(documents) -> None:
    page, printed = documents
    assert 'id="cases-explorer"' in page and 'id="probe-table"' in page
    assert 'id="cases-explorer"' not in printed and 'id="probe-table"' not in printed
    assert 'class="print-toc"' in printed and 'class="print-toc"' not in page


def test_pdf_links_land_on_the_filtered_case_list(pdf, audited) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    named = reader.named_destinations
    dests = [str(annot.get_object()["/Dest"]) for p in reader.pages
             for annot in p.get("/Annots") or [] if "/Dest" in annot.get_object()]
    assert dests and all(d in named for d in dests)
    case_links = [d for d in dests if d.startswith("cases-pred-")]
    assert case_links, "findings link to the cases of their class"
    assert not any(d in ("cases-explorer", "cases") for d in dests)
    for dest in set(case_links):
        page = reader.pages[reader.get_destination_page_number(named[dest])]
        assert f"Cases predicted '{dest.removeprefix('cases-pred-')}'" in page.extract_text()


def test_key_statements_in_the_summary_follow_the_schema(audited) -> None:
    from reportgen.report.summary import build_summary, with_verdict
    from reportgen.resources import summary_schema_path

    summary = json.loads(json.dumps(with_verdict(build_summary(audited), Verdict(), {}, audited),
                                    default=str))
    jsonschema.validate(summary, json.loads(summary_schema_path().read_text()))
    statements = summary["key_statements"]
    assert statements["verdict"] and statements["level"] in ("do-not-ship", "check-first", "no-shortcut")
    assert len(statements["actions"]) == len(statements["headline_findings"]) <= 3


def test_no_absolute_image_paths_or_code_names_in_the_brief(documents) -> None:
    brief = documents[1][documents[1].index('id="brief"'):documents[1].index('class="print-toc"')]
    assert "/tmp/" not in brief and "brightness_x" not in brief


def test_probe_table_says_how_many_images_decided_each_probe(documents, audited) -> None:
    page = documents[0]
    run = audited.bias.sequential
    assert run is not None and 'id="probe-sequential"' in page
    assert f"{run.evaluations:,} probed images in all" in re.sub(r"\s+", " ", page)
    row = page[page.index('id="probe-table"'):]
    assert "<th>images</th>" in row
