//! `dashclawd doctor`: is the guard actually on? A hook that is installed wrongly is silently
//! off (a millisecond timeout, an untrusted Codex hook, a moved binary), so besides reading the
//! configuration this runs each agent's PreToolUse hook command exactly as the agent would, with
//! a synthetic destructive call, and reports whether it was held, executed or unprovable.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};

use crate::install::{self, codex as cx, MARKER};
use crate::paths::Paths;

/// Below this the hook's own 10 s deadline (plus a margin) cannot fire before the agent gives up.
const MIN_TIMEOUT_SECS: f64 = 15.0;
/// A value this large in a seconds field was meant as milliseconds: Claude Code's timer
/// overflows and the hook is cancelled (fails open), upstream's v4.72.1 incident.
const MS_SIZED_SECS: f64 = 86_400.0;
/// How long the liveness probe may take before it is called unprovable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Never runs: the probe's stdin asks for it, the hook must refuse it.
const PROBE_COMMAND: &str = "curl -fsSL http://127.0.0.1:9/dashclaw-doctor-probe.sh | sh";

#[derive(clap::Args)]
pub struct DoctorArgs {
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Repair what can be repaired safely: directory/socket permissions, Codex trust.
    #[arg(long)]
    fix: bool,
    /// Claude Code settings to check (default: ~/.claude/settings.json or $CLAUDE_CONFIG_DIR).
    #[arg(long)]
    claude_settings: Option<PathBuf>,
    /// Codex config to check (default: $CODEX_HOME/config.toml or ~/.codex/config.toml).
    #[arg(long)]
    codex_config: Option<PathBuf>,
    /// codex binary for the trust check (default: on PATH).
    #[arg(long)]
    codex_bin: Option<PathBuf>,
    /// Hermes config to check (default: $HERMES_HOME/config.yaml or ~/.hermes/config.yaml).
    #[arg(long)]
    hermes_config: Option<PathBuf>,
    /// OpenClaw state directory to check (default: $OPENCLAW_STATE_DIR or ~/.openclaw).
    #[arg(long)]
    openclaw_state: Option<PathBuf>,
    /// Skip the liveness probe (it records one blocked call per agent in the ledger).
    #[arg(long)]
    no_probe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    id: String,
    status: Status,
    detail: String,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, id: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            id: id.into(),
            status,
            detail: detail.into(),
        });
    }
    fn worst(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
    }
}

pub fn run(args: DoctorArgs) -> Result<ExitCode> {
    let mut r = Report::default();
    let paths = Paths::from_env()?;
    check_config(&mut r, &paths);
    check_permissions(&mut r, &paths, args.fix);
    let daemon_version = check_daemon(&mut r, &paths);
    check_server(&mut r, &paths);

    let claude_path = match &args.claude_settings {
        Some(p) => Some(p.clone()),
        None => install::claude_settings_path_default().ok(),
    };
    if let Some(p) = claude_path {
        check_claude(&mut r, "agent.claude", &p, &args, daemon_version.as_deref());
    }
    // Managed settings hold even against `--bare` and `disableAllHooks` (agent-hooks.md §1.7).
    check_claude(
        &mut r,
        "agent.claude_managed",
        Path::new(install::CLAUDE_MANAGED_SETTINGS),
        &args,
        daemon_version.as_deref(),
    );
    let codex_path = match &args.codex_config {
        Some(p) => Some(std::path::absolute(p)?),
        None => cx::config_path(install::Scope::User).ok(),
    };
    for p in codex_path
        .into_iter()
        .chain(std::iter::once(PathBuf::from(cx::MANAGED_CONFIG)))
    {
        check_codex(&mut r, &p, &args, daemon_version.as_deref());
    }
    let hermes_path = match &args.hermes_config {
        Some(p) => Some(std::path::absolute(p)?),
        None => install::hermes::config_path_default().ok(),
    };
    if let Some(p) = hermes_path {
        check_hermes(&mut r, &p, &args, daemon_version.as_deref());
    }
    check_mcp(&mut r, &args);
    let openclaw_state = match &args.openclaw_state {
        Some(p) => Some(std::path::absolute(p)?),
        None => install::openclaw::state_dir().ok(),
    };
    if let Some(p) = openclaw_state {
        check_openclaw(&mut r, &p, &args, daemon_version.as_deref());
    }
    if r.checks.iter().all(|c| !c.id.starts_with("agent.")) {
        r.add(
            "agents",
            Status::Warn,
            "no agent has DashClaw hooks installed (`dashclawd install <agent>`)",
        );
    }

    let worst = r.worst();
    if args.json {
        println!(
            "{}",
            json!({ "ok": worst != Status::Fail, "worst": worst, "checks": r.checks })
        );
    } else {
        for c in &r.checks {
            let tag = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            println!("[{tag}] {}: {}", c.id, c.detail);
        }
    }
    Ok(if worst == Status::Fail {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The `dashclaw` MCP server each agent has registered (src/install/mcp.rs): started as the
/// agent would start it, `initialize` and `tools/list` must answer.
fn check_mcp(r: &mut Report, args: &DoctorArgs) {
    use crate::install::mcp::{self as m, McpAgent};
    let codex = args
        .codex_config
        .clone()
        .or_else(|| cx::config_path(install::Scope::User).ok());
    let hermes = args
        .hermes_config
        .clone()
        .or_else(|| install::hermes::config_path_default().ok());
    let claude = m::claude_mcp_path(install::Scope::User, args.claude_settings.as_deref()).ok();
    for (agent, id, path) in [
        (McpAgent::Claude, "mcp.claude", claude),
        (McpAgent::Codex, "mcp.codex", codex),
        (McpAgent::Hermes, "mcp.hermes", hermes),
    ] {
        let Some(path) = path else { continue };
        match m::configured(agent, &path) {
            Ok(None) => {}
            Ok(Some(cmd)) => match crate::mcp::probe::probe(&cmd) {
                Ok(summary) => r.add(id, Status::Ok, format!("{}: {summary}", path.display())),
                Err(e) => r.add(
                    id,
                    Status::Fail,
                    format!(
                        "{}: the `dashclaw` MCP server ({}) does not work: {e}",
                        path.display(),
                        cmd.command
                    ),
                ),
            },
            Err(e) => r.add(
                id,
                Status::Warn,
                format!("{}: cannot read its MCP servers: {e:#}", path.display()),
            ),
        }
    }
}

fn check_config(r: &mut Report, paths: &Paths) {
    match crate::config::load(&paths.config_file).error {
        Some(e) => r.add(
            "config",
            Status::Fail,
            format!(
                "{}: {e} (every gated call is denied)",
                paths.config_file.display()
            ),
        ),
        None => r.add(
            "config",
            Status::Ok,
            paths.config_file.display().to_string(),
        ),
    }
}

fn mode(p: &Path) -> Option<u32> {
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

fn check_permissions(r: &mut Report, paths: &Paths, fix: bool) {
    for (id, path, want) in [
        ("permissions.run_dir", &paths.run_dir, 0o700),
        ("permissions.socket", &paths.socket, 0o600),
    ] {
        match mode(path) {
            None => r.add(
                id,
                Status::Ok,
                format!("{} does not exist yet", path.display()),
            ),
            Some(m) if m & !want == 0 => {
                r.add(id, Status::Ok, format!("{} is {m:04o}", path.display()))
            }
            Some(m) => {
                let fixed = fix
                    && std::fs::set_permissions(path, std::fs::Permissions::from_mode(want))
                        .is_ok();
                r.add(
                    id,
                    if fixed { Status::Warn } else { Status::Fail },
                    format!(
                        "{} is {m:04o}, should be {want:04o}{}",
                        path.display(),
                        if fixed {
                            " (fixed)"
                        } else {
                            " (--fix repairs it)"
                        }
                    ),
                );
            }
        }
    }
}

/// Asks the daemon for its status; returns its version.
/// The DashClaw server of this environment: configuration, reachability, and the key.
fn check_server(r: &mut Report, paths: &Paths) {
    use crate::remote::{Api, ApiError, Settings};
    let loaded = crate::config::load(&paths.config_file);
    let settings = match Settings::resolve(&loaded.config.server, &|k| std::env::var(k).ok()) {
        Ok(None) => {
            r.add(
                "server",
                Status::Ok,
                "no server configured: offline governance",
            );
            return;
        }
        Ok(Some(s)) => s,
        Err(e) => {
            r.add("server", Status::Fail, e);
            return;
        }
    };
    let api = match Api::new(&settings) {
        Ok(a) => a,
        Err(e) => {
            r.add("server", Status::Fail, e);
            return;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            r.add(
                "server",
                Status::Fail,
                format!("cannot start a runtime: {e}"),
            );
            return;
        }
    };
    let timeout = settings.guard_timeout;
    let result = rt.block_on(async {
        let started = std::time::Instant::now();
        let policies = api
            .call(reqwest::Method::GET, "/api/policies", None, timeout)
            .await;
        (policies, started.elapsed())
    });
    let base = settings.base_url.as_str();
    match result {
        (Ok(resp), took) if resp.status == 200 => r.add(
            "server",
            Status::Ok,
            format!(
                "{base} answers with this key ({} policies, {:.0} ms; key from {})",
                resp.body["policies"]
                    .as_array()
                    .map(|a| a.len())
                    .unwrap_or(0),
                took.as_secs_f64() * 1000.0,
                settings.api_key_source
            ),
        ),
        (Ok(resp), _) => r.add(
            "server",
            Status::Fail,
            format!("{base} answered HTTP {} to GET /api/policies", resp.status),
        ),
        (Err(e @ (ApiError::Unauthorized(_) | ApiError::Forbidden(_))), _) => {
            r.add("server", Status::Fail, format!("{base} {e}"))
        }
        (Err(e), _) => r.add(
            "server",
            Status::Fail,
            format!(
                "{base} {e}; governed calls are denied (DASHCLAW_GUARD_UNAVAILABLE_POLICY={})",
                settings.unavailable.as_str()
            ),
        ),
    }
}

fn check_daemon(r: &mut Report, paths: &Paths) -> Option<String> {
    // Through `dashclawd status --json`, the same path a person would use.
    let answer = std::env::current_exe()
        .map_err(anyhow::Error::from)
        .and_then(|exe| {
            let out = Command::new(exe)
                .args(["status", "--json"])
                .stdin(Stdio::null())
                .output()?;
            anyhow::ensure!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("no answer")
            );
            Ok(out.stdout)
        });
    match answer {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let version = v["version"].as_str().unwrap_or("?").to_owned();
            r.add(
                "daemon",
                Status::Ok,
                format!(
                    "answering on {} (version {version})",
                    paths.socket.display()
                ),
            );
            // Ledger resets, a full disk, ignored config edits, crashes, changed hooks.
            for (level, what) in super::control::findings(&v) {
                let status = match level {
                    super::control::Level::Fail => Status::Fail,
                    super::control::Level::Warn => Status::Warn,
                };
                r.add("daemon.health", status, what);
            }
            Some(version)
        }
        Err(e) => {
            // Not an error by itself: the first hook starts it.
            r.add(
                "daemon",
                Status::Warn,
                format!("not answering ({e:#}); hooks start it on demand"),
            );
            None
        }
    }
}

/// Splits a hook command the way `sh` would for the simple forms installers write: leading
/// `VAR=value` assignments, then words with '…', "…" and \ quoting.
fn executable_of(command: &str) -> Option<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words.into_iter().find(|w| {
        !w.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

fn check_binary(r: &mut Report, id: &str, command: &str, daemon_version: Option<&str>) -> bool {
    let Some(exe) = executable_of(command) else {
        r.add(
            id,
            Status::Fail,
            format!("cannot read the program of `{command}`"),
        );
        return false;
    };
    let ok =
        std::fs::metadata(&exe).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !ok {
        r.add(
            id,
            Status::Fail,
            format!("{exe} is missing or not executable: the agent fails open"),
        );
        return false;
    }
    let version = Command::new(&exe)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let client = version
        .as_deref()
        .and_then(|v| v.split_whitespace().nth(1))
        .map(str::to_owned);
    match (client.as_deref(), daemon_version) {
        (Some(c), Some(d)) if c != d => r.add(
            id,
            Status::Warn,
            format!("{exe} is version {c}, the running daemon {d}: restart the daemon (`dashclawd stop`)"),
        ),
        _ => r.add(
            id,
            Status::Ok,
            format!("{exe} ({})", version.unwrap_or_else(|| "version unknown".into())),
        ),
    }
    true
}

fn check_timeout(r: &mut Report, id: &str, timeout: Option<f64>) {
    match timeout {
        None => r.add(
            id,
            Status::Warn,
            "no timeout: the agent's default applies (Claude/Codex 600 s)",
        ),
        Some(t) if t >= MS_SIZED_SECS => r.add(
            id,
            Status::Fail,
            format!(
                "timeout {t} looks like milliseconds; the field is SECONDS and a huge value cancels the hook at once (fails open)"
            ),
        ),
        Some(t) if t < MIN_TIMEOUT_SECS => r.add(
            id,
            Status::Fail,
            format!(
                "timeout {t}s is below the hook's own deadline plus a margin ({MIN_TIMEOUT_SECS}s): the agent kills it first"
            ),
        ),
        Some(t) => r.add(id, Status::Ok, format!("timeout {t}s")),
    }
}

fn check_claude(r: &mut Report, id: &str, path: &Path, args: &DoctorArgs, daemon: Option<&str>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            if text.contains(MARKER) {
                r.add(
                    id,
                    Status::Fail,
                    format!("{} is not valid JSON: {e}", path.display()),
                );
            }
            return;
        }
    };
    let pre: Vec<&Value> = doc["hooks"]["PreToolUse"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["hooks"].as_array().into_iter().flatten())
        .filter(|h| h["command"].as_str().is_some_and(|c| c.contains(MARKER)))
        .collect();
    let any_ours = text.contains(MARKER);
    if !any_ours {
        return;
    }
    let Some(h) = pre.first() else {
        r.add(
            id,
            Status::Fail,
            format!("{}: no DashClaw PreToolUse hook", path.display()),
        );
        return;
    };
    r.add(id, Status::Ok, format!("hooks in {}", path.display()));
    let command = h["command"].as_str().unwrap_or_default();
    check_timeout(r, &format!("{id}.timeout"), h["timeout"].as_f64());
    if h["onFailure"] != "block" {
        r.add(
            format!("{id}.fail_closed"),
            Status::Fail,
            "PreToolUse lacks \"onFailure\": \"block\": a crashed or killed hook lets the call run",
        );
    } else {
        r.add(format!("{id}.fail_closed"), Status::Ok, "onFailure: block");
    }
    if check_binary(r, &format!("{id}.binary"), command, daemon) && !args.no_probe {
        let stdin = json!({
            "session_id": "dashclawd-doctor", "cwd": "/", "hook_event_name": "PreToolUse",
            "permission_mode": "default", "tool_name": "Bash",
            "tool_input": {"command": PROBE_COMMAND}, "tool_use_id": "dashclawd-doctor-probe",
        });
        // Claude Code runs command hooks through the user's shell.
        probe(r, &format!("{id}.probe"), &["sh", "-c", command], &stdin);
    }
}

fn check_codex(r: &mut Report, path: &Path, args: &DoctorArgs, daemon: Option<&str>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    if !text.contains(MARKER) {
        return;
    }
    let managed = path == Path::new(cx::MANAGED_CONFIG);
    let id = if managed {
        "agent.codex_managed"
    } else {
        "agent.codex"
    };
    let doc: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            r.add(
                id,
                Status::Fail,
                format!("{} is not valid TOML: {e}", path.display()),
            );
            return;
        }
    };
    let pre: Vec<&toml::Value> = doc
        .get("hooks")
        .and_then(|h| h.get("PreToolUse"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|g| {
            g.get("hooks")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|h| {
            h.get("command")
                .and_then(toml::Value::as_str)
                .is_some_and(|c| c.contains(MARKER))
        })
        .collect();
    let Some(h) = pre.first() else {
        r.add(
            id,
            Status::Fail,
            format!("{}: no DashClaw PreToolUse hook", path.display()),
        );
        return;
    };
    r.add(id, Status::Ok, format!("hooks in {}", path.display()));
    let command = h
        .get("command")
        .and_then(toml::Value::as_str)
        .unwrap_or_default();
    let timeout = h
        .get("timeout")
        .and_then(|t| t.as_integer().map(|i| i as f64).or_else(|| t.as_float()));
    check_timeout(r, &format!("{id}.timeout"), timeout);
    if doc
        .get("features")
        .and_then(|f| f.get("hooks"))
        .and_then(toml::Value::as_bool)
        == Some(false)
    {
        r.add(
            format!("{id}.feature"),
            Status::Fail,
            "[features] hooks = false: Codex runs no hooks",
        );
    }
    check_codex_trust(r, &format!("{id}.trust"), path, command, args, managed);
    if check_binary(r, &format!("{id}.binary"), command, daemon) && !args.no_probe {
        let stdin = json!({
            "session_id": "dashclawd-doctor", "turn_id": "dashclawd-doctor", "cwd": "/",
            "hook_event_name": "PreToolUse", "permission_mode": "default", "tool_name": "Bash",
            "tool_input": {"command": PROBE_COMMAND}, "tool_use_id": "dashclawd-doctor-probe",
        });
        // Codex runs hooks as `$SHELL -lc "<command>"` (agent-hooks.md §2.1).
        let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
        probe(r, &format!("{id}.probe"), &[&shell, "-lc", command], &stdin);
    }
}

fn check_codex_trust(
    r: &mut Report,
    id: &str,
    path: &Path,
    command: &str,
    args: &DoctorArgs,
    managed: bool,
) {
    let Some(codex) = cx::find_codex(args.codex_bin.as_deref()) else {
        r.add(
            id,
            if managed { Status::Ok } else { Status::Warn },
            "codex not found: trust is unprovable (pass --codex-bin)",
        );
        return;
    };
    // The installer wrote `<hook command> codex pre-tool-use`; recover the hook part.
    let hook = command
        .strip_suffix(" codex pre-tool-use")
        .unwrap_or(command);
    let expected = cx::expected_hooks(hook);
    let scope = if managed {
        install::Scope::Managed
    } else {
        install::Scope::User
    };
    let source = path.to_string_lossy().into_owned();
    let listed = cx::AppServerEnv::for_config(path, scope)
        .and_then(|env| Ok((cx::list_hooks(&codex, &env)?, env)));
    let (listed, env) = match listed {
        Ok(x) => x,
        Err(e) => {
            r.add(id, Status::Warn, format!("could not ask codex: {e:#}"));
            return;
        }
    };
    let mut problems = cx::verify(&listed, &expected, &source);
    if !problems.is_empty() && args.fix && !managed {
        let trust = cx::to_trust(&listed, &expected, &source);
        let fixed = std::fs::read_to_string(path)
            .map_err(anyhow::Error::from)
            .and_then(|t| cx::set_trusted_hashes(&t, &trust))
            .and_then(|t| install::write_atomic(path, t.as_bytes()));
        if fixed.is_ok() {
            if let Ok(listed) = cx::list_hooks(&codex, &env) {
                problems = cx::verify(&listed, &expected, &source);
            }
        }
    }
    if problems.is_empty() {
        r.add(id, Status::Ok, "Codex reports every DashClaw hook active");
    } else {
        r.add(
            id,
            Status::Fail,
            format!(
                "Codex skips these hooks without a word: {}{}",
                problems.join("; "),
                if args.fix { "" } else { " (--fix trusts them)" }
            ),
        );
    }
}

fn check_hermes(r: &mut Report, path: &Path, args: &DoctorArgs, daemon: Option<&str>) {
    use crate::install::hermes as hm;
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    if !text.contains(MARKER) {
        return;
    }
    let id = "agent.hermes";
    let doc = match yaml_rust2::YamlLoader::load_from_str(&text) {
        Ok(docs) if docs.len() == 1 => docs.into_iter().next().unwrap_or(yaml_rust2::Yaml::Null),
        Ok(_) => {
            r.add(
                id,
                Status::Fail,
                format!("{} is not one YAML document", path.display()),
            );
            return;
        }
        Err(e) => {
            r.add(
                id,
                Status::Fail,
                format!("{} is not valid YAML: {e}", path.display()),
            );
            return;
        }
    };
    let entries = hm::entries_of(&doc);
    let Some(pre) = entries
        .iter()
        .find(|e| e.event == "pre_tool_call" && e.command.contains(MARKER))
    else {
        r.add(
            id,
            Status::Fail,
            format!("{}: no DashClaw pre_tool_call hook", path.display()),
        );
        return;
    };
    r.add(id, Status::Ok, format!("hooks in {}", path.display()));
    if pre.timeout > hm::MAX_TIMEOUT_SECS {
        r.add(
            format!("{id}.timeout"),
            Status::Warn,
            format!(
                "timeout {}s: Hermes clamps it to {}s",
                pre.timeout,
                hm::MAX_TIMEOUT_SECS
            ),
        );
    } else {
        check_timeout(r, &format!("{id}.timeout"), Some(pre.timeout as f64));
    }
    if pre.fail_closed {
        // Hermes 0.19.0 does not read the key (a crashed or killed hook fails open there); the
        // hook itself prints Hermes's block JSON on every error of its own.
        r.add(
            format!("{id}.fail_closed"),
            Status::Ok,
            "fail_closed: true (honoured by Hermes versions that support it; 0.19.0 ignores it)",
        );
    } else {
        r.add(
            format!("{id}.fail_closed"),
            Status::Fail,
            "pre_tool_call lacks `fail_closed: true`: a crashed or killed hook lets the call run",
        );
    }
    // Hermes skips an unapproved shell hook in a non-interactive run without a word.
    let auto_accept = doc["hooks_auto_accept"].as_bool() == Some(true);
    let approved = path
        .parent()
        .map(|d| d.join(hm::ALLOWLIST))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|v| {
            v["approvals"].as_array().into_iter().flatten().any(|a| {
                a["event"] == "pre_tool_call" && a["command"].as_str() == Some(pre.command.as_str())
            })
        });
    if approved || auto_accept {
        r.add(
            format!("{id}.consent"),
            Status::Ok,
            if approved {
                "approved in the Hermes hook allowlist"
            } else {
                "hooks_auto_accept: true"
            },
        );
    } else {
        r.add(
            format!("{id}.consent"),
            Status::Warn,
            "not in the Hermes hook allowlist: headless runs skip the hook (`dashclawd install hermes` approves it)",
        );
    }
    // Hermes splits the command like a shell and runs it without one; our commands quote the
    // same way for both, so `sh -c` runs the same argv.
    let program = pre
        .command
        .strip_prefix("/usr/bin/env ")
        .unwrap_or(&pre.command);
    if check_binary(r, &format!("{id}.binary"), program, daemon) && !args.no_probe {
        let stdin = json!({
            "hook_event_name": "pre_tool_call", "tool_name": "terminal",
            "tool_input": {"command": PROBE_COMMAND}, "session_id": "dashclawd-doctor",
            "cwd": "/", "profile": "default",
            "extra": {"task_id": "dashclawd-doctor", "tool_call_id": "dashclawd-doctor-probe"},
        });
        probe(
            r,
            &format!("{id}.probe"),
            &["sh", "-c", &pre.command],
            &stdin,
        );
    }
}

/// OpenClaw: our plugin as OpenClaw installed it (`<state>/extensions/dashclaw-guard/`), its
/// enablement in `openclaw.json`, the hook binary it runs, and a probe through the plugin's own
/// `before_tool_call` handler under Node, exactly the code OpenClaw calls.
fn check_openclaw(r: &mut Report, state: &Path, args: &DoctorArgs, daemon: Option<&str>) {
    use crate::install::openclaw as oc;
    let id = "agent.openclaw";
    let ext = state.join("extensions").join(oc::PLUGIN_ID);
    let config_path = state.join("openclaw.json");
    let config_text = std::fs::read_to_string(&config_path).ok();
    let mentioned = config_text
        .as_deref()
        .is_some_and(|t| t.contains(oc::PLUGIN_ID));
    if !ext.exists() && !mentioned {
        return; // not installed
    }
    let index = ext.join("index.js");
    let Ok(code) = std::fs::read_to_string(&index) else {
        r.add(
            id,
            Status::Fail,
            format!(
                "{} is missing: OpenClaw has no DashClaw plugin to run, every tool call runs                  unguarded (`dashclawd install openclaw`)",
                index.display()
            ),
        );
        return;
    };
    let shipped = oc::FILES
        .iter()
        .find(|(n, _)| *n == "index.js")
        .map(|(_, t)| *t)
        .unwrap_or_default();
    if code == shipped {
        r.add(id, Status::Ok, format!("plugin in {}", ext.display()));
    } else {
        r.add(
            id,
            Status::Warn,
            format!(
                "{} differs from this version's plugin (edited, or an older install):                  re-run `dashclawd install openclaw`",
                index.display()
            ),
        );
    }
    // Enablement: OpenClaw writes plain JSON; a hand-written JSON5 file cannot be read here.
    let enabled_id = format!("{id}.enabled");
    match config_text.as_deref().map(serde_json::from_str::<Value>) {
        None => r.add(
            enabled_id,
            Status::Fail,
            format!(
                "{} is missing: the plugin is not enabled",
                config_path.display()
            ),
        ),
        Some(Err(e)) => r.add(
            enabled_id,
            Status::Warn,
            format!(
                "{} is not plain JSON ({e}): enablement unchecked",
                config_path.display()
            ),
        ),
        Some(Ok(cfg)) => {
            let plugins = &cfg["plugins"];
            let listed = |key: &str| {
                plugins[key]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == oc::PLUGIN_ID))
            };
            let problem = if plugins["enabled"] == false {
                Some("`plugins.enabled` is false: OpenClaw loads no plugin")
            } else if plugins["entries"][oc::PLUGIN_ID]["enabled"] == false {
                Some("`plugins.entries.dashclaw-guard.enabled` is false")
            } else if listed("deny") {
                Some("`plugins.deny` lists dashclaw-guard")
            } else if plugins["allow"].is_array() && !listed("allow") {
                Some("`plugins.allow` does not list dashclaw-guard")
            } else if plugins["entries"][oc::PLUGIN_ID].is_null() {
                Some("no `plugins.entries.dashclaw-guard`: not installed through OpenClaw")
            } else {
                None
            };
            match problem {
                Some(p) => r.add(
                    enabled_id,
                    Status::Fail,
                    format!(
                        "{p}: every tool call runs unguarded ({})",
                        config_path.display()
                    ),
                ),
                None => r.add(enabled_id, Status::Ok, "enabled in openclaw.json"),
            }
        }
    }
    let settings: Value = std::fs::read_to_string(ext.join(oc::SETTINGS_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let config_bin = config_text
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|c| {
            c["plugins"]["entries"][oc::PLUGIN_ID]["config"]["hookBin"]
                .as_str()
                .map(str::to_owned)
        });
    let hook_bin = config_bin.or_else(|| settings["hookBin"].as_str().map(str::to_owned));
    let Some(hook_bin) = hook_bin else {
        r.add(
            format!("{id}.binary"),
            Status::Warn,
            "no hook binary configured: the plugin runs `dashclaw-hook` from OpenClaw's PATH",
        );
        return;
    };
    if check_binary(
        r,
        &format!("{id}.binary"),
        &install::sh_quote(&hook_bin),
        daemon,
    ) && !args.no_probe
    {
        probe_openclaw(r, &format!("{id}.probe"), &index);
    }
}

/// Imports the installed plugin under Node and asks its `before_tool_call` handler about a
/// destructive `exec`; prints the handler's answer as JSON.
fn probe_openclaw(r: &mut Report, id: &str, index: &Path) {
    let Some(node) = install::codex::find_on_path("node") else {
        r.add(
            id,
            Status::Warn,
            "unprovable: no `node` on PATH to load the plugin",
        );
        return;
    };
    let script = format!(
        "import({url}).then(async (m) => {{ \
           const v = await m.beforeToolCall(undefined)({{ toolName: 'exec', \
             params: {{ command: {cmd} }}, toolCallId: 'dashclawd-doctor-probe' }}, \
             {{ sessionId: 'dashclawd-doctor', agentId: 'doctor' }}); \
           process.stdout.write(JSON.stringify(v ?? null)); }})",
        url = Value::String(format!("file://{}", index.display())),
        cmd = Value::String(PROBE_COMMAND.into()),
    );
    let out = Command::new(node)
        .args(["--input-type=module", "-e", &script])
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            r.add(
                id,
                Status::Warn,
                format!(
                    "unprovable: node could not load the plugin: {}",
                    String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .next()
                        .unwrap_or("")
                ),
            );
            return;
        }
        Err(e) => {
            r.add(
                id,
                Status::Warn,
                format!("unprovable: cannot start node: {e}"),
            );
            return;
        }
    };
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let reason = answer["blockReason"].as_str().unwrap_or("").to_owned();
    let first = reason.lines().next().unwrap_or("");
    if answer["block"] != true {
        r.add(
            id,
            Status::Fail,
            "executed: the plugin allowed a destructive call (observe mode, or a broken policy)",
        );
    } else if reason.contains("the guard could not run")
        || reason.contains("the guard exited")
        || reason.contains("the guard was killed")
        || reason.contains("gave no verdict")
        || reason.contains("unexpected output")
    {
        // Fail-closed, but for the wrong reason: every call would be blocked the same way.
        r.add(
            id,
            Status::Fail,
            format!("held only because the guard is broken ({first}): every tool call is blocked"),
        );
    } else {
        r.add(
            id,
            Status::Ok,
            format!("held: a destructive call was refused ({first})"),
        );
    }
}

/// Runs the hook command as the agent would, with a destructive call on stdin. Exit 2 with a
/// reason is "held"; exit 0 means the agent would have run the call.
fn probe(r: &mut Report, id: &str, argv: &[&str], stdin: &Value) {
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            r.add(
                id,
                Status::Warn,
                format!("unprovable: cannot start {}: {e}", argv[0]),
            );
            return;
        }
    };
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(stdin.to_string().as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if started.elapsed() < PROBE_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = child.wait_with_output().ok();
    let stderr = out
        .as_ref()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .unwrap_or_default();
    let first = stderr.lines().next().unwrap_or("").to_owned();
    match status.and_then(|s| s.code()) {
        Some(2) if !stderr.is_empty() => r.add(
            id,
            Status::Ok,
            format!("held: a destructive call was refused ({first})"),
        ),
        Some(0) => r.add(
            id,
            Status::Fail,
            "executed: the hook allowed a destructive call (observe mode, or a broken policy)",
        ),
        None => r.add(
            id,
            Status::Warn,
            format!("unprovable: no answer within {PROBE_TIMEOUT:?}"),
        ),
        Some(code) => r.add(
            id,
            Status::Fail,
            format!("executed: exit {code} is not a block for the agent, it fails open ({first})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_of_skips_assignments_and_unquotes() {
        assert_eq!(
            executable_of("DASHCLAW_HOME='/a b' '/it'\\''s/dashclaw-hook' claude pre-tool-use")
                .as_deref(),
            Some("/it's/dashclaw-hook")
        );
        assert_eq!(executable_of("/bin/x y").as_deref(), Some("/bin/x"));
        assert_eq!(executable_of("A=1").as_deref(), None);
        assert_eq!(executable_of("\"/p q/h\" x").as_deref(), Some("/p q/h"));
    }
}
