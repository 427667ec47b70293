"""DashClaw guard for Hermes Agent (written by `dashclawd install hermes`).

Gating (`pre_tool_call`): Hermes 0.19.0 ignores a shell hook's exit code and `fail_closed`, so a
guard that crashed, was killed, timed out or is missing would let the call run. This plugin runs
the hook binary from Hermes's in-process `pre_tool_call` instead, with the stdin JSON a shell
hook gets, and blocks on anything but a clean answer: exit 0 allows, a block JSON on stdout
(`{"action":"block","message":...}`) blocks with its message, and every other outcome blocks
with a message that says the guard failed. An exception in this callback would fail open
(Hermes logs and skips it), so every path returns a verdict.

Tool-result redaction (`transform_tool_result`, only when the installer was asked for it):
Hermes lets only an in-process plugin replace a tool result, and takes the first *string* a
callback returns. The hook records the call and prints the redacted result as
`{"result": ...}`; the installer then registers no `post_tool_call` shell hook, so each result
is recorded once. Redaction fails open: a missing, slow or silent hook keeps the result.
"""

import json
import os
import shlex
import subprocess

# Replaced by the installer with JSON-quoted hook commands (None: that part is off).
PRE_COMMAND = @PRE_COMMAND@
REDACT_COMMAND = @REDACT_COMMAND@
# Hermes's own upper bound for a hook; the hook's deadline (and an approval's hold) ends first.
PRE_TIMEOUT_SECONDS = 300
REDACT_TIMEOUT_SECONDS = 30
_TOP_LEVEL = {"tool_name", "args", "session_id", "parent_session_id"}


def _payload(event, kwargs):
    args = kwargs.get("args")
    extra = {k: v for k, v in kwargs.items() if k not in _TOP_LEVEL}
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    return {
        "hook_event_name": event,
        "tool_name": kwargs.get("tool_name"),
        "tool_input": args if isinstance(args, dict) else None,
        "session_id": kwargs.get("session_id") or kwargs.get("parent_session_id") or "",
        "cwd": cwd,
        "extra": extra,
    }


def _run(command, event, kwargs, timeout):
    return subprocess.run(
        shlex.split(command),
        input=json.dumps(_payload(event, kwargs), ensure_ascii=False, default=str),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _failed(why):
    return {
        "action": "block",
        "message": "[DashClaw] Blocked: the guard failed ("
        + why
        + "), so this call could not be checked.\n"
        "Instead: do not retry it; ask the user to run `dashclawd doctor`.",
    }


def _block_of(stdout):
    """The block directive the hook printed, or None."""
    try:
        data = json.loads(stdout.strip() or "null")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("action") == "block" or data.get("decision") == "block":
        message = data.get("message") or data.get("reason")
        if isinstance(message, str) and message.strip():
            return {"action": "block", "message": message}
    return None


def _pre_tool_call(**kwargs):
    try:
        try:
            proc = _run(PRE_COMMAND, "pre_tool_call", kwargs, PRE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            return _failed("no answer within %d s" % PRE_TIMEOUT_SECONDS)
        except FileNotFoundError:
            return _failed("the hook binary is missing")
        except PermissionError:
            return _failed("the hook binary is not executable")
        block = _block_of(proc.stdout or "")
        if block is not None:
            return block
        if proc.returncode == 0:
            return None
        if proc.returncode < 0:
            return _failed("the hook was killed by signal %d" % -proc.returncode)
        first = ((proc.stderr or "").strip().splitlines() or [""])[0][:200]
        return _failed("exit %d%s" % (proc.returncode, ": " + first if first else ""))
    except Exception as exc:  # never fail open
        return _failed("%s in the DashClaw plugin" % type(exc).__name__)


def _transform(**kwargs):
    try:
        proc = _run(REDACT_COMMAND, "transform_tool_result", kwargs, REDACT_TIMEOUT_SECONDS)
        out = proc.stdout.strip()
        if proc.returncode != 0 or not out:
            return None
        result = json.loads(out).get("result")
    except Exception:  # fail open: keep the original result
        return None
    if result is None:
        return None
    return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)


def register(ctx):
    if PRE_COMMAND is not None:
        ctx.register_hook("pre_tool_call", _pre_tool_call)
    if REDACT_COMMAND is not None:
        ctx.register_hook("transform_tool_result", _transform)
