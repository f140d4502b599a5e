#!/usr/bin/env bash
# Compares poe-sidecar's start-up time and idle memory with those of GitHub
# Copilot's language server, in the same run as the bare reference.
#
# It installs @github/copilot-language-server from npm into a temporary
# folder (about 650 MB), builds the benchmark, and runs it with the peer
# added. The peer runs without network: in a new network namespace with only
# loopback when unshare works (as root), otherwise with its proxy variables
# pointed at a closed port on 127.0.0.1. Not part of CI.
#
# Usage: bench/peer/copilot.sh [benchmark flags, e.g. -out /tmp/peer.md]
# Set COPILOT_LS_VERSION to pin the npm version (default: latest).
set -euo pipefail
cd "$(dirname "$0")/../.."

version="${COPILOT_LS_VERSION:-latest}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== installing @github/copilot-language-server@$version into $work" >&2
npm install --prefix "$work" --no-audit --no-fund --loglevel=error \
	"@github/copilot-language-server@$version" >&2
server="$work/node_modules/@github/copilot-language-server/dist/language-server.js"
if [[ ! -f "$server" ]]; then
	echo "copilot.sh: $server not found; the package layout changed" >&2
	exit 1
fi

echo "== building the benchmark" >&2
go build -o "$work/sidecarbench" ./bench
# The benchmark builds poe-sidecar and the reference itself; fetch their
# modules now, while the network is there.
go mod download

peer="node $server --stdio"
if unshare --net true 2>/dev/null; then
	echo "== running in a network namespace with only loopback" >&2
	# GOPROXY=off keeps the benchmark's 'go build' away from the network.
	unshare --net env GOPROXY=off bash -c \
		'ip link set lo up && exec "$0" -peer "$1" -peer-name copilot-language-server "${@:2}"' \
		"$work/sidecarbench" "$peer" "$@"
	exit
fi

echo "== unshare is not available; pointing the peer's proxy at a closed local port" >&2
HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY= \
	"$work/sidecarbench" -peer "$peer" -peer-name copilot-language-server "$@"
