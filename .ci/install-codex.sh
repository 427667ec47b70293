#!/usr/bin/env bash
# Installs the pinned Codex CLI for tests/e2e_codex.rs; see install-agent.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-agent.sh" codex "$@"
