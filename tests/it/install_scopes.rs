//! `dashclawd install claude|codex --scope project|managed`: each writes its own layer and
//! nothing else, Codex accepts the result (the real `codex app-server` lists our hooks as
//! trusted or managed), `doctor` sees it, and uninstall takes it back.
//!
//! The managed layer is system-wide (`/etc/claude-code/`, `/etc/codex/`) and needs root: those
//! tests are skipped, with the reason printed, when not root, and also when the machine already
//! has a managed file of its own (a test must not overwrite a real policy). They hold an
//! exclusive lock on `/tmp/dashclaw-managed-layer.lock` while they touch `/etc`, so other tests
//! of the managed layer that take the same lock never see a half-written file.

use dashclaw_testkit::harness as common;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Home, DAEMON, HOOK};
use serde_json::Value;

const CLAUDE_MANAGED: &str = "/etc/claude-code/managed-settings.json";
const CODEX_MANAGED: &str = "/etc/codex/config.toml";

/// `dashclawd <args>` run from `cwd` with HOME and DASHCLAW_HOME in `home`.
fn dashclawd_in(home: &Home, cwd: &Path, args: &[&str]) -> Output {
    Command::new(DAEMON)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("DASHCLAW_HOME", home.path())
        .current_dir(cwd)
        .output()
        .expect("run dashclawd")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}{}",
        common::stdout(out),
        common::stderr(out)
    );
}

fn codex_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("DASHCLAW_CODEX_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/agents/node_modules/.bin/codex")
        });
    if bin.is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var("DASHCLAW_SKIP_E2E").as_deref() == Ok("1"),
        "codex not found at {}; run .ci/install-codex.sh or set DASHCLAW_SKIP_E2E=1",
        bin.display()
    );
    eprintln!("skipping: no codex binary (DASHCLAW_SKIP_E2E=1)");
    None
}

fn doctor(home: &Home, cwd: &Path, args: &[&str]) -> Value {
    let out = dashclawd_in(home, cwd, &[&["doctor", "--json"], args].concat());
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json: {e}\n{}{}",
            common::stdout(&out),
            common::stderr(&out)
        )
    })
}

fn status<'a>(report: &'a Value, id: &str) -> &'a Value {
    &report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))["status"]
}

fn pre_tool_use_commands(settings: &Value) -> Vec<String> {
    settings["hooks"]["PreToolUse"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["hooks"].as_array().into_iter().flatten())
        .filter_map(|h| h["command"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn claude_project_scope_writes_the_project_settings_only() {
    let home = Home::new();
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    ok(&dashclawd_in(
        &home,
        &project,
        &[
            "install",
            "claude",
            "--scope",
            "project",
            "--hook-bin",
            HOOK.as_str(),
        ],
    ));
    let file = project.join(".claude/settings.json");
    let settings: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let pre = pre_tool_use_commands(&settings);
    assert!(
        pre.iter()
            .any(|c| c.contains(HOOK.as_str()) && c.ends_with("claude pre-tool-use")),
        "{settings:#}"
    );
    assert!(
        !home.path().join(".claude").exists(),
        "the user's settings are not touched"
    );
    // doctor checks the file it is pointed at, and its probe holds.
    let r = doctor(
        &home,
        &project,
        &["--claude-settings", file.to_str().unwrap()],
    );
    assert_eq!(status(&r, "agent.claude.probe"), "ok", "{r:#}");

    ok(&dashclawd_in(
        &home,
        &project,
        &["install", "claude", "--scope", "project", "--uninstall"],
    ));
    let settings: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(pre_tool_use_commands(&settings).is_empty(), "{settings:#}");
}

#[test]
fn codex_project_scope_is_trusted_in_the_user_config_and_verified_by_codex() {
    let Some(codex) = codex_bin() else { return };
    let home = Home::new();
    let project = home.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let codex_s = codex.to_str().unwrap();
    let install = [
        "install",
        "codex",
        "--scope",
        "project",
        "--hook-bin",
        HOOK.as_str(),
        "--codex-bin",
        codex_s,
    ];

    // Codex ignores the .codex/ of a project nobody trusted: the installer says so, loudly.
    let out = dashclawd_in(&home, &project, &install);
    assert!(!out.status.success(), "{}", common::stdout(&out));
    assert!(
        common::stderr(&out).contains("NOT ACTIVE") && common::stderr(&out).contains("trust_level"),
        "{}",
        common::stderr(&out)
    );

    // Trusted as Codex records it when the user accepts the project.
    let user = home.path().join(".codex/config.toml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    let user_text = format!(
        "[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
        project.display()
    );
    std::fs::write(&user, &user_text).unwrap();
    let out = dashclawd_in(&home, &project, &install);
    ok(&out);
    assert!(
        common::stdout(&out).contains("verified: Codex reports all"),
        "the real Codex lists the project hooks as trusted: {}",
        common::stdout(&out)
    );
    let file = project.join(".codex/config.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(HOOK.as_str()), "{text}");
    assert!(
        !text.contains("trusted_hash"),
        "a project cannot trust its own hooks: {text}"
    );
    let trusted = std::fs::read_to_string(&user).unwrap();
    assert!(
        trusted.starts_with(&user_text) && trusted.contains("trusted_hash"),
        "the trust is in the user's config, which is otherwise kept: {trusted}"
    );

    ok(&dashclawd_in(
        &home,
        &project,
        &["install", "codex", "--scope", "project", "--uninstall"],
    ));
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(!text.contains("dashclaw-hook"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&user).unwrap(),
        user_text,
        "uninstall takes our trust entries back out of the user's config"
    );
}

// ---------------------------------------------------------------------------------------------
// The managed layer (root only)
// ---------------------------------------------------------------------------------------------

/// Holds the managed-layer lock, and puts `path` (and the directory, if it made it) back as it
/// was when dropped.
struct ManagedFile {
    path: PathBuf,
    made_dir: bool,
    _lock: File,
}

impl ManagedFile {
    /// `None` (skip, reason printed) when not root or when a managed file already exists.
    fn take(path: &str) -> Option<ManagedFile> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipping: writing {path} needs root, and this test runs as a normal user");
            return None;
        }
        let lock = File::create("/tmp/dashclaw-managed-layer.lock").expect("lock file");
        // SAFETY: flock on a file descriptor we own; blocks until the other holder is done.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        let path = PathBuf::from(path);
        if path.exists() {
            eprintln!(
                "skipping: {} already exists on this machine; a test must not replace a real \
                 managed policy",
                path.display()
            );
            return None;
        }
        let dir = path.parent().unwrap();
        let made_dir = !dir.exists();
        Some(ManagedFile {
            path,
            made_dir,
            _lock: lock,
        })
    }
}

impl Drop for ManagedFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(self.path.with_extension("json.dashclaw-backup"));
        let _ = std::fs::remove_file(self.path.with_extension("toml.dashclaw-backup"));
        if self.made_dir {
            let _ = std::fs::remove_dir(self.path.parent().unwrap());
        }
    }
}

#[test]
fn claude_managed_scope_writes_the_managed_settings_and_doctor_checks_them() {
    let Some(managed) = ManagedFile::take(CLAUDE_MANAGED) else {
        return;
    };
    let home = Home::new();
    ok(&dashclawd_in(
        &home,
        home.path(),
        &[
            "install",
            "claude",
            "--scope",
            "managed",
            "--hook-bin",
            HOOK.as_str(),
        ],
    ));
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(&managed.path).unwrap()).unwrap();
    assert!(
        pre_tool_use_commands(&settings)
            .iter()
            .any(|c| c.contains(HOOK.as_str())),
        "{settings:#}"
    );
    assert!(
        !home.path().join(".claude").exists(),
        "the user's settings are not touched"
    );
    let r = doctor(&home, home.path(), &[]);
    assert_eq!(status(&r, "agent.claude_managed"), "ok", "{r:#}");
    assert_eq!(
        status(&r, "agent.claude_managed.fail_closed"),
        "ok",
        "{r:#}"
    );
    assert_eq!(status(&r, "agent.claude_managed.probe"), "ok", "{r:#}");

    ok(&dashclawd_in(
        &home,
        home.path(),
        &["install", "claude", "--scope", "managed", "--uninstall"],
    ));
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(&managed.path).unwrap()).unwrap();
    assert!(pre_tool_use_commands(&settings).is_empty(), "{settings:#}");
}

#[test]
fn codex_managed_scope_needs_no_trust_and_codex_lists_the_hooks_as_managed() {
    let Some(codex) = codex_bin() else { return };
    let Some(managed) = ManagedFile::take(CODEX_MANAGED) else {
        return;
    };
    let home = Home::new();
    let codex_s = codex.to_str().unwrap();
    let out = dashclawd_in(
        &home,
        home.path(),
        &[
            "install",
            "codex",
            "--scope",
            "managed",
            "--hook-bin",
            HOOK.as_str(),
            "--codex-bin",
            codex_s,
        ],
    );
    ok(&out);
    assert!(
        common::stdout(&out).contains("DashClaw hooks managed"),
        "the real Codex lists the hooks as managed: {}",
        common::stdout(&out)
    );
    let text = std::fs::read_to_string(&managed.path).unwrap();
    assert!(text.contains(HOOK.as_str()), "{text}");
    assert!(
        !text.contains("trusted_hash"),
        "the managed layer needs no trust entries: {text}"
    );
    let r = doctor(&home, home.path(), &["--codex-bin", codex_s]);
    assert_eq!(status(&r, "agent.codex_managed"), "ok", "{r:#}");
    assert_eq!(status(&r, "agent.codex_managed.trust"), "ok", "{r:#}");
    assert_eq!(status(&r, "agent.codex_managed.probe"), "ok", "{r:#}");

    ok(&dashclawd_in(
        &home,
        home.path(),
        &["install", "codex", "--scope", "managed", "--uninstall"],
    ));
    let text = std::fs::read_to_string(&managed.path).unwrap_or_default();
    assert!(!text.contains("dashclaw-hook"), "{text}");
}
