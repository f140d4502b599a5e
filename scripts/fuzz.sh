#!/usr/bin/env bash
# Runs each fuzz target for FUZZTIME (default 60s). The seed corpora live in
# each package's testdata/fuzz folder and also run with every `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-60s}
targets=(
  "FuzzStream ./rpc"
  "FuzzSSE ./provider"
  "FuzzCallbackQuery ./auth"
  "FuzzCredentialFile ./auth"
)
for target in "${targets[@]}"; do
  read -r name pkg <<<"$target"
  echo "== fuzz $name ($pkg) for $fuzztime"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done
