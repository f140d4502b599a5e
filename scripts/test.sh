#!/usr/bin/env bash
# Runs every test: go vet, the Go tests under the race detector (unit tests
# and the built binary driven over real pipes), the Neovim plugin's tests in a
# headless Neovim, and the Node test that drives the binary with
# vscode-jsonrpc. On a new machine run .ci/run once first: it installs Neovim,
# curl and the Node packages.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...

echo "== benchmark smoke run (checks that every part works, nothing about speed)"
go run ./bench -short -no-micro > /dev/null

bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"' EXIT
go build -o "$bin_dir/poe-sidecar" ./cmd/poe-sidecar
go build -o "$bin_dir/fakepoe" ./internal/fakepoe/cmd/fakepoe
export POE_SIDECAR_BIN="$bin_dir/poe-sidecar" FAKEPOE_BIN="$bin_dir/fakepoe"

echo "== Neovim plugin (headless Neovim)"
bash editors/nvim/tests/run.sh

echo "== node --test (vscode-jsonrpc)"
(cd test/node && node --test)
