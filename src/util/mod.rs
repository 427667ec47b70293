//! Small helpers every part of the daemon shares, each in one place: the clock and timestamp
//! formats ([`time`]), char-boundary-safe clipping of text ([`text`]) and the id schemes
//! ([`id`]).
//!
//! `text` and the clock live in `dashclaw_core::util` (std only, so the classifier, the policy
//! evaluator and the redaction engine use them too); `time`'s formats and `id` are the daemon's.

pub use dashclaw_core::util::text;
pub mod id;
pub mod time;
