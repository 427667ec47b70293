//! dashclaw-sidecar: the agent-side runtime of DashClaw.
//!
//! `dashclaw-hook` (see [`client`]) is what an agent runs for each hook event; `dashclawd` (see
//! [`daemon`] and [`cli`]) decides and records. ARCHITECTURE.md has the map.
//!
//! The workspace crates are re-exported under their old module names, so `crate::classify::…`
//! and `dashclaw_sidecar::protocol::…` keep working: `dashclaw_proto` (wire format, paths,
//! protected mode), `dashclaw_hook` (the client) and `dashclaw_core` (event model, catalog,
//! classifier, policies, redaction).

pub use dashclaw_core::{catalog, classify, event, redact};
pub use dashclaw_hook as client;
pub use dashclaw_proto::{paths, protected, protocol};

/// The policy model and evaluator (`dashclaw_core::policy`), plus `policy test`, which runs
/// examples through the agent adapters and so lives here.
pub mod policy {
    pub use dashclaw_core::policy::*;
    pub mod testing;
    pub use testing::{run_tests, TestOutcome, TestReport};
}

pub mod agents;
pub mod approvals;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod guardian;
pub mod install;
pub mod ledger;
pub mod logging;
pub mod mcp;
pub mod outbox;
pub mod remote;
pub mod store;
pub mod transcript;
pub mod util;
