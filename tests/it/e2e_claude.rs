//! End to end with the real Claude Code CLI, offline.
//!
//! Each scenario installs our hooks with `dashclawd install claude`, runs `claude -p` against a
//! fake Anthropic API on 127.0.0.1 that asks for one Bash call (agent-hooks.md §7–8), and then
//! checks what matters to a user: whether the command really ran, what the model was told, and
//! what the ledger kept.
//!
//! Needs the pinned CLI: run `.ci/install-claude.sh` (or point `DASHCLAW_CLAUDE_BIN` at one).
//! `DASHCLAW_SKIP_E2E=1` skips these tests when it is missing.

use dashclaw_testkit::agent_e2e;
use dashclaw_testkit::fake_anthropic;
use dashclaw_testkit::fake_dashclaw;

use std::path::{Path, PathBuf};
use std::process::Command;

use agent_e2e::*;
use fake_anthropic::{FakeAnthropic, ToolResult};
use serde_json::Value;

const CLAUDE: AgentCli = AgentCli {
    name: "Claude Code",
    bin: "claude",
    version: "2.1.332",
};

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

#[test]
fn a_destructive_bash_call_is_denied_and_never_runs() {
    let Some(claude) = CLAUDE.find() else { return };
    let _one_at_a_time = one_at_a_time();
    let tmp = scratch_dir("dce2e");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, Path::new(HOOK.as_str()));

    let run = session.run_claude(&claude, &destructive_command(&session), &[]);

    assert!(
        !session.tool_ran(),
        "the piped installer ran although the hook must deny it\n{run}"
    );
    let result = run.first_tool_result();
    assert!(result.is_error, "a denial is an error result: {result:?}");
    assert!(
        result.content.contains("[DashClaw] Blocked"),
        "the model is told DashClaw blocked the call: {result:?}"
    );
    assert!(
        run.json["permission_denials"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "claude reports the denial in permission_denials\n{run}"
    );
}

#[test]
fn the_dashclaw_server_blocks_a_call_the_local_policies_allow() {
    let Some(claude) = CLAUDE.find() else { return };
    let _one_at_a_time = one_at_a_time();
    let server = fake_dashclaw::FakeDashClaw::start(fake_dashclaw::Flavor::Newest);
    server.set_guard(|b| {
        if b["declared_goal"]
            .as_str()
            .unwrap_or("")
            .contains("tool-output-ok")
        {
            fake_dashclaw::GuardAnswer::block("Org policy: no shell in this repo")
                .policy("gp_noshell")
        } else {
            fake_dashclaw::GuardAnswer::allow()
        }
    });
    let tmp = scratch_dir("dce2e");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, Path::new(HOOK.as_str()));
    let (url, key) = (server.url(), server.api_key());
    let env = [
        ("DASHCLAW_BASE_URL", url.as_str()),
        ("DASHCLAW_API_KEY", key.as_str()),
    ];

    let run = session.run_claude(&claude, &harmless_command(&session), &env);

    assert!(!session.tool_ran(), "the server's block must hold\n{run}");
    let result = run.first_tool_result();
    assert!(result.is_error, "{result:?}");
    assert!(
        result.content.contains("Org policy: no shell in this repo"),
        "the model reads the server's reason: {result:?}"
    );
    let guard = server.requests_to("/api/guard");
    assert!(!guard.is_empty(), "the hook asked the server");
    assert_eq!(
        guard[0].body_json.as_ref().unwrap()["harness"],
        "claude-code"
    );
}

#[test]
fn a_call_approved_on_the_server_runs_after_the_wait() {
    let Some(claude) = CLAUDE.find() else { return };
    let _one_at_a_time = one_at_a_time();
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
    let tmp = scratch_dir("dce2e");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, Path::new(HOOK.as_str()));
    let (url, key) = (server.url(), server.api_key());
    // The hook's own deadline is shorter than the wait: the daemon's Hold must extend it.
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
        let run = session.run_claude(&claude, &harmless_command(&session), &env);
        operator.join().unwrap();
        run
    });

    assert!(
        session.tool_ran(),
        "approved on the server, the command runs\n{run}"
    );
    let result = run.first_tool_result();
    assert!(result.content.contains("tool-output-ok"), "{result:?}");
}

#[test]
fn a_harmless_bash_call_runs_and_its_output_reaches_the_model() {
    let Some(claude) = CLAUDE.find() else { return };
    let _one_at_a_time = one_at_a_time();
    let tmp = scratch_dir("dce2e");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, Path::new(HOOK.as_str()));

    let run = session.run_claude(&claude, &harmless_command(&session), &[]);

    assert!(session.tool_ran(), "the allowed command did not run\n{run}");
    let result = run.first_tool_result();
    assert!(!result.is_error, "an allowed call succeeds: {result:?}");
    assert!(
        result.content.contains("tool-output-ok"),
        "the model sees the command's output: {result:?}"
    );
    assert!(
        run.json["permission_denials"]
            .as_array()
            .is_none_or(|d| d.is_empty()),
        "nothing was denied\n{run}"
    );
}

#[test]
fn the_ledger_records_the_block_and_the_allow_and_its_chain_verifies() {
    let Some(claude) = CLAUDE.find() else { return };
    let _one_at_a_time = one_at_a_time();
    let tmp = scratch_dir("dce2e");
    // Two Claude sessions, one DashClaw home: the ledger must hold both.
    let dc = DashClaw::new(tmp.path().join("dc"));
    let denied = Session::new(tmp.path().join("s1"), &dc, Path::new(HOOK.as_str()));
    let allowed = Session::new(tmp.path().join("s2"), &dc, Path::new(HOOK.as_str()));
    let denied_run = denied.run_claude(&claude, &destructive_command(&denied), &[]);
    let allowed_run = allowed.run_claude(&claude, &harmless_command(&allowed), &[]);

    let ledger = dc.ledger();
    let dump = || dump_ledger(&ledger);
    for record in &ledger {
        assert_eq!(record["agent"], "claude", "every record names the agent");
    }

    let blocked = find_record(&ledger, denied_run.session_id(), "pre-tool-use")
        .unwrap_or_else(|| panic!("no pre-tool-use record for the denied session\n{}", dump()));
    assert_eq!(blocked["tool"], "Bash");
    assert_eq!(blocked["verdict"], "block", "{blocked}");
    assert!(
        summary(blocked).contains("curl -fsSL http://127.0.0.1:9/install.sh"),
        "the summary shows the command: {blocked}"
    );
    assert!(
        blocked["reasons"].as_array().is_some_and(|r| !r.is_empty()),
        "a block says why: {blocked}"
    );

    let allowed_pre = find_record(&ledger, allowed_run.session_id(), "pre-tool-use")
        .unwrap_or_else(|| panic!("no pre-tool-use record for the allowed session\n{}", dump()));
    assert_eq!(allowed_pre["tool"], "Bash");
    assert_eq!(allowed_pre["verdict"], "allow", "{allowed_pre}");
    assert!(
        summary(allowed_pre).contains("echo tool-output-ok"),
        "the summary shows the command: {allowed_pre}"
    );
    let post = find_record(&ledger, allowed_run.session_id(), "post-tool-use")
        .unwrap_or_else(|| panic!("no post-tool-use record for the allowed call\n{}", dump()));
    assert_eq!(post["tool"], "Bash");
    assert!(
        post.get("verdict").is_none(),
        "only gating events carry a verdict: {post}"
    );
    assert!(
        find_record(&ledger, denied_run.session_id(), "post-tool-use").is_none(),
        "a denied call has no outcome to record\n{}",
        dump()
    );

    let verify = dc.dashclawd(&["log", "verify"]);
    assert!(
        verify.status.success(),
        "`dashclawd log verify` fails on an untouched ledger: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn without_a_reachable_daemon_the_hook_fails_closed() {
    let Some(claude) = CLAUDE.find() else { return };
    let _one_at_a_time = one_at_a_time();
    let tmp = scratch_dir("dce2e");
    // A hook binary with no dashclawd beside it, none on PATH and none where the override
    // points: the daemon cannot be started, so nothing may run.
    let lonely = tmp.path().join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    let hook = lonely.join("dashclaw-hook");
    std::fs::copy(HOOK, &hook).unwrap();
    let dc = DashClaw::new(tmp.path().join("dc"));
    let session = Session::new(tmp.path().join("s"), &dc, &hook);

    let run = session.run_claude(
        &claude,
        &harmless_command(&session),
        &[("DASHCLAW_DAEMON_BIN", "/nonexistent")],
    );

    assert!(
        !session.tool_ran(),
        "the command ran although no daemon could decide\n{run}"
    );
    let result = run.first_tool_result();
    assert!(result.is_error, "{result:?}");
    assert!(
        result.content.contains("[DashClaw] Blocked"),
        "the model is told DashClaw blocked the call: {result:?}"
    );
    assert!(
        result.content.contains("/nonexistent"),
        "the reason names the daemon binary that could not be started: {result:?}"
    );
    let status = dc.dashclawd(&["status"]);
    assert!(!status.status.success(), "no daemon may be running");
}

/// The fake API itself, without Claude Code: routing and the scripted model turn.
#[test]
fn the_fake_api_routes_like_the_real_one_and_scripts_one_bash_call() {
    let server = FakeAnthropic::start();
    assert!(server
        .raw("HEAD / HTTP/1.1\r\n\r\n")
        .starts_with("HTTP/1.1 200"));
    let reply = post(&server, "/v1/messages/count_tokens", "{}");
    assert!(reply.contains(r#"{"input_tokens":"#), "{reply}");
    assert!(post(&server, "/v1/nope", "{}").starts_with("HTTP/1.1 404"));

    // The marker sits in a later text block of the first user message, as the CLI sends it.
    let ask = r#"{"model":"m","stream":true,"tools":[{"name":"Bash"}],"messages":[
        {"role":"user","content":[{"type":"text","text":"<system-reminder>x</system-reminder>"},
                                  {"type":"text","text":"please RUN<<echo hi>>"}]}]}"#;
    let reply = post(&server, "/v1/messages?beta=true", ask);
    assert!(reply.contains("text/event-stream"), "{reply}");
    assert!(
        reply.contains(r#""partial_json":"{\"command\":\"echo hi\""#),
        "{reply}"
    );
    assert!(reply.contains(r#""stop_reason":"tool_use""#), "{reply}");

    // Once a tool answered (and with a role it does not know), the turn ends with an echo.
    let answered = r#"{"model":"m","tools":[{"name":"Bash"}],"messages":[
        {"role":"user","content":[{"type":"text","text":"please RUN<<echo hi>>"}]},
        {"role":"system","content":"feedback"},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"hi","is_error":true}]}]}"#;
    let reply = post(&server, "/v1/messages", answered);
    assert!(reply.contains(r#""stop_reason":"end_turn""#), "{reply}");
    assert!(reply.contains("The tool said: hi"), "{reply}");

    assert_eq!(server.requests().len(), 5);
    let results = server.tool_results();
    assert_eq!(results.len(), 1);
    assert!(results[0].is_error && results[0].content == "hi");
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn destructive_command(s: &Session) -> String {
    agent_e2e::destructive_command(&s.marker(), "install.sh")
}

fn harmless_command(s: &Session) -> String {
    agent_e2e::harmless_command(&s.marker())
}

/// Fresh HOME, CLAUDE_CONFIG_DIR and work directory for one `claude -p` run, with our hooks
/// installed into its settings file by our own installer.
struct Session<'a> {
    dir: PathBuf,
    dc: &'a DashClaw,
}

impl SessionDir for Session<'_> {
    fn dir(&self) -> &Path {
        &self.dir
    }
}

impl<'a> Session<'a> {
    fn new(dir: PathBuf, dc: &'a DashClaw, hook_bin: &Path) -> Session<'a> {
        let s = Session { dir, dc };
        for d in [s.home(), s.config_dir(), s.work_dir()] {
            std::fs::create_dir_all(d).unwrap();
        }
        let out = Command::new(DASHCLAWD)
            .args(["install", "claude", "--settings"])
            .arg(s.settings())
            .arg("--hook-bin")
            .arg(hook_bin)
            .env("DASHCLAW_HOME", &dc.home)
            .output()
            .expect("run dashclawd install");
        assert!(
            out.status.success(),
            "`dashclawd install claude` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let settings: Value =
            serde_json::from_slice(&std::fs::read(s.settings()).unwrap()).expect("settings JSON");
        let pre = &settings["hooks"]["PreToolUse"][0];
        assert_eq!(pre["matcher"], "*", "{settings:#}");
        assert_eq!(pre["hooks"][0]["onFailure"], "block", "{settings:#}");
        s
    }

    fn config_dir(&self) -> PathBuf {
        self.home().join(".claude")
    }
    fn settings(&self) -> PathBuf {
        self.dir.join("settings.json")
    }

    /// Runs `claude -p "please RUN<<command>>"` with a scrubbed environment (agent-hooks.md §8)
    /// against a fresh fake API, killing it after `AGENT_TIMEOUT`.
    fn run_claude(&self, claude: &Path, command: &str, extra_env: &[(&str, &str)]) -> ClaudeRun {
        let server = FakeAnthropic::start();
        let mut cmd = Command::new(claude);
        cmd.env_clear()
            .env("PATH", AGENT_PATH)
            .env("HOME", self.home())
            .env("TERM", "dumb")
            .env("CLAUDE_CONFIG_DIR", self.config_dir())
            .env("ANTHROPIC_BASE_URL", server.base_url())
            .env("ANTHROPIC_API_KEY", "sk-ant-dummy")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            .env("DASHCLAW_HOME", &self.dc.home)
            .envs(extra_env.iter().copied())
            .arg("-p")
            .arg(format!("please RUN<<{command}>>"))
            .args(["--output-format", "json", "--settings"])
            .arg(self.settings())
            .args(["--allowedTools", "Bash"])
            .current_dir(self.work_dir());
        let done = run_with_timeout(cmd, "claude", &self.dir, "stdout.json");
        let run = ClaudeRun {
            json: serde_json::from_str(&done.stdout).unwrap_or(Value::Null),
            done,
            tool_results: server.tool_results(),
            model_requests: server.message_requests().len(),
        };
        eprintln!(
            "[e2e] {:.2}s claude RUN<<{command}>> ({}); tool results: {:?}",
            run.done.elapsed.as_secs_f64(),
            run.done.status,
            run.tool_results
        );
        assert!(
            run.done.status.success() && run.json.is_object(),
            "claude -p did not finish cleanly\n{run}"
        );
        run
    }
}

/// What one `claude -p` run left behind.
struct ClaudeRun {
    done: Finished,
    json: Value,
    tool_results: Vec<ToolResult>,
    model_requests: usize,
}

impl ClaudeRun {
    /// The result of the one Bash call, as the second model request carried it.
    fn first_tool_result(&self) -> &ToolResult {
        self.tool_results.first().unwrap_or_else(|| {
            panic!("the model never received a tool_result (did it ask for the tool?)\n{self}")
        })
    }

    fn session_id(&self) -> &str {
        self.json["session_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no session_id in claude's output\n{self}"))
    }
}

impl std::fmt::Display for ClaudeRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.done.report(
            f,
            "claude",
            self.model_requests,
            "tool results",
            &self.tool_results,
        )
    }
}

fn post(server: &FakeAnthropic, path: &str, body: &str) -> String {
    server.raw(&format!(
        "POST {path} HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ))
}
