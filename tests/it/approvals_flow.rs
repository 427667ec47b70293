//! Require-approval without a server: Claude Code asks the user itself; where nobody can
//! answer, the call is held in the local queue, an operator approves or denies it, and the
//! identical retry runs once or is denied with the operator's reason.

use dashclaw_testkit::harness as common;

use common::*;
use dashclaw_sidecar::approvals::{unix_now, Approvals, Filter};

fn held_id(stderr: &str) -> String {
    let start = stderr.find("Held as ap_").expect("held") + "Held as ".len();
    stderr[start..start + 11].to_string()
}

fn store(home: &Home) -> Approvals {
    Approvals::open(&home.path().join("state/approvals.db")).unwrap()
}

#[test]
fn headless_call_is_held_then_runs_once_after_approval() {
    let home = Home::new().env("CLAUDE_CODE_ENTRYPOINT", "sdk-cli");
    let event = bash_event("terraform destroy");
    let out = home.hook("claude", "pre-tool-use", &event);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("[DashClaw] Approval required: "), "{err}");
    let id = held_id(&err);
    assert!(
        err.contains(&format!("run `dashclawd approve {id}` in a terminal")),
        "{err}"
    );

    // The agent retries before anyone approved: same request, no duplicate.
    let again = home.hook("claude", "pre-tool-use", &event);
    assert_eq!(held_id(&stderr(&again)), id);
    let queue = store(&home).list(Filter::Pending, unix_now()).unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].summary, "Bash: terraform destroy");

    store(&home)
        .approve(&id, "operator", Some("planned teardown"), unix_now())
        .unwrap();
    let out = home.hook("claude", "pre-tool-use", &event);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Once: the next identical call is held again.
    let out = home.hook("claude", "pre-tool-use", &event);
    assert_eq!(out.status.code(), Some(2));
    assert_ne!(held_id(&stderr(&out)), id);

    let ledger = home.ledger();
    let approved: Vec<_> = ledger
        .iter()
        .filter(|r| r["policy"] == "builtin:operator_approval")
        .collect();
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["verdict"], "allow");
    assert!(approved[0]["reasons"][0].as_str().unwrap().contains(&id));
    assert_eq!(ledger[0]["outcome"]["held"], id.as_str());
}

#[test]
fn a_denied_call_is_refused_with_the_operators_reason() {
    let home = Home::new().env("CLAUDE_CODE_ENTRYPOINT", "sdk-cli");
    let event = bash_event("kubectl delete namespace prod");
    let id = held_id(&stderr(&home.hook("claude", "pre-tool-use", &event)));
    store(&home)
        .deny(&id, "operator", Some("prod is frozen"), unix_now())
        .unwrap();
    let out = home.hook("claude", "pre-tool-use", &event);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("prod is frozen") && err.contains(&id), "{err}");
    assert!(err.contains("Instead: do not retry"), "{err}");
}

#[test]
fn approval_covers_only_the_identical_call() {
    let home = Home::new().env("CLAUDE_CODE_ENTRYPOINT", "sdk-cli");
    let id = held_id(&stderr(&home.hook(
        "claude",
        "pre-tool-use",
        &bash_event("terraform destroy"),
    )));
    store(&home)
        .approve(&id, "operator", None, unix_now())
        .unwrap();
    let other = home.hook(
        "claude",
        "pre-tool-use",
        &bash_event("terraform destroy -target=module.db"),
    );
    assert_eq!(
        other.status.code(),
        Some(2),
        "a different command is not covered"
    );
}

#[test]
fn interactive_claude_asks_the_user_instead_of_queueing() {
    let home = Home::new();
    let out = home.hook("claude", "pre-tool-use", &bash_event("terraform destroy"));
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "ask");
    let _ = home.hook("claude", "pre-tool-use", &bash_event("ls")); // the daemon is up
    assert!(store(&home)
        .list(Filter::All, unix_now())
        .unwrap()
        .is_empty());
}

#[test]
fn agents_without_an_ask_prompt_are_held() {
    let home = Home::new();
    let out = home.hook("codex", "pre-tool-use", &bash_event("terraform destroy"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Held as ap_"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "codex needs empty stdout");
}
