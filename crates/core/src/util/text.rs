//! Clipping text to a size without splitting a character. Std only (used by `classify`,
//! `policy` and `redact` as well as the daemon).

use std::borrow::Cow;

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn clip_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    // A UTF-8 character is at most 4 bytes, so this steps back at most 3 times.
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The first `max` characters of `s` (all of it when shorter).
pub fn clip_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// `s` in at most `max` characters: when it is longer, its first `max - 1` and `…`, so a
/// reader sees that something was cut.
pub fn ellipsize(s: &str, max: usize) -> Cow<'_, str> {
    let kept = clip_chars(s, max);
    if kept.len() == s.len() {
        return Cow::Borrowed(s);
    }
    let mut out = clip_chars(kept, max.saturating_sub(1)).to_owned();
    out.push('…');
    Cow::Owned(out)
}

/// `s` clipped to at most `max` bytes (on a character boundary), with `…` added when cut: for
/// excerpts whose budget is in bytes.
pub fn ellipsize_bytes(s: &str, max: usize) -> Cow<'_, str> {
    let kept = clip_bytes(s, max);
    if kept.len() == s.len() {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(format!("{kept}…"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_never_split_a_character() {
        // "é" is 2 bytes, "€" 3, "𝄞" 4: every cut inside one steps back to its start.
        let s = "aé€𝄞b";
        let cuts: Vec<&str> = (0..=s.len() + 1).map(|n| clip_bytes(s, n)).collect();
        assert_eq!(
            cuts,
            [
                "",
                "a",
                "a",
                "aé",
                "aé",
                "aé",
                "aé€",
                "aé€",
                "aé€",
                "aé€",
                "aé€𝄞",
                "aé€𝄞b",
                "aé€𝄞b"
            ]
        );
        for n in 0..=s.len() {
            assert!(clip_bytes(s, n).len() <= n);
        }
        assert_eq!(clip_bytes("", 3), "");
    }

    #[test]
    fn chars_count_characters_not_bytes() {
        assert_eq!(clip_chars("aé€𝄞b", 3), "aé€");
        assert_eq!(clip_chars("aé€𝄞b", 0), "");
        assert_eq!(clip_chars("aé", 5), "aé");
        // Combining marks are characters of their own; the cut is still valid UTF-8.
        assert_eq!(clip_chars("e\u{301}x", 1), "e");
    }

    #[test]
    fn ellipsis_marks_a_cut_and_keeps_the_limit() {
        assert_eq!(ellipsize("short", 5), "short");
        assert!(matches!(ellipsize("short", 5), Cow::Borrowed(_)));
        assert_eq!(ellipsize("longer text", 5), "long…");
        assert_eq!(ellipsize("€€€€€€", 3), "€€…");
        assert_eq!(ellipsize("ab", 1), "…");
        assert_eq!(ellipsize("ab", 0), "…");
        for max in 1..12 {
            assert!(ellipsize("0123456789é", max).chars().count() <= max);
        }
        assert_eq!(ellipsize_bytes("aé€", 4), "aé…");
        assert_eq!(ellipsize_bytes("aé€", 6), "aé€");
        assert_eq!(ellipsize_bytes("aé€", 2), "a…");
    }
}
