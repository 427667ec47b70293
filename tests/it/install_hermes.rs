//! Golden tests for `dashclawd install hermes` on real `config.yaml` files: fresh, already
//! installed, user-edited, with comments, broken. Re-running is a no-op; uninstall gives the
//! original back byte for byte; the rest of the file is never touched.

use dashclaw_testkit::harness as common;

use std::path::Path;
use std::process::Command;

use dashclaw_sidecar::agents::hermes::install::{
    edit_allowlist, edit_hermes_config, expected_entries, hermes_command, BEGIN, END,
};

const CMD: &str = "/opt/dashclaw/bin/dashclaw-hook";
const REDACT_CMD: &str =
    "/usr/bin/env DASHCLAW_REDACT_TOOL_RESULTS=1 /opt/dashclaw/bin/dashclaw-hook";

/// A Hermes config as people keep it: comments, nested maps, lists, a block scalar.
const COMMENTED: &str = r#"# Hermes configuration (hand-edited).
model:
  default: anthropic/claude-sonnet-4   # the everyday model
  provider: openrouter

terminal:
  backend: local
  timeout: 180 # seconds

toolsets:
  - hermes-cli
  - web

# Keep the personality short.
agent:
  system_prompt: |
    You are terse.
    Never apologise.
hooks_auto_accept: false
"#;

const NO_TRAILING_NEWLINE: &str = "model:\n  default: gpt-5.5";

const OWN_HOOKS: &str = r#"model:
  default: x
hooks:
  pre_tool_call:
    - command: /usr/local/bin/my-guard
"#;

fn install(text: &str) -> String {
    edit_hermes_config(text, CMD, None, false).unwrap()
}

fn uninstall(text: &str) -> String {
    edit_hermes_config(text, CMD, None, true).unwrap()
}

/// Installs, checks the text outside our block is the original, that a second run changes
/// nothing and that uninstall gives back `original`.
fn round_trip(original: &str) -> String {
    let once = install(original);
    assert_eq!(install(&once), once, "re-running must be a no-op");
    assert_eq!(
        uninstall(&once),
        original,
        "uninstall restores the original"
    );
    assert!(
        once.starts_with(original.trim_end_matches('\n')),
        "the original is kept as it was, block appended"
    );
    once
}

#[test]
fn fresh_file() {
    insta::assert_snapshot!(round_trip(""));
}

#[test]
fn with_comments() {
    let out = round_trip(COMMENTED);
    assert!(out.starts_with(COMMENTED), "the user's bytes come first");
    insta::assert_snapshot!(out);
}

#[test]
fn a_file_without_a_final_newline_comes_back_without_one() {
    let out = round_trip(NO_TRAILING_NEWLINE);
    insta::assert_snapshot!(out);
}

#[test]
fn user_edited_block_is_replaced_in_place_and_text_around_it_kept() {
    let once = install(COMMENTED);
    // The user moved our block up, edited a timeout inside it and added settings after it.
    let block_start = once.find(BEGIN).unwrap();
    let block = &once[block_start..];
    let edited_block = block.replace("timeout: 30", "timeout: 5");
    let edited = format!("{edited_block}{COMMENTED}extra_setting: true # added later\n");
    let repaired = install(&edited);
    assert_eq!(
        repaired,
        format!("{block}{COMMENTED}extra_setting: true # added later\n")
    );
    insta::assert_snapshot!(repaired);
    assert_eq!(
        uninstall(&repaired),
        format!("{COMMENTED}extra_setting: true # added later\n")
    );
}

#[test]
fn a_moved_hook_binary_replaces_the_old_command() {
    let once = install(COMMENTED);
    let moved = edit_hermes_config(&once, "/new/dashclaw-hook", None, false).unwrap();
    assert!(!moved.contains(CMD) && moved.contains("/new/dashclaw-hook hermes session-start"));
    assert_eq!(uninstall(&moved), COMMENTED);
}

#[test]
fn the_guard_plugin_is_always_enabled_and_redaction_drops_the_post_tool_call_hook() {
    // Gating is the plugin's (Hermes ignores a failed shell hook): enabled with or without
    // redaction, and no shell pre_tool_call hook besides it (each call is checked once).
    for redact in [None, Some(REDACT_CMD)] {
        let out = edit_hermes_config(COMMENTED, CMD, redact, false).unwrap();
        assert!(
            out.contains("\nplugins:\n  enabled:\n    - dashclaw-guard\n"),
            "{out}"
        );
        assert!(!out.contains("pre_tool_call"), "{out}");
    }
    let out = edit_hermes_config(COMMENTED, CMD, Some(REDACT_CMD), false).unwrap();
    // Hermes lets only a plugin replace a tool result; the plugin also records the result, so
    // the post_tool_call hook goes (one record per result).
    assert!(!out.contains("post_tool_call") && !out.contains("transform_tool_result"));
    assert!(!out.contains("#@plain"));
    assert!(install(COMMENTED).contains("post_tool_call"));
    // Switching it off again rewrites the block without it.
    assert_eq!(install(&out), install(COMMENTED));
    assert_eq!(uninstall(&out), COMMENTED);
    // A `plugins:` of the user's own cannot be merged into: refused (it would leave the guard
    // plugin off), but uninstall still works.
    let own = format!("{COMMENTED}plugins:\n  enabled: [other]\n");
    for redact in [None, Some(REDACT_CMD)] {
        let err = edit_hermes_config(&own, CMD, redact, false).unwrap_err();
        assert!(format!("{err:#}").contains("plugins"), "{err:#}");
    }
    assert_eq!(edit_hermes_config(&own, CMD, None, true).unwrap(), own);
}

#[test]
fn the_guard_plugin_carries_the_hook_commands_as_python_strings() {
    use dashclaw_sidecar::agents::hermes::install::{plugin_commands, plugin_files};
    let cmd = "/usr/bin/env A='b \"c' /h";
    let files = plugin_files(cmd, Some(cmd));
    let init = &files.iter().find(|(n, _)| *n == "__init__.py").unwrap().1;
    assert!(
        init.contains(r#"PRE_COMMAND = "/usr/bin/env A='b \"c' /h hermes pre-tool-use""#),
        "{init}"
    );
    assert!(
        init.contains(r#"REDACT_COMMAND = "/usr/bin/env A='b \"c' /h hermes post-tool-use""#),
        "{init}"
    );
    assert!(!init.contains("@PRE_COMMAND@") && !init.contains("@REDACT_COMMAND@"));
    assert_eq!(
        plugin_commands(init),
        Some((cmd.to_owned(), Some(cmd.to_owned())))
    );
    // Without redaction that part is off.
    let plain = plugin_files(CMD, None);
    let plain_init = &plain.iter().find(|(n, _)| *n == "__init__.py").unwrap().1;
    assert!(
        plain_init.contains("\nREDACT_COMMAND = None\n"),
        "{plain_init}"
    );
    assert_eq!(plugin_commands(plain_init), Some((CMD.to_owned(), None)));
    // It is valid Python that yields the same argv as Hermes's shell hooks would.
    let py = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import shlex\n{}\nprint(shlex.split(PRE_COMMAND))",
            init.lines()
                .find(|l| l.starts_with("PRE_COMMAND = "))
                .unwrap()
        ))
        .output();
    if let Ok(out) = py {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            r#"['/usr/bin/env', 'A=b "c', '/h', 'hermes', 'pre-tool-use']"#
        );
    }
}

#[test]
fn broken_or_conflicting_files_are_refused() {
    for (name, text) in [
        ("broken syntax", "model: [unclosed\n"),
        ("bad indentation", "model:\n  a: 1\n b: 2\n"),
        ("a top-level list", "- a\n- b\n"),
        ("a top-level scalar", "just text\n"),
        ("two documents", "a: 1\n---\nb: 2\n"),
        ("their own hooks", OWN_HOOKS),
        ("a duplicate key", "a: 1\na: 2\n"),
        ("two begin markers", &format!("{BEGIN}\n{BEGIN}\n{END}\n")),
        ("an end marker alone", &format!("a: 1\n{END}\n")),
        ("markers reversed", &format!("{END}\n{BEGIN}\n")),
    ] {
        for uninstall in [false, true] {
            let err = edit_hermes_config(text, CMD, None, uninstall);
            let Err(err) = err else {
                panic!("{name} (uninstall={uninstall}) was accepted: {err:?}");
            };
            assert!(!format!("{err:#}").is_empty(), "{name}");
        }
    }
    // Nothing to remove from a flow mapping, but nothing can be appended to it either.
    assert!(edit_hermes_config("{model: x}\n", CMD, None, false).is_err());
    assert_eq!(uninstall("{model: x}\n"), "{model: x}\n");
    let err = edit_hermes_config(OWN_HOOKS, CMD, None, false).unwrap_err();
    assert!(format!("{err:#}").contains("`hooks:`"), "{err:#}");
}

#[test]
fn the_block_reads_back_as_what_hermes_needs() {
    let entries = expected_entries(CMD, None);
    let events: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
    // No shell pre_tool_call: the guard plugin gates (Hermes ignores a failed shell hook).
    assert_eq!(
        events,
        [
            "post_tool_call",
            "on_session_start",
            "on_session_end",
            "pre_llm_call"
        ]
    );
    assert_eq!(entries[1].command, format!("{CMD} hermes session-start"));
    for e in &entries {
        // Hermes clamps to 300 s; the hook's own deadline is 10 s.
        assert!((10..=300).contains(&e.timeout), "{e:?}");
    }
}

#[test]
fn hook_commands_never_rely_on_a_shell() {
    assert_eq!(hermes_command(Path::new(CMD), &[]), CMD);
    assert_eq!(
        hermes_command(Path::new("/my dir/dashclaw-hook"), &[("A", "1")]),
        "/usr/bin/env A=1 '/my dir/dashclaw-hook'"
    );
    // A quoted command survives YAML: the value Hermes reads is the command itself.
    let cmd = "/usr/bin/env DASHCLAW_HOME='/a b' /x/dashclaw-hook";
    let out = edit_hermes_config("", cmd, None, false).unwrap();
    assert_eq!(
        expected_entries(cmd, None)[0].command,
        format!("{cmd} hermes post-tool-use")
    );
    assert!(out
        .contains(r#""/usr/bin/env DASHCLAW_HOME='/a b' /x/dashclaw-hook hermes post-tool-use""#));
}

#[test]
fn allowlist_gets_exactly_our_approvals_and_gives_them_back() {
    let theirs = r#"{
  "approvals": [
    {"approved_at": "2026-01-01T00:00:00Z", "command": "/usr/local/bin/my-guard", "event": "pre_tool_call"},
    {"command": "/old/dashclaw-hook hermes pre-tool-use", "event": "pre_tool_call"}
  ]
}"#;
    let entries = expected_entries(CMD, None);
    let once = edit_allowlist(Some(theirs), &entries, false).unwrap();
    assert_eq!(edit_allowlist(Some(&once), &entries, false).unwrap(), once);
    let v: serde_json::Value = serde_json::from_str(&once).unwrap();
    let list = v["approvals"].as_array().unwrap();
    assert_eq!(
        list.len(),
        1 + entries.len(),
        "stale approval of ours dropped"
    );
    assert_eq!(list[0]["command"], "/usr/local/bin/my-guard");
    assert!(entries.iter().all(|e| list
        .iter()
        .any(|a| a["event"] == e.event.as_str() && a["command"] == e.command.as_str())));
    let removed = edit_allowlist(Some(&once), &entries, true).unwrap();
    let v: serde_json::Value = serde_json::from_str(&removed).unwrap();
    assert_eq!(v["approvals"].as_array().unwrap().len(), 1);
    assert!(edit_allowlist(Some("{"), &entries, false).is_err());
    assert!(edit_allowlist(Some("[]"), &entries, false).is_err());
    assert!(edit_allowlist(Some(r#"{"approvals": 3}"#), &entries, false).is_err());
}

#[test]
fn cli_dry_run_install_backup_and_uninstall() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("hermes");
    std::fs::create_dir_all(&home).unwrap();
    let config = home.join("config.yaml");
    let allow = home.join("shell-hooks-allowlist.json");
    std::fs::write(&config, COMMENTED).unwrap();
    let run = |extra: &[&str]| {
        Command::new(common::DAEMON)
            // The hooks block byte for byte; the MCP entry is tests/mcp_install.rs's.
            .args(["install", "hermes", "--no-mcp", "--hook-bin", CMD])
            .args(extra)
            .env_clear()
            .env("PATH", "/nonexistent")
            .env("HOME", dir.path())
            .env("HERMES_HOME", &home)
            .output()
            .unwrap()
    };
    let out = run(&["--dry-run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let diff = common::stdout(&out);
    assert!(diff.contains(&format!("+{BEGIN}")), "{diff}");
    assert!(diff.contains("+    - dashclaw-guard"), "{diff}");
    assert!(
        diff.contains("plugins/dashclaw-guard/__init__.py"),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), COMMENTED);
    assert!(!allow.exists());

    let out = run(&[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let installed = std::fs::read_to_string(&config).unwrap();
    assert_eq!(installed, install(COMMENTED));
    let backup = home.join("config.yaml.dashclaw-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), COMMENTED);
    let approvals: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&allow).unwrap()).unwrap();
    assert_eq!(approvals["approvals"].as_array().unwrap().len(), 4);
    let plugin = home.join("plugins/dashclaw-guard");
    assert!(plugin.join("__init__.py").is_file() && plugin.join("plugin.yaml").is_file());

    let out = run(&[]);
    assert!(out.status.success());
    assert!(common::stdout(&out).contains("already up to date"));

    // A broken file is refused and left alone.
    std::fs::write(&config, "model: [oops\n").unwrap();
    let out = run(&[]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("nothing was changed"),
        "{}",
        common::stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "model: [oops\n");
    std::fs::write(&config, &installed).unwrap();

    let out = run(&["--uninstall"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), COMMENTED);
    assert!(!allow.exists(), "an allowlist we created goes away with us");
    assert!(!plugin.exists(), "the plugin goes with the hooks");
}

fn doctor(home: &common::Home, config: &Path) -> (bool, serde_json::Value) {
    let out = home.dashclawd(&[
        "doctor",
        "--json",
        "--hermes-config",
        config.to_str().unwrap(),
    ]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor: {e}\n{}{}",
            common::stdout(&out),
            common::stderr(&out)
        )
    });
    (out.status.success(), v)
}

fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
}

#[test]
fn doctor_probes_a_healthy_install_and_catches_a_broken_one() {
    let home = common::Home::new();
    let config = home.path().join("hermes").join("config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, COMMENTED).unwrap();
    let out = home.dashclawd(&[
        "install",
        "hermes",
        "--config",
        config.to_str().unwrap(),
        "--hook-bin",
        common::HOOK.as_str(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let (ok, r) = doctor(&home, &config);
    assert!(ok, "{r:#}");
    for c in ["fail_closed", "consent", "binary"] {
        assert_eq!(
            check(&r, &format!("agent.hermes.{c}"))["status"],
            "ok",
            "{c}: {r:#}"
        );
    }
    // The probe ran our hook exactly as Hermes would, with a Hermes `terminal` payload.
    let probe = check(&r, "agent.hermes.probe");
    assert_eq!(probe["status"], "ok", "{probe}");
    assert!(
        probe["detail"].as_str().unwrap().starts_with("held"),
        "{probe}"
    );

    // Broken by hand: the guard plugin switched off, approvals gone.
    let installed = std::fs::read_to_string(&config).unwrap();
    let broken = installed.replace("    - dashclaw-guard\n", "    - something-else\n");
    assert_ne!(broken, installed);
    std::fs::write(&config, broken).unwrap();
    std::fs::remove_file(config.with_file_name("shell-hooks-allowlist.json")).unwrap();
    let (ok, r) = doctor(&home, &config);
    assert!(!ok, "{r:#}");
    assert_eq!(check(&r, "agent.hermes.fail_closed")["status"], "fail");
    assert_eq!(check(&r, "agent.hermes.consent")["status"], "warn");

    // The plugin edited, then gone: nothing gates Hermes's calls.
    std::fs::write(&config, &installed).unwrap();
    let init = config.with_file_name("plugins/dashclaw-guard/__init__.py");
    let text = std::fs::read_to_string(&init).unwrap();
    std::fs::write(&init, text.replace("return _failed(", "return None and (")).unwrap();
    let (_, r) = doctor(&home, &config);
    assert_eq!(check(&r, "agent.hermes")["status"], "warn", "{r:#}");
    std::fs::remove_file(&init).unwrap();
    let (ok, r) = doctor(&home, &config);
    assert!(!ok, "{r:#}");
    assert_eq!(check(&r, "agent.hermes")["status"], "fail", "{r:#}");
}

#[test]
fn the_hook_speaks_hermes_end_to_end() {
    let home = common::Home::new();
    let _daemon = home.spawn_daemon();
    let body = serde_json::json!({
        "hook_event_name": "pre_tool_call", "tool_name": "terminal",
        "tool_input": {"command": "rm -rf ~"}, "session_id": "s", "cwd": "/tmp",
        "profile": "default", "extra": {"task_id": "t", "tool_call_id": "c"}
    });
    let out = home.hook("hermes", "pre-tool-use", body.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stdout["action"], "block");
    assert!(!common::stderr(&out).is_empty());

    let ok = serde_json::json!({
        "hook_event_name": "pre_tool_call", "tool_name": "read_file",
        "tool_input": {"path": "/tmp/x"}, "session_id": "s", "cwd": "/tmp", "extra": {}
    });
    let out = home.hook("hermes", "pre-tool-use", ok.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(out.stdout.is_empty());

    // Tool-result redaction, switched on by the environment Hermes gives the hook.
    let result = serde_json::json!({
        "hook_event_name": "transform_tool_result", "tool_name": "terminal",
        "tool_input": null, "session_id": "s", "cwd": "/tmp",
        "extra": {"arguments": {"command": "env"},
                  "result": "GITHUB_TOKEN=ghp_R8kq2LmZ7xV4nP9tW3yB6cD1fH5jK0sQ2uEa\n"}
    });
    let out = home.hook("hermes", "post-tool-use", result.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "off unless asked for");
    let out = home.hook_with(
        "hermes",
        "post-tool-use",
        result.to_string().as_bytes(),
        |c| {
            c.env("DASHCLAW_REDACT_TOOL_RESULTS", "1");
        },
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", common::stdout(&out)));
    assert_eq!(v["result"], "GITHUB_TOKEN=[REDACTED:github-pat]\n");
}
