//! `builtin_finding` (local type): a rule of the built-in pack; fires when the classifier
//! reports a finding of `rule`. In the user's file it can only raise that rule's verdict. The
//! evaluator matches these against the findings first (`eval.rs`), not per call like the rest.

use super::{Fields, PolicyType, Rule, RuleKind, ALL_ACTIONS};
use crate::policy::model::{Origin, Policy, Severity};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["builtin_finding"],
    fields: &["rule", "action", "suggestion"],
    compile,
    example: r#"{"rule": "git-clean", "action": "block"}"#,
};

#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinFinding {
    pub rule: String,
    pub action: Severity,
}

fn compile(policy: &Policy, f: &mut Fields) -> Option<Rule> {
    let rule = f.required_string("rule");
    if let Some(r) = &rule {
        if crate::catalog::by_id(r.as_str()).is_none() {
            f.error(
                "rule",
                &format!("no built-in rule \"{r}\" (see `dashclawd policy list`)"),
            );
        }
    }
    // Present, even as null (which then means the default).
    let action = match (&policy.origin, f.has("action")) {
        (_, true) => f.action(ALL_ACTIONS, Severity::Block),
        (Origin::Builtin, false) => Some(Severity::Allow),
        (_, false) => {
            f.error(
                "action",
                "required: the verdict this built-in rule should raise to",
            );
            None
        }
    };
    rule.zip(action)
        .map(|(rule, action)| Rule::new(BuiltinFinding { rule, action }))
}

impl RuleKind for BuiltinFinding {}
