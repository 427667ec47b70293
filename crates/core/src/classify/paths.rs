//! Lexical path predicates shared by the shell and file-tool rules.
//!
//! Everything here is pure string work: the hook must not touch the filesystem on the hot path,
//! and the paths are often not there yet (a file about to be written).

/// Top-level directories whose removal or recursive re-permissioning breaks the machine.
const SYSTEM_TOP: &[&str] = &[
    "bin",
    "boot",
    "dev",
    "etc",
    "home",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "mnt",
    "media",
    "opt",
    "private",
    "proc",
    "root",
    "run",
    "sbin",
    "snap",
    "srv",
    "sys",
    "usr",
    "var",
    "Applications",
    "Library",
    "System",
    "Users",
    "Volumes",
];

/// Redirect targets under these raise the risk to 75 (upstream §2.4 step 3.5).
const SYSTEM_PREFIXES: &[&str] = &[
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/sys", "/proc", "/var", "/opt",
    "/dev",
];

/// First segments of relative paths that a build or install recreates.
/// Upstream's list plus the build outputs and caches of the other major ecosystems (Rust, JVM,
/// .NET, Python, Swift, Dart, Elixir, Haskell, Zig, Terraform, front-end tools).
const REGENERABLE_DIRS: &[&str] = &[
    // upstream
    ".next",
    // scratch directories
    "tmp",
    ".tmp",
    ".turbo",
    ".cache",
    // Framework caches (Symfony's `var/cache`, Laravel's `bootstrap/cache`).
    "cache",
    ".parcel-cache",
    "dist",
    "coverage",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".nuxt",
    ".svelte-kit",
    // JavaScript / TypeScript
    ".angular",
    ".vite",
    ".expo",
    ".docusaurus",
    ".output",
    ".vercel",
    ".nyc_output",
    "storybook-static",
    ".eslintcache",
    ".sass-cache",
    // Rust, C/C++, JVM, .NET, Go
    "target",
    "build",
    // .NET's intermediate output (`bin` can hold the project's own scripts).
    "obj",
    "out",
    "obj",
    ".gradle",
    "cmake-build-debug",
    "cmake-build-release",
    // Python
    ".venv",
    "venv",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".eggs",
    ".hypothesis",
    ".ipynb_checkpoints",
    "htmlcov",
    ".coverage",
    // Swift / Xcode, Dart / Flutter
    ".build",
    "DerivedData",
    "Pods",
    ".dart_tool",
    // Elixir, OCaml, Haskell, Zig
    "_build",
    "deps",
    ".elixir_ls",
    "dist-newstyle",
    ".stack-work",
    "zig-cache",
    ".zig-cache",
    "zig-out",
    // Terraform providers (re-downloaded by `init`)
    ".terraform",
];

const SCRATCH_ROOTS: &[&str] = &["/tmp/", "/var/tmp/", "/private/tmp/"];

/// Lexically normalizes a path: collapses `//` and `.`, resolves `..` (never above `/`).
/// Relative paths stay relative and may keep leading `..` segments.
pub fn normalize(path: &str) -> String {
    // Most paths are already normal; checking is much cheaper than rebuilding (hot path).
    if is_normal(path) {
        return path.to_owned();
    }
    // `dir/`: only trailing slashes to drop.
    let trimmed = path.trim_end_matches('/');
    if !trimmed.is_empty() && is_normal(trimmed) {
        return trimmed.to_owned();
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    if absolute {
        out.push('/');
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(part);
    }
    out
}

/// `normalize` would return the path unchanged: no empty, `.` or `..` segment, no trailing `/`.
fn is_normal(path: &str) -> bool {
    let body = path.strip_prefix('/').unwrap_or(path).as_bytes();
    if body.is_empty() {
        return true;
    }
    // Each segment starts after a `/` (or at 0) and must be neither empty, `.` nor `..`.
    let mut start = 0;
    for i in 0..=body.len() {
        if i == body.len() || body[i] == b'/' {
            match &body[start..i] {
                b"" | b"." | b".." => return false,
                _ => start = i + 1,
            }
        }
    }
    true
}

/// `~`, `~/x`, `$HOME/x`, `${HOME}/x` with the home directory substituted when known.
pub fn expand_home(path: &str, home: Option<&str>) -> Option<String> {
    let home = home?;
    let rest = ["~", "$HOME", "${HOME}"]
        .iter()
        .find_map(|p| path.strip_prefix(p))
        .map(str::to_owned)
        .or_else(|| {
            // bash cooks an unquoted `%USERPROFILE%\x` to `%USERPROFILE%x`.
            windows_home_rest(path).map(|r| match r.replace('\\', "/") {
                r if r.is_empty() || r.starts_with('/') => r,
                r => format!("/{r}"),
            })
        })?;
    (rest.is_empty() || rest.starts_with('/')).then(|| format!("{home}{rest}"))
}

/// What follows a Windows spelling of the home directory (`%USERPROFILE%\x`,
/// `$env:USERPROFILE/x`, `%HOMEDRIVE%%HOMEPATH%`), matched case-insensitively.
fn windows_home_rest(path: &str) -> Option<&str> {
    if !path.starts_with(['%', '$']) {
        return None;
    }
    const HOMES: &[&str] = &[
        "%homedrive%%homepath%",
        "%userprofile%",
        "%homepath%",
        "$env:userprofile",
        "${env:userprofile}",
        "$env:home",
        "$env:homepath",
    ];
    let b = path.as_bytes();
    HOMES.iter().find_map(|h| {
        let n = h.len();
        (b.len() >= n && path.is_char_boundary(n) && path[..n].eq_ignore_ascii_case(h))
            .then(|| &path[n..])
    })
}

/// Resolves a tool's path against the workspace (and home), lexically.
pub fn resolve(path: &str, workspace: &str, home: Option<&str>) -> String {
    if let Some(expanded) = expand_home(path, home) {
        return normalize(&expanded);
    }
    if path.starts_with('/') {
        normalize(path)
    } else {
        let mut joined = String::with_capacity(workspace.len() + 1 + path.len());
        joined.push_str(workspace);
        joined.push('/');
        joined.push_str(path);
        if is_normal(&joined) {
            joined
        } else if path.ends_with('/') && is_normal(joined.trim_end_matches('/')) {
            joined.truncate(joined.trim_end_matches('/').len());
            joined
        } else {
            normalize(&joined)
        }
    }
}

pub fn is_inside(resolved: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    resolved == dir
        || (resolved.starts_with(dir) && resolved.as_bytes().get(dir.len()) == Some(&b'/'))
        || dir.is_empty()
}

pub fn has_dotdot(path: &str) -> bool {
    path.split(['/', '\\']).any(|s| s == "..")
}

/// `hay.contains(needle)` for the hot per-argument checks: std's substring search sets up a
/// two-way searcher on every call, which costs more than the whole scan of a short path.
pub(crate) fn has(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else {
        return true;
    };
    if h.len() < n.len() {
        return false;
    }
    let last = h.len() - n.len();
    let mut i = 0;
    while i <= last {
        match h[i..=last].iter().position(|&b| b == first) {
            Some(off) => {
                let at = i + off;
                if &h[at + 1..at + n.len()] == rest {
                    return true;
                }
                i = at + 1;
            }
            None => return false,
        }
    }
    false
}

fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.is_char_boundary(s.len() - suffix.len())
        && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

fn is_placeholder(base: &str) -> bool {
    [".example", ".sample", ".template", ".dist"]
        .iter()
        .any(|s| ends_with_ci(base, s))
}

/// Files and directories holding secrets or credentials: writing them is blocked, reading them
/// is flagged.
/// A shell's or an interpreter's history file: the record of what was run.
pub fn is_history_file(path: &str) -> bool {
    let base = basename(path);
    // A glob over them (`~/.*_history`).
    if base.contains('*') && base.ends_with("history") {
        return true;
    }
    matches!(
        base,
        ".bash_history"
            | ".zsh_history"
            | ".zhistory"
            | ".sh_history"
            | ".history"
            | "fish_history"
            | ".python_history"
            | ".node_repl_history"
            | ".psql_history"
            | ".mysql_history"
            | ".sqlite_history"
            | ".lesshst"
            | ".viminfo"
    )
}

/// A dotenv file (`.env`, `.env.local`, `.env.test`, …), by name.
pub fn is_dotenv(path: &str) -> bool {
    let base = basename(path);
    base == ".env" || base.starts_with(".env.")
}

pub fn is_secret_path(path: &str) -> bool {
    if is_password_db(path) {
        return true;
    }
    let base = basename(path);
    if base == ".env" || (base.starts_with(".env.") && !is_placeholder(base)) {
        return true;
    }
    if ends_with_ci(base, ".pem") || ends_with_ci(base, ".key") {
        return true;
    }
    if ["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"]
        .iter()
        .any(|k| base.starts_with(k))
    {
        return true;
    }
    if [".netrc", "_netrc", ".npmrc", ".pypirc", ".git-credentials"].contains(&base) {
        return true;
    }
    let p = path.trim_end_matches('/');
    // Every directory below is a dot-directory (hot path: most paths have none).
    if !(p.starts_with('.') || has(p, "/.")) {
        return false;
    }
    p == ".ssh"
        || p.ends_with("/.ssh")
        || p.starts_with(".ssh/")
        || has(p, "/.ssh/")
        || has(p, "/.gnupg/")
        || p.ends_with(".aws/credentials")
        || p.ends_with(".kube/config")
        || p.ends_with(".docker/config.json")
}

/// Private keys and cloud or cluster credentials: reading them needs approval, not a warning.
pub fn is_private_key_path(path: &str) -> bool {
    let base = basename(path);
    if is_placeholder(base) || base.ends_with(".pub") {
        return false;
    }
    ["id_rsa", "id_ed25519", "id_ecdsa", "id_dsa"]
        .iter()
        .any(|k| base.starts_with(k))
        || ends_with_ci(base, ".pem")
        || ends_with_ci(base, ".key")
        || ends_with_ci(base, ".p12")
        || ends_with_ci(base, ".pfx")
        || path.ends_with(".aws/credentials")
        || path.ends_with(".kube/config")
        || has(path, "/.gnupg/")
        || path.ends_with("application_default_credentials.json")
        || is_password_db(path)
}

/// The system's password hashes (`/etc/shadow` and its kin), however the path is spelled.
fn is_password_db(path: &str) -> bool {
    const DBS: &[&str] = &[
        "etc/shadow",
        "etc/shadow-",
        "etc/gshadow",
        "etc/gshadow-",
        "etc/master.passwd",
        "etc/spwd.db",
        "etc/security/opasswd",
    ];
    if !has(path, "etc/") {
        return false;
    }
    let n = normalize(path);
    DBS.iter().any(|db| {
        n.ends_with(db) && (n.len() == db.len() || n.as_bytes()[n.len() - db.len() - 1] == b'/')
    })
}

/// The broader upstream "sensitive" test that adds +15 risk: a case-insensitive substring match,
/// placeholder files exempt.
pub fn is_risk_sensitive(path: &str) -> bool {
    if path.contains(char::is_whitespace) || is_placeholder(basename(path)) {
        return false;
    }
    // Case-insensitive substring search without allocating (this runs for every argument).
    // One pass, dispatching on the first byte of each keyword: `.env`, `secret`, `credential`,
    // `private_key`, `.pem`, `id_rsa`, `.key`.
    let hay = path.as_bytes();
    let at = |i: usize, k: &[u8]| {
        hay.len() - i >= k.len() && hay[i..i + k.len()].eq_ignore_ascii_case(k)
    };
    (0..hay.len()).any(|i| match hay[i].to_ascii_lowercase() {
        b'.' => at(i, b".env") || at(i, b".pem") || at(i, b".key"),
        b's' => at(i, b"secret"),
        b'c' => at(i, b"credential"),
        b'p' => at(i, b"private_key"),
        b'i' => at(i, b"id_rsa"),
        _ => false,
    })
}

/// Inside a shared temp directory (`/tmp`, `/var/tmp`, `/dev/shm`), where any process can
/// drop a file.
pub fn is_temp(norm: &str) -> bool {
    ["/tmp", "/var/tmp", "/dev/shm"].iter().any(|t| {
        norm.strip_prefix(t)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    })
}

/// `/dev/null` and other `/dev` nodes that are safe to write to (redirecting there is not a
/// file write).
pub fn is_discard(path: &str) -> bool {
    path.starts_with("/dev/") && is_harmless_dev(&normalize(path))
}

fn is_harmless_dev(norm: &str) -> bool {
    matches!(
        norm,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/stdin" | "/dev/tty" | "/dev/zero"
    ) || norm.starts_with("/dev/fd/")
        || norm.starts_with("/dev/pts/")
        || norm.starts_with("/dev/shm/")
}

/// A block device or other raw `/dev` node (not `/dev/null` and friends).
pub fn is_device(path: &str) -> bool {
    // Normalizing keeps a relative path relative, so it can never be under `/dev/`.
    if !path.starts_with('/') {
        return false;
    }
    let norm = normalize(path);
    norm.starts_with("/dev/") && !is_harmless_dev(&norm)
}

/// Under a system prefix (for redirect targets); harmless `/dev` nodes are not.
pub fn is_system_path(path: &str) -> bool {
    if !path.starts_with('/') {
        return false;
    }
    let norm = normalize(path);
    !is_harmless_dev(&norm) && SYSTEM_PREFIXES.iter().any(|p| is_inside(&norm, p))
}

/// `/`, a top-level system directory, `/usr/<x>`, or a user's home directory itself.
pub fn is_root_or_system_dir(path: &str, home: Option<&str>) -> bool {
    let path = path
        .strip_suffix("/*")
        .or_else(|| path.strip_suffix("/.*"))
        .unwrap_or(path);
    let path = if path.is_empty() { "/" } else { path };
    if is_home(path, home) {
        return true;
    }
    if !path.starts_with('/') {
        return false;
    }
    let norm = normalize(path);
    let segs: Vec<&str> = norm.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [] => true,
        [top] => SYSTEM_TOP.contains(top),
        ["usr", _] | ["home" | "Users", _] => true,
        _ => home.is_some_and(|h| norm == normalize(h)),
    }
}

/// `~`, `~/`, `~user`, `$HOME`, `${HOME}` (with an optional trailing `/`).
pub fn is_home(path: &str, home: Option<&str>) -> bool {
    let p = path.trim_end_matches('/');
    if p == "~" || p == "$HOME" || p == "${HOME}" {
        return true;
    }
    if p.starts_with('~') && !p.contains('/') {
        return true;
    }
    home.is_some_and(|h| !h.is_empty() && p == h.trim_end_matches('/'))
}

/// `.`, `..`, `./`, `../..`, `*`-free relative paths that name the working directory or one of
/// its parents.
pub fn is_cwd_or_parent(path: &str) -> bool {
    let path = path
        .strip_suffix("/*")
        .or_else(|| path.strip_suffix("/.*"))
        .unwrap_or(path);
    if path.starts_with('/') || path.starts_with('~') || path.starts_with('$') {
        return false;
    }
    if path == ".*" {
        return true; // matches `..` in older shells
    }
    normalize(path)
        .split('/')
        .all(|s| s.is_empty() || s == "..")
}

/// A path a build or install recreates: strictly inside an OS scratch root, or a relative path
/// whose first segment is a known artifact directory. Globs and `..` never qualify.
pub fn is_regenerable(path: &str) -> bool {
    if path.contains(['*', '?', '[']) || has_dotdot(path) || path.is_empty() {
        return false;
    }
    if path.starts_with('/') {
        return SCRATCH_ROOTS
            .iter()
            .any(|root| path.starts_with(root) && path.len() > root.len());
    }
    if path.starts_with('~') || path.starts_with('$') {
        return false;
    }
    let rel = path.strip_prefix("./").unwrap_or(path);
    // Any level: `ios/Pods`, `packages/web/node_modules`, `crates/x/target/debug`.
    rel.split('/').any(|part| {
        REGENERABLE_DIRS.contains(&part)
            || part.ends_with(".egg-info")
            || part.ends_with(".tsbuildinfo")
    }) || LOCKFILES.contains(&rel.rsplit('/').next().unwrap_or(rel))
}

/// Lockfiles: `install` writes them again (deleting one to re-resolve is routine).
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "bun.lockb",
    "Podfile.lock",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "Gemfile.lock",
    "composer.lock",
];

/// File patterns that only name build and interpreter leftovers (`*.pyc`, `*.egg-info`).
const ARTIFACT_SUFFIXES: &[&str] = &[
    ".pyc",
    ".pyo",
    ".o",
    ".obj",
    ".class",
    ".egg-info",
    ".whl",
    ".tsbuildinfo",
    ".tmp",
];

/// A relative glob that reaches only regenerable things: its fixed directory part is a
/// regenerable directory (`dist/*.whl`, `build/*`), or its last part names artifacts whatever
/// directory it is in (`**/__pycache__`, `*.egg-info`, `src/*.pyc`).
pub fn is_artifact_glob(path: &str) -> bool {
    let path = path.strip_prefix("./").unwrap_or(path);
    if path.starts_with(['/', '~', '$']) || has_dotdot(path) {
        return false;
    }
    let fixed: Vec<&str> = path
        .split('/')
        .take_while(|c| !c.contains(['*', '?', '[']))
        .collect();
    if let Some(first) = fixed.first().filter(|f| !f.is_empty()) {
        if is_regenerable(first) {
            return true;
        }
    }
    let last = path.rsplit('/').next().unwrap_or(path);
    if REGENERABLE_DIRS.contains(&last) {
        return true;
    }
    last.strip_prefix('*')
        .is_some_and(|ext| !ext.contains(['*', '?', '[', '/']) && ARTIFACT_SUFFIXES.contains(&ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        assert_eq!(normalize("//etc/./x/../"), "/etc");
        assert_eq!(normalize("/.."), "/");
        assert_eq!(normalize("./../a/.."), "..");
        for p in [
            ".env",
            "app/.env.local",
            "k.pem",
            "tls/server.KEY",
            "~/.ssh/config",
            "/home/u/.ssh/",
            "~/.aws/credentials",
            "id_ed25519.pub",
            ".npmrc",
        ] {
            assert!(is_secret_path(p), "{p}");
        }
        for p in [
            ".env.example",
            ".env.sample",
            "env.rs",
            "src/key.rs",
            "README",
        ] {
            assert!(!is_secret_path(p), "{p}");
        }
        for p in [
            "/",
            "/*",
            "//",
            "/etc",
            "/usr/",
            "/usr/lib",
            "~",
            "$HOME/",
            "/home/bob",
        ] {
            assert!(is_root_or_system_dir(p, None), "{p}");
        }
        assert!(is_root_or_system_dir("/home/me/", Some("/home/me")));
        for p in ["/tmp/x", "/etc/nginx/sites", "build", "~/src"] {
            assert!(!is_root_or_system_dir(p, None), "{p}");
        }
        for p in [".", "./", "..", "../..", "./*", ".*"] {
            assert!(is_cwd_or_parent(p), "{p}");
        }
        for p in ["src", "./src", "../x"] {
            assert!(!is_cwd_or_parent(p), "{p}");
        }
        for p in ["node_modules", "./target/debug", "/tmp/x", "build"] {
            assert!(is_regenerable(p), "{p}");
        }
        for p in ["/tmp/", "/tmp/../etc", "dist/*", "src", "~/.cache"] {
            assert!(!is_regenerable(p), "{p}");
        }
        assert!(is_device("/dev/sda") && is_device("/dev//nvme0n1"));
        assert!(!is_device("/dev/null") && !is_system_path("/dev/null"));
        assert!(is_system_path("/etc/hosts") && !is_system_path("/etcetera"));
        assert_eq!(resolve("~/x", "/w", Some("/h")), "/h/x");
        assert_eq!(resolve("../x", "/w/p", None), "/w/x");
        assert!(is_inside("/w/p/a", "/w/p") && !is_inside("/w/pa", "/w/p"));
    }
}
