#!/usr/bin/env bash
# Installs the pinned Codex CLI that tests/e2e_codex.rs drives.
#
#   .ci/install-codex.sh                  # into <repo>/target/agents
#   DASHCLAW_AGENTS_DIR=/some/dir .ci/install-codex.sh
#
# Pinned exactly: the hook contract (trust hashes, strict output parsing) is version-specific
# (agent-hooks.md §2, §6).
set -euo pipefail

readonly VERSION="0.171.0"
readonly PACKAGE="@openai/codex@${VERSION}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${DASHCLAW_AGENTS_DIR:-$repo/target/agents}"
bin="$dir/node_modules/.bin/codex"

# Prints the version the installed CLI reports offline (`codex-cli 0.171.0` → `0.171.0`), or
# nothing. A proxy that refuses every connection proves it needs no network.
offline_version() {
    [[ -x "$bin" ]] || return 0
    local scratch
    scratch="$(mktemp -d)"
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$scratch" CODEX_HOME="$scratch/codex" TERM=dumb \
        HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
        timeout 60 "$bin" --version 2>/dev/null | awk 'NR == 1 { print $2 }' || true
    rm -rf "$scratch"
}

if [[ "$(offline_version)" == "$VERSION" ]]; then
    echo "codex $VERSION already installed at $bin"
    exit 0
fi

command -v npm >/dev/null || { echo "error: npm is required to install $PACKAGE" >&2; exit 1; }
mkdir -p "$dir"
echo "installing $PACKAGE into $dir"
# `--save-exact` keeps a later `npm install` in the same prefix (install-claude.sh) from
# re-resolving a caret range to another Codex release.
npm install --prefix "$dir" --no-audit --no-fund --save-exact "$PACKAGE"

got="$(offline_version)"
if [[ "$got" != "$VERSION" ]]; then
    echo "error: $bin --version reports '${got:-nothing}' offline, expected $VERSION" >&2
    exit 1
fi
echo "codex $VERSION installed at $bin (runs offline)"
