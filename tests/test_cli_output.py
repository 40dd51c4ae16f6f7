"""The CLI's contract for scripts (issue 24): stdout carries the result alone, in every mode;
without --policy the default policy applies and is named; --policy none says nothing was
checked; `policy init` and `policy show`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

from typer.testing import CliRunner

from reportgen.cli import app
from reportgen.gating.defaults import DEFAULT_SOURCE, default_policy_path
from tests.conftest import REPO

runner = CliRunner()
DEFAULT_NAME = f"the default policy ({DEFAULT_SOURCE})"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_gate_without_a_policy_applies_the_default_and_names_it(tmp_path, tiny_model_path,
                                                                small_csv):
    out, junit = tmp_path / "g", tmp_path / "checks.xml"
    result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", out,
                 "--junit", junit)
    summary = json.loads((out / "summary.json").read_text())
    assert f'<property name="policy" value="{DEFAULT_NAME}"' in junit.read_text()
    assert summary["policy"]["default"] and summary["policy"]["source"] == DEFAULT_SOURCE
    checks = {c["name"]: c for c in summary["checks"]}
    assert list(checks) == ["min_accuracy", "max_bias_severity", "require_sanity_pass"]
    assert checks["require_sanity_pass"]["skipped"]  # gate computes no attributions
    # The brightness model guesses: far below the default's accuracy floor, so the gate fails.
    assert summary["metrics"]["accuracy"] < 0.40 and not checks["min_accuracy"]["passed"]
    assert result.exit_code == 1, result.output
    assert f"Policy checks: {DEFAULT_NAME}" in " ".join(result.stderr.split())
    assert result.stdout == f"{out / 'summary.json'}\n"  # the path alone, without --quiet too
    assert "reportgen: warning:" not in result.stderr  # its skipped sanity check is no surprise


def test_quiet_gate_names_the_default_policy_beside_the_failed_checks(tmp_path, tiny_model_path,
                                                                      small_csv):
    result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / "g",
                 "--quiet")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("reportgen: check failed: min_accuracy:")
    assert lines[-1].startswith("reportgen: ")
    assert lines[-1].endswith(f"failed under {DEFAULT_NAME}")
    assert result.stdout == f"{tmp_path / 'g' / 'summary.json'}\n"


def test_policy_none_checks_nothing_and_says_so(tmp_path, tiny_model_path, small_csv):
    for quiet in ([], ["--quiet"]):
        out = tmp_path / f"g{len(quiet)}"
        result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", out,
                     "--policy", "none", *quiet)
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.stderr.splitlines() if "reportgen: warning:" in line]
        expected = ("reportgen: warning: --policy none: no policy was applied, so nothing was "
                    "checked")
        assert warnings == [expected]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["policy"] is None and summary["checks"] == []
        assert result.stdout == f"{out / 'summary.json'}\n"


def test_gate_json_prints_the_verdict_as_one_line(tmp_path, tiny_model_path, small_csv):
    policy = tmp_path / "policy.toml"
    policy.write_text("[thresholds]\nmin_accuracy = 0.99\nmax_ece = 1.0\n")
    out = tmp_path / "g"
    result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", out,
                 "--policy", policy, "--json")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    verdict = json.loads(lines[0])
    assert verdict["passed"] is False and verdict["failed"] == ["min_accuracy"]
    assert verdict["summary"] == str(out / "summary.json")
    assert verdict["policy"]["source"] == str(policy) and not verdict["policy"]["default"]
    saved = json.loads((out / "summary.json").read_text())
    assert verdict["checks"] == saved["checks"] and verdict["policy"] == saved["policy"]


def test_a_failed_run_prints_nothing_on_stdout(tmp_path, small_csv):
    result = run("gate", "--model", tmp_path / "nope.keras", "--data", small_csv, "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("reportgen: error:")


def test_policy_init_writes_the_example_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "policy.toml"
    result = run("policy", "init", target)
    assert result.exit_code == 0 and result.stdout == f"{target}\n"
    assert target.read_text() == (REPO / "examples" / "policy.toml").read_text()
    target.write_text("# mine\n")
    again = run("policy", "init", target)
    assert again.exit_code == 2 and "--force" in again.stderr and again.stdout == ""
    assert target.read_text() == "# mine\n"
    assert run("policy", "init", target, "--force").exit_code == 0
    assert "max_accuracy_drop" in target.read_text()
    here = tmp_path / "here"
    here.mkdir()
    assert run("policy", "init", here).exit_code == 2  # a folder, not a file


def test_policy_show_prints_the_policy_in_force(tmp_path):
    shown = run("policy", "show")
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[0] == f"# the policy in force: {DEFAULT_NAME}"
    assert default_policy_path().read_text().strip() in shown.stdout
    off = run("policy", "show", "--policy", "none")
    assert off.exit_code == 0 and "check nothing" in off.stdout
    typo = tmp_path / "typo.toml"
    typo.write_text("[thresholds]\nmin_acuracy = 0.5\n")
    bad = run("policy", "show", "--policy", typo)
    assert bad.exit_code == 2 and "min_acuracy" in bad.stderr and bad.stdout == ""


def test_a_shell_captures_the_report_path(tmp_path, tiny_model_path, small_csv):
    """`path=$(reportgen audit --quiet ...)`, as the README shows it, in a real shell."""
    command = (f"path=$({shlex.quote(sys.executable)} -m reportgen audit --quiet --methods none "
               f"--formats json --model {shlex.quote(str(tiny_model_path))} "
               f"--data {shlex.quote(str(small_csv))} --out out --policy none) && echo \"[$path]\"")
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[out/summary.json]\n"
    assert (tmp_path / "out" / "summary.json").is_file()
