//! The hook guardian with the real daemon: removing, switching off or changing the installed
//! hooks is recorded in the ledger, shown by `status` and `doctor`, and reported to the server.

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;

use common::*;
use fake_dashclaw::{FakeDashClaw, Flavor};
use serde_json::{json, Value};

fn settings(home: &Home) -> std::path::PathBuf {
    home.path().join(".claude/settings.json")
}

fn install_claude(home: &Home) {
    let out = home.dashclawd(&["install", "claude"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(settings(home))
        .unwrap()
        .contains("dashclaw-hook"));
}

/// The guardian has taken its first look (its saved state names the file).
fn wait_baseline(home: &Home, file: &std::path::Path) {
    let state = home.path().join("state/guardian.json");
    let name = file.to_string_lossy().into_owned();
    eventually(10, "the guardian's first look", || {
        std::fs::read_to_string(&state).is_ok_and(|s| s.contains(&name))
    });
}

fn hook_changes(home: &Home) -> Vec<Value> {
    home.ledger()
        .into_iter()
        .filter(|e| e["event"] == "hooks-changed")
        .collect()
}

fn status_json(home: &Home) -> Value {
    let out = home.dashclawd(&["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn removing_the_hooks_is_recorded_and_shown() {
    let home = Home::new();
    install_claude(&home);
    let _d = home.spawn_daemon();
    wait_baseline(&home, &settings(&home));
    assert!(hook_changes(&home).is_empty());

    // What an agent told to "clean up the settings" would do.
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(settings(&home)).unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("hooks");
    std::fs::write(settings(&home), doc.to_string()).unwrap();

    eventually(10, "a hooks-changed ledger entry", || {
        !hook_changes(&home).is_empty()
    });
    let e = &hook_changes(&home)[0];
    assert_eq!(e["agent"], "claude");
    assert_eq!(e["outcome"]["kind"], "removed");
    assert!(
        e["summary"].as_str().unwrap().contains("settings.json"),
        "{e}"
    );

    let s = status_json(&home);
    assert_eq!(s["guardian"]["changes"][0]["kind"], "removed", "{s}");
    let human = stdout(&home.dashclawd(&["status"]));
    assert!(human.contains("hooks changed"), "{human}");
    assert!(human.contains("were removed"), "{human}");
    let doctor = home.dashclawd(&["doctor", "--no-probe"]);
    assert!(
        stdout(&doctor).contains("were removed"),
        "{}",
        stdout(&doctor)
    );
    assert!(!doctor.status.success());
    // The chain still verifies: the entry is a normal record.
    assert!(home.dashclawd(&["log", "verify"]).status.success());
}

#[test]
fn switching_hooks_off_while_the_daemon_is_stopped_is_found_at_start() {
    let home = Home::new();
    install_claude(&home);
    {
        let _d = home.spawn_daemon();
        wait_baseline(&home, &settings(&home));
        home.dashclawd(&["stop"]);
    }
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(settings(&home)).unwrap()).unwrap();
    doc["disableAllHooks"] = json!(true);
    std::fs::write(settings(&home), doc.to_string()).unwrap();

    let _d = home.spawn_daemon();
    eventually(10, "the change made while stopped", || {
        !hook_changes(&home).is_empty()
    });
    let e = &hook_changes(&home)[0];
    assert_eq!(e["outcome"]["kind"], "disabled");
    let summary = e["summary"].as_str().unwrap();
    assert!(summary.contains("disableAllHooks"), "{summary}");
    assert!(summary.contains("not running"), "{summary}");
}

#[test]
fn a_project_settings_file_that_switches_hooks_off_is_seen() {
    let home = Home::new();
    install_claude(&home);
    let project = home.path().join("proj");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    let _d = home.spawn_daemon();
    // A call from the project makes the guardian watch its settings.
    let event = json!({"session_id": "s", "cwd": project, "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "t1"});
    let out = home.hook("claude", "pre-tool-use", event.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let local = project.join(".claude/settings.local.json");
    wait_baseline(&home, &local);
    // Claude Code's project-local switch turns the user's hooks off too.
    std::fs::write(&local, r#"{"disableAllHooks": true}"#).unwrap();
    eventually(10, "the project switch-off", || {
        hook_changes(&home)
            .iter()
            .any(|e| e["outcome"]["kind"] == "disabled")
    });
}

#[test]
fn with_a_server_the_change_is_reported_to_it() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = Home::for_server(&fake.url(), &fake.api_key());
    install_claude(&home);
    let _d = home.spawn_daemon();
    wait_baseline(&home, &settings(&home));
    std::fs::write(settings(&home), "{}").unwrap();
    eventually(15, "the report at the server", || {
        fake.actions().iter().any(|a| {
            a["action_type"] == "security"
                && a["declared_goal"]
                    .as_str()
                    .is_some_and(|g| g.contains("removed"))
        })
    });
}
