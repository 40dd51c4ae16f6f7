"""The copy-ready CI examples hold every part the README promises (.ci/lint_ci_examples.sh
lints them with actionlint and the vendored GitHub/GitLab schemas)."""

from __future__ import annotations

import pytest

from tests.conftest import REPO

yaml = pytest.importorskip("yaml")
CI = REPO / "examples" / "ci"


def test_github_workflow_is_complete():
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as true
    assert {"pull_request", "push"} <= set(triggers)
    assert workflow["permissions"]["checks"] == "write"
    steps = workflow["jobs"]["gate"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/cache") for u in uses)
    assert any(u.startswith("EnricoMi/publish-unit-test-result-action") for u in uses)
    assert any(u.startswith("actions/upload-artifact") for u in uses)
    gate = next(step["run"] for step in steps if "reportgen gate" in step.get("run", ""))
    assert all(flag in gate for flag in ("--policy", "--baseline", "--junit"))
    baseline = next(step for step in steps if "download-artifact" in step.get("uses", ""))
    assert baseline["with"]["branch"] == "main"


def test_gitlab_pipeline_is_complete():
    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    gate = pipeline["model-gate"]
    script = "\n".join(gate["script"])
    assert all(flag in script for flag in ("--policy", "--baseline", "--junit", "CI_DEFAULT_BRANCH"))
    assert gate["artifacts"]["reports"]["junit"] == "reportgen-gate/checks.xml"
    assert pipeline["default"]["cache"]["paths"]
    assert "reportgen audit" in "\n".join(pipeline["audit-report"]["script"])


def test_a_gate_that_cannot_run_still_leaves_a_checks_file_and_slim_images_get_a_font():
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    names = [step.get("name", "") for step in steps]
    stub = steps[names.index("Record a gate that could not run (exit 2, no checks.xml) as an error")]
    assert "hashFiles('reportgen-gate/checks.xml') == ''" in stub["if"]
    assert "reportgen-gate/checks.xml" in stub["run"]
    assert names.index("Publish the checks") > names.index(stub["name"])
    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    assert "reportgen-gate/checks.xml" in "\n".join(pipeline["model-gate"]["after_script"])
    assert "fonts-dejavu-core" in "\n".join(pipeline["default"]["before_script"])
