#!/usr/bin/env bash
# The test suite: unit tests, the integration tests that run the real binaries, and the
# end-to-end tests with the real Claude Code, Codex, Hermes and OpenClaw agents (installed from
# npm and PyPI, pinned, on first run).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
if [ "${DASHCLAW_SKIP_E2E:-}" != "1" ]; then
  bash .ci/install-claude.sh
  bash .ci/install-codex.sh
  bash .ci/install-hermes.sh
  bash .ci/install-openclaw.sh
fi
# The official MCP Python SDK (pinned, in a venv) for tests/mcp_protocol.rs.
if [ "${DASHCLAW_SKIP_E2E:-}" != "1" ]; then
  bash .ci/install-mcp.sh
fi
# Every workspace crate: the hook binary (crates/hook) is what tests/it runs.
cargo test --workspace --locked "$@"
