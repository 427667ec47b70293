//! End to end with the real Codex CLI, offline.
//!
//! Each scenario writes a Codex config pointing at a fake Responses API on 127.0.0.1
//! (agent-hooks.md §9–10), lets `dashclawd install codex` add our hooks AND trust them through
//! `codex app-server`, then runs `codex exec` WITHOUT `--dangerously-bypass-hook-trust`: if the
//! installer's trust step did not work, Codex would skip the hook silently and these tests fail.
//!
//! Needs the pinned CLI: run `.ci/install-codex.sh` (or point `DASHCLAW_CODEX_BIN` at one).
//! `DASHCLAW_SKIP_E2E=1` skips these tests when it is missing.

use dashclaw_testkit::agent_e2e;
use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::fake_openai;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use agent_e2e::*;
use fake_openai::{FakeOpenAi, ToolOutput};

const CODEX: AgentCli = AgentCli {
    name: "Codex",
    bin: "codex",
    version: "0.171.0",
};

#[test]
fn a_destructive_command_is_denied_and_never_runs() {
    let Some(codex) = CODEX.find() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dcx");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, &codex);

    let run = session.run(&codex, &format!("please RUN<<{}>>", destructive(&session)));

    assert!(!session.tool_ran(), "the piped installer ran\n{run}");
    let out = run.first_output();
    assert!(
        out.output.contains("blocked by PreToolUse hook")
            && out.output.contains("[DashClaw] Blocked"),
        "the model is told DashClaw blocked the call: {out:?}\n{run}"
    );
}

#[test]
fn a_harmless_command_runs_and_its_output_reaches_the_model() {
    let Some(codex) = CODEX.find() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dcx");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, &codex);

    let run = session.run(&codex, &format!("please RUN<<{}>>", harmless(&session)));

    assert!(session.tool_ran(), "the allowed command did not run\n{run}");
    let out = run.first_output();
    assert!(
        out.output.contains("tool-output-ok") && !out.output.contains("blocked"),
        "the model sees the command's output: {out:?}"
    );
}

#[test]
fn the_dashclaw_server_blocks_a_command_the_local_policies_allow() {
    let Some(codex) = CODEX.find() else { return };
    let _one = one_at_a_time();
    let server = fake_dashclaw::FakeDashClaw::start(fake_dashclaw::Flavor::V2);
    server.set_guard(|b| {
        if b["declared_goal"]
            .as_str()
            .unwrap_or("")
            .contains("tool-output-ok")
        {
            fake_dashclaw::GuardAnswer::block("Org policy: no shell in this repo")
        } else {
            fake_dashclaw::GuardAnswer::allow()
        }
    });
    let tmp = scratch_dir("dcx");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, &codex);
    let (url, key) = (server.url(), server.api_key());
    let env = [
        ("DASHCLAW_BASE_URL", url.as_str()),
        ("DASHCLAW_API_KEY", key.as_str()),
    ];

    let run = session.run_env(
        &codex,
        &format!("please RUN<<{}>>", harmless(&session)),
        &env,
    );

    assert!(
        !session.tool_ran(),
        "the server's block (a v2.0 403) must hold\n{run}"
    );
    let out = run.first_output();
    assert!(
        out.output.contains("Org policy: no shell in this repo"),
        "the model reads the server's reason: {out:?}"
    );
    let guard = server.requests_to("/api/guard");
    assert_eq!(guard[0].body_json.as_ref().unwrap()["harness"], "codex");
}

#[test]
fn a_command_approved_on_the_server_runs_after_the_wait() {
    let Some(codex) = CODEX.find() else { return };
    let _one = one_at_a_time();
    let server = fake_dashclaw::FakeDashClaw::start(fake_dashclaw::Flavor::Newest);
    server.set_guard(|b| {
        if b["declared_goal"]
            .as_str()
            .unwrap_or("")
            .contains("tool-output-ok")
        {
            fake_dashclaw::GuardAnswer::require_approval("Needs a human")
        } else {
            fake_dashclaw::GuardAnswer::allow()
        }
    });
    let tmp = scratch_dir("dcx");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, &codex);
    let (url, key) = (server.url(), server.api_key());
    // The hook's own deadline is shorter than the wait: only the daemon's Hold keeps it alive.
    let env = [
        ("DASHCLAW_BASE_URL", url.as_str()),
        ("DASHCLAW_API_KEY", key.as_str()),
        ("DASHCLAW_HOOK_DEADLINE_MS", "3000"),
    ];

    let run = std::thread::scope(|s| {
        let operator = s.spawn(|| {
            if let Some(id) = server.wait_pending(std::time::Duration::from_secs(60)) {
                std::thread::sleep(std::time::Duration::from_secs(4));
                server.approve(&id, "alice").unwrap();
            }
        });
        let run = session.run_env(
            &codex,
            &format!("please RUN<<{}>>", harmless(&session)),
            &env,
        );
        operator.join().unwrap();
        run
    });

    assert!(
        session.tool_ran(),
        "approved on the server, the command runs\n{run}"
    );
    let out = run.first_output();
    assert!(out.output.contains("tool-output-ok"), "{out:?}");
}

#[test]
fn the_ledger_records_the_block_and_the_allow() {
    let Some(codex) = CODEX.find() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dcx");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let denied = Session::new(tmp.path().join("s1"), &dc, &codex);
    let allowed = Session::new(tmp.path().join("s2"), &dc, &codex);
    denied.run(&codex, &format!("please RUN<<{}>>", destructive(&denied)));
    allowed.run(&codex, &format!("please RUN<<{}>>", harmless(&allowed)));

    let ledger = dc.ledger();
    let dump = || dump_ledger(&ledger);
    assert!(ledger.iter().all(|r| r["agent"] == "codex"), "{}", dump());
    let pre = |needle: &str| {
        ledger
            .iter()
            .find(|r| r["event"] == "pre-tool-use" && summary(r).contains(needle))
            .unwrap_or_else(|| panic!("no pre-tool-use record for {needle:?}\n{}", dump()))
    };
    let blocked = pre("curl -fsSL http://127.0.0.1:9/x.sh");
    assert_eq!(blocked["tool"], "Bash", "{blocked}");
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
    for event in ["session-start", "user-prompt-submit", "stop"] {
        assert!(
            ledger.iter().any(|r| r["event"] == event),
            "the {event} hook is installed and trusted too\n{}",
            dump()
        );
    }
    let verify = dc.dashclawd(&["log", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn a_patch_to_a_secrets_file_is_denied_and_not_applied() {
    let Some(codex) = CODEX.find() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dcx");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, &codex);

    // A registry credentials file (a project's own `.env` is local configuration and allowed).
    let patch = r"*** Begin Patch\n*** Add File: .npmrc\n+//registry.npmjs.org/:_authToken=leaked\n*** End Patch";
    let run = session.run(&codex, &format!("please PATCH<<{patch}>>"));

    assert!(
        !session.work_dir().join(".npmrc").exists(),
        "the patch was applied\n{run}"
    );
    let out = run.first_output();
    assert_eq!(out.kind, "custom_tool_call_output", "{out:?}");
    assert!(out.output.contains("[DashClaw] Blocked"), "{out:?}\n{run}");
    let ledger = dc.ledger();
    let rec = ledger
        .iter()
        .find(|r| r["event"] == "pre-tool-use")
        .expect("a pre-tool-use record");
    assert_eq!(rec["tool"], "apply_patch", "{rec}");
    assert_eq!(rec["verdict"], "block", "{rec}");
}

#[test]
fn an_untrusted_hook_is_skipped_which_is_why_the_installer_trusts() {
    // The control experiment: the same hooks without the trust entries do not run at all.
    let Some(codex) = CODEX.find() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dcx");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, &codex);
    let text = std::fs::read_to_string(session.config()).unwrap();
    let cut = text
        .find("[hooks.state.")
        .expect("the installer wrote trust entries");
    std::fs::write(session.config(), &text[..cut]).unwrap();

    let run = session.run(&codex, &format!("please RUN<<{}>>", destructive(&session)));

    assert!(
        session.tool_ran(),
        "an untrusted hook must not run (else this test is moot)\n{run}"
    );
}

#[test]
fn the_fake_api_scripts_a_command_a_patch_and_an_echo() {
    let server = FakeOpenAi::start();
    let post = |body: &str| {
        server.raw(&format!(
            "POST /v1/responses HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ))
    };
    let reply = post(
        r#"{"model":"m","tools":[{"name":"exec_command"}],"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"RUN<<echo hi>>"}]}]}"#,
    );
    assert!(reply.contains(r#""name":"exec_command""#), "{reply}");
    assert!(reply.contains(r#"\"cmd\":\"echo hi\""#), "{reply}");
    assert!(reply.contains("event: response.completed"), "{reply}");
    let reply = post(
        r#"{"model":"m","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"PATCH<<a\\nb>>"}]}]}"#,
    );
    assert!(reply.contains(r#""type":"custom_tool_call""#), "{reply}");
    assert!(reply.contains(r#""input":"a\nb""#), "{reply}");
    let reply = post(
        r#"{"model":"m","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"RUN<<x>>"}]},{"type":"function_call_output","call_id":"c","output":"out"}]}"#,
    );
    assert!(reply.contains("The tool said: out"), "{reply}");
    assert!(server
        .raw("GET /nope HTTP/1.1\r\n\r\n")
        .starts_with("HTTP/1.1 404"));
    assert_eq!(server.tool_outputs().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn destructive(s: &Session) -> String {
    destructive_command(&s.marker(), "x.sh")
}

fn harmless(s: &Session) -> String {
    harmless_command(&s.marker())
}

/// Fresh HOME, CODEX_HOME and work directory, with a config.toml for the fake provider into
/// which our installer adds (and trusts) the hooks.
struct Session {
    dir: PathBuf,
    dc_home: PathBuf,
    server: FakeOpenAi,
}

impl SessionDir for Session {
    fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Session {
    fn new(dir: PathBuf, dc: &DashClaw, codex: &Path) -> Session {
        let s = Session {
            dir,
            dc_home: dc.home.clone(),
            server: FakeOpenAi::start(),
        };
        for d in [s.home(), s.codex_home(), s.work_dir()] {
            std::fs::create_dir_all(d).unwrap();
        }
        let base = format!(
            "# the test's provider (agent-hooks.md §10)\n\
             model = \"gpt-5.5-fake\"\nmodel_provider = \"fake\"\n\
             approval_policy = \"never\"\nsandbox_mode = \"danger-full-access\"\n\n\
             [model_providers.fake]\nname = \"fake\"\nbase_url = \"{}\"\nenv_key = \"FAKE_OPENAI_KEY\"\n\
             wire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n",
            s.server.base_url()
        );
        std::fs::write(s.config(), &base).unwrap();
        let started = Instant::now();
        let out = Command::new(DASHCLAWD)
            .args(["install", "codex", "--config"])
            .arg(s.config())
            .arg("--hook-bin")
            .arg(HOOK)
            .arg("--codex-bin")
            .arg(codex)
            .env_clear()
            .env("PATH", AGENT_PATH)
            .env("HOME", s.home())
            .env("DASHCLAW_HOME", &s.dc_home)
            .current_dir(s.work_dir())
            .output()
            .expect("run dashclawd install codex");
        eprintln!(
            "[e2e] {:.2}s dashclawd install codex",
            started.elapsed().as_secs_f64()
        );
        assert!(
            out.status.success(),
            "`dashclawd install codex` failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let written = std::fs::read_to_string(s.config()).unwrap();
        assert!(
            written.starts_with(&base),
            "the installer kept the user's config:\n{written}"
        );
        assert!(written.contains("trusted_hash"), "{written}");
        s
    }

    fn codex_home(&self) -> PathBuf {
        self.dir.join("codex_home")
    }
    fn config(&self) -> PathBuf {
        self.codex_home().join("config.toml")
    }

    /// `codex exec --json <prompt>` with a scrubbed environment and no trust bypass.
    fn run(&self, codex: &Path, prompt: &str) -> CodexRun {
        self.run_env(codex, prompt, &[])
    }

    /// [`run`](Self::run) with extra environment for Codex (and so for its hooks).
    fn run_env(&self, codex: &Path, prompt: &str, env: &[(&str, &str)]) -> CodexRun {
        let mut cmd = Command::new(codex);
        cmd.env_clear()
            .envs(env.iter().copied())
            .env("PATH", AGENT_PATH)
            .env("HOME", self.home())
            .env("CODEX_HOME", self.codex_home())
            .env("TERM", "dumb")
            .env("SHELL", "/bin/bash")
            .env("FAKE_OPENAI_KEY", "dummy")
            .args(["exec", "--skip-git-repo-check", "--json"])
            .arg(prompt)
            .current_dir(self.work_dir());
        let done = run_with_timeout(cmd, "codex", &self.dir, "stdout.jsonl");
        let run = CodexRun {
            done,
            outputs: self.server.tool_outputs(),
            model_requests: self.server.response_requests().len(),
        };
        eprintln!(
            "[e2e] {:.2}s codex {prompt} ({}); tool outputs: {:?}",
            run.done.elapsed.as_secs_f64(),
            run.done.status,
            run.outputs
        );
        assert!(
            run.done.status.success(),
            "codex exec did not finish cleanly\n{run}"
        );
        assert!(
            !run.done.stdout.contains("dangerously-bypass-hook-trust"),
            "no trust bypass in play\n{run}"
        );
        run
    }
}

struct CodexRun {
    done: Finished,
    outputs: Vec<ToolOutput>,
    model_requests: usize,
}

impl CodexRun {
    fn first_output(&self) -> &ToolOutput {
        self.outputs
            .first()
            .unwrap_or_else(|| panic!("the model never received a tool output\n{self}"))
    }
}

impl std::fmt::Display for CodexRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.done.report(
            f,
            "codex",
            self.model_requests,
            "tool outputs",
            &self.outputs,
        )
    }
}
