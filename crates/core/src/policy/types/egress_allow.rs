//! `egress_allow` (local type): hosts (exact, or `*.suffix`) data may be sent to without
//! `exfil-upload` approval. Never fires itself and never lowers `exfil-flow`: secrets do not
//! leave for any host. The policy store hands the hosts to the classifier.

use super::{Fields, PolicyType, Rule, RuleKind};
use crate::policy::model::Policy;

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["egress_allow"],
    fields: &["hosts"],
    compile,
    example: r#"{"hosts": ["api.example.com", "*.internal.example.com"]}"#,
};

#[derive(Debug, Clone, PartialEq)]
pub struct EgressAllow {
    /// Lower-cased.
    pub hosts: Vec<String>,
}

fn compile(_: &Policy, f: &mut Fields) -> Option<Rule> {
    let hosts = f.string_list("hosts", true)?;
    let bad = hosts.iter().find(|h| {
        h.is_empty()
            || h.contains(['/', ' ', '@'])
            || (h.contains('*') && (!h.starts_with("*.") || h[2..].contains('*')))
            || *h == "*."
    });
    match bad {
        Some(h) => {
            f.error(
                "hosts",
                &format!("\"{h}\" is not a host or `*.domain` glob"),
            );
            None
        }
        None => Some(Rule::new(EgressAllow {
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        })),
    }
}

impl RuleKind for EgressAllow {}
