"""The HTML report in a real browser: Debian's chromium driven by Playwright.

The report is built from the tiny brightness model on 56 demo images, so the page is small
and the module takes seconds. Skipped, with the reason, when chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"chromium is not installed ({CHROMIUM}); apt-get install -y chromium",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_model_path, small_csv) -> tuple[Path, dict]:
    """(report.html, summary) of an audit of the tiny model with two attribution methods."""
    from reportgen.gating.verdict import Verdict
    from reportgen.pipeline import run_audit
    from reportgen.progress import Reporter
    from reportgen.report.render import render_html
    from reportgen.report.summary import build_summary
    from reportgen.result import AuditOptions

    options = AuditOptions(model_path=tiny_model_path, data_path=small_csv,
                           methods=("saliency", "gradcam"))
    with Reporter(True) as reporter:
        result = run_audit(options, reporter)
    path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(render_html(result, Verdict()), encoding="utf-8")
    return path, json.loads(json.dumps(build_summary(result), default=str))


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _open(browser, path: Path, width: int = 1400, javascript: bool = True):
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  java_script_enabled=javascript)
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, errors, requests


def test_no_console_errors_and_no_request_but_the_file(browser, report):
    path, _ = report
    page, errors, requests = _open(browser, path)
    page.mouse.wheel(0, 3000)  # the scroll handler runs too
    page.wait_for_timeout(100)
    assert errors == []
    assert requests == [path.as_uri()]
    page.context.close()


def test_each_contents_link_scrolls_to_its_target(browser, report):
    path, _ = report
    page, _, _ = _open(browser, path)
    hrefs = page.eval_on_selector_all("nav.toc a", "links => links.map(a => a.getAttribute('href'))")
    assert {"#summary", "#performance", "#cases", "#cases-explorer", "#appendix"} <= set(hrefs)
    for href in hrefs:
        page.click(f"nav.toc a[href='{href}']")
        top = page.evaluate(f"document.getElementById({href[1:]!r}).getBoundingClientRect().top")
        bottom_reached = page.evaluate(
            "window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2")
        assert -2 <= top <= 40 or bottom_reached, (href, top)
    page.context.close()


def test_filtering_by_class_shows_exactly_its_cases(browser, report):
    path, summary = report
    page, _, _ = _open(browser, path)
    cases = summary["cases"]
    assert page.locator("#cases-grid article.case").count() == len(cases)
    by_true, by_pred = Counter(c["true"] for c in cases), Counter(c["pred"] for c in cases)
    for name in summary["data"]["class_names"]:
        page.select_option("#explorer-controls select[name=true]", name)
        visible = page.locator("#cases-grid article.case:visible")
        assert visible.count() == by_true[name], name
        assert set(visible.evaluate_all("cards => cards.map(c => c.dataset.true)")) <= {name}
        assert str(by_true[name]) in page.inner_text("#explorer-count")
    page.select_option("#explorer-controls select[name=true]", "")
    for name in summary["data"]["class_names"]:
        page.select_option("#explorer-controls select[name=pred]", name)
        assert page.locator("#cases-grid article.case:visible").count() == by_pred[name], name
    page.context.close()


def test_method_toggle_hides_that_method_everywhere(browser, report):
    path, summary = report
    page, _, _ = _open(browser, path)
    views = page.locator("#cases-grid .view[data-view=saliency]")
    assert views.count() == len(summary["cases"])
    page.uncheck("#explorer-controls input[value=saliency]")
    assert page.locator("#cases-grid .view[data-view=saliency]:visible").count() == 0
    assert page.locator("#cases-grid .view[data-view=gradcam]:visible").count() == len(summary["cases"])
    page.context.close()


def test_clicking_a_map_enlarges_it_with_the_probabilities(browser, report):
    path, summary = report
    page, errors, _ = _open(browser, path)
    assert not page.is_visible("#case-zoom")
    page.click("#case-0 .view[data-view=gradcam] img")
    assert page.is_visible("#case-zoom")
    zoomed = page.locator("#case-zoom .zoom-body img")
    assert zoomed.count() == 1 and zoomed.bounding_box()["width"] > 200
    assert page.locator("#case-zoom table.probs tr").count() == len(summary["data"]["class_names"])
    page.keyboard.press("Escape")
    assert not page.is_visible("#case-zoom")
    assert errors == []
    page.context.close()


def test_sortable_table_sorts_by_a_column(browser, report):
    path, _ = report
    page, _, _ = _open(browser, path)
    page.click("#per-class-table thead th:nth-child(6)")  # support
    first = page.eval_on_selector_all(
        "#per-class-table tbody tr", "rows => rows.map(r => r.cells[5].textContent.replace(/,/g, ''))")
    assert [float(v) for v in first] == sorted(float(v) for v in first)
    page.click("#per-class-table thead th:nth-child(6)")
    again = page.eval_on_selector_all(
        "#per-class-table tbody tr", "rows => rows.map(r => r.cells[5].textContent.replace(/,/g, ''))")
    assert [float(v) for v in again] == sorted((float(v) for v in first), reverse=True)
    page.context.close()


def test_without_javascript_every_case_is_visible(browser, report):
    path, summary = report
    page, errors, requests = _open(browser, path, javascript=False)
    assert page.locator("#cases-grid article.case:visible").count() == len(summary["cases"])
    assert page.locator("#cases-grid .view:visible").count() == 3 * len(summary["cases"])
    assert not page.is_visible("#explorer-controls")  # controls that could do nothing
    assert requests == [path.as_uri()]
    page.context.close()
    assert errors == []


@pytest.mark.parametrize("width", [1400, 390])
def test_full_page_screenshots(browser, report, width, tmp_path):
    """Full-page screenshots at desktop and phone widths (written to tmp_path, to look at);
    the page never scrolls sideways."""
    path, _ = report
    page, _, _ = _open(browser, path, width=width)
    page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1
    page.context.close()
