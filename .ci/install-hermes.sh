#!/usr/bin/env bash
# Installs the pinned Hermes Agent (PyPI `hermes-agent`) that tests/e2e_hermes.rs drives, into
# a virtualenv kept between runs:
#
#   .ci/install-hermes.sh                          # into <repo>/target/agents/hermes-venv
#   DASHCLAW_AGENTS_DIR=/some/dir .ci/install-hermes.sh
#
# The version is pinned exactly: the shell-hook contract (which events a shell hook may answer,
# what its stdout may change) is version-specific, see docs/agents.md.
set -euo pipefail

readonly VERSION="0.19.0"
readonly PACKAGE="hermes-agent==${VERSION}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${DASHCLAW_AGENTS_DIR:-$repo/target/agents}"
venv="$dir/hermes-venv"
bin="$venv/bin/hermes"

# The version pip recorded, or nothing.
installed_version() {
    [[ -x "$venv/bin/python" && -x "$bin" ]] || return 0
    "$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("hermes-agent"))' \
        2>/dev/null || true
}

if [[ "$(installed_version)" == "$VERSION" ]]; then
    echo "hermes-agent $VERSION already installed at $bin"
    exit 0
fi

# Hermes needs Python >= 3.11, < 3.14: take the first python3 that fits.
python=""
for p in python3.13 python3.12 python3.11 python3; do
    if command -v "$p" >/dev/null &&
        "$p" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' 2>/dev/null; then
        python="$(command -v "$p")"
        break
    fi
done
[[ -n "$python" ]] || { echo "error: $PACKAGE needs Python 3.11-3.13" >&2; exit 1; }

mkdir -p "$dir"
rm -rf "$venv"
echo "installing $PACKAGE into $venv (with $python)"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "$PACKAGE"

got="$(installed_version)"
if [[ "$got" != "$VERSION" ]]; then
    echo "error: $venv holds hermes-agent '${got:-nothing}', expected $VERSION" >&2
    exit 1
fi
echo "hermes-agent $VERSION installed at $bin"
