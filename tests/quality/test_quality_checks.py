"""Gate checks over summary["quality"]: min_faithfulness and require_sanity_pass."""

from __future__ import annotations

from typing import Any

import pytest

from reportgen.errors import InputError
from reportgen.gating.limits import Inputs, RecallLimits
from reportgen.gating.quality_checks import min_faithfulness, require_sanity_pass


def summary(**methods: dict[str, Any]) -> dict[str, Any]:
    return {"quality": {"methods": methods}}


def method(faithfulness: float, ci: tuple[float, float], passed: bool | None = True,
           reason: str = "") -> dict[str, Any]:
    sanity = {"passed": passed, "spearman": 0.8 if passed is False else 0.1, "ssim": 0.7,
              "reason": reason}
    return {"faithfulness": faithfulness, "faithfulness_ci": list(ci), "sanity": sanity}


def inputs(data: dict[str, Any], use_ci: bool = False) -> Inputs:
    return Inputs(summary=data, baseline=None, use_ci=use_ci, source="gate.toml")


def test_min_faithfulness_for_every_method() -> None:
    data = summary(lime=method(0.12, (0.08, 0.16)), ig=method(0.01, (-0.01, 0.03)))
    checks = {c.name: c for c in min_faithfulness("min_faithfulness", 0.05, inputs(data))}
    assert checks["min_faithfulness[lime]"].passed
    assert not checks["min_faithfulness[ig]"].passed
    assert checks["min_faithfulness[ig]"].value == 0.01


def test_use_ci_compares_the_upper_bound() -> None:
    data = summary(ig=method(0.01, (-0.01, 0.06)))
    (check,) = min_faithfulness("min_faithfulness", 0.05, inputs(data, use_ci=True))
    assert check.passed and check.value == 0.06


def test_per_method_limits_and_unknown_names() -> None:
    data = summary(lime=method(0.12, (0.08, 0.16)), ig=method(0.01, (-0.01, 0.03)))
    checks = min_faithfulness("min_faithfulness", RecallLimits(None, {"lime": 0.1}), inputs(data))
    assert [c.name for c in checks] == ["min_faithfulness[lime]"]
    table = min_faithfulness("min_faithfulness", {"default": 0.0, "lime": 0.2}, inputs(data))
    assert [c.passed for c in table] == [False, True]
    with pytest.raises(InputError, match="gate.toml: min_faithfulness.shapp"):
        min_faithfulness("min_faithfulness", {"shapp": 0.1}, inputs(data))


def test_missing_quality_fails_closed() -> None:
    (check,) = min_faithfulness("min_faithfulness", 0.05, inputs({}))
    assert not check.passed and check.value is None
    (check,) = require_sanity_pass("require_sanity_pass", True, inputs({}))
    assert not check.passed and "no explanation-quality" in check.detail


def test_require_sanity_pass() -> None:
    good = summary(lime=method(0.1, (0, 0.2)), ig=method(0.1, (0, 0.2)))
    assert require_sanity_pass("require_sanity_pass", True, inputs(good))[0].passed
    assert require_sanity_pass("require_sanity_pass", False, inputs(good)) == []
    bad = summary(lime=method(0.1, (0, 0.2)), gradcam=method(0.1, (0, 0.2), passed=False))
    (check,) = require_sanity_pass("require_sanity_pass", True, inputs(bad))
    assert not check.passed and "gradcam (rank correlation 0.80" in check.detail
    skipped = summary(ig=method(0.1, (0, 0.2), passed=None, reason="bare SavedModel"))
    (check,) = require_sanity_pass("require_sanity_pass", True, inputs(skipped))
    assert not check.passed and "bare SavedModel" in check.detail
