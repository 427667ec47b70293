//! `green_contract`: for the listed action types, fires when the observed test level is
//! missing or below the required one.

use super::{Fields, PolicyType, Rule, RuleKind, ALL_ACTIONS};
use crate::policy::context::GuardContext;
use crate::policy::eval::EvalEnv;
use crate::policy::model::{Policy, Severity};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["green_contract"],
    fields: &["required_level", "action_types", "action"],
    compile,
    example: r#"{"required_level": "package", "action_types": ["deploy"]}"#,
};

const LEVELS: &[&str] = &["targeted", "package", "workspace", "merge_ready"];

#[derive(Debug, Clone, PartialEq)]
pub struct GreenContract {
    pub required_level: String,
    pub action_types: Vec<String>,
    pub action: Severity,
}

fn compile(_: &Policy, f: &mut Fields) -> Option<Rule> {
    let level = f.one_of("required_level", LEVELS, true);
    let action_types = f.string_list("action_types", true);
    let action = f.action(ALL_ACTIONS, Severity::Block);
    match (level, action_types, action) {
        (Some(required_level), Some(action_types), Some(action)) => {
            Some(Rule::new(GreenContract {
                required_level,
                action_types,
                action,
            }))
        }
        _ => None,
    }
}

/// A level's rank; unknown levels rank below all.
fn rank(level: &str) -> i32 {
    LEVELS
        .iter()
        .position(|l| *l == level)
        .map_or(-1, |i| i as i32)
}

impl RuleKind for GreenContract {
    fn evaluate(&self, ctx: &GuardContext, _: f64, _: &EvalEnv) -> Option<(Severity, String)> {
        if !self.action_types.contains(&ctx.action_type) {
            return None;
        }
        let required = &self.required_level;
        let observed = ctx
            .intel
            .green
            .as_ref()
            .and_then(|g| g.observed_level.as_deref())
            .filter(|o| !o.is_empty());
        match observed {
            None => Some((
                self.action,
                format!("Green contract: no test status reported, {required} required"),
            )),
            Some(o) => (rank(o) < rank(required)).then(|| {
                (
                    self.action,
                    format!("Green contract: observed {o}, required {required}"),
                )
            }),
        }
    }
}
