//! The generic assignment detector across every syntax agents meet: each (syntax, key name,
//! secret shape) combination must lose the whole secret (no run of 6 of its characters left),
//! and ordinary lines that only look like assignments must come back untouched. Prints recall
//! per syntax and per secret shape.

use crate::redact_support;

use std::collections::BTreeMap;

use dashclaw_sidecar::redact::{default_engine, redact_str};
use redact_support::{leaks, Gen};

/// `{k}` is the key name, `{s}` the secret.
const SYNTAXES: &[(&str, &str)] = &[
    ("ini quoted", "{k}=\"{s}\""),
    ("ini quoted spaced", "{k} = \"{s}\""),
    ("ini bare", "{k}={s}"),
    ("ini bare spaced", "{k} = {s}"),
    ("env export", "export {k}={s}\n"),
    ("json", "{\n    \"{k}\": \"{s}\"\n}"),
    ("json compact", "{\"{k}\":\"{s}\",\"n\":1}"),
    ("json escaped", "\\{\n    \\\"{k}\\\": \\\"{s}\\\"\n\\}"),
    ("xml element", "<{k}>{s}</{k}>"),
    ("xml element multiline", "<{k}>\n    {s}\n</{k}>"),
    ("xml attribute", "<entry name=\"{k}\" value=\"{s}\" />"),
    ("nuget add", "<add key=\"{k}\" value=\"{s}\" />"),
    ("yaml bare", "{k}: {s}"),
    ("yaml single", "{k}: '{s}'"),
    ("yaml double", "{k}: \"{s}\""),
    ("yaml literal", "{k}: |\n  {s}"),
    ("yaml folded", "{k}: >\n  {s}"),
    ("toml", "{k} = \"{s}\"\n"),
    ("hcl", "  {k} = \"{s}\"\n"),
    ("c#", "string {k} = \"{s}\";"),
    ("go var typed", "var {k} string = \"{s}\""),
    ("go const typed", "const {k} string = \"{s}\""),
    ("go short", "{k} := \"{s}\""),
    ("go backticks", "{k} := `{s}`"),
    ("java", "String {k} = \"{s}\";"),
    ("java setter", "cfg.set{K}(\"{s}\");"),
    (
        "java system property",
        "System.setProperty(\"{k}\", \"{s}\")",
    ),
    ("kotlin", "var {k} = \"{s}\""),
    ("kotlin typed", "val {k}: String = \"{s}\""),
    ("php append", "${k} .= \"{s}\";"),
    ("php array", "'{k}' => '{s}',"),
    ("python single", "{k} = '{s}'"),
    ("python double", "{k} = \"{s}\""),
    ("python kwarg", "connect({k}=\"{s}\")"),
    ("ruby symbol", "{k}: \"{s}\","),
    ("r arrow", "{k} <- \"{s}\""),
    ("csv", "{k},{s},"),
    ("logstash", "  \"{k}\" => \"{s}\""),
    ("make recursive", "{K} = \"{s}\""),
    ("make simple", "{K} := \"{s}\""),
    ("make shell", "{K} ::= \"{s}\""),
    ("make evaluated", "{K} :::= \"{s}\""),
    ("make conditional", "{K} ?= \"{s}\""),
    ("make append", "{K} += \"{s}\""),
    ("heredoc", "cat > .env <<EOF\n{K}={s}\nEOF\n"),
    ("docker env", "ENV {K}={s}"),
    ("compose list", "      - {K}={s}"),
];

/// Key names with the secret word anywhere: `{n}` is a provider or context word.
const KEYS: &[&str] = &[
    "{n}Token",
    "{n}_token",
    "{n}_TOKEN",
    "{n}_password_prod",
    "my{N}SecretString",
    "{n}_api_token_123",
    "{n}Creds",
    "{n}_api_key",
    "{n}ClientSecret",
];

const NAMES: &[&str] = &[
    "adobe",
    "fastly",
    "etsy",
    "looker",
    "maxmind",
    "infracost",
    "settlemint",
    "db",
    "service",
    "sourcegraph",
    "telegram",
    "flyio",
];

/// Secret shapes, as (label, alphabet, length, suffix).
const SHAPES: &[(&str, &str, usize, &str)] = &[
    (
        "lower-alnum-32",
        "abcdefghijklmnopqrstuvwyz0123456789",
        32,
        "",
    ),
    (
        "alnum-40",
        "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789",
        40,
        "",
    ),
    ("hex-64", "0123456789abcdef", 64, ""),
    (
        "with-dot-eq-dash",
        "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789=._-",
        43,
        "",
    ),
    (
        "base64-padded",
        "ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789+/",
        42,
        "==",
    ),
    (
        "password-symbols",
        "ABCDEFGHJKLMNPQRSTUVWYZabcdefghijkmnpqrstuvwyz23456789!#%*-_",
        18,
        "",
    ),
];

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[test]
fn every_syntax_removes_the_whole_value() {
    let mut by_syntax: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut by_shape: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut gen = Gen::new(7);
    for (label, template) in SYNTAXES {
        for (ki, key) in KEYS.iter().enumerate() {
            for (ni, name) in NAMES.iter().enumerate() {
                let (shape, alphabet, len, suffix) = SHAPES[(ki + ni) % SHAPES.len()];
                let chars: Vec<char> = alphabet.chars().collect();
                let mut secret: String = (0..len)
                    .map(|_| chars[(gen.next() % chars.len() as u64) as usize])
                    .collect();
                // A digit somewhere, as in real keys and passwords.
                secret.replace_range(3..4, &((gen.next() % 10).to_string()));
                secret.replace_range(0..1, "k");
                secret.push_str(suffix);
                let k = key.replace("{n}", name).replace("{N}", &capitalise(name));
                let text = template
                    .replace("{k}", &k)
                    .replace("{K}", &capitalise(&k))
                    .replace("{s}", &secret);
                // Upper-case make / env names.
                let text = if template.contains("{K}")
                    && !label.starts_with("java")
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    text.replace(&capitalise(&k), &k.to_uppercase())
                } else {
                    text
                };
                let out = redact_str(&text);
                let ok = !leaks(&out, &secret, 6) && out.lines().count() == text.lines().count();
                let e = by_syntax.entry(label).or_default();
                e.0 += 1;
                e.1 += usize::from(ok);
                let e = by_shape.entry(shape).or_default();
                e.0 += 1;
                e.1 += usize::from(ok);
                if !ok && failures.len() < 40 {
                    failures.push(format!("{label} / {shape}: {text:?} -> {out:?}"));
                }
            }
        }
    }
    let (mut total, mut good) = (0, 0);
    println!("| syntax | samples | secret removed whole |\n|---|---:|---:|");
    for (label, (n, ok)) in &by_syntax {
        println!("| {label} | {n} | {:.1}% |", 100.0 * *ok as f64 / *n as f64);
        total += n;
        good += ok;
    }
    println!("\n| secret shape | samples | removed whole |\n|---|---:|---:|");
    for (label, (n, ok)) in &by_shape {
        println!("| {label} | {n} | {:.1}% |", 100.0 * *ok as f64 / *n as f64);
    }
    println!("\nall: {good}/{total}");
    assert!(
        failures.is_empty(),
        "{} of {total} not removed whole:\n{}",
        total - good,
        failures.join("\n")
    );
}

/// Lines that look like assignments of secrets but are not: code, types, placeholders,
/// references, identifiers, file names, prose, coordinates, schema types, image names.
const ORDINARY: &[&str] = &[
    "let token = read_token(&path)?;",
    "token = get_token(session)",
    "secret: SecretString,",
    "password: Option<String>,",
    "auth: connection refused by peer",
    "self.token = token",
    "if password == expected_password {",
    "token_count = 1234567890123",
    "max_tokens: 4096",
    "API_KEY=${API_KEY}",
    "api_key: \"{{ .Values.apiKey }}\"",
    "password: \"<your-password>\"",
    "DB_PASSWORD=changeme",
    "token: 'xxxxxxxxxxxxxxxxxxxxxxxx'",
    "client_secret = os.environ[\"CLIENT_SECRET\"]",
    "secret_name = \"database_password\"",
    "password_policy: \"strong-passwords-only\"",
    "token_url = \"https://oauth2.googleapis.com/token\"",
    "private_key = \"keys/server.pem\"",
    "secret_file: /run/secrets/db_password",
    "key_id = \"a1b2c3d4-key-id\"",
    "<dependency>io.jsonwebtoken:jjwt-jackson-0.11.2</dependency>",
    "implementation 'io.jsonwebtoken:jjwt-jackson:0.11.2'",
    "<xsd:element name=\"AgencyIdentificationCode\" type=\"clm36193:AgencyIdentificationCodeContentType\"/>",
    "token:\"clm36193:AgencyIdentificationCodeContentType\"",
    "<img src=\"https://cdn.example.org/2019/05/badge-xoxo-indieweb-1.jpg\">",
    "SENTRY_AUTH_TOKEN=sntryu_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "GRAFANA_TOKEN=glc_11111111111111111111111111111111111111111111",
    "curl -u username:password https://api.example.org/",
    "https://username:password@example.com/path",
    "log.info(target: \"auth\", \"password matched\");",
    "let tokens: Vec<Token> = lexer.tokens().collect();",
    "secret = config.secret.clone()",
    "password = prompt_password()?",
    "auth = auth_header_value",
    "The password must be at least twelve characters long.",
    "passwordField.setText(\"\")",
    "String token = request.getHeader(\"Authorization\");",
    "export GITHUB_TOKEN=$(gh auth token)",
    "token_type: Bearer",
    "apiKeyHeader: X-Api-Key",
    "access_token_expires_in: 3600000000",
    "secretKeyRef:",
    "compass_heading = \"northwest\"",
    "bypass_cache = True",
    "app::auth: trace_id=79def87ab3cb7f8876b65893ec0cfb34 span_id=15d98afeb91ac655",
    "tokenizer = AutoTokenizer.from_pretrained(\"bert-base-uncased\")",
    "author = \"Jane Q. Developer\"",
    "password_hash_algorithm = \"argon2id\"",
    "secrets:\n  - stripe_key\n",
];

#[test]
fn ordinary_lines_stay_untouched() {
    let mut changed = Vec::new();
    for line in ORDINARY {
        let out = redact_str(line);
        if out != *line {
            changed.push(format!("{line:?} -> {out:?}"));
        }
    }
    println!(
        "ordinary lines untouched: {}/{}",
        ORDINARY.len() - changed.len(),
        ORDINARY.len()
    );
    assert!(changed.is_empty(), "changed:\n{}", changed.join("\n"));
    // And none of them is even reported.
    for line in ORDINARY {
        assert!(default_engine().find(line.as_bytes()).is_empty(), "{line}");
    }
}

/// Kubernetes Secret manifests in the shapes they come in: `data:` before or after `kind`,
/// tabs, comments, quoted values, block scalars, lower-case `secret`. Values go, keys and the
/// rest of the manifest stay, line count unchanged.
#[test]
fn kubernetes_secret_values_are_removed() {
    let value = "c3VwZXItc2VjcmV0LXBhc3N3b3JkLTQy";
    let cfg =
        "eyJhdXRocyI6eyJyZWdpc3RyeS5pbnRlcm5hbCI6eyJhdXRoIjoiWkdWd2JHOTVPbk5sWTNKbGRBPT0ifX19";
    let manifests = [
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: {value}\n  username: YWRtaW4=\n"),
        format!("apiVersion: v1\ndata:\n\t# rotated monthly\n\tpassword: {value}\nkind: Secret\nmetadata:\n\tname: db\n"),
        format!("apiVersion: \"v1\"\nkind: \"secret\"\nstringData:\n  password: \"{value}\"\nmetadata:\n  name: db"),
        format!("apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: |\n    {cfg}\nmetadata:\n  name: pull\n"),
        format!(" apiVersion: v1\n data:\n \textra: {value}\n kind: secret\n metadata:\n \tname: x\n"),
    ];
    for m in &manifests {
        let out = redact_str(m);
        assert!(
            !leaks(&out, value, 6) && !leaks(&out, cfg, 6),
            "{m:?} -> {out:?}"
        );
        assert_eq!(out.lines().count(), m.lines().count(), "{out:?}");
        assert!(
            out.contains("metadata:") && out.contains("kind:"),
            "{out:?}"
        );
    }
    let look_alikes = [
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  log_level: debug\n  region: eu-west-1\n".to_owned(),
        "apiVersion: v1\nkind: Secret\ndata:\n  password: {{ .Values.db.password }}\n".to_owned(),
        "apiVersion: v1\nkind: Secret\ndata:\n  token: \"\"\n  csrf: ''\n".to_owned(),
        "apiVersion: v1\nkind: Secret\ndata:\n  flag: dHJ1ZQ==\n".to_owned(),
        "kind: ExternalSecret\nspec:\n  data:\n    - secretKey: db\n      remoteRef:\n        key: prod/db\n".to_owned(),
        "kind: SealedSecret\nspec:\n  template:\n    data:\n      region: ZXUtd2VzdC0x\n".to_owned(),
    ];
    for m in &look_alikes {
        assert_eq!(redact_str(m), m.as_str());
    }
}
