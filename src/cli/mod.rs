//! `dashclawd` command line: the daemon itself and the admin commands.

mod approvals;
mod check;
mod control;
mod log;
mod policy;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::daemon::{self, RunOptions};

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
    /// Validate, test and list policies.
    Policy(policy::PolicyArgs),
    /// Wire the hooks into an agent's settings.
    Install {
        /// Only `claude` for now.
        agent: String,
        /// Settings file to edit (default: $CLAUDE_CONFIG_DIR or ~/.claude, settings.json).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Print the resulting file instead of writing it.
        #[arg(long)]
        dry_run: bool,
        /// Remove the DashClaw hook entries instead.
        #[arg(long)]
        uninstall: bool,
        /// Path of dashclaw-hook to write into the settings (default: beside this binary).
        #[arg(long)]
        hook_bin: Option<PathBuf>,
    },
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
        Command::Policy(args) => policy::run(args),
        Command::Approvals(args) => approvals::list(args),
        Command::Approve(args) => approvals::approve(args),
        Command::Deny(args) => approvals::deny(args),
        Command::Install {
            agent,
            settings,
            dry_run,
            uninstall,
            hook_bin,
        } => crate::install::run(crate::install::InstallArgs {
            agent,
            settings,
            dry_run,
            uninstall,
            hook_bin,
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
