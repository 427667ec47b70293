//! `rate_limit`: fires when the agent already had `max_actions` guard evaluations in the
//! window.

use super::{Fields, PolicyType, Rule, RuleKind, ALL_ACTIONS};
use crate::policy::context::GuardContext;
use crate::policy::eval::{js_num, EvalEnv};
use crate::policy::model::{Policy, Severity};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["rate_limit"],
    fields: &["max_actions", "window_minutes", "action"],
    compile,
    example: r#"{"max_actions": 100, "window_minutes": 10, "action": "require_approval"}"#,
};

#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit {
    pub max_actions: f64,
    pub window_minutes: u64,
    pub action: Severity,
}

fn compile(_: &Policy, f: &mut Fields) -> Option<Rule> {
    let max_actions = if f.present("max_actions") {
        f.number("max_actions", f64::MIN_POSITIVE, f64::MAX, "a number > 0")
    } else {
        f.note("max_actions", "missing; the server's default 50 applies");
        Some(50.0)
    };
    let window_minutes = if f.present("window_minutes") {
        f.number("window_minutes", 1.0, f64::MAX, "a number of minutes >= 1")
            .map(|w| {
                if w > 10_080.0 {
                    f.note("window_minutes", "clamped to 10080 (one week)");
                }
                // The server takes the integer part, clamped to 1..=10080.
                (w.trunc() as u64).clamp(1, 10_080)
            })
    } else {
        f.note("window_minutes", "missing; the server's default 60 applies");
        Some(60)
    };
    let action = f.action(ALL_ACTIONS, Severity::Warn);
    match (max_actions, window_minutes, action) {
        (Some(max_actions), Some(window_minutes), Some(action)) => Some(Rule::new(RateLimit {
            max_actions,
            window_minutes,
            action,
        })),
        _ => None,
    }
}

impl RuleKind for RateLimit {
    fn evaluate(&self, ctx: &GuardContext, _: f64, env: &EvalEnv) -> Option<(Severity, String)> {
        let agent = ctx.agent()?;
        let rate = env.rate?;
        let since = env.now_ms.saturating_sub(self.window_minutes * 60_000);
        let count = rate.count_since(agent, since);
        (count as f64 >= self.max_actions).then(|| {
            (
                self.action,
                format!(
                    "Agent made {count} guard evaluations in {}min (limit: {})",
                    self.window_minutes,
                    js_num(self.max_actions)
                ),
            )
        })
    }

    fn rate_history(&self) -> Option<usize> {
        Some(self.max_actions.ceil() as usize)
    }
}
