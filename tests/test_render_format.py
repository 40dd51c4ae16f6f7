"""Number formatting in the report: what a reader sees in every table cell and caption."""

from __future__ import annotations

import math

import pytest

from reportgen.report.render import fmt_ci, fmt_num, fmt_pct, fmt_pp


@pytest.mark.parametrize(("value", "want"), [
    (0.1234, "+0.1 pp"), (-0.04, "+0.0 pp"), (-0.06, "-0.1 pp"), (12.345, "+12.3 pp"),
    (math.nan, "–"), (None, "–"),
])
def test_percentage_points_never_show_a_negative_zero(value, want):
    assert fmt_pp(value) == want


def test_percentages_and_numbers():
    assert fmt_pct(0.5968) == "59.7%"
    assert fmt_pct(-1e-6) == "0.0%"
    assert fmt_pct(math.inf) == "–"
    assert fmt_num(3589) == "3,589"
    assert fmt_num(0.07312) == "0.0731"


def test_interval_ends_read_alike():
    assert fmt_ci((0.0647, 0.133)) == "[0.065, 0.133]"
    assert fmt_ci((0.489, 0.591), "pct") == "[48.9%, 59.1%]"
    assert fmt_ci((-0.02, 6.04), "pp") == "[+0.0, +6.0]"
    assert fmt_ci(None) == "–"
    assert fmt_ci((math.nan, 1.0)) == "–"
