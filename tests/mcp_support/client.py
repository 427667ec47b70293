"""Drives `dashclawd mcp` with the official MCP Python SDK (PyPI `mcp`, pinned in
.ci/install-mcp.sh) for tests/mcp_protocol.rs.

Reads one JSON spec on stdin:
  {"command": "...", "args": [...], "env": {...}, "cwd": "...",
   "steps": [{"op": "list"} | {"op": "call", "name": ..., "args": {...}} | {"op": "read", "uri": ...}]}
and prints one JSON document: the initialize result and one entry per step.
"""

import json
import sys

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


def dump(model):
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


async def main() -> None:
    spec = json.load(sys.stdin)
    params = StdioServerParameters(
        command=spec["command"], args=spec.get("args", []), env=spec.get("env"), cwd=spec.get("cwd")
    )
    out = {"steps": []}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=spec.get("timeout", 60)) as session:
            init = await session.initialize()
            out["initialize"] = dump(init)
            for step in spec["steps"]:
                op = step["op"]
                try:
                    if op == "list":
                        tools = await session.list_tools()
                        resources = await session.list_resources()
                        templates = await session.list_resource_templates()
                        out["steps"].append({
                            "tools": [dump(t) for t in tools.tools],
                            "resources": [dump(r) for r in resources.resources],
                            "templates": [dump(t) for t in templates.resource_templates],
                        })
                    elif op == "call":
                        res = await session.call_tool(step["name"], step.get("args", {}))
                        text = "".join(c.text for c in res.content if getattr(c, "type", "") == "text")
                        try:
                            parsed = json.loads(text)
                        except ValueError:
                            parsed = None
                        out["steps"].append({"isError": bool(res.is_error), "text": text, "json": parsed})
                    elif op == "read":
                        res = await session.read_resource(step["uri"])
                        text = "".join(getattr(c, "text", "") for c in res.contents)
                        out["steps"].append({"uri": step["uri"], "json": json.loads(text)})
                    else:
                        raise ValueError(f"unknown op {op}")
                except Exception as e:  # a protocol error is a result the test asserts on
                    out["steps"].append({"exception": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout)


anyio.run(main)
