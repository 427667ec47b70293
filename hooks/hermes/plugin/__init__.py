"""DashClaw tool-result redaction for Hermes Agent (written by `dashclawd install hermes`).

Hermes lets only an in-process plugin replace a tool result: `transform_tool_result` takes the
first *string* a callback returns, and a shell hook's stdout never becomes one. So this plugin
runs the hook binary the way Hermes runs a shell hook (the same stdin JSON, the command split
like a shell, no shell) and returns the redacted result the hook prints as
`{"result": ...}`. The hook also records the call, which is why the installer registers no
`post_tool_call` shell hook next to this plugin: each result is recorded once.

Redaction fails open: if the hook is missing, slow or answers nothing, the result is kept.
"""

import json
import os
import shlex
import subprocess

# Replaced by the installer with the JSON-quoted hook command.
COMMAND = @COMMAND@
TIMEOUT_SECONDS = 30
_TOP_LEVEL = {"tool_name", "args", "session_id", "parent_session_id"}


def _payload(kwargs):
    args = kwargs.get("args")
    extra = {k: v for k, v in kwargs.items() if k not in _TOP_LEVEL}
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    return {
        "hook_event_name": "transform_tool_result",
        "tool_name": kwargs.get("tool_name"),
        "tool_input": args if isinstance(args, dict) else None,
        "session_id": kwargs.get("session_id") or kwargs.get("parent_session_id") or "",
        "cwd": cwd,
        "extra": extra,
    }


def _transform(**kwargs):
    try:
        proc = subprocess.run(
            shlex.split(COMMAND),
            input=json.dumps(_payload(kwargs), ensure_ascii=False, default=str),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
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
    ctx.register_hook("transform_tool_result", _transform)
