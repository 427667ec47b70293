//! PLACEHOLDER until the classifier lands.
use crate::event::{Classification, HookEvent, Intent};
pub struct ClassifyContext<'a> {
    pub workspace: &'a str,
    pub home: Option<&'a str>,
}
pub fn classify(event: &HookEvent, _ctx: &ClassifyContext) -> Classification {
    Classification {
        intent: Intent::Readonly,
        risk_score: 5,
        action_type: "review",
        reversible: true,
        targets: vec![],
        findings: vec![],
        summary: event
            .tool
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default(),
    }
}
pub fn classify_command(command: &str, _ctx: &ClassifyContext) -> Classification {
    Classification {
        intent: Intent::Readonly,
        risk_score: 5,
        action_type: "review",
        reversible: true,
        targets: vec![],
        findings: vec![],
        summary: format!("Bash: {command}"),
    }
}
