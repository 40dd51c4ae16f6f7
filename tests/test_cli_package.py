"""The CLI's package-level surface: --version, help text, --formats, --quiet failures, and real
outputs of both commands validated against the shipped JSON Schema."""

from __future__ import annotations

import json

import click
import pytest
import typer
from typer.testing import CliRunner

import reportgen
from reportgen.cli import app
from reportgen.resources import summary_schema_path

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def validate(summary: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(summary_schema_path().read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(summary)


def test_version_prints_and_exits_0():
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"reportgen {reportgen.__version__}"


@pytest.mark.parametrize("command", ["audit", "gate"])
def test_every_option_has_help_rendered_as_written(command):
    group = typer.main.get_command(app)
    params = group.commands[command].params
    assert all(p.help for p in params if isinstance(p, click.Option)), \
        [p.name for p in params if not p.help]
    text = run(command, "--help").stdout
    assert "<bool>" not in text
    for option in ("--quiet", "--skip-bad-rows", "--trust-model", "--mlflow"):
        line = next(row for row in text.splitlines() if row.strip().startswith(option))
        assert line.split()[1] != "BOOLEAN"  # a flag takes no value
    if command == "audit":
        flat = " ".join(text.split())  # help wraps to the terminal width
        assert "gradcam), or none. [default: (the default set)]" in flat and "--formats LIST" in flat


def test_formats_writes_only_those_and_the_summary_fits_the_schema(tmp_path, tiny_model_path,
                                                                   small_csv):
    out = tmp_path / "a"
    result = run("audit", "--model", tiny_model_path, "--data", small_csv, "--out", out,
                 "--methods", "saliency", "--cases-per-group", "1", "--formats", "json,html",
                 "--quiet", "--policy", "none")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    validate(summary)
    assert summary["environment"]["tensorflow"] and summary["environment"]["reportgen"]


def test_bad_format_is_a_usage_error(tmp_path, tiny_model_path, small_csv):
    result = run("audit", "--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / "a",
                 "--formats", "html,docx")
    assert result.exit_code == 2 and "docx" in result.stderr and not (tmp_path / "a").exists()


def test_quiet_gate_names_each_failed_check_and_fits_the_schema(tmp_path, tiny_model_path,
                                                                 small_csv):
    policy = tmp_path / "policy.toml"
    policy.write_text("[thresholds]\nmin_accuracy = 0.99\nmax_ece = 0.001\nmin_macro_f1 = 0.0\n")
    result = run("gate", "--model", tiny_model_path, "--data", small_csv, "--out", tmp_path / "g",
                 "--policy", policy, "--quiet")
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("reportgen: check failed:")]
    assert [line.split()[3] for line in failed] == ["min_accuracy:", "max_ece:"]
    assert result.stdout.strip().endswith("summary.json")  # stdout keeps only the path
    validate(json.loads((tmp_path / "g" / "summary.json").read_text()))
