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
)
from reportgen.bias.probes import PROBES
from reportgen.bias.shortcuts import probe_findings


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


def _effects(shift_to: int, share: float, probe_names: list[str],
             reference_share: float | None = None) -> list:
    """Every probe moves ``share`` of 1,000 images from class 0 to ``shift_to``; a reference
    model (when ``reference_share`` is given) moves that share of them the same way."""
    n = 1000
    labels = np.zeros(n, int)
    before = np.zeros(n, int)

    def moved(fraction: float) -> np.ndarray:
        after = np.zeros((len(probe_names), n), int)
        after[:, : int(fraction * n)] = shift_to
        return after

    probes = [PROBES[name] for name in probe_names]
    reference = None if reference_share is None else (before, moved(reference_share))
    return measure_effects(probes, before, moved(share), labels, 7, seed=0, reference=reference)


def test_probe_findings_known_answer() -> None:
    effects = _effects(4, 0.10, ["brightness_x0.6", "brightness_x0.8", "occlude_eyes"])
    assert effects[0].rate_change[4] == pytest.approx(10.0)
    assert effects[0].flip_rate == pytest.approx(0.10)
    assert effects[0].accuracy_change == pytest.approx(-10.0)
    findings = probe_findings(effects, ["a", "b", "c", "d", "sad", "f", "g"])
    by_id = {f.id: f for f in findings}
    assert set(by_id) == {"darkening-sad", "eye_occlusion-sad"}  # one per mechanism and class
    dark = by_id["darkening-sad"]
    assert dark.severity is Severity.CRITICAL and dark.ci_low > DOUBLING_CI_LOW_PP
    assert dark.text.startswith("Dark-tone shortcut toward 'sad'. Darkening images by 40%")
    assert "0.0% to 10.0%" in dark.text
    assert "Dose–response: whole image: ×0.8 +10.0 pp; ×0.6 +10.0 pp" in dark.text
    # every 'sad' prediction after the edit is new: the conditional statement holds
    assert "100% of this model's 'sad' predictions on the edited images" in dark.text
    assert [p["probe"] for p in dark.support] == ["brightness_x0.6", "brightness_x0.8"]
    assert by_id["eye_occlusion-sad"].severity is Severity.INFO  # evidence probes stay info


def test_one_finding_per_mechanism_across_families() -> None:
    effects = _effects(4, 0.30, ["brightness_x0.6", "gamma_1.5", "periphery_x0.35"])
    findings = probe_findings(effects, list("abcdsfg"))
    assert [f.id for f in findings] == ["darkening-s"]
    # the background-only edit is as strong as the whole-image one: it carries the effect
    assert findings[0].text.startswith("Dark-background shortcut")
    assert "The background alone carries it" in findings[0].text


def test_extreme_strengths_count_one_level_lower() -> None:
    (finding,) = probe_findings(_effects(4, 0.30, ["brightness_x0.2"]), list("abcdsfg"))
    assert finding.severity is Severity.WARNING  # +30 pp would be critical at a natural strength


def test_reference_decides_severity() -> None:
    names = list("abcdsfg")
    (shared,) = probe_findings(_effects(4, 0.30, ["brightness_x0.6"], reference_share=0.30), names)
    assert shared.severity is Severity.INFO and shared.shared is True
    assert shared.specific == pytest.approx(0.0)
    assert "shared with a clean reference model (+30.0 pp there): likely in the data" in shared.text
    (own,) = probe_findings(_effects(4, 0.40, ["brightness_x0.6"], reference_share=0.05), names)
    assert own.severity is Severity.CRITICAL and own.shared is False
    assert own.specific == pytest.approx(35.0)
    assert "specific to this model (+35.0 pp beyond the reference model" in own.text
    assert own.to_summary()["specific"] == pytest.approx(35.0)


def test_no_finding_without_an_effect() -> None:
    effects = _effects(4, 0.0, ["brightness_x0.6", "blur"])
    assert probe_findings(effects, list("abcdefg")) == []
