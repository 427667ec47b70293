//! Where the binaries under test are: `dashclawd` (the root package's binary) and `dashclaw-hook`
//! (crates/hook's). Cargo tells an integration test only about its own package's binaries
//! (`CARGO_BIN_EXE_*`), so both are found the way cargo lays them out: beside the `deps/`
//! directory that holds the running test or bench executable (`target/<profile>/`). The README's
//! `cargo test` builds every workspace member (`default-members`), hook binary included.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

/// One of the project's binaries; usable wherever a path is (`Command::new(HOOK)`, `.arg(HOOK)`,
/// `format!("{HOOK}")`, `fs::copy(HOOK, ..)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bin(&'static str);

/// `dashclaw-hook`, built by crates/hook.
pub const HOOK: Bin = Bin("dashclaw-hook");
/// `dashclawd`, the root package's binary.
pub const DAEMON: Bin = Bin("dashclawd");

impl Bin {
    /// The binary's absolute path. Panics with what to run when it is missing or older than its
    /// sources (a stale hook would test yesterday's code).
    pub fn path(self) -> &'static Path {
        static HOOK_PATH: OnceLock<PathBuf> = OnceLock::new();
        static DAEMON_PATH: OnceLock<PathBuf> = OnceLock::new();
        let cell = if self == HOOK {
            &HOOK_PATH
        } else {
            &DAEMON_PATH
        };
        cell.get_or_init(|| locate(self.0))
    }

    pub fn as_str(self) -> &'static str {
        self.path()
            .to_str()
            .expect("target directory path is UTF-8")
    }
}

fn locate(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    // target/<profile>/deps/<test>-<hash>: the binaries are in target/<profile>/.
    let dir = exe
        .parent()
        .and_then(|d| {
            if d.ends_with("deps") {
                d.parent()
            } else {
                Some(d)
            }
        })
        .expect("test executable has a directory");
    let bin = dir.join(name);
    let built = match bin.metadata().and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(e) => panic!(
            "{} not found ({e}): build the whole workspace first (`cargo test` from the \
             repository root builds every member; or `cargo build -p dashclaw-hook`)",
            bin.display()
        ),
    };
    if name == "dashclaw-hook" {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for src in ["hook", "proto"] {
            if let Some(newer) = newer_than(&crates.join(src), built) {
                panic!(
                    "{} is older than {}: rebuild it (`cargo build -p dashclaw-hook`, or run \
                     `cargo test` from the repository root, which builds every member)",
                    bin.display(),
                    newer.display()
                );
            }
        }
    }
    bin
}

/// A source file (`*.rs`, `Cargo.toml`) under `dir` modified after `t`, if any.
fn newer_than(dir: &Path, t: SystemTime) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    for e in entries.flatten() {
        let p = e.path();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            if let Some(found) = newer_than(&p, t) {
                return Some(found);
            }
        } else if (p.extension() == Some(OsStr::new("rs")) || p.ends_with("Cargo.toml"))
            && meta.modified().is_ok_and(|m| m > t)
        {
            return Some(p);
        }
    }
    None
}

impl AsRef<OsStr> for Bin {
    fn as_ref(&self) -> &OsStr {
        self.path().as_os_str()
    }
}

impl AsRef<Path> for Bin {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl fmt::Display for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
