//! `dashclawd install claude|codex|hermes` registers `dashclawd mcp` as the agent's `dashclaw`
//! MCP server (idempotent, `--no-mcp`, `--uninstall`), and `doctor` starts what is registered
//! and checks `initialize` + `tools/list`.

use dashclaw_testkit::harness as common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(DAEMON)
        .args(args)
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("HOME", home)
        .env("DASHCLAW_HOME", home.join("dc"))
        .env("CLAUDE_CONFIG_DIR", home.join("claude"))
        .env("CODEX_HOME", home.join("codex"))
        .env("HERMES_HOME", home.join("hermes"))
        .current_dir(home)
        .output()
        .unwrap()
}

/// The pinned Codex CLI, if installed (`DASHCLAW_CODEX_BIN` or `.ci/install-codex.sh`'s).
fn codex_bin() -> Option<std::path::PathBuf> {
    let p = std::env::var_os("DASHCLAW_CODEX_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/agents/node_modules/.bin/codex")
        });
    p.is_file().then_some(p)
}

fn doctor(home: &Path) -> Vec<Value> {
    let out = run(home, &["doctor", "--json", "--no-probe"]);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stdout(&out)));
    v["checks"].as_array().unwrap().clone()
}

fn check<'a>(checks: &'a [Value], id: &str) -> Option<&'a Value> {
    checks.iter().find(|c| c["id"] == id)
}

#[test]
fn claude_gets_the_server_in_its_mcp_config_and_doctor_runs_it() {
    let dir = tempfile::Builder::new()
        .prefix("dcm")
        .tempdir_in("/tmp")
        .unwrap();
    let home = dir.path();
    let mcp_json = home.join("claude/.claude.json");

    let out = run(
        home,
        &["install", "claude", "--no-mcp", "--hook-bin", HOOK.as_str()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(home.join("claude/settings.json").exists());
    assert!(!mcp_json.exists(), "--no-mcp writes no MCP config");

    // Claude Code keeps its own state in the same file: it survives.
    std::fs::write(
        &mcp_json,
        r#"{"numStartups": 7, "mcpServers": {"other": {"command": "x"}}}"#,
    )
    .unwrap();
    let out = run(home, &["install", "claude", "--hook-bin", HOOK.as_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&mcp_json).unwrap()).unwrap();
    let e = &v["mcpServers"]["dashclaw"];
    assert_eq!(e["command"], DAEMON.as_str());
    assert_eq!(e["args"], serde_json::json!(["mcp"]));
    assert_eq!(e["env"]["DASHCLAW_HOME"], home.join("dc").to_str().unwrap());
    assert_eq!(v["numStartups"], 7);
    assert_eq!(v["mcpServers"]["other"]["command"], "x");

    let again = run(home, &["install", "claude", "--hook-bin", HOOK.as_str()]);
    assert!(
        stdout(&again).contains("MCP server already up to date"),
        "{}",
        stdout(&again)
    );

    let checks = doctor(home);
    let c = check(&checks, "mcp.claude").expect("doctor checks the MCP server");
    assert_eq!(c["status"], "ok", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("29 tools"), "{c}");

    let out = run(
        home,
        &[
            "install",
            "claude",
            "--uninstall",
            "--hook-bin",
            HOOK.as_str(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&mcp_json).unwrap()).unwrap();
    assert!(v["mcpServers"].get("dashclaw").is_none());
    assert_eq!(v["mcpServers"]["other"]["command"], "x");
}

#[test]
fn codex_and_hermes_get_the_server_in_their_config() {
    let dir = tempfile::Builder::new()
        .prefix("dcm")
        .tempdir_in("/tmp")
        .unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join("codex")).unwrap();
    std::fs::create_dir_all(home.join("hermes")).unwrap();
    std::fs::write(
        home.join("hermes/config.yaml"),
        "mcp_servers:\n  time:\n    command: uvx\n",
    )
    .unwrap();

    // Without the codex binary the hooks cannot be trusted (the installer says so and fails),
    // but the configuration, MCP server included, is written.
    let _ = run(home, &["install", "codex", "--hook-bin", HOOK.as_str()]);
    let toml_text = std::fs::read_to_string(home.join("codex/config.toml")).unwrap();
    let v: toml::Value = toml::from_str(&toml_text).unwrap();
    assert_eq!(
        v["mcp_servers"]["dashclaw"]["command"].as_str(),
        Some(DAEMON.as_str())
    );
    assert_eq!(
        v["mcp_servers"]["dashclaw"]["args"][0].as_str(),
        Some("mcp")
    );

    // The real Codex CLI reads the entry back, when it is installed (.ci/install-codex.sh).
    if let Some(codex) = codex_bin() {
        let out = Command::new(codex)
            .args(["mcp", "list", "--json"])
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", home)
            .env("CODEX_HOME", home.join("codex"))
            .output()
            .unwrap();
        let listed: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("codex mcp list: {}{}", stdout(&out), stderr(&out)));
        let e = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "dashclaw")
            .unwrap_or_else(|| panic!("{listed:#}"));
        assert_eq!(e["enabled"], true);
        assert_eq!(e["transport"]["command"], DAEMON.as_str());
        assert_eq!(e["transport"]["args"], serde_json::json!(["mcp"]));
    }

    let out = run(home, &["install", "hermes", "--hook-bin", HOOK.as_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let yaml = std::fs::read_to_string(home.join("hermes/config.yaml")).unwrap();
    assert!(
        yaml.starts_with("mcp_servers:\n  # >>> dashclaw mcp (managed) >>>\n  dashclaw:\n"),
        "{yaml}"
    );
    assert!(yaml.contains("  time:\n    command: uvx\n"));

    let checks = doctor(home);
    for id in ["mcp.codex", "mcp.hermes"] {
        let c = check(&checks, id).unwrap_or_else(|| panic!("no {id} in {checks:?}"));
        assert_eq!(c["status"], "ok", "{c}");
    }

    let out = run(
        home,
        &[
            "install",
            "hermes",
            "--uninstall",
            "--hook-bin",
            HOOK.as_str(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(home.join("hermes/config.yaml")).unwrap(),
        "mcp_servers:\n  time:\n    command: uvx\n"
    );
}

#[test]
fn doctor_fails_a_registered_server_that_does_not_answer() {
    let dir = tempfile::Builder::new()
        .prefix("dcm")
        .tempdir_in("/tmp")
        .unwrap();
    let home = dir.path();
    std::fs::create_dir_all(home.join("claude")).unwrap();
    std::fs::write(
        home.join("claude/.claude.json"),
        r#"{"mcpServers": {"dashclaw": {"command": "/bin/true", "args": []}}}"#,
    )
    .unwrap();
    let checks = doctor(home);
    let c = check(&checks, "mcp.claude").unwrap();
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["detail"].as_str().unwrap().contains("does not work"),
        "{c}"
    );
}
