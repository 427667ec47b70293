// The plugin against a fake dashclaw-hook that allows, denies, hangs, crashes and prints
// garbage; and, when DASHCLAW_REAL_HOOK is set (cargo test does), against the real hook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import plugin, { beforeToolCall, forwardAfter, hookEnv, register, resolveConfig } from "../index.js";

const here = dirname(fileURLToPath(import.meta.url));
const FAKE = join(here, "fake-hook.sh");
// A patch or a copy may drop the executable bit.
chmodSync(FAKE, 0o755);
const EXEC = { toolName: "exec", params: { command: "rm -rf ~" }, toolCallId: "c1", runId: "r1" };
const CTX = { agentId: "main", sessionId: "s1" };

function withMode(mode) {
  process.env.FAKE_MODE = mode;
}

async function decide(mode, config = { hookBin: FAKE, timeoutMs: 1500 }) {
  withMode(mode);
  return beforeToolCall(config)(EXEC, CTX);
}

test("a clean allow lets the call through", async () => {
  assert.equal(await decide("allow"), undefined);
  assert.equal(await decide("allow-json"), undefined);
});

test("a deny blocks with the hook's reason", async () => {
  const r = await decide("deny");
  assert.deepEqual(r, { block: true, blockReason: "[DashClaw] Blocked by policy: fake deny" });
});

test("every failure blocks", async () => {
  for (const mode of ["deny-silent", "crash", "fail", "garbage", "bogus"]) {
    const r = await decide(mode);
    assert.equal(r?.block, true, mode);
    assert.match(r.blockReason, /^\[DashClaw\] Blocked/, mode);
  }
  const missing = await decide("allow", { hookBin: "/nonexistent/dashclaw-hook" });
  assert.equal(missing?.block, true);
  assert.match(missing.blockReason, /could not run/);
});

test("a hanging hook is blocked at the plugin's own deadline", async () => {
  const started = Date.now();
  const r = await decide("hang", { hookBin: FAKE, timeoutMs: 500 });
  const took = Date.now() - started;
  assert.equal(r?.block, true);
  assert.match(r.blockReason, /within 500 ms/);
  assert.ok(took < 5000, `took ${took} ms`);
});

test("the hook gets our event and the call as JSON", async () => {
  const log = join(mkdtempSync(join(tmpdir(), "dcoc")), "calls.log");
  process.env.FAKE_LOG = log;
  try {
    await decide("allow");
    const [line] = readFileSync(log, "utf8").trim().split("\n");
    const [agent, event, ...rest] = line.split(" ");
    assert.equal(agent, "openclaw");
    assert.equal(event, "pre-tool-use");
    const body = JSON.parse(rest.join(" "));
    assert.equal(body.tool_name, "exec");
    assert.deepEqual(body.tool_input, { command: "rm -rf ~" });
    assert.equal(body.session_id, "s1");
    assert.equal(body.tool_use_id, "c1");
    assert.equal(typeof body.cwd, "string");

    withMode("deny");
    const run = await forwardAfter({ hookBin: FAKE }, { ...EXEC, result: { ok: 1 } }, CTX);
    assert.equal(run.code, 2, "after_tool_call reports but never blocks");
    const last = readFileSync(log, "utf8").trim().split("\n").pop();
    assert.match(last, /^openclaw post-tool-use /);
    assert.deepEqual(JSON.parse(last.split(" ").slice(2).join(" ")).tool_response, { ok: 1 });
  } finally {
    delete process.env.FAKE_LOG;
  }
});

test("register wires both hooks and the plugin config", async () => {
  const calls = [];
  const api = { pluginConfig: { hookBin: FAKE, timeoutMs: 1500 }, on: (...a) => calls.push(a) };
  plugin.register(api);
  assert.equal(plugin.id, "dashclaw-guard");
  assert.equal(register, plugin.register);
  assert.deepEqual(calls.map((c) => c[0]), ["before_tool_call", "after_tool_call"]);
  withMode("deny");
  assert.equal((await calls[0][1](EXEC, CTX))?.block, true);
  withMode("allow");
  assert.equal(await calls[0][1](EXEC, CTX), undefined);
  withMode("hang");
  const t0 = Date.now();
  assert.equal(calls[1][1](EXEC, CTX), undefined, "after_tool_call returns at once");
  assert.ok(Date.now() - t0 < 500);
});

test("config falls back to PATH and a sane deadline", () => {
  const saved = process.env.DASHCLAW_HOOK_BIN;
  delete process.env.DASHCLAW_HOOK_BIN;
  try {
    assert.deepEqual(resolveConfig(undefined), { hookBin: "dashclaw-hook", timeoutMs: 15000 });
    assert.deepEqual(resolveConfig({ hookBin: " ", timeoutMs: "x" }), {
      hookBin: "dashclaw-hook",
      timeoutMs: 15000,
    });
  } finally {
    if (saved !== undefined) process.env.DASHCLAW_HOOK_BIN = saved;
  }
});

const REAL = process.env.DASHCLAW_REAL_HOOK;
test("the real dashclaw-hook blocks a destructive exec and allows a harmless read", {
  skip: !REAL || !existsSync(REAL) ? "DASHCLAW_REAL_HOOK not set" : false,
}, async () => {
  const guard = beforeToolCall({ hookBin: REAL, timeoutMs: 15000 });
  const denied = await guard(EXEC, CTX);
  assert.equal(denied?.block, true);
  assert.match(denied.blockReason, /^\[DashClaw\]/);
  const allowed = await guard({ toolName: "read", params: { path: "/tmp/x" } }, CTX);
  assert.equal(allowed, undefined);
});

test("a server approval wait ends before the plugin's own deadline", () => {
  assert.equal(hookEnv({}, 15000).DASHCLAW_APPROVAL_TIMEOUT, "10");
  assert.equal(hookEnv({ DASHCLAW_APPROVAL_TIMEOUT: "300" }, 600000).DASHCLAW_APPROVAL_TIMEOUT, "300");
  assert.equal(hookEnv({ DASHCLAW_APPROVAL_TIMEOUT: "300" }, 60000).DASHCLAW_APPROVAL_TIMEOUT, "55");
  assert.equal(hookEnv({}, 100).DASHCLAW_APPROVAL_TIMEOUT, "5");
  assert.equal(hookEnv({ PATH: "/bin" }, 15000).PATH, "/bin");
});
