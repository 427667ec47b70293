//! An agent cannot switch its guard off: the daemon's own files, binaries and approval commands
//! are off limits to tool calls, whatever DASHCLAW_HOME says.

use dashclaw_testkit::harness as common;

use common::*;

fn pre(home: &Home, event: &[u8]) -> (Option<i32>, String) {
    let out = home.hook("claude", "pre-tool-use", event);
    (out.status.code(), stderr(&out))
}

#[test]
fn the_guards_own_state_and_commands_are_off_limits() {
    let home = Home::new();
    let h = home.path().display().to_string();
    let hook_dir = std::path::Path::new(HOOK.as_str())
        .parent()
        .unwrap()
        .display()
        .to_string();
    for command in [
        format!("rm -f {h}/state/ledger.db"),
        format!("echo 'idle_timeout_secs = 0' > {h}/config.toml"),
        format!("sqlite3 {h}/state/approvals.db 'update approvals set status=1'"),
        "dashclawd approve ap_abcdefgh".to_string(),
        "pkill dashclawd".to_string(),
        format!("cp /bin/true {hook_dir}/dashclaw-hook"),
    ] {
        let (code, err) = pre(&home, &bash_event(&command));
        assert_ne!(code, Some(0), "{command} must not be allowed: {err}");
    }
    let write = serde_json::json!({
        "session_id": "s", "cwd": "/tmp", "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": { "file_path": format!("{h}/policies.toml"), "content": "" },
    });
    let (code, err) = pre(&home, write.to_string().as_bytes());
    assert_eq!(code, Some(2), "{err}");
    // Ordinary work next to it is fine.
    assert_eq!(pre(&home, &bash_event("ls -la")).0, Some(0));
}
