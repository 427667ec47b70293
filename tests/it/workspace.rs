//! The walls of the workspace (ARCHITECTURE.md, "Workspace"), checked on the resolved dependency
//! tree (`cargo tree`, offline, from Cargo.lock): the hook and proto may grow only by an explicit
//! change to the lists below, and core never gains an async runtime, sockets, HTTP or SQLite.

use std::collections::BTreeSet;
use std::process::Command;

/// Every package `pkg` needs to build (normal and build dependencies, for this host), by name.
fn closure(pkg: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", pkg, "-e", "normal,build", "--prefix", "none"])
        .args(["--format", "{p}", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {pkg}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(names.contains(pkg), "{pkg} not in its own tree: {names:?}");
    names
}

/// What the hook binary may be built from. Adding a crate here is a design decision: the hook
/// runs on every tool call of every agent and must start like `/bin/true` and never fail open.
const HOOK_ALLOWED: &[&str] = &[
    "dashclaw-hook",
    "dashclaw-proto",
    "libc",
    // dashclaw-proto's platform directories.
    "directories",
    "dirs-sys",
    "option-ext",
    // sha2 for the install record (dashclawd.sha256).
    "sha2",
    "digest",
    "block-buffer",
    "crypto-common",
    "generic-array",
    "typenum",
    "version_check",
    "cfg-if",
    "cpufeatures",
];

const PROTO_ALLOWED: &[&str] = &[
    "dashclaw-proto",
    "libc",
    "directories",
    "dirs-sys",
    "option-ext",
];

/// Never in the hook, whatever the allow-list says (named in the failure for a quick diagnosis).
const HEAVY: &[&str] = &[
    "tokio",
    "regex",
    "regex-automata",
    "rusqlite",
    "libsqlite3-sys",
    "reqwest",
    "hyper",
    "serde",
    "serde_json",
    "aho-corasick",
    "dashclaw-core",
    "dashclaw-sidecar",
];

/// Never in core: it decides, the daemon does the I/O. (`mio` is allowed: `notify`, which the
/// policy store uses to follow policies.toml, runs its inotify loop on it; no sockets.)
const NOT_IN_CORE: &[&str] = &[
    "tokio",
    "socket2",
    "reqwest",
    "hyper",
    "rustls",
    "rusqlite",
    "libsqlite3-sys",
    "dashclaw-hook",
    "dashclaw-sidecar",
];

fn check_allowed(pkg: &str, allowed: &[&str]) {
    let got = closure(pkg);
    let heavy: Vec<&String> = got.iter().filter(|n| HEAVY.contains(&n.as_str())).collect();
    let extra: Vec<&String> = got
        .iter()
        .filter(|n| !allowed.contains(&n.as_str()))
        .collect();
    assert!(
        heavy.is_empty() && extra.is_empty(),
        "{pkg} must depend on dashclaw-proto, libc and sha2 alone (ARCHITECTURE.md, Workspace): \
         heavy crates {heavy:?}, crates outside the allow-list {extra:?}"
    );
}

#[test]
fn hook_depends_on_proto_alone() {
    check_allowed("dashclaw-hook", HOOK_ALLOWED);
}

#[test]
fn proto_is_std_libc_and_directories() {
    check_allowed("dashclaw-proto", PROTO_ALLOWED);
}

#[test]
fn core_has_no_runtime_sockets_http_or_sqlite() {
    let got = closure("dashclaw-core");
    let bad: Vec<&String> = got
        .iter()
        .filter(|n| NOT_IN_CORE.contains(&n.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "dashclaw-core must not depend on an async runtime, sockets, HTTP or SQLite \
         (ARCHITECTURE.md, Workspace): {bad:?}"
    );
    // It is the decision logic: the classifier's and redaction's engines are in.
    for needed in ["regex", "aho-corasick", "serde_json", "dashclaw-proto"] {
        assert!(
            got.contains(needed),
            "{needed} missing from core's tree: {got:?}"
        );
    }
}
