"""JUnit XML: one testcase per check, failures and skips marked, parseable by CI tools."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reportgen.errors import InputError
from reportgen.gating.junit import junit_xml, write_junit
from reportgen.gating.limits import Check
from reportgen.gating.policy import load_policy
from reportgen.gating.verdict import evaluate_checks

CHECKS = [
    Check("min_accuracy", 0.61, 0.55, True, "accuracy 0.61 >= 0.55"),
    Check("min_recall[disgust]", 0.02, 0.1, False, "disgust recall 0.02 < 0.1"),
    Check("min_recall[fear]", None, 0.1, True, "no images of this class in the split"),
    Check("max_bias_severity", "critical", "warning", False, 'a <script>"&</script> probe'),
]


def test_one_testcase_per_check_with_failures_marked(tmp_path: Path) -> None:
    path = tmp_path / "checks.xml"
    write_junit(CHECKS, path, properties={"model.sha256": "abc"})
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c.name for c in CHECKS]
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["min_recall[disgust]", "max_bias_severity"]
    assert [c.get("name") for c in cases if c.find("skipped") is not None] == ["min_recall[fear]"]
    assert (root.get("tests"), root.get("failures")) == ("4", "2")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "2", "1")
    assert suite.find("properties/property").get("value") == "abc"
    assert cases[3].find("failure").text == 'a <script>"&</script> probe'  # escaped, round-trips
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checks.xml"]  # no temp file left


def test_junit_xml_is_deterministic_and_parses() -> None:
    text = junit_xml(CHECKS)
    assert text == junit_xml(CHECKS)
    assert text.startswith("<?xml")
    assert len(ET.fromstring(text.split("?>", 1)[1]).findall(".//testcase")) == 4


def test_empty_checks_give_an_empty_suite() -> None:
    suite = ET.fromstring(junit_xml([]).split("?>", 1)[1]).find("testsuite")
    assert suite is not None and suite.get("tests") == "0" and not suite.findall("testcase")


def test_write_into_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write the JUnit file"):
        write_junit(CHECKS, tmp_path / "absent" / "checks.xml")


def test_example_policy_end_to_end(tmp_path: Path, make_summary, make_finding) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "policy.toml"
    candidate = make_summary(findings=[make_finding(severity="critical")])
    checks = evaluate_checks(load_policy(example), candidate, make_summary(accuracy=0.65))
    write_junit(checks, tmp_path / "gate.xml")
    cases = ET.parse(tmp_path / "gate.xml").getroot().findall(".//testcase")
    assert len(cases) == len(checks) > 20
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {c.name for c in checks if not c.passed}
    assert {"max_bias_severity", "max_accuracy_drop"} <= failed
    assert "min_recall[disgust]" not in failed  # its own limit is 0


def test_messages_carry_the_summary_rounding_not_float_noise() -> None:
    noisy = Check("max_accuracy_drop", 0.597 - 0.556041, 0.01, False, "drop 0.041 > 0.01")
    failure = ET.fromstring(junit_xml([noisy]).split("?>", 1)[1]).find(".//failure")
    assert failure is not None
    assert failure.get("message").startswith("value 0.040959 vs threshold 0.01")
