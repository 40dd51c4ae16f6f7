"""Evaluating a policy against known summaries: each check passes and fails where it should."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from rich.console import Console

from reportgen.errors import InputError
from reportgen.gating.checks import CHECKS, metric_bound
from reportgen.gating.limits import Check, CheckSpec, RecallLimits
from reportgen.gating.policy import Policy, parse_policy
from reportgen.gating.table import print_checks
from reportgen.gating.verdict import all_passed, evaluate_checks


def run(limits: dict[str, Any], summary: dict, baseline: dict | None = None, use_ci: bool = False):
    policy = Policy(limits=limits, use_ci=use_ci, source="gate.toml")
    return {check.name: check for check in evaluate_checks(policy, summary, baseline)}


@pytest.mark.parametrize(
    ("key", "metric", "value", "passing", "failing"),
    [
        ("min_accuracy", "accuracy", 0.60, 0.55, 0.65),
        ("min_balanced_accuracy", "balanced_accuracy", 0.51, 0.45, 0.55),
        ("min_macro_f1", "macro_f1", 0.50, 0.50, 0.51),
        ("min_top2_accuracy", "top2_accuracy", 0.78, 0.70, 0.80),
        ("max_ece", "ece", 0.05, 0.05, 0.04),
    ],
)
def test_metric_thresholds(make_summary, key, metric, value, passing, failing) -> None:
    summary = make_summary(**{metric: value})
    passed = run({key: passing}, summary)[key]
    failed = run({key: failing}, summary)[key]
    assert passed == Check(key, value, passing, True, passed.detail)
    assert failed.passed is False and failed.value == value and failed.threshold == failing
    assert metric in failed.detail


def test_use_ci_compares_the_favourable_bound(make_summary) -> None:
    summary = make_summary(accuracy=0.53, accuracy_ci=(0.50, 0.56), ece=0.17, ece_ci=(0.12, 0.20))
    limits = {"min_accuracy": 0.55, "max_ece": 0.15}
    point = run(limits, summary)
    bound = run(limits, summary, use_ci=True)
    assert not point["min_accuracy"].passed and not point["max_ece"].passed
    assert bound["min_accuracy"].passed and bound["min_accuracy"].value == 0.56
    assert bound["max_ece"].passed and bound["max_ece"].value == 0.12
    assert "upper CI bound" in bound["min_accuracy"].detail
    # Even the optimistic bound can fail.
    assert not run({"min_accuracy": 0.57}, summary, use_ci=True)["min_accuracy"].passed


def test_use_ci_without_a_ci_falls_back_to_the_point(make_summary) -> None:
    summary = make_summary(accuracy=0.53, accuracy_ci=None)
    check = run({"min_accuracy": 0.55}, summary, use_ci=True)["min_accuracy"]
    assert check.value == 0.53 and not check.passed and "point estimate used" in check.detail


def test_nan_or_missing_metric_fails_closed(make_summary) -> None:
    summary = make_summary(accuracy=float("nan"))
    check = run({"min_accuracy": 0.0}, summary)["min_accuracy"]
    assert not check.passed and math.isnan(check.value)
    assert check.to_summary()["value"] is None
    del summary["metrics"]["ece"]
    missing = run({"max_ece": 1.0}, summary)["max_ece"]
    assert not missing.passed and missing.value is None and "missing" in missing.detail


def test_min_recall_default_and_per_class(make_summary) -> None:
    # Recalls: angry .5, disgust .1, fear .4, happy .8, sad .5, surprise .7, neutral .6
    checks = run({"min_recall": RecallLimits(0.45, {"disgust": 0.0, "happy": 0.9})}, make_summary())
    assert list(checks) == [f"min_recall[{c}]" for c in
                            ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")]
    failed = {name for name, check in checks.items() if not check.passed}
    assert failed == {"min_recall[fear]", "min_recall[happy]"}
    assert checks["min_recall[disgust]"].threshold == 0.0
    assert checks["min_recall[happy]"].threshold == 0.9


def test_min_recall_without_default_checks_named_classes_only(make_summary) -> None:
    checks = run({"min_recall": RecallLimits(None, {"fear": 0.42})}, make_summary())
    assert list(checks) == ["min_recall[fear]"]
    assert not checks["min_recall[fear]"].passed
    assert run({"min_recall": RecallLimits(None, {"fear": 0.42})}, make_summary(), use_ci=True)[
        "min_recall[fear]"
    ].passed  # recall CI [0.35, 0.45]


def test_min_recall_unknown_class_is_an_input_error(make_summary) -> None:
    with pytest.raises(InputError, match=r"gate\.toml: min_recall\.digust: no class named"):
        run({"min_recall": RecallLimits(0.1, {"digust": 0.0})}, make_summary())


def test_min_recall_class_without_images_is_skipped(make_summary) -> None:
    summary = make_summary(supports=[100, 0, 100, 100, 100, 100, 100])
    check = run({"min_recall": RecallLimits(0.5)}, summary)["min_recall[disgust]"]
    assert check.passed and check.value is None and "no images" in check.detail


@pytest.mark.parametrize(
    ("limit", "severities", "passed", "value"),
    [
        ("warning", ["info", "warning"], True, "warning"),
        ("warning", ["info", "critical"], False, "critical"),
        ("info", ["info", "warning"], False, "warning"),
        ("critical", ["critical"], True, "critical"),
        ("info", [], True, "none"),
    ],
)
def test_max_bias_severity(make_summary, make_finding, limit, severities, passed, value) -> None:
    findings = [make_finding(class_name=f"c{i}", severity=s) for i, s in enumerate(severities)]
    check = run({"max_bias_severity": limit}, make_summary(findings=findings))["max_bias_severity"]
    assert (check.passed, check.value, check.threshold) == (passed, value, limit)


def test_bias_checks_fail_closed_without_a_bias_section(make_summary) -> None:
    limits = {"max_bias_severity": "critical", "max_probe_effect": 50.0,
              "max_bias_effect_growth": 50.0}
    checks = run(limits, make_summary(bias=False), make_summary())
    assert len(checks) == 3 and not any(check.passed for check in checks.values())


def test_max_probe_effect(make_summary, make_probe, make_finding) -> None:
    # happy's rate falls from 30% to 10% under the probe: a -20 pp effect.
    probes = [make_probe("blur", {"happy": 0.30, "sad": 0.10}, {"happy": 0.10, "sad": 0.25})]
    summary = make_summary(probes=probes)
    assert not run({"max_probe_effect": 15.0}, summary)["max_probe_effect"].passed
    check = run({"max_probe_effect": 25.0}, summary)["max_probe_effect"]
    assert check.passed and check.value == pytest.approx(20.0)
    assert "blur → happy" in check.detail
    # A finding whose CI spans 0 has a favourable |effect| of 0 under use_ci.
    noisy = make_summary(findings=[make_finding(effect=-30.0, ci=(-40.0, 2.0))])
    assert not run({"max_probe_effect": 25.0}, noisy)["max_probe_effect"].passed
    lenient = run({"max_probe_effect": 25.0}, noisy, use_ci=True)["max_probe_effect"]
    assert lenient.passed and lenient.value == 0.0


def test_max_probe_effect_judges_the_part_beyond_the_reference(make_summary, make_probe,
                                                               make_finding) -> None:
    # blur moves 'sad' +40 pp in this model, +38 pp of it also in the clean reference model.
    probe = make_probe("blur", {"sad": 0.10}, {"sad": 0.50})
    probe["specific_pp"] = {"sad": {"effect": 2.0, "ci_low": -1.0, "ci_high": 5.0}}
    finding = make_finding(effect=40.0, ci=(35.0, 45.0))
    finding |= {"probe": "blur", "class": "sad", "specific": 2.0, "specific_ci": [-1.0, 5.0]}
    summary = make_summary(probes=[probe], findings=[finding])
    assert not run({"max_probe_effect": 25.0}, summary)["max_probe_effect"].passed
    summary["bias"]["reference"] = {"path": "fer_cnn.keras", "same_as_model": False}
    check = run({"max_probe_effect": 25.0}, summary)["max_probe_effect"]
    assert check.passed and check.value == pytest.approx(2.0)
    assert "beyond the reference model" in check.detail


def test_baseline_keys_without_a_baseline_are_skipped_not_failed(make_summary) -> None:
    limits = {"min_accuracy": 0.5, "max_accuracy_drop": 0.01, "max_recall_drop": 0.05}
    checks = run(limits, make_summary(accuracy=0.4))
    assert list(checks) == ["min_accuracy", "max_accuracy_drop", "max_recall_drop"]
    assert not checks["min_accuracy"].passed and not checks["min_accuracy"].skipped
    for name in ("max_accuracy_drop", "max_recall_drop"):
        assert checks[name].skipped and checks[name].passed and checks[name].value is None
        assert "--baseline" in checks[name].detail
        assert checks[name].to_summary()["skipped"] is True
    policy = Policy(limits=limits, source="gate.toml")
    assert policy.skipped_without_baseline(None) == ["max_accuracy_drop", "max_recall_drop"]
    assert policy.skipped_without_baseline(make_summary()) == []


def test_max_accuracy_drop(make_summary) -> None:
    baseline = make_summary(accuracy=0.62)
    candidate = make_summary(accuracy=0.60, accuracy_ci=(0.57, 0.63))
    failed = run({"max_accuracy_drop": 0.01}, candidate, baseline)["max_accuracy_drop"]
    assert not failed.passed and failed.value == pytest.approx(0.02)
    assert run({"max_accuracy_drop": 0.03}, candidate, baseline)["max_accuracy_drop"].passed
    lenient = run({"max_accuracy_drop": 0.01}, candidate, baseline, use_ci=True)
    assert lenient["max_accuracy_drop"].passed
    assert lenient["max_accuracy_drop"].value == pytest.approx(-0.01)  # 0.62 − upper 0.63


def test_max_recall_drop_checks_every_class(make_summary) -> None:
    baseline = make_summary()
    candidate = make_summary(recalls={"fear": 0.30})  # fear: 0.40 → 0.30
    checks = run({"max_recall_drop": 0.05}, candidate, baseline)
    assert len(checks) == 7
    assert [n for n, c in checks.items() if not c.passed] == ["max_recall_drop[fear]"]
    assert checks["max_recall_drop[fear]"].value == pytest.approx(0.10)
    # Candidate's upper bound 0.35 against the baseline's 0.40: a 0.05 drop, allowed.
    assert run({"max_recall_drop": 0.05}, candidate, baseline, use_ci=True)[
        "max_recall_drop[fear]"
    ].passed


def test_recall_drop_of_a_class_without_images_is_skipped(make_summary) -> None:
    candidate = make_summary(supports=[100, 0, 100, 100, 100, 100, 100])
    checks = run({"max_recall_drop": 0.05}, candidate, make_summary())
    skipped = checks["max_recall_drop[disgust]"]
    assert skipped.passed and skipped.value is None


def test_max_bias_effect_growth(make_summary, make_probe, make_finding) -> None:
    baseline = make_summary(probes=[make_probe("blur", {"happy": 0.30}, {"happy": 0.25})])
    candidate = make_summary(probes=[make_probe("blur", {"happy": 0.30}, {"happy": 0.18})])
    check = run({"max_bias_effect_growth": 5.0}, candidate, baseline)["max_bias_effect_growth"]
    assert not check.passed and check.value == pytest.approx(7.0)  # |−12| − |−5|
    assert run({"max_bias_effect_growth": 8.0}, candidate, baseline)[
        "max_bias_effect_growth"
    ].passed
    # A finding absent from the baseline grows from 0; under use_ci, from its CI bound.
    shortcut = make_summary(findings=[make_finding("glasses", "angry", 9.0, (6.0, 12.0))])
    new = run({"max_bias_effect_growth": 8.0}, shortcut, make_summary())["max_bias_effect_growth"]
    assert not new.passed and new.value == 9.0 and "new in the candidate" in new.detail
    lenient = run({"max_bias_effect_growth": 8.0}, shortcut, make_summary(), use_ci=True)
    assert lenient["max_bias_effect_growth"].value == 6.0


def test_checks_follow_registry_order_and_serialise(make_summary) -> None:
    limits = {"max_ece": 0.1, "min_accuracy": 0.5, "max_accuracy_drop": 0.5}
    checks = evaluate_checks(Policy(limits=limits), make_summary(), make_summary())
    assert [c.name for c in checks] == ["min_accuracy", "max_ece", "max_accuracy_drop"]
    records = json.loads(json.dumps([c.to_summary() for c in checks], allow_nan=False))
    assert set(records[0]) >= {"name", "value", "threshold", "passed"}
    assert all_passed(checks) and not all_passed([*checks, Check("x", 1.0, 0.0, False)])


def test_a_new_check_is_one_registry_entry(monkeypatch, make_summary) -> None:
    evaluate = metric_bound("quality.deletion_score", at_least=True)
    spec = CheckSpec("thresholds", "fraction", evaluate)
    monkeypatch.setitem(CHECKS, "min_deletion_score", spec)
    policy = parse_policy({"thresholds": {"min_deletion_score": 0.3}}, "gate.toml")
    summary = make_summary() | {"quality": {"deletion_score": 0.25,
                                            "deletion_score_ci": [0.2, 0.35]}}
    assert not evaluate_checks(policy, summary)[0].passed
    assert evaluate_checks(Policy(policy.limits, use_ci=True), summary)[0].passed


def test_print_checks_table() -> None:
    checks = [
        Check("min_accuracy", 0.612, 0.55, True, "accuracy 0.612 >= 0.55"),
        Check("min_recall[disgust]", 0.05, 0.1, False, "disgust recall 0.05 < 0.1"),
        Check("min_recall[fear]", None, 0.1, True, "no images of this class in the split"),
    ]
    console = Console(record=True, width=200, color_system=None)
    print_checks(checks, console)
    text = console.export_text()
    assert "min_recall[disgust]" in text and "FAIL" in text and "SKIP" in text
    assert "1 of 2 checks passed (1 skipped)" in text and "FAILED: min_recall[disgust]" in text
    print_checks([], console)
    assert "No policy checks" in console.export_text()


def test_attribution_checks_are_skipped_in_gate_and_fail_closed_in_audit(make_summary) -> None:
    limits = {"min_faithfulness": RecallLimits(default=0.0), "require_sanity_pass": True}
    gate = run(limits, make_summary() | {"command": "gate"})
    assert all(check.skipped and "gate computes no attributions" in check.detail
               for check in gate.values()) and len(gate) == 2
    assert Policy(limits=limits).skipped_in_gate() == ["min_faithfulness", "require_sanity_pass"]
    audit = run(limits, make_summary() | {"command": "audit"})  # e.g. --methods none
    assert len(audit) == 2 and not any(check.passed for check in audit.values())


def test_skipped_checks_show_their_limit_readably(make_summary) -> None:
    limits = {"min_faithfulness": RecallLimits(default=0.02, per_class={"lime": 0.05}),
              "require_sanity_pass": True, "max_recall_drop": 0.05}
    checks = run(limits, make_summary() | {"command": "gate"})
    assert [c.threshold for c in checks.values()] == ["default 0.02, lime 0.05", "pass", 0.05]
    only_default = run({"min_faithfulness": RecallLimits(default=0.0)}, {"command": "gate"})
    assert only_default["min_faithfulness"].threshold == 0.0
