#!/usr/bin/env bash
# Runs the end-to-end test in code-server once the npm packages are installed
# (test/install-deps.sh). It builds poe-sidecar and the fake Poe unless
# POE_SIDECAR_BIN and FAKEPOE_BIN name them, packages the .vsix with that
# poe-sidecar, installs code-server into .cache if it is missing, and runs
# test/e2e. Its last line is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(cd ../.. && pwd)

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="$PATH:/usr/local/go/bin"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${POE_SIDECAR_BIN:-}" ]; then
  echo "== building poe-sidecar"
  (cd "$repo" && go build -o "$work/poe-sidecar" ./cmd/poe-sidecar)
  export POE_SIDECAR_BIN="$work/poe-sidecar"
fi
if [ -z "${FAKEPOE_BIN:-}" ]; then
  echo "== building the fake Poe"
  (cd "$repo" && go build -o "$work/fakepoe" ./internal/fakepoe/cmd/fakepoe)
  export FAKEPOE_BIN="$work/fakepoe"
fi

echo "== packaging the extension"
npm run --silent package -- --target linux-x64
vsix="$(pwd)/$(node -p 'const p = require("./package.json"); `${p.name}-linux-x64-${p.version}.vsix`')"

echo "== code-server"
bash test/install-deps.sh code-server

echo "== compiling the tests"
npx tsc -p tsconfig.test.json

echo "== end-to-end test in code-server"
CODE_SERVER_DIR="$(pwd)/.cache/code-server" VSIX="$vsix" node out/test/e2e/e2e.js
