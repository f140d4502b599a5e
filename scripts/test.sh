#!/usr/bin/env bash
# Runs every test: go vet, the Go tests under the race detector (unit tests
# and the built binary driven over real pipes), and the Node test that drives
# the binary with vscode-jsonrpc. Run .ci/run once first on a new machine, or
# `npm ci` in test/node.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...

echo "== node --test (vscode-jsonrpc)"
bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"' EXIT
go build -o "$bin_dir/poe-sidecar" ./cmd/poe-sidecar
go build -o "$bin_dir/fakepoe" ./internal/fakepoe/cmd/fakepoe
(cd test/node && POE_SIDECAR_BIN="$bin_dir/poe-sidecar" FAKEPOE_BIN="$bin_dir/fakepoe" node --test)
