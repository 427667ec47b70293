//! Transcript streaming, the local half: learn a session's transcript file, notice when it
//! grows, read its complete new lines, sanitize them, and remember how far the server has them.
//!
//! The pieces, each usable alone:
//! - [`watch`]: "this file may have new data", from `notify` events on the file's directory,
//!   with a stat poll where events are unavailable (no inotify, watches exhausted).
//! - [`tail`]: complete new lines from a [`Cursor`], in bounded chunks.
//! - [`sanitize`]: each line reduced to metadata (default) or kept in full, then secret-redacted.
//! - [`cursor_store`]: the acknowledged cursor of every transcript, in SQLite.
//!
//! Why this shape:
//! - **The cursor moves only on acknowledgement.** The tailer's own position runs ahead; what is
//!   persisted is the position after the last batch the server accepted. A crash, a restart or a
//!   failed upload resends from there (the server de-duplicates re-sent records), so a line is
//!   never lost, only possibly sent twice.
//! - **A byte offset needs an identity.** An offset is meaningless once the file under the path
//!   changed, so a cursor carries the file's device and inode (catches rename-over, rotation,
//!   delete and re-create) and a hash of the first bytes already read (catches truncation and
//!   in-place rewrites that a size check would miss). Either mismatch restarts from offset 0 and
//!   says so ([`Reset`]).
//! - **No whole-file reads.** Transcripts reach hundreds of megabytes and live for days; upstream
//!   re-read the whole file at every turn. Here a read costs the chunk it returns: the file is
//!   read with positioned reads from the cursor, memory is bounded by the chunk size (one
//!   over-long line is the exception, capped at [`tail::MAX_LINE`]), and a partial last line is
//!   left for the next read, so a line is delivered once, whole, however it was written.
//! - **Redaction is not optional.** Even metadata (paths, branch names) goes through the secret
//!   engine, and metadata mode removes content by default-deny: unknown fields are blanked, not
//!   passed through.

pub mod cursor_store;
pub mod sanitize;
pub mod ship;
pub mod tail;
pub mod watch;

pub use cursor_store::{CursorStore, Stored};
pub use sanitize::{sanitize_line, sanitize_value, Malformed, Mode};
pub use tail::{Chunk, Cursor, Reset, Tailer, HEAD_LEN, MAX_LINE};
pub use watch::{WatchMode, Watcher, DEFAULT_POLL_INTERVAL};
