//! The hook guardian: tampering with the agents' hook configuration becomes visible even when it
//! succeeds.
//!
//! The daemon watches every place an installer puts our hooks (Claude Code `settings.json` of
//! the user, of each project it has seen a call from, and the managed one; Codex `config.toml`
//! of the user, the project and the system; Hermes `config.yaml`; the OpenClaw plugin) with
//! `notify` on their directories and a `stat` poll as a backstop. For each file it keeps only
//! what matters to the guard: how many of our hook entries there are, a digest of them, and
//! whether the file switches hooks off (`disableAllHooks`, Codex `[features] hooks = false`).
//! When our entries disappear, are switched off or change, the daemon records a `hooks-changed`
//! entry in the ledger, queues a report for the DashClaw server (when one is configured) and
//! lists it in `status` and `doctor`. The last state seen is kept in `state/guardian.json`, so a
//! change made while the daemon was stopped is reported when it next starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::install::MARKER;

/// How often every watched file is checked even without a file event.
const POLL: Duration = Duration::from_secs(2);
/// Projects whose settings are watched, at most (learned from the calls' working directories).
const MAX_PROJECTS: usize = 64;
/// Changes kept for `status`.
const KEEP_CHANGES: usize = 20;

/// One configuration file the guardian watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub agent: &'static str,
    pub scope: &'static str,
    pub path: PathBuf,
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    ClaudeJson,
    CodexToml,
    /// Hermes YAML: our entries are the lines naming the hook.
    Lines,
    /// A file that is ours as a whole (the OpenClaw plugin): any edit is a change.
    WholeFile,
}

/// What the guard cares about in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookState {
    pub exists: bool,
    /// Our hook entries.
    pub ours: usize,
    /// sha256 over our entries (command, event, matcher, timeout).
    pub digest: String,
    /// Set when the file switches hooks off, with how.
    pub disabled: Option<String>,
}

/// A change worth telling someone about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Change {
    pub at_ms: u64,
    pub agent: String,
    pub scope: String,
    pub path: PathBuf,
    /// `removed`, `disabled`, `changed`; `installed` and `enabled` are only logged (not
    /// problems, not audited).
    pub kind: String,
    pub summary: String,
}

impl Change {
    pub fn is_problem(&self) -> bool {
        matches!(self.kind.as_str(), "removed" | "disabled" | "changed")
    }
}

/// The files an installation may have hooks in, from each agent's integration.
pub fn default_targets() -> Vec<Target> {
    crate::agents::INTEGRATIONS
        .iter()
        .flat_map(|i| i.watched_files(None))
        .collect()
}

/// The project-level files of a working directory.
fn project_targets(cwd: &Path) -> Vec<Target> {
    crate::agents::INTEGRATIONS
        .iter()
        .flat_map(|i| i.watched_files(Some(cwd)))
        .collect()
}

/// A [`Target`], for the integrations' `watched_files`.
pub fn target(agent: &'static str, scope: &'static str, path: PathBuf, format: Format) -> Target {
    Target {
        agent,
        scope,
        path,
        format,
    }
}

/// Reads a file and extracts what the guard cares about.
pub fn inspect(t: &Target) -> HookState {
    let Ok(text) = std::fs::read_to_string(&t.path) else {
        return HookState::default();
    };
    let mut st = HookState {
        exists: true,
        ..HookState::default()
    };
    let mut h = Sha256::new();
    match t.format {
        Format::ClaudeJson => match serde_json::from_str::<Value>(&text) {
            Ok(doc) => {
                if doc["disableAllHooks"] == Value::Bool(true) {
                    st.disabled = Some("\"disableAllHooks\": true".into());
                }
                if let Some(hooks) = doc["hooks"].as_object() {
                    for (event, groups) in hooks {
                        for g in groups.as_array().into_iter().flatten() {
                            for hook in g["hooks"].as_array().into_iter().flatten() {
                                let cmd = hook["command"].as_str().unwrap_or("");
                                if cmd.contains(MARKER) {
                                    st.ours += 1;
                                    h.update(
                                        json!([event, g["matcher"], hook]).to_string().as_bytes(),
                                    );
                                }
                            }
                        }
                    }
                }
            }
            Err(_) if text.contains(MARKER) => {
                // Claude Code ignores a file it cannot parse: our hooks in it are off.
                st.ours = text.matches(MARKER).count();
                st.disabled = Some("the file is not valid JSON".into());
                h.update(text.as_bytes());
            }
            Err(_) => {}
        },
        Format::CodexToml => {
            lines(&text, &mut st, &mut h);
            if let Ok(doc) = text.parse::<toml::Table>() {
                let feature = doc
                    .get("features")
                    .and_then(|f| f.get("hooks"))
                    .and_then(toml::Value::as_bool);
                if feature == Some(false) {
                    st.disabled = Some("[features] hooks = false".into());
                }
            } else if st.ours > 0 {
                st.disabled = Some("the file is not valid TOML".into());
            }
        }
        Format::Lines => lines(&text, &mut st, &mut h),
        Format::WholeFile => {
            st.ours = 1;
            h.update(text.as_bytes());
        }
    }
    st.digest = hex::encode(h.finalize());
    st
}

fn lines(text: &str, st: &mut HookState, h: &mut Sha256) {
    for l in text.lines().filter(|l| l.contains(MARKER)) {
        // A commented-out entry is a removed one.
        let t = l.trim_start();
        if t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        st.ours += 1;
        h.update(l.trim().as_bytes());
        h.update(b"\n");
    }
}

/// What changed between two states of one file, if it matters.
pub fn compare(t: &Target, old: &HookState, new: &HookState) -> Option<(String, String)> {
    let file = t.path.display();
    let who = format!("{} ({})", t.agent, t.scope);
    if old.ours > 0 && new.ours < old.ours {
        let how = if !new.exists {
            format!("{file} was deleted")
        } else if t.format == Format::WholeFile {
            format!("{file} was emptied")
        } else if new.ours == 0 {
            format!(
                "all {} DashClaw hook entries were removed from {file}",
                old.ours
            )
        } else {
            format!(
                "{} of {} DashClaw hook entries were removed from {file}",
                old.ours - new.ours,
                old.ours
            )
        };
        return Some(("removed".into(), format!("{who} hooks: {how}")));
    }
    // A disabling switch counts even in a file without our entries: Claude Code's project
    // `disableAllHooks` turns the user's hooks off too.
    if let (None, Some(how)) = (&old.disabled, &new.disabled) {
        return Some((
            "disabled".into(),
            format!("{who} hooks switched off in {file}: {how}"),
        ));
    }
    if old.ours > 0 && new.ours > 0 && old.digest != new.digest {
        return Some((
            "changed".into(),
            format!("{who} DashClaw hook entries were changed in {file}"),
        ));
    }
    if old.ours == 0 && new.ours > 0 {
        return Some((
            "installed".into(),
            format!("{who} DashClaw hooks installed in {file}"),
        ));
    }
    if let (Some(_), None) = (&old.disabled, &new.disabled) {
        return Some((
            "enabled".into(),
            format!("{who} hooks switched back on in {file}"),
        ));
    }
    None
}

enum Msg {
    Check,
    Add(Vec<Target>),
}

struct Inner {
    targets: Mutex<Vec<Target>>,
    projects: Mutex<Vec<PathBuf>>,
    changes: Mutex<Vec<Change>>,
    tx: Mutex<mpsc::Sender<Msg>>,
}

/// Handle to the watcher thread. Cheap to clone.
#[derive(Clone)]
pub struct Guardian {
    inner: Arc<Inner>,
}

impl Guardian {
    /// Compares every target with the state saved at `state_file`, reports the differences
    /// (changes made while no daemon ran), then watches. Every change goes to `report`.
    pub fn start(
        state_file: PathBuf,
        targets: Vec<Target>,
        report: impl Fn(Change) + Send + 'static,
    ) -> Guardian {
        let (tx, rx) = mpsc::channel();
        let inner = Arc::new(Inner {
            targets: Mutex::new(targets),
            projects: Mutex::new(Vec::new()),
            changes: Mutex::new(Vec::new()),
            tx: Mutex::new(tx.clone()),
        });
        let g = Guardian {
            inner: inner.clone(),
        };
        let thread_inner = inner.clone();
        let spawned = std::thread::Builder::new()
            .name("hook-guardian".into())
            .spawn(move || watch(thread_inner, state_file, rx, tx, report));
        if let Err(e) = spawned {
            tracing::error!("cannot start the hook guardian: {e}");
        }
        g
    }

    /// A call from `cwd`: its project's settings are watched from now on.
    pub fn observe_cwd(&self, cwd: &str) {
        let cwd = PathBuf::from(cwd);
        if !cwd.is_absolute() {
            return;
        }
        {
            let mut p = self
                .inner
                .projects
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if p.contains(&cwd) || p.len() >= MAX_PROJECTS {
                return;
            }
            p.push(cwd.clone());
        }
        let _ = self
            .inner
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(Msg::Add(project_targets(&cwd)));
    }

    /// The guardian part of `dashclawd status`.
    pub fn status(&self) -> Value {
        let targets = self.inner.targets.lock().unwrap_or_else(|p| p.into_inner());
        let watched: Vec<Value> = targets
            .iter()
            .filter(|t| t.path.exists())
            .map(|t| json!({"agent": t.agent, "scope": t.scope, "path": t.path}))
            .collect();
        let changes: Vec<Change> = self
            .inner
            .changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|c| c.is_problem())
            .cloned()
            .collect();
        json!({"watched": watched, "changes": changes})
    }
}

fn watch(
    inner: Arc<Inner>,
    state_file: PathBuf,
    rx: mpsc::Receiver<Msg>,
    tx: mpsc::Sender<Msg>,
    report: impl Fn(Change),
) {
    let mut saved: BTreeMap<PathBuf, HookState> = std::fs::read(&state_file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut watcher = make_watcher(tx);
    let mut watched_dirs: Vec<PathBuf> = Vec::new();
    let mut first = true;
    loop {
        let targets = inner
            .targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(w) = watcher.as_mut() {
            use notify::Watcher;
            for t in &targets {
                let Some(dir) = t.path.parent() else { continue };
                if !watched_dirs.iter().any(|d| d == dir)
                    && w.watch(dir, notify::RecursiveMode::NonRecursive).is_ok()
                {
                    watched_dirs.push(dir.to_path_buf());
                }
            }
        }
        let mut dirty = false;
        for t in &targets {
            let now = inspect(t);
            let change = match saved.get(&t.path) {
                Some(old) => compare(t, old, &now),
                // First sight: nothing to compare with (a fresh install or a new project).
                None => None,
            };
            if saved.get(&t.path) != Some(&now) {
                saved.insert(t.path.clone(), now);
                dirty = true;
            }
            if let Some((kind, mut summary)) = change {
                if first {
                    summary.push_str(" (while dashclawd was not running)");
                }
                let c = Change {
                    at_ms: crate::engine::now_us() / 1000,
                    agent: t.agent.into(),
                    scope: t.scope.into(),
                    path: t.path.clone(),
                    kind,
                    summary,
                };
                if c.is_problem() {
                    tracing::error!("hook guardian: {}", c.summary);
                } else {
                    tracing::info!("hook guardian: {}", c.summary);
                }
                {
                    let mut list = inner.changes.lock().unwrap_or_else(|p| p.into_inner());
                    list.push(c.clone());
                    let excess = list.len().saturating_sub(KEEP_CHANGES);
                    list.drain(..excess);
                }
                report(c);
            }
        }
        if dirty {
            save(&state_file, &saved);
        }
        first = false;
        // Wait for a file event or the poll, then let an editor's burst settle.
        match rx.recv_timeout(POLL) {
            Ok(msg) => {
                let mut msgs = vec![msg];
                std::thread::sleep(Duration::from_millis(50));
                msgs.extend(rx.try_iter());
                for m in msgs {
                    if let Msg::Add(new) = m {
                        let mut t = inner.targets.lock().unwrap_or_else(|p| p.into_inner());
                        for n in new {
                            if !t.contains(&n) {
                                t.push(n);
                            }
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn make_watcher(tx: mpsc::Sender<Msg>) -> Option<notify::RecommendedWatcher> {
    let tx = Mutex::new(tx);
    let handler = move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if !ev.kind.is_access() {
                let _ = tx
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .send(Msg::Check);
            }
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!("hook guardian: file events unavailable ({e}); polling every {POLL:?}");
            None
        }
    }
}

fn save(path: &Path, saved: &BTreeMap<PathBuf, HookState>) {
    let tmp = path.with_extension("json.tmp");
    let ok = serde_json::to_vec(saved)
        .map_err(std::io::Error::other)
        .and_then(|b| {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?
                .write_all(&b)
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = ok {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!("hook guardian: cannot save {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claude(dir: &Path) -> Target {
        target(
            "claude",
            "user",
            dir.join("settings.json"),
            Format::ClaudeJson,
        )
    }

    const HOOKED: &str = r#"{"hooks":{"PreToolUse":[{"matcher":"*","hooks":[{"type":"command","command":"/x/dashclaw-hook claude pre-tool-use","timeout":30}]}],
        "PostToolUse":[{"matcher":"*","hooks":[{"type":"command","command":"/x/dashclaw-hook claude post-tool-use"}]}]},"model":"a"}"#;

    #[test]
    fn claude_removal_disable_and_change_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let t = claude(dir.path());
        std::fs::write(&t.path, HOOKED).unwrap();
        let base = inspect(&t);
        assert_eq!(base.ours, 2);
        // Unrelated edits are not changes.
        std::fs::write(
            &t.path,
            HOOKED.replace("\"model\":\"a\"", "\"model\":\"b\""),
        )
        .unwrap();
        assert_eq!(compare(&t, &base, &inspect(&t)), None);
        std::fs::write(&t.path, HOOKED.replace("\"timeout\":30", "\"timeout\":1")).unwrap();
        assert_eq!(compare(&t, &base, &inspect(&t)).unwrap().0, "changed");
        std::fs::write(
            &t.path,
            HOOKED.replace("{\"hooks\":{", "{\"disableAllHooks\":true,\"hooks\":{"),
        )
        .unwrap();
        assert_eq!(compare(&t, &base, &inspect(&t)).unwrap().0, "disabled");
        std::fs::write(&t.path, r#"{"hooks":{}}"#).unwrap();
        let (kind, summary) = compare(&t, &base, &inspect(&t)).unwrap();
        assert_eq!(kind, "removed");
        assert!(summary.contains("all 2"), "{summary}");
        std::fs::remove_file(&t.path).unwrap();
        assert!(compare(&t, &base, &inspect(&t))
            .unwrap()
            .1
            .contains("deleted"));
    }

    #[test]
    fn codex_feature_switch_and_commented_lines() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(
            "codex",
            "user",
            dir.path().join("config.toml"),
            Format::CodexToml,
        );
        let text = "[features]\nhooks = true\n\n[[hooks.PreToolUse]]\ncommand = \"/x/dashclaw-hook codex pre-tool-use\"\n";
        std::fs::write(&t.path, text).unwrap();
        let base = inspect(&t);
        assert_eq!(base.ours, 1);
        std::fs::write(&t.path, text.replace("hooks = true", "hooks = false")).unwrap();
        assert_eq!(compare(&t, &base, &inspect(&t)).unwrap().0, "disabled");
        std::fs::write(&t.path, text.replace("command =", "# command =")).unwrap();
        assert_eq!(compare(&t, &base, &inspect(&t)).unwrap().0, "removed");
    }

    #[test]
    fn any_edit_of_the_openclaw_plugin_is_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(
            "openclaw",
            "plugin",
            dir.path().join("index.js"),
            Format::WholeFile,
        );
        std::fs::write(&t.path, "export default { run: () => hook() };\n").unwrap();
        let base = inspect(&t);
        std::fs::write(
            &t.path,
            "export default { run: () => ({ allow: true }) };\n",
        )
        .unwrap();
        assert_eq!(compare(&t, &base, &inspect(&t)).unwrap().0, "changed");
        std::fs::remove_file(&t.path).unwrap();
        assert_eq!(compare(&t, &base, &inspect(&t)).unwrap().0, "removed");
    }
}
