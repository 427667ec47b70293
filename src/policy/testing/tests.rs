//! `policy test`: policy tests and `[[example]]` events run through the whole pipeline, and
//! hostile files that must not panic the runner.

use std::path::PathBuf;

use super::*;
use crate::policy::parse_file;

fn path() -> PathBuf {
    PathBuf::from("/cfg/policies.toml")
}

const GOOD: &str = include_str!("../../../crates/core/src/policy/file/good.toml");

#[test]
fn hostile_input_never_panics() {
    for text in [
        "", "\u{0}", "[[policy]]", "policy = 3", "[policy]\nname=1", "[[policy]]\nrules = 5\nname='a'\npolicy_type='risk_threshold'",
        "[[policy]]\nname='a'\npolicy_type='risk_threshold'\nrules.threshold = nan",
        "[[example]]\ncommand = 3", "[[example]]\ntool='Bash'\ninput=3\nexpect='allow'",
        "[[policy]]\nname='t'\npolicy_type='warn_action_type'\nrules.action_types=['a']\nrules.tests=[1, {input={risk_score='x'}, expect='warn'}]",
    ] {
        if let Ok(p) = parse_file(&path(), text) {
            let _ = run_tests(&p, 0, &plain_classify);
        }
    }
}

#[test]
fn policy_tests_and_examples_run() {
    let parsed = parse_file(&path(), GOOD).unwrap();
    let report = run_tests(&parsed, 0, &plain_classify);
    let summary: Vec<(String, bool, String)> = report
        .outcomes
        .iter()
        .map(|o| {
            (
                format!("{} / {}", o.subject, o.name),
                o.passed,
                o.got.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "policy \"deploys-need-approval\" / deploy asks".into(),
                true,
                "require_approval".into()
            ),
            (
                "policy \"deploys-need-approval\" / other agents are not scoped in".into(),
                true,
                "allow".into()
            ),
            ("example / force push".into(), true, "block".into()),
            ("example / plain write".into(), true, "allow".into()),
        ]
    );
    assert_eq!(report.failed(), 0);

    let failing = r#"
[[policy]]
name = "th"
policy_type = "risk_threshold"
rules = { threshold = 70, tests = [
  { name = "security is 80", input = { action_type = "security" }, expect = { decision = "block" } },
  { name = "wrong on purpose", input = { action_type = "review" }, expect = { decision = "block" } },
] }

[[policy]]
name = "broken"
policy_type = "webhook_check"
rules = { url = "https://x", tests = [ { input = { action_type = "x" }, expect = "allow" } ] }

[[example]]
name = "deploy-ish"
command = "rm -rf /"
expect = "warn"
"#;
    let report = run_tests(&parse_file(&path(), failing).unwrap(), 0, &plain_classify);
    let got: Vec<(bool, &str)> = report
        .outcomes
        .iter()
        .map(|o| (o.passed, o.got.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (true, "block"),
            (false, "allow"),
            (false, "cannot enforce"),
            (false, "block")
        ]
    );
    assert_eq!(
        report.outcomes[0].detail,
        ["th: Risk score 80 >= threshold 70"]
    );
    assert_eq!(report.outcomes[2].name, "test #1");
    assert_eq!(report.failed(), 3);
}
