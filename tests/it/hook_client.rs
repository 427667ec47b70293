//! The hook client against the real daemon and against broken ones: what the agent sees
//! (exit code, stdout, stderr) and what lands on disk.

use dashclaw_testkit::harness as common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use common::*;
use dashclaw_sidecar::protocol::{self, Rendered, Request, Response};

/// A home whose hook trusts this test binary as its daemon (the configured daemon binary, as
/// `DASHCLAW_DAEMON_BIN` allows), so the fakes below get past the peer check and what is tested
/// is how the hook treats their answers. tests/red_team.rs covers untrusted impostors.
fn fake_home() -> Home {
    Home::new().env(
        "DASHCLAW_DAEMON_BIN",
        std::env::current_exe().unwrap().to_str().unwrap(),
    )
}

/// A socket at the daemon's path, served by `serve` instead of dashclawd.
fn fake_daemon(home: &Home, serve: impl FnOnce(std::os::unix::net::UnixStream) + Send + 'static) {
    let run = home.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    let listener = UnixListener::bind(home.socket()).unwrap();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            serve(stream);
        }
    });
}

fn read_request(stream: &mut std::os::unix::net::UnixStream) -> Request {
    Request::read_from(stream).unwrap()
}

/// A fake daemon that reads the hook's request and then does `then` with the connection.
fn fake_daemon_after_request(
    home: &Home,
    then: impl FnOnce(std::os::unix::net::UnixStream) + Send + 'static,
) {
    fake_daemon(home, |mut s| {
        let _ = read_request(&mut s);
        then(s);
    });
}

/// `dashclaw-hook claude pre-tool-use` for a harmless `ls`.
fn hook_ls(home: &Home) -> std::process::Output {
    home.hook("claude", "pre-tool-use", &bash_event("ls"))
}

/// Whether the test runs as root; otherwise says it is skipped because it needs root `to`.
fn root(to: &str) -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: needs root {to}");
    }
    root
}

/// The hook allowed the call (exit 0).
fn assert_allowed(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
}

/// The hook denied the call (exit 2) and its stderr says `why`.
fn assert_denied(out: &std::process::Output, why: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(stderr(out).contains(why), "{}", stderr(out));
}

#[test]
fn readonly_call_is_allowed_silently_and_auto_starts_the_daemon() {
    let home = Home::new();
    assert!(!home.socket().exists());
    let out = home.hook("claude", "pre-tool-use", &bash_event("ls -la"));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "", "allow prints nothing on stdout");
    assert_eq!(stderr(&out), "");
    // The daemon is now up, auto-started, with a private socket.
    let status = home.dashclawd(&["status", "--json"]);
    assert!(status.status.success());
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["auto_started"], true);
    let mode = std::fs::metadata(home.socket())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(home.path().join("run"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);

    let ledger = home.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["verdict"], "allow");
    assert_eq!(ledger[0]["tool"], "Bash");
    assert_eq!(ledger[0]["session_id"], "sess-1");
    assert!(
        ledger[0]["client_us"].as_u64().is_some(),
        "client latency recorded"
    );
    assert!(
        ledger[0]["daemon_us"].as_u64().is_some(),
        "daemon latency recorded"
    );
}

#[test]
fn destructive_call_is_denied_with_a_reason_for_the_model() {
    let home = Home::new();
    let out = home.hook("claude", "pre-tool-use", &bash_event("rm -rf /"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("[DashClaw] Blocked by policy: "), "{err}");
    assert!(err.contains("\nInstead: "), "{err}");
    assert!(err.lines().count() <= 2, "one or two lines: {err}");
    let ledger = home.ledger();
    assert_eq!(ledger[0]["verdict"], "block");
    assert!(!ledger[0]["reasons"].as_array().unwrap().is_empty());
}

#[test]
fn garbage_stdin_is_a_deny() {
    let home = Home::new();
    let out = home.hook("claude", "pre-tool-use", b"{not json");
    assert_denied(&out, "could not parse");
    // And it is on record as a block.
    assert_eq!(home.ledger()[0]["verdict"], "block");
}

#[test]
fn empty_stdin_is_a_deny_without_asking_the_daemon() {
    let home = Home::new();
    for input in [&b""[..], b"  \n"] {
        let out = home.hook("claude", "pre-tool-use", input);
        assert_denied(&out, "empty payload");
    }
    assert!(!home.socket().exists(), "no daemon was needed");
}

#[test]
fn oversize_stdin_is_a_deny() {
    let home = Home::new();
    let mut big = bash_event("ls");
    big.resize(protocol::MAX_BODY + 1, b' ');
    let out = home.hook("claude", "pre-tool-use", &big);
    assert_denied(&out, "exceeds 16 MiB");
}

#[test]
fn bad_arguments_are_a_deny() {
    let home = Home::new();
    for args in [["claude", "pre-tool"], ["gpt", "pre-tool-use"]] {
        let out = home.hook(args[0], args[1], &bash_event("ls"));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("unknown"), "{}", stderr(&out));
    }
}

#[test]
fn no_daemon_binary_means_deny_with_the_fix() {
    let home = Home::new().env("DASHCLAW_DAEMON_BIN", "/nonexistent/dashclawd");
    let out = home.hook("claude", "pre-tool-use", &bash_event("ls"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("cannot start /nonexistent/dashclawd"), "{err}");
    assert!(err.contains("fail-closed"), "{err}");
}

#[test]
fn daemon_that_hangs_past_the_deadline_means_deny() {
    let home = fake_home().env("DASHCLAW_HOOK_DEADLINE_MS", "300");
    fake_daemon_after_request(&home, |_s| {
        std::thread::sleep(Duration::from_secs(5)); // never answers in time
    });
    let start = Instant::now();
    let out = hook_ls(&home);
    assert_denied(&out, "did not answer within the hook deadline");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "deadline enforced"
    );
}

/// The deadline is kept by a timer whose signal handler answers with what the main thread
/// prepared: a gating call is denied and a record of that deny is spooled; a record event is
/// spooled and let go. Once a real daemon starts, the ledger holds both.
#[test]
fn a_deadline_answer_is_spooled_and_reaches_the_ledger() {
    let home = fake_home().env("DASHCLAW_HOOK_DEADLINE_MS", "300");
    fake_daemon(&home, |first| {
        // Both hook calls connect; neither gets an answer before its deadline.
        let _held = first;
        std::thread::sleep(Duration::from_secs(5));
    });
    let out = hook_ls(&home);
    assert_denied(&out, "did not answer within the hook deadline");
    let out = home.hook("claude", "post-tool-use", &post_event("make test"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("was kept in"), "{}", stderr(&out));
    let spooled: Vec<String> = std::fs::read_dir(home.spool())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        spooled.iter().filter(|n| n.ends_with(".req")).count(),
        2,
        "{spooled:?}"
    );
    assert!(!spooled.iter().any(|n| n.ends_with(".tmp")), "{spooled:?}");

    std::fs::remove_file(home.socket()).unwrap();
    let home = home.env("DASHCLAW_DAEMON_BIN", dashclaw_testkit::DAEMON.as_str());
    let _daemon = home.spawn_daemon();
    let ledger = home.ledger();
    let deny = ledger
        .iter()
        .find(|r| r["event"] == "pre-tool-use")
        .expect("the hook's deny is in the ledger");
    assert!(
        deny.to_string()
            .contains("did not answer within the hook deadline"),
        "{deny}"
    );
    assert!(
        ledger
            .iter()
            .any(|r| r["event"] == "post-tool-use" && r["spooled"] == true),
        "{ledger:?}"
    );
}

#[test]
fn stdin_that_never_closes_is_cut_off_by_the_deadline() {
    let home = Home::new().env("DASHCLAW_HOOK_DEADLINE_MS", "300");
    let mut child = std::process::Command::new(HOOK)
        .args(["claude", "pre-tool-use"])
        .env("DASHCLAW_HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .env("DASHCLAW_HOOK_DEADLINE_MS", "300")
        .spawn()
        .unwrap();
    let _stdin = child.stdin.take(); // held open, never written
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn daemon_dying_mid_request_means_deny() {
    let home = fake_home();
    fake_daemon_after_request(&home, drop); // like a kill -9 after reading
    assert_denied(&hook_ls(&home), "closed the connection before answering");
}

#[test]
fn malformed_reply_means_deny() {
    let home = fake_home();
    fake_daemon_after_request(&home, |mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nallow");
    });
    assert_denied(&hook_ls(&home), "bad reply from dashclawd");
}

#[test]
fn reply_in_another_protocol_version_means_deny() {
    let home = fake_home();
    fake_daemon_after_request(&home, |mut s| {
        let allow = Response::Final(Rendered::default()).encode(protocol::VERSION + 1);
        let _ = s.write_all(&allow);
    });
    assert_denied(&hook_ls(&home), "protocol version mismatch");
}

#[test]
fn daemon_rejects_a_newer_client_with_instructions() {
    let home = Home::new();
    let _daemon = home.spawn_daemon();
    let mut s = std::os::unix::net::UnixStream::connect(home.socket()).unwrap();
    let mut req = Request::new(bash_event("ls"));
    req.version = protocol::VERSION + 1;
    req.set("agent", "claude");
    req.set("event", "pre-tool-use");
    s.write_all(&req.encode()).unwrap();
    match Response::read_from(&mut s, protocol::VERSION + 1).unwrap() {
        Response::Reject(msg) => assert!(msg.contains("dashclawd stop"), "{msg}"),
        other => panic!("expected a reject, got {other:?}"),
    }
}

#[test]
fn a_hold_extends_the_deadline_until_the_final_answer() {
    let home = fake_home().env("DASHCLAW_HOOK_DEADLINE_MS", "300");
    fake_daemon_after_request(&home, |mut s| {
        let hold = Response::Hold {
            extend_ms: 5_000,
            message: "waiting for approval".into(),
        };
        s.write_all(&hold.encode(protocol::VERSION)).unwrap();
        std::thread::sleep(Duration::from_millis(800)); // longer than the 300 ms deadline
        let _ = s.write_all(&Response::Final(Rendered::default()).encode(protocol::VERSION));
    });
    let out = hook_ls(&home);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("waiting for approval"));
}

#[test]
fn socket_directory_of_another_user_is_refused() {
    if !root("to give a directory to another uid") {
        return;
    }
    let home = fake_home();
    fake_daemon_after_request(&home, |mut s| {
        let _ = s.write_all(&Response::Final(Rendered::default()).encode(protocol::VERSION));
    });
    std::os::unix::fs::chown(home.path().join("run"), Some(65534), Some(65534)).unwrap();
    let out = hook_ls(&home);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a foreign daemon's allow must not count"
    );
    assert!(
        stderr(&out).contains("belongs to uid 65534"),
        "{}",
        stderr(&out)
    );
}

/// The client identifies the process behind the socket by SO_PEERCRED, not by file ownership.
#[test]
fn peer_credentials_name_the_connecting_user() {
    if !root("to connect as another uid") {
        return;
    }
    let home = Home::new();
    let run = home.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    for dir in [home.path(), run.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let listener = UnixListener::bind(home.socket()).unwrap();
    std::fs::set_permissions(home.socket(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // `dashclawd status` as nobody connects to us; we read its uid off the connection.
    let mut child = std::process::Command::new(DAEMON)
        .arg("status")
        .env_clear()
        .env("DASHCLAW_HOME", home.path())
        .uid(65534)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (stream, _) = listener.accept().unwrap();
    assert_eq!(dashclaw_sidecar::client::peer_uid(&stream).unwrap(), 65534);
    drop(stream);
    let _ = child.wait();
}

#[test]
fn socket_directory_others_can_enter_is_refused() {
    let home = fake_home();
    fake_daemon(&home, |_| {});
    std::fs::set_permissions(
        home.path().join("run"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    assert_denied(&hook_ls(&home), "run is writable by everyone");
}

#[test]
fn daemon_refuses_peers_of_another_uid() {
    if !root("to run the daemon as another uid") {
        return;
    }
    // The daemon runs as nobody in a home nobody owns; we (root) connect to it directly.
    let home = Home::new();
    std::os::unix::fs::chown(home.path(), Some(65534), Some(65534)).unwrap();
    let mut child = std::process::Command::new(DAEMON)
        .args(["run", "--quiet"])
        .env_clear()
        .env("DASHCLAW_HOME", home.path())
        .uid(65534)
        .gid(65534)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    home.wait_for_socket();
    let mut s = std::os::unix::net::UnixStream::connect(home.socket()).unwrap();
    let mut req = Request::new(bash_event("ls"));
    req.set("agent", "claude");
    req.set("event", "pre-tool-use");
    // The daemon may answer and hang up before reading: the write can fail, the answer stays.
    let _ = s.write_all(&req.encode());
    let resp = Response::read_from(&mut s, protocol::VERSION);
    let _ = child.kill();
    let _ = child.wait();
    match resp.unwrap() {
        Response::Reject(msg) => assert!(msg.contains("refuses requests from uid 0"), "{msg}"),
        other => panic!("expected a reject, got {other:?}"),
    }
}

use std::os::unix::process::CommandExt;

#[test]
fn record_events_never_block_and_are_spooled_then_drained() {
    let home = Home::new().env("DASHCLAW_DAEMON_BIN", "/nonexistent/dashclawd");
    let out = home.hook("claude", "post-tool-use", &post_event("make test"));
    assert_eq!(out.status.code(), Some(0), "post-tool-use never blocks");
    assert_eq!(stdout(&out), "");
    let out = home.hook(
        "claude",
        "stop",
        br#"{"session_id":"sess-1","stop_hook_active":false}"#,
    );
    assert_eq!(out.status.code(), Some(0), "stop never blocks");
    let spooled: Vec<_> = std::fs::read_dir(home.spool()).unwrap().flatten().collect();
    assert_eq!(spooled.len(), 2, "both events kept on disk");

    // The daemon starts, records both, and empties the spool.
    let _daemon = home.spawn_daemon();
    let ledger = home.ledger();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0]["event"], "post-tool-use");
    assert_eq!(ledger[0]["spooled"], true);
    assert_eq!(ledger[0]["outcome"]["status"], "completed");
    assert_eq!(ledger[1]["event"], "stop");
    let left: Vec<_> = std::fs::read_dir(home.spool())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "req"))
        .collect();
    assert!(left.is_empty(), "spool drained");
}

#[test]
fn killed_daemon_leaves_a_stale_socket_that_the_next_hook_recovers_from() {
    let home = Home::new();
    assert_allowed(&hook_ls(&home));
    let pid = home.daemon_pid().unwrap();
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(home.socket().exists(), "kill -9 leaves the socket behind");
    let out = home.hook("claude", "pre-tool-use", &bash_event("pwd"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(home.daemon_pid().unwrap(), pid, "a new daemon took over");
    // Nothing acknowledged was lost across the kill (which is itself recorded).
    let ledger = home.ledger();
    assert_eq!(
        ledger
            .iter()
            .filter(|e| e["event"] == "pre-tool-use")
            .count(),
        2
    );
    assert_eq!(
        ledger
            .iter()
            .filter(|e| e["event"] == "daemon-crash")
            .count(),
        1
    );
    assert!(home.dashclawd(&["log", "verify"]).status.success());
}

#[test]
fn fifty_concurrent_hooks_start_one_daemon() {
    let home = Home::new();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let mut cmd = std::process::Command::new(HOOK);
            cmd.args(["claude", "pre-tool-use"])
                .env("DASHCLAW_HOME", home.path())
                .env("DASHCLAW_HOOK_DEADLINE_MS", "20000");
            std::thread::spawn(move || run_with_stdin(cmd, &bash_event(&format!("echo {i}"))))
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let ready = home.log_text().matches("dashclawd ready").count();
    assert_eq!(ready, 1, "exactly one daemon served:\n{}", home.log_text());
    assert_eq!(home.ledger().len(), 50);
}

#[test]
fn auto_started_daemon_exits_when_idle() {
    let home = Home::new();
    std::fs::write(home.path().join("config.toml"), "idle_timeout_secs = 1\n").unwrap();
    assert_allowed(&hook_ls(&home));
    let start = Instant::now();
    while home.socket().exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "daemon never idled out"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(home.dashclawd(&["status"]).status.code(), Some(3));
}

#[test]
fn broken_config_denies_gating_events_and_says_where() {
    let home = Home::new();
    std::fs::write(
        home.path().join("config.toml"),
        "idle_timeout_secs = \"never\"\n",
    )
    .unwrap();
    let out = home.hook("claude", "pre-tool-use", &bash_event("ls"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("configuration is broken") && err.contains("config.toml"),
        "{err}"
    );
}

#[test]
fn observe_mode_reports_but_does_not_block() {
    let home = Home::new().env("DASHCLAW_HOOK_MODE", "observe");
    let out = home.hook("claude", "pre-tool-use", b"{garbage");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("[observe] Would block"),
        "{}",
        stderr(&out)
    );
    let rec = &home.ledger()[0];
    assert_eq!(rec["verdict"], "block");
    assert_eq!(rec["enforced"], false);
}

#[test]
fn status_and_stop() {
    let home = Home::new();
    assert_eq!(
        home.dashclawd(&["status"]).status.code(),
        Some(3),
        "not running yet"
    );
    let mut daemon = home.spawn_daemon();
    let out = home.dashclawd(&["status"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("running"));
    assert!(home.dashclawd(&["stop"]).status.success());
    let status = daemon.0.wait().unwrap();
    assert!(status.success());
    assert!(!home.socket().exists(), "socket removed on exit");
    assert!(home.daemon_pid().is_none(), "pid file removed on exit");
}

#[test]
fn second_daemon_refuses_to_start() {
    let home = Home::new();
    let _daemon = home.spawn_daemon();
    let out = home.dashclawd(&["run", "--quiet"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already running"), "{}", stderr(&out));
}

#[test]
fn log_follow_prints_new_records() {
    let home = Home::new();
    let _daemon = home.spawn_daemon();
    assert_allowed(&hook_ls(&home));
    let mut follow = std::process::Command::new(DAEMON)
        .args(["log", "--follow", "--json"])
        .env("DASHCLAW_HOME", home.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(
        home.hook("claude", "pre-tool-use", &bash_event("pwd"))
            .status
            .code(),
        Some(0)
    );
    let mut out = follow.stdout.take().unwrap();
    let mut seen = String::new();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while seen.lines().count() < 2 && start.elapsed() < Duration::from_secs(10) {
        let n = out.read(&mut buf).unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(
        seen.contains("Bash: ls") || seen.contains("\"seq\":1"),
        "{seen}"
    );
    assert!(seen.contains("\"seq\":2"), "{seen}");
}

fn bash_event_with_id(command: &str, id: &str) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&bash_event(command)).unwrap();
    v["tool_use_id"] = id.into();
    v.to_string().into_bytes()
}

#[test]
fn real_daemon_stopped_mid_request_means_deny_then_recovery() {
    let home = Home::new();
    assert_allowed(&hook_ls(&home));
    let pid = home.daemon_pid().unwrap();
    unsafe { libc::kill(pid, libc::SIGSTOP) }; // hung: accepts nothing, answers nothing
                                               // Only this call gets a short deadline: starting a daemon on a busy CI box may take longer.
    let out = home.hook_with("claude", "pre-tool-use", &bash_event("ls"), |cmd| {
        cmd.env("DASHCLAW_HOOK_DEADLINE_MS", "500");
    });
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    unsafe { libc::kill(pid, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(100));
    assert_allowed(&hook_ls(&home));
}

/// Hooks run while the daemon is killed with SIGKILL over and over: every call the agent was
/// told "allow" for is in the ledger afterwards, and the chain is intact.
#[test]
fn kill_minus_nine_loses_nothing_acknowledged() {
    let home = Home::new().env("DASHCLAW_HOOK_DEADLINE_MS", "5000");
    assert_allowed(&hook_ls(&home));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let stop = stop.clone();
        let pid_file = home.path().join("run/dashclawd.pid");
        std::thread::spawn(move || {
            let mut kills = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(40));
                if let Some(pid) = std::fs::read_to_string(&pid_file)
                    .ok()
                    .and_then(|s| s.trim().parse::<i32>().ok())
                {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    kills += 1;
                }
            }
            kills
        })
    };
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let home_path = home.path().to_path_buf();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0..40 {
                    let id = format!("toolu_{w}_{i}");
                    let mut cmd = std::process::Command::new(HOOK);
                    cmd.args(["claude", "pre-tool-use"])
                        .env("DASHCLAW_HOME", &home_path)
                        .env("DASHCLAW_HOOK_DEADLINE_MS", "5000");
                    let out = run_with_stdin(cmd, &bash_event_with_id("ls", &id));
                    if out.status.code() == Some(0) {
                        acked.push(id);
                    }
                }
                acked
            })
        })
        .collect();
    let acked: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let kills = killer.join().unwrap();
    assert!(kills >= 3, "the daemon was killed repeatedly ({kills})");
    assert!(!acked.is_empty());
    let _ = home.hook("claude", "pre-tool-use", &bash_event("ls")); // bring one up for `log`
    let recorded: std::collections::HashSet<String> = home
        .ledger()
        .iter()
        .filter_map(|r| r["tool_use_id"].as_str().map(str::to_owned))
        .collect();
    for id in &acked {
        assert!(
            recorded.contains(id),
            "acknowledged {id} missing from the ledger"
        );
    }
    assert!(home.dashclawd(&["log", "verify"]).status.success());
}

/// Under systemd socket activation the daemon adopts the listener it is handed (fd 3) and
/// leaves the socket file in place when it exits, so the next hook starts it again.
#[test]
fn socket_activation_adopts_the_inherited_listener() {
    let Ok(activate) = which("systemd-socket-activate") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs systemd (systemd-socket-activate)"
        );
        eprintln!("skipped: systemd-socket-activate not installed");
        return;
    };
    let home = Home::new();
    let run = home.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut activator = std::process::Command::new(activate)
        .arg("-l")
        .arg(home.socket())
        // The activator passes only the variables named with -E to the daemon.
        .arg(format!("--setenv=DASHCLAW_HOME={}", home.path().display()))
        .args([DAEMON.as_str(), "run", "--quiet"])
        .env("DASHCLAW_HOME", home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    home.wait_for_socket();
    assert_allowed(&hook_ls(&home));
    // The log is written by a background thread: give it a moment on a loaded machine.
    eventually(10, "the daemon logs that it adopted the socket", || {
        home.log_text()
            .contains("using the socket passed by systemd")
    });
    assert!(home.dashclawd(&["stop"]).status.success());
    let _ = activator.wait();
    assert!(
        home.socket().exists(),
        "the activated socket is not ours to remove"
    );
}

/// Under a real service manager the listening socket is created by the manager (systemd), not
/// by the daemon, and the kernel hands connecting clients the credentials of whoever called
/// listen(): the manager, whose executable is not dashclawd. Here the test process plays the
/// manager; the daemon must take the socket over (listen again) for the hook to trust it, and
/// the hook must not give up on the connection that started it.
#[test]
fn a_daemon_on_a_socket_its_manager_created_is_trusted() {
    use std::os::fd::AsRawFd;
    let home = Home::new();
    let run = home.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    let listener = UnixListener::bind(home.socket()).unwrap();
    std::fs::set_permissions(home.socket(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let fd = listener.as_raw_fd();
    let mut manager = std::process::Command::new("sh");
    manager
        .arg("-c")
        .arg(format!(
            "export LISTEN_PID=$$ LISTEN_FDS=1; exec '{}' run --quiet",
            DAEMON.as_str()
        ))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DASHCLAW_HOME", home.path())
        .env("HOME", home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: dup2 in the child before exec, as a service manager passes fd 3.
    unsafe {
        manager.pre_exec(move || {
            // Already fd 3: dup2 would be a no-op and leave close-on-exec set.
            let ok = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, 3) == 3
            };
            if !ok {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut daemon = manager.spawn().unwrap();
    // The first call is queued before the daemon runs, with the manager's credentials.
    assert_allowed(&hook_ls(&home));
    assert_allowed(&hook_ls(&home));
    eventually(10, "the daemon logs that it adopted the socket", || {
        home.log_text()
            .contains("using the socket passed by systemd")
    });
    assert!(home.dashclawd(&["stop"]).status.success());
    let _ = daemon.wait();
    drop(listener);
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// Issue 13.1: with a daemon that cannot start, the main thread and the watchdog both fail;
/// exactly one of them spools each event and the process exits only after the rename.
#[test]
fn a_daemon_that_cannot_start_loses_no_record_event() {
    let home = Home::new().env("DASHCLAW_DAEMON_BIN", "/bin/false");
    let hooks: Vec<_> = (0..40)
        .map(|i| {
            let mut cmd = std::process::Command::new(HOOK);
            cmd.args(["claude", "post-tool-use"])
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("DASHCLAW_HOME", home.path())
                .env("DASHCLAW_DAEMON_BIN", "/bin/false")
                // Deadline and the early-exit detection race each other on purpose.
                .env(
                    "DASHCLAW_HOOK_DEADLINE_MS",
                    if i % 2 == 0 { "400" } else { "600" },
                )
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let mut child = cmd.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(&post_event(&format!("echo {i}")))
                .unwrap();
            child
        })
        .collect();
    for mut h in hooks {
        assert_eq!(h.wait().unwrap().code(), Some(0));
    }
    let names: Vec<String> = std::fs::read_dir(home.spool())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".req")).count(),
        40,
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

/// Issue 13.6 (the hook's half): a daemon that exits at start costs a call a moment, not the
/// deadline, and its cause (run/daemon-start-error) is what the agent reads.
#[test]
fn a_daemon_that_fails_at_start_is_a_deny_at_once_with_its_cause() {
    let home = Home::new();
    let fake = home.path().join("fake-dashclawd");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nmkdir -p '{run}'\necho 'config.toml line 3: expected a table' > '{run}/daemon-start-error'\nexit 1\n",
            run = home.path().join("run").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = home.env("DASHCLAW_DAEMON_BIN", fake.to_str().unwrap());
    let start = Instant::now();
    let out = hook_ls(&home);
    assert_denied(
        &out,
        "dashclawd could not start: config.toml line 3: expected a table",
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    // Without a cause on file, the early exit alone is enough.
    let home = Home::new().env("DASHCLAW_DAEMON_BIN", "/bin/false");
    let start = Instant::now();
    assert_denied(&hook_ls(&home), "exited right after starting");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

/// Issue 13.1: a temp file orphaned by a hook that died before its rename is recovered by the
/// drain when it holds a complete frame, and removed when it does not (the hook that wrote it
/// reported the failure itself).
#[test]
fn orphaned_spool_temp_files_are_recovered() {
    let home = Home::new();
    std::fs::create_dir_all(home.spool()).unwrap();
    let mut req = Request::new(post_event("make orphan"));
    req.set("agent", "claude");
    req.set("event", "post-tool-use");
    req.set("id", "orphan-1");
    let complete = home.spool().join(".1700000000000000-4242.tmp");
    std::fs::write(&complete, req.encode()).unwrap();
    let torn = home.spool().join(".1700000000000001-4243.tmp");
    std::fs::write(&torn, &req.encode()[..20]).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(120);
    for f in [&complete, &torn] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let _daemon = home.spawn_daemon();
    let ledger = home.ledger();
    assert!(
        ledger
            .iter()
            .any(|r| r["event_id"] == "orphan-1" && r["spooled"] == true),
        "{ledger:?}"
    );
    assert!(!complete.exists() && !torn.exists());
}
