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
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check "$tmp"/dist/reportgen-*.whl
cd "$tmp"
"$tmp/venv/bin/python" -c "import reportgen; print('reportgen', reportgen.__version__, 'from', reportgen.__file__)"
"$tmp/venv/bin/reportgen" --version
"$tmp/venv/bin/reportgen" audit --out demo --methods none --formats json,html --quiet
test -s demo/report.html && test -s demo/summary.json && test ! -e demo/report.pdf
"$tmp/venv/bin/python" - <<'PY'
import json
summary = json.load(open("demo/summary.json"))
assert "site-packages/reportgen/_data/sample_models" in summary["model"]["path"], summary["model"]["path"]
assert summary["data"]["n_images"] == 350, summary["data"]["n_images"]
panel = summary["bias"]["panel"]  # the clean-model panel ships in the wheel
assert panel and len(panel["members"]) >= 4, panel
assert all("site-packages/reportgen/_data/sample_models" in m["path"] for m in panel["members"]), panel
print(f"wheel demo audit: accuracy {summary['metrics']['accuracy']} on {summary['data']['n_images']} images")
PY
