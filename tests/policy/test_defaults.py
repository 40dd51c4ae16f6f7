"""The policy in force when none is given: the shipped default, and the forms a policy takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.errors import InputError
from reportgen.gating.defaults import (
    DEFAULT_SOURCE,
    choose_policy,
    default_policy,
    default_policy_path,
    resolve_policy,
)
from reportgen.gating.policy import Policy, parse_policy
from reportgen.gating.verdict import NO_METHODS, judge
from reportgen.report.summary import with_verdict


def test_the_default_ships_in_the_package_and_sets_the_three_guards():
    assert default_policy_path().is_file()
    assert "reportgen/policies/default.toml" in default_policy_path().as_posix()
    policy = default_policy()
    assert policy.default and policy.source == DEFAULT_SOURCE
    assert dict(policy.limits) == {"min_accuracy": 0.40, "max_bias_severity": "warning",
                                   "require_sanity_pass": True}
    assert policy.name == f"the default policy ({DEFAULT_SOURCE})"


def test_every_form_of_a_policy(write_policy):
    assert choose_policy(None) == choose_policy("default") == default_policy()
    assert choose_policy("none") is None
    path = write_policy("[thresholds]\nmin_accuracy = 0.5\n")
    assert choose_policy(path) == path and choose_policy(str(path)) == path
    assert resolve_policy(path).limits == {"min_accuracy": 0.5}
    assert choose_policy("./none") == Path("none")  # a file named none, given as a path
    given = {"thresholds": {"min_accuracy": 0.7}, "options": {"use_ci": True}}
    from_dict = choose_policy(given)
    assert from_dict == Policy({"min_accuracy": 0.7}, use_ci=True, source="policy dict")
    assert choose_policy(from_dict) is from_dict
    with pytest.raises(InputError, match="policy dict: unknown key thresholds.min_acuracy"):
        choose_policy({"thresholds": {"min_acuracy": 0.7}})
    with pytest.raises(InputError, match="expected a path, a dict"):
        choose_policy(0.5)


def test_the_default_fails_a_critical_finding_and_a_low_accuracy(make_summary, make_finding):
    policy = default_policy()
    gate = {"command": "gate"}
    clean = judge(make_summary(accuracy=0.58) | gate, policy, None)
    assert clean.passed and clean.policy is policy
    assert [c.name for c in clean.checks] == ["min_accuracy", "max_bias_severity",
                                              "require_sanity_pass"]
    assert clean.checks[-1].skipped  # gate computes no attributions
    critical = make_summary(findings=[make_finding(severity="critical")]) | gate
    assert [c.name for c in judge(critical, policy, None).failed] == ["max_bias_severity"]
    permuted = make_summary(accuracy=0.275) | gate  # labels in alphabetical order
    assert [c.name for c in judge(permuted, policy, None).failed] == ["min_accuracy"]


def test_the_default_fails_a_failed_sanity_check_but_skips_an_audit_without_methods(make_summary):
    policy = default_policy()
    failed = {"command": "audit", "attributions": {"saliency": {"n_images": 3}},
              "quality": {"methods": {"saliency": {"sanity": {"passed": False, "spearman": 0.9}}}}}
    verdict = judge(make_summary() | failed, policy, None)
    assert [c.name for c in verdict.failed] == ["require_sanity_pass"]
    no_methods = judge(make_summary() | {"command": "audit", "attributions": {}}, policy, None)
    sanity = no_methods.checks[-1]
    assert no_methods.passed and sanity.skipped and sanity.detail == NO_METHODS
    # A policy file that asks for the check still fails closed without methods.
    asked = parse_policy({"thresholds": {"require_sanity_pass": True}}, "policy.toml")
    assert not judge(make_summary() | {"command": "audit", "attributions": {}}, asked, None).passed


def test_the_summary_and_the_json_verdict_name_the_policy(make_summary):
    summary = make_summary() | {"command": "gate"}
    completed = with_verdict(summary, judge(summary, default_policy(), None), {})
    assert completed["policy"]["source"] == DEFAULT_SOURCE and completed["policy"]["default"]
    assert completed["policy"]["limits"]["min_accuracy"] == 0.40
    off = judge(summary, None, None)
    assert with_verdict(summary, off, {})["policy"] is None and off.policy_name == "none"
    line = judge(summary, default_policy(), None).to_summary()
    assert line["passed"] and line["failed"] == [] and line["policy"]["default"]
    assert line["checks"][0]["name"] == "min_accuracy"
