//! The daemon never dies silently, and its configuration follows the file.
//!
//! - A start that fails leaves its cause in `<run_dir>/daemon-start-error` (one line), where
//!   the hook reads it to deny at once instead of waiting out its deadline; a start that gets
//!   as far as serving removes it.
//! - A panic is written to `<state>/last-crash.json` synchronously by the panic hook (release
//!   builds abort right after it, before any buffered log line would reach the file), to the
//!   log and to stderr. An auto-started daemon's stderr goes to `<state>/dashclawd.stderr`
//!   instead of nowhere. A pid file left behind by a daemon that ended without shutting down
//!   (`kill -9`, out of memory, abort) is noticed at the next start. `status` shows the last
//!   crash and the ledger records it.
//! - `config.toml` is followed while the daemon runs (`reload.rs`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Value};

use crate::paths::Paths;

/// Set once the daemon serves; a failure after that is not a start failure.
static READY: AtomicBool = AtomicBool::new(false);

/// Stderr of an auto-started daemon beyond this size is rotated to `.1` at start.
const STDERR_KEEP_BYTES: u64 = 1 << 20;

/// `dashclawd run` found another daemon holding the instance lock: not a failure to report.
#[derive(Debug)]
pub struct AlreadyRunning(pub String);

impl std::fmt::Display for AlreadyRunning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AlreadyRunning {}

pub fn start_error_path(paths: &Paths) -> PathBuf {
    paths.run_dir.join("daemon-start-error")
}

pub fn crash_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join("last-crash.json")
}

pub fn stderr_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join("dashclawd.stderr")
}

/// Before anything else: the panic hook and, when a hook started us, stderr into a file.
pub fn before_start(auto_started: bool) {
    let paths = Paths::from_env().ok();
    install_panic_hook(paths.as_ref().map(crash_path));
    if let (true, Some(paths)) = (auto_started, &paths) {
        if let Err(e) = capture_stderr(paths) {
            // Nowhere better to say it; the log is not open yet.
            eprintln!("dashclawd: cannot capture stderr: {e}");
        }
    }
}

/// After `run` returns: a start that never got to serving leaves its cause for the hook.
pub fn after_run(result: &anyhow::Result<()>) {
    let Err(e) = result else { return };
    if READY.load(Ordering::SeqCst) || e.downcast_ref::<AlreadyRunning>().is_some() {
        return;
    }
    let Ok(paths) = Paths::from_env() else { return };
    let line = format!("{e:#}").replace(['\n', '\r'], " ");
    let line = crate::redact::redact_str(&line).into_owned();
    let path = start_error_path(&paths);
    let tmp = path.with_extension("tmp");
    let written = fs::write(&tmp, format!("{line}\n")).and_then(|()| fs::rename(&tmp, &path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
}

/// The instance lock is ours: an earlier start's error no longer describes this one.
pub fn starting(paths: &Paths) {
    let _ = fs::remove_file(start_error_path(paths));
}

/// Serving: the start succeeded.
pub fn ready(paths: &Paths) {
    READY.store(true, Ordering::SeqCst);
    let _ = fs::remove_file(start_error_path(paths));
    // Debug builds only: the tests' way to exercise the crash path of a real daemon.
    #[cfg(debug_assertions)]
    if std::env::var_os("DASHCLAW_DEBUG_PANIC_WHEN_READY").is_some() {
        panic!("DASHCLAW_DEBUG_PANIC_WHEN_READY is set (a test of the crash path)");
    }
}

fn capture_stderr(paths: &Paths) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    crate::paths::create_private_dir(&paths.state_dir)?;
    let path = stderr_path(paths);
    if fs::metadata(&path).is_ok_and(|m| m.len() > STDERR_KEEP_BYTES) {
        let _ = fs::rename(&path, path.with_extension("stderr.1"));
    }
    let f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)?;
    // SAFETY: dup2(2) onto fd 2 of this process, before any other thread exists.
    if unsafe { libc::dup2(f.as_raw_fd(), 2) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let _ = writeln!(
        std::io::stderr(),
        "--- dashclawd {} pid {} auto-started at {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    );
    Ok(())
}

fn install_panic_hook(crash_file: Option<PathBuf>) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = crate::redact::redact_str(&panic_message(info)).into_owned();
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or("?").to_owned();
        // Synchronously: a release build aborts as soon as this hook returns.
        if let Some(path) = &crash_file {
            let crash = json!({
                "kind": "panic",
                "at_ms": crate::engine::now_us() / 1000,
                "pid": std::process::id(),
                "version": env!("CARGO_PKG_VERSION"),
                "thread": thread,
                "message": message,
                "location": location,
            });
            let _ = fs::write(path, crash.to_string());
        }
        tracing::error!(thread, location, "dashclawd panicked: {message}");
        previous(info);
    }));
}

fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    if let Some(s) = info.payload().downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = info.payload().downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

/// With the instance lock held: did the previous daemon end without shutting down? Returns
/// what is known about it (also kept in `last-crash.json`), to be shown and recorded.
pub fn detect_crash(paths: &Paths) -> Option<Value> {
    let stale_pid: Option<u32> = fs::read_to_string(&paths.pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let file = crash_path(paths);
    let mut known: Option<Value> = fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let pid = stale_pid?;
    let same = known
        .as_ref()
        .is_some_and(|k| k["pid"].as_u64() == Some(pid as u64) && k["recorded"].is_null());
    if !same {
        known = Some(json!({
            "kind": "killed",
            "at_ms": fs::metadata(&paths.pid_file).ok().map(|m| m.mtime() * 1000),
            "pid": pid,
            "message": format!(
                "the previous dashclawd (pid {pid}) ended without shutting down (killed, out of memory or aborted)"
            ),
        }));
    }
    let mut crash = known?;
    crash["detected_at_ms"] = json!(crate::engine::now_us() / 1000);
    if let Some(tail) = stderr_tail(paths, 5) {
        crash["stderr_tail"] = json!(tail);
    }
    crash["recorded"] = json!(true);
    let _ = fs::write(&file, crash.to_string());
    Some(crash)
}

/// The last crash on record (for `status`), whether or not it was this start that found it.
pub fn last_crash(paths: &Paths) -> Option<Value> {
    fs::read(crash_path(paths))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

fn stderr_tail(paths: &Paths, lines: usize) -> Option<String> {
    let text = fs::read_to_string(stderr_path(paths)).ok()?;
    let tail: Vec<&str> = text
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(lines)
        .collect();
    (!tail.is_empty()).then(|| {
        let joined = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
        crate::redact::redact_str(&joined).into_owned()
    })
}

/// The ledger entry for a crash found at start.
pub fn crash_record(crash: &Value) -> crate::ledger::Record {
    crate::ledger::Record {
        event_id: format!(
            "daemon-crash-{}-{}",
            crash["pid"],
            crash["at_ms"].as_u64().unwrap_or(0)
        ),
        agent: "dashclawd".into(),
        event: "daemon-crash".into(),
        summary: crash["message"].as_str().unwrap_or("crashed").to_owned(),
        outcome: crash.clone(),
        ..Default::default()
    }
}

/// Starts the hook guardian: each change is recorded in the ledger and, with a server, queued
/// for it as an action record through the outbox.
pub fn start_guardian(
    paths: &Paths,
    ledger: crate::ledger::Ledger,
    server: std::sync::Arc<super::server::ServerSlot>,
) -> crate::guardian::Guardian {
    crate::guardian::Guardian::start(
        paths.state_dir.join("guardian.json"),
        crate::guardian::default_targets(),
        move |c| {
            // An installation or a switch back on is logged by the guardian, not audited.
            if !c.is_problem() {
                return;
            }
            let event_id = format!("hooks-{}-{}-{}", c.kind, c.at_ms, short_hash(&c.path));
            let record = crate::ledger::Record {
                event_id: event_id.clone(),
                agent: c.agent.clone(),
                event: "hooks-changed".into(),
                summary: crate::redact::redact_str(&c.summary).into_owned(),
                reasons: vec![format!("hook configuration {}", c.kind)],
                cwd: None,
                outcome: json!({"kind": c.kind, "scope": c.scope, "path": c.path}),
                ..Default::default()
            };
            if let Err(e) = ledger.append_blocking(record) {
                tracing::error!("ledger: cannot record a hook change: {e:#}");
            }
            // The server in force when the change is seen (config.toml may have switched it).
            if let Some(r) = &server.remote() {
                let action_id = format!("act_{}", uuid::Uuid::new_v4());
                let agent_id = r
                    .settings
                    .agent_id
                    .clone()
                    .unwrap_or_else(|| format!("dashclawd-{}", c.agent));
                let body = json!({
                    "action_id": action_id,
                    "agent_id": agent_id,
                    "action_type": "security",
                    "declared_goal": crate::redact::redact_str(&c.summary),
                    "status": "completed",
                    "risk_score": 80,
                    "systems_touched": [c.path],
                    "metadata": {"source": "dashclawd", "event": "hooks-changed", "kind": c.kind, "agent": c.agent, "scope": c.scope},
                    "timestamp_start": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
                });
                let item = crate::outbox::NewItem {
                    kind: "record".into(),
                    dedupe_key: Some(format!("record:{event_id}")),
                    payload: json!({"action_id": action_id, "body": body}),
                    not_before_ms: 0,
                    group: Some(action_id),
                };
                match r.outbox.enqueue(item, crate::engine::now_us() / 1000) {
                    Ok(e) => {
                        for d in e.dropped {
                            let _ = r.dropped.send(d);
                        }
                        r.wake.notify_one();
                    }
                    Err(e) => tracing::error!("outbox: cannot queue the hook change: {e:#}"),
                }
            }
        },
    )
}

fn short_hash(p: &Path) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(p.as_os_str().as_encoded_bytes())[..6])
}
