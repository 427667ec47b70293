//! The decision logic of dashclawd, without I/O beyond reading files: the agent-neutral event
//! model ([`event`]), the rule catalog ([`catalog`]), the classifier ([`classify`]), policies
//! ([`policy`]) and the secret engine ([`redact`]).
//!
//! No async runtime, no sockets, no HTTP, no SQLite (tests/it/workspace.rs checks the dependency
//! tree): the daemon does the I/O and calls in here.

pub mod catalog;
pub mod classify;
pub mod event;
pub mod policy;
pub mod redact;
pub mod util;
