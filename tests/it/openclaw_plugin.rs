//! The OpenClaw plugin (`hooks/openclaw/`), tested with Node's own test runner: against a fake
//! hook that allows, denies, hangs, crashes and prints garbage, and against the real
//! `dashclaw-hook` with a running daemon. `DASHCLAW_SKIP_NODE=1` skips it where Node is missing.

use dashclaw_testkit::harness as common;

use std::process::Command;

#[test]
fn the_plugin_blocks_on_deny_and_every_failure_and_allows_a_clean_allow() {
    if std::env::var_os("DASHCLAW_SKIP_NODE").is_some() {
        eprintln!("skipped: DASHCLAW_SKIP_NODE is set");
        return;
    }
    let home = common::Home::new();
    let _daemon = home.spawn_daemon();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/openclaw");
    let out = Command::new("node")
        .args(["--test", "test/"])
        .current_dir(dir)
        .env("DASHCLAW_HOME", home.path())
        .env("DASHCLAW_REAL_HOOK", common::HOOK)
        .output()
        .expect("node (>= 20) must be on PATH; set DASHCLAW_SKIP_NODE=1 to skip");
    let stdout = common::stdout(&out);
    assert!(
        out.status.success(),
        "node --test failed:\n{stdout}\n{}",
        common::stderr(&out)
    );
    // The real-hook case ran, it was not skipped.
    assert!(stdout.contains("# skipped 0"), "{stdout}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
}

#[test]
fn install_writes_the_plugin_and_says_how_to_enable_it() {
    let home = common::Home::new();
    let dir = home.path().join("oc-plugin");
    let d = dir.to_str().unwrap();
    let out = home.dashclawd(&["install", "openclaw", "--config", d, "--dry-run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(!dir.exists(), "dry run writes nothing");
    let out = home.dashclawd(&[
        "install",
        "openclaw",
        "--config",
        d,
        "--hook-bin",
        common::HOOK.as_str(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains(&format!("openclaw plugins install {d}")),
        "{text}"
    );
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("dashclaw.json")).unwrap()).unwrap();
    assert_eq!(settings["hookBin"], common::HOOK.as_str(), "{settings}");
    for f in ["index.js", "package.json", "openclaw.plugin.json"] {
        let shipped = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("hooks/openclaw")
                .join(f),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(f)).unwrap(),
            shipped,
            "{f}"
        );
    }
    let out = home.dashclawd(&["install", "openclaw", "--config", d, "--uninstall"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(!dir.exists());
}
