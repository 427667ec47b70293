//! `dashclawd log`: read the audit ledger (`--json`, `--follow`) and `dashclawd log verify`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use crate::ledger::{self, Entry, Verification};
use crate::paths::Paths;

#[derive(clap::Args)]
pub struct LogArgs {
    #[command(subcommand)]
    action: Option<LogAction>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// Keep printing new records as they are committed.
    #[arg(long, short)]
    follow: bool,
    /// How many of the newest records to show first.
    #[arg(long, short = 'n', default_value_t = 50)]
    limit: i64,
}

#[derive(clap::Subcommand)]
enum LogAction {
    /// Recompute the hash chain and report the first broken record.
    Verify,
}

pub fn run(args: LogArgs) -> Result<ExitCode> {
    let paths = Paths::from_env()?;
    let conn = ledger::open_read_only(&paths.ledger_db)?;
    if let Some(LogAction::Verify) = args.action {
        return Ok(match ledger::verify(&conn)? {
            Verification::Intact { records, head } => {
                println!("ledger intact: {records} records, head {head}");
                ExitCode::SUCCESS
            }
            Verification::Broken { seq, problem } => {
                println!("ledger BROKEN at record {seq}: {problem}");
                ExitCode::FAILURE
            }
        });
    }
    let mut cursor = (ledger::last_seq(&conn)? - args.limit.max(0)).max(0);
    loop {
        let entries = ledger::read_after(&conn, cursor, 1000)?;
        for e in &entries {
            if args.json {
                println!("{}", serde_json::to_string(e)?);
            } else {
                println!("{}", human(e));
            }
            cursor = e.seq;
        }
        if !args.follow {
            break;
        }
        if entries.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn human(e: &Entry) -> String {
    let r = &e.record;
    let verdict = r.verdict.as_deref().unwrap_or("-");
    let mut line = format!(
        "#{:<5} {} {:<8} {:<18} {:<16} {}",
        e.seq,
        e.ts,
        r.agent,
        r.event,
        if r.enforced {
            verdict.to_string()
        } else {
            format!("{verdict}(observe)")
        },
        r.summary
    );
    if let Some(risk) = r.risk_score {
        line.push_str(&format!("  [risk {risk}]"));
    }
    if !r.reasons.is_empty() {
        line.push_str(&format!("  — {}", r.reasons.join("; ")));
    }
    if r.spooled {
        line.push_str("  (spooled)");
    }
    line
}
