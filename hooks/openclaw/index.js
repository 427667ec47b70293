// DashClaw guard for OpenClaw (agent-hooks.md §4). ES module JavaScript with JSDoc types, so it
// runs as shipped, without a build step.
//
// before_tool_call runs `dashclaw-hook openclaw pre-tool-use` with one JSON object on stdin and
// blocks the call unless the hook gives a clean allow in time. OpenClaw awaits a stalled handler
// forever, and its per-hook timeout continues without a decision (fail open), so the deadline is
// ours: when it passes, the hook's process group is killed and the call is blocked.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

export const PLUGIN_ID = "dashclaw-guard";
export const DEFAULT_TIMEOUT_MS = 15000;
/** Output kept from the hook, per stream. */
const MAX_OUTPUT = 64 * 1024;

/**
 * @typedef {{ hookBin?: string, timeoutMs?: number }} GuardConfig
 * @typedef {{ toolName?: string, params?: Record<string, unknown>, runId?: string,
 *             toolCallId?: string, result?: unknown, error?: unknown,
 *             context?: { pluginConfig?: GuardConfig } }} ToolEvent
 * @typedef {{ agentId?: string, sessionKey?: string, sessionId?: string, runId?: string }} ToolContext
 * @typedef {{ code: number | null, signal: string | null, stdout: string, stderr: string,
 *             error: string | null, timedOut: boolean }} HookRun
 * @typedef {{ block: true, blockReason: string }} BlockResult
 */

/**
 * What `dashclawd install openclaw` wrote beside this file (`dashclaw.json`: the absolute hook
 * binary and the environment it needs, such as DASHCLAW_HOME), so the plugin works without
 * editing OpenClaw's config. Missing or unreadable: nothing.
 * @returns {{ hookBin?: string, env?: Record<string, string> }}
 */
export function installed() {
  try {
    const v = JSON.parse(readFileSync(new URL("./dashclaw.json", import.meta.url), "utf8"));
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}
const INSTALLED = installed();

/**
 * The hook binary and deadline: the event's plugin config, then the plugin's, then the
 * installer's `dashclaw.json`, then DASHCLAW_HOOK_BIN, then `dashclaw-hook` on PATH.
 * @param {GuardConfig | undefined} config
 * @returns {{ hookBin: string, timeoutMs: number }}
 */
export function resolveConfig(config) {
  const c = config && typeof config === "object" ? config : {};
  const hookBin =
    typeof c.hookBin === "string" && c.hookBin.trim() !== ""
      ? c.hookBin
      : typeof INSTALLED.hookBin === "string" && INSTALLED.hookBin !== ""
        ? INSTALLED.hookBin
        : process.env.DASHCLAW_HOOK_BIN || "dashclaw-hook";
  const t = Number(c.timeoutMs);
  const timeoutMs = Number.isFinite(t) && t >= 100 ? Math.min(t, 600000) : DEFAULT_TIMEOUT_MS;
  return { hookBin, timeoutMs };
}

/**
 * The JSON the hook reads (src/agents/openclaw.rs).
 * @param {ToolEvent} event
 * @param {ToolContext | undefined} ctx
 */
export function payload(event, ctx) {
  const e = event && typeof event === "object" ? event : {};
  const c = ctx && typeof ctx === "object" ? ctx : {};
  /** @type {Record<string, unknown>} */
  const p = {
    tool_name: typeof e.toolName === "string" ? e.toolName : "",
    tool_input: e.params && typeof e.params === "object" ? e.params : {},
    session_id: c.sessionId ?? c.sessionKey ?? null,
    cwd: process.cwd(),
    tool_use_id: e.toolCallId ?? null,
    agent_id: c.agentId ?? null,
    run_id: e.runId ?? c.runId ?? null,
  };
  return p;
}

/**
 * The hook's environment: ours, with a server approval wait that ends 5 s before this plugin
 * would kill the hook (never longer than the user asked for).
 * @param {NodeJS.ProcessEnv} env
 * @param {number} timeoutMs
 * @returns {NodeJS.ProcessEnv}
 */
export function hookEnv(env, timeoutMs) {
  const extra = INSTALLED.env && typeof INSTALLED.env === "object" ? INSTALLED.env : {};
  env = { ...env, ...extra };
  const fits = Math.max(5, Math.floor((timeoutMs - 5000) / 1000));
  const asked = Number(env.DASHCLAW_APPROVAL_TIMEOUT);
  const wait = Number.isFinite(asked) && asked > 0 ? Math.min(asked, fits) : fits;
  return { ...env, DASHCLAW_APPROVAL_TIMEOUT: String(wait) };
}

/**
 * Runs the hook once. Never rejects: every failure is described in the result.
 * @param {string} hookBin
 * @param {string} hookEvent our event name (`pre-tool-use`, `post-tool-use`)
 * @param {unknown} body
 * @param {number} timeoutMs
 * @returns {Promise<HookRun>}
 */
export function runHook(hookBin, hookEvent, body, timeoutMs) {
  return new Promise((resolve) => {
    /** @type {HookRun} */
    const run = { code: null, signal: null, stdout: "", stderr: "", error: null, timedOut: false };
    let settled = false;
    /** @param {Partial<HookRun>} patch */
    const finish = (patch) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...run, ...patch });
    };
    let child;
    try {
      child = spawn(hookBin, ["openclaw", hookEvent], {
        stdio: ["pipe", "pipe", "pipe"],
        // Own process group, so a deadline kills whatever the hook started too.
        detached: true,
        env: hookEnv(process.env, timeoutMs),
      });
    } catch (err) {
      resolve({ ...run, error: `cannot start ${hookBin}: ${errText(err)}` });
      return;
    }
    const timer = setTimeout(() => {
      killGroup(child);
      finish({ timedOut: true });
    }, timeoutMs);
    child.on("error", (err) => {
      killGroup(child);
      finish({ error: `cannot run ${hookBin}: ${errText(err)}` });
    });
    child.stdout.on("data", (d) => {
      if (run.stdout.length < MAX_OUTPUT) run.stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d) => {
      if (run.stderr.length < MAX_OUTPUT) run.stderr += d.toString("utf8");
    });
    child.on("close", (code, signal) => finish({ code, signal }));
    // A hook that exits without reading stdin makes the write fail; its exit code decides.
    child.stdin.on("error", () => {});
    let text;
    try {
      text = JSON.stringify(body);
    } catch (err) {
      killGroup(child);
      finish({ error: `cannot encode the tool call: ${errText(err)}` });
      return;
    }
    child.stdin.end(text);
  });
}

/** @param {import("node:child_process").ChildProcess} child */
function killGroup(child) {
  try {
    if (child.pid) process.kill(-child.pid, "SIGKILL");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** @param {unknown} err */
function errText(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The verdict of one hook run: `undefined` (no objection) only for a clean allow.
 * @param {HookRun} r
 * @param {string} hookBin
 * @param {number} timeoutMs
 * @returns {BlockResult | undefined}
 */
export function verdict(r, hookBin, timeoutMs) {
  const firstLine = r.stderr.trim();
  const prefix = "[DashClaw] ";
  if (r.error) return block(`${prefix}Blocked: the guard could not run (${r.error}).`);
  if (r.timedOut) {
    return block(`${prefix}Blocked: the guard gave no verdict within ${timeoutMs} ms.`);
  }
  if (r.code === 0) {
    const out = r.stdout.trim();
    if (out === "" || out === "{}") return undefined;
    return block(`${prefix}Blocked: ${hookBin} answered with unexpected output.`);
  }
  if (r.code === 2 && firstLine !== "") return block(firstLine);
  const how = r.signal ? `was killed by ${r.signal}` : `exited ${r.code}`;
  return block(
    `${prefix}Blocked: the guard ${how}${firstLine ? `: ${firstLine.split("\n")[0]}` : ""}.`,
  );
}

/** @param {string} reason @returns {BlockResult} */
function block(reason) {
  return { block: true, blockReason: reason };
}

/**
 * The before_tool_call handler for `config`. Never throws; blocks on anything but an allow.
 * @param {GuardConfig | undefined} pluginConfig
 */
export function beforeToolCall(pluginConfig) {
  /** @param {ToolEvent} event @param {ToolContext} [ctx] */
  return async (event, ctx) => {
    try {
      const { hookBin, timeoutMs } = resolveConfig(event?.context?.pluginConfig ?? pluginConfig);
      const r = await runHook(hookBin, "pre-tool-use", payload(event, ctx), timeoutMs);
      return verdict(r, hookBin, timeoutMs);
    } catch (err) {
      return block(`[DashClaw] Blocked: the guard failed (${errText(err)}).`);
    }
  };
}

/**
 * Forwards a finished call as post-tool-use; resolves when the hook is done. Never rejects.
 * @param {GuardConfig | undefined} pluginConfig
 * @param {ToolEvent} event
 * @param {ToolContext} [ctx]
 */
export async function forwardAfter(pluginConfig, event, ctx) {
  try {
    const { hookBin, timeoutMs } = resolveConfig(event?.context?.pluginConfig ?? pluginConfig);
    const body = { ...payload(event, ctx), tool_response: event?.result ?? event?.error ?? null };
    return await runHook(hookBin, "post-tool-use", body, timeoutMs);
  } catch {
    return undefined;
  }
}

/**
 * Registers the handlers on OpenClaw's plugin API.
 * @param {{ on: Function, pluginConfig?: GuardConfig }} api
 */
export function register(api) {
  const config = api?.pluginConfig;
  api.on("before_tool_call", beforeToolCall(config), { priority: 1000 });
  // Observe only: the record is sent in the background and never delays or blocks anything.
  api.on("after_tool_call", (/** @type {ToolEvent} */ event, /** @type {ToolContext} */ ctx) => {
    void forwardAfter(config, event, ctx);
    return undefined;
  });
}

/** The plugin entry, the shape `definePluginEntry({id, name, register})` takes. */
export default {
  id: PLUGIN_ID,
  name: "DashClaw guard",
  description: "Asks DashClaw before every tool call; blocks on deny and on any failure.",
  register,
};
