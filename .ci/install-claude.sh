#!/usr/bin/env bash
# Installs the pinned Claude Code CLI for tests/e2e_claude.rs; see install-agent.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-agent.sh" claude "$@"
