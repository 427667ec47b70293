//! `dashclawd doctor` catches the installs that are silently off: a millisecond-sized timeout,
//! a missing fail-closed flag, a missing hook binary, an untrusted Codex hook, an OpenClaw
//! plugin that is disabled, gone, or runs a hook that allows everything or crashes; and its
//! liveness probe sees a healthy hook (and OpenClaw's plugin) hold a destructive call. Hermes's
//! doctor checks are in install_hermes.rs.

use dashclaw_testkit::harness as common;

use std::path::{Path, PathBuf};

use common::{Home, HOOK};
use serde_json::{json, Value};

fn doctor(home: &Home, args: &[&str]) -> (bool, Value) {
    let out = home.dashclawd(&[&["doctor", "--json"], args].concat());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}\n{}{}",
            common::stdout(&out),
            common::stderr(&out)
        )
    });
    (out.status.success(), v)
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
}

fn claude_settings(home: &Home, command: &str, timeout: u64, on_failure: Option<&str>) -> PathBuf {
    let mut h = json!({ "type": "command", "command": command, "timeout": timeout });
    if let Some(f) = on_failure {
        h["onFailure"] = json!(f);
    }
    let path = home.path().join("settings.json");
    let doc = json!({ "hooks": { "PreToolUse": [ { "matcher": "*", "hooks": [h] } ] } });
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

#[test]
fn a_healthy_claude_install_holds_the_probe() {
    let home = Home::new();
    let settings = home.path().join("settings.json");
    let out = home.dashclawd(&[
        "install",
        "claude",
        "--settings",
        settings.to_str().unwrap(),
        "--hook-bin",
        HOOK.as_str(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let (ok, r) = doctor(&home, &["--claude-settings", settings.to_str().unwrap()]);
    assert!(ok, "{r:#}");
    assert_eq!(check(&r, "agent.claude.timeout")["status"], "ok");
    assert_eq!(check(&r, "agent.claude.fail_closed")["status"], "ok");
    let probe = check(&r, "agent.claude.probe");
    assert_eq!(probe["status"], "ok", "{probe}");
    assert!(
        probe["detail"].as_str().unwrap().starts_with("held"),
        "{probe}"
    );
}

#[test]
fn a_millisecond_timeout_and_no_fail_closed_flag_are_failures() {
    let home = Home::new();
    let cmd = format!("{HOOK} claude pre-tool-use");
    let settings = claude_settings(&home, &cmd, 3_600_000, None);
    let (ok, r) = doctor(
        &home,
        &[
            "--no-probe",
            "--claude-settings",
            settings.to_str().unwrap(),
        ],
    );
    assert!(!ok, "{r:#}");
    let t = check(&r, "agent.claude.timeout");
    assert_eq!(t["status"], "fail");
    assert!(
        t["detail"].as_str().unwrap().contains("milliseconds"),
        "{t}"
    );
    assert_eq!(check(&r, "agent.claude.fail_closed")["status"], "fail");
}

#[test]
fn a_missing_hook_binary_is_a_failure() {
    let home = Home::new();
    let settings = claude_settings(
        &home,
        "/nonexistent/dashclaw-hook claude pre-tool-use",
        30,
        Some("block"),
    );
    let (ok, r) = doctor(&home, &["--claude-settings", settings.to_str().unwrap()]);
    assert!(!ok, "{r:#}");
    let b = check(&r, "agent.claude.binary");
    assert_eq!(b["status"], "fail", "{b}");
    assert!(b["detail"]
        .as_str()
        .unwrap()
        .contains("/nonexistent/dashclaw-hook"));
}

#[test]
fn an_untrusted_codex_hook_is_a_failure_and_fix_trusts_it() {
    let codex = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/agents/node_modules/.bin/codex");
    let codex = match std::env::var_os("DASHCLAW_CODEX_BIN") {
        Some(c) => PathBuf::from(c),
        None => codex,
    };
    if !codex.is_file() {
        assert!(
            std::env::var("DASHCLAW_SKIP_E2E").as_deref() == Ok("1"),
            "codex not found at {}; run .ci/install-codex.sh or set DASHCLAW_SKIP_E2E=1",
            codex.display()
        );
        eprintln!("skipping: no codex binary");
        return;
    }
    let home = Home::new();
    let codex_home = home.path().join("codex");
    std::fs::create_dir_all(&codex_home).unwrap();
    let config = codex_home.join("config.toml");
    let c = config.to_str().unwrap();
    let codex_s = codex.to_str().unwrap();
    let out = home.dashclawd(&[
        "install",
        "codex",
        "--config",
        c,
        "--hook-bin",
        HOOK.as_str(),
        "--codex-bin",
        codex_s,
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    // Drop the trust the installer persisted, as a hand edit of the hook would.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, &text[..text.find("[hooks.state.").unwrap()]).unwrap();

    let args = ["--no-probe", "--codex-config", c, "--codex-bin", codex_s];
    let (ok, r) = doctor(&home, &args);
    assert!(!ok, "{r:#}");
    let t = check(&r, "agent.codex.trust");
    assert_eq!(t["status"], "fail", "{t}");
    assert!(t["detail"].as_str().unwrap().contains("untrusted"), "{t}");

    let (ok, r) = doctor(&home, &[&args[..], &["--fix"]].concat());
    assert!(ok, "{r:#}");
    assert_eq!(check(&r, "agent.codex.trust")["status"], "ok");
}

#[test]
fn loose_socket_directory_permissions_are_reported_and_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let run = home.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (ok, r) = doctor(&home, &["--no-probe"]);
    assert!(!ok);
    assert_eq!(check(&r, "permissions.run_dir")["status"], "fail");
    let (_, r) = doctor(&home, &["--no-probe", "--fix"]);
    assert_eq!(check(&r, "permissions.run_dir")["status"], "warn");
    let mode = std::fs::metadata(&run).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

/// OpenClaw's state directory with our plugin as `openclaw plugins install` leaves it: the
/// installer's files under `extensions/dashclaw-guard/`, and the entry it enables.
fn openclaw_state(home: &Home) -> PathBuf {
    let state = home.path().join("oc-state");
    let ext = state.join("extensions/dashclaw-guard");
    // No `openclaw` on this PATH: the installer writes the files and says how to enable them.
    let out = home.dashclawd(&[
        "install",
        "openclaw",
        "--config",
        ext.to_str().unwrap(),
        "--hook-bin",
        HOOK.as_str(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let config = json!({"plugins": {"entries": {"dashclaw-guard": {"enabled": true}}}});
    std::fs::write(state.join("openclaw.json"), config.to_string()).unwrap();
    state
}

fn set_hook_bin(state: &Path, bin: &str) {
    let p = state.join("extensions/dashclaw-guard/dashclaw.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["hookBin"] = json!(bin);
    std::fs::write(&p, v.to_string()).unwrap();
}

#[test]
fn a_healthy_openclaw_install_holds_the_probe_through_the_plugin() {
    let home = Home::new();
    let state = openclaw_state(&home);
    let (ok, r) = doctor(&home, &["--openclaw-state", state.to_str().unwrap()]);
    assert!(ok, "{r:#}");
    for c in [
        "agent.openclaw",
        "agent.openclaw.enabled",
        "agent.openclaw.binary",
    ] {
        assert_eq!(check(&r, c)["status"], "ok", "{c}: {r:#}");
    }
    let probe = check(&r, "agent.openclaw.probe");
    assert_eq!(probe["status"], "ok", "{probe}");
    let detail = probe["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("held") && detail.contains("Blocked by policy"),
        "the daemon's policy refused it, through the plugin: {probe}"
    );
    // The probe's call is in the ledger, as OpenClaw's.
    let log = home.dashclawd(&["log", "--json"]);
    assert!(
        common::stdout(&log).contains("\"agent\":\"openclaw\""),
        "{}",
        common::stdout(&log)
    );
}

#[test]
fn a_broken_openclaw_install_is_a_failure() {
    let home = Home::new();
    let state = openclaw_state(&home);
    let s = state.to_str().unwrap();
    let args = ["--openclaw-state", s];

    // The hook binary moved away: the plugin blocks everything, the guard is broken.
    set_hook_bin(&state, "/nonexistent/dashclaw-hook");
    let (ok, r) = doctor(&home, &args);
    assert!(!ok, "{r:#}");
    let b = check(&r, "agent.openclaw.binary");
    assert_eq!(b["status"], "fail", "{b}");
    assert!(
        b["detail"].as_str().unwrap().contains("/nonexistent"),
        "{b}"
    );

    // A "hook" that allows everything: present and executable, but the probe executes.
    set_hook_bin(&state, "/bin/true");
    let (ok, r) = doctor(&home, &args);
    assert!(!ok, "{r:#}");
    let p = check(&r, "agent.openclaw.probe");
    assert_eq!(p["status"], "fail", "{p}");
    assert!(p["detail"].as_str().unwrap().starts_with("executed"), "{p}");

    // A hook that crashes: the plugin blocks (fail-closed), but only because it is broken.
    set_hook_bin(&state, "/bin/false");
    let (ok, r) = doctor(&home, &args);
    assert!(!ok, "{r:#}");
    let p = check(&r, "agent.openclaw.probe");
    assert_eq!(p["status"], "fail", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("broken"), "{p}");
    set_hook_bin(&state, HOOK.as_str());

    // Disabled in OpenClaw's config.
    let config = json!({"plugins": {"entries": {"dashclaw-guard": {"enabled": false}}}});
    std::fs::write(state.join("openclaw.json"), config.to_string()).unwrap();
    let (ok, r) = doctor(&home, &[&args[..], &["--no-probe"]].concat());
    assert!(!ok, "{r:#}");
    assert_eq!(check(&r, "agent.openclaw.enabled")["status"], "fail");
    let config = json!({"plugins": {"allow": ["other"], "entries": {"dashclaw-guard": {}}}});
    std::fs::write(state.join("openclaw.json"), config.to_string()).unwrap();
    let (ok, r) = doctor(&home, &[&args[..], &["--no-probe"]].concat());
    assert!(!ok, "{r:#}");
    assert_eq!(check(&r, "agent.openclaw.enabled")["status"], "fail");

    // The plugin's files are gone while OpenClaw's config still names it.
    std::fs::remove_file(state.join("extensions/dashclaw-guard/index.js")).unwrap();
    let (ok, r) = doctor(&home, &[&args[..], &["--no-probe"]].concat());
    assert!(!ok, "{r:#}");
    let c = check(&r, "agent.openclaw");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("missing"), "{c}");
}

#[test]
fn an_edited_openclaw_plugin_is_a_warning() {
    let home = Home::new();
    let state = openclaw_state(&home);
    let index = state.join("extensions/dashclaw-guard/index.js");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, format!("{text}\n// edited\n")).unwrap();
    let (_, r) = doctor(
        &home,
        &["--no-probe", "--openclaw-state", state.to_str().unwrap()],
    );
    assert_eq!(check(&r, "agent.openclaw")["status"], "warn", "{r:#}");
}

/// `install` and `doctor` go through one registry of integrations: every agent installs by
/// its name into its default place under $HOME, and one `doctor` with no per-agent flag finds
/// and checks all four there; an unknown agent is refused with the registry's names.
#[test]
fn install_and_doctor_cover_every_registered_agent() {
    let home = Home::new();
    for agent in ["claude", "codex", "hermes"] {
        let out = home.dashclawd(&["install", agent, "--hook-bin", HOOK.as_str(), "--no-mcp"]);
        // Codex writes its hooks, then fails loudly: no codex binary here to trust them.
        assert!(
            out.status.success() || agent == "codex",
            "{agent}: {}",
            common::stderr(&out)
        );
    }
    let ext = home.path().join(".openclaw/extensions/dashclaw-guard");
    let out = home.dashclawd(&[
        "install",
        "openclaw",
        "--config",
        ext.to_str().unwrap(),
        "--hook-bin",
        HOOK.as_str(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let config = json!({"plugins": {"entries": {"dashclaw-guard": {"enabled": true}}}});
    std::fs::write(
        home.path().join(".openclaw/openclaw.json"),
        config.to_string(),
    )
    .unwrap();

    let (_, r) = doctor(&home, &["--no-probe"]);
    for id in [
        "agent.claude",
        "agent.codex",
        "agent.hermes",
        "agent.openclaw",
    ] {
        let c = check(&r, id);
        assert_eq!(c["status"], "ok", "{c}");
        let binary = check(&r, &format!("{id}.binary"));
        assert_eq!(binary["status"], "ok", "{binary}");
    }
    assert!(
        r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != "agents"),
        "{r:#}"
    );

    let out = home.dashclawd(&["install", "cursor"]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("supported: claude, codex, hermes, openclaw"),
        "{}",
        common::stderr(&out)
    );
}
