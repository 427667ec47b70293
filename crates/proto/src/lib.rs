//! What `dashclaw-hook` and `dashclawd` share: the socket wire format ([`protocol`]), where
//! everything lives ([`paths`]), protected mode's `hook.conf` ([`protected`]) and the names of
//! agents and events on the hook's command line ([`event`]).
//!
//! Std, `libc` and `directories` only: the hook links this crate on every tool call, so nothing
//! heavier may come in (tests/it/workspace.rs checks the dependency tree).

pub mod event;
pub mod paths;
pub mod protected;
pub mod protocol;
