//! The rule catalog: every built-in rule of the classifier and the default policy pack, in one
//! place and one shape.
//!
//! A rule is data: an id (stable, used by `builtin_finding` policies and the ledger), a family,
//! a tier (the default verdict), the explanation a human reads, the safer alternative the model
//! reads, and examples: calls that must fire it and near misses that must not. `tests/catalog.rs`
//! runs every example through the same classifier and pack the daemon uses, so a rule cannot
//! exist without proof that it works and that it leaves its look-alikes alone.
//!
//! The catalog sits below `classify` (which raises findings of these rules) and `policy` (which
//! turns them into DashClaw policies of type `builtin_finding`); it depends on neither.
//!
//! Example notation: a plain string is a Bash command; `@Write <path>|<content>`,
//! `@Read <path>` are file-tool calls.

mod admin;
mod execution;
mod filesystem;
mod git;
mod infra;
mod network;
mod self_protection;
mod system;

use crate::event::{Finding, Verdict};

/// What a rule is about, for listing and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Filesystem,
    Git,
    /// Shells, interpreters, obfuscation: code whose effect must be seen through.
    Execution,
    System,
    Infra,
    Cloud,
    Data,
    Network,
    SelfProtection,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Filesystem => "filesystem",
            Family::Git => "git",
            Family::Execution => "execution",
            Family::System => "system",
            Family::Infra => "infra",
            Family::Cloud => "cloud",
            Family::Data => "data",
            Family::Network => "network",
            Family::SelfProtection => "self-protection",
        }
    }
}

/// One built-in rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub family: Family,
    /// The default verdict (a user or server policy may only raise it).
    pub verdict: Verdict,
    /// What the rule catches and why it matters, for humans (`policy list`, docs).
    pub explanation: &'static str,
    /// What the model should do instead, shown with the verdict.
    pub suggestion: &'static str,
    /// Calls that must raise this rule.
    pub fires: &'static [&'static str],
    /// Look-alikes that must not raise it.
    pub near_misses: &'static [&'static str],
}

impl Rule {
    /// A finding of this rule with a call-specific reason.
    pub fn finding(&self, reason: impl Into<String>) -> Finding {
        Finding {
            rule: self.id,
            verdict: self.verdict,
            reason: reason.into(),
            suggestion: Some(self.suggestion.to_owned()),
            flow: None,
        }
    }
}

/// Every rule, by family.
pub static FAMILIES: &[&[Rule]] = &[
    filesystem::FILESYSTEM_RULES,
    git::GIT_RULES,
    execution::EXECUTION_RULES,
    system::SYSTEM_RULES,
    infra::INFRA_RULES,
    network::NETWORK_RULES,
    self_protection::SELF_PROTECTION_RULES,
    admin::ADMIN_RULES,
];

/// Every rule, in catalog order.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// The rule with this id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    all().find(|r| r.id == id)
}

/// The rules as constants, for the code that raises them (`rules::RM_ROOT.finding(…)`).
pub mod rules {
    pub use super::admin::*;
    pub use super::execution::*;
    pub use super::filesystem::*;
    pub use super::git::*;
    pub use super::infra::*;
    pub use super::network::*;
    pub use super::self_protection::*;
    pub use super::system::*;
}

/// The catalog as Markdown tables, one per family (docs/classifier.md embeds this between
/// `<!-- catalog -->` markers; a test keeps the two equal).
pub fn markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let families = [
        Family::Filesystem,
        Family::Git,
        Family::Execution,
        Family::System,
        Family::Infra,
        Family::Cloud,
        Family::Data,
        Family::Network,
        Family::SelfProtection,
    ];
    for fam in families {
        let rules: Vec<&Rule> = all().filter(|r| r.family == fam).collect();
        if rules.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n#### {}\n", fam.as_str());
        let _ = writeln!(out, "| rule | tier | catches | instead | e.g. |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for r in rules {
            let example = r
                .fires
                .first()
                .map(|e| format!("`{}`", e.replace('|', "\\|").replace('`', "'")))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                r.id,
                r.verdict.as_str(),
                r.explanation.replace('|', "\\|"),
                r.suggestion.replace('|', "\\|"),
                example
            );
        }
    }
    out
}
