//! Nothing lost, nothing rewritten, nothing silent (issue 13, daemon side), with the real
//! binaries and faults made by real means: a ledger unlinked or emptied, a second process
//! holding the write lock, a full tmpfs, a daemon killed, panicking or failing at start, a
//! broken config edit.

use dashclaw_testkit::harness as common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use dashclaw_sidecar::ledger::{Ledger, Record, SyncMode};
use serde_json::{json, Value};

fn status_json(home: &Home) -> Value {
    let out = home.dashclawd(&["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn status_text(home: &Home) -> String {
    stdout(&home.dashclawd(&["status"]))
}

fn ledger_db(home: &Home) -> std::path::PathBuf {
    home.path().join("state/ledger.db")
}

fn post(i: usize) -> Vec<u8> {
    json!({"session_id": "s", "cwd": "/tmp", "hook_event_name": "PostToolUse",
        "tool_name": "Bash", "tool_input": {"command": format!("echo post-{i}")},
        "tool_response": {"stdout": "ok"}, "tool_use_id": format!("tu-{i}")})
    .to_string()
    .into_bytes()
}

fn records(n: usize) -> impl Iterator<Item = Record> {
    (1..=n).map(|i| Record {
        event_id: format!("e{i}"),
        agent: "claude".into(),
        event: "pre-tool-use".into(),
        summary: format!("Bash: echo {i}"),
        verdict: Some("allow".into()),
        enforced: true,
        ..Record::default()
    })
}

#[test]
fn log_n_prints_the_newest_n_and_all_of_them() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join("state")).unwrap();
    let ledger = Ledger::start(&ledger_db(&home), SyncMode::Normal).unwrap();
    for r in records(2500) {
        ledger.append_blocking(r).unwrap();
    }
    drop(ledger);
    let seqs = |n: &str| -> Vec<i64> {
        let out = home.dashclawd(&["log", "--json", "-n", n]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["seq"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    };
    let s = seqs("1200");
    assert_eq!(s.len(), 1200);
    assert_eq!((s[0], s[1199]), (1301, 2500));
    assert!(s.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(seqs("100000").len(), 2500);
    assert_eq!(seqs("3"), [2498, 2499, 2500]);
}

#[test]
fn a_closed_pipe_ends_log_quietly() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join("state")).unwrap();
    let ledger = Ledger::start(&ledger_db(&home), SyncMode::Normal).unwrap();
    for r in records(3000) {
        ledger.append_blocking(r).unwrap();
    }
    drop(ledger);
    for args in ["log -n 3000", "log --json -n 3000"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("set -o pipefail; '{DAEMON}' {args} | head -1"))
            .env("DASHCLAW_HOME", home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args}: {}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 1);
        assert!(stderr(&out).is_empty(), "{args}: {}", stderr(&out));
    }
}

#[test]
fn a_ledger_deleted_under_the_daemon_denies_and_is_reported() {
    let home = Home::new();
    let d = home.spawn_daemon();
    assert_eq!(
        home.hook("claude", "pre-tool-use", &bash_event("ls"))
            .status
            .code(),
        Some(0)
    );
    std::fs::remove_file(ledger_db(&home)).unwrap();

    let out = home.hook("claude", "pre-tool-use", &bash_event("ls"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("was deleted"), "{}", stderr(&out));
    // A record event is not lost: the hook keeps it in the spool.
    let out = home.hook("claude", "post-tool-use", &post(1));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(status_text(&home).contains("ledger refuses writes"));
    assert!(status_json(&home)["ledger_health"]["refusing"].is_string());

    home.dashclawd(&["stop"]);
    drop(d);
    let _d = home.spawn_daemon();
    let entries = home.ledger();
    assert_eq!(entries[0]["event"], "ledger-reset", "{entries:?}");
    assert_eq!(entries[0]["outcome"]["old_head"]["seq"], 1);
    assert!(
        entries
            .iter()
            .any(|e| e["summary"].as_str().unwrap().contains("post-1")),
        "the spooled event is recorded: {entries:?}"
    );
    let verify = home.dashclawd(&["log", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(stdout(&verify).contains("RESET"), "{}", stdout(&verify));
    assert!(status_text(&home).contains("ledger was RESET"));
}

#[test]
fn a_ledger_emptied_while_stopped_is_found() {
    let home = Home::new();
    {
        let _d = home.spawn_daemon();
        for i in 0..5 {
            home.hook("claude", "post-tool-use", &post(i));
        }
        home.dashclawd(&["stop"]);
    }
    assert!(home.dashclawd(&["log", "verify"]).status.success());
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", ledger_db(&home).display()));
    }
    std::fs::write(ledger_db(&home), b"").unwrap();
    let verify = home.dashclawd(&["log", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(stdout(&verify).contains("BROKEN"), "{}", stdout(&verify));
    assert!(stdout(&verify).contains("emptied"), "{}", stdout(&verify));

    let _d = home.spawn_daemon();
    let entries = home.ledger();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["event"], "ledger-reset");
    assert_eq!(entries[0]["outcome"]["old_head"]["seq"], 5);
}

#[test]
fn a_ledger_locked_by_another_process_is_waited_for() {
    let home = Home::new();
    let _d = home.spawn_daemon();
    assert_eq!(
        home.hook("claude", "pre-tool-use", &bash_event("ls"))
            .status
            .code(),
        Some(0)
    );
    // This test process is the other process: it takes the write lock for 1.5 s.
    let holder = rusqlite::Connection::open(ledger_db(&home)).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        holder.execute_batch("ROLLBACK").unwrap();
    });
    let t = Instant::now();
    let out = home.hook("claude", "pre-tool-use", &bash_event("ls"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        t.elapsed() >= Duration::from_millis(1200),
        "{:?}",
        t.elapsed()
    );
    release.join().unwrap();

    // Held past the busy timeout: a deny naming the lock, not a hang.
    let holder = rusqlite::Connection::open(ledger_db(&home)).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = home.hook("claude", "pre-tool-use", &bash_event("ls"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("locked"), "{}", stderr(&out));
    holder.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn a_failed_start_leaves_its_cause_and_a_good_one_removes_it() {
    let home = Home::new();
    std::fs::create_dir_all(ledger_db(&home)).unwrap();
    let out = home.dashclawd(&["run", "--quiet"]);
    assert!(!out.status.success());
    let cause = std::fs::read_to_string(home.path().join("run/daemon-start-error")).unwrap();
    assert_eq!(cause.lines().count(), 1, "{cause}");
    assert!(cause.contains("ledger"), "{cause}");
    let status = home.dashclawd(&["status"]);
    assert_eq!(status.status.code(), Some(3));
    assert!(
        stderr(&status).contains("the last start failed"),
        "{}",
        stderr(&status)
    );

    std::fs::remove_dir(ledger_db(&home)).unwrap();
    let _d = home.spawn_daemon();
    assert!(!home.path().join("run/daemon-start-error").exists());
    // A second daemon that finds the first is not a failure to report.
    let second = home.dashclawd(&["run", "--quiet"]);
    assert!(!second.status.success());
    assert!(!home.path().join("run/daemon-start-error").exists());
}

#[test]
fn a_panic_is_kept_and_shown_and_stderr_is_captured() {
    let home = Home::new().env("DASHCLAW_DEBUG_PANIC_WHEN_READY", "1");
    // The hook auto-starts a daemon that panics as soon as it is ready.
    let out = home.hook("claude", "post-tool-use", &post(7));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let crash_file = home.path().join("state/last-crash.json");
    eventually(15, "the crash file", || crash_file.exists());
    let crash: Value = serde_json::from_slice(&std::fs::read(&crash_file).unwrap()).unwrap();
    assert_eq!(crash["kind"], "panic");
    assert!(crash["message"].as_str().unwrap().contains("crash path"));
    // Debug builds unwind (release builds abort): wait until that process is really gone.
    let pid = crash["pid"].as_i64().unwrap() as i32;
    // SAFETY: kill(2) with signal 0 only checks for existence.
    eventually(15, "the panicked daemon to exit", || unsafe {
        libc::kill(pid, 0) != 0
    });
    eventually(10, "the panic message in the captured stderr", || {
        std::fs::read_to_string(home.path().join("state/dashclawd.stderr"))
            .is_ok_and(|s| s.contains("panicked"))
    });

    // The next hook starts a good daemon, which records the crash and shows it.
    let out = home.hook_with("claude", "post-tool-use", &post(8), |c| {
        c.env_remove("DASHCLAW_DEBUG_PANIC_WHEN_READY");
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    home.wait_for_socket();
    let entries = home.ledger();
    let crash = entries
        .iter()
        .find(|e| e["event"] == "daemon-crash")
        .unwrap_or_else(|| panic!("no crash entry: {entries:?}"));
    assert_eq!(crash["outcome"]["kind"], "panic");
    let text = status_text(&home);
    assert!(text.contains("last crash"), "{text}");
    assert!(text.contains("crash path"), "{text}");
}

#[test]
fn a_killed_daemon_is_noticed_at_the_next_start() {
    let home = Home::new();
    let mut d = home.spawn_daemon();
    let pid = home.daemon_pid().unwrap();
    d.0.kill().unwrap();
    d.0.wait().unwrap();
    let _d = home.spawn_daemon();
    let entries = home.ledger();
    let crash = entries
        .iter()
        .find(|e| e["event"] == "daemon-crash")
        .unwrap();
    assert!(crash["summary"]
        .as_str()
        .unwrap()
        .contains(&pid.to_string()));
    assert!(status_text(&home).contains("without shutting down"));
    assert!(home.dashclawd(&["log", "verify"]).status.success());
}

#[test]
fn config_edits_apply_live_and_a_broken_one_keeps_the_last_good() {
    let home = Home::new();
    let _d = home.spawn_daemon();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "ledger_sync = \"full\"\n").unwrap();
    eventually(10, "ledger_sync applied", || {
        status_json(&home)["config_reload"]["in_force"]["ledger_sync"] == "full"
    });

    std::fs::write(&config, "ledger_sync = 3\n").unwrap();
    eventually(10, "the broken edit reported", || {
        status_json(&home)["config_reload"]["reload_error"].is_string()
    });
    assert!(status_text(&home).contains("edit IGNORED"));
    let s = status_json(&home);
    assert_eq!(s["config_reload"]["in_force"]["ledger_sync"], "full");
    // The last good configuration governs: calls are decided as before, not denied.
    let out = home.hook("claude", "pre-tool-use", &bash_event("ls"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doctor = stdout(&home.dashclawd(&["doctor", "--no-probe"]));
    assert!(doctor.contains("edit IGNORED"), "{doctor}");

    std::fs::write(&config, "log_keep_days = 3\n").unwrap();
    eventually(10, "the fix applied", || {
        let s = status_json(&home);
        s["config_reload"]["reload_error"].is_null()
            && s["config_reload"]["in_force"]["ledger_sync"] == "normal"
    });
    let s = status_json(&home);
    assert_eq!(
        s["config_reload"]["restart_pending"],
        json!(["log_keep_days"])
    );
    assert!(status_text(&home).contains("restart the daemon"));
}

/// A real full disk: a small tmpfs (root only; skipped with the reason otherwise).
#[test]
fn record_events_survive_a_full_disk() {
    // SAFETY: geteuid(2) has no failure modes.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs"])
        .arg(mnt.path())
        .status();
    if !matches!(mounted, Ok(s) if s.success()) {
        eprintln!("skipped: cannot mount a tmpfs here ({mounted:?})");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.path().to_path_buf());
    let home = Home {
        dir: tempfile::Builder::new()
            .prefix("dc")
            .tempdir_in(mnt.path())
            .unwrap(),
        extra_env: Vec::new(),
    };
    std::fs::write(home.path().join("config.toml"), "disk_reserve_mb = 8\n").unwrap();
    let _d = home.spawn_daemon();
    assert!(home.path().join("state/disk-reserve").exists());
    // Fill the file system to the last byte.
    let filler = home.path().join("filler");
    let dd = Command::new("dd")
        .args(["if=/dev/zero", "bs=1M"])
        .arg(format!("of={}", filler.display()))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!dd.success(), "dd should have hit ENOSPC");
    assert!(std::fs::write(mnt.path().join("probe"), vec![0u8; 8192]).is_err());

    let n = 300;
    for i in 0..n {
        let out = home.hook("claude", "post-tool-use", &post(i));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let entries = home.ledger();
    for i in 0..n {
        let needle = format!("echo post-{i}");
        assert!(
            entries
                .iter()
                .any(|e| e["summary"].as_str().unwrap().contains(&needle)),
            "event {i} lost"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(home.spool())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(status_text(&home).contains("FULL"));
    std::fs::remove_file(&filler).unwrap();
}
