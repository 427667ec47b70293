#!/bin/sh
# A stand-in for dashclaw-hook: FAKE_MODE picks the behaviour; the call is logged to FAKE_LOG.
body=$(cat)
[ -n "$FAKE_LOG" ] && printf '%s %s %s\n' "$1" "$2" "$body" >> "$FAKE_LOG"
case "$FAKE_MODE" in
  allow) exit 0 ;;
  allow-json) echo '{}'; exit 0 ;;
  deny) echo "[DashClaw] Blocked by policy: fake deny" >&2; exit 2 ;;
  deny-silent) exit 2 ;;
  hang) sleep 30; exit 0 ;;
  crash) kill -SEGV $$ ;;
  fail) echo "boom" >&2; exit 1 ;;
  garbage) echo "not json at all"; exit 0 ;;
  *) echo "unknown FAKE_MODE" >&2; exit 3 ;;
esac
