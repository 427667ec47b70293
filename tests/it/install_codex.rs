//! Golden tests for `dashclawd install codex` on real config files: fresh, already installed,
//! user-edited, with comments, broken. Re-running is a no-op; uninstall restores the original.

use dashclaw_testkit::harness as common;

use std::process::Command;

use dashclaw_sidecar::agents::codex::install::{edit_codex_config, set_trusted_hashes};

const SRC: &str = "/home/me/.codex/config.toml";
const CMD: &str = "/opt/dashclaw/bin/dashclaw-hook";

const COMMENTED: &str = r#"# Codex settings, kept by hand.
model = "gpt-5.5" # the default model
approval_policy = "on-request"

# Projects I trust.
[projects."/home/me/src/app"]
trust_level = "trusted"

[features]
# web search helps with docs
web_search = true

# My own guard, runs first.
[[hooks.PreToolUse]]
matcher = "Bash"
[[hooks.PreToolUse.hooks]]
type = "command"
command = "/usr/local/bin/my-guard"
timeout = 5

[hooks.state."/home/me/.codex/config.toml:pre_tool_use:0:0"]
trusted_hash = "sha256:mine"

[mcp_servers.github]
command = "github-mcp" # trailing comment
"#;

const HOOKS_DISABLED: &str = r#"model = "gpt-5.5"

[features]
hooks = false
"#;

const BROKEN_SYNTAX: &str = r#"model = "gpt-5.5"
[features
hooks = true
"#;

const BROKEN_HOOKS_SCALAR: &str = r#"hooks = "on"
"#;

const BROKEN_EVENT_SCALAR: &str = r#"[hooks]
PreToolUse = "x"
"#;

const INLINE_ARRAY: &str = r#"[hooks]
PreToolUse = [{ matcher = "Bash", hooks = [{ type = "command", command = "/bin/g" }] }]
"#;

fn install(text: &str) -> String {
    edit_codex_config(text, CMD, SRC, false).unwrap()
}

fn uninstall(text: &str) -> String {
    edit_codex_config(text, CMD, SRC, true).unwrap()
}

/// Installs, checks that a second run changes nothing and that uninstall gives back `original`.
fn round_trip(original: &str) -> String {
    let once = install(original);
    assert_eq!(install(&once), once, "re-running must be a no-op");
    assert_eq!(
        uninstall(&once),
        original,
        "uninstall restores the original"
    );
    // The installed file is what Codex will read: it must be valid TOML with every event.
    let parsed: toml::Table = toml::from_str(&once).expect("valid TOML");
    for event in [
        "PreToolUse",
        "PostToolUse",
        "Stop",
        "SessionStart",
        "UserPromptSubmit",
    ] {
        assert!(
            parsed["hooks"].get(event).is_some(),
            "{event} missing:\n{once}"
        );
    }
    once
}

#[test]
fn fresh_file() {
    insta::assert_snapshot!(round_trip(""));
}

#[test]
fn with_comments_and_an_own_hook() {
    let out = round_trip(COMMENTED);
    assert!(
        out.starts_with(&COMMENTED[..COMMENTED.find("[mcp_servers").unwrap()])
            || out.contains("# My own guard, runs first.")
    );
    // The user's own hook keeps index 0, so its trust key stays valid.
    assert!(out.contains("command = \"/usr/local/bin/my-guard\""));
    assert!(out.contains("trusted_hash = \"sha256:mine\""));
    insta::assert_snapshot!(out);
}

#[test]
fn hooks_feature_switched_off_is_switched_on_and_back() {
    let out = round_trip(HOOKS_DISABLED);
    assert!(out.contains("hooks = true # dashclaw: was false"), "{out}");
}

#[test]
fn already_installed_with_trust_is_left_byte_for_byte() {
    let once = install(COMMENTED);
    let trusted = set_trusted_hashes(
        &once,
        &[(format!("{SRC}:pre_tool_use:1:0"), "sha256:ours".into())],
    )
    .unwrap();
    assert_eq!(install(&trusted), trusted);
    // Uninstall also drops our trust entry and nothing else.
    assert_eq!(uninstall(&trusted), COMMENTED);
}

#[test]
fn user_edited_entries_are_repaired_in_place() {
    let once = install(COMMENTED);
    // The user shortened our timeout (Codex would then fail open on a long approval wait) and
    // added a hook of their own after ours.
    let edited = once.replacen("timeout = 3660", "timeout = 5", 1)
        + "\n[[hooks.PreToolUse]]\nmatcher = \"apply_patch\"\n[[hooks.PreToolUse.hooks]]\ntype = \"command\"\ncommand = \"/usr/local/bin/patch-lint\"\n";
    let repaired = install(&edited);
    assert!(
        repaired.contains("timeout = 3660")
            && !repaired.contains("timeout = 5\n\n[[hooks.PostToolUse")
    );
    assert!(repaired.contains("/usr/local/bin/patch-lint"));
    let pre_ours = repaired.find("codex pre-tool-use").unwrap();
    let theirs = repaired.find("patch-lint").unwrap();
    assert!(
        pre_ours < theirs,
        "ours stays where it was (index 1), theirs after it"
    );
    insta::assert_snapshot!(repaired);
    // Uninstall keeps their later hook.
    let removed = uninstall(&repaired);
    assert!(removed.contains("patch-lint") && !removed.contains("dashclaw-hook"));
}

#[test]
fn a_moved_hook_binary_replaces_the_old_command() {
    let once = install("");
    let moved = edit_codex_config(&once, "/usr/bin/dashclaw-hook", SRC, false).unwrap();
    assert!(!moved.contains(CMD) && moved.contains("/usr/bin/dashclaw-hook codex stop"));
    assert_eq!(moved.matches("[[hooks.PreToolUse]]").count(), 1);
}

#[test]
fn broken_files_are_refused_not_rewritten() {
    for (name, text) in [
        ("syntax", BROKEN_SYNTAX),
        ("hooks scalar", BROKEN_HOOKS_SCALAR),
        ("event scalar", BROKEN_EVENT_SCALAR),
        ("inline array", INLINE_ARRAY),
    ] {
        let err = edit_codex_config(text, CMD, SRC, false).unwrap_err();
        assert!(!format!("{err:#}").is_empty(), "{name}");
    }
}

#[test]
fn cli_dry_run_prints_a_diff_and_writes_nothing_then_install_backs_up_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, COMMENTED).unwrap();
    let run = |extra: &[&str]| {
        Command::new(common::DAEMON)
            .args(["install", "codex", "--config"])
            .arg(&config)
            .args(["--hook-bin", CMD])
            .args(extra)
            .env_clear()
            // No codex on this PATH: the trust step cannot run.
            .env("PATH", "/nonexistent")
            .env("HOME", dir.path())
            .output()
            .unwrap()
    };
    let out = run(&["--dry-run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let diff = common::stdout(&out);
    assert!(
        diff.contains("+[[hooks.PreToolUse]]") && diff.contains("+hooks = true"),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), COMMENTED);

    let out = run(&[]);
    assert!(
        !out.status.success(),
        "an untrusted install must fail loudly"
    );
    assert!(
        common::stderr(&out).contains("NOT ACTIVE"),
        "{}",
        common::stderr(&out)
    );
    let backup = dir.path().join("config.toml.dashclaw-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), COMMENTED);
    let installed = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, installed.replace("3660", "3661")).unwrap();
    let _ = run(&[]);
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        COMMENTED,
        "one backup, of the original"
    );

    let out = run(&["--uninstall"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), COMMENTED);
}
