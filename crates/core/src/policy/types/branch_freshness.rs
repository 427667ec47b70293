//! `branch_freshness`: for the listed action types, fires when the branch facts say it is
//! stale (or diverged) and far enough behind.

use super::{Fields, PolicyType, Rule, RuleKind, ALL_ACTIONS};
use crate::policy::context::GuardContext;
use crate::policy::eval::{js_num, EvalEnv};
use crate::policy::model::{Policy, Severity};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["branch_freshness"],
    fields: &["action_types", "freshness", "max_commits_behind", "action"],
    compile,
    example: r#"{"action_types": ["deploy"], "freshness": ["stale"], "max_commits_behind": 5}"#,
};

#[derive(Debug, Clone, PartialEq)]
pub struct BranchFreshness {
    pub action_types: Vec<String>,
    pub freshness: Vec<String>,
    pub max_commits_behind: f64,
    pub action: Severity,
}

fn compile(_: &Policy, f: &mut Fields) -> Option<Rule> {
    let action_types = f.string_list("action_types", true);
    let freshness = if f.present("freshness") {
        f.string_list("freshness", false)
    } else {
        Some(vec!["stale".into(), "diverged".into()])
    };
    let max_behind = if f.present("max_commits_behind") {
        f.number("max_commits_behind", 0.0, f64::MAX, "a number >= 0")
    } else {
        Some(0.0)
    };
    let action = f.action(ALL_ACTIONS, Severity::Block);
    match (action_types, freshness, max_behind, action) {
        (Some(action_types), Some(freshness), Some(max_commits_behind), Some(action)) => {
            Some(Rule::new(BranchFreshness {
                action_types,
                freshness,
                max_commits_behind,
                action,
            }))
        }
        _ => None,
    }
}

impl RuleKind for BranchFreshness {
    fn evaluate(&self, ctx: &GuardContext, _: f64, _: &EvalEnv) -> Option<(Severity, String)> {
        if !self.action_types.contains(&ctx.action_type) {
            return None;
        }
        let branch = ctx.intel.branch.as_ref()?;
        let state = branch.freshness.as_deref()?;
        let behind = branch.commits_behind.unwrap_or(0.0);
        (self.freshness.iter().any(|f| f == state) && behind > self.max_commits_behind).then(|| {
            (
                self.action,
                format!(
                    "Branch {} is {state} ({} commits behind)",
                    branch
                        .name
                        .as_deref()
                        .filter(|n| !n.is_empty())
                        .unwrap_or("unknown"),
                    branch.commits_behind.map_or("undefined".into(), js_num)
                ),
            )
        })
    }
}
