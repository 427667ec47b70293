//! `dashclawd identity`: the agents' signing keys and their pairing with the DashClaw server
//! (remote/identity.rs has the why). `pair` creates the key pair when there is none, asks the
//! server to pair it (`POST /api/pairings`), and waits for an admin's approval
//! (`GET /api/pairings/:id`); from then on the daemon signs that agent's action records.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::Method;
use serde_json::{json, Value};

use crate::remote::identity::{self, Pairing};
use crate::remote::{Api, ApiError, Settings};

#[derive(clap::Args)]
pub struct IdentityArgs {
    #[command(subcommand)]
    command: IdentityCommand,
}

#[derive(clap::Subcommand)]
enum IdentityCommand {
    /// Create the agent's key pair (once) and pair it with the server: an admin approves the
    /// request on the dashboard; then the agent's action records are signed.
    Pair {
        /// The agent id the server knows (default: `[server] agent_id`, else claude-code).
        #[arg(long)]
        agent_id: Option<String>,
        /// A label for the admin.
        #[arg(long)]
        name: Option<String>,
        /// Seconds to wait for the approval (0: create the request and return).
        #[arg(long, default_value_t = 900)]
        wait: u64,
    },
    /// The agents with a key here, their pairing state, and whether the daemon signs.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Print an agent's public key (PEM), e.g. for an admin's `POST /api/identities`.
    PublicKey {
        #[arg(long)]
        agent_id: Option<String>,
    },
}

pub fn run(args: IdentityArgs) -> Result<ExitCode> {
    let paths = crate::paths::Paths::from_env().context("resolving the DashClaw directories")?;
    let dir = paths.state_dir.join("identity");
    let loaded = crate::config::load(&paths.config_file);
    let settings = Settings::resolve(&loaded.config.server, &|k| std::env::var(k).ok());
    let configured_agent = settings
        .as_ref()
        .ok()
        .and_then(|s| s.as_ref())
        .and_then(|s| s.agent_id.clone());
    let default_agent = |a: Option<String>| {
        a.or_else(|| configured_agent.clone())
            .unwrap_or_else(|| "claude-code".to_owned())
    };
    match args.command {
        IdentityCommand::PublicKey { agent_id } => {
            let agent = default_agent(agent_id);
            match identity::load_key(&dir, &agent).map_err(anyhow::Error::msg)? {
                Some(k) => {
                    print!("{}", identity::public_pem(&k));
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("dashclawd: agent {agent:?} has no key yet; run `dashclawd identity pair --agent-id {agent}`");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        IdentityCommand::Status { json } => {
            let list = identity::list(&dir);
            if json {
                for (id, p) in &list {
                    println!("{}", json!({"agent_id": id, "pairing": p}));
                }
            } else if list.is_empty() {
                println!("no agent keys in {}", dir.display());
            } else {
                for (id, p) in &list {
                    match p {
                        Some(p) if p.status == "unpaired" => {
                            println!("{id}: key only, not paired")
                        }
                        Some(p) => println!(
                            "{id}: {} with {} ({})",
                            p.status,
                            p.base_url,
                            p.pairing_id.as_deref().unwrap_or("-")
                        ),
                        None => println!("{id}: key only, not paired"),
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        IdentityCommand::Pair {
            agent_id,
            name,
            wait,
        } => {
            let settings = match settings {
                Ok(Some(s)) => s,
                Ok(None) => {
                    eprintln!("dashclawd: no DashClaw server is configured (DASHCLAW_BASE_URL, DASHCLAW_API_KEY)");
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => {
                    eprintln!("dashclawd: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let agent = default_agent(agent_id);
            pair(&settings, &dir, &agent, name, Duration::from_secs(wait))
        }
    }
}

fn pair(
    settings: &Settings,
    dir: &std::path::Path,
    agent: &str,
    name: Option<String>,
    wait: Duration,
) -> Result<ExitCode> {
    let (key, created) = identity::load_or_create_key(dir, agent).map_err(anyhow::Error::msg)?;
    let fingerprint = identity::public_sha256(&key);
    if created {
        println!(
            "created a 2048-bit key pair for {agent} in {} (private, 0600)",
            identity::key_path(dir, agent).display()
        );
    }
    let api = Api::new(settings).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let timeout = Duration::from_secs(10);
    let call =
        |m: Method, path: &str, body: Option<&Value>| rt.block_on(api.call(m, path, body, timeout));
    let mut state = identity::load_pairing(dir, agent)
        .filter(|p| p.base_url == api.base_url())
        .unwrap_or(Pairing {
            agent_id: agent.to_owned(),
            base_url: api.base_url().to_owned(),
            pairing_id: None,
            status: String::new(),
            public_key_sha256: fingerprint.clone(),
            updated_ms: 0,
        });
    if state.status.is_empty() {
        // Remembers which agent id the key belongs to, before the server is asked anything.
        state.status = "unpaired".into();
        identity::save_pairing(dir, &state).map_err(anyhow::Error::msg)?;
    }
    if matches!(state.status.as_str(), "approved" | "registered") {
        println!(
            "{agent} is already paired with {} ({})",
            api.base_url(),
            state.pairing_id.as_deref().unwrap_or("-")
        );
        return Ok(ExitCode::SUCCESS);
    }
    if state.status != "pending" || state.pairing_id.is_none() {
        let body = json!({
            "agent_id": agent,
            "agent_name": name.unwrap_or_else(|| format!("{agent} (dashclawd)")),
            "public_key": identity::public_pem(&key),
            "algorithm": identity::ALGORITHM,
        });
        let resp = match call(Method::POST, "/api/pairings", Some(&body)) {
            Ok(r) if (200..300).contains(&r.status) => r,
            Err(ApiError::NoRoute) => {
                eprintln!(
                    "dashclawd: {} has no pairing endpoint. An admin can register the key directly:\n  POST {}/api/identities {{\"agent_id\": \"{agent}\", \"algorithm\": \"{}\", \"public_key\": <the output of `dashclawd identity public-key --agent-id {agent}`>}}\nthen set `[server] sign_actions = \"always\"`.",
                    api.base_url(),
                    api.base_url(),
                    identity::ALGORITHM
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(r) => {
                eprintln!(
                    "dashclawd: the server refused the pairing request (HTTP {}: {})",
                    r.status,
                    r.body.get("error").and_then(Value::as_str).unwrap_or("")
                );
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => {
                eprintln!("dashclawd: the server at {} {e}", api.base_url());
                return Ok(ExitCode::FAILURE);
            }
        };
        let pairing = resp.body.get("pairing").cloned().unwrap_or(Value::Null);
        let Some(id) = pairing.get("id").and_then(Value::as_str) else {
            eprintln!("dashclawd: the server's answer has no pairing id");
            return Ok(ExitCode::FAILURE);
        };
        state.pairing_id = Some(id.to_owned());
        state.status = "pending".into();
        state.updated_ms = crate::remote::now_ms();
        identity::save_pairing(dir, &state).map_err(anyhow::Error::msg)?;
        let url = resp
            .body
            .get("pairing_url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}/pairings", api.base_url()));
        println!(
            "pairing request {id} for {agent} created; an admin approves it at {url} (or POST {}/api/pairings/{id}/approve)",
            api.base_url()
        );
    }
    let id = state.pairing_id.clone().unwrap_or_default();
    if wait.is_zero() {
        println!("not waiting; run `dashclawd identity pair --agent-id {agent}` again to check");
        return Ok(ExitCode::SUCCESS);
    }
    println!("waiting up to {}s for the approval…", wait.as_secs());
    let deadline = Instant::now() + wait;
    loop {
        let status = match call(Method::GET, &format!("/api/pairings/{id}"), None) {
            Ok(r) if r.status == 200 => r
                .body
                .get("pairing")
                .and_then(|p| p.get("status"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            Ok(r) if r.status == 404 => "missing".to_owned(),
            Ok(_) | Err(_) => String::new(), // transient: keep asking
        };
        if matches!(status.as_str(), "approved" | "expired" | "missing") {
            state.status = if status == "missing" {
                "expired".into()
            } else {
                status.clone()
            };
            state.updated_ms = crate::remote::now_ms();
            identity::save_pairing(dir, &state).map_err(anyhow::Error::msg)?;
            if status == "approved" {
                println!("paired: {agent}'s action records are signed from now on");
                return Ok(ExitCode::SUCCESS);
            }
            eprintln!("dashclawd: pairing {id} {status}; run `dashclawd identity pair --agent-id {agent}` for a new request");
            return Ok(ExitCode::FAILURE);
        }
        if Instant::now() >= deadline {
            eprintln!("dashclawd: pairing {id} is still pending; run this again after an admin approved it");
            return Ok(ExitCode::FAILURE);
        }
        std::thread::sleep(Duration::from_secs(2).min(deadline - Instant::now()));
    }
}
