//! `dashclawd` command line: the daemon itself and the admin commands.

mod approvals;
mod check;
mod control;
mod doctor;
mod identity;
mod ingest;
mod log;
mod mcp;
mod policy;
mod protect;
mod redact;
mod service;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::daemon::{self, RunOptions};
use crate::install::Scope;

#[derive(Parser)]
#[command(
    name = "dashclawd",
    version,
    about = "DashClaw agent-side daemon: decides, records and explains agent tool calls"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon in the foreground.
    Run {
        /// Started by a hook (exits after the idle timeout).
        #[arg(long, hide = true)]
        auto_started: bool,
        /// Seconds without requests before an auto-started daemon exits (0 = never).
        #[arg(long)]
        idle_timeout: Option<u64>,
        /// Log to the file only, not to stderr.
        #[arg(long)]
        quiet: bool,
    },
    /// Show the decision for a hook event (stdin) or a shell command, without running anything
    /// and without a daemon.
    Check(check::CheckArgs),
    /// Show whether the daemon answers (exit 0) and what it is doing.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Ask the running daemon to exit.
    Stop,
    /// Show the audit ledger.
    Log(log::LogArgs),
    /// List the calls held for a person's decision (pending ones; `--all` for the history).
    Approvals(approvals::ListArgs),
    /// Approve a held call, at a terminal: the agent's next identical call runs once, within 15
    /// minutes.
    Approve(approvals::DecideArgs),
    /// Deny a held call, at a terminal: identical retries are denied with your reason.
    Deny(approvals::DecideArgs),
    /// Check that the guard is really on: config, permissions, daemon, every agent's hooks, and
    /// a liveness probe through each agent's own hook command.
    Doctor(doctor::DoctorArgs),
    /// Validate, test and list policies.
    Policy(policy::PolicyArgs),
    /// Redact secrets from a file or stdin (no daemon needed).
    Redact(redact::RedactArgs),
    /// Run the daemon under the user's service manager (systemd user unit / launchd agent).
    Service(service::ServiceArgs),
    /// Transcript upload to the DashClaw server (`ingest backfill`).
    Ingest(ingest::IngestArgs),
    /// Serve DashClaw's MCP tools and resources over stdio (agents start this).
    Mcp(mcp::McpArgs),
    /// Agent signing keys and their pairing with the DashClaw server (`identity pair`).
    Identity(identity::IdentityArgs),
    /// Wire the hooks into an agent's settings.
    Install {
        /// claude, codex, hermes or openclaw (not with --protected, which installs them all).
        #[arg(required_unless_present = "protected")]
        agent: Option<String>,
        /// Which configuration layer to write.
        #[arg(long, value_enum, default_value_t = Scope::User)]
        scope: Scope,
        /// Configuration file to edit instead of the scope's default (claude: settings.json,
        /// codex: config.toml, hermes: config.yaml; openclaw: the plugin directory).
        #[arg(long, visible_alias = "config")]
        settings: Option<PathBuf>,
        /// Print a diff of the change instead of writing it.
        #[arg(long)]
        dry_run: bool,
        /// Remove the DashClaw hook entries instead.
        #[arg(long)]
        uninstall: bool,
        /// Path of dashclaw-hook to write into the settings (default: beside this binary).
        #[arg(long)]
        hook_bin: Option<PathBuf>,
        /// codex only: the codex binary used to trust and verify the hooks (default: on PATH).
        #[arg(long)]
        codex_bin: Option<PathBuf>,
        /// Do not register `dashclawd mcp` as the agent's `dashclaw` MCP server (claude, codex,
        /// hermes).
        #[arg(long)]
        no_mcp: bool,
        /// openclaw only: the openclaw CLI that installs the plugin (default: on PATH).
        #[arg(long)]
        openclaw_bin: Option<PathBuf>,
        #[command(flatten)]
        protected: Box<protect::ProtectedArgs>,
    },
}

/// Writes a command's whole output to stdout; a reader that went away (`… | head`) ends the
/// command quietly instead of in a `println!` panic (Rust ignores SIGPIPE).
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            auto_started,
            idle_timeout,
            quiet,
        } => daemon::run(RunOptions {
            auto_started,
            idle_timeout_secs: idle_timeout,
            log_to_stderr: !quiet && !auto_started,
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Check(args) => check::run(args),
        Command::Status { json } => control::status(json),
        Command::Stop => control::stop(),
        Command::Log(args) => log::run(args),
        Command::Approvals(args) => approvals::list(args),
        Command::Approve(args) => approvals::approve(args),
        Command::Deny(args) => approvals::deny(args),
        Command::Service(args) => service::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Redact(args) => redact::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Install { protected, .. } if protected.protected => protect::install(&protected),
        Command::Mcp(args) => mcp::run(args),
        Command::Identity(args) => identity::run(args),
        Command::Install {
            agent,
            scope,
            settings,
            dry_run,
            uninstall,
            hook_bin,
            codex_bin,
            no_mcp,
            openclaw_bin,
            protected: _,
        } => crate::install::run(crate::install::InstallArgs {
            agent: agent.unwrap_or_default(),
            settings,
            scope,
            dry_run,
            uninstall,
            hook_bin,
            codex_bin,
            no_mcp,
            openclaw_bin,
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dashclawd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
