//! `risk_threshold`: fires when the call's risk score reaches the threshold.

use super::{Fields, PolicyType, Rule, RuleKind, ALL_ACTIONS};
use crate::policy::context::GuardContext;
use crate::policy::eval::{js_num, EvalEnv};
use crate::policy::model::{Policy, Severity};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["risk_threshold"],
    fields: &["threshold", "action"],
    compile,
    example: r#"{"threshold": 80, "action": "block"}"#,
};

#[derive(Debug, Clone, PartialEq)]
pub struct RiskThreshold {
    pub threshold: f64,
    pub action: Severity,
}

fn compile(_: &Policy, f: &mut Fields) -> Option<Rule> {
    let threshold = match f.number("threshold", 0.0, 100.0, "a number 0-100") {
        Some(n) => Some(n),
        None if !f.has("threshold") => {
            f.note("threshold", "missing; the server's default 80 applies");
            Some(80.0)
        }
        None => None,
    };
    let action = f.action(ALL_ACTIONS, Severity::Block);
    threshold
        .zip(action)
        .map(|(threshold, action)| Rule::new(RiskThreshold { threshold, action }))
}

impl RuleKind for RiskThreshold {
    fn evaluate(&self, _: &GuardContext, score: f64, _: &EvalEnv) -> Option<(Severity, String)> {
        (score >= self.threshold).then(|| {
            (
                self.action,
                format!(
                    "Risk score {} >= threshold {}",
                    js_num(score),
                    js_num(self.threshold)
                ),
            )
        })
    }
}
