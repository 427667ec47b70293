//! `agent_allowlist`: fires when the call's action type is not on the agent's list.

use super::{Fields, PolicyType, Rule, RuleKind};
use crate::policy::context::GuardContext;
use crate::policy::eval::EvalEnv;
use crate::policy::model::{Policy, Severity};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["agent_allowlist"],
    fields: &["allowed_action_types", "action"],
    compile,
    example: r#"{"allowed_action_types": ["build", "test"], "action": "block"}"#,
};

#[derive(Debug, Clone, PartialEq)]
pub struct AgentAllowlist {
    pub allowed: Vec<String>,
    pub action: Severity,
}

fn compile(_: &Policy, f: &mut Fields) -> Option<Rule> {
    let allowed = f.string_list("allowed_action_types", true);
    let action = f.action(
        &[Severity::Warn, Severity::RequireApproval, Severity::Block],
        Severity::Warn,
    );
    allowed
        .zip(action)
        .map(|(allowed, action)| Rule::new(AgentAllowlist { allowed, action }))
}

impl RuleKind for AgentAllowlist {
    fn evaluate(&self, ctx: &GuardContext, _: f64, _: &EvalEnv) -> Option<(Severity, String)> {
        let at = ctx.action_type.as_str();
        (!at.is_empty() && !self.allowed.iter().any(|a| a == at)).then(|| {
            (
                self.action,
                format!("Action type \"{at}\" is outside the agent's allowlist"),
            )
        })
    }
}
