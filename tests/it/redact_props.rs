//! Property tests of the redaction engine: idempotence, valid UTF-8, valid JSON, and streaming
//! that gives exactly the whole-input result for any chunking.

use crate::redact_support;

use dashclaw_sidecar::redact::{default_engine, redact_json, redact_str};
use proptest::prelude::*;
use redact_support::{expand, Fill};

/// Pieces that exercise the rules: key names, separators, generated keys, markers, Unicode.
fn fragment() -> impl Strategy<Value = String> {
    let samples: Vec<&'static str> = default_engine().rules().iter().map(|r| r.sample).collect();
    prop_oneof![
        (0..samples.len(), any::<u64>()).prop_map(move |(i, seed)| expand(
            samples[i],
            Fill::Random(seed)
        )
        .0),
        prop::sample::select(vec![
            "token=",
            "password: \"",
            "\"",
            "'",
            "=",
            ":",
            " ",
            "\n",
            "\\\"",
            "api_key",
            "Bearer ",
            "Authorization: ",
            "postgres://u:",
            "@",
            "-----BEGIN RSA PRIVATE KEY-----\n",
            "-----END RSA PRIVATE KEY-----",
            "[REDACTED:jwt]",
            "[REDACTED:",
            "ghp_",
            "sk-ant-api03-",
            "eyJ",
            "AKIA",
            "é",
            "日本語",
            "✓",
            "\u{0}",
            "secret",
            "xxxx",
            "${VAR}",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9+/=_.-]{1,40}",
        "\\PC{0,12}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn idempotent_and_utf8(t in text()) {
        let once = redact_str(&t).into_owned();
        let twice = redact_str(&once).into_owned();
        prop_assert_eq!(&once, &twice);
        // The bytes API on the same input gives the same, valid UTF-8.
        let bytes = default_engine().redact_bytes(t.as_bytes()).into_owned();
        prop_assert_eq!(std::str::from_utf8(&bytes).ok(), Some(once.as_str()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..512), t in text()) {
        let mut input = b;
        input.extend_from_slice(t.as_bytes());
        let _ = default_engine().redact_bytes(&input);
        let _ = default_engine().find(&input);
    }

    #[test]
    fn json_stays_valid(keys in prop::collection::vec(text(), 1..6), values in prop::collection::vec(text(), 1..6)) {
        let mut map = serde_json::Map::new();
        for (k, v) in keys.iter().zip(values.iter()) {
            map.insert(k.clone(), serde_json::json!({ "v": v, "list": [v, 1, null], "password": v }));
        }
        let mut doc = serde_json::Value::Object(map);
        redact_json(&mut doc);
        let text = serde_json::to_string(&doc).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &doc);
        let again = back.clone();
        let mut back = back;
        redact_json(&mut back);
        prop_assert_eq!(back, again);
    }
}

proptest! {
    // Large inputs (beyond twice the carry-over) so chunk boundaries really fall inside secrets.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn chunked_equals_whole(t in text(), chunks in prop::collection::vec(1usize..90_000, 1..8)) {
        let unit = format!("{t}\nfiller line with token=abc, ünï and more words\n");
        let big = unit.repeat(300_000 / unit.len().max(1) + 1);
        let whole = default_engine().redact_bytes(big.as_bytes()).into_owned();
        let mut stream = default_engine().stream();
        let mut out = Vec::new();
        let mut rest = big.as_bytes();
        let mut i = 0;
        while !rest.is_empty() {
            let n = chunks[i % chunks.len()].min(rest.len());
            out.extend(stream.push(&rest[..n]));
            rest = &rest[n..];
            i += 1;
        }
        out.extend(stream.finish());
        prop_assert!(out == whole, "stream differs for chunks {:?}", chunks);
    }
}

/// Characters that commonly follow or precede a secret and must survive redaction.
const EDGES: &[&str] = &["\"", "'", ";", "\n", ",", "}", " ", ")", "\r\n", "\t"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Only the secret changes: every rule's sample, between arbitrary edge characters, comes
    /// back as the same text with the secret replaced by one marker (after the secret's own line
    /// breaks), so quotes, separators and line breaks around it are never eaten.
    #[test]
    fn nothing_outside_the_secret_changes(
        rule in 0..default_engine().rules().len(),
        seed in any::<u64>(),
        pre in prop::sample::select(EDGES),
        post in prop::sample::select(EDGES),
    ) {
        let info = &default_engine().rules()[rule];
        let (sample, secret) = expand(info.sample, Fill::Random(seed));
        // A random fill that happens to spell a placeholder word (`…dUMMY…`) is exempt by
        // design, as a real token spelling one would be.
        let lower = sample[secret.clone()].to_ascii_lowercase();
        prop_assume!(!["dummy", "example", "redacted", "placeholder", "changeme", "abcdefgh"]
            .iter()
            .any(|m| lower.contains(m)));
        let before = format!("{pre}{}", &sample[..secret.start]);
        let after = format!("{}{post}", &sample[secret.end..]);
        let text = format!("{before}{}{after}", &sample[secret.clone()]);
        let out = redact_str(&text).into_owned();
        prop_assert!(out.starts_with(&before), "{}: {:?} -> {:?}", info.id, text, out);
        prop_assert!(out.ends_with(&after), "{}: {:?} -> {:?}", info.id, text, out);
        let middle = &out[before.len()..out.len() - after.len()];
        let newlines = sample[secret.clone()].matches('\n').count();
        prop_assert!(
            middle.trim_start_matches('\n').starts_with("[REDACTED:")
                && middle.ends_with(']')
                && middle.matches("[REDACTED:").count() == 1
                && middle.matches('\n').count() == newlines,
            "{}: {:?} -> {:?}", info.id, text, out
        );
        prop_assert_eq!(out.lines().count(), text.lines().count());
    }

    /// Text-mode redaction of serialised JSON keeps it valid JSON with the same keys, and the
    /// other values untouched (`{"sq": "EAAA…", "n": 1}` stays two members).
    #[test]
    fn serialised_json_stays_json(
        rule in 0..default_engine().rules().len(),
        seed in any::<u64>(),
        pretty in any::<bool>(),
    ) {
        let info = &default_engine().rules()[rule];
        let (sample, _) = expand(info.sample, Fill::Random(seed));
        let doc = serde_json::json!({ "v": sample, "n": 1, "after": "plain text" });
        let text = if pretty {
            serde_json::to_string_pretty(&doc).unwrap()
        } else {
            serde_json::to_string(&doc).unwrap()
        };
        let out = redact_str(&text).into_owned();
        let back: serde_json::Value = serde_json::from_str(&out)
            .map_err(|e| TestCaseError::fail(format!("{}: {e}: {out}", info.id)))?;
        prop_assert_eq!(&back["n"], &serde_json::json!(1));
        prop_assert_eq!(&back["after"], &serde_json::json!("plain text"));
        prop_assert_eq!(out.lines().count(), text.lines().count());
    }
}

/// A key glued to the end of any rule's secret: the name of the assignment that follows runs
/// into the secret, which the first pass redacts; the second pass must agree with the first.
#[test]
fn secret_glued_to_a_named_assignment_is_stable() {
    for (i, rule) in default_engine().rules().iter().enumerate() {
        for tail in [
            "DB_PASSWORD=hunter2-CaDAfrcI",
            "GROQ_API_KEY=gsk_FkKpzR73LwJryU3FtqiBw",
        ] {
            let text = format!("{}{tail}", expand(rule.sample, Fill::Random(i as u64)).0);
            let once = redact_str(&text).into_owned();
            let twice = redact_str(&once).into_owned();
            assert_eq!(once, twice, "rule {} not idempotent on {text:?}", rule.id);
            let mut doc = serde_json::json!({ text.clone(): text });
            redact_json(&mut doc);
            let first = doc.clone();
            redact_json(&mut doc);
            assert_eq!(doc, first, "rule {} JSON not idempotent", rule.id);
        }
    }
}
