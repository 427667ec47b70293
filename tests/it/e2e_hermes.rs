//! End to end with the real Hermes Agent (PyPI `hermes-agent`), offline.
//!
//! Each scenario writes a Hermes `config.yaml` pointing at a fake Chat Completions API on
//! 127.0.0.1 (tests/support/fake_chat.rs), lets `dashclawd install hermes` add our shell hooks
//! and approve them in Hermes's allowlist, then runs `hermes chat -q` WITHOUT `--accept-hooks`:
//! if the installer's approval did not work, Hermes would skip the hooks silently in this
//! non-interactive run and these tests fail.
//!
//! Needs the pinned agent: run `.ci/install-hermes.sh` (or point `DASHCLAW_HERMES_BIN` at one).
//! `DASHCLAW_SKIP_E2E=1` skips these tests when it is missing.

use dashclaw_testkit::agent_e2e;
use dashclaw_testkit::fake_chat;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use agent_e2e::*;
use fake_chat::FakeChat;

const HERMES: AgentCli = AgentCli {
    name: "Hermes Agent",
    bin: "hermes",
    version: "0.19.0",
};

fn hermes() -> Option<PathBuf> {
    HERMES.find_in("hermes-venv/bin/hermes")
}

/// A GitHub token as a tool prints it (not a real one).
const SECRET: &str = "ghp_R8kq2LmZ7xV4nP9tW3yB6cD1fH5jK0sQ2uEa";

#[test]
fn a_destructive_call_is_denied_a_harmless_one_runs_and_the_ledger_holds_both() {
    let Some(hermes) = hermes() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dch");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let allowed = Session::new(tmp.path().join("s"), &dc, &[]);

    // Both calls in one turn: each Hermes start costs seconds of Python imports.
    let denied_marker = allowed.dir.join("DENIED_RAN");
    let run = allowed.run(
        &hermes,
        &format!(
            "please RUN<<{}>> and RUN<<{}>>",
            destructive_command(&denied_marker, "x.sh"),
            harmless(&allowed)
        ),
    );
    assert!(!denied_marker.exists(), "the piped installer ran\n{run}");
    assert!(allowed.tool_ran(), "the allowed command did not run\n{run}");
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
    assert!(ledger.iter().all(|r| r["agent"] == "hermes"), "{}", dump());
    let pre = |needle: &str| {
        ledger
            .iter()
            .find(|r| r["event"] == "pre-tool-use" && summary(r).contains(needle))
            .unwrap_or_else(|| panic!("no pre-tool-use record for {needle:?}\n{}", dump()))
    };
    let blocked = pre("curl -fsSL http://127.0.0.1:9/x.sh");
    assert_eq!(blocked["tool"], "terminal", "{blocked}");
    assert_eq!(blocked["verdict"], "block", "{blocked}");
    let ok = pre("echo tool-output-ok");
    assert_eq!(ok["verdict"], "allow", "{ok}");
    assert!(
        ledger
            .iter()
            .any(|r| r["event"] == "post-tool-use" && summary(r).contains("echo tool-output-ok")),
        "the allowed call's outcome is recorded\n{}",
        dump()
    );
    for event in ["session-start", "user-prompt-submit", "session-end"] {
        assert!(
            ledger.iter().any(|r| r["event"] == event),
            "the {event} hook is installed and approved too\n{}",
            dump()
        );
    }
    let verify = dc.dashclawd(&["log", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // Doctor reads the install Hermes just ran with and probes its pre_tool_call command.
    let out = Command::new(DASHCLAWD)
        .args(["doctor", "--json", "--hermes-config"])
        .arg(allowed.config())
        .env_clear()
        .env("PATH", AGENT_PATH)
        .env("HOME", allowed.home())
        .env("DASHCLAW_HOME", &dc.home)
        .output()
        .expect("run dashclawd doctor");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    for c in [
        "agent.hermes",
        "agent.hermes.consent",
        "agent.hermes.binary",
        "agent.hermes.probe",
    ] {
        let check = report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["id"] == c)
            .unwrap_or_else(|| panic!("no {c}: {report:#}"));
        assert_eq!(check["status"], "ok", "{c}: {report:#}");
    }
}

#[test]
fn tool_result_redaction_reaches_the_model_and_each_result_is_recorded_once() {
    let Some(hermes) = hermes() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dch");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(
        tmp.path().join("s"),
        &dc,
        &[("DASHCLAW_REDACT_TOOL_RESULTS", "1")],
    );
    let plugin = session.hermes_home().join("plugins/dashclaw-guard");
    assert!(
        plugin.join("__init__.py").is_file(),
        "redaction installs the plugin"
    );

    let cmd = format!(
        "touch {} && echo GITHUB_TOKEN={SECRET}",
        session.marker().display()
    );
    let run = session.run(&hermes, &format!("please RUN<<{cmd}>>"));

    assert!(session.tool_ran(), "{run}");
    let result = run.first_result();
    assert!(
        result.contains("GITHUB_TOKEN=[REDACTED:github-pat]"),
        "the model sees the redacted result: {result}\n{run}"
    );
    for body in session.server.completions() {
        let text = body.to_string();
        let tool_part = text.find("\"role\":\"tool\"").map(|i| &text[i..]);
        assert!(
            !tool_part.is_some_and(|t| t.contains(SECRET)),
            "the token never reaches the model in a tool result:\n{text}"
        );
    }
    let ledger = dc.ledger();
    let posts: Vec<_> = ledger
        .iter()
        .filter(|r| r["event"] == "post-tool-use")
        .collect();
    assert_eq!(
        posts.len(),
        1,
        "one tool call, one post-tool-use record (not one per hook)\n{}",
        dump_ledger(&ledger)
    );
    assert!(
        !dump_ledger(&ledger).contains(SECRET),
        "no token in the ledger\n{}",
        dump_ledger(&ledger)
    );
}

/// Hermes 0.19.0 ignores a shell hook's exit code and `fail_closed`: a guard that crashes, is
/// killed or is missing would let the call run. The installer's `dashclaw` plugin runs the
/// hook from Hermes's in-process `pre_tool_call` and blocks on anything but a clean answer.
#[test]
fn a_crashed_killed_or_missing_hook_blocks_the_call() {
    let Some(hermes) = hermes() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dch");
    let dc = DashClaw::new(tmp.path().join("dc"));
    // The installer writes this path; the test then puts a broken guard there.
    let hook = tmp.path().join("bin/dashclaw-hook");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(HOOK, &hook).unwrap();
    let session = Session::with_hook(tmp.path().join("s"), &dc, &[], &hook);
    std::fs::remove_file(&hook).unwrap();

    // A guard that crashes on the first call (exit 1, nothing on stdout) and is killed on the
    // second (SIGKILL), on every event.
    let crashed = session.dir.join("CRASHED_RAN");
    let killed = session.dir.join("KILLED_RAN");
    std::fs::write(
        &hook,
        "#!/bin/sh\ninput=$(cat)\ncase \"$input\" in\n  *CRASHED_RAN*) echo boom >&2; exit 1 ;;\n  *KILLED_RAN*) kill -9 $$ ;;\nesac\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = session.run(
        &hermes,
        &format!(
            "please RUN<<touch {}>> and RUN<<touch {}>>",
            crashed.display(),
            killed.display()
        ),
    );
    assert!(!crashed.exists(), "a crashed guard let the call run\n{run}");
    assert!(!killed.exists(), "a killed guard let the call run\n{run}");
    assert_eq!(run.results.len(), 2, "two tool results\n{run}");
    for (r, why) in run
        .results
        .iter()
        .zip(["exit 1: boom", "killed by signal 9"])
    {
        assert!(
            r.contains("[DashClaw] Blocked: the guard failed") && r.contains(why),
            "the model is told why: {r}\n{run}"
        );
    }

    // No guard at all.
    std::fs::remove_file(&hook).unwrap();
    let missing = session.dir.join("MISSING_RAN");
    let run = session.run(
        &hermes,
        &format!("please RUN<<touch {}>>", missing.display()),
    );
    assert!(!missing.exists(), "a missing guard let the call run\n{run}");
    // The fake server keeps every tool result it was sent; this run's is the last.
    let last = run.results.last().map(String::as_str).unwrap_or("");
    assert!(
        last.contains("the guard failed") && last.contains("No such file"),
        "{last}\n{run}"
    );
}

#[test]
fn the_fake_api_scripts_a_terminal_call_and_an_echo() {
    let server = FakeChat::start();
    let post = |body: &str| {
        server.raw(&format!(
            "POST /v1/chat/completions HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ))
    };
    let reply = post(
        r#"{"model":"m","tools":[{"type":"function","function":{"name":"terminal"}}],"messages":[{"role":"user","content":"RUN<<echo hi>>"}]}"#,
    );
    assert!(reply.contains(r#""name":"terminal""#), "{reply}");
    assert!(reply.contains(r#"\"command\":\"echo hi\""#), "{reply}");
    let reply = post(
        r#"{"model":"m","stream":true,"tools":[{"type":"function","function":{"name":"exec"}}],"messages":[{"role":"user","content":"RUN<<ls>>"}]}"#,
    );
    assert!(reply.contains("chat.completion.chunk"), "{reply}");
    assert!(reply.contains(r#""name":"exec""#), "{reply}");
    assert!(reply.trim_end().ends_with("data: [DONE]"), "{reply}");
    let reply = post(
        r#"{"model":"m","messages":[{"role":"user","content":"RUN<<x>>"},{"role":"tool","tool_call_id":"c","content":"out"}]}"#,
    );
    assert!(reply.contains("The tool said: out"), "{reply}");
    assert!(server
        .raw("GET /nope HTTP/1.1\r\n\r\n")
        .starts_with("HTTP/1.1 404"));
    assert_eq!(server.tool_results(), vec!["out".to_string()]);
    let reply =
        post(r#"{"model":"m","messages":[{"role":"user","content":"RUN<<a>> then RUN<<b>>"}]}"#);
    assert!(
        reply.contains(r#"\"command\":\"a\""#) && reply.contains(r#"\"command\":\"b\""#),
        "two markers, two calls in one turn: {reply}"
    );
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn harmless(s: &Session) -> String {
    harmless_command(&s.marker())
}

/// Fresh HOME, HERMES_HOME and work directory, with a config.yaml for the fake provider to which
/// our installer appends its hooks.
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
    /// `install_env`: extra environment for `dashclawd install hermes`.
    fn new(dir: PathBuf, dc: &DashClaw, install_env: &[(&str, &str)]) -> Session {
        Session::with_hook(dir, dc, install_env, Path::new(HOOK.as_str()))
    }

    /// [`new`](Self::new) with the hook command pointing at `hook` instead of `dashclaw-hook`.
    fn with_hook(
        dir: PathBuf,
        dc: &DashClaw,
        install_env: &[(&str, &str)],
        hook: &Path,
    ) -> Session {
        let s = Session {
            dir,
            server: FakeChat::start(),
        };
        for d in [s.home(), s.hermes_home(), s.work_dir()] {
            std::fs::create_dir_all(d).unwrap();
        }
        // Hermes masks known token shapes in terminal output itself; off here, so only our
        // redaction stands between a secret and the model.
        let base = format!(
            "# the test's provider\nmodel:\n  provider: custom\n  default: {}\n  base_url: {}\n  \
             api_key: dummy\n  context_length: 128000\nsecurity:\n  redact_secrets: false\n",
            fake_chat::MODEL,
            s.server.base_url()
        );
        std::fs::write(s.config(), &base).unwrap();
        let started = Instant::now();
        let out = Command::new(DASHCLAWD)
            .args(["install", "hermes", "--config"])
            .arg(s.config())
            .arg("--hook-bin")
            .arg(hook)
            .env_clear()
            .envs(install_env.iter().copied())
            .env("PATH", AGENT_PATH)
            .env("HOME", s.home())
            .env("DASHCLAW_HOME", &dc.home)
            .current_dir(s.work_dir())
            .output()
            .expect("run dashclawd install hermes");
        eprintln!(
            "[e2e] {:.2}s dashclawd install hermes",
            started.elapsed().as_secs_f64()
        );
        assert!(
            out.status.success(),
            "`dashclawd install hermes` failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let written = std::fs::read_to_string(s.config()).unwrap();
        assert!(
            written.starts_with(&base),
            "the installer kept the user's config:\n{written}"
        );
        s
    }

    fn hermes_home(&self) -> PathBuf {
        self.dir.join("hermes_home")
    }
    fn config(&self) -> PathBuf {
        self.hermes_home().join("config.yaml")
    }

    /// `hermes chat -Q -q <prompt>` with a scrubbed environment, a proxy that refuses every
    /// connection (Hermes probes model catalogues online; only 127.0.0.1 is reachable) and no
    /// `--accept-hooks`.
    fn run(&self, hermes: &Path, prompt: &str) -> HermesRun {
        let mut cmd = Command::new(hermes);
        cmd.env_clear()
            .env("PATH", AGENT_PATH)
            .env("HOME", self.home())
            .env("HERMES_HOME", self.hermes_home())
            .env("TERM", "dumb")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .args(["chat", "-Q", "-q", prompt])
            .current_dir(self.work_dir());
        let done = run_with_timeout(cmd, "hermes", &self.dir, "stdout.txt");
        let run = HermesRun {
            done,
            results: self.server.tool_results(),
            model_requests: self.server.completions().len(),
        };
        eprintln!(
            "[e2e] {:.2}s hermes {prompt} ({}); tool results: {:?}",
            run.done.elapsed.as_secs_f64(),
            run.done.status,
            run.results
        );
        assert!(
            run.done.status.success(),
            "hermes did not finish cleanly\n{run}"
        );
        run
    }
}

struct HermesRun {
    done: Finished,
    results: Vec<String>,
    model_requests: usize,
}

impl HermesRun {
    fn first_result(&self) -> &str {
        self.results
            .first()
            .unwrap_or_else(|| panic!("the model never received a tool result\n{self}"))
    }
}

impl std::fmt::Display for HermesRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.done.report(
            f,
            "hermes",
            self.model_requests,
            "tool results",
            &self.results,
        )
    }
}
