//! `require_approval`, `block_action_type`, `warn_action_type`: the three action-type lists,
//! each deciding its own verdict when the call's action type is listed.

use super::{Fields, PolicyType, Rule, RuleKind};
use crate::policy::context::GuardContext;
use crate::policy::eval::{target_prefix_matches, EvalEnv};
use crate::policy::model::{Policy, Severity};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["require_approval", "block_action_type", "warn_action_type"],
    fields: &["action_types", "target_prefix", "action"],
    compile,
    example: r#"{"action_types": ["deploy"], "target_prefix": "prod.example.com"}"#,
};

/// Which of the three action-type list policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    RequireApproval,
    Block,
    Warn,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionTypes {
    pub kind: ListKind,
    pub action_types: Vec<String>,
    pub target_prefix: Option<String>,
}

fn compile(policy: &Policy, f: &mut Fields) -> Option<Rule> {
    let t = policy.policy_type.as_str();
    let kind = match t {
        "require_approval" => ListKind::RequireApproval,
        "block_action_type" => ListKind::Block,
        _ => ListKind::Warn,
    };
    if f.has("action") {
        f.note(
            "action",
            &format!("ignored: {t} always decides its own verdict"),
        );
    }
    let action_types = f.string_list("action_types", true);
    let target_prefix = f.opt_string("target_prefix", 256);
    action_types
        .zip(target_prefix)
        .map(|(action_types, target_prefix)| {
            Rule::new(ActionTypes {
                kind,
                action_types,
                // An empty prefix does not narrow (the server tests it for truthiness).
                target_prefix: target_prefix.filter(|p| !p.is_empty()),
            })
        })
}

impl RuleKind for ActionTypes {
    fn evaluate(&self, ctx: &GuardContext, _: f64, _: &EvalEnv) -> Option<(Severity, String)> {
        let at = ctx.action_type.as_str();
        if !self.action_types.iter().any(|t| t == at) {
            return None;
        }
        if let Some(prefix) = &self.target_prefix {
            if !target_prefix_matches(prefix, ctx) {
                return None;
            }
        }
        Some(match self.kind {
            ListKind::RequireApproval => (
                Severity::RequireApproval,
                format!("Action type \"{at}\" requires approval"),
            ),
            ListKind::Block => (
                Severity::Block,
                format!("Action type \"{at}\" is blocked by policy"),
            ),
            ListKind::Warn => (
                Severity::Warn,
                format!("Action type \"{at}\" recorded for review"),
            ),
        })
    }
}
