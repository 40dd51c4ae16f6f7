"""The distribution's name is ours everywhere a user copies it from: pyproject.toml, the
README's install lines, the CI examples and the wheel smoke test (issue 24: "reportgen" on PyPI
is an unrelated project, so `pip install reportgen` would run someone else's code)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import reportgen
from reportgen.distribution import DISTRIBUTION
from tests.conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
NAME = PROJECT["name"]
# A requirement as pip takes it: the name, optional [extras], optional version specifier.
REQUIREMENT = re.compile(r"""["']?(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?[^"'\s]*["']?""")


def installed_names(text: str) -> list[str]:
    """Every distribution named after `pip install` (options and paths left out)."""
    names = []
    for line in re.findall(r"pip install ([^`\n]*)", text):
        for word in line.split():
            if word.startswith(("-", "$", '"$', "dist/", "./", "/")) or word in ("&&", "||"):
                if word in ("&&", "||"):
                    break
                continue
            match = REQUIREMENT.fullmatch(word)
            if match:
                names.append(match["name"])
    return names


def test_the_package_knows_its_distribution():
    assert NAME == DISTRIBUTION == "reportgen-fer"
    assert reportgen.__version__ == metadata.version(NAME)
    assert "urls" not in PROJECT  # no addresses that belong to nobody


def test_readme_installs_our_distribution():
    readme = (REPO / "README.md").read_text()
    ours = [n for n in installed_names(readme) if n.startswith("reportgen")]
    assert ours and set(ours) == {NAME}, ours
    assert f"pip install {NAME}\n" in readme  # the plain install line, in a code block


def test_ci_examples_install_our_distribution():
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        text = (REPO / "examples" / "ci" / name).read_text()
        value = re.search(r"REPORTGEN: \"?([^\"\s#]+)", text)
        assert value and REQUIREMENT.fullmatch(value[1])["name"] == NAME, name
        assert "[mlflow]" not in text, name  # the extra was installed and never used
        assert 'install "$REPORTGEN"' in text, name


def test_wheel_smoke_looks_for_our_wheel():
    smoke = (REPO / ".ci" / "wheel_smoke.sh").read_text()
    assert f"{NAME.replace('-', '_')}-*.whl" in smoke and "reportgen-*.whl" not in smoke
    assert f"--find-links \"$tmp/dist\" {NAME}" in smoke  # the README's install line, answered


def test_installed_names_reads_requirements():
    text = ("pip install uv && x\n`pip install 'reportgen-fer[mlflow]'` and "
            "pip install -U reportgen==1")
    assert installed_names(text) == ["uv", "reportgen-fer", "reportgen"]
