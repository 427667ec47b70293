//! `dashclawd ingest backfill`: upload the transcripts already on disk that the server has not
//! seen (by the acknowledged cursors in `state/transcripts.db`), without the daemon.
//!
//! Each file is read in bounded chunks from its cursor, sanitized, batched and sent as the
//! daemon does (gzip envelope, `source_host: "jsonl"`); the cursor is persisted after every
//! acknowledged batch, so an interrupted backfill resumes where it stopped.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::event::Agent;
use crate::paths::Paths;
use crate::transcript::ship::{self, Meta, Sent, Tuning, Uploader};
use crate::transcript::{Cursor, CursorStore, Mode, Tailer};

#[derive(Args)]
pub struct IngestArgs {
    #[command(subcommand)]
    command: IngestCommand,
}

#[derive(Subcommand)]
enum IngestCommand {
    /// Upload the Claude Code and Codex transcripts on disk that the server has not seen.
    Backfill(BackfillArgs),
}

#[derive(Args)]
pub struct BackfillArgs {
    /// Only this agent's transcripts: claude or codex.
    #[arg(long)]
    agent: Option<String>,
    /// Only files modified since: a duration ago (`7d`, `12h`) or a date (`2026-11-01`).
    #[arg(long)]
    since: Option<String>,
    /// List what would be uploaded, and how much, without sending anything.
    #[arg(long)]
    dry_run: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: IngestArgs) -> Result<ExitCode> {
    match args.command {
        IngestCommand::Backfill(a) => backfill(a),
    }
}

/// `--since`: a humantime duration before now, or a `YYYY-MM-DD` / RFC 3339 time.
fn parse_since(s: &str) -> Result<SystemTime> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(SystemTime::now() - d);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{s} 00:00:00")) {
        return Ok(t);
    }
    bail!("--since {s:?}: expected a duration (7d, 12h) or a date (2026-11-01)")
}

/// `*.jsonl` files under `dir` whose name satisfies `keep`, recursively (symlinks not followed).
fn walk(dir: &Path, keep: &dyn Fn(&str) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        let p = e.path();
        if ft.is_dir() {
            walk(&p, keep, out);
        } else if ft.is_file() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".jsonl") && keep(&name) {
                out.push(p);
            }
        }
    }
}

/// Every transcript of the chosen agents, where each agent's integration keeps them.
fn discover(agents: &[Agent], env: &dyn Fn(&str) -> Option<String>) -> Vec<(PathBuf, Agent)> {
    let mut out = Vec::new();
    for agent in agents {
        let mut files = Vec::new();
        if let Some(t) = crate::agents::integration_for(*agent).transcript_files(env) {
            walk(&t.root, &t.keep, &mut files);
        }
        files.sort();
        out.extend(files.into_iter().map(|p| (p, *agent)));
    }
    out
}

/// The session id a file name carries: Claude `<uuid>.jsonl`, Codex `rollout-<ts>-<uuid>.jsonl`.
fn session_of(path: &Path, agent: Agent) -> String {
    crate::agents::integration_for(agent).transcript_session(path)
}

/// Bytes of `path` after `cursor` (all of it when the cursor belongs to another file).
fn remaining(path: &Path, cursor: &Cursor) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else {
        return 0;
    };
    if (cursor.dev, cursor.ino) == (m.dev(), m.ino()) && cursor.offset <= m.len() {
        m.len() - cursor.offset
    } else {
        m.len()
    }
}

fn backfill(args: BackfillArgs) -> Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    // The agents whose transcripts we read, from the registry.
    let readable: Vec<Agent> = crate::agents::INTEGRATIONS
        .iter()
        .filter(|i| i.transcript_files(&env).is_some())
        .map(|i| i.agent())
        .collect();
    let agents = match args.agent.as_deref() {
        None => readable.clone(),
        Some(a) => match Agent::parse(a) {
            Some(a) if readable.contains(&a) => vec![a],
            _ => bail!(
                "--agent must be one of: {}",
                readable
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let paths = Paths::from_env().context("resolving the DashClaw directories")?;
    paths.ensure_dirs()?;
    let store = CursorStore::open(&paths.state_dir.join("transcripts.db"))?;

    let mut todo = Vec::new();
    for (path, agent) in discover(&agents, &env) {
        if let Some(since) = since {
            let mtime = std::fs::metadata(&path).and_then(|m| m.modified());
            if mtime.map(|t| t < since).unwrap_or(true) {
                continue;
            }
        }
        let cursor = store.get(&path)?.map(|s| s.cursor).unwrap_or_default();
        let left = remaining(&path, &cursor);
        if left > 0 {
            todo.push((path, agent, cursor, left));
        }
    }
    let total: u64 = todo.iter().map(|t| t.3).sum();
    if args.dry_run {
        for (path, agent, _, left) in &todo {
            println!("{left:>12}  {:<6}  {}", agent.as_str(), path.display());
        }
        println!(
            "{} file(s), {total} byte(s) not yet on the server (dry run: nothing sent)",
            todo.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if todo.is_empty() {
        println!("nothing to upload: the server has every transcript found");
        return Ok(ExitCode::SUCCESS);
    }

    let loaded = crate::config::load(&paths.config_file);
    let settings = match crate::remote::Settings::resolve(&loaded.config.server, &env) {
        Ok(Some(s)) => s,
        Ok(None) => bail!(
            "no DashClaw server is configured (set DASHCLAW_BASE_URL and DASHCLAW_API_KEY, or [server] in {})",
            paths.config_file.display()
        ),
        Err(e) => bail!("DashClaw server configuration: {e}"),
    };
    let api = crate::remote::http::Api::new(&settings).map_err(anyhow::Error::msg)?;
    let outbox_db = paths.state_dir.join("outbox.db");
    let outbox = outbox_db
        .exists()
        .then(|| crate::outbox::Outbox::open(&outbox_db, loaded.config.ledger_sync).ok())
        .flatten()
        .map(Arc::new);
    let mode = if settings.code_sessions_full {
        Mode::Full
    } else {
        Mode::Metadata
    };
    let up = Uploader {
        api,
        outbox,
        tuning: Tuning::backfill(mode),
        stats: Arc::default(),
    };

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut failed = 0usize;
    for (path, agent, cursor, _) in &todo {
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let meta = Meta {
            path: path.clone(),
            session: session_of(path, *agent),
            agent: *agent,
            cwd: None,
        };
        let result = match agent {
            // Codex rollouts are not a format ingest-jsonl reads: each turn goes to
            // ingest-live as a summary, as the daemon does at a live Codex Stop.
            a if crate::agents::integration_for(*a).turns_go_live() => rt
                .block_on(codex_file(&up, &store, &meta, *cursor, &bar))
                .map(|turns| {
                    up.stats
                        .requests
                        .fetch_add(turns as u64, std::sync::atomic::Ordering::Relaxed);
                }),
            _ => rt.block_on(one_file(&up, &store, &meta, *cursor, &bar)),
        };
        if let Err(e) = result {
            failed += 1;
            bar.suspend(|| eprintln!("dashclawd: {}: {e:#}", path.display()));
            if e.to_string().contains("no transcript ingest") {
                break;
            }
        }
    }
    bar.finish_and_clear();
    let st = &up.stats;
    use std::sync::atomic::Ordering::Relaxed;
    println!(
        "uploaded {} line(s) ({} bytes sanitized) in {} request(s) from {} file(s); {} malformed line(s) dropped, {} refused by the server",
        st.lines_shipped.load(Relaxed),
        st.bytes_shipped.load(Relaxed),
        st.requests.load(Relaxed),
        todo.len() - failed,
        st.dropped_malformed.load(Relaxed),
        st.rejected_lines.load(Relaxed),
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// How large a piece of the file is read at a time.
const READ_CHUNK: usize = 1024 * 1024;
/// Attempts per batch on transient failures before giving up on the file.
const MAX_ATTEMPTS: u32 = 8;

async fn one_file(
    up: &Uploader,
    store: &CursorStore,
    meta: &Meta,
    cursor: Cursor,
    bar: &ProgressBar,
) -> Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let mut tailer = Tailer::new(meta.path.clone(), cursor);
    let mut pending: VecDeque<ship::Line> = VecDeque::new();
    let mut bytes = 0usize;
    let mut offset = cursor.offset;
    let persist = |c: Cursor| {
        tokio::task::block_in_place(|| store.put(&meta.path, &c, &meta.session, meta.agent))
    };
    loop {
        let chunk = tokio::task::block_in_place(|| tailer.read_lines(READ_CHUNK))?;
        if chunk.reset.is_some() {
            offset = 0;
        }
        bar.inc(chunk.next.offset.saturating_sub(offset));
        offset = chunk.next.offset;
        let eof = !chunk.more;
        let mut skip = None;
        let bad = tokio::task::block_in_place(|| {
            ship::push_chunk(
                meta.agent,
                up.tuning.mode,
                &chunk,
                &mut pending,
                &mut bytes,
                &mut skip,
            )
        });
        up.stats.dropped_malformed.fetch_add(bad, Relaxed);
        if let Some(c) = skip {
            persist(c)?;
        }
        let mut attempts = 0;
        while !pending.is_empty() && (bytes >= up.tuning.flush_bytes || eof) {
            let carrier =
                meta.agent != Agent::Claude || pending.iter().any(|l| l.session_uuid.is_some());
            if !carrier && !eof {
                break;
            }
            match up.send(meta, &pending, usize::MAX).await {
                Sent::Acked { lines, bytes: b } => {
                    attempts = 0;
                    up.stats.lines_shipped.fetch_add(lines as u64, Relaxed);
                    up.stats.bytes_shipped.fetch_add(b as u64, Relaxed);
                    if let Some(c) = ship::pop_front(&mut pending, &mut bytes, lines) {
                        persist(c)?;
                    }
                }
                Sent::Rejected { lines, why } => {
                    up.stats.rejected_lines.fetch_add(lines as u64, Relaxed);
                    bar.suspend(|| {
                        eprintln!(
                            "dashclawd: {}: the server refused {lines} line(s); skipped: {why}",
                            meta.path.display()
                        )
                    });
                    if let Some(c) = ship::pop_front(&mut pending, &mut bytes, lines) {
                        persist(c)?;
                    }
                }
                Sent::Retry { after, why } => {
                    attempts += 1;
                    if attempts >= MAX_ATTEMPTS {
                        bail!("giving up after {attempts} attempts: {why} (run again to resume)");
                    }
                    let wait = after.unwrap_or(Duration::from_millis(250 << attempts.min(7)));
                    tokio::time::sleep(wait).await;
                }
                Sent::NoRoute => {
                    bail!("this DashClaw server has no transcript ingest (v2.0: HTML 404)")
                }
            }
        }
        if eof {
            return Ok(());
        }
    }
}

/// Sessions whose rollout has not changed for this long are finished: backfill finalizes them.
const FINISHED_AFTER: Duration = Duration::from_secs(3600);

/// Uploads a Codex rollout as one `ingest-live` call per turn (a turn starts at each
/// `turn_context`), persisting the cursor after each acknowledged turn; a finished session is
/// finalized. Returns the number of turns sent.
async fn codex_file(
    up: &Uploader,
    store: &CursorStore,
    meta: &Meta,
    cursor: Cursor,
    bar: &ProgressBar,
) -> Result<usize> {
    use crate::agents::codex::transcript::CodexTurn;
    use crate::remote::deliver::live_project;
    use std::io::{BufRead, Seek};
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::open(&meta.path)?;
    let m = file.metadata()?;
    let start = if (cursor.dev, cursor.ino) == (m.dev(), m.ino()) && cursor.offset <= m.len() {
        cursor.offset
    } else {
        0
    };
    let full = up.tuning.mode == Mode::Full;
    let mut reader = std::io::BufReader::new(&file);
    // The first line (session_meta) names the working directory.
    let mut first = Vec::new();
    reader.read_until(b'\n', &mut first)?;
    let cwd = serde_json::from_slice::<serde_json::Value>(&first)
        .ok()
        .and_then(|v| v["payload"]["cwd"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut project = live_project(&cwd);
    project["source_host"] = serde_json::json!("jsonl");
    reader.seek(std::io::SeekFrom::Start(start))?;
    let send = |turn: CodexTurn| {
        let mut body = turn.finish(full).live.unwrap_or_default();
        body["session_uuid"] = serde_json::json!(meta.session);
        body["project"] = project.clone();
        body
    };
    let ack = |end: u64| -> Result<()> {
        let c = Cursor::at(&file, end)?;
        tokio::task::block_in_place(|| store.put(&meta.path, &c, &meta.session, meta.agent))
    };
    let mut turn = CodexTurn::default();
    let mut pos = start;
    let mut turn_end = start;
    let mut turns = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        pos += n as u64;
        bar.inc(n as u64);
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
            up.stats
                .dropped_malformed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        };
        if CodexTurn::starts_turn(&v) && !turn.is_empty() {
            post_live(up, &send(std::mem::take(&mut turn))).await?;
            ack(turn_end)?;
            turns += 1;
        }
        turn.push(&v);
        turn_end = pos;
    }
    if !turn.is_empty() {
        post_live(up, &send(turn)).await?;
        ack(turn_end)?;
        turns += 1;
    }
    let idle = m.modified().ok().and_then(|t| t.elapsed().ok());
    if turns > 0 && idle.is_some_and(|d| d >= FINISHED_AFTER) {
        let body = serde_json::json!({"session_uuid": meta.session, "project": project,
                                      "finalize": true, "completed": true});
        post_live(up, &body).await?;
    }
    Ok(turns)
}

/// One `ingest-live` call with the backfill's retry rules.
async fn post_live(up: &Uploader, body: &serde_json::Value) -> Result<()> {
    use crate::remote::ApiError;
    let mut attempts = 0;
    loop {
        match up
            .api
            .call(
                reqwest::Method::POST,
                ship::INGEST_LIVE,
                Some(body),
                Duration::from_secs(20),
            )
            .await
        {
            Ok(r) if r.status == 200 => return Ok(()),
            Ok(r) => bail!("the server refused a turn: HTTP {}: {}", r.status, r.body),
            Err(ApiError::NoRoute) => {
                bail!("this DashClaw server has no transcript ingest (v2.0: HTML 404)")
            }
            Err(e) if e.is_transient() || matches!(e, ApiError::RateLimited(_)) => {
                attempts += 1;
                if attempts >= MAX_ATTEMPTS {
                    bail!("giving up after {attempts} attempts: {e} (run again to resume)");
                }
                let wait = match e {
                    ApiError::RateLimited(Some(d)) => d,
                    _ => Duration::from_millis(250 << attempts.min(7)),
                };
                tokio::time::sleep(wait).await;
            }
            Err(e) => bail!("{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_and_session_names() {
        let week = parse_since("7d").unwrap();
        let age = SystemTime::now().duration_since(week).unwrap();
        assert!(age >= Duration::from_secs(7 * 86400 - 5));
        assert!(parse_since("2026-11-01").is_ok());
        assert!(parse_since("2026-11-01T10:00:00Z").is_ok());
        assert!(parse_since("last tuesday").is_err());
        let u = "019a2b3c-1111-7222-8333-444455556666";
        assert_eq!(
            session_of(
                Path::new(&format!(
                    "/c/sessions/2026/11/29/rollout-2026-11-29T16-50-36-{u}.jsonl"
                )),
                Agent::Codex
            ),
            u
        );
        assert_eq!(
            session_of(Path::new(&format!("/p/x/{u}.jsonl")), Agent::Claude),
            u
        );
    }
}
