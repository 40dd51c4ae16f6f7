"""Severity grading and the rule that a CI including zero is never stated."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.bias.effects import measure_effects
from reportgen.bias.findings import (
    CRITICAL_CI_LOW_PP,
    DOUBLING_CI_LOW_PP,
    WARNING_CI_LOW_PP,
    Severity,
    grade,
    probe_findings,
)
from reportgen.bias.probes import PROBES


@pytest.mark.parametrize(("effect", "low", "before", "expected"), [
    (3.0, -0.1, 10.0, None),  # CI includes zero: never stated
    (0.5, 0.2, 10.0, None),  # below the minimum effect
    (9.0, float("nan"), 10.0, None),
    (1.5, 0.3, 10.0, Severity.INFO),
    (4.0, WARNING_CI_LOW_PP, 10.0, Severity.WARNING),
    (12.0, CRITICAL_CI_LOW_PP, 40.0, Severity.CRITICAL),  # one image in ten, whatever the base
    (8.0, 7.0, 30.0, Severity.WARNING),  # large but diffuse: a common class gains 7 of 30
    (8.0, 7.0, 6.0, Severity.CRITICAL),  # the class's predictions at least double
    (4.0, DOUBLING_CI_LOW_PP - 1, 0.5, Severity.WARNING),  # doubling a rare class needs 5 pp
])
def test_grade(effect: float, low: float, before: float, expected: Severity | None) -> None:
    assert grade(effect, low, rate_before=before) == expected


def test_grade_respects_caps() -> None:
    assert grade(30.0, 20.0, cap=Severity.INFO) is Severity.INFO
    assert grade(30.0, 20.0, cap=Severity.WARNING) is Severity.WARNING


def _effects(shift_to: int, share: float, probe_names: list[str]) -> list:
    """Every probe moves ``share`` of 1,000 images from class 0 to ``shift_to``."""
    n = 1000
    labels = np.zeros(n, int)
    before = np.zeros(n, int)
    after = np.zeros((len(probe_names), n), int)
    after[:, : int(share * n)] = shift_to
    probes = [PROBES[name] for name in probe_names]
    return measure_effects(probes, before, after, labels, 7, seed=0)


def test_probe_findings_known_answer() -> None:
    effects = _effects(4, 0.10, ["brightness_x0.6", "brightness_x0.8", "occlude_eyes"])
    assert effects[0].rate_change[4] == pytest.approx(10.0)
    assert effects[0].flip_rate == pytest.approx(0.10)
    assert effects[0].accuracy_change == pytest.approx(-10.0)
    findings = probe_findings(effects, ["a", "b", "c", "d", "sad", "f", "g"])
    by_id = {f.id: f for f in findings}
    assert set(by_id) == {"darker-sad", "occlude_eyes-sad"}  # one per family and class
    dark = by_id["darker-sad"]
    assert dark.severity is Severity.CRITICAL and dark.ci_low > DOUBLING_CI_LOW_PP
    assert dark.text.startswith("Dark-tone shortcut toward 'sad': darkening images by 40%")
    assert "0.0% to 10.0%" in dark.text and "more than any other class" in dark.text
    assert by_id["occlude_eyes-sad"].severity is Severity.INFO  # evidence probes stay info


def test_no_finding_without_an_effect() -> None:
    effects = _effects(4, 0.0, ["brightness_x0.6", "blur"])
    assert probe_findings(effects, list("abcdefg")) == []
