//! Protected mode end to end (issue 12 item 3), with real users: `dashclawd install
//! --protected` into a scratch prefix, the daemon run as the service user (with setpriv: systemd
//! is not PID 1 here; the unit itself is checked with `systemd-analyze verify`), the hook as an
//! agent user. The agent user's calls are governed, and it cannot stop, impersonate or
//! reconfigure the guard, read its ledger or approve.
//!
//! Needs root (CI runs as root) and Linux; otherwise it says why and passes without running.

#![cfg(target_os = "linux")]

use dashclaw_testkit::agent_e2e;
use dashclaw_testkit::fake_anthropic;
use dashclaw_testkit::harness as common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{bash_event, run_with_stdin, stderr, stdout, DAEMON};

/// Users and groups made for one test run; removed when dropped.
struct Accounts {
    service: String,
    agent: String,
    agents_group: String,
    operators_group: String,
    /// The daemon this test started, killed (by pid) before its user is removed.
    daemon_pid: std::cell::Cell<Option<u32>>,
}

impl Drop for Accounts {
    fn drop(&mut self) {
        if let Some(pid) = self.daemon_pid.get() {
            // SAFETY: kill(2) on the daemon process this test spawned.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        for u in [&self.service, &self.agent] {
            // userdel refuses while a process of the user is still exiting: retry briefly.
            for _ in 0..50 {
                match Command::new("userdel").arg(u).output() {
                    Ok(o) if o.status.success() || o.status.code() == Some(6) => break,
                    _ => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        let _ = std::fs::remove_dir_all(format!("/tmp/{}-home", self.agent));
        for g in [
            &self.service,
            &self.agent,
            &self.agents_group,
            &self.operators_group,
        ] {
            let _ = Command::new("groupdel").arg(g).output();
        }
    }
}

fn skip(why: &str) -> bool {
    eprintln!("skipped: {why}");
    true
}

fn not_runnable() -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return skip("protected mode needs root to create users and root-owned files");
    }
    for tool in ["useradd", "groupadd", "usermod", "setpriv", "getent"] {
        if !["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(tool).exists())
        {
            return skip(&format!("{tool} is not installed"));
        }
    }
    false
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id").args(["-u", user]).output().unwrap();
    stdout(&out).trim().parse().unwrap()
}

/// `cmd` run as `user` with its groups and a clean environment plus `env`.
fn as_user(user: &str, env: &[(&str, &str)], program: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .arg("env")
        .arg("-i")
        .arg("PATH=/usr/bin:/bin");
    for (k, v) in env {
        c.arg(format!("{k}={v}"));
    }
    c.arg(program).args(args);
    c
}

struct Layout {
    root: tempfile::TempDir,
}

impl Layout {
    fn p(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }
    fn bin(&self, name: &str) -> PathBuf {
        self.p("usr/bin").join(name)
    }
    fn home(&self) -> PathBuf {
        self.p("lib/dashclaw")
    }
    fn socket(&self) -> PathBuf {
        self.p("run/dashclaw/dashclawd.sock")
    }
}

#[test]
fn protected_mode_governs_an_agent_user_that_cannot_switch_it_off() {
    if not_runnable() {
        return;
    }
    let tag = format!("{:x}", std::process::id() & 0xfffff);
    let acc = Accounts {
        service: format!("dcsvc{tag}"),
        agent: format!("dcagent{tag}"),
        agents_group: format!("dcagents{tag}"),
        operators_group: format!("dcops{tag}"),
        daemon_pid: std::cell::Cell::new(None),
    };
    let ok = Command::new("useradd")
        .args(["--create-home", "--user-group", "--shell", "/bin/sh"])
        .arg("--home-dir")
        .arg(format!("/tmp/{}-home", acc.agent))
        .arg(&acc.agent)
        .status()
        .unwrap();
    assert!(ok.success(), "useradd {}", acc.agent);

    let l = Layout {
        root: tempfile::Builder::new()
            .prefix("dcp")
            .tempdir_in("/tmp")
            .unwrap(),
    };
    // Everyone may traverse the scratch root, as they may /usr, /etc and /var.
    std::fs::set_permissions(l.root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    // --- install, as root -----------------------------------------------------------------
    let out = Command::new(DAEMON)
        .args(["install", "--protected", "--no-start"])
        .arg("--prefix")
        .arg(l.p("usr"))
        .arg("--etc-dir")
        .arg(l.p("etc/dashclaw"))
        .arg("--service-home")
        .arg(l.home())
        .arg("--socket")
        .arg(l.socket())
        .args(["--service-user", &acc.service])
        .args(["--agent-group", &acc.agents_group])
        .args(["--operator-group", &acc.operators_group])
        .args(["--agent-user", &acc.agent])
        .arg("--claude-managed-settings")
        .arg(l.p("etc/claude-code/managed-settings.json"))
        .arg("--codex-requirements")
        .arg(l.p("etc/codex/requirements.toml"))
        .arg("--unit-dir")
        .arg(l.p("etc/systemd/system"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let svc_uid = uid_of(&acc.service);
    let agent_uid = uid_of(&acc.agent);

    // What the installer left: root-owned binaries and configuration, a private home.
    for f in [
        "usr/bin/dashclawd",
        "usr/bin/dashclaw-hook",
        "usr/bin/dashclaw-hook.conf",
    ] {
        let m = std::fs::metadata(l.p(f)).unwrap();
        assert_eq!((m.uid(), m.mode() & 0o022), (0, 0), "{f}");
    }
    let conf = std::fs::read_to_string(l.p("etc/dashclaw/hook.conf")).unwrap();
    assert!(conf.contains(&format!("daemon_uid = {svc_uid}")), "{conf}");
    let home = std::fs::metadata(l.home()).unwrap();
    assert_eq!((home.uid(), home.mode() & 0o777), (svc_uid, 0o700));
    let managed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(l.p("etc/claude-code/managed-settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(managed["allowManagedHooksOnly"], true);
    let pre = managed["hooks"]["PreToolUse"][0]["hooks"][0].clone();
    assert_eq!(pre["onFailure"], "block");
    assert!(pre["command"]
        .as_str()
        .unwrap()
        .starts_with(&l.bin("dashclaw-hook").display().to_string()));
    let codex = std::fs::read_to_string(l.p("etc/codex/requirements.toml")).unwrap();
    assert!(
        codex.contains("allow_managed_hooks_only = true") && codex.contains("[features]"),
        "{codex}"
    );

    // The unit is valid for systemd.
    let unit = l.p("etc/systemd/system/dashclawd.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    for want in [
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        &format!("User={}", acc.service),
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
    {
        Ok(v) => assert!(
            v.status.success(),
            "systemd-analyze verify: {}{}",
            stdout(&v),
            stderr(&v)
        ),
        Err(_) => eprintln!("systemd-analyze is not installed: unit not verified"),
    }

    // --- the daemon, as the service user --------------------------------------------------
    let conf_path = l.p("etc/dashclaw/hook.conf");
    let home_s = l.home().display().to_string();
    let conf_s = conf_path.display().to_string();
    let mut daemon = as_user(
        &acc.service,
        &[("DASHCLAW_PROTECTED", &conf_s), ("DASHCLAW_HOME", &home_s)],
        &l.bin("dashclawd"),
        &["run", "--quiet"],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    acc.daemon_pid.set(Some(daemon.id()));
    let start = Instant::now();
    while std::os::unix::net::UnixStream::connect(l.socket()).is_err() {
        if let Ok(Some(status)) = daemon.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            daemon
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("the protected daemon exited ({status}): {err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "daemon did not come up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let sock = std::fs::metadata(l.socket()).unwrap();
    assert_eq!((sock.uid(), sock.mode() & 0o777), (svc_uid, 0o660));

    // --- the agent user ---------------------------------------------------------------------
    let agent_home = format!("/tmp/{}-home", acc.agent);
    let scratch = PathBuf::from(&agent_home);
    // The environment an agent could set for its hooks changes nothing in protected mode.
    let hostile_env: [(&str, &str); 4] = [
        ("HOME", "/nonexistent"),
        ("DASHCLAW_HOME", "/tmp"),
        ("DASHCLAW_DAEMON_BIN", "/bin/true"),
        ("DASHCLAW_HOOK_MODE", "observe"),
    ];
    let hook = |cmd: &str| -> Output {
        run_with_stdin(
            as_user(
                &acc.agent,
                &hostile_env,
                &l.bin("dashclaw-hook"),
                &["claude", "pre-tool-use"],
            ),
            &bash_event(cmd),
        )
    };
    let sentinel = scratch.join("sentinel");
    std::fs::write(&sentinel, "x").unwrap();
    // `rm -rf ~`: the daemon knows the agent user's home from the system, whatever HOME says.
    let out = hook(&format!("rm -rf {}", scratch.display()));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stderr(&out).contains("Blocked"), "{}", stderr(&out));
    assert!(sentinel.exists());
    let out = hook("ls");
    assert_eq!(
        out.status.code(),
        Some(0),
        "the daemon answers the agent: {}",
        stderr(&out)
    );

    // Each call is recorded with the agent's uid; only the service (and root) can read that.
    let log = as_user(
        &acc.service,
        &[("DASHCLAW_HOME", &home_s)],
        &l.bin("dashclawd"),
        &["log", "--json", "-n", "10"],
    )
    .output()
    .unwrap();
    assert!(log.status.success(), "{}", stderr(&log));
    let records: Vec<serde_json::Value> = stdout(&log)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        records
            .iter()
            .any(|r| r["verdict"] == "block" && r["outcome"]["caller_uid"] == agent_uid),
        "{records:?}"
    );

    let agent = |program: &Path, args: &[&str]| -> Output {
        as_user(&acc.agent, &hostile_env, program, args)
            .output()
            .unwrap()
    };
    let sh = |script: &str| agent(Path::new("/bin/sh"), &["-c", script]);

    // Cannot stop it.
    let out = agent(&l.bin("dashclawd"), &["stop"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("only from root or the operators' group"),
        "{}",
        stderr(&out)
    );
    assert!(daemon.try_wait().unwrap().is_none(), "still running");
    let out = sh(&format!("kill -TERM {}", daemon.id()));
    assert!(
        !out.status.success(),
        "an agent user cannot signal the service"
    );

    // Cannot impersonate it: no way to replace or add a socket beside it.
    let run_dir = l.socket().parent().unwrap().to_path_buf();
    for script in [
        format!("rm -f {}", l.socket().display()),
        format!("mv {} {}/old", l.socket().display(), run_dir.display()),
        format!("touch {}/impostor.sock", run_dir.display()),
    ] {
        assert!(!sh(&script).status.success(), "{script}");
    }
    assert!(l.socket().exists());

    // Cannot reconfigure it: its files and the managed settings are out of reach.
    for target in [
        conf_path.clone(),
        l.p("usr/bin/dashclaw-hook.conf"),
        l.home().join("policies.toml"),
        l.home().join("config.toml"),
        l.p("etc/claude-code/managed-settings.json"),
        l.p("etc/codex/requirements.toml"),
        l.bin("dashclaw-hook"),
    ] {
        let script = format!("echo 'allow = true' >> {}", target.display());
        assert!(!sh(&script).status.success(), "{script}");
    }

    // Cannot read the ledger, nor approve.
    let ledger = l.home().join("state/ledger.db");
    assert!(ledger.exists());
    assert!(!sh(&format!("cat {}", ledger.display())).status.success());
    let out = agent(&l.bin("dashclawd"), &["log"]);
    assert!(
        !stdout(&out).contains("rm -rf"),
        "the agent read the ledger: {}",
        stdout(&out)
    );
    let approvals = l.home().join("state/approvals.db");
    assert!(!sh(&format!("echo x >> {}", approvals.display()))
        .status
        .success());
    let out = as_user(
        &acc.agent,
        &[("DASHCLAW_HOME", &home_s)],
        &l.bin("dashclawd"),
        &["approve", "ap_abcdefgh"],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(!stdout(&out).contains("approved"), "{}", stdout(&out));

    claude_under_managed_settings(&l, &acc.agent, &agent_home);

    // Root stops it.
    let out = Command::new(l.bin("dashclawd"))
        .arg("stop")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let start = Instant::now();
    while daemon.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "root's stop was not honoured"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Reaped: its pid may be reused, so nothing is killed by it any more.
    acc.daemon_pid.set(None);
}

const CLAUDE: agent_e2e::AgentCli = agent_e2e::AgentCli {
    name: "Claude Code",
    bin: "claude",
    version: "2.1.332",
};

/// The real Claude Code CLI as the agent user, with only the managed settings the installer
/// wrote (bind-mounted at /etc/claude-code in a private mount namespace, so nothing else on the
/// machine sees them), in bypassPermissions mode and with a hostile environment: the destructive
/// call is denied and never runs.
fn claude_under_managed_settings(l: &Layout, agent: &str, agent_home: &str) {
    let Some(claude) = CLAUDE.find() else { return };
    if Command::new("unshare").arg("--help").output().is_err() {
        eprintln!("skipped the Claude Code part: unshare is not installed");
        return;
    }
    let _one = agent_e2e::one_at_a_time();
    let work = PathBuf::from(agent_home).join("work");
    std::fs::create_dir_all(&work).unwrap();
    let marker = work.join("TOOL_RAN");
    let owner = std::fs::metadata(agent_home).unwrap();
    std::os::unix::fs::chown(&work, Some(owner.uid()), Some(owner.gid())).unwrap();
    let etc_claude = Path::new("/etc/claude-code");
    let created = !etc_claude.exists();
    if created {
        std::fs::create_dir_all(etc_claude).unwrap();
    }
    let server = fake_anthropic::FakeAnthropic::start();
    let base_url = server.base_url();
    let config_dir = format!("{agent_home}/.claude");
    let command = agent_e2e::destructive_command(&marker, "install.sh");
    let prompt = format!("please RUN<<{command}>>");
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg("mount --bind \"$0\" /etc/claude-code && exec \"$@\"")
        .arg(l.p("etc/claude-code"))
        .args([
            "setpriv",
            "--reuid",
            agent,
            "--regid",
            agent,
            "--init-groups",
            "--",
        ])
        .args(["env", "-i"])
        .arg(format!("PATH={}", agent_e2e::AGENT_PATH))
        .arg(format!("HOME={agent_home}"))
        .arg("TERM=dumb")
        .arg(format!("CLAUDE_CONFIG_DIR={config_dir}"))
        .arg(format!("ANTHROPIC_BASE_URL={base_url}"))
        .arg("ANTHROPIC_API_KEY=sk-ant-dummy")
        .arg("DISABLE_AUTOUPDATER=1")
        .arg("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1")
        .arg("DISABLE_TELEMETRY=1")
        .arg("DISABLE_ERROR_REPORTING=1")
        // What an agent would set to get out from under the guard.
        .arg("DASHCLAW_HOOK_MODE=observe")
        .arg("DASHCLAW_HOME=/tmp")
        .arg(&claude)
        .arg("-p")
        .arg(&prompt)
        .args(["--output-format", "json", "--allowedTools", "Bash"])
        .args(["--permission-mode", "bypassPermissions"])
        .current_dir(&work);
    let done = agent_e2e::run_with_timeout(cmd, "claude", Path::new(agent_home), "claude.json");
    if created {
        let _ = std::fs::remove_dir(etc_claude);
    }
    let results = server.tool_results();
    assert!(
        !marker.exists(),
        "the destructive call ran under protected mode\nstdout: {}\nstderr: {}",
        done.stdout,
        done.stderr
    );
    let first = results.first().unwrap_or_else(|| {
        panic!(
            "the model never got a tool result ({})\nstdout: {}\nstderr: {}",
            done.status, done.stdout, done.stderr
        )
    });
    eprintln!(
        "[e2e] claude as {agent} under managed settings ({:.2}s): {first:?}",
        done.elapsed.as_secs_f64()
    );
    assert!(first.is_error, "{first:?}");
    assert!(first.content.contains("[DashClaw] Blocked"), "{first:?}");
}
