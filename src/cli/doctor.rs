//! `dashclawd doctor`: is the guard actually on? A hook that is installed wrongly is silently
//! off (a millisecond timeout, an untrusted Codex hook, a moved binary), so besides reading the
//! configuration this runs each agent's PreToolUse hook command exactly as the agent would, with
//! a synthetic destructive call, and reports whether it was held, executed or unprovable.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::Result;
use serde_json::{json, Value};

use crate::agents;
use crate::agents::doctor::{DoctorOptions, Report, Status};
use crate::event::Agent;
use crate::paths::Paths;

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

impl DoctorArgs {
    /// The configuration (and agent CLI) the user pointed `agent`'s checks at, if any. The
    /// flags are per agent for compatibility; an agent without one is checked at its defaults.
    fn overrides_for(&self, agent: Agent) -> (Option<PathBuf>, Option<PathBuf>) {
        match agent {
            Agent::Claude => (self.claude_settings.clone(), None),
            Agent::Codex => (self.codex_config.clone(), self.codex_bin.clone()),
            Agent::Hermes => (self.hermes_config.clone(), None),
            Agent::Openclaw => (self.openclaw_state.clone(), None),
        }
    }
}

pub fn run(args: DoctorArgs) -> Result<ExitCode> {
    let mut r = Report::default();
    let paths = Paths::from_env()?;
    check_config(&mut r, &paths);
    check_permissions(&mut r, &paths, args.fix);
    let daemon_version = check_daemon(&mut r, &paths);
    check_server(&mut r, &paths);

    // Every agent through its integration: adding an agent adds no line here.
    for integration in agents::INTEGRATIONS {
        let (config, agent_bin) = args.overrides_for(integration.agent());
        let opts = DoctorOptions {
            config,
            agent_bin,
            fix: args.fix,
            no_probe: args.no_probe,
            daemon_version: daemon_version.clone(),
        };
        integration.doctor(&mut r, &opts)?;
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
