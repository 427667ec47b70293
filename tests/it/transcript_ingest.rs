//! Transcript streaming end to end: the real daemon learns a session's transcript from a hook
//! event, tails it and ships sanitized lines to the fake DashClaw's ingest-jsonl; the cursor only
//! moves on a 200, so kills, outages, truncation and replacement lose nothing. Plus
//! `dashclawd ingest backfill` on a big generated transcript with bounded memory.
//!
//! `DASHCLAW_TEST_BACKFILL_MB` sets the backfill transcript's size (default 200, as the issue asks;
//! about a minute in a debug build).

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use dashclaw_sidecar::event::Agent;
use dashclaw_sidecar::transcript::{sanitize_line, Mode};
use fake_dashclaw::{FakeDashClaw, Flavor};
use serde_json::{json, Value};

const SESSION: &str = "5e55a0e1-0000-4000-8000-000000000001";

fn governed(fake: &FakeDashClaw) -> Home {
    Home::for_server(&fake.url(), &fake.api_key())
}

/// Line `i` of a Claude Code transcript: mostly assistant records (they name the session),
/// every third a user prompt; each with content that metadata mode must blank.
fn line(session: &str, i: usize) -> String {
    if i % 3 == 1 {
        json!({"type": "user", "uuid": format!("u-{i}"), "sessionId": session,
               "timestamp": "2026-11-29T10:00:00Z", "cwd": "/work/proj",
               "message": {"role": "user", "content": format!("please do step {i} with password hunter{i}")}})
        .to_string()
    } else {
        json!({"type": "assistant", "uuid": format!("u-{i}"), "sessionId": session,
               "timestamp": "2026-11-29T10:00:01Z",
               "message": {"id": format!("msg_{i}"), "role": "assistant", "model": "claude-test",
                           "content": [{"type": "text", "text": format!("reply {i}: here is what I did")},
                                       {"type": "tool_use", "id": format!("toolu_{i}"), "name": "Bash",
                                        "input": {"command": format!("echo {i}")}}],
                           "usage": {"input_tokens": 10, "output_tokens": i}}})
        .to_string()
    }
}

fn sanitized(raw: &str) -> String {
    sanitize_line(Agent::Claude, raw, Mode::Metadata).unwrap()
}

struct Transcript {
    path: PathBuf,
    file: std::fs::File,
}

impl Transcript {
    fn create(home: &Home, session: &str) -> Transcript {
        let dir = home.path().join(".claude/projects/-work-proj");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{session}.jsonl"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        Transcript { path, file }
    }
    fn write(&mut self, bytes: &[u8]) {
        self.file.write_all(bytes).unwrap();
        self.file.flush().unwrap();
    }
    fn line(&mut self, raw: &str) {
        self.write(format!("{raw}\n").as_bytes());
    }
}

fn hook_event(path: &Path, session: &str, event: &str) -> Vec<u8> {
    let name = match event {
        "session-start" => "SessionStart",
        "session-end" => "SessionEnd",
        _ => "Stop",
    };
    json!({"session_id": session, "transcript_path": path, "cwd": "/work/proj",
           "hook_event_name": name, "source": "startup", "reason": "exit"})
    .to_string()
    .into_bytes()
}

fn register(home: &Home, t: &Transcript, session: &str) {
    let out = home.hook(
        "claude",
        "session-start",
        &hook_event(&t.path, session, "session-start"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The lines as the server keeps them once it skipped re-sent records (by `uuid`).
fn deduped(lines: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    lines
        .iter()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            seen.insert(v["uuid"].as_str().unwrap_or_default().to_owned())
        })
        .cloned()
        .collect()
}

fn status(home: &Home) -> Value {
    let out = home.dashclawd(&["status", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn a_growing_session_is_ingested_in_order_without_gaps_or_duplicates() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let _d = home.spawn_daemon();
    let mut t = Transcript::create(&home, SESSION);
    let mut expected = Vec::new();
    t.line(&line(SESSION, 0));
    expected.push(sanitized(&line(SESSION, 0)));
    register(&home, &t, SESSION);
    for i in 1..120 {
        let raw = line(SESSION, i);
        if i % 17 == 0 {
            // A line written in two pieces, with a flush window in between.
            let (a, b) = raw.split_at(raw.len() / 2);
            t.write(a.as_bytes());
            std::thread::sleep(Duration::from_millis(400));
            t.write(format!("{b}\n").as_bytes());
        } else {
            t.line(&raw);
        }
        if i == 50 {
            t.line("this is not json");
            t.line("[1, 2]");
        }
        expected.push(sanitized(&raw));
        if i % 10 == 0 {
            std::thread::sleep(Duration::from_millis(30));
        }
    }
    eventually(20, "every line", || {
        fake.ingested_lines(SESSION).len() >= expected.len()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.ingested_lines(SESSION), expected);
    // Metadata mode: the prompt's secret never left.
    assert!(!fake.ingested_lines(SESSION).concat().contains("hunter"));
    for r in fake.requests_to("/api/code-sessions/ingest-jsonl") {
        assert_eq!(r.header("x-dashclaw-encoding"), Some("gzip"));
        let body = r.body_json.unwrap();
        assert_eq!(body["session_uuid"], SESSION);
        assert_eq!(body["project"]["source_host"], "hook");
        assert_eq!(body["project"]["slug"], "-work-proj");
        assert!(r.raw_len < 1536 * 1024);
    }
    let st = status(&home);
    let tr = &st["transcripts"];
    assert_eq!(tr["lines_shipped"], expected.len(), "{tr}");
    assert_eq!(tr["dropped_malformed"], 2, "{tr}");
    assert_eq!(tr["sessions_watched"], 1, "{tr}");
    assert_eq!(tr["sessions"][0]["bytes_behind"], 0, "{tr}");

    // Session end: the rest goes, then finalize.
    t.line(&line(SESSION, 200));
    expected.push(sanitized(&line(SESSION, 200)));
    let out = home.hook(
        "claude",
        "session-end",
        &hook_event(&t.path, SESSION, "session-end"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    eventually(10, "finalize", || {
        fake.requests_to("/api/code-sessions/ingest-live")
            .iter()
            .any(|r| r.body_json.as_ref().is_some_and(|b| b["finalize"] == true))
    });
    assert_eq!(fake.ingested_lines(SESSION), expected);
}

#[test]
fn kill_9_mid_stream_then_restart_loses_nothing() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let mut d = home.spawn_daemon();
    let mut t = Transcript::create(&home, SESSION);
    t.line(&line(SESSION, 0));
    register(&home, &t, SESSION);
    let mut expected = vec![sanitized(&line(SESSION, 0))];
    for i in 1..300 {
        t.line(&line(SESSION, i));
        expected.push(sanitized(&line(SESSION, i)));
        if i == 150 {
            eventually(10, "some lines", || {
                !fake.ingested_lines(SESSION).is_empty()
            });
            d.0.kill().unwrap(); // SIGKILL
            let _ = d.0.wait();
        }
        if i % 20 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // The restarted daemon resumes from the stored cursor without any new hook event.
    let _d2 = home.spawn_daemon();
    eventually(20, "every line after the restart", || {
        deduped(&fake.ingested_lines(SESSION)).len() >= expected.len()
    });
    std::thread::sleep(Duration::from_millis(500));
    let got = fake.ingested_lines(SESSION);
    assert_eq!(deduped(&got), expected, "gaps or reordering");
    // At most the batch in flight at the kill is re-sent.
    assert!(
        got.len() - expected.len() <= 151,
        "{} re-sent lines",
        got.len() - expected.len()
    );
}

#[test]
fn server_outage_then_recovery_delivers_everything_once() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let _d = home.spawn_daemon();
    let mut t = Transcript::create(&home, SESSION);
    t.line(&line(SESSION, 0));
    register(&home, &t, SESSION);
    let mut expected = vec![sanitized(&line(SESSION, 0))];
    eventually(10, "the first line", || {
        fake.ingested_lines(SESSION).len() == 1
    });
    fake.stop();
    for i in 1..40 {
        t.line(&line(SESSION, i));
        expected.push(sanitized(&line(SESSION, i)));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let tr = status(&home)["transcripts"].clone();
    assert!(tr["backlog_bytes"].as_u64().unwrap() > 0, "{tr}");
    assert!(tr["retries"].as_u64().unwrap() > 0, "{tr}");
    fake.restart();
    eventually(40, "the backlog", || {
        fake.ingested_lines(SESSION).len() >= expected.len()
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fake.ingested_lines(SESSION), expected);
    eventually(5, "no backlog", || {
        status(&home)["transcripts"]["backlog_bytes"] == 0
    });
}

#[test]
fn rate_limit_is_honoured_and_nothing_is_lost() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    fake.set_retry_after(1);
    let home = governed(&fake);
    let _d = home.spawn_daemon();
    let mut t = Transcript::create(&home, SESSION);
    t.line(&line(SESSION, 0));
    fake.rate_limit(1);
    register(&home, &t, SESSION);
    let expected = vec![sanitized(&line(SESSION, 0))];
    eventually(15, "the line after the 429", || {
        fake.ingested_lines(SESSION).len() == 1
    });
    assert_eq!(fake.ingested_lines(SESSION), expected);
}

#[test]
fn truncated_and_replaced_files_are_read_from_the_start() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let _d = home.spawn_daemon();
    let mut t = Transcript::create(&home, SESSION);
    let mut expected = Vec::new();
    for i in 0..10 {
        t.line(&line(SESSION, i));
        expected.push(sanitized(&line(SESSION, i)));
    }
    register(&home, &t, SESSION);
    eventually(10, "the first file", || {
        fake.ingested_lines(SESSION).len() == 10
    });
    // Replaced by rename with different content.
    let tmp = t.path.with_extension("tmp");
    let mut text = String::new();
    for i in 100..105 {
        text.push_str(&line(SESSION, i));
        text.push('\n');
        expected.push(sanitized(&line(SESSION, i)));
    }
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &t.path).unwrap();
    eventually(10, "the replacement", || {
        fake.ingested_lines(SESSION).len() == 15
    });
    // Truncated in place and rewritten.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&t.path)
        .unwrap();
    for i in 200..203 {
        writeln!(f, "{}", line(SESSION, i)).unwrap();
        expected.push(sanitized(&line(SESSION, i)));
    }
    drop(f);
    eventually(10, "the rewrite", || {
        fake.ingested_lines(SESSION).len() == 18
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fake.ingested_lines(SESSION), expected);
}

#[test]
fn a_v2_server_without_ingest_stops_shipping_once() {
    let fake = FakeDashClaw::start(Flavor::V2);
    let home = governed(&fake);
    let _d = home.spawn_daemon();
    let mut t = Transcript::create(&home, SESSION);
    t.line(&line(SESSION, 0));
    register(&home, &t, SESSION);
    eventually(10, "shipping disabled", || {
        status(&home)["transcripts"]["enabled"] == false
    });
    let n = fake.requests_to("/api/code-sessions/").len();
    for i in 1..5 {
        t.line(&line(SESSION, i));
    }
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(fake.requests_to("/api/code-sessions/").len(), n);
    assert_eq!(n, 1);
}

/// Runs `dashclawd <args>` in `home` and returns (success, peak RSS in KiB) of that process
/// alone (`wait4`; `RUSAGE_CHILDREN` would also count the other tests' daemons).
fn dashclawd_rss(home: &Home, args: &[&str]) -> (bool, i64) {
    let mut cmd = std::process::Command::new(DAEMON);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DASHCLAW_HOME", home.path())
        .env("HOME", home.path())
        .current_dir(home.path())
        .args(args)
        .stdout(std::process::Stdio::null());
    for (k, v) in &home.extra_env {
        cmd.env(k, v);
    }
    // Peak RSS from the child's own /proc VmHWM, polled until it exits: wait4's ru_maxrss
    // would include this test process's size at the spawn (Linux carries the parent's
    // high-water mark across vfork + exec), and the one test binary is large.
    let mut child = cmd.spawn().unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut hwm_kib = 0i64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            {
                hwm_kib = hwm_kib.max(kib);
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    (status.success(), hwm_kib)
}

/// Writes a transcript of about `mb` MiB, backfills it, and returns (lines, peak RSS in MiB),
/// after checking that every line arrived once and a second run sends nothing.
fn backfill_once(mb: usize, session: &str) -> (usize, i64) {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let mut t = Transcript::create(&home, session);
    let mut written = 0usize;
    let mut n = 0usize;
    {
        let mut w = std::io::BufWriter::new(&mut t.file);
        while written < mb * 1024 * 1024 {
            let mut raw = line(session, n);
            // Bulky content (blanked by metadata mode), not compressible to nothing.
            raw.insert_str(
                raw.len() - 1,
                &format!(",\"toolUseResult\":\"{}\"", "x".repeat(400 + n % 97)),
            );
            written += raw.len() + 1;
            writeln!(w, "{raw}").unwrap();
            n += 1;
        }
    }
    // Dry run: says how much, sends nothing.
    let out = home.dashclawd(&["ingest", "backfill", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&written.to_string()),
        "{}",
        stdout(&out)
    );
    assert!(fake.requests_to("/api/code-sessions/").is_empty());

    let start = Instant::now();
    let (ok, rss_kib) = dashclawd_rss(
        &home,
        &["ingest", "backfill", "--agent", "claude", "--quiet"],
    );
    let secs = start.elapsed().as_secs_f64();
    assert!(ok, "backfill failed");
    let rss_mib = rss_kib / 1024;
    eprintln!(
        "backfill: {mb} MiB, {n} lines in {secs:.2}s = {:.1} MB/s; peak RSS {rss_mib} MiB",
        mb as f64 / secs
    );
    let got = fake.ingested_lines(session);
    assert_eq!(got.len(), n);
    assert_eq!(deduped(&got).len(), n);
    for r in fake.requests_to("/api/code-sessions/ingest-jsonl") {
        assert!(r.raw_len <= 1536 * 1024, "{}", r.raw_len);
        assert_eq!(r.body_json.unwrap()["project"]["source_host"], "jsonl");
    }

    // Everything is acknowledged: a second run sends nothing.
    let before = fake.requests_to("/api/code-sessions/").len();
    let out = home.dashclawd(&["ingest", "backfill"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("nothing to upload"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fake.requests_to("/api/code-sessions/").len(), before);
    (n, rss_mib)
}

#[test]
fn backfill_uploads_a_big_transcript_with_bounded_memory_and_resumes() {
    // Two sizes past the first few batches: memory must not follow the file (1 MiB reads,
    // 8 MiB batches). The larger size is `DASHCLAW_TEST_BACKFILL_MB` (default 64; 200 was run
    // by hand, see README), the smaller half of it.
    let big: usize = std::env::var("DASHCLAW_TEST_BACKFILL_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let small = (big / 2).max(24);
    let (_, rss_small) = backfill_once(small, "b0b0b0b0-0000-4000-8000-000000000001");
    let (_, rss_big) = backfill_once(big, "b0b0b0b0-0000-4000-8000-000000000002");
    // Twice the data, and at most a quarter of the difference more memory.
    let grown = rss_big - rss_small;
    assert!(
        grown * 4 <= (big - small) as i64,
        "peak RSS grew by {grown} MiB from a {small} MiB to a {big} MiB transcript ({rss_small} → {rss_big} MiB)"
    );
    assert!(
        rss_big < 100,
        "peak RSS {rss_big} MiB for a {big} MiB transcript"
    );
}

#[test]
fn sessions_seen_without_a_server_are_shipped_once_one_is_configured() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let offline = Home::new();
    let mut t = Transcript::create(&offline, SESSION);
    let lines: Vec<String> = (0..6).map(|i| line(SESSION, i)).collect();
    for l in &lines {
        t.line(l);
    }
    register(&offline, &t, SESSION);
    assert!(fake.ingested_lines(SESSION).is_empty());
    // The same home, now with a server: the daemon started by the next hook resumes it.
    assert_eq!(offline.dashclawd(&["stop"]).status.code(), Some(0));
    let home = offline
        .env("DASHCLAW_BASE_URL", &fake.url())
        .env("DASHCLAW_API_KEY", &fake.api_key());
    let out = home.hook(
        "claude",
        "user-prompt-submit",
        br#"{"session_id":"other","cwd":"/tmp","prompt":"x"}"#,
    );
    assert_eq!(out.status.code(), Some(0));
    let want: Vec<String> = lines.iter().map(|l| sanitized(l)).collect();
    eventually(15, "the offline session shipped", || {
        deduped(&fake.ingested_lines(SESSION)) == want
    });
}

#[test]
fn a_transcript_deleted_before_delivery_is_a_ledger_entry_naming_the_bytes() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let mut t = Transcript::create(&home, SESSION);
    t.line(&line(SESSION, 0));
    register(&home, &t, SESSION);
    eventually(10, "the first line", || {
        fake.ingested_lines(SESSION).len() == 1
    });
    let acked = std::fs::metadata(&t.path).unwrap().len();
    // With no daemon watching, the agent writes more and the transcript is deleted.
    assert_eq!(home.dashclawd(&["stop"]).status.code(), Some(0));
    t.line(&line(SESSION, 2));
    std::fs::remove_file(&t.path).unwrap();
    let out = home.hook(
        "claude",
        "user-prompt-submit",
        br#"{"session_id":"other","cwd":"/tmp","prompt":"x"}"#,
    );
    assert_eq!(out.status.code(), Some(0));
    let start = Instant::now();
    let lost = loop {
        if let Some(r) = home
            .ledger()
            .into_iter()
            .find(|r| r["event"] == "transcript-lost")
        {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no ledger entry for the loss"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let summary = lost["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!(
            "was deleted before the server had anything after byte {acked}"
        )),
        "{summary}"
    );
    assert_eq!(lost["session_id"], SESSION);
}

#[test]
fn codex_rollouts_are_backfilled_as_one_live_turn_each_and_finalized() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let uuid = "019ac0de-1111-7222-8333-444455556666";
    let dir = home.path().join(".codex/sessions/2026/11/29");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("rollout-2026-11-29T10-00-00-{uuid}.jsonl"));
    let turn = |n: u64| {
        [
            json!({"timestamp":"2026-11-29T10:00:00Z","type":"turn_context","payload":{"model":"gpt-test","cwd":"/work/proj"}}),
            json!({"timestamp":"2026-11-29T10:00:01Z","type":"response_item","payload":{"type":"function_call","name":"shell","call_id":format!("call_{n}"),"arguments":"{\"command\":[\"ls\"]}"}}),
            json!({"timestamp":"2026-11-29T10:00:02Z","type":"event_msg","payload":{"type":"token_count","info":{"last_token_usage":{"input_tokens":100*n,"cached_input_tokens":0,"output_tokens":n}}}}),
        ]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect::<String>()
    };
    let meta = json!({"timestamp":"2026-11-29T10:00:00Z","type":"session_meta","payload":{"id":uuid,"cwd":"/work/proj"}});
    std::fs::write(&path, format!("{meta}\n{}{}", turn(1), turn(2))).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out = home.dashclawd(&["ingest", "backfill", "--agent", "codex", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let turns = fake.live_turns(uuid);
    assert_eq!(turns.len(), 2, "{turns:?}");
    assert!(turns[1].to_string().contains("call_2"), "{turns:?}");
    let finalized = fake
        .requests_to("/api/code-sessions/ingest-live")
        .iter()
        .filter(|r| r.body_json.as_ref().is_some_and(|b| b["finalize"] == true))
        .count();
    assert_eq!(finalized, 1);
    // A second run finds nothing new.
    let out = home.dashclawd(&["ingest", "backfill", "--agent", "codex", "--quiet"]);
    assert!(out.status.success());
    assert_eq!(fake.live_turns(uuid).len(), 2);
}
