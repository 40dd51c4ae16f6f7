"""Parsing and validating the TOML gate policy."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from reportgen.errors import InputError
from reportgen.gating.checks import CHECKS
from reportgen.gating.limits import RecallLimits
from reportgen.gating.policy import OPTIONS, Policy, load_policy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policy.toml"


def test_example_policy_loads_and_documents_every_key() -> None:
    policy = load_policy(EXAMPLE)
    text = EXAMPLE.read_text(encoding="utf-8")
    # Audit-only checks are documented commented out, so that `gate` can use the file as it is.
    commented = {key for key in CHECKS if f"# {key} = " in text}
    assert commented == {"min_faithfulness", "require_sanity_pass"}
    assert set(policy.limits) | commented == set(CHECKS)
    sections = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(sections["options"]) == set(OPTIONS)
    assert policy.limits["min_recall"] == RecallLimits(0.20, {"disgust": 0.0})
    assert policy.limits["max_bias_severity"] == "warning"
    assert policy.use_ci is False


def test_contract_example_loads(write_policy) -> None:
    path = write_policy(
        """
[thresholds]
min_accuracy = 0.55
min_balanced_accuracy = 0.45
min_macro_f1 = 0.45
max_ece = 0.15
min_recall = { default = 0.20, disgust = 0.0 }   # per class, with a default
max_bias_severity = "warning"

[baseline]
max_accuracy_drop = 0.01
max_recall_drop = 0.05

[options]
use_ci = true
"""
    )
    policy = load_policy(path)
    assert policy.limits["min_accuracy"] == 0.55
    assert policy.limits["max_recall_drop"] == 0.05
    assert policy.use_ci is True
    assert policy.source == str(path)


def test_empty_policy_sets_no_checks(write_policy) -> None:
    path = write_policy("")
    assert load_policy(path) == Policy(limits={}, use_ci=False, source=str(path))


def test_bare_number_min_recall_is_a_default(write_policy) -> None:
    policy = load_policy(write_policy("[thresholds]\nmin_recall = 0.3\n"))
    assert policy.limits["min_recall"] == RecallLimits(default=0.3)


def test_integer_thresholds_are_accepted(write_policy) -> None:
    policy = load_policy(write_policy("[thresholds]\nmax_probe_effect = 10\nmin_accuracy = 1\n"))
    assert policy.limits["max_probe_effect"] == 10.0
    assert policy.limits["min_accuracy"] == 1.0


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("[thresholds]\nmin_acuracy = 0.5\n", "thresholds.min_acuracy", "min_accuracy"),
        ("[baseline]\nmax_acc_drop = 0.1\n", "baseline.max_acc_drop", "max_accuracy_drop"),
        ("[options]\nuse_cis = true\n", "options.use_cis", "use_ci"),
        ("[threshold]\nmin_accuracy = 0.5\n", "[threshold]", "thresholds"),
        ("min_accuracy = 0.5\n", "[min_accuracy]", "sections"),
        ("[thresholds]\nmax_accuracy_drop = 0.1\n", "max_accuracy_drop", "[baseline]"),
    ],
)
def test_unknown_keys_are_refused(write_policy, text: str, key: str, hint: str) -> None:
    path = write_policy(text)
    with pytest.raises(InputError) as error:
        load_policy(path)
    message = str(error.value)
    assert str(path) in message and key in message and hint in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[thresholds]\nmin_accuracy = "high"\n', "thresholds.min_accuracy"),
        ("[thresholds]\nmin_accuracy = true\n", "thresholds.min_accuracy"),
        ("[thresholds]\nmin_accuracy = 1.5\n", "thresholds.min_accuracy"),
        ("[thresholds]\nmax_ece = -0.1\n", "thresholds.max_ece"),
        ("[thresholds]\nmax_ece = nan\n", "thresholds.max_ece"),
        ("[thresholds]\nmax_probe_effect = -1\n", "thresholds.max_probe_effect"),
        ("[thresholds]\nmax_probe_effect = 150\n", "thresholds.max_probe_effect"),
        ('[thresholds]\nmax_bias_severity = "severe"\n', "thresholds.max_bias_severity"),
        ("[thresholds]\nmax_bias_severity = 2\n", "thresholds.max_bias_severity"),
        ('[thresholds]\nmin_recall = { default = "x" }\n', "thresholds.min_recall.default"),
        ("[thresholds]\nmin_recall = { happy = true }\n", "thresholds.min_recall.happy"),
        ("[thresholds]\nmin_recall = [0.1, 0.2]\n", "thresholds.min_recall"),
        ("[baseline]\nmax_accuracy_drop = [0.1]\n", "baseline.max_accuracy_drop"),
        ('[options]\nuse_ci = "yes"\n', "options.use_ci"),
        ("[options]\nuse_ci = 1\n", "options.use_ci"),
        ("thresholds = 3\n", "thresholds"),
    ],
)
def test_wrong_types_are_refused(write_policy, text: str, key: str) -> None:
    path = write_policy(text)
    with pytest.raises(InputError) as error:
        load_policy(path)
    assert str(path) in str(error.value)
    assert key in str(error.value)


def test_invalid_toml_names_the_file(write_policy) -> None:
    path = write_policy("[thresholds\nmin_accuracy = \n")
    with pytest.raises(InputError, match="not valid TOML") as error:
        load_policy(path)
    assert str(path) in str(error.value)


def test_missing_file_and_directory_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_policy(tmp_path / "absent.toml")
    with pytest.raises(InputError, match="directory"):
        load_policy(tmp_path)


def test_policy_to_summary_is_json(write_policy) -> None:
    policy = load_policy(EXAMPLE)
    record = json.loads(json.dumps(policy.to_summary(), allow_nan=False))
    assert record["limits"]["min_recall"] == {"default": 0.2, "per_class": {"disgust": 0.0}}
    assert record["use_ci"] is False


def test_first_run_example_is_the_full_example_without_baseline_checks() -> None:
    first_run = load_policy(EXAMPLE.with_name("thresholds.toml"))
    full = load_policy(EXAMPLE)
    assert first_run.baseline_keys == []
    assert first_run.limits == {key: limit for key, limit in full.limits.items()
                                if key not in full.baseline_keys}
    assert first_run.use_ci == full.use_ci
