//! `cargo bench --bench ingest`: transcript shipping against the fake DashClaw.
//!
//! 1. Delta latency: a line appended to a live Claude transcript → the fake server has it
//!    (the real daemon, notify watcher, batching, gzip, HTTP), with the default quiet window
//!    (100 ms) and with `DASHCLAW_TRANSCRIPT_QUIET_MS=BENCH_QUIET_MS` (default 20).
//! 2. `dashclawd ingest backfill` throughput (MB/s of transcript) and its peak RSS (`wait4`).
//! 3. Daemon RSS while following `BENCH_SESSIONS` (100) live sessions, each growing by a line
//!    every 250 ms for 10 s.
//!
//! Knobs: `BENCH_LINES` (150 lines per latency run), `BENCH_BACKFILL_MB` (100),
//! `BENCH_QUIET_MS` (20). Prints a report; fails only if lines go missing.

use dashclaw_testkit::fake_dashclaw;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use fake_dashclaw::{FakeDashClaw, Flavor};
use serde_json::json;

use dashclaw_testkit::DAEMON;
use dashclaw_testkit::HOOK;

fn env_num(k: &str, default: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn command(
    home: &Path,
    fake: &FakeDashClaw,
    bin: dashclaw_testkit::Bin,
    extra: &[(&str, String)],
) -> Command {
    let mut c = Command::new(bin);
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DASHCLAW_HOME", home)
        .env("HOME", home)
        .env("DASHCLAW_BASE_URL", fake.url())
        .env("DASHCLAW_API_KEY", fake.api_key())
        .current_dir(home);
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

fn line(session: &str, i: usize, pad: usize) -> String {
    json!({"type": "assistant", "uuid": format!("u-{i}"), "sessionId": session,
           "timestamp": "2026-11-29T10:00:01Z",
           "message": {"id": format!("msg_{i}"), "role": "assistant", "model": "claude-test",
                       "content": [{"type": "text", "text": "x".repeat(pad)},
                                   {"type": "tool_use", "id": format!("toolu_{i}"), "name": "Bash",
                                    "input": {"command": format!("echo {i}")}}],
                       "usage": {"input_tokens": 10, "output_tokens": i}}})
    .to_string()
}

fn transcript(home: &Path, session: &str) -> PathBuf {
    let dir = home.join(".claude/projects/-bench");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{session}.jsonl"))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Returns sorted latencies in ms, or an error when lines went missing.
fn latency_run(quiet_ms: Option<usize>, n: usize) -> Result<Vec<f64>, String> {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = tempfile::Builder::new()
        .prefix("dcb")
        .tempdir_in("/tmp")
        .unwrap();
    let extra: Vec<(&str, String)> = quiet_ms
        .map(|q| vec![("DASHCLAW_TRANSCRIPT_QUIET_MS", q.to_string())])
        .unwrap_or_default();
    let _daemon = Killed(
        command(home.path(), &fake, DAEMON, &extra)
            .args(["run", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let sock = home.path().join("run/dashclawd.sock");
    let t0 = Instant::now();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let session = "be4c0000-0000-4000-8000-000000000001";
    let path = transcript(home.path(), session);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    writeln!(f, "{}", line(session, 0, 10)).unwrap();
    let ev = json!({"session_id": session, "transcript_path": path, "cwd": "/bench",
                    "hook_event_name": "SessionStart", "source": "startup"});
    let mut hook = command(home.path(), &fake, HOOK, &[])
        .args(["claude", "session-start"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    hook.stdin
        .take()
        .unwrap()
        .write_all(ev.to_string().as_bytes())
        .unwrap();
    hook.wait().unwrap();
    let wait_for = |count: usize, limit: Duration| -> bool {
        let start = Instant::now();
        while fake.ingested_lines(session).len() < count {
            if start.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        true
    };
    if !wait_for(1, Duration::from_secs(10)) {
        return Err("the first line never arrived".into());
    }
    let mut lat = Vec::with_capacity(n);
    for i in 1..=n {
        // Think time between turns, as an agent writes.
        std::thread::sleep(Duration::from_millis(30 + (i * 37 % 120) as u64));
        writeln!(f, "{}", line(session, i, 200)).unwrap();
        let start = Instant::now();
        if !wait_for(i + 1, Duration::from_secs(10)) {
            return Err(format!("line {i} never arrived"));
        }
        lat.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    Ok(lat)
}

/// The daemon's resident memory while it follows `sessions` live transcripts, each growing by
/// a line every `tick`: (VmRSS MiB, VmHWM MiB, lines delivered, lines written).
fn sessions_run(sessions: usize, secs: u64) -> Result<(f64, f64, usize, usize), String> {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = tempfile::Builder::new()
        .prefix("dcb")
        .tempdir_in("/tmp")
        .unwrap();
    let daemon = Killed(
        command(home.path(), &fake, DAEMON, &[])
            .args(["run", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let sock = home.path().join("run/dashclawd.sock");
    let t0 = Instant::now();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        if t0.elapsed() > Duration::from_secs(10) {
            return Err("daemon did not start".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut files = Vec::new();
    for k in 0..sessions {
        let session = format!("5e551000-0000-4000-8000-{k:012}");
        let path = transcript(home.path(), &session);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(f, "{}", line(&session, 0, 200)).unwrap();
        let ev = json!({"session_id": session, "transcript_path": path, "cwd": "/bench",
                        "hook_event_name": "SessionStart", "source": "startup"});
        let mut hook = command(home.path(), &fake, HOOK, &[])
            .args(["claude", "session-start"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        hook.stdin
            .take()
            .unwrap()
            .write_all(ev.to_string().as_bytes())
            .unwrap();
        hook.wait().unwrap();
        files.push((session, f));
    }
    // Every session writes a line about every 250 ms, as busy agents do.
    let mut written = sessions;
    let end = Instant::now() + Duration::from_secs(secs);
    let mut i = 1;
    while Instant::now() < end {
        for (session, f) in files.iter_mut() {
            writeln!(f, "{}", line(session, i, 200)).unwrap();
            written += 1;
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    let delivered = |files: &[(String, std::fs::File)]| {
        files
            .iter()
            .map(|(s, _)| fake.ingested_lines(s).len())
            .sum::<usize>()
    };
    let t1 = Instant::now();
    while delivered(&files) < written && t1.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.0.id()))
        .map_err(|e| format!("reading the daemon's /proc status: {e}"))?;
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((
        kib("VmRSS:") / 1024.0,
        kib("VmHWM:") / 1024.0,
        delivered(&files),
        written,
    ))
}

/// (MB/s, peak RSS MiB, lines).
fn backfill_run(mb: usize) -> Result<(f64, f64, usize), String> {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = tempfile::Builder::new()
        .prefix("dcb")
        .tempdir_in("/tmp")
        .unwrap();
    let session = "bacf0000-0000-4000-8000-000000000002";
    let path = transcript(home.path(), session);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let (mut written, mut n) = (0usize, 0usize);
    while written < mb << 20 {
        let l = line(session, n, 300 + n % 997);
        written += l.len() + 1;
        writeln!(w, "{l}").unwrap();
        n += 1;
    }
    drop(w);
    let start = Instant::now();
    // Reaped by `wait4` below (for its rusage), which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    let child = command(home.path(), &fake, DAEMON, &[])
        .args(["ingest", "backfill", "--quiet"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with valid out-pointers.
    unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    let secs = start.elapsed().as_secs_f64();
    if status != 0 {
        return Err(format!("backfill exited with status {status}"));
    }
    let got = fake.ingested_lines(session).len();
    if got != n {
        return Err(format!("backfill: {got} of {n} lines arrived"));
    }
    Ok((written as f64 / 1e6 / secs, ru.ru_maxrss as f64 / 1024.0, n))
}

fn main() -> ExitCode {
    let n = env_num("BENCH_LINES", 150);
    let quiet = env_num("BENCH_QUIET_MS", 20);
    let mb = env_num("BENCH_BACKFILL_MB", 100);
    println!("# Transcript ingest\n");
    println!(
        "| delta latency (line written → server has it) | p50 ms | p90 ms | p99 ms | max ms |"
    );
    println!("|---|---|---|---|---|");
    let mut ok = true;
    for (label, q) in [
        ("default quiet window (100 ms)".to_string(), None),
        (format!("DASHCLAW_TRANSCRIPT_QUIET_MS={quiet}"), Some(quiet)),
    ] {
        match latency_run(q, n) {
            Ok(l) => println!(
                "| {label}, {n} lines | {:.1} | {:.1} | {:.1} | {:.1} |",
                pct(&l, 0.5),
                pct(&l, 0.9),
                pct(&l, 0.99),
                l[l.len() - 1]
            ),
            Err(e) => {
                println!("| {label} | FAILED: {e} | | | |");
                ok = false;
            }
        }
    }
    println!();
    let sessions = env_num("BENCH_SESSIONS", 100);
    match sessions_run(sessions, 10) {
        Ok((rss, hwm, delivered, written)) => println!(
            "{sessions} live sessions for 10 s: daemon RSS {rss:.1} MiB (peak {hwm:.1} MiB), {delivered}/{written} lines delivered\n"
        ),
        Err(e) => {
            println!("{sessions} live sessions FAILED: {e}\n");
            ok = false;
        }
    }
    match backfill_run(mb) {
        Ok((rate, rss, lines)) => {
            println!("backfill: {mb} MiB ({lines} lines): {rate:.1} MB/s, peak RSS {rss:.1} MiB")
        }
        Err(e) => {
            println!("backfill FAILED: {e}");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
