//! Shared harness for tests that run the real binaries against a private `DASHCLAW_HOME`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use crate::bins::{DAEMON, HOOK};

/// A private DashClaw home; stops whatever daemon runs there when dropped.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
}

impl Default for Home {
    fn default() -> Home {
        Home::new()
    }
}

impl Home {
    pub fn new() -> Home {
        // Short path: the socket must fit in sun_path without the /tmp fallback.
        let dir = tempfile::Builder::new()
            .prefix("dc")
            .tempdir_in("/tmp")
            .unwrap();
        Home {
            dir,
            extra_env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.path().join("run/dashclawd.sock")
    }

    pub fn spool(&self) -> PathBuf {
        self.path().join("state/spool")
    }

    /// A home whose hooks (and the daemon they start) govern through the server at `url`.
    pub fn for_server(url: &str, api_key: &str) -> Home {
        Home::new()
            .env("DASHCLAW_BASE_URL", url)
            .env("DASHCLAW_API_KEY", api_key)
    }

    pub fn env(mut self, k: &str, v: &str) -> Home {
        self.extra_env.push((k.into(), v.into()));
        self
    }

    fn command(&self, bin: &str) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("DASHCLAW_HOME", self.path())
            .env("HOME", self.path())
            // The daemon binary beside the hook is found without PATH.
            .current_dir(self.path());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `dashclaw-hook <agent> <event>` with `stdin`.
    pub fn hook(&self, agent: &str, event: &str, stdin: &[u8]) -> Output {
        self.hook_with(agent, event, stdin, |_| {})
    }

    pub fn hook_with(
        &self,
        agent: &str,
        event: &str,
        stdin: &[u8],
        tweak: impl FnOnce(&mut Command),
    ) -> Output {
        let mut cmd = self.command(HOOK.as_str());
        cmd.args([agent, event]);
        tweak(&mut cmd);
        run_with_stdin(cmd, stdin)
    }

    /// Runs `dashclawd <args>`.
    pub fn dashclawd(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(DAEMON.as_str());
        cmd.args(args);
        run_with_stdin(cmd, b"")
    }

    pub fn dashclawd_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut cmd = self.command(DAEMON.as_str());
        cmd.args(args);
        run_with_stdin(cmd, stdin)
    }

    /// Starts `dashclawd run` in the background (not auto-started: no idle exit).
    pub fn spawn_daemon(&self) -> Daemon {
        let child = self
            .command(DAEMON.as_str())
            .args(["run", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.wait_for_socket();
        // The daemon binds (connections queue from then on) before it writes its pid file.
        let start = Instant::now();
        while self.daemon_pid().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "daemon wrote no pid file"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Daemon(child)
    }

    pub fn wait_for_socket(&self) {
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(self.socket()).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "daemon did not come up"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The ledger as `dashclawd log --json` prints it.
    pub fn ledger(&self) -> Vec<Value> {
        let out = self.dashclawd(&["log", "--json", "-n", "100000"]);
        assert!(out.status.success(), "log failed: {}", stderr(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub fn daemon_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.path().join("run/dashclawd.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    pub fn log_text(&self) -> String {
        let mut all = String::new();
        if let Ok(rd) = std::fs::read_dir(self.path().join("state/logs")) {
            for e in rd.flatten() {
                all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        all
    }
}

/// A daemon started by a test; killed and reaped when dropped.
pub struct Daemon(pub std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = self.dashclawd(&["stop"]);
        if let Some(pid) = self.daemon_pid() {
            // SAFETY: plain kill(2) on a pid we started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // A writer thread: the hook may answer (and exit) before reading everything.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    out
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A Claude Code PreToolUse payload for a Bash command.
pub fn bash_event(command: &str) -> Vec<u8> {
    serde_json::json!({
        "session_id": "sess-1",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": "/tmp",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": { "command": command, "description": "test" },
        "tool_use_id": "toolu_test",
    })
    .to_string()
    .into_bytes()
}

pub fn post_event(command: &str) -> Vec<u8> {
    serde_json::json!({
        "session_id": "sess-1",
        "cwd": "/tmp",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": { "command": command },
        "tool_response": { "stdout": "ok", "stderr": "", "interrupted": false },
        "tool_use_id": "toolu_post",
    })
    .to_string()
    .into_bytes()
}

/// Polls `cond` every 25 ms until it holds; fails the test after `secs` naming `what`.
pub fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}
