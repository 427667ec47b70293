//! The id schemes, in one place: the server's action ids, random UUIDs, the approval codes
//! people type, and the local fallback for an event that came without an id.

use std::io::Read;

use anyhow::{Context, Result};

/// A new action id in the server's scheme (`act_<uuid v4>`), for rows this daemon creates.
pub fn action_id() -> String {
    format!("act_{}", uuid::Uuid::new_v4())
}

/// A random UUID (v4), hyphenated: attempt ids, idempotency keys.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `n` random symbols of `alphabet` (32 symbols) from the OS random source: approval ids and
/// confirmation codes.
pub fn random_code(n: usize, alphabet: &[u8; 32]) -> Result<String> {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    // 256 is a multiple of 32, so masking keeps the symbols uniform.
    Ok(bytes
        .iter()
        .map(|b| alphabet[(b & 31) as usize] as char)
        .collect())
}

/// A process-local id for an event that arrived without one: unique per daemon (time in
/// microseconds and pid), not random.
pub fn local_id() -> String {
    format!("{:x}-{:x}", super::time::now_us(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        let a = action_id();
        assert!(a.starts_with("act_") && a.len() == 40, "{a}");
        assert_ne!(action_id(), a);
        assert_eq!(uuid().len(), 36);
        let code = random_code(64, b"abcdefghijklmnopqrstuvwxyz234567").unwrap();
        assert_eq!(code.len(), 64);
        assert!(code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
        assert!(local_id().ends_with(&format!("-{:x}", std::process::id())));
    }
}
