//! Self-protection: the locations an agent must not change to switch its guard off.
//!
//! Two sources: what the daemon knows for certain (`ClassifyContext::protected_dirs`,
//! `agent_settings`, `dashclaw_bins`) and built-in patterns that hold wherever the files live
//! (`.claude/settings*.json`, `.codex/config.toml`, a binary named `dashclawd`, ...). Matching
//! is lexical on the resolved path, so a file that does not exist yet is still protected.

use super::paths::{self, normalize, resolve};
use super::ClassifyContext;

/// Why a path is protected, for the finding's reason.
pub(crate) type What = &'static str;

const CLAUDE: What = "Claude Code's hook settings";
const CODEX: What = "Codex's hook configuration";
const HERMES: What = "Hermes's hook configuration";
const BIN: What = "a DashClaw binary";
const STATE: What = "DashClaw's state or configuration";
const LEDGER: What = "the DashClaw audit ledger";
const HOOK_SCRIPT: What = "a hook script an agent runs around its tool calls";

fn parent_and_base(norm: &str) -> (&str, &str) {
    let t = norm.trim_end_matches('/');
    match t.rsplit_once('/') {
        Some((dir, base)) => (dir.rsplit('/').next().unwrap_or(dir), base),
        None => ("", t),
    }
}

/// Built-in file patterns, independent of where home is.
fn file_pattern(norm: &str) -> Option<What> {
    let (parent, base) = parent_and_base(norm);
    let json = base.ends_with(".json");
    match parent {
        ".claude" if base.starts_with("settings") && json => return Some(CLAUDE),
        "claude-code" | "ClaudeCode" if base == "managed-settings.json" => return Some(CLAUDE),
        ".codex" if matches!(base, "config.toml" | "hooks.json") => return Some(CODEX),
        "codex" if norm.starts_with("/etc/") && base == "config.toml" => return Some(CODEX),
        ".hermes" if matches!(base, "config.yaml" | "config.yml") => return Some(HERMES),
        _ => {}
    }
    // Claude Code's user state, where MCP servers (programs it starts) are registered.
    if base == "managed-settings.json"
        || base == ".claude.json"
        || base == ".mcp.json" && parent == ".claude"
    {
        return Some(CLAUDE);
    }
    // Scripts the agents' hook settings name: rewriting one rewrites the hook.
    if parent == "hooks"
        && [".claude/hooks/", ".codex/hooks/", ".hermes/hooks/"]
            .iter()
            .any(|d| norm.contains(&format!("/{d}")) || norm.starts_with(d))
    {
        return Some(HOOK_SCRIPT);
    }
    if matches!(base, "dashclawd" | "dashclaw-hook") {
        return Some(BIN);
    }
    // The daemon's own service definitions (systemd units, launchd agents).
    if base.contains("dashclaw")
        && (base.ends_with(".service") || base.ends_with(".socket") || base.ends_with(".plist"))
    {
        return Some(BIN);
    }
    if base.starts_with("ledger.db") && norm.contains("dashclaw") {
        return Some(LEDGER);
    }
    None
}

/// Directories whose contents are protected, built in from `home`.
fn builtin_dirs(home: Option<&str>) -> [Option<String>; 10] {
    let h = |rel: &str| home.map(|h| normalize(&format!("{h}/{rel}")));
    [
        // The upstream hooks' and SDK's own directory (`config.json` with the API key,
        // outage logs), which users switching over still have.
        h(".dashclaw"),
        h(".local/state/dashclaw"),
        h(".local/share/dashclaw"),
        h(".config/dashclaw"),
        h("Library/Application Support/dev.dashclaw.dashclaw"),
        h("Library/Preferences/dev.dashclaw.dashclaw"),
        h(".claude"),
        h(".codex"),
        h(".hermes"),
        h(".openclaw"),
    ]
}

fn inside(path: &str, dir: &str) -> bool {
    super::paths::is_inside(path, dir) && !dir.is_empty()
}

/// A protected location named by `raw` (as the agent wrote it), resolved against `cwd`.
///
/// `subtree`: the operation also affects everything below the path (`rm -r`, `mv`, `chmod -R`),
/// so a directory that contains a protected location counts too.
pub(crate) fn check(raw: &str, cwd: &str, ctx: &ClassifyContext, subtree: bool) -> Option<What> {
    if raw.is_empty() {
        return None;
    }
    if raw.contains("CLAUDE_CONFIG_DIR") {
        return Some(CLAUDE);
    }
    if raw.contains("DASHCLAW_HOME") {
        return Some(STATE);
    }
    // Hot path: a plain file name (`out/a`, `build.log`) that names nothing of the guard, in a
    // directory that is not the guard's, needs no resolution. Only configured locations and
    // subtree operations (a parent of a protected directory) need the full check.
    let configured = !(ctx.agent_settings.is_empty()
        && ctx.protected_dirs.is_empty()
        && ctx.dashclaw_bins.is_empty());
    if !subtree
        && !configured
        && !mentions_guard(raw)
        && (raw.starts_with('/') || !mentions_guard(cwd))
    {
        return None;
    }
    let norm = resolve(raw, cwd, ctx.home);
    if let Some(w) = file_pattern(&norm) {
        return Some(w);
    }
    for p in ctx.agent_settings {
        let p = normalize(&p.to_string_lossy());
        if norm == p || (subtree && inside(&p, &norm)) {
            return Some(CLAUDE);
        }
    }
    for p in ctx.dashclaw_bins {
        let p = normalize(&p.to_string_lossy());
        if norm == p || (subtree && inside(&p, &norm)) {
            return Some(BIN);
        }
    }
    for d in ctx.protected_dirs {
        let d = normalize(&d.to_string_lossy());
        if inside(&norm, &d) || (subtree && inside(&d, &norm)) {
            return Some(STATE);
        }
    }
    let dirs = builtin_dirs(ctx.home);
    for (i, d) in dirs.iter().enumerate() {
        let Some(d) = d else { continue };
        // `~/.claude` and `~/.codex` hold much more than settings: only the directory itself
        // (removing or moving it drops the hooks) counts, the files are matched by pattern.
        let agent_dir = i >= 5;
        if (!agent_dir && inside(&norm, d)) || (subtree && inside(d, &norm)) {
            return Some(if agent_dir { CLAUDE } else { STATE });
        }
    }
    if subtree {
        for d in ["/etc/claude-code", "/etc/codex"] {
            if inside(d, &norm) {
                return Some(CLAUDE);
            }
        }
        let ws_claude = normalize(&format!("{}/.claude", ctx.workspace));
        if inside(&ws_claude, &norm) && norm != "/" {
            return Some(CLAUDE);
        }
    }
    None
}

/// Every built-in protected location has one of these in its path.
fn mentions_guard(t: &str) -> bool {
    // One pass over `t` for `claude`, `codex`, `hermes`, `Claude`, `dashclaw`,
    // `managed-settings` (this runs for every path a command changes).
    let b = t.as_bytes();
    let at = |i: usize, k: &[u8]| b[i..].starts_with(k);
    (0..b.len()).any(|i| match b[i] {
        b'c' => at(i, b"claude") || at(i, b"codex"),
        b'h' => at(i, b"hermes"),
        b'C' => at(i, b"Claude"),
        b'd' => at(i, b"dashclaw"),
        b'm' => at(i, b"managed-settings"),
        _ => false,
    })
}

/// A process name or pattern that names the guard (`pkill dashclawd`, `killall dashclaw-hook`).
pub(crate) fn names_guard_process(text: &str) -> bool {
    text.contains("dashclaw")
}

/// Whether a process pattern (`pgrep -f PAT`, `grep PAT` in a listing, `killall -r PAT`) could
/// select the guard: a piece of its name (`claw`, `d.shclawd`) or a regular expression that
/// matches it (`dash.*`, `.*`).
pub(crate) fn pattern_matches_guard(pat: &str) -> bool {
    const NAMES: &[&str] = &["dashclawd", "dashclaw-hook"];
    let p = pat.to_ascii_lowercase();
    if p.len() >= 3 && NAMES.iter().any(|n| n.contains(p.as_str())) {
        return true;
    }
    if !p.contains(['.', '*', '[', '^', '|', '?', '+', '\\']) {
        return false;
    }
    regex::RegexBuilder::new(&p)
        .size_limit(1 << 16)
        .build()
        .is_ok_and(|re| NAMES.iter().any(|n| re.is_match(n)))
}

/// Fragments that suggest a dynamic path may land on a protected file.
pub(crate) fn looks_protected(text: &str) -> bool {
    [
        "settings",
        ".claude",
        ".codex",
        ".hermes",
        "dashclaw",
        "CLAUDE_CONFIG",
        "hooks.json",
    ]
    .iter()
    .any(|k| text.contains(k))
}

/// Files a login or interactive shell reads at start: a line added there runs in every later
/// shell, including the agent's next one.
const STARTUP_FILES: &[&str] = &[
    ".bashrc",
    ".bash_aliases",
    ".zlogout",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".kshrc",
    ".mkshrc",
    ".cshrc",
    ".tcshrc",
    ".pam_environment",
    ".envrc",
];

/// A shell start-up file (`~/.bashrc`, fish's `config.fish`, `/etc/environment`, …).
pub(crate) fn is_startup_file(norm: &str) -> bool {
    let base = norm.rsplit('/').next().unwrap_or(norm);
    STARTUP_FILES.contains(&base)
        || (norm.contains("/fish/") && base.ends_with(".fish"))
        || matches!(
            norm,
            "/etc/environment"
                | "/etc/profile"
                | "/etc/bash.bashrc"
                | "/etc/bashrc"
                | "/etc/zshenv"
                | "/etc/zshrc"
                | "/etc/zsh/zshenv"
                | "/etc/zsh/zshrc"
        )
        || norm.starts_with("/etc/profile.d/")
}

/// What runs later from a file outside the workspace: a write there is graded by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Later {
    /// Started by the service manager or the desktop at login or boot.
    Autostart,
    /// Loaded and run later by another program (an editor, Python, an agent's MCP list).
    Loaded,
    /// A program on the search path under a name another program already answers to.
    Shadow,
    /// Where package managers fetch from, or how they verify it.
    PackageSource,
    /// Git's global configuration (aliases, hooks path, pager, ssh command).
    GitConfig,
}

/// The kind of `norm` (a resolved path; `outside`: not in the workspace) if something reads it
/// later and runs or installs what it says.
pub(crate) fn runs_later(norm: &str, outside: bool, home: Option<&str>) -> Option<Later> {
    // Hot path: every place below has a dot-directory, `Library`, `-packages`, `mcp`, `/etc/`
    // or a `bin` directory in its path; an ordinary project file has none of them.
    let candidate = norm.starts_with("/etc/")
        || norm.split('/').any(|seg| {
            seg.starts_with('.')
                || seg == "bin"
                || seg == "Library"
                || seg.ends_with("-packages")
                || seg.contains("mcp")
                || seg.ends_with("customize.py")
                || seg == "pip.ini"
                || seg == "Start Menu"
        });
    if !candidate {
        return None;
    }
    let base = norm.rsplit('/').next().unwrap_or(norm);
    // Anywhere: code every Python start loads, programs that shadow a project's tools, the
    // agents' MCP server lists (started outside any hook), editor tasks run on opening.
    if (norm.contains("-packages/") && (base.ends_with(".pth")))
        || matches!(base, "sitecustomize.py" | "usercustomize.py")
        || norm.contains("/node_modules/.bin/")
        || matches!(base, ".mcp.json" | "mcp.json" | "mcp_config.json")
            && !norm.contains("/node_modules/")
    {
        return Some(if norm.contains("/node_modules/.bin/") {
            Later::Shadow
        } else {
            Later::Loaded
        });
    }
    // Windows runs what its Startup folders hold at every sign-in, wherever the profile is.
    if norm.contains("/Start Menu/Programs/Startup") {
        return Some(Later::Autostart);
    }
    if !outside {
        return None;
    }
    // The user's program directories on the search path: a file there answers to its name
    // before the system's (`~/.local/bin/git`); editor start-up files run their commands.
    // Build tools' user-wide start-up scripts run in every build of every project too
    // (Gradle's init scripts, Maven's extensions, sbt's global plugins).
    const EDITOR_DIRS: &[&str] = &[
        "/.vim/",
        "/.config/nvim/",
        "/.emacs.d/",
        "/.config/emacs/",
        "/.gradle/init.d/",
        "/.sbt/1.0/plugins/",
        "/.m2/extensions",
    ];
    if EDITOR_DIRS.iter().any(|d| norm.contains(d))
        || matches!(base, ".vimrc" | ".gvimrc" | ".exrc" | ".emacs")
        || norm.ends_with("/.gradle/init.gradle")
        || norm.ends_with("/.gradle/init.gradle.kts")
    {
        return Some(Later::Loaded);
    }
    let on_path = norm.contains("/.local/bin/")
        || home.is_some_and(|h| {
            let bin = format!("{}/bin", h.trim_end_matches('/'));
            paths::is_inside(norm, &bin) && norm != bin
        });
    if on_path && super::rules::known_program(base) {
        return Some(Later::Shadow);
    }
    const AUTOSTART_DIRS: &[&str] = &[
        "/.config/systemd/user/",
        "/.local/share/systemd/user/",
        "/.config/containers/systemd/",
        "/.config/autostart/",
        "/.config/environment.d/",
        "/.config/upstart/",
        "/.config/plasma-workspace/env/",
        "/Library/LaunchAgents/",
        "/Library/LaunchDaemons/",
        "/etc/xdg/autostart/",
    ];
    const AUTOSTART_FILES: &[&str] = &[".xprofile", ".xinitrc", ".xsession", ".xsessionrc"];
    const PACKAGE_FILES: &[&str] = &[
        "/.pip/pip.conf",
        "/.config/pip/pip.conf",
        "/pip/pip.ini",
        "/etc/pip.conf",
        "/.gemrc",
        "/.yarnrc",
        "/.yarnrc.yml",
        "/.bunfig.toml",
        "/.cargo/config",
        "/.cargo/config.toml",
        "/.config/uv/uv.toml",
        "/.condarc",
        "/.m2/settings.xml",
        "/.config/containers/registries.conf",
        "/etc/apt/sources.list",
    ];
    const PACKAGE_DIRS: &[&str] = &[
        "/etc/apt/sources.list.d/",
        "/etc/apt/trusted.gpg.d/",
        "/etc/apt/keyrings/",
        "/etc/yum.repos.d/",
        "/etc/zypp/repos.d/",
    ];
    let dir = |d: &&str| norm.contains(d) || format!("{norm}/").ends_with(d);
    if AUTOSTART_DIRS.iter().any(dir) || AUTOSTART_FILES.contains(&base) {
        Some(Later::Autostart)
    } else if PACKAGE_FILES.iter().any(|f| norm.ends_with(f)) || PACKAGE_DIRS.iter().any(dir) {
        Some(Later::PackageSource)
    } else if norm.ends_with("/.gitconfig") || norm.ends_with("/.config/git/config") {
        Some(Later::GitConfig)
    } else {
        None
    }
}

impl Later {
    /// The finding for `who` (e.g. "A redirection", "`Write`") writing `path` of this kind.
    pub(crate) fn finding(self, who: &str, path: &str) -> crate::event::Finding {
        use crate::catalog::rules as r;
        match self {
            Later::Autostart => r::AUTOSTART_WRITE.finding(format!(
                "{who} writes `{path}`, which starts by itself at the next login or boot, unseen by the hook."
            )),
            Later::Loaded => r::AUTOSTART_WRITE.finding(format!(
                "{who} writes `{path}`, which another program loads and runs later, unseen by the hook."
            )),
            Later::Shadow => r::AUTOSTART_WRITE.finding(format!(
                "{who} writes `{path}` on the search path, where it runs in place of the program of that name."
            )),
            Later::PackageSource => r::PACKAGE_SOURCE.finding(format!(
                "{who} writes `{path}`, which decides where later installs fetch packages from."
            )),
            Later::GitConfig => r::GIT_HOOK_WRITE.finding(format!(
                "{who} writes `{path}`, git's global configuration (aliases, hooks, pager, ssh command run later)."
            )),
        }
    }
}

/// What a line added to a start-up file would change about the guard or the agents, if
/// anything: their settings, `PATH`, or an alias/function shadowing their programs.
pub(crate) fn startup_tamper(content: &str) -> Option<&'static str> {
    const SETTINGS: &[(&str, &str)] = &[
        ("DASHCLAW", "a DashClaw setting"),
        ("CLAUDE_", "a Claude Code setting"),
        ("ANTHROPIC_", "a Claude Code setting"),
        ("CODEX_", "a Codex setting"),
        ("HERMES_", "a Hermes setting"),
        ("OPENCLAW", "an OpenClaw setting"),
        ("LD_PRELOAD", "a preloaded library"),
        ("DYLD_INSERT_LIBRARIES", "a preloaded library"),
        ("BASH_ENV", "a script every shell runs"),
        ("PROMPT_COMMAND", "a command every prompt runs"),
    ];
    if let Some((_, what)) = SETTINGS.iter().find(|(k, _)| content.contains(k)) {
        return Some(what);
    }
    let anywhere = [
        "export PATH=",
        "PATH=$",
        "PATH=/",
        "PATH=~",
        "PATH=\"",
        "fish_add_path",
    ]
    .iter()
    .any(|k| content.contains(k));
    let path_change = anywhere
        || content.lines().any(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("export ").unwrap_or(l);
            l.starts_with("PATH=")
                || l.starts_with("PATH+=")
                || l.starts_with("path=(")
                || l.starts_with("path+=")
                || l.contains("fish_add_path")
                || l.contains("set -x PATH")
                || l.contains("set -gx PATH")
                || l.contains("set -Ux PATH")
        });
    if path_change {
        return Some("a `PATH` change");
    }
    const SHADOWED: &[&str] = &[
        "dashclaw", "claude", "codex", "hermes", "openclaw", "node", "bash", "sh", "git", "ls",
        "rm", "cp", "mv", "cd", "sudo", "ssh", "curl", "wget", "cat", "python", "python3", "npm",
        "make", "docker", "kubectl", "grep", "find", "echo", "env", "which", "command", "type",
        "zsh",
    ];
    let from_alias = content.match_indices("alias ").map(|(i, _)| &content[i..]);
    let shadows = from_alias.chain(content.lines()).any(|l| {
        let l = l.trim_start();
        let name = l
            .strip_prefix("alias ")
            .map(|r| r.split('=').next().unwrap_or(""))
            .or_else(|| {
                l.strip_prefix("function ")
                    .map(|r| r.split(['(', ' ', '{']).next().unwrap_or(""))
            })
            .or_else(|| l.split_once("()").map(|(n, _)| n.trim()));
        name.is_some_and(|n| {
            let n = n.trim().trim_matches(['\'', '"']);
            SHADOWED
                .iter()
                .any(|s| n == *s || n.starts_with("dashclaw"))
        })
    });
    shadows.then_some("an alias or function shadowing the agent or the guard")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let ctx = ClassifyContext::new("/w", Some("/home/u"));
        for p in [
            "~/.claude/settings.json",
            ".claude/settings.local.json",
            "/w/.claude/settings.json",
            "/etc/claude-code/managed-settings.json",
            "~/.codex/config.toml",
            "/etc/codex/config.toml",
            "/home/u/.codex/hooks.json",
            "~/.hermes/config.yaml",
            "/usr/local/bin/dashclawd",
            "~/.local/state/dashclaw/ledger.db",
            "$CLAUDE_CONFIG_DIR/settings.json",
        ] {
            assert!(check(p, "/w", &ctx, false).is_some(), "{p}");
        }
        for p in [
            "src/settings.json",
            "~/.claude/CLAUDE.md",
            "config.toml",
            "/tmp/x",
        ] {
            assert!(check(p, "/w", &ctx, false).is_none(), "{p}");
        }
        assert!(check("~/.claude", "/w", &ctx, true).is_some());
        assert!(check(".claude", "/w", &ctx, true).is_some());
        assert!(check("~/.claude/projects", "/w", &ctx, true).is_none());
    }
}
