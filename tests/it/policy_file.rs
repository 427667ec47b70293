//! The user's policy file, as the running daemon applies it: in force on the next call after a
//! change, and a broken edit keeps the last good set.

use dashclaw_testkit::harness as common;

use std::time::{Duration, Instant};

use common::*;

fn write_event(path: &str) -> Vec<u8> {
    serde_json::json!({
        "session_id": "s", "cwd": "/tmp", "hook_event_name": "PreToolUse",
        "tool_name": "Write", "tool_input": { "file_path": path, "content": "x" },
        "tool_use_id": "t",
    })
    .to_string()
    .into_bytes()
}

const PROTECT: &str = r#"
[[policy]]
name = "protect-migrations"
policy_type = "protected_path"
[policy.rules]
paths = ["db/migrations/**"]
action = "block"
"#;

/// Polls the hook until it gives `code` (the watcher reloads within a second or two).
fn until_code(home: &Home, event: &[u8], code: i32) -> std::process::Output {
    let start = Instant::now();
    loop {
        let out = home.hook("claude", "pre-tool-use", event);
        if out.status.code() == Some(code) || start.elapsed() > Duration::from_secs(10) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn policy_file_changes_apply_to_the_running_daemon() {
    let home = Home::new();
    let event = write_event("/work/app/db/migrations/0042_drop_users.sql");
    let policies = home.path().join("policies.toml");
    let _daemon = home.spawn_daemon();
    assert_eq!(
        home.hook("claude", "pre-tool-use", &event).status.code(),
        Some(0)
    );

    std::fs::write(&policies, PROTECT).unwrap();
    let out = until_code(&home, &event, 2);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("protect-migrations: Protected path touched: /work/app/db/migrations/0042_drop_users.sql"), "{err}");

    // A broken edit keeps the last good set, and says so in status.
    std::fs::write(&policies, "[[policy]]\nname = \n").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        home.hook("claude", "pre-tool-use", &event).status.code(),
        Some(2)
    );
    let status: serde_json::Value =
        serde_json::from_slice(&home.dashclawd(&["status", "--json"]).stdout).unwrap();
    assert!(
        status["policies"]["last_error"].as_str().is_some(),
        "{status}"
    );

    // Removing the policy lifts it.
    std::fs::write(&policies, "").unwrap();
    assert_eq!(until_code(&home, &event, 0).status.code(), Some(0));
}

#[test]
fn check_and_lint_read_the_same_file() {
    let home = Home::new();
    std::fs::write(home.path().join("policies.toml"), PROTECT).unwrap();
    let out = home.dashclawd_stdin(&["check"], &write_event("db/migrations/1.sql"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "block");
    assert_eq!(v["matched_policies"][0], "local:protect-migrations");

    std::fs::write(home.path().join("policies.toml"), "[[policy]]\nname = \"x\"\npolicy_type = \"risk_threshold\"\nrules = { threshold = \"high\" }\n").unwrap();
    let lint = home.dashclawd(&["policy", "lint"]);
    assert_eq!(lint.status.code(), Some(1));
    let text = stdout(&lint) + &stderr(&lint);
    assert!(
        text.contains("policies.toml:") && text.contains("rules.threshold"),
        "{text}"
    );
}
