#!/usr/bin/env bash
# Installs the official MCP Python SDK (PyPI `mcp`, pinned) into a venv for tests/mcp_protocol.rs:
# an MCP client nobody here wrote.
#
#   .ci/install-mcp.sh                      # into <repo>/target/agents/mcp-venv
#   DASHCLAW_AGENTS_DIR=/some/dir .ci/install-mcp.sh
set -euo pipefail

readonly VERSION="2.3.0"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${DASHCLAW_AGENTS_DIR:-$repo/target/agents}/mcp-venv"
py="$dir/bin/python"

installed() {
    [[ -x "$py" ]] && "$py" -c 'import importlib.metadata as m; print(m.version("mcp"))' 2>/dev/null || true
}

if [[ "$(installed)" == "$VERSION" ]]; then
    echo "mcp $VERSION already installed at $dir"
    exit 0
fi
command -v python3 >/dev/null || { echo "error: python3 is required for the MCP protocol test" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
python3 -m venv "$dir"
"$py" -m pip install --quiet --disable-pip-version-check "mcp==$VERSION"
got="$(installed)"
if [[ "$got" != "$VERSION" ]]; then
    echo "error: mcp reports '${got:-nothing}', expected $VERSION" >&2
    exit 1
fi
echo "mcp $VERSION installed at $dir"
