//! `dashclawd policy lint|test|list`: check the user's policy file before the daemon loads it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::paths::Paths;
use crate::policy::file::{lint_file, load_file};
use crate::policy::{self, Level, PolicySet, SystemClock};

#[derive(clap::Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(clap::Subcommand)]
enum PolicyCommand {
    /// Validate a policy file; errors name the line and the field (exit 1 on any error).
    Lint {
        /// Default: policies.toml beside config.toml.
        file: Option<PathBuf>,
    },
    /// Run the file's policy `rules.tests` and `[[example]]` events (exit 1 on any failure).
    Test {
        /// Default: policies.toml beside config.toml.
        file: Option<PathBuf>,
    },
    /// Show every policy that would be in force: the built-in pack, then the file's.
    List {
        /// Default: policies.toml beside config.toml.
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn default_file() -> Result<PathBuf> {
    Ok(Paths::from_env()
        .context("finding the configuration directory")?
        .config_file
        .with_file_name("policies.toml"))
}

pub fn run(args: PolicyArgs) -> Result<ExitCode> {
    match args.command {
        PolicyCommand::Lint { file } => lint(file),
        PolicyCommand::Test { file } => test(file),
        PolicyCommand::List { file, json } => list(file, json),
    }
}

fn lint(file: Option<PathBuf>) -> Result<ExitCode> {
    let explicit = file.is_some();
    let path = match file {
        Some(f) => f,
        None => default_file()?,
    };
    let report = lint_file(&path);
    if report.missing {
        println!(
            "{}: no policy file (only the built-in pack applies)",
            path.display()
        );
        return Ok(if explicit {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    for i in &report.issues {
        println!("{i}");
    }
    let errors = report.errors();
    let warnings = report.issues.len() - errors;
    println!(
        "{}: {} {}, {errors} error(s), {warnings} warning(s)",
        path.display(),
        report.policies,
        if report.policies == 1 {
            "policy"
        } else {
            "policies"
        },
    );
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn test(file: Option<PathBuf>) -> Result<ExitCode> {
    let path = match file {
        Some(f) => f,
        None => default_file()?,
    };
    let parsed = match load_file(&path) {
        Ok(Some(p)) => p,
        Ok(None) => {
            println!("{}: no policy file", path.display());
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            println!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let issues = parsed.issues();
    let errors = issues.iter().filter(|i| i.level == Level::Error).count();
    for i in issues.iter().filter(|i| i.level == Level::Error) {
        println!("{i}");
    }
    let now = crate::policy::Clock::now_ms(&SystemClock);
    // The examples run through the daemon's own classification: this installation's
    // protected locations, and the file's `egress_allow` hosts.
    let paths = crate::paths::Paths::from_env()?;
    let state = crate::engine::EngineState {
        protected: crate::engine::Protected::of(&paths),
        egress_allow: parsed
            .policies
            .iter()
            .filter(|p| p.policy_type == "egress_allow")
            .filter_map(|p| crate::policy::types::rules_object(&p.rules).ok())
            .filter_map(|r| r.get("hosts").and_then(|h| h.as_array()).cloned())
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_ascii_lowercase))
            .collect(),
        ..crate::engine::EngineState::default()
    };
    let home = std::env::var("HOME").ok();
    let classify = |ev: &crate::event::HookEvent| {
        crate::engine::classify_event(&state, ev, &ev.cwd, home.as_deref(), None)
    };
    let report = policy::run_tests(&parsed, now, &classify);
    for o in &report.outcomes {
        let at = o.line.map(|l| format!(" (line {l})")).unwrap_or_default();
        if o.passed {
            println!("ok    {} / {}{at}: {}", o.subject, o.name, o.got);
        } else {
            println!(
                "FAIL  {} / {}{at}: expected {}, got {}",
                o.subject, o.name, o.expected, o.got
            );
            for d in &o.detail {
                println!("        {d}");
            }
        }
    }
    let failed = report.failed();
    println!(
        "{} test(s), {} passed, {failed} failed",
        report.outcomes.len(),
        report.outcomes.len() - failed
    );
    // A policy that cannot enforce fails the run even when every test passed.
    Ok(if failed == 0 && errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn list(file: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let path = match file {
        Some(f) => f,
        None => default_file()?,
    };
    let mut policies = policy::builtin_policies();
    let mut broken = None;
    match load_file(&path) {
        Ok(Some(parsed)) => policies.extend(parsed.policies),
        Ok(None) => {}
        Err(e) => broken = Some(e),
    }
    let set = PolicySet::new(policies, policy::FileState::Absent, Vec::new());
    if json {
        let rows: Vec<_> = set
            .policies
            .iter()
            .map(|p| {
                serde_json::json!({
                    "policy": p.policy,
                    "enforceable": p.cannot_enforce_reason().is_none(),
                    "cannot_enforce": p.cannot_enforce_reason(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": path, "file_error": broken, "policies": rows,
            }))?
        );
    } else {
        if let Some(e) = &broken {
            println!("policy file rejected: {e}\n");
        }
        for p in &set.policies {
            let scope = match &p.scope {
                policy::Scope::All => "all agents".to_owned(),
                policy::Scope::Agents(a) => a.join(", "),
                policy::Scope::Malformed(why) => format!("skipped: {why}"),
            };
            let state = match (p.policy.active, p.cannot_enforce_reason()) {
                (false, _) => "inactive".to_owned(),
                (true, Some(why)) => format!("CANNOT ENFORCE: {why}"),
                (true, None) => "active".to_owned(),
            };
            let detail = match p.policy.policy_type.as_str() {
                "builtin_finding" => p
                    .policy
                    .rules
                    .get("action")
                    .and_then(|a| a.as_str())
                    .unwrap_or("")
                    .to_owned(),
                _ => p.policy.rules.to_string(),
            };
            println!(
                "{:<32} {:<18} {:<10} [{scope}] {detail}",
                p.policy.id, p.policy.policy_type, state
            );
        }
    }
    Ok(if broken.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
