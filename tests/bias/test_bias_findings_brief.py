"""The summary page states a finding without its supporting lists; the section keeps them."""

from __future__ import annotations

from reportgen.bias.findings import Finding
from reportgen.severity import Severity


def _finding(text: str) -> Finding:
    return Finding("x-sad", "x", 4, "sad", text, Severity.WARNING, 10.0, 5.0, 15.0)


def test_brief_drops_the_other_stamps_and_the_dose_response_curve() -> None:
    text = ("Dark-tone shortcut toward 'sad'. 85% of its 'sad' predictions occur only because of "
            "the edit. Dose–response: ×0.8 +4.0 pp | ×0.4 +73.4 pp.")
    assert _finding(text).brief == ("Dark-tone shortcut toward 'sad'. 85% of its 'sad' predictions "
                                    "occur only because of the edit.")
    stamped = "Patch-trigger shortcut toward 'fear'. Also: a white square at rows 1–3 +40 pp."
    assert _finding(stamped).brief == "Patch-trigger shortcut toward 'fear'."
    assert _finding("Blur shortcut toward 'sad'.").brief == "Blur shortcut toward 'sad'."
