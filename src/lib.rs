//! dashclaw-sidecar: the agent-side runtime of DashClaw.
//!
//! `dashclaw-hook` (see [`client`]) is what an agent runs for each hook event; `dashclawd` (see
//! [`daemon`] and [`cli`]) decides and records. ARCHITECTURE.md has the map.

pub mod agents;
pub mod approvals;
pub mod catalog;
pub mod classify;
pub mod cli;
pub mod client;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod event;
pub mod guardian;
pub mod install;
pub mod ledger;
pub mod logging;
pub mod mcp;
pub mod outbox;
pub mod paths;
pub mod policy;
pub mod protected;
pub mod protocol;
pub mod redact;
pub mod remote;
pub mod store;
pub mod transcript;
pub mod util;
