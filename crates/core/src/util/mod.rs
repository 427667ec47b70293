//! Std-only helpers the core and the daemon share: char-boundary-safe clipping of text
//! ([`text`]) and the clock ([`time`]).

pub mod text;
pub mod time;
