#!/usr/bin/env bash
# Installs the pinned Claude Code CLI that tests/e2e_claude.rs drives.
#
#   .ci/install-claude.sh                 # into <repo>/target/agents
#   DASHCLAW_AGENTS_DIR=/some/dir .ci/install-claude.sh
#
# The version is pinned exactly: an unpinned install has resolved to an older release than
# `latest` (agent-hooks.md §6), and the hook contract (onFailure) differs between versions.
set -euo pipefail

readonly VERSION="2.1.332"
readonly PACKAGE="@anthropic-ai/claude-code@${VERSION}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${DASHCLAW_AGENTS_DIR:-$repo/target/agents}"
bin="$dir/node_modules/.bin/claude"

# Prints the version the installed CLI reports, or nothing. Runs with a scrubbed environment and
# a proxy that refuses every connection, so it only succeeds if the CLI works offline.
offline_version() {
    [[ -x "$bin" ]] || return 0
    local scratch
    scratch="$(mktemp -d)"
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$scratch" TERM=dumb \
        HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
        DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
        DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
        timeout 60 "$bin" --version 2>/dev/null | awk 'NR == 1 { print $1 }' || true
    rm -rf "$scratch"
}

if [[ "$(offline_version)" == "$VERSION" ]]; then
    echo "claude $VERSION already installed at $bin"
    exit 0
fi

command -v npm >/dev/null || { echo "error: npm is required to install $PACKAGE" >&2; exit 1; }
mkdir -p "$dir"
echo "installing $PACKAGE into $dir"
# npm 11 may warn that the package's install script is "not covered by allowScripts"; the
# postinstall only copies the native binary out of the platform package, checked below.
npm install --prefix "$dir" --no-audit --no-fund "$PACKAGE"

# Before the postinstall runs, bin/claude.exe is a small placeholder; afterwards it is the
# native executable (hard-linked or copied from @anthropic-ai/claude-code-<platform>).
exe="$dir/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
if [[ ! -f "$exe" ]]; then
    echo "error: $exe is missing after npm install" >&2
    exit 1
fi
magic="$(head -c 4 "$exe" | od -An -tx1 | tr -d ' \n')"
case "$magic" in
    7f454c46 | cffaedfe | cefaedfe | cafebabe) ;; # ELF, Mach-O 64/32, universal
    *)
        echo "error: $exe is not a native executable (magic $magic); the postinstall did not" \
            "run: try \`npm rebuild --prefix $dir @anthropic-ai/claude-code\`" >&2
        exit 1
        ;;
esac

got="$(offline_version)"
if [[ "$got" != "$VERSION" ]]; then
    echo "error: $bin --version reports '${got:-nothing}' offline, expected $VERSION" >&2
    exit 1
fi
echo "claude $VERSION installed at $bin (runs offline)"
