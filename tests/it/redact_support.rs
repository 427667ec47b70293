//! Shared helpers for the redaction tests: expands the rule catalogue's sample templates into
//! generated keys, so that no real-looking credential is ever committed.
#![allow(dead_code)]

use std::ops::Range;

/// Alphabets per template class. None contains `x`/`X`, so a generated key never looks like an
/// `xxxx` placeholder (nor spells `example`).
pub fn alphabet(class: char) -> &'static str {
    match class {
        'a' => "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789",
        'A' => "ABCDEFGHIJKLMNOPQRSTUVWYZ0123456789",
        'Z' => "ABCDEFGHIJKLMNOPQRSTUVWYZ234567",
        'z' => "abcdefghijklmnopqrstuvwyz234567",
        'l' => "abcdefghijklmnopqrstuvwyz0123456789",
        'Q' => "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz",
        'h' => "0123456789abcdef",
        'H' => "0123456789ABCDEF",
        'd' => "0123456789",
        'b' => "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789+/",
        'u' => "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789-_",
        'E' => "QPZRY98GF2TVDW0S3JN54KHCE6MUA7L",
        'B' => "123456789ABCDEFGHJKLMNPQRSTUVWYZabcdefghijkmnopqrstuvwyz",
        _ => "?",
    }
}

/// Deterministic xorshift generator.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn string(&mut self, class: char, len: usize) -> String {
        let chars: Vec<char> = alphabet(class).chars().collect();
        (0..len)
            .map(|_| chars[(self.next() % chars.len() as u64) as usize])
            .collect()
    }
}

/// How generated characters are produced.
#[derive(Clone, Copy)]
pub enum Fill {
    Random(u64),
    /// Every generated character becomes `x` (a placeholder-looking key).
    Placeholder,
}

/// Expands a sample template: returns the text and the byte range of the secret (`«…»`).
pub fn expand(template: &str, fill: Fill) -> (String, Range<usize>) {
    let mut gen = Gen::new(match fill {
        Fill::Random(seed) => seed,
        Fill::Placeholder => 1,
    });
    let mut out = String::new();
    let (mut start, mut end) = (0, 0);
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '«' {
            start = out.len();
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '»' {
            end = out.len();
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '{' {
            if let Some((class, len, used)) = parse_gen(rest) {
                match fill {
                    Fill::Random(_) => out.push_str(&gen.string(class, len)),
                    Fill::Placeholder => out.push_str(&"x".repeat(len)),
                }
                rest = &rest[used..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, start..end)
}

/// `{c:n}` at the start of `s`: class, length, bytes used.
fn parse_gen(s: &str) -> Option<(char, usize, usize)> {
    let close = s.find('}')?;
    let inner = &s[1..close];
    let (class, len) = inner.split_once(':')?;
    let mut cs = class.chars();
    let class = cs.next()?;
    if cs.next().is_some() || alphabet(class) == "?" {
        return None;
    }
    Some((class, len.parse().ok()?, close + 1))
}

/// The sample with its secret cut to a third (keeping the start, e.g. the prefix).
pub fn truncated(template: &str, seed: u64) -> String {
    let (text, secret) = expand(template, Fill::Random(seed));
    let keep = (secret.len() / 3).min(12);
    let mut cut = secret.start + keep;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{}", &text[..cut], &text[secret.end..])
}

/// `text` without its `[REDACTED:…]` markers (a rule id may share characters with a secret).
pub fn strip_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("[REDACTED:") {
        out.push_str(&rest[..i]);
        match rest[i..].find(']') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
            }
        }
        out.push('\u{0}');
    }
    out.push_str(rest);
    out
}

/// Any run of `n` consecutive characters of `secret` (all of it when shorter) left in `out`,
/// markers aside.
pub fn leaks(out: &str, secret: &str, n: usize) -> bool {
    let out = strip_markers(out);
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(n.min(chars.len()).max(1))
        .any(|w| out.contains(&w.iter().collect::<String>()))
}
