//! The policy file format and `lint` positions (the `policy test` runner: src/policy/testing/tests.rs
//! in the root package).

use super::*;

fn path() -> PathBuf {
    PathBuf::from("/cfg/policies.toml")
}

fn lint(text: &str) -> Vec<String> {
    lint_str(&path(), text)
        .issues
        .iter()
        .map(|i| i.to_string())
        .collect()
}

/// A valid file with policies, their tests and examples (also run by the root package's
/// `policy test` tests, src/policy/testing/tests.rs).
const GOOD: &str = include_str!("good.toml");

#[test]
fn reads_the_documented_format() {
    let parsed = parse_file(&path(), GOOD).unwrap();
    let p = &parsed.policies;
    assert_eq!(p.len(), 3);
    assert_eq!(
        p[0].id, "local:deploys-need-approval",
        "id defaults from the name"
    );
    assert_eq!(p[0].agent_ids, serde_json::json!(["claude-code"]));
    assert!(p[0].active, "active defaults to true");
    assert_eq!(
        p[0].origin,
        Origin::File {
            path: path(),
            line: 3
        }
    );
    assert_eq!(p[1].id, "gp_custom");
    assert!(!p[1].active);
    assert_eq!(
        p[1].rules,
        serde_json::json!(r#"{"paths": ["**/.env"], "action": "block"}"#)
    );
    assert_eq!(p[2].created_at.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(
        p[2].rules["expires_at"], "2099-01-01",
        "TOML dates become ISO strings"
    );
    assert_eq!(parsed.examples.len(), 2);
    assert_eq!(parsed.examples[0].tool, "Bash");
    assert!(lint(GOOD).is_empty(), "{:?}", lint(GOOD));
}

#[test]
fn lint_points_at_the_line_and_field() {
    let text = r#"[[policy]]
name = "no-prod"
policy_type = "risk_threshold"

[policy.rules]
action = "block"
threshold = "high"

[[policy]]
name = "paths"
policy_type = "protected_path"
rules.paths = ["ok/**", 7]
rules.treshold = 3

[[policy]]
name = "mystery"
policy_type = "quantum"

[[policy]]
name = "bad-test"
policy_type = "block_action_type"
[policy.rules]
action_types = ["deploy"]
[[policy.rules.tests]]
name = "t"
input = { action_type = "deploy" }
expect = { decision = "deny" }
"#;
    assert_eq!(
        lint(text),
        [
            "policies.toml:7: policy \"no-prod\" field rules.threshold: expected a number 0-100",
            "policies.toml:12: policy \"paths\" field rules.paths: expected a non-empty array of strings",
            "policies.toml:13: warning: policy \"paths\" field rules.treshold: not a field of protected_path; ignored",
            "policies.toml:17: policy \"mystery\" field policy_type: unknown policy_type \"quantum\"",
            "policies.toml:27: policy \"bad-test\" field rules.tests[0].expect.decision: expected one of allow, warn, allow_contained, require_approval, block",
        ]
    );
    let report = lint_str(&path(), text);
    assert_eq!((report.errors(), report.policies), (4, 4));
}

#[test]
fn a_broken_file_is_reported_whole() {
    // TOML syntax: the line of the error.
    let e = lint("[[policy]]\nname = \"x\"\npolicy_type = \n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("policies.toml:3: not valid TOML: "),
        "{e:?}"
    );

    let text = r#"[[policies]]
name = "typo"

[[policy]]
name = "a"
policy_type = "risk_threshold"
action = "block"
agent_ids = "claude-code"

[[policy]]
policy_type = "risk_threshold"

[[policy]]
name = "a"
policy_type = "risk_threshold"
active = "yes"
"#;
    assert_eq!(
        lint(text),
        [
            "policies.toml:1: field policies: unknown top-level key (expected [[policy]] or [[example]] tables)",
            "policies.toml:7: policy \"a\": unknown key \"action\" in [[policy]] (rule fields go in [policy.rules])",
            "policies.toml:8: policy \"a\" field agent_ids: agent_ids is not valid JSON (expected e.g. [\"claude-code\"])",
            "policies.toml:10: field name: missing",
            "policies.toml:16: policy \"a\" field active: expected true or false",
        ]
    );
    assert!(load_file(Path::new("/definitely/not/here.toml"))
        .unwrap()
        .is_none());
}

#[test]
fn duplicate_names_and_ids_break_the_file() {
    let text = "[[policy]]\nname = \"a\"\npolicy_type = \"x\"\n[[policy]]\nname = \"a\"\npolicy_type = \"x\"\n\
                [[policy]]\nid = \"i\"\nname = \"b\"\npolicy_type = \"x\"\n[[policy]]\nid = \"i\"\nname = \"c\"\npolicy_type = \"x\"\n";
    assert_eq!(
        lint(text),
        [
            "policies.toml:4: policy \"a\" field name: another policy already has this name",
            "policies.toml:11: policy \"c\" field id: another policy already has id \"i\"",
        ]
    );
}

#[test]
fn hostile_input_never_panics() {
    for text in [
        "", "\u{0}", "[[policy]]", "policy = 3", "[policy]\nname=1", "[[policy]]\nrules = 5\nname='a'\npolicy_type='risk_threshold'",
        "[[policy]]\nname='a'\npolicy_type='risk_threshold'\nrules.threshold = nan",
        "[[policy]]\nname='a'\npolicy_type='rate_limit'\nrules.max_actions = 99999999999999999999",
        "[[policy]]\nname='a'\npolicy_type='allow_grant'\nrules = '{\"action_type\":\"x\",\"expires_at\":\"2026-1\\u00e9\"}'",
        "[[example]]\ncommand = 3", "[[example]]\ntool='Bash'\ninput=3\nexpect='allow'",
        "[[policy]]\nname='t'\npolicy_type='warn_action_type'\nrules.action_types=['a']\nrules.tests=[1, {input={risk_score='x'}, expect='warn'}]",
    ] {
        let _ = lint(text);
        let _ = parse_file(&path(), text);
    }
}
