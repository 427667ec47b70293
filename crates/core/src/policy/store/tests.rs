//! Hot reload against a real directory: every test polls for the state it expects, with a
//! deadline, instead of sleeping for a fixed time.

use super::*;
use crate::event::Verdict;
use crate::policy::ratelimit::ManualClock;
use crate::policy::GuardContext;
use std::time::Instant;

fn opts() -> StoreOptions {
    StoreOptions {
        debounce: Duration::from_millis(30),
        poll_interval: Duration::from_millis(250),
        ..StoreOptions::default()
    }
}

fn policy(name: &str, action_type: &str) -> String {
    format!(
        "[[policy]]\nname = \"{name}\"\npolicy_type = \"block_action_type\"\nrules.action_types = [\"{action_type}\"]\n"
    )
}

/// Waits up to 10 s for `cond`.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn names(store: &PolicyStore) -> Vec<String> {
    store
        .current()
        .policies
        .iter()
        .filter(|p| p.policy.origin != crate::policy::Origin::Builtin)
        .map(|p| p.policy.name.clone())
        .collect()
}

fn verdict(store: &PolicyStore, action_type: &str) -> Verdict {
    let ctx = GuardContext {
        action_type: action_type.into(),
        agent_id: Some("claude-code".into()),
        ..GuardContext::default()
    };
    store.evaluate_context(&ctx, &[]).decision.verdict
}

#[test]
fn created_later_broken_fixed_replaced_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policies.toml");
    let store = PolicyStore::open_with(&file, opts());
    assert_eq!(store.current().file, FileState::Absent);
    assert!(names(&store).is_empty());
    assert_eq!(
        store.current().policies.len(),
        crate::catalog::all().count()
    );

    // Created after the daemon started.
    std::fs::write(&file, policy("a", "deploy")).unwrap();
    eventually("the new file", || names(&store) == ["a"]);
    assert_eq!(store.current().file, FileState::Loaded);
    assert_eq!(verdict(&store, "deploy"), Verdict::Block);

    // Broken: the last good set stays, loudly.
    std::fs::write(&file, "[[policy]]\nname = \"a\"\npolicy_type = ").unwrap();
    eventually("the error", || store.last_error().is_some());
    let err = store.last_error().unwrap();
    assert!(err.starts_with("policies.toml:3: not valid TOML"), "{err}");
    assert_eq!(names(&store), ["a"]);
    assert!(matches!(store.current().file, FileState::Stale { .. }));
    let ev = store.evaluate_context(
        &GuardContext {
            action_type: "deploy".into(),
            ..GuardContext::default()
        },
        &[],
    );
    assert_eq!(ev.decision.verdict, Verdict::Block, "still enforced");
    assert!(ev
        .warnings
        .iter()
        .any(|w| w.contains("enforcing its last good version")));
    let status = store.status();
    assert_eq!(status.last_error.as_deref(), Some(err.as_str()));
    assert!(status.issues[0]
        .message
        .starts_with("policy file rejected: "));

    // Fixed.
    std::fs::write(&file, policy("b", "migrate")).unwrap();
    eventually("the fix", || names(&store) == ["b"]);
    assert_eq!(store.last_error(), None);
    assert_eq!(verdict(&store, "deploy"), Verdict::Allow);
    assert_eq!(verdict(&store, "migrate"), Verdict::Block);

    // Replaced atomically, the way editors and config tools save: temp file + rename.
    let tmp = dir.path().join(".policies.toml.tmp123");
    std::fs::write(&tmp, policy("c", "sync")).unwrap();
    std::fs::rename(&tmp, &file).unwrap();
    eventually("the renamed file", || names(&store) == ["c"]);

    // Deleted: back to the built-in pack alone.
    std::fs::remove_file(&file).unwrap();
    eventually("the deletion", || names(&store).is_empty());
    assert_eq!(store.current().file, FileState::Absent);
    assert_eq!(store.last_error(), None);
}

#[test]
fn vim_style_save_and_unrelated_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policies.toml");
    std::fs::write(&file, policy("a", "deploy")).unwrap();
    let store = PolicyStore::open_with(&file, opts());
    assert_eq!(names(&store), ["a"]);

    // Backup rename, new file written, backup removed.
    let backup = dir.path().join("policies.toml~");
    std::fs::rename(&file, &backup).unwrap();
    std::fs::write(&file, policy("b", "deploy")).unwrap();
    std::fs::remove_file(&backup).unwrap();
    eventually("the saved file", || names(&store) == ["b"]);
    assert_eq!(store.last_error(), None);

    // Other files in the directory do not cause reloads. (First let the save's own events
    // drain: the state above may have been reached before the last of them arrived.)
    let mut generation = store.generation();
    loop {
        std::thread::sleep(Duration::from_millis(150));
        let now = store.generation();
        if now == generation {
            break;
        }
        generation = now;
    }
    std::fs::write(dir.path().join("config.toml"), "x = 1").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(store.generation(), generation);
}

#[test]
fn broken_at_start_blocks_until_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policies.toml");
    std::fs::write(&file, "[[policy]]\nnme = \"typo\"\n").unwrap();
    let store = PolicyStore::open_with(&file, opts());
    assert!(matches!(store.current().file, FileState::Broken { .. }));
    assert!(store.last_error().unwrap().contains("unknown key \"nme\""));
    let ev = store.evaluate_context(&GuardContext::default(), &[]);
    assert_eq!(ev.decision.verdict, Verdict::Block);
    assert_eq!(ev.decision.policy.as_deref(), Some("policy-file"));

    std::fs::write(&file, policy("a", "deploy")).unwrap();
    eventually("the fix", || store.last_error().is_none());
    assert_eq!(verdict(&store, "review"), Verdict::Allow);
}

#[test]
fn a_directory_that_appears_later_is_picked_up_by_polling() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("later").join("policies.toml");
    let store = PolicyStore::open_with(&file, opts());
    assert_eq!(store.current().file, FileState::Absent);
    std::fs::create_dir(file.parent().unwrap()).unwrap();
    std::fs::write(&file, policy("a", "deploy")).unwrap();
    eventually("the file in the new directory", || names(&store) == ["a"]);
}

#[test]
fn rule_problems_load_as_cannot_enforce_and_show_in_status() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policies.toml");
    std::fs::write(
        &file,
        "[[policy]]\nname = \"bad\"\npolicy_type = \"risk_threshold\"\nrules.threshold = \"high\"\n",
    )
    .unwrap();
    let store = PolicyStore::open_with(
        &file,
        StoreOptions {
            watch: false,
            ..opts()
        },
    );
    assert_eq!(store.last_error(), None, "the file itself is fine");
    let status = store.status();
    assert_eq!(status.active_policies, 1);
    assert_eq!(
        status
            .issues
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>(),
        ["policies.toml:4: policy \"bad\" field rules.threshold: expected a number 0-100"]
    );
    let ev = store.evaluate_context(&GuardContext::default(), &[]);
    assert_eq!(ev.decision.verdict, Verdict::Warn);
    assert_eq!(
        ev.cannot_enforce,
        ["Policy \"bad\" (local:bad) is ACTIVE but cannot enforce: rules.threshold: expected a number 0-100"]
    );
}

#[test]
fn manual_reload_server_policies_and_rate_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policies.toml");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let store = PolicyStore::open_with(
        &file,
        StoreOptions {
            watch: false,
            clock: clock.clone(),
            ..opts()
        },
    );
    std::fs::write(
        &file,
        "[[policy]]\nname = \"rl\"\npolicy_type = \"rate_limit\"\nrules = { max_actions = 2, window_minutes = 1 }\n",
    )
    .unwrap();
    assert_eq!(store.reload(), Ok(()));
    assert_eq!(verdict(&store, "review"), Verdict::Allow);
    assert_eq!(verdict(&store, "review"), Verdict::Allow);
    assert_eq!(verdict(&store, "review"), Verdict::Warn);
    clock.advance(61_000);
    assert_eq!(verdict(&store, "review"), Verdict::Allow);

    let body = r#"{"policies":[{"id":"gp_1","name":"srv","policy_type":"block_action_type",
        "rules":"{\"action_types\":[\"deploy\"]}","active":1,"agent_ids":null}]}"#;
    let (policies, issues) = crate::policy::parse_server_policies(body).unwrap();
    store.set_server_policies(policies, issues);
    assert_eq!(names(&store), ["rl", "srv"], "file first, then server");
    assert_eq!(
        verdict(&store, "deploy"),
        Verdict::Allow,
        "server policies are the server's to evaluate"
    );
    let ctx = GuardContext {
        action_type: "deploy".into(),
        agent_id: Some("claude-code".into()),
        ..GuardContext::default()
    };
    assert_eq!(
        store
            .evaluate_context_with(&ctx, &[], true)
            .decision
            .verdict,
        Verdict::Block,
        "the local fallback applies them"
    );

    std::fs::write(&file, "nope =").unwrap();
    assert!(store.reload().is_err());
    assert_eq!(names(&store), ["rl", "srv"]);
    assert_eq!(
        PolicyStore::builtin_only().current().file,
        FileState::Absent
    );
}
