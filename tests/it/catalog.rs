//! The rule catalog proves itself: every rule's examples fire it, every near miss does not,
//! through the same classifier and policy pack the daemon runs.

use dashclaw_sidecar::catalog;
use dashclaw_sidecar::classify::{classify, ClassifyContext};
use dashclaw_sidecar::event::{Agent, EventKind, HookEvent, ToolAction, ToolCall};
use serde_json::json;

const WS: &str = "/w/proj";
const HOME: &str = "/home/u";

/// `@Write <path>|<content>`, `@Read <path>`, or a Bash command.
fn event(example: &str) -> HookEvent {
    let (name, input, action) = if let Some(rest) = example.strip_prefix("@Write ") {
        let (path, content) = rest.split_once('|').unwrap_or((rest, ""));
        (
            "Write",
            json!({"file_path": path, "content": content}),
            ToolAction::WriteFile {
                path: path.into(),
                content: Some(content.into()),
            },
        )
    } else if let Some(path) = example.strip_prefix("@Read ") {
        (
            "Read",
            json!({ "file_path": path }),
            ToolAction::ReadFile { path: path.into() },
        )
    } else {
        (
            "Bash",
            json!({ "command": example }),
            ToolAction::Shell {
                command: example.into(),
            },
        )
    };
    HookEvent {
        agent: Agent::Claude,
        kind: EventKind::PreToolUse,
        session_id: None,
        cwd: WS.into(),
        transcript_path: None,
        permission_mode: None,
        subagent: None,
        tool: Some(ToolCall {
            name: name.into(),
            input,
            tool_use_id: None,
            action,
        }),
        tool_response: None,
        prompt: None,
        headless: false,
    }
}

fn rules_raised(example: &str) -> Vec<&'static str> {
    let ctx = ClassifyContext::new(WS, Some(HOME));
    classify(&event(example), &ctx)
        .findings
        .iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn every_rule_has_examples_that_fire_and_near_misses_that_do_not() {
    let mut failures = Vec::new();
    for rule in catalog::all() {
        // A rule raised only by session state or the file system (symlinks, taint) proves
        // itself in its own tests; every other rule needs an example here.
        let stateful = matches!(
            rule.id,
            "symlink-escape" | "script-escape-hatch" | "tainted-egress"
        );
        if !stateful && rule.fires.is_empty() {
            failures.push(format!("{}: no example that fires", rule.id));
        }
        if rule.near_misses.is_empty() && !stateful {
            failures.push(format!("{}: no near miss", rule.id));
        }
        for ex in rule.fires {
            let got = rules_raised(ex);
            if !got.contains(&rule.id) {
                failures.push(format!(
                    "{}: `{ex}` does not fire it (got {got:?})",
                    rule.id
                ));
            }
        }
        for ex in rule.near_misses {
            let got = rules_raised(ex);
            if got.contains(&rule.id) {
                failures.push(format!("{}: near miss `{ex}` fires it", rule.id));
            }
        }
        assert!(!rule.explanation.is_empty() && !rule.suggestion.is_empty());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ids_are_unique_and_every_rule_is_a_builtin_policy() {
    let ids: Vec<&str> = catalog::all().map(|r| r.id).collect();
    for (i, id) in ids.iter().enumerate() {
        assert!(!ids[i + 1..].contains(id), "duplicate id {id}");
    }
    let policies = dashclaw_sidecar::policy::builtin_policies();
    assert_eq!(policies.len(), ids.len());
    for id in ids {
        assert!(
            policies.iter().any(|p| p.id == format!("builtin:{id}")),
            "{id} is not listed as a policy"
        );
    }
}

#[test]
fn docs_show_the_catalog_as_it_is() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/classifier.md"))
        .unwrap();
    let start = doc
        .find("<!-- catalog -->")
        .expect("docs/classifier.md: <!-- catalog --> marker");
    let end = doc
        .find("<!-- /catalog -->")
        .expect("docs/classifier.md: <!-- /catalog --> marker");
    let shown = &doc[start + "<!-- catalog -->".len()..end];
    let want = catalog::markdown();
    if std::env::var_os("DASHCLAW_UPDATE_DOCS").is_some() {
        let updated = format!(
            "{}<!-- catalog -->{want}<!-- /catalog -->{}",
            &doc[..start],
            &doc[end + "<!-- /catalog -->".len()..]
        );
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/docs/classifier.md"),
            updated,
        )
        .unwrap();
        return;
    }
    assert_eq!(
        shown.trim(),
        want.trim(),
        "docs/classifier.md is out of date: run with DASHCLAW_UPDATE_DOCS=1"
    );
}
