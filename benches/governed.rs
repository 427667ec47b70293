//! `cargo bench --bench governed`: a governed PreToolUse against a local DashClaw server.
//!
//! The server is the test suite's fake (tests/support/fake_dashclaw.rs) on 127.0.0.1, so the
//! numbers are the runtime's own cost plus one loopback HTTP round trip over a warm pooled
//! connection. Interleaved rows, so machine noise hits each alike:
//! - `governed`: `dashclaw-hook claude pre-tool-use` with `DASHCLAW_BASE_URL` set (guard call,
//!   `?record=true`, ledger commit);
//! - `offline`: the same hook against a daemon with no server (local policies only);
//! - `/bin/true`: process start-up floor.
//!
//! Prints a Markdown table; fails only when a call did not allow. Knobs: `BENCH_N` (1000),
//! `BENCH_WARMUP` (100).

use dashclaw_testkit::fake_dashclaw;

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use fake_dashclaw::{FakeDashClaw, Flavor};

use dashclaw_testkit::HOOK;

fn env_usize(k: &str, default: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Row {
    name: &'static str,
    home: Option<std::path::PathBuf>,
    server: Option<(String, String)>,
    samples: Vec<Duration>,
}

fn run(row: &Row, i: usize, payload: &[u8]) -> Result<Duration, String> {
    let mut cmd = match &row.home {
        None => Command::new("/bin/true"),
        Some(home) => {
            let mut c = Command::new(HOOK);
            c.args(["claude", "pre-tool-use"])
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("DASHCLAW_HOME", home)
                .env("HOME", home);
            if let Some((url, key)) = &row.server {
                c.env("DASHCLAW_BASE_URL", url).env("DASHCLAW_API_KEY", key);
            }
            c
        }
    };
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if row.home.is_some() {
        let mut stdin = child.stdin.take().unwrap();
        let body = String::from_utf8_lossy(payload).replace("TOOLU", &format!("toolu_{i}"));
        stdin
            .write_all(body.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let took = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{} call {i} exited {:?}: {}",
            row.name,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(took)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    let n = env_usize("BENCH_N", 1000);
    let warmup = env_usize("BENCH_WARMUP", 100);
    let fake = FakeDashClaw::start(Flavor::Newest);
    let governed_home = tempfile::Builder::new()
        .prefix("dcg")
        .tempdir_in("/tmp")
        .unwrap();
    let offline_home = tempfile::Builder::new()
        .prefix("dco")
        .tempdir_in("/tmp")
        .unwrap();
    let payload = br#"{"session_id":"bench","cwd":"/tmp","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git status --short"},"tool_use_id":"TOOLU"}"#;
    let mut rows = [
        Row {
            name: "governed (guard on loopback)",
            home: Some(governed_home.path().to_path_buf()),
            server: Some((fake.url(), fake.api_key())),
            samples: Vec::new(),
        },
        Row {
            name: "offline (local policies only)",
            home: Some(offline_home.path().to_path_buf()),
            server: None,
            samples: Vec::new(),
        },
        Row {
            name: "/bin/true",
            home: None,
            server: None,
            samples: Vec::new(),
        },
    ];
    for i in 0..warmup + n {
        for row in rows.iter_mut() {
            match run(row, i, payload) {
                Ok(d) if i >= warmup => row.samples.push(d),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let guards = fake.requests_to("/api/guard").len();
    println!("### Governed PreToolUse ({n} calls per row after {warmup} warm-up, interleaved)\n");
    println!("| row | median ms | p90 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for row in rows.iter_mut() {
        row.samples.sort();
        let s = &row.samples;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            row.name,
            pct(s, 0.5),
            pct(s, 0.9),
            pct(s, 0.99),
            s.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    println!(
        "\nguard requests served: {guards}; TCP connections opened by the daemon: {} (target: governed median < 3 ms)",
        fake.connections()
    );
    // The daemon's own view: the guard round trip as the ledger recorded it.
    let log = Command::new(dashclaw_testkit::DAEMON)
        .args(["log", "--json", "-n", "100000"])
        .env("DASHCLAW_HOME", governed_home.path())
        .env("HOME", governed_home.path())
        .output();
    if let Ok(log) = log {
        let records: Vec<serde_json::Value> = String::from_utf8_lossy(&log.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        for (key, what) in [
            ("guard_ms", "guard round trip"),
            ("gate_ms", "whole server part (guard, action mapping)"),
        ] {
            let mut ms: Vec<f64> = records
                .iter()
                .filter_map(|r| r["outcome"]["server"][key].as_f64())
                .collect();
            ms.sort_by(f64::total_cmp);
            if !ms.is_empty() {
                let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
                println!(
                    "{what} inside the daemon (ledger `{key}`): median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
                    at(0.5),
                    at(0.9),
                    at(0.99)
                );
            }
        }
    }
    for home in [governed_home.path(), offline_home.path()] {
        let _ = Command::new(dashclaw_testkit::DAEMON)
            .arg("stop")
            .env("DASHCLAW_HOME", home)
            .env("HOME", home)
            .output();
    }
    if guards < warmup + n {
        eprintln!("expected {} guard calls, the fake saw {guards}", warmup + n);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
