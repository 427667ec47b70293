//! `policy test`: the `rules.tests` a DashClaw policy carries
//! (`[{name, input:{…guard context…}, expect:{decision}}]`), run against that policy alone as
//! the server's `POST /api/policies/test` does, plus the file's `[[example]]` hook events,
//! run through the whole pipeline (classifier, built-in pack, every policy).

use serde::Serialize;
use serde_json::json;

use super::context::GuardContext;
use super::eval::{evaluate, EvalEnv};
use super::file::{Example, ParsedFile};
use super::model::{FileState, PolicySet};
use crate::agents::{adapter_for, HookContext};
use crate::event::{Agent, EventKind};
pub use dashclaw_core::policy::tests_spec::{parse_tests, PolicyTest};

/// The result of one test or example.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestOutcome {
    /// `policy "<name>"` or `example`.
    pub subject: String,
    pub name: String,
    pub line: Option<usize>,
    pub passed: bool,
    pub expected: String,
    pub got: String,
    /// Reasons and warnings of the evaluation, or why it could not run.
    pub detail: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TestReport {
    pub outcomes: Vec<TestOutcome>,
}

impl TestReport {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.passed).count()
    }
}

/// Runs every policy's `rules.tests` and every `[[example]]` of a parsed file.
/// `classify` is the daemon's own classification (`engine::classify_event` with this
/// installation's protected locations), so an example's verdict is the one a hook would get.
pub fn run_tests(
    parsed: &ParsedFile,
    now_ms: u64,
    classify: &dyn Fn(&crate::event::HookEvent) -> crate::event::Classification,
) -> TestReport {
    let env = EvalEnv {
        now_ms,
        rate: None,
        include_server: true,
    };
    let mut report = TestReport::default();
    for p in &parsed.policies {
        let line = match &p.origin {
            super::model::Origin::File { line, .. } => Some(*line),
            _ => None,
        };
        let Ok(rules) = super::types::rules_object(&p.rules) else {
            continue;
        };
        let (tests, _) = parse_tests(&rules);
        if tests.is_empty() {
            continue;
        }
        // A test exercises the policy as written, switched on, on its own.
        let mut alone = p.clone();
        alone.active = true;
        let set = PolicySet::new(vec![alone], FileState::Loaded, Vec::new());
        let why_not = set.policies[0].cannot_enforce_reason().map(str::to_owned);
        for t in tests {
            let subject = format!("policy \"{}\"", p.name);
            let outcome = match &why_not {
                Some(why) => TestOutcome {
                    subject,
                    name: t.name,
                    line,
                    passed: false,
                    expected: t.expect.as_str().into(),
                    got: "cannot enforce".into(),
                    detail: vec![why.clone()],
                },
                None => {
                    let ev = evaluate(&set, &t.input, &[], &env);
                    TestOutcome {
                        subject,
                        name: t.name,
                        line,
                        passed: ev.severity.to_verdict() == t.expect.to_verdict(),
                        expected: t.expect.as_str().into(),
                        got: ev.severity.as_str().into(),
                        detail: ev.reasons.iter().chain(&ev.warnings).cloned().collect(),
                    }
                }
            };
            report.outcomes.push(outcome);
        }
    }
    if !parsed.examples.is_empty() {
        let mut all = super::builtin_policies();
        all.extend(parsed.policies.iter().cloned());
        let set = PolicySet::new(all, FileState::Loaded, Vec::new());
        for ex in &parsed.examples {
            report.outcomes.push(run_example(&set, ex, &env, classify));
        }
    }
    report
}

/// Runs one example hook event through the real pipeline (Claude Code's adapter).
fn run_example(
    set: &PolicySet,
    ex: &Example,
    env: &EvalEnv,
    classify: &dyn Fn(&crate::event::HookEvent) -> crate::event::Classification,
) -> TestOutcome {
    let cwd = ex.cwd.clone().unwrap_or_else(|| "/workspace".into());
    let mut body = json!({
        "session_id": "policy-test",
        "cwd": cwd,
        "hook_event_name": "PreToolUse",
        "tool_name": ex.tool,
        "tool_input": ex.input,
        "tool_use_id": "policy-test",
    });
    if let Some(t) = &ex.agent_type {
        body["agent_type"] = json!(t);
        body["agent_id"] = json!("policy-test-subagent");
    }
    let ctx = HookContext {
        cwd: cwd.clone(),
        env: Vec::new(),
    };
    let fail = |why: String| TestOutcome {
        subject: "example".into(),
        name: ex.name.clone(),
        line: Some(ex.line),
        passed: false,
        expected: ex.expect.as_str().into(),
        got: "error".into(),
        detail: vec![why],
    };
    let event = match adapter_for(Agent::Claude).normalize(
        EventKind::PreToolUse,
        body.to_string().as_bytes(),
        &ctx,
    ) {
        Ok(e) => e,
        Err(e) => return fail(format!("the example is not a valid hook event: {e}")),
    };
    let c = classify(&event);
    let agent_id = ex
        .agent_id
        .as_deref()
        .unwrap_or(super::default_agent_id(Agent::Claude));
    let gctx = GuardContext::from_event(&event, &c, agent_id);
    let ev = evaluate(set, &gctx, &c.findings, env);
    TestOutcome {
        subject: "example".into(),
        name: ex.name.clone(),
        line: Some(ex.line),
        passed: ev.decision.verdict == ex.expect.to_verdict(),
        expected: ex.expect.as_str().into(),
        got: ev.decision.verdict.as_str().into(),
        detail: ev.decision.reasons.clone(),
    }
}

/// The classifier alone with built-in protected locations, for callers without an
/// installation (unit tests).
pub fn plain_classify(ev: &crate::event::HookEvent) -> crate::event::Classification {
    crate::classify::classify(ev, &crate::classify::ClassifyContext::new(&ev.cwd, None))
}

#[cfg(test)]
mod tests;
