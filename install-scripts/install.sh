#!/usr/bin/env bash
# Builds dashclaw-hook and dashclawd, installs them, wires the Claude Code hooks and starts the
# daemon. Re-running is safe: the build is incremental and the hook wiring idempotent.
#
#   PREFIX=~/.local (default)        install to $PREFIX/bin
#   CLAUDE_CONFIG_DIR=...            edit that Claude Code settings.json instead of ~/.claude's
#   DASHCLAW_HOME=...                keep all DashClaw state beneath one directory
#   DASHCLAW_NO_SERVICE=1            do not install a systemd/launchd service (hooks start the daemon)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${PREFIX:-$HOME/.local}"

echo "==> building (release)"
# The daemon (root package) and the hook (crates/hook), nothing else of the workspace.
cargo build --release --locked --manifest-path "$repo/Cargo.toml" -p dashclaw-sidecar -p dashclaw-hook

# The hook again, statically linked where glibc allows it: no dynamic loader, libc or libgcc_s
# to map on each of the agent's tool calls (README, "Benchmarks"). Only the hook: its own small
# tree is rebuilt for the explicit target (a few seconds); the daemon stays dynamic.
hook="$repo/target/release/dashclaw-hook"
host="$(rustc -vV | sed -n 's/^host: //p')"
case "$host" in
  *-linux-gnu)
    if RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
      cargo build --release --locked --manifest-path "$repo/Cargo.toml" -p dashclaw-hook --target "$host"; then
      hook="$repo/target/$host/release/dashclaw-hook"
    else
      echo "note: the static hook did not build (is libc6-dev installed?); installing the dynamic one"
    fi
    ;;
esac

echo "==> installing into $prefix/bin"
install -d "$prefix/bin"
# Both binaries side by side: the hook starts the daemon it finds beside itself.
install -m 0755 "$hook" "$prefix/bin/dashclaw-hook"
install -m 0755 "$repo/target/release/dashclawd" "$prefix/bin/"
# The install record: the hook trusts only the dashclawd whose content matches it.
if command -v sha256sum >/dev/null 2>&1; then
  (cd "$prefix/bin" && sha256sum dashclawd >dashclawd.sha256)
else
  (cd "$prefix/bin" && shasum -a 256 dashclawd >dashclawd.sha256)
fi
chmod 0644 "$prefix/bin/dashclawd.sha256"

echo "==> wiring Claude Code hooks"
"$prefix/bin/dashclawd" install claude --hook-bin "$prefix/bin/dashclaw-hook"
if command -v codex >/dev/null 2>&1; then
  echo "==> wiring Codex hooks (and trusting them)"
  "$prefix/bin/dashclawd" install codex --hook-bin "$prefix/bin/dashclaw-hook" ||
    echo "warning: Codex hooks are NOT active; see the message above and run 'dashclawd doctor'"
fi

echo "==> starting dashclawd"
# A daemon of the previous build is no longer trusted by the new hook: retire it.
"$prefix/bin/dashclawd" stop >/dev/null 2>&1 || true
if { [ "$(uname)" = Darwin ] || systemctl --user show-environment >/dev/null 2>&1; } &&
   [ "${DASHCLAW_NO_SERVICE:-}" != 1 ]; then
  # Under the user's service manager: restarted on failure, started at login.
  "$prefix/bin/dashclawd" service install
elif ! "$prefix/bin/dashclawd" status >/dev/null 2>&1; then
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
