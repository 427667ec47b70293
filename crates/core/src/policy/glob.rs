//! `protected_path` glob matching, exactly as the DashClaw server does it
//! (dashclaw-server-api.md §3.1), so a cached policy fires locally on the same paths.
//!
//! - Candidates and patterns are normalised: trimmed, `\` → `/`, a `C:/` drive prefix → `/`,
//!   leading `./` stripped (repeatedly).
//! - Globs are anchored. `**` (and `**/`, which swallows the slash) matches anything, `/`
//!   included; `*` matches within one segment; every other character is literal.
//! - A pattern that starts with neither `**` nor `/` is also tried as `**/<pattern>`, which
//!   makes it a suffix match (`middleware.js` matches `app/x/middleware.js`).
//!
//! One consequence of "`**/` swallows the slash" that the server has too: `**/auth.js` also
//! matches `oauth.js`. We keep it: a local evaluator must never be laxer than the server.

use regex::Regex;

/// One compiled pattern (plus its suffix form when the server tries one).
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: String,
    exact: Regex,
    suffix: Option<Regex>,
}

impl Glob {
    /// Compiles a pattern. `None` for an empty pattern, which the server skips.
    pub fn new(pattern: &str) -> Option<Glob> {
        if pattern.is_empty() {
            return None;
        }
        // The suffix rule looks at the raw pattern, before normalisation (as the server does).
        let suffix = (!pattern.starts_with("**") && !pattern.starts_with('/'))
            .then(|| to_regex(&format!("**/{pattern}")));
        Some(Glob {
            pattern: pattern.to_owned(),
            exact: to_regex(pattern),
            suffix,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether an already normalised candidate matches.
    fn matches_normalized(&self, candidate: &str) -> bool {
        self.exact.is_match(candidate)
            || self.suffix.as_ref().is_some_and(|s| s.is_match(candidate))
    }

    /// Whether a raw candidate path matches.
    pub fn matches(&self, candidate: &str) -> bool {
        let norm = normalize(candidate);
        !norm.is_empty() && self.matches_normalized(&norm)
    }
}

/// True when `candidate` matches any of `globs`.
pub fn matches_any(candidate: &str, globs: &[Glob]) -> bool {
    let norm = normalize(candidate);
    !norm.is_empty() && globs.iter().any(|g| g.matches_normalized(&norm))
}

/// The server's path normalisation.
pub fn normalize(path: &str) -> String {
    let mut s = path.trim().replace('\\', "/");
    let b = s.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
        s.replace_range(..3, "/");
    }
    let mut rest = s.as_str();
    while let Some(r) = rest.strip_prefix("./") {
        rest = r;
    }
    rest.to_owned()
}

fn to_regex(glob: &str) -> Regex {
    let g = normalize(glob);
    let mut re = String::with_capacity(g.len() * 2 + 2);
    re.push('^');
    let mut chars = g.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            c => {
                let mut buf = [0u8; 4];
                re.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            }
        }
    }
    re.push('$');
    // Every character is either escaped or one of two fixed fragments, and patterns are
    // length-capped by the rule validator, so this cannot fail; an unmatchable regex is the
    // fail-safe answer if it ever did.
    Regex::new(&re).unwrap_or_else(|_| Regex::new("[^\\s\\S]").expect("static regex"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).is_some_and(|g| g.matches(path))
    }

    #[test]
    fn normalisation_of_candidates() {
        assert_eq!(normalize(r"C:\Users\me\.env"), "/Users/me/.env");
        assert_eq!(normalize("c:/x"), "/x");
        assert_eq!(normalize("././src/a.rs"), "src/a.rs");
        assert_eq!(normalize("  src/a.rs \n"), "src/a.rs");
        // Only a leading `./` and only a drive at the very start.
        assert_eq!(normalize("a/./b"), "a/./b");
        assert_eq!(normalize("xC:/y"), "xC:/y");
    }

    /// The matching table every rule of §3.1 is read from.
    #[test]
    fn glob_semantics_table() {
        let cases: &[(&str, &str, bool)] = &[
            // anchored, literal
            ("src/main.rs", "src/main.rs", true),
            ("src/main.rs", "src/main.rsx", false),
            ("/etc/passwd", "/etc/passwd", true),
            ("/etc/passwd", "/x/etc/passwd", false),
            // `*` stays within one segment
            ("src/*.rs", "src/main.rs", true),
            ("src/*.rs", "src/a/main.rs", false),
            ("/etc/*", "/etc/a/b", false),
            // `**` crosses segments, at any depth, including none
            ("/etc/**", "/etc/a/b", true),
            ("**/secrets/**", "app/secrets/k.txt", true),
            ("**/secrets/**", "secrets/k.txt", true),
            ("**/*.pem", "/home/u/certs/a.pem", true),
            ("**/*.pem", "a.pem", true),
            // `**/` swallows its slash: a server quirk we keep
            ("**/auth.js", "lib/oauth.js", true),
            // suffix rule for patterns starting with neither `**` nor `/`
            ("middleware.js", "app/x/middleware.js", true),
            ("middleware.js", "middleware.js", true),
            // ... which, through the `**/` quirk, is a plain string suffix
            ("middleware.js", "app/x/my-middleware.js", true),
            ("middleware.js", "app/x/middleware.jsx", false),
            ("config/*.yml", "deploy/config/prod.yml", true),
            (".env", "/home/u/proj/.env", true),
            (".env", "/home/u/proj/.env.local", false),
            // no suffix rule for absolute patterns
            ("/deploy/*.yml", "x/deploy/a.yml", false),
            // other characters are literal, regex metacharacters included
            ("a+b(1).txt", "a+b(1).txt", true),
            ("a?.txt", "ab.txt", false),
            ("[ab].txt", "a.txt", false),
            ("[ab].txt", "[ab].txt", true),
            ("file.txt", "fileXtxt", false),
            // normalisation applies to the candidate
            ("**/.env", r"C:\proj\.env", true),
            ("src/**", "./src/a/b.rs", true),
            ("/Users/**", r"D:\Users\me", true),
            // and to the pattern
            ("./src/*.rs", "src/a.rs", true),
            (r"src\*.rs", "src/a.rs", true),
        ];
        for &(pattern, path, want) in cases {
            assert_eq!(m(pattern, path), want, "pattern {pattern:?} path {path:?}");
        }
    }

    #[test]
    fn empty_patterns_and_candidates_never_match() {
        assert!(Glob::new("").is_none());
        assert!(!m("**", ""));
        assert!(!m("**", "   "));
        assert!(m("**", "anything/at/all"));
    }
}
