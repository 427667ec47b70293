//! What every agent's transcript parsing produces ([`Usage`]) and the parts they share. Each
//! agent's own format is read in `agents/<agent>/transcript.rs`, reached through
//! [`super::Integration::turn`]; the daemon attributes the turn's tokens to its actions at Stop
//! (`remote/deliver.rs`) and `dashclawd ingest backfill` uploads past sessions.

use std::path::PathBuf;

use serde_json::Value;

/// Where an agent keeps its transcripts on disk, for `dashclawd ingest backfill`.
pub struct TranscriptFiles {
    /// Searched recursively for `*.jsonl` files.
    pub root: PathBuf,
    /// Which file names (`*.jsonl`) are transcripts.
    pub keep: fn(&str) -> bool,
}

/// Token usage of one turn, from an agent transcript's new lines.
#[derive(Debug, Default, PartialEq)]
pub struct Usage {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub model: Option<String>,
    /// `ASSUMPTIONS I'M MAKING:` items of the turn's assistant text.
    pub assumptions: Vec<String>,
    /// Where the next turn starts (after the last complete line).
    pub end_offset: Option<u64>,
    /// The turn as an `ingest-live` body (Codex), without session and project.
    pub live: Option<Value>,
}

/// The `N. item` lines after an exact `ASSUMPTIONS I'M MAKING:` header (at most 5).
pub fn assumptions_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim() != "ASSUMPTIONS I'M MAKING:" {
            continue;
        }
        for item in lines.by_ref() {
            let t = item.trim();
            let Some((num, rest)) = t.split_once(". ") else {
                break;
            };
            if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit()) {
                break;
            }
            out.push(rest.trim().to_owned());
            if out.len() == 5 {
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumptions_are_extracted() {
        let t =
            "Plan:\nASSUMPTIONS I'M MAKING:\n1. the db is staging\n2. tests are green\nThen more";
        assert_eq!(assumptions_in(t), ["the db is staging", "tests are green"]);
        assert!(assumptions_in("ASSUMPTIONS:\n1. x").is_empty());
    }
}
