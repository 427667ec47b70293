#!/usr/bin/env bash
# Builds dashclaw-hook and dashclawd, installs them, wires the Claude Code hooks and starts the
# daemon. Re-running is safe: the build is incremental and the hook wiring idempotent.
#
#   PREFIX=~/.local (default)        install to $PREFIX/bin
#   CLAUDE_CONFIG_DIR=...            edit that Claude Code settings.json instead of ~/.claude's
#   DASHCLAW_HOME=...                keep all DashClaw state beneath one directory
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${PREFIX:-$HOME/.local}"

echo "==> building (release)"
cargo build --release --locked --manifest-path "$repo/Cargo.toml"

echo "==> installing into $prefix/bin"
install -d "$prefix/bin"
# Both binaries side by side: the hook starts the daemon it finds beside itself.
install -m 0755 "$repo/target/release/dashclaw-hook" "$repo/target/release/dashclawd" "$prefix/bin/"

echo "==> wiring Claude Code hooks"
"$prefix/bin/dashclawd" install claude --hook-bin "$prefix/bin/dashclaw-hook"

echo "==> starting dashclawd"
if ! "$prefix/bin/dashclawd" status >/dev/null 2>&1; then
  # Detached and not "auto-started", so it does not idle out; hooks restart it if it dies.
  setsid "$prefix/bin/dashclawd" run --quiet </dev/null >/dev/null 2>&1 &
  for _ in $(seq 50); do
    "$prefix/bin/dashclawd" status >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
"$prefix/bin/dashclawd" status
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on PATH; add it to use dashclawd directly" ;;
esac
