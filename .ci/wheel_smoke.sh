#!/usr/bin/env bash
# Build the wheel, install it with plain pip into a fresh virtual environment, and run a quick
# demo audit from it outside the checkout: the templates, sample model and demo data must come
# from the installed package. (pip downloads TensorFlow etc. the first time; ~/.cache/pip keeps them.)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m uv build --wheel --out-dir "$tmp/dist" >/dev/null
python3 -m venv "$tmp/venv"
# The README's install line, `pip install reportgen-fer`, answered by the wheel just built (the
# distribution is reportgen-fer; its wheel file is reportgen_fer-*.whl).
ls "$tmp"/dist/reportgen_fer-*.whl >/dev/null
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check --find-links "$tmp/dist" reportgen-fer
cd "$tmp"
"$tmp/venv/bin/python" -c "import reportgen; print('reportgen', reportgen.__version__, 'from', reportgen.__file__)"
version=$("$tmp/venv/bin/reportgen" --version) && echo "$version"
test "$version" != "reportgen 0+unknown"  # read from the reportgen-fer distribution's metadata
# The default policy and the documented example ship in the wheel.
"$tmp/venv/bin/reportgen" policy show > shown.toml && grep -q 'default policy' shown.toml
"$tmp/venv/bin/reportgen" policy init policy.toml >/dev/null && grep -q max_accuracy_drop policy.toml
# stdout carries the report's path alone, whatever the exit code (1: a check of the default
# policy failed; the report is still written).
path=$("$tmp/venv/bin/reportgen" audit --out demo --methods none --formats json,html --quiet) || [ $? -eq 1 ]
test "$path" = demo/report.html
test -s demo/report.html && test -s demo/summary.json && test ! -e demo/report.pdf
"$tmp/venv/bin/python" - <<'PY'
import json
summary = json.load(open("demo/summary.json"))
assert "site-packages/reportgen/_data/sample_models" in summary["model"]["path"], summary["model"]["path"]
assert summary["data"]["n_images"] == 350, summary["data"]["n_images"]
assert summary["policy"]["default"] and summary["environment"]["reportgen"] != "0+unknown", summary["policy"]
panel = summary["bias"]["panel"]  # the clean-model panel ships in the wheel
assert panel and len(panel["members"]) >= 4, panel
assert all("site-packages/reportgen/_data/sample_models" in m["path"] for m in panel["members"]), panel
print(f"wheel demo audit: accuracy {summary['metrics']['accuracy']} on {summary['data']['n_images']} images")
PY
