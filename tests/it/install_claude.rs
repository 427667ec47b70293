//! Golden tests for `dashclawd install claude` on real settings files: fresh, already installed,
//! user-edited, broken. Re-running is a no-op; uninstall restores the original.

use dashclaw_testkit::harness as common;

use std::path::Path;
use std::process::Command;

use dashclaw_sidecar::agents::claude::install::edit_claude_settings;
use serde_json::Value;

const BIN: &str = "/opt/dashclaw/bin/dashclaw-hook";

const USER_SETTINGS: &str = r#"{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(git status:*)"],
    "deny": ["Read(./.env)"]
  },
  "hooks": {
    "PreToolUse": [
      { "matcher": "Bash", "hooks": [ { "type": "command", "command": "/usr/local/bin/my-guard", "timeout": 5 } ] }
    ],
    "Notification": [
      { "hooks": [ { "type": "command", "command": "notify-send claude" } ] }
    ]
  },
  "statusLine": { "type": "command", "command": "~/.claude/status.sh" }
}
"#;

fn edit(text: &str, uninstall: bool) -> String {
    let mut doc: Value = serde_json::from_str(text).unwrap();
    edit_claude_settings(&mut doc, Path::new(BIN), None, uninstall).unwrap();
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

#[test]
fn fresh_and_user_settings_round_trip() {
    for original in ["{}\n", USER_SETTINGS] {
        let once = edit(original, false);
        assert_eq!(edit(&once, false), once, "re-running must be a no-op");
        let back: Value = serde_json::from_str(&edit(&once, true)).unwrap();
        let orig: Value = serde_json::from_str(original).unwrap();
        assert_eq!(back, orig, "uninstall restores the original");
    }
    insta::assert_snapshot!(edit(USER_SETTINGS, false));
}

#[test]
fn user_edited_entry_is_replaced_not_duplicated() {
    let once = edit(USER_SETTINGS, false);
    // A ms-sized timeout (fails open, agent-hooks.md §1.5) typed over ours is repaired.
    let edited = once.replacen("\"timeout\": 3660", "\"timeout\": 3600000", 1);
    let repaired: Value = serde_json::from_str(&edit(&edited, false)).unwrap();
    let pre = repaired["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre.len(), 2);
    assert_eq!(pre[1]["hooks"][0]["timeout"], 3660);
}

#[test]
fn broken_settings_are_refused() {
    for text in ["[]", r#"{"hooks": []}"#, r#"{"hooks": {"PreToolUse": {}}}"#] {
        let mut doc: Value = serde_json::from_str(text).unwrap();
        assert!(
            edit_claude_settings(&mut doc, Path::new(BIN), None, false).is_err(),
            "{text}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.json");
    std::fs::write(&settings, "{ not json").unwrap();
    let out = Command::new(common::DAEMON)
        .args(["install", "claude", "--settings"])
        .arg(&settings)
        .args(["--hook-bin", BIN])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(common::stderr(&out).contains("not valid JSON"));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "{ not json");
}
