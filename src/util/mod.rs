//! Small helpers every part of the daemon shares, each in one place: the clock and timestamp
//! formats ([`time`]), char-boundary-safe clipping of text ([`text`]) and the id schemes
//! ([`id`]).
//!
//! `text` is std only, so the classifier, the policy evaluator and the redaction engine can use
//! it (it moves with them into the `core` crate); `time` and `id` are the daemon's.

pub mod id;
pub mod text;
pub mod time;
