//! `dashclawd log`: read the audit ledger (`--json`, `--follow`) and `dashclawd log verify`.

use std::io::Write;
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
    let head_file = ledger::head_path(&paths.ledger_db);
    if matches!(args.action, Some(LogAction::Verify))
        && !paths.ledger_db.exists()
        && head_file.exists()
    {
        println!(
            "ledger BROKEN: {} is gone, but {} says it held records",
            paths.ledger_db.display(),
            head_file.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let conn = ledger::open_read_only(&paths.ledger_db)?;
    if let Some(LogAction::Verify) = args.action {
        return verify(&conn, &paths);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match print_entries(&conn, &args, &mut out) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `dashclawd log | head`: the reader has all it wanted; end quietly.
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
    }
}

/// Streams the newest `limit` entries page by page (all of them, oldest of the window first),
/// then, with `--follow`, every new one.
fn print_entries(conn: &rusqlite::Connection, args: &LogArgs, out: &mut impl Write) -> Result<()> {
    let mut cursor = (ledger::last_seq(conn)? - args.limit.max(0)).max(0);
    loop {
        let entries = ledger::read_after(conn, cursor, PAGE)?;
        for e in &entries {
            if args.json {
                serde_json::to_writer(&mut *out, e)?;
                out.write_all(b"\n")?;
            } else {
                writeln!(out, "{}", human(e))?;
            }
            cursor = e.seq;
        }
        if (entries.len() as i64) == PAGE {
            continue; // more of the window to print
        }
        out.flush()?;
        if !args.follow {
            return Ok(());
        }
        if entries.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Rows read per query: memory stays flat however large `-n` is.
const PAGE: i64 = 1000;

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .map(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            .or_else(|| {
                c.downcast_ref::<serde_json::Error>()
                    .and_then(|j| j.io_error_kind())
                    .map(|k| k == std::io::ErrorKind::BrokenPipe)
            })
            .unwrap_or(false)
    })
}

/// The chain, then the head file (a truncated or replaced ledger), then the resets the daemon
/// found and recorded. Anything but an intact, never-reset ledger exits 1.
fn verify(conn: &rusqlite::Connection, paths: &Paths) -> Result<ExitCode> {
    let (records, head, resets) = match ledger::verify(conn)? {
        Verification::Intact {
            records,
            head,
            resets,
        } => (records, head, resets),
        Verification::Broken { seq, problem } => {
            println!("ledger BROKEN at record {seq}: {problem}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let head_file = ledger::head_path(&paths.ledger_db);
    match ledger::check_head_file(conn, &paths.ledger_db) {
        Ok(None) => {}
        Ok(Some(problem)) => {
            println!(
                "ledger BROKEN: {problem} (according to {})",
                head_file.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            println!("ledger head file unusable: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    }
    if !resets.is_empty() {
        println!(
            "ledger chain intact ({records} records, head {head}), but it was RESET {} time(s); what came before is not in it:",
            resets.len()
        );
        for (seq, summary) in &resets {
            println!("  record {seq}: {summary}");
        }
        return Ok(ExitCode::FAILURE);
    }
    println!("ledger intact: {records} records, head {head}");
    if !head_file.exists() {
        println!(
            "note: no head file ({}); a truncated tail would not show",
            head_file.display()
        );
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
