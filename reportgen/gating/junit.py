"""JUnit XML for CI systems: one testcase per policy check, failures marked.

Follows the common JUnit schema that GitHub Actions, GitLab and Jenkins read: a
``testsuites`` root holding one ``testsuite``. A failed check gets a ``failure`` element; a
passed check with nothing measured (``value`` None) gets ``skipped``. No timestamps, so the
same checks always give the same bytes.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

from reportgen.errors import InputError
from reportgen.gating.checks import Check

SUITE_NAME = "reportgen.gating.policy"


def junit_tree(
    checks: Sequence[Check],
    suite_name: str = SUITE_NAME,
    properties: Mapping[str, str] | None = None,
) -> ET.ElementTree:
    """Build the XML tree; ``properties`` (e.g. model path, sha256) go on the suite."""
    failures = sum(not c.passed for c in checks)
    skipped = sum(c.skipped for c in checks)
    counts = {"tests": str(len(checks)), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", name="reportgen", **counts)
    suite = ET.SubElement(root, "testsuite", name=suite_name, skipped=str(skipped), **counts)
    if properties:
        props = ET.SubElement(suite, "properties")
        for name, value in properties.items():
            ET.SubElement(props, "property", name=name, value=str(value))
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=check.name, time="0")
        # The summary's rounded value, so float noise (0.04095899999999997) stays out of CI logs.
        value = check.to_summary()["value"]
        message = f"value {value} vs threshold {check.threshold}: {check.detail}"
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=message, type="PolicyCheckFailed")
            failure.text = check.detail
        elif check.skipped:
            ET.SubElement(case, "skipped", message=check.detail)
        else:
            ET.SubElement(case, "system-out").text = message
    ET.indent(root)
    return ET.ElementTree(root)


def junit_xml(
    checks: Sequence[Check],
    suite_name: str = SUITE_NAME,
    properties: Mapping[str, str] | None = None,
) -> str:
    """The JUnit document as an XML string with a declaration."""
    tree = junit_tree(checks, suite_name, properties)
    return ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True) + "\n"


def write_junit(
    checks: Sequence[Check],
    path: Path,
    properties: Mapping[str, str] | None = None,
) -> None:
    """Write the JUnit file atomically: a temp file in the same folder, then a rename."""
    path = Path(path)
    tree = junit_tree(checks, properties=properties)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise InputError(f"{path}: cannot write the JUnit file ({err.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            tree.write(stream, encoding="utf-8", xml_declaration=True)
        os.replace(temp, path)
    except BaseException:
        # Only the temp file is ours to delete; an existing report at `path` is untouched.
        Path(temp).unlink(missing_ok=True)
        raise
