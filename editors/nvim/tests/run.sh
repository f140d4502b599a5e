#!/usr/bin/env bash
# Runs the Neovim plugin's tests: every tests/test_*.lua file, or the files given as
# arguments. Each file runs in a fresh `nvim --headless -u NONE -i NONE` that starts
# the real poe-sidecar against the fake Poe on 127.0.0.1. Prints every result, then "N passed, N failed", and exits
# non-zero when a test fails or a file does not finish.
#
# Environment:
#   POE_SIDECAR_BIN, FAKEPOE_BIN  the binaries to test; built from this checkout
#                                 with Go when unset
#   NVIM                          the Neovim binary (default: nvim on PATH)
#   POE_TEST_FILE_TIMEOUT         seconds one file may take (default: 90)
set -euo pipefail

tests_dir=$(cd "$(dirname "$0")" && pwd)
plugin_dir=$(dirname "$tests_dir")
repo_dir=$(cd "$plugin_dir/../.." && pwd)
nvim=${NVIM:-nvim}
file_timeout=${POE_TEST_FILE_TIMEOUT:-90}

work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT

if ! command -v "$nvim" >/dev/null; then
  echo "run.sh: $nvim not found; install Neovim 0.7 or newer (Debian: apt-get install neovim)" >&2
  exit 1
fi

if [ -z "${POE_SIDECAR_BIN:-}" ] || [ -z "${FAKEPOE_BIN:-}" ]; then
  echo "== building poe-sidecar and fakepoe"
  (cd "$repo_dir" && go build -o "$work_dir/poe-sidecar" ./cmd/poe-sidecar \
    && go build -o "$work_dir/fakepoe" ./internal/fakepoe/cmd/fakepoe)
  POE_SIDECAR_BIN=${POE_SIDECAR_BIN:-$work_dir/poe-sidecar}
  FAKEPOE_BIN=${FAKEPOE_BIN:-$work_dir/fakepoe}
fi
export POE_SIDECAR_BIN FAKEPOE_BIN POE_TEST_ROOT="$plugin_dir"

echo "== $("$nvim" --version | head -n 1), plugin tests"
passed=0
failed=0
if [ $# -gt 0 ]; then
  test_files=("$@")
else
  test_files=("$tests_dir"/test_*.lua)
fi
for test_file in "${test_files[@]}"; do
  test_file=$(cd "$(dirname "$test_file")" && pwd)/$(basename "$test_file")
  name=$(basename "$test_file" .lua)
  results="$work_dir/$name.results"
  output="$work_dir/$name.output"
  : >"$results"

  status=0
  POE_TEST_RESULTS="$results" timeout "$file_timeout" \
    "$nvim" --headless -u NONE -i NONE --cmd "set rtp^=$plugin_dir" -c "luafile $test_file" \
    </dev/null >"$output" 2>&1 || status=$?

  while IFS= read -r line; do
    case "$line" in
      "PASS "*) passed=$((passed + 1)); echo "ok   $name: ${line#PASS }" ;;
      "FAIL "*) failed=$((failed + 1)); echo "FAIL $name: ${line#FAIL }" ;;
      "END") ;;
      *) echo "$line" ;;
    esac
  done <"$results"

  if ! grep -qx "END" "$results"; then
    failed=$((failed + 1))
    echo "FAIL $name: the file did not finish (exit status $status; 124 is the ${file_timeout}s timeout). Neovim printed:"
    sed 's/^/    /' "$output" | tail -n 40
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
