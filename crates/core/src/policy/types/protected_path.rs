//! `protected_path`: fires when the target or a written path matches one of the globs.

use super::{Fields, PolicyType, Rule, RuleKind, ALL_ACTIONS};
use crate::policy::context::GuardContext;
use crate::policy::eval::EvalEnv;
use crate::policy::glob::{matches_any, Glob};
use crate::policy::model::{Policy, Severity};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["protected_path"],
    fields: &["paths", "action"],
    compile,
    example: r#"{"paths": ["**/.env", "/etc/**"], "action": "block"}"#,
};

#[derive(Debug, Clone)]
pub struct ProtectedPath {
    pub globs: Vec<Glob>,
    pub action: Severity,
}

fn compile(_: &Policy, f: &mut Fields) -> Option<Rule> {
    let globs = f.string_list("paths", true).and_then(|paths| {
        if let Some(i) = paths.iter().position(|p| p.chars().count() > 256) {
            f.error(&format!("paths[{i}]"), "longer than 256 characters");
            return None;
        }
        let globs: Vec<Glob> = paths.iter().filter_map(|p| Glob::new(p)).collect();
        if globs.is_empty() {
            f.error("paths", "expected at least one non-empty glob");
            return None;
        }
        Some(globs)
    });
    let action = f.action(ALL_ACTIONS, Severity::RequireApproval);
    globs
        .zip(action)
        .map(|(globs, action)| Rule::new(ProtectedPath { globs, action }))
}

impl RuleKind for ProtectedPath {
    fn evaluate(&self, ctx: &GuardContext, _: f64, _: &EvalEnv) -> Option<(Severity, String)> {
        ctx.target
            .iter()
            .filter(|t| !t.is_empty())
            .chain(ctx.write_paths.iter())
            .find(|p| matches_any(p, &self.globs))
            .map(|hit| (self.action, format!("Protected path touched: {hit}")))
    }
}
