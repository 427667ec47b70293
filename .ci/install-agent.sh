#!/usr/bin/env bash
# Installs the pinned agent CLI that tests/e2e_<agent>.rs drives.
#
#   .ci/install-agent.sh claude|codex               # into <repo>/target/agents
#   DASHCLAW_AGENTS_DIR=/some/dir .ci/install-agent.sh claude|codex
#
# (.ci/install-claude.sh and .ci/install-codex.sh call this.) Versions are pinned exactly: an
# unpinned install has resolved to an older release than `latest` (agent-hooks.md §6), and the
# hook contracts are version-specific (Claude's onFailure; Codex's trust hashes and strict output
# parsing, agent-hooks.md §2).
set -euo pipefail

agent="${1:-}"
case "$agent" in
    claude)
        readonly VERSION="2.1.332"
        readonly PACKAGE="@anthropic-ai/claude-code@${VERSION}"
        # `claude --version` prints `2.1.332 (Claude Code)`.
        version_field=1
        offline_env=(DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
            DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1)
        npm_flags=()
        ;;
    codex)
        readonly VERSION="0.171.0"
        readonly PACKAGE="@openai/codex@${VERSION}"
        # `codex --version` prints `codex-cli 0.171.0`.
        version_field=2
        offline_env=() # CODEX_HOME is added below, inside the scratch HOME
        # `--save-exact` keeps a later `npm install` in the same prefix (the claude install) from
        # re-resolving a caret range to another Codex release.
        npm_flags=(--save-exact)
        ;;
    *)
        echo "usage: $0 claude|codex" >&2
        exit 2
        ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${DASHCLAW_AGENTS_DIR:-$repo/target/agents}"
bin="$dir/node_modules/.bin/$agent"

# Prints the version the installed CLI reports, or nothing. Runs with a scrubbed environment and
# a proxy that refuses every connection, so it only succeeds if the CLI works offline.
offline_version() {
    [[ -x "$bin" ]] || return 0
    local scratch
    scratch="$(mktemp -d)"
    local extra=("${offline_env[@]}")
    [[ "$agent" == codex ]] && extra+=(CODEX_HOME="$scratch/codex")
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$scratch" TERM=dumb \
        HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 \
        "${extra[@]}" \
        timeout 60 "$bin" --version 2>/dev/null | awk -v f="$version_field" 'NR == 1 { print $f }' || true
    rm -rf "$scratch"
}

if [[ "$(offline_version)" == "$VERSION" ]]; then
    echo "$agent $VERSION already installed at $bin"
    exit 0
fi

command -v npm >/dev/null || { echo "error: npm is required to install $PACKAGE" >&2; exit 1; }
mkdir -p "$dir"
echo "installing $PACKAGE into $dir"
# npm 11 may warn that claude-code's install script is "not covered by allowScripts"; the
# postinstall only copies the native binary out of the platform package, checked below.
npm install --prefix "$dir" --no-audit --no-fund "${npm_flags[@]}" "$PACKAGE"

if [[ "$agent" == claude ]]; then
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
fi

got="$(offline_version)"
if [[ "$got" != "$VERSION" ]]; then
    echo "error: $bin --version reports '${got:-nothing}' offline, expected $VERSION" >&2
    exit 1
fi
echo "$agent $VERSION installed at $bin (runs offline)"
