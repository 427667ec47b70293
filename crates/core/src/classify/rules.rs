//! Grading of parsed shell commands: intents and risk compatible with the upstream DashClaw
//! classifier (upstream-python-hooks.md §4.2–4.4), plus the built-in block/warn rules.
//!
//! Unlike upstream, every list segment, every pipeline stage, every substitution, every
//! `bash -c` / `eval` / `ssh` payload and every script the command runs is graded, and the
//! worst one sets the intent and the risk. Quoted text is data: only words in command position
//! (after wrappers such as `sudo` or `xargs`) name a program. Static variables, aliases, brace
//! expansion and `$IFS` are expanded before grading, so they cannot hide a command.

use std::borrow::Cow;

use super::infra;
use super::pack as p;
use super::paths;
use super::protect;
use super::script;
use super::shell::{self, quote, Command, RedirKind, Redirect, Script, SimpleCommand, Word};
use super::ClassifyContext;
use crate::event::{Finding, Intent, Verdict};

mod builtins;
mod dispatch;
mod files;
mod programs;
use crate::policy::rules as r;

/// The classifier's reading of one shell command line.
#[derive(Debug)]
pub(crate) struct ShellOutcome {
    pub intent: Intent,
    pub risk: u8,
    pub action_type: &'static str,
    pub reversible: bool,
    pub targets: Vec<String>,
    pub findings: Vec<Finding>,
    pub commands: Vec<String>,
    pub risk_factors: Vec<String>,
    pub tainted_writes: Vec<String>,
}

/// Grades `command`. `cwd` is where it runs (relative paths, scripts); `powershell` enables
/// the `Verb-Noun` cmdlet table.
pub(crate) fn classify_shell(
    command: &str,
    ctx: &ClassifyContext,
    cwd: &str,
    powershell: bool,
) -> ShellOutcome {
    let mut w = Walker::new(ctx, cwd, powershell);
    if command.contains('\0') {
        w.unparseable("the command contains a NUL byte");
    } else {
        w.text(command, 0, None);
    }
    w.finish()
}

const PACKAGE: &[&str] = &[
    "npm", "yarn", "pnpm", "pip", "pip3", "pipx", "cargo", "go", "gem", "bundle", "brew", "apt",
    "apt-get", "dnf", "yum", "pacman", "snap", "flatpak", "composer", "dotnet", "nuget",
];
const INTERPRETER: &[&str] = &[
    "node", "nodejs", "python", "python2", "python3", "ruby", "perl", "php", "deno", "bun", "tsx",
    "ts-node", "npx",
];
const DESTRUCTIVE: &[&str] = &["rm", "rmdir", "shred", "mkfs", "fdisk", "dd", "truncate"];
/// Destroyers missing from the upstream list (an extension, documented in docs/classifier.md).
const DESTRUCTIVE_EXTRA: &[&str] = &["unlink", "wipefs", "sfdisk", "parted", "srm", "wipe"];
const SYSTEM_ADMIN: &[&str] = &[
    "systemctl",
    "service",
    "journalctl",
    "useradd",
    "userdel",
    "usermod",
    "groupadd",
    "groupdel",
    "iptables",
    "ip6tables",
    "ufw",
    "firewall-cmd",
    "mount",
    "umount",
    "reboot",
    "shutdown",
    "poweroff",
    "halt",
    "init",
    "modprobe",
    "insmod",
    "rmmod",
    "sysctl",
    "ldconfig",
];
const PROCESS: &[&str] = &[
    "kill", "killall", "pkill", "nohup", "bg", "fg", "crontab", "disown", "wait", "jobs",
];
const NETWORK: &[&str] = &[
    "curl",
    "wget",
    "ssh",
    "scp",
    "rsync",
    "ping",
    "traceroute",
    "dig",
    "nslookup",
    "host",
    "nc",
    "netcat",
    "telnet",
    "ftp",
    "sftp",
];
const WRITE: &[&str] = &[
    "cp", "mv", "mkdir", "touch", "chmod", "chown", "chgrp", "ln", "tee", "install", "patch",
    "rename",
];
const READONLY: &[&str] = &[
    "cat",
    "head",
    "tail",
    "less",
    "more",
    "wc",
    "file",
    "stat",
    "du",
    "df",
    "ls",
    "tree",
    "find",
    "locate",
    "which",
    "whereis",
    "type",
    "grep",
    "rg",
    "awk",
    "cut",
    "sort",
    "uniq",
    "diff",
    "comm",
    "echo",
    "printf",
    "date",
    "uname",
    "whoami",
    "pwd",
    "hostname",
    "ps",
    "top",
    "htop",
    "free",
    "uptime",
    "env",
    "printenv",
    "man",
    "help",
    "info",
    "sha256sum",
    "md5sum",
    "sha1sum",
    "cksum",
    "b2sum",
    "base64",
    "od",
    "xxd",
    "hexdump",
    "id",
    "groups",
    "lsof",
    "readlink",
    "realpath",
    "basename",
    "dirname",
    "test",
    "[",
    "true",
    "false",
    "seq",
    "yes",
    "xargs",
    "tr",
    "column",
    "fold",
    "expand",
    "unexpand",
    "sed",
    "cd",
];
/// Shell syntax and builtins that run nothing by themselves (an extension over upstream, which
/// grades them unknown/70).
const SHELL_READONLY: &[&str] = &[
    ":", "[[", "((", "for", "select", "case", "export", "declare", "typeset", "local", "readonly",
    "unset", "set", "shift", "read", "return", "exit", "break", "continue", "trap", "exec",
    "command", "builtin", "time", "pushd", "popd", "dirs", "hash", "alias", "unalias", "shopt",
    "getopts", "let", "umask",
];
/// Read-only filters missing from the upstream list; with every pipe stage graded, leaving them
/// unknown would score `curl … | jq .` at 70.
const READONLY_EXTRA: &[&str] = &[
    "jq",
    "yq",
    "tac",
    "nl",
    "paste",
    "join",
    "rev",
    "strings",
    "bat",
    "fd",
    "sleep",
    "pgrep",
    "cmp",
    "shasum",
    "sha512sum",
    "lsblk",
    "nproc",
    "tput",
    "ag",
    "ack",
    "exa",
    "eza",
    "zcat",
];
const GIT_READONLY: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "branch",
    "tag",
    "remote",
    "stash",
    "describe",
    "rev-parse",
    "rev-list",
    "blame",
    "ls-files",
    "ls-tree",
    "config",
    "reflog",
    "shortlog",
    "whatchanged",
    "name-rev",
    "verify-commit",
    "verify-tag",
];
/// Environment variables whose value other programs run as a command line.
const EXEC_VARS: &[&str] = &[
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_EDITOR",
    "GIT_PAGER",
    "GIT_EXTERNAL_DIFF",
    "GIT_ASKPASS",
    "GIT_SEQUENCE_EDITOR",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "MANPAGER",
    "PROMPT_COMMAND",
    "BROWSER",
    "RSYNC_RSH",
    "LESSOPEN",
    "LESSCLOSE",
    // The program cargo runs in place of (or around) the compiler.
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "RUSTC",
    "GIT_PROXY_COMMAND",
];
/// Environment variables that make programs load code from a file (`load_var`).
const LOAD_VARS: &[&str] = &[
    "BASH_ENV",
    "ENV",
    "LD_PRELOAD",
    "DYLD_INSERT_LIBRARIES",
    "LD_AUDIT",
    "NODE_OPTIONS",
    "PERL5OPT",
    "RUBYOPT",
    "PYTHONSTARTUP",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "MAVEN_OPTS",
    "GRADLE_OPTS",
];
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "tcsh", "csh", "nu", "xonsh",
    "elvish", "yash", "oksh", "loksh", "posh", "rc", "es",
];
const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch", "http", "https", "xh"];
/// Parse depth for start-up file content graded in place: deep enough for ordinary lines, and
/// content nested in content only shrinks, so it ends.
const STARTUP_DEPTH: usize = shell::MAX_DEPTH - 4;

const SQL_CLIENTS: &[&str] = &["psql", "mysql", "mariadb", "sqlite3", "clickhouse-client"];

/// Which upstream list a program is on (the first list wins, in upstream order), built once:
/// one hash lookup per command instead of scanning ~250 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Package,
    Interpreter,
    Destructive,
    SystemAdmin,
    Process,
    Network,
    Write,
    /// On upstream's READONLY list (its targets are not noted).
    Readonly,
    /// Read-only by our extension lists (shell builtins, filters).
    ReadonlyExtra,
}

/// FNV-1a: the program table is static and small, so SipHash's DoS resistance buys nothing.
#[derive(Default, Clone, Copy)]
struct Fnv;

struct FnvHasher(u64);

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn listed(name: &str) -> Option<Listed> {
    type Table = std::collections::HashMap<&'static str, Listed, Fnv>;
    static TABLE: std::sync::LazyLock<Table> = std::sync::LazyLock::new(|| {
        let mut m = Table::default();
        let lists: [(&[&'static str], Listed); 11] = [
            (PACKAGE, Listed::Package),
            (INTERPRETER, Listed::Interpreter),
            (DESTRUCTIVE, Listed::Destructive),
            (DESTRUCTIVE_EXTRA, Listed::Destructive),
            (SYSTEM_ADMIN, Listed::SystemAdmin),
            (PROCESS, Listed::Process),
            (NETWORK, Listed::Network),
            (WRITE, Listed::Write),
            (READONLY, Listed::Readonly),
            (SHELL_READONLY, Listed::ReadonlyExtra),
            (READONLY_EXTRA, Listed::ReadonlyExtra),
        ];
        for (list, kind) in lists {
            for n in list {
                m.entry(*n).or_insert(kind);
            }
        }
        m
    });
    TABLE.get(name).copied()
}

/// What a pipeline stage does with data, for the cross-stage rules.
#[derive(Debug, Default, Clone, Copy)]
struct Traits {
    downloads: bool,
    decodes: bool,
    /// Runs its stdin as a program (`sh`, `python -`, …).
    runs_stdin: bool,
    /// Prints destructive SQL (`echo "DROP TABLE t"`), for a SQL client further on.
    sql: bool,
    /// Its output carries a secret (a credentials file, a store, the environment).
    secret: bool,
}

impl std::ops::BitOrAssign for Traits {
    fn bitor_assign(&mut self, o: Traits) {
        self.downloads |= o.downloads;
        self.decodes |= o.decodes;
        self.runs_stdin |= o.runs_stdin;
        self.sql |= o.sql;
        self.secret |= o.secret;
    }
}

/// Facts about one graded command that move its risk score.
#[derive(Debug, Default, Clone, Copy)]
struct Facts {
    bounded_rm: bool,
    regenerable_rm: bool,
    sensitive: bool,
    dotdot: bool,
    write_redirect: bool,
    system_redirect: bool,
    inline_eval: bool,
    sed_inplace: bool,
    /// A floor from script content (`script-then-execute`).
    floor: Option<(i32, &'static str)>,
}

/// One step of a score, for `Classification::risk_factors`.
#[derive(Debug, Clone, Copy)]
enum Factor {
    Base(Intent, i32),
    Add(&'static str, i32),
    Cap(&'static str, i32),
    Floor(&'static str, i32),
}

impl Factor {
    fn render(self) -> String {
        match self {
            Factor::Base(i, v) => format!("base {} {v}", i.as_str()),
            Factor::Add(l, v) => format!("{l} +{v}"),
            Factor::Cap(l, v) => format!("{l} cap {v}"),
            Factor::Floor(l, v) => format!("{l} floor {v}"),
        }
    }
}

/// The factors of one segment, inline (a segment has at most 14; no allocation per command).
#[derive(Debug, Clone, Copy)]
struct Factors {
    len: usize,
    items: [Factor; 16],
}

impl Default for Factors {
    fn default() -> Factors {
        Factors {
            len: 0,
            items: [Factor::Add("", 0); 16],
        }
    }
}

impl Factors {
    fn push(&mut self, f: Factor) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = f;
            self.len += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Factor> {
        self.items[..self.len].iter()
    }
}

#[derive(Debug)]
struct Segment {
    intent: Intent,
    score: i32,
    cleanup: bool,
    factors: Factors,
    /// Index into `Walker::commands` of the command graded.
    cmd: Option<usize>,
}

/// Where a command came from, for `Classification::commands` (formatted only when recorded).
#[derive(Debug)]
enum Origin {
    Pipe(usize),
    Fixed(&'static str),
    Named(String),
}

const MAX_TARGETS: usize = 16;
const MAX_FINDINGS: usize = 32;
const MAX_COMMANDS: usize = 64;
const MAX_VARS: usize = 64;
const MAX_SCRIPTS: usize = 8;
/// Bytes that variable and alias expansion may produce per classification.
const EXPANSION_BUDGET: usize = 256 * 1024;

/// `(cwd, argument → what is known of the path it names)`.
type SecretMemo = (
    String,
    std::collections::HashMap<String, std::rc::Rc<PathFacts>, Fnv>,
);

/// Facts about one path argument, resolved against the cwd: computed once per classification,
/// because scripts name the same targets again and again. The write-side facts are computed
/// on first use: most arguments are only ever checked as possible secrets.
struct PathFacts {
    resolved: String,
    /// A secrets or credentials file (`exfil::secret_path`).
    secret: bool,
    /// Inside the workspace (for the runs-later table).
    inside: bool,
    home: Option<String>,
    write: std::cell::OnceCell<WriteFacts>,
    read: std::cell::OnceCell<ReadFacts>,
}

/// What reading the path would expose, for the reader and stdin checks (computed on first use).
struct ReadFacts {
    /// The text as written names a private key or a secrets file (`id_rsa`, `.env`).
    text_private: bool,
    text_secret: bool,
    /// A private key or a credential of the user's, by the resolved path.
    user_credential: bool,
    /// A browser, keychain or password-manager store.
    personal_store: bool,
}

struct WriteFacts {
    /// A system location (`/etc`, `/usr`, …).
    system: bool,
    /// A shell start-up file.
    startup: bool,
    /// Something runs or installs what it says later.
    later: Option<protect::Later>,
}

impl PathFacts {
    fn write(&self) -> &WriteFacts {
        self.write.get_or_init(|| WriteFacts {
            system: paths::is_system_path(&self.resolved),
            startup: protect::is_startup_file(&self.resolved),
            later: protect::runs_later(&self.resolved, !self.inside, self.home.as_deref()),
        })
    }

    /// `text` is the memo key these facts were made for.
    fn read(&self, text: &str) -> &ReadFacts {
        self.read.get_or_init(|| ReadFacts {
            text_private: paths::is_private_key_path(text),
            text_secret: paths::is_secret_path(text),
            user_credential: text.contains(['.', '/', '~', '$'])
                && self.secret
                && (paths::is_private_key_path(&self.resolved)
                    || super::exfil::user_owned_secret(&self.resolved, self.inside)),
            // A fixture in the project named like a store (`tests/cookies.sqlite`) is data.
            personal_store: !self.inside && super::exfil::personal_store_path(&self.resolved),
        })
    }
}

struct Walker<'a> {
    ctx: &'a ClassifyContext<'a>,
    cwd: String,
    /// A `cd` moved away from the starting directory.
    cwd_moved: bool,
    /// A `cd` to a computed directory: `cwd` is no longer known.
    cwd_unknown: bool,
    /// `GIT_CONFIG_*` given as prefix assignments to the command being graded.
    env_git: Vec<(String, Option<String>)>,
    powershell: bool,
    /// Functions defined so far; calling one runs its (already graded) body.
    functions: Vec<String>,
    /// Functions defined in this command that run their arguments (`f(){ "$@"; }`).
    arg_runners: Vec<String>,
    segs: Vec<Segment>,
    findings: Vec<Finding>,
    targets: Vec<String>,
    commands: Vec<String>,
    cur_cmd: Option<usize>,
    /// Shell variables with a static value (`None`: assigned, value unknown).
    vars: Vec<(String, Option<String>)>,
    aliases: Vec<(String, String)>,
    /// Where the command being graded came from (`pipe 2`, `$( )`, `bash -c`, …).
    origin: Vec<Origin>,
    /// Inside text a shell parses again (`bash -c`, `eval`, `ssh`): a computed command there is
    /// obfuscation, not just an unknown.
    reparsed: u32,
    /// Files this command line writes, for a script run later in it: the content, or `None`
    /// when it cannot be seen (`curl … > x.sh`, `cp /tmp/y x.sh`). Only the latest write of a
    /// path counts; an append adds to the write before it.
    written: Vec<(String, Option<String>)>,
    /// More files were written than `written` keeps: a missing one may be among them.
    written_overflow: bool,
    scripts: usize,
    budget: usize,
    /// Static text flowing into the command being graded from the previous pipeline stage
    /// (`echo / | xargs rm -rf`), when the stage's output could be folded.
    stdin_text: Option<String>,
    /// The static output of the last graded command, for the next pipeline stage.
    out_text: Option<String>,
    /// The command's environment names a test setup (`RAILS_ENV=test`, a scratch
    /// `DATABASE_URL`), for frameworks' database commands.
    test_env: Vec<&'static str>,
    /// Arrays with static elements (`a=(rm -rf /)`).
    arrays: Vec<(String, Vec<String>)>,
    /// `declare -n ref=target`.
    namerefs: Vec<(String, String)>,
    /// `git remote add NAME URL` earlier in this command.
    git_remotes_added: Vec<(String, String)>,
    /// The command being graded gets its arguments from `xargs`/`parallel`/`find -exec`.
    xargs_context: bool,
    /// `npm pkg set scripts.NAME=…` earlier in this command.
    npm_scripts: Vec<(String, String)>,
    /// `ln -s TARGET LINK` earlier in this command: (link, target), resolved.
    symlinks: Vec<(String, String)>,
    /// Words of the command being graded that carry a secret (see `secret_words`).
    secret_args: Vec<String>,
    /// Variables assigned from a secret source in this command line.
    tainted_vars: Vec<String>,
    /// Files written from a secret source in this command line (or earlier in the session).
    pub(crate) tainted_files: Vec<String>,
    /// The last secret source seen, for the ledger.
    last_source: Option<String>,
    /// The command being graded is a later pipeline stage (its stdin is the pipe).
    in_pipe: bool,
    /// The program of the pipeline's last stage while an earlier stage is graded (where this
    /// command's output ends up); `None` for the last stage or a lone command.
    pipe_tail: Option<String>,
    /// The command being graded sends its standard output to a file, not the conversation.
    stdout_to_file: bool,
    /// What flows into the command being graded carries a secret.
    pipe_secret: bool,
    /// Files a downloader wrote earlier in this command line (`curl -o x.sh URL`).
    downloaded: Vec<String>,
    /// `(cwd, argument → (resolved path, is a secret))`: arguments repeat in long scripts.
    secret_memo: std::cell::RefCell<SecretMemo>,
    /// Programs copied or linked under another name earlier in this command line:
    /// (resolved new path, program name) — `cp /bin/rm ./clean`.
    renamed: Vec<(String, String)>,
}

/// "`name`" plus a suffix, rendered only when a finding is actually raised.
#[derive(Clone, Copy)]
struct Via<'a>(&'a str, &'static str);

impl std::fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`{}", self.0, self.1)
    }
}

fn command_name(text: &str) -> &str {
    program_name(text)
}

fn is_flag(w: &Word) -> bool {
    !w.dynamic && w.text.len() > 1 && w.text.starts_with('-')
}

/// A short-option cluster (`-rf`) containing one of `letters`.
fn short_has(w: &Word, letters: &[char]) -> bool {
    is_flag(w) && !w.text.starts_with("--") && w.text[1..].contains(letters)
}

fn has_glob(t: &str) -> bool {
    t.contains(['*', '?', '['])
}

fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Positional arguments, honouring `--`.
fn positionals(args: &[Word]) -> impl Iterator<Item = &Word> {
    let mut after_dd = false;
    args.iter().filter(move |w| {
        if !after_dd && w.text == "--" && !w.quoted {
            after_dd = true;
            return false;
        }
        after_dd || !is_flag(w)
    })
}

fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// `pre{a,b,c}post` → `[prea, preb, prec]` + `post`, one level, unquoted words only.
fn brace_alternatives(t: &str) -> Option<Vec<String>> {
    let open = t.find('{')?;
    let close = open + t[open..].find('}')?;
    let inner = &t[open + 1..close];
    if !inner.contains(',') || inner.contains('{') || t[..open].ends_with('$') {
        return None;
    }
    let alts: Vec<String> = inner
        .split(',')
        .take(32)
        .map(|a| format!("{}{a}{}", &t[..open], &t[close + 1..]))
        .filter(|a| !a.is_empty())
        .collect();
    Some(alts)
}

impl<'a> Walker<'a> {
    fn new(ctx: &'a ClassifyContext<'a>, cwd: &str, powershell: bool) -> Walker<'a> {
        Walker {
            ctx,
            cwd: cwd.to_owned(),
            cwd_moved: false,
            cwd_unknown: false,
            env_git: Vec::new(),
            powershell,
            functions: Vec::new(),
            arg_runners: Vec::new(),
            segs: Vec::new(),
            findings: Vec::new(),
            targets: Vec::new(),
            commands: Vec::new(),
            cur_cmd: None,
            vars: Vec::new(),
            aliases: Vec::new(),
            origin: Vec::new(),
            reparsed: 0,
            written: Vec::new(),
            written_overflow: false,
            scripts: 0,
            budget: EXPANSION_BUDGET,
            stdin_text: None,
            out_text: None,
            test_env: Vec::new(),
            arrays: Vec::new(),
            namerefs: Vec::new(),
            git_remotes_added: Vec::new(),
            xargs_context: false,
            npm_scripts: Vec::new(),
            symlinks: Vec::new(),
            secret_args: Vec::new(),
            tainted_vars: Vec::new(),
            tainted_files: ctx.tainted_files.to_vec(),
            last_source: None,
            in_pipe: false,
            stdout_to_file: false,
            pipe_tail: None,
            pipe_secret: false,
            downloaded: Vec::new(),
            renamed: Vec::new(),
            secret_memo: Default::default(),
        }
    }

    fn finish(self) -> ShellOutcome {
        let mut worst: Option<&Segment> = None;
        for s in &self.segs {
            if worst.is_none_or(|w| s.score > w.score) {
                worst = Some(s);
            }
        }
        let (intent, risk, action_type) = match worst {
            Some(s) => (
                s.intent,
                s.score.clamp(0, 100) as u8,
                if s.cleanup {
                    "cleanup"
                } else {
                    s.intent.action_type()
                },
            ),
            None => (Intent::Readonly, Intent::Readonly.base_risk(), "review"),
        };
        let mut risk_factors = Vec::new();
        if let Some(s) = worst {
            if let Some(c) = s.cmd.and_then(|i| self.commands.get(i)) {
                risk_factors.push(format!("worst command: {c}"));
            }
            risk_factors.extend(s.factors.iter().map(|f| f.render()));
        }
        let reversible = self
            .segs
            .iter()
            .all(|s| !matches!(s.intent, Intent::Destructive | Intent::Spend));
        let known = self.ctx.tainted_files.len();
        ShellOutcome {
            intent,
            risk,
            action_type,
            reversible,
            targets: self.targets,
            findings: self.findings,
            commands: self.commands,
            risk_factors,
            tainted_writes: self.tainted_files.get(known..).unwrap_or_default().to_vec(),
        }
    }

    fn unparseable(&mut self, why: &str) {
        let first = self.findings.len();
        self.push(r::UNPARSEABLE.finding(format!(
            "Could not parse the shell command ({why}), so it cannot be checked."
        )));
        self.cur_cmd = None;
        self.segment(Intent::Unknown, Facts::default(), first);
    }

    fn note_target(&mut self, t: &str) {
        if self.targets.len() < MAX_TARGETS && !t.is_empty() && !self.targets.iter().any(|x| x == t)
        {
            self.targets.push(clip(t, 256).to_owned());
        }
    }

    /// Records a finding once. Past [`MAX_FINDINGS`] only a stricter one is kept, so hostile
    /// input cannot make the list (or the dedup) grow without bound.
    fn push(&mut self, f: Finding) {
        if self
            .findings
            .iter()
            .any(|g| g.rule == f.rule && g.reason == f.reason)
        {
            return;
        }
        if self.findings.len() >= MAX_FINDINGS
            && self.findings.iter().any(|g| g.verdict >= f.verdict)
        {
            return;
        }
        self.findings.push(f);
    }

    fn record_command(&mut self, words: &[Word]) {
        if self.commands.len() >= MAX_COMMANDS {
            self.cur_cmd = self.commands.len().checked_sub(1);
            return;
        }
        use std::fmt::Write as _;
        let mut s = String::with_capacity(64);
        for o in &self.origin {
            s.push('[');
            match o {
                Origin::Pipe(n) => {
                    let _ = write!(s, "pipe {n}");
                }
                Origin::Fixed(l) => s.push_str(l),
                Origin::Named(l) => s.push_str(l),
            }
            s.push_str("] ");
        }
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            if s.len() > 200 {
                s.push('…');
                break;
            }
            s.push_str(clip(&w.text, 120));
        }
        if s.chars().any(char::is_control) {
            s = s.replace(char::is_control, " ");
        }
        self.cur_cmd = Some(self.commands.len());
        self.commands.push(s);
    }

    /// Grades one command from its intent, facts and the findings raised since `first`.
    fn segment(&mut self, intent: Intent, facts: Facts, first: usize) {
        let base = i32::from(intent.base_risk());
        let mut f = Factors::default();
        f.push(Factor::Base(intent, base));
        let mut s = base;
        let cap = |s: &mut i32, f: &mut Factors, v: i32, l: &'static str| {
            if *s > v {
                *s = v;
                f.push(Factor::Cap(l, v));
            }
        };
        let floor = |s: &mut i32, f: &mut Factors, v: i32, l: &'static str| {
            if *s < v {
                *s = v;
                f.push(Factor::Floor(l, v));
            }
        };
        if facts.bounded_rm {
            cap(&mut s, &mut f, 55, "bounded rm");
        }
        if facts.sensitive {
            s += 15;
            f.push(Factor::Add("sensitive target", 15));
        }
        // Upstream: each warning +10, a block at least 85 (order-independent: warnings first).
        let own = &self.findings[first.min(self.findings.len())..];
        let warns = own.iter().filter(|f| f.verdict == Verdict::Warn).count();
        if warns > 0 {
            let add = 10 * i32::try_from(warns.min(10)).unwrap_or(10);
            s += add;
            f.push(Factor::Add("warning findings", add));
        }
        let strictest = own.iter().map(|f| f.verdict).max();
        let blocked = strictest == Some(Verdict::Block);
        match strictest {
            Some(Verdict::Block) => floor(&mut s, &mut f, 85, "block finding"),
            Some(Verdict::RequireApproval) => floor(&mut s, &mut f, 70, "approval finding"),
            _ => {}
        }
        if facts.inline_eval {
            s += 10;
            f.push(Factor::Add("inline eval", 10));
        }
        if facts.sed_inplace {
            s += 10;
            f.push(Factor::Add("sed -i", 10));
        }
        if facts.regenerable_rm && !blocked {
            cap(&mut s, &mut f, 35, "regenerable artifacts");
        }
        // Hook-level adjustments (upstream §2.4 step 3, §4.4).
        if intent == Intent::Unknown {
            floor(&mut s, &mut f, 70, "unknown command (tool base)");
        }
        if facts.write_redirect {
            floor(&mut s, &mut f, 35, "redirect");
        }
        if facts.dotdot {
            s += 20;
            f.push(Factor::Add("path traversal", 20));
        }
        if facts.system_redirect {
            floor(&mut s, &mut f, 75, "system path redirect");
        }
        if let Some((v, l)) = facts.floor {
            floor(&mut s, &mut f, v, l);
        }
        if s > 100 {
            f.push(Factor::Cap("maximum", 100));
        }
        self.segs.push(Segment {
            intent,
            score: s.clamp(0, 100),
            cleanup: intent == Intent::Destructive && (facts.bounded_rm || facts.regenerable_rm),
            factors: f,
            cmd: self.cur_cmd,
        });
    }

    /// Parses and grades text that the shell will run (`bash -c`, `eval`, heredoc to `sh`).
    fn text(&mut self, src: &str, depth: usize, label: Option<String>) -> Traits {
        let labelled = label.is_some();
        if let Some(l) = label {
            self.origin.push(Origin::Named(l));
        }
        let t = match shell::parse_at_depth(src, depth) {
            Ok(script) => self.script(&script, depth),
            Err(e) => {
                self.unparseable(&e.to_string());
                Traits::default()
            }
        };
        if labelled {
            self.origin.pop();
        }
        t
    }

    fn script(&mut self, s: &Script, depth: usize) -> Traits {
        let mut all = Traits::default();
        for item in &s.items {
            let mut upstream = Traits::default();
            let mut carry: Option<String> = None;
            let stages = &item.pipeline.stages;
            // The last stage's program, for the stages before it (a lone command has none).
            let tail = (stages.len() > 1).then(|| match stages.last() {
                Some(Command::Simple(sc)) => sc
                    .words
                    .first()
                    .map_or("", |w| command_name(&w.text))
                    .to_owned(),
                _ => "?".to_owned(),
            });
            for (i, stage) in stages.iter().enumerate() {
                if i > 0 {
                    self.origin.push(Origin::Pipe(i + 1));
                }
                self.stdin_text = carry.take();
                self.out_text = None;
                let was_in_pipe = self.in_pipe;
                self.in_pipe = i > 0;
                let outer_tail = std::mem::replace(
                    &mut self.pipe_tail,
                    tail.clone().filter(|_| i + 1 < stages.len()),
                );
                let t = self.command(stage, depth, upstream);
                self.pipe_tail = outer_tail;
                self.in_pipe = was_in_pipe;
                carry = self.out_text.take();
                self.stdin_text = None;
                let mut t = t;
                if i > 0 {
                    if t.runs_stdin {
                        self.pipe_into_interpreter(upstream);
                    }
                    // Its stdin was this pipe, graded just now; what the list around it feeds
                    // in reaches only the first stage.
                    t.runs_stdin = false;
                    self.origin.pop();
                }
                upstream |= t;
            }
            all |= upstream;
        }
        all
    }

    fn pipe_into_interpreter(&mut self, upstream: Traits) {
        let first = self.findings.len();
        let intent = if upstream.downloads {
            self.push(r::CURL_PIPE_SHELL.finding(
                "Piping a download straight into a shell or interpreter runs unreviewed remote code.",
            ));
            Intent::Destructive
        } else if upstream.decodes {
            self.push(r::DECODE_PIPE_SHELL.finding(
                "Decoding text and piping it into a shell hides the command that actually runs.",
            ));
            Intent::Destructive
        } else {
            self.push(r::PIPE_TO_SHELL.finding(
                "Piping text into a shell or interpreter runs commands that cannot be checked.",
            ));
            Intent::Unknown
        };
        self.segment(intent, Facts::default(), first);
    }

    fn command(&mut self, c: &Command, depth: usize, pipe_in: Traits) -> Traits {
        if depth > shell::MAX_DEPTH {
            self.unparseable("nesting too deep");
            return Traits::default();
        }
        match c {
            Command::Simple(sc) => self.simple(sc, depth, pipe_in),
            Command::Group { body, redirects } => {
                // `curl … | { bash; }`, `… | (sh)`: a shell first in the group reads the pipe.
                let t = self.script(body, depth + 1);
                let first = self.findings.len();
                let mut facts = Facts::default();
                self.redirects(redirects, &[], &mut facts);
                if facts.write_redirect || self.findings.len() > first {
                    self.segment(Intent::Readonly, facts, first);
                }
                t
            }
            Command::Function { name, body } => {
                let mut calls = (0usize, false);
                count_self_calls(body, name, &mut calls, 0);
                if calls.0 >= 2 && calls.1 {
                    let first = self.findings.len();
                    self.push(r::FORK_BOMB.finding(format!(
                        "Function `{}` spawns copies of itself without end (a fork bomb).",
                        clip(name, 40)
                    )));
                    self.segment(Intent::Destructive, Facts::default(), first);
                }
                if self.functions.len() < 64 && !self.functions.contains(name) {
                    self.functions.push(name.clone());
                }
                if runs_its_arguments(body, 0) && self.arg_runners.len() < 16 {
                    self.arg_runners.push(name.clone());
                }
                self.origin
                    .push(Origin::Named(format!("function {}", clip(name, 40))));
                self.command(body, depth + 1, Traits::default());
                self.origin.pop();
                Traits::default()
            }
        }
    }

    fn simple(&mut self, sc: &SimpleCommand, depth: usize, pipe_in: Traits) -> Traits {
        // Substitutions run before the command itself, wherever they sit.
        let words = sc.assigns.iter().chain(&sc.words);
        for w in words.chain(sc.redirects.iter().map(|r| &r.target)) {
            for sub in &w.subs {
                self.origin.push(Origin::Fixed("$( )"));
                self.script(sub, depth + 1);
                self.origin.pop();
            }
        }
        if sc.words.is_empty() {
            for a in &sc.assigns {
                self.assign(a);
            }
        } else {
            // Prefix assignments only reach the command's environment.
            self.env_git.clear();
            for a in &sc.assigns {
                if let Some((n, v)) = a.text.split_once('=') {
                    if matches!(n, "BASH_ENV" | "ENV") && v.starts_with("<(") && a.subs.len() == 1 {
                        // `BASH_ENV=<(echo …) bash -c …`: the start-up script is made here.
                        self.procsub_script(a, depth, n);
                    } else if EXEC_VARS.contains(&n) || LOAD_VARS.contains(&n) {
                        let v = if a.dynamic {
                            self.fold_word(a, 0)
                                .and_then(|t| t.split_once('=').map(|(_, v)| v.to_owned()))
                        } else {
                            Some(v.to_owned())
                        };
                        self.exec_var(n, v.as_deref());
                        self.load_var(n, v.as_deref());
                    } else if n.starts_with("GIT_CONFIG_") {
                        let v = if a.dynamic {
                            self.fold_word(a, 0)
                                .and_then(|t| t.split_once('=').map(|(_, v)| v.to_owned()))
                        } else {
                            Some(v.to_owned())
                        };
                        if self.env_git.len() < 32 {
                            self.env_git.push((n.to_owned(), v));
                        }
                    } else if guard_setting(n) {
                        self.push(p::GUARD_TAMPER_SUSPECT.finding(format!(
                            "`{n}` set for what this command starts changes how the guard or an agent's hooks run."
                        )));
                    } else if history_off(n, Some(v)) {
                        self.push(r::AUDIT_WIPE.finding(format!(
                            "`{n}={v}` stops the shell from keeping a record of what is run."
                        )));
                    } else if n == "PATH" {
                        let v = self.fold_word(a, 0);
                        self.path_var(v.as_deref().and_then(|t| t.split_once('=')).map(|t| t.1));
                    }
                }
            }
        }
        let words = self.expand(&sc.words);
        // `alias x=rm; x -rf /`: the alias text replaces the first word.
        if let Some(first) = words.first().filter(|w| !w.quoted && !w.dynamic) {
            if let Some(value) = self
                .aliases
                .iter()
                .find(|(n, _)| *n == first.text)
                .map(|(_, v)| v.clone())
            {
                let mut text = value;
                for w in &words[1..] {
                    text.push(' ');
                    text.push_str(&quote(&w.text));
                }
                let label = format!("alias {}", clip(&first.text, 40));
                return self.text(&text, depth + 1, Some(label));
            }
        }
        let first = self.findings.len();
        let mut facts = Facts::default();
        self.redirects(&sc.redirects, &words, &mut facts);
        let stdin = sc.redirects.iter().find(|r| {
            r.feeds_stdin() || (r.kind == RedirKind::Input && r.fd.is_none_or(|fd| fd == 0))
        });
        self.stdout_to_file = sc.redirects.iter().any(|r| {
            r.writes_file()
                && r.fd.is_none_or(|fd| fd == 1)
                && !matches!(
                    r.target.text.as_str(),
                    "/dev/stdout" | "/dev/stderr" | "/dev/tty"
                )
        });
        // `cat > x.sh <<'EOF' … EOF`: remember the content for a later `bash x.sh`.
        if let Some(body) = stdin.filter(|r| r.feeds_stdin()) {
            if let Some(out) = sc.redirects.iter().find(|r| r.writes_file()) {
                if !out.target.dynamic {
                    let p = paths::resolve(&out.target.text, &self.cwd, self.ctx.home);
                    let append = out.kind == RedirKind::Append;
                    self.note_written(p, Some(&body.target.text), append);
                }
            }
        }
        // `${x@P}`: prompt expansion runs the substitutions in the variable's value.
        for w in sc
            .words
            .iter()
            .filter(|w| w.dynamic && w.text.contains("@P}"))
        {
            let name = w
                .text
                .split("${")
                .nth(1)
                .and_then(|r| r.split("@P}").next())
                .unwrap_or("");
            match self.lookup(name) {
                Some(v) if !v.contains("$(") && !v.contains('`') => {}
                Some(v) => self.subscript_commands(&v, depth),
                None => self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "`${{{name}@P}}` expands a prompt string, running whatever substitutions it holds."
                ))),
            }
        }
        // `echo 'rm -rf ~' > >(sh)`: the output goes to a shell, as through a pipe.
        if sc.redirects.iter().any(|r| {
            r.writes_file()
                && r.target.text.starts_with(">(")
                && r.target.subs.first().is_some_and(shell_reads_stdin)
        }) {
            let folded = words
                .iter()
                .all(|w| !w.dynamic)
                .then(|| {
                    let (name, args) = words.split_first()?;
                    let args: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
                    super::fold::output(command_name(&name.text), &args, None)
                })
                .flatten();
            match folded {
                Some(text) => {
                    self.text(&text, depth + 1, Some("> >(sh)".to_owned()));
                }
                None => self.push(r::PIPE_TO_SHELL.finding(
                    "Output redirected into a shell (`> >(sh)`) runs text known only at run time.",
                )),
            }
        }
        let secret_args = self.secret_words(sc, depth);
        self.secret_args = secret_args;
        // `IFS=: read -ra a <<< …`: a prefix IFS is what `read` splits with.
        let ifs = sc
            .assigns
            .iter()
            .filter(|a| !a.dynamic && !sc.words.is_empty())
            .find_map(|a| a.text.strip_prefix("IFS="))
            .map(|v| (self.lookup("IFS"), v.to_owned()));
        if let Some((_, v)) = &ifs {
            self.set_var("IFS", Some(v.clone()));
        }
        let mut test_env = if sc.assigns.is_empty() && self.vars.is_empty() {
            Vec::new()
        } else {
            infra::test_settings(|n| {
                sc.assigns
                    .iter()
                    .rev()
                    .find_map(|a| {
                        a.text
                            .strip_prefix(n)
                            .and_then(|v| v.strip_prefix('='))
                            .map(str::to_owned)
                    })
                    .or_else(|| self.lookup(n))
            })
        };
        // Settings inherited from an enclosing command (`RAILS_ENV=test bash -c '…'`) hold
        // unless this one sets its own.
        if test_env.is_empty() {
            test_env.clone_from(&self.test_env);
        }
        let outer_test_env = std::mem::replace(&mut self.test_env, test_env);
        let traits = self.argv(&words, false, facts, first, stdin, depth, pipe_in);
        self.test_env = outer_test_env;
        if let Some((old, _)) = ifs {
            self.set_var("IFS", old);
        }
        self.secret_args.clear();
        self.after_redirects(sc, &words, traits, pipe_in);
        traits
    }

    /// Texts of the words whose substitutions read a secret (`"$(cat ~/.ssh/id_rsa)"`), and
    /// variables assigned from one (taint).
    fn secret_words(&mut self, sc: &SimpleCommand, depth: usize) -> Vec<String> {
        let mut out = Vec::new();
        for w in sc
            .assigns
            .iter()
            .chain(&sc.words)
            .chain(sc.redirects.iter().map(|r| &r.target))
        {
            let direct = w
                .subs
                .iter()
                .any(|sub| self.script_reads_secret(sub, depth));
            let tainted = self.tainted_vars.iter().any(|v| {
                w.text.contains(&format!("${v}")) || w.text.contains(&format!("${{{v}}}"))
            });
            if direct || tainted {
                out.push(w.text.clone());
                if sc.words.is_empty()
                    || std::ptr::eq(w, sc.assigns.iter().last().unwrap_or(w))
                    || sc.assigns.iter().any(|a| std::ptr::eq(a, w))
                {
                    if let Some((name, _)) = w.text.split_once('=') {
                        if valid_name(name) && self.tainted_vars.len() < 32 {
                            self.tainted_vars.push(name.to_owned());
                        }
                    }
                }
            }
        }
        out
    }

    /// A substitution's script reads a secret source (a file, a store, the environment).
    fn script_reads_secret(&self, s: &Script, depth: usize) -> bool {
        if depth > shell::MAX_DEPTH {
            return false;
        }
        let mut found = false;
        shell::for_each_simple(s, &mut |sc| {
            if found {
                return;
            }
            // `$(<~/.ssh/id_rsa)`: bash's file read, with no command at all.
            let redirect_reads = sc.redirects.iter().any(|r| {
                r.kind == RedirKind::Input
                    && super::exfil::secret_path(
                        &paths::resolve(&r.target.text, &self.cwd, self.ctx.home),
                        self.ctx.home,
                    )
            });
            let words = &sc.words[strip_wrappers(&sc.words).start.min(sc.words.len())..];
            let Some((first, rest)) = words.split_first() else {
                found = redirect_reads;
                return;
            };
            let name = command_name(&first.text);
            let texts: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
            found = redirect_reads
                || super::exfil::secret_command(name, &texts).is_some()
                || rest.iter().any(|w| {
                    let r = paths::resolve(&w.text, &self.cwd, self.ctx.home);
                    super::exfil::secret_path(&r, self.ctx.home)
                        || super::exfil::metadata_endpoint(&w.text)
                        || super::exfil::secret_vars_in(&w.text).is_some()
                        || self.tainted_files.contains(&r)
                });
        });
        found
    }

    /// Checks that depend on what a command writes through its redirections: emptying
    /// important files, start-up files, system files, and secret taint on files.
    fn after_redirects(
        &mut self,
        sc: &SimpleCommand,
        words: &[Word],
        traits: Traits,
        pipe_in: Traits,
    ) {
        let content = self.out_text.clone();
        let bare = words.is_empty()
            || matches!(
                words.first().map(|w| w.text.as_str()),
                Some(":" | "true" | "echo" | "printf")
            ) && content.as_deref().is_none_or(|c| c.trim().is_empty());
        // A target built from variables is folded like any word (`t=$(mktemp); echo … > $t;
        // . $t` writes the script it then runs); one that stays unknown is left to the rules
        // that see dynamic targets.
        let targets: Vec<(&shell::Redirect, String)> = sc
            .redirects
            .iter()
            .filter(|r| r.writes_file())
            .filter_map(|r| {
                if r.target.dynamic {
                    self.fold_word(&r.target, 0).map(|t| (r, t))
                } else {
                    Some((r, r.target.text.clone()))
                }
            })
            .collect();
        for (r, t) in &targets {
            let t = t.as_str();
            if paths::is_discard(t) {
                continue;
            }
            let mut resolved = paths::resolve(t, &self.cwd, self.ctx.home);
            // Through a symlink made earlier in this command, the write lands on its target.
            let linked = self
                .symlinks
                .iter()
                .rev()
                .find(|(l, _)| *l == resolved)
                .map(|(_, target)| target.clone());
            let t_owned;
            let t = if let Some(target) = linked {
                self.guard_target(
                    &target,
                    false,
                    false,
                    "A redirection through a symlink to",
                    false,
                );
                self.check_write_target(&target, "A redirection through a symlink");
                resolved = target.clone();
                t_owned = target;
                t_owned.as_str()
            } else {
                t
            };
            if resolved.starts_with("/dev/tcp/") || resolved.starts_with("/dev/udp/") {
                let dest = resolved
                    .trim_start_matches("/dev/tcp/")
                    .trim_start_matches("/dev/udp/")
                    .replace('/', ":");
                if traits.secret || pipe_in.secret {
                    let src = self
                        .last_source
                        .clone()
                        .unwrap_or_else(|| "a secret".into());
                    self.push(super::exfil::flow_finding(
                        &src,
                        "a `/dev/tcp` redirection",
                        &dest,
                    ));
                } else if !super::exfil::allowed_destination(&dest, self.ctx) {
                    self.push(super::exfil::upload_finding(
                        "the command's output",
                        "a `/dev/tcp` redirection",
                        &dest,
                    ));
                }
                continue;
            }
            let overwrite = matches!(r.kind, RedirKind::Output | RedirKind::OutErr);
            if overwrite && paths::is_history_file(&resolved) {
                self.push(r::AUDIT_WIPE.finding(format!(
                    "Overwriting `{}` erases the record of what was run.",
                    clip(t, 80)
                )));
            }
            let facts = self.path_facts(t);
            let important = facts.write().system
                || facts.write().startup
                || (facts.secret && !self.project_dotenv(&facts.resolved));
            if overwrite && bare && important {
                self.push(r::DESTROY_SENSITIVE.finding(format!(
                    "Emptying `{}` destroys a system, credentials or shell start-up file.",
                    clip(t, 80)
                )));
                self.segment(
                    Intent::Destructive,
                    Facts::default(),
                    self.findings.len().saturating_sub(1),
                );
                continue;
            }
            self.startup_write(t, content.as_deref(), "A redirection writes");
            if !paths::is_secret_path(t) {
                self.system_write(t, "A redirection");
            }
            if traits.secret && self.tainted_files.len() < 32 {
                self.tainted_files.push(resolved.clone());
            }
            // A heredoc's text was recorded above; other output that cannot be folded is
            // unseen content (`curl -s … > x.sh`).
            if content.is_some() || !sc.redirects.iter().any(|r| r.feeds_stdin()) {
                let append = r.kind == RedirKind::Append;
                self.note_written(resolved, content.as_deref(), append);
            }
        }
    }

    /// Static value of `$NAME` / `${NAME}` references in `text`, or `None` when any is unknown.
    fn substitute(&mut self, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, len) = if let Some(b) = after.strip_prefix('{') {
                let end = b.find('}')?;
                (&b[..end], end + 2)
            } else if after.starts_with('!') {
                ("!", 1)
            } else if after.starts_with(['@', '*'])
                || after.starts_with(|c: char| c.is_ascii_digit())
            {
                (&after[..1], 1)
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            let value = match name {
                "!" => "$!".to_owned(),
                "IFS" => self.lookup("IFS").unwrap_or_else(|| " ".to_owned()),
                // The user's shell is a shell: `$SHELL -c '…'` runs like `bash -c '…'`.
                "SHELL" | "BASH" if self.lookup(name).is_none() => "/bin/bash".to_owned(),
                "@" | "*" => self
                    .arrays
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "@")?
                    .1
                    .join(" "),
                n if n.len() == 1 && n.as_bytes()[0].is_ascii_digit() && n != "0" => {
                    let i: usize = n.parse().ok()?;
                    self.arrays
                        .iter()
                        .rev()
                        .find(|(k, _)| k == "@")?
                        .1
                        .get(i - 1)?
                        .clone()
                }
                "HOME" => self.ctx.home?.to_owned(),
                // The login name is a name (no `/`): the home directory's last segment stands
                // for it, so `/tmp/cache-$USER` stays under `/tmp`.
                "USER" | "LOGNAME" if self.lookup(name).is_none() => {
                    let base = self.ctx.home?.trim_end_matches('/').rsplit('/').next()?;
                    (!base.is_empty()).then(|| base.to_owned())?
                }
                "PWD" if !self.cwd_unknown => self.cwd.clone(),
                // `${!ref}`: the variable named by `ref`'s value.
                n if n.len() > 1 && n.starts_with('!') && valid_name(&n[1..]) => {
                    let target = self.lookup(&n[1..])?;
                    if !valid_name(&target) {
                        return None;
                    }
                    self.lookup(&target)?
                }
                // The inherited search path stays a name: what matters is what is added to it.
                "PATH" if self.lookup("PATH").is_none() => "$PATH".to_owned(),
                n if n.ends_with(']') => {
                    // `${a[@]}`, `${a[*]}`, `${a[2]}`.
                    let (base, idx) = n[..n.len() - 1].split_once('[')?;
                    let base = self.resolve_ref(base);
                    let elems = self
                        .arrays
                        .iter()
                        .rev()
                        .find(|(k, _)| *k == base)?
                        .1
                        .clone();
                    match idx {
                        "@" => elems.join(" "),
                        // `"${a[*]}"` joins with the first character of `IFS` (none when empty).
                        "*" => {
                            let ifs = self.lookup("IFS").unwrap_or_else(|| " ".to_owned());
                            elems.join(ifs.get(..1).unwrap_or(""))
                        }
                        i => elems.get(i.parse::<usize>().ok()?)?.clone(),
                    }
                }
                // The temp directory variables, unless this command sets them, name the
                // temp directory (`rm -rf "$TMPDIR/build"` is cleanup, not an unknown target).
                n @ ("TMPDIR" | "TMP" | "TEMP")
                    if !self.vars.iter().any(|(k, _)| *k == n)
                        && !self.arrays.iter().any(|(k, _)| *k == n) =>
                {
                    "/tmp".to_owned()
                }
                n if valid_name(n) => self.lookup(n)?,
                _ => return None,
            };
            out.push_str(&value);
            rest = &after[len..];
        }
        out.push_str(rest);
        self.budget = self.budget.checked_sub(out.len())?;
        Some(out)
    }

    /// The target of a `declare -n` reference, or the name itself.
    fn resolve_ref(&self, name: &str) -> String {
        let mut n = name.to_owned();
        for _ in 0..8 {
            match self.namerefs.iter().rev().find(|(r, _)| *r == n) {
                Some((_, t)) => n = t.clone(),
                None => break,
            }
        }
        n
    }

    /// The static value of a variable (an array's first element for `$arr`).
    fn lookup(&self, name: &str) -> Option<String> {
        let n = self.resolve_ref(name);
        if let Some((_, v)) = self.vars.iter().rev().find(|(k, _)| *k == n) {
            return v.clone();
        }
        self.arrays
            .iter()
            .rev()
            .find(|(k, _)| *k == n)
            .and_then(|(_, e)| e.first().cloned())
    }

    /// The static output of a substitution's script: a pipeline of data commands
    /// (`echo`, `printf`, `base64 -d`, …) over literals (see `fold.rs`).
    fn fold_script(&mut self, s: &Script, depth: usize) -> Option<String> {
        if depth > 4 || s.items.len() != 1 || s.items[0].background {
            return None;
        }
        let mut text: Option<String> = None;
        for stage in &s.items[0].pipeline.stages {
            let Command::Simple(sc) = stage else {
                return None;
            };
            if !sc.assigns.is_empty() {
                return None;
            }
            let mut input = text.take();
            for r in &sc.redirects {
                if r.feeds_stdin() {
                    let mut t = self.fold_word(&r.target, depth + 1)?;
                    if r.kind == RedirKind::HereString {
                        t.push('\n');
                    }
                    input = Some(t);
                } else {
                    return None;
                }
            }
            let mut words = Vec::with_capacity(sc.words.len());
            for w in &sc.words {
                words.push(self.fold_word(w, depth + 1)?);
            }
            let (name, args) = words.split_first()?;
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if let Some(dir) = self.known_directory(command_name(name), &args) {
                text = Some(dir);
                continue;
            }
            text = Some(super::fold::output(
                command_name(name),
                &args,
                input.as_deref(),
            )?);
        }
        let mut out = text?;
        while out.ends_with('\n') {
            out.pop();
        }
        self.budget = self.budget.checked_sub(out.len())?;
        Some(out)
    }

    /// `key=value` settings git reads from `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/
    /// `GIT_CONFIG_VALUE_n` (prefix assignments of this command, or variables set earlier in
    /// the line) and `GIT_CONFIG_PARAMETERS`. A value only known at run time is `$ENV`.
    fn git_env_settings(&mut self) -> Vec<String> {
        let prefix = std::mem::take(&mut self.env_git);
        let get = |name: &str| -> Option<Option<String>> {
            prefix
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    self.vars
                        .iter()
                        .rev()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                })
        };
        let mut out = Vec::new();
        let names = prefix
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(self.vars.iter().map(|(k, _)| k.as_str()));
        let keys: Vec<String> = names
            .filter_map(|k| k.strip_prefix("GIT_CONFIG_KEY_"))
            .map(str::to_owned)
            .collect();
        for n in keys.iter().take(16) {
            let Some(Some(key)) = get(&format!("GIT_CONFIG_KEY_{n}")) else {
                continue;
            };
            let value = get(&format!("GIT_CONFIG_VALUE_{n}"))
                .flatten()
                .unwrap_or_else(|| "$ENV".to_owned());
            out.push(format!("{key}={value}"));
        }
        // `GIT_CONFIG_PARAMETERS="'core.pager'='sh -c …'"`: quoted pairs.
        if let Some(params) = get("GIT_CONFIG_PARAMETERS") {
            match params {
                Some(p) => {
                    for pair in p.split("' '").take(16) {
                        let pair = pair.trim_matches(|c: char| c == '\'' || c.is_whitespace());
                        if let Some((k, v)) = pair.split_once("'='") {
                            out.push(format!("{k}={v}"));
                        } else if let Some((k, v)) = pair.split_once('=') {
                            out.push(format!("{}={v}", k.trim_end_matches('\'')));
                        }
                    }
                }
                None => out.push("core.pager=$ENV".to_owned()),
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// `$(pwd)` is the directory the walker followed (unless a computed `cd` lost it);
    /// `$(git rev-parse --show-toplevel)` is the workspace when the workspace is the
    /// repository's root and the command runs inside it.
    fn known_directory(&self, name: &str, args: &[&str]) -> Option<String> {
        match (name, args) {
            ("pwd", [] | ["-L"] | ["-P"]) if !self.cwd_unknown => Some(self.cwd.clone()),
            ("git", ["rev-parse", "--show-toplevel"]) if !self.cwd_unknown => {
                let ws = paths::normalize(self.ctx.workspace);
                (paths::is_inside(&paths::normalize(&self.cwd), &ws)
                    && std::path::Path::new(&ws).join(".git").exists())
                .then_some(ws)
            }
            _ => None,
        }
    }

    /// The static text of a word: variables substituted and substitutions folded, or `None`
    /// when any part is only known at run time.
    fn fold_word(&mut self, w: &Word, depth: usize) -> Option<String> {
        if !w.dynamic {
            return Some(w.text.clone());
        }
        let mut text = w.text.clone();
        if !w.subs.is_empty() {
            if w.sub_spans.len() != w.subs.len() {
                return None;
            }
            let mut spans = w.sub_spans.clone();
            spans.sort_by_key(|s| std::cmp::Reverse(s.1));
            for (i, a, b) in spans {
                if b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
                    return None;
                }
                let v = self.fold_script(&w.subs[i], depth)?;
                text.replace_range(a..b, &v);
            }
            if !text.contains('$') {
                return Some(text);
            }
        }
        self.substitute(&text)
    }

    /// Words after static variable, `$IFS` and brace expansion.
    fn expand<'w>(&mut self, words: &'w [Word]) -> Cow<'w, [Word]> {
        let needs = words.iter().any(|w| {
            (w.dynamic && w.text.contains(['$', '`', '<', '>']))
                || (!w.quoted && !w.dynamic && w.text.contains('{') && w.text.contains(','))
        });
        if !needs {
            return Cow::Borrowed(words);
        }
        let ifs = self.lookup("IFS");
        let mut out = Vec::with_capacity(words.len() + 2);
        for w in words {
            // `"${a[@]}"`: one word per element, blanks inside an element kept.
            if w.dynamic && w.quoted && !w.unquoted_expansion {
                let whole = w
                    .text
                    .strip_prefix("${")
                    .and_then(|r| r.strip_suffix("[@]}"))
                    .filter(|n| valid_name(n));
                if let Some(elems) = whole.and_then(|n| {
                    self.arrays
                        .iter()
                        .rev()
                        .find(|(k, _)| k == n)
                        .map(|(_, e)| e.clone())
                }) {
                    out.extend(elems.iter().map(|e| {
                        let mut n = Word::literal(e);
                        n.quoted = true;
                        n
                    }));
                    continue;
                }
            }
            // `<( )` stays a word of its own (a file name at run time).
            if w.dynamic && !w.text.starts_with(['<', '>']) {
                if let Some(t) = self.fold_word(w, 0) {
                    // `"${a[@]}"` still splits into the array's elements.
                    if w.quoted
                        && !w.unquoted_expansion
                        && !w.text.contains("[@]}")
                        && !w.text.contains("$@")
                        && !w.text.contains("${@}")
                    {
                        let mut n = Word::literal(&t);
                        n.quoted = true;
                        out.push(n);
                    } else {
                        let pieces: Vec<&str> = match ifs.as_deref() {
                            Some(sep) if !sep.is_empty() && sep != " " => t
                                .split(|c: char| sep.contains(c) || c.is_ascii_whitespace())
                                .filter(|p| !p.is_empty())
                                .collect(),
                            _ => t.split_ascii_whitespace().collect(),
                        };
                        // `{rm,-rf,$HOME}`: braces written around a variable still expand.
                        let braces = w.text.contains('{') && w.text.contains(',');
                        for p in pieces {
                            match brace_alternatives(p).filter(|_| braces) {
                                Some(alts) => out.extend(alts.iter().map(|a| Word::literal(a))),
                                None => out.push(Word::literal(p)),
                            }
                        }
                    }
                    continue;
                }
            }
            if !w.quoted && !w.dynamic {
                if let Some(alts) = brace_alternatives(&w.text) {
                    out.extend(alts.iter().map(|a| Word::literal(a)));
                    continue;
                }
            }
            out.push(w.clone());
        }
        Cow::Owned(out)
    }

    /// Records `NAME=value` (from a bare assignment, `export`, `declare`, `local`, …).
    fn assign(&mut self, w: &Word) {
        let Some((name, value)) = w.text.split_once('=') else {
            return;
        };
        let (name, append) = match name.strip_suffix('+') {
            Some(n) => (n, true),
            None => (name, false),
        };
        if !valid_name(name) {
            return;
        }
        if let Some(elems) = &w.array {
            let filled: Option<Vec<String>> = elems
                .iter()
                .map(|e| {
                    if e.contains('$') {
                        self.substitute(e)
                    } else {
                        Some(e.clone())
                    }
                })
                .collect();
            match filled {
                Some(elems) => {
                    if self.arrays.len() < MAX_VARS {
                        self.arrays.push((name.to_owned(), elems));
                    }
                    self.vars.retain(|(k, _)| k != name);
                }
                // Assigned here, value unknown: a program word built from it is run-time data.
                None => {
                    self.arrays.retain(|(k, _)| k != name);
                    self.set_var(name, None);
                }
            }
            return;
        }
        let mut v = if !w.dynamic {
            Some(value.to_owned())
        } else {
            self.fold_word(w, 0)
                .and_then(|t| t.split_once('=').map(|(_, v)| v.to_owned()))
        };
        if append {
            let old = self
                .vars
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.clone());
            v = old.zip(v).map(|(a, b)| a + &b);
        }
        self.exec_var(name, v.as_deref());
        self.load_var(name, v.as_deref());
        if guard_setting(name) {
            self.push(p::GUARD_TAMPER_SUSPECT.finding(format!(
                "`{name}` set in this shell changes how the guard or an agent's hooks run for what it starts."
            )));
        }
        if history_off(name, v.as_deref()) {
            self.push(r::AUDIT_WIPE.finding(format!(
                "`{name}={}` stops the shell from keeping a record of what is run.",
                v.as_deref().unwrap_or("")
            )));
        }
        if name == "PATH" {
            self.path_var(v.as_deref());
        }
        self.set_var(name, v.filter(|v| v.len() <= 4096));
    }

    /// `BASH_ENV=/tmp/e bash -c ls`, `LD_PRELOAD=x.so ls`: a variable that makes programs load
    /// code from a file. A shell start-up script is graded like `. file`; preloaded native or
    /// interpreter code cannot be read, so it needs a person.
    fn load_var(&mut self, name: &str, value: Option<&str>) {
        if !LOAD_VARS.contains(&name) || self.reparsed >= 4 {
            return;
        }
        let loads = match (name, value) {
            ("BASH_ENV" | "ENV", Some(f)) => {
                if !f.trim().is_empty() {
                    let text = format!(". '{}'", f.replace('\'', r"'\''"));
                    self.reparsed += 1;
                    self.text(&text, 1, Some(name.to_owned()));
                    self.reparsed -= 1;
                }
                false
            }
            (_, None) => true,
            ("LD_PRELOAD" | "DYLD_INSERT_LIBRARIES" | "LD_AUDIT", Some(v)) => v
                .split([':', ' '])
                .filter(|l| !l.is_empty())
                .any(|l| !(l.starts_with("/usr/lib") || l.starts_with("/lib"))),
            // A module of the project (`./test/setup.js`) or a dependency (`ts-node/register`)
            // is the project's code; one from elsewhere (`/tmp/x.js`, `~/…`, `../…`) is not.
            ("NODE_OPTIONS", Some(v)) => {
                let toks: Vec<&str> = v.split_whitespace().collect();
                toks.iter().enumerate().any(|(i, o)| {
                    let module = match *o {
                        "-r" | "--require" | "--import" | "--loader" | "--experimental-loader" => {
                            toks.get(i + 1).copied().unwrap_or("")
                        }
                        _ => match [
                            "--require=",
                            "--import=",
                            "--loader=",
                            "--experimental-loader=",
                        ]
                        .iter()
                        .find_map(|p| o.strip_prefix(p))
                        {
                            Some(m) => m,
                            None => return false,
                        },
                    };
                    let module = module.trim_matches(['"', '\'']);
                    let r = paths::resolve(module, &self.cwd, self.ctx.home);
                    module.is_empty()
                        || module.contains(['$', '`', ':'])
                        || (module.starts_with(['/', '~', '.'])
                            && !paths::is_inside(&r, self.ctx.workspace))
                })
            }
            // Python code every interactive interpreter runs first: graded when written in
            // this command, unseen otherwise.
            ("PYTHONSTARTUP", Some(f)) => {
                let r = paths::resolve(f, &self.cwd, self.ctx.home);
                match self.written_text(&r).flatten() {
                    Some(code) => {
                        self.reparsed += 1;
                        let mut facts = Facts::default();
                        self.grade_code("python3", &code, 1, &mut facts);
                        self.reparsed -= 1;
                        false
                    }
                    None => !paths::is_inside(&r, self.ctx.workspace),
                }
            }
            ("PERL5OPT", Some(v)) => v
                .split_whitespace()
                .any(|o| o.starts_with("-M") || o.starts_with("-m") || o.starts_with("-d")),
            ("RUBYOPT", Some(v)) => v.split_whitespace().any(|o| o.starts_with("-r")),
            // `-javaagent:/tmp/a.jar`: an agent jar every JVM started loads first. One of the
            // project's (or its build's) is the project's code; a downloaded one is remote code.
            (_, Some(v)) if name.contains("JAVA") || name.ends_with("_OPTS") => {
                let agents: Vec<&str> = v
                    .split_whitespace()
                    .filter_map(|o| {
                        let o = o.trim_matches(['"', '\'']);
                        o.strip_prefix("-javaagent:")
                            .or_else(|| o.strip_prefix("-agentpath:"))
                            .map(|p| p.split('=').next().unwrap_or(p))
                    })
                    .collect();
                let mut outside = false;
                for a in agents {
                    let r = paths::resolve(a, &self.cwd, self.ctx.home);
                    if self.downloaded.iter().any(|d| paths::is_inside(&r, d)) {
                        self.push(r::CURL_PIPE_SHELL.finding(format!(
                            "`{name}` loads `{}`, downloaded earlier in this command, into every JVM (unreviewed remote code).",
                            clip(a, 60)
                        )));
                        return;
                    }
                    outside |= a.contains('$') || !paths::is_inside(&r, self.ctx.workspace);
                }
                outside
            }
            _ => false,
        };
        if loads {
            self.push(r::PRELOAD_CODE.finding(format!(
                "`{name}` makes the program load code from a file first (`{}`), which cannot be read here.",
                clip(value.unwrap_or("a value only known at run time"), 60)
            )));
        }
    }

    /// `GIT_SSH_COMMAND='rm -rf ~' git fetch`, `export EDITOR=…`: a variable whose value
    /// another program runs later is graded as the command it is.
    fn exec_var(&mut self, name: &str, value: Option<&str>) {
        if !EXEC_VARS.contains(&name) || self.reparsed >= 4 {
            return;
        }
        match value {
            Some(cmd) if !cmd.trim().is_empty() => {
                // `LESSOPEN='|cmd %s'`: a preprocessor command line with the file as `%s`.
                let cmd = if name.starts_with("LESS") {
                    cmd.trim_start_matches('|').replace("%s", "file")
                } else {
                    cmd.to_owned()
                };
                self.reparsed += 1;
                self.text(&cmd, 1, Some(name.to_owned()));
                self.reparsed -= 1;
            }
            Some(_) => {}
            None => self.push(r::DYNAMIC_COMMAND.finding(format!(
                "`{name}` names a program other tools run later, and its value is only known at run time."
            ))),
        }
    }

    /// The whole program word is data made at run time: `$(cat cmd.txt)`, `$(curl …)`, or a
    /// variable this command filled from such data (`x=$(<cmd.txt); $x`). A configurable
    /// program (`$PYTHON`, `$(which python)`, `$(npm bin)/jest`) is not.
    fn program_is_data(&self, cmd: &Word) -> bool {
        let t = cmd.text.as_str();
        let whole_sub =
            (t.starts_with("$(") && t.ends_with(')')) || (t.starts_with('`') && t.ends_with('`'));
        if whole_sub && cmd.subs.len() == 1 {
            let mut first: Option<Vec<String>> = None;
            shell::for_each_simple(&cmd.subs[0], &mut |sc| {
                if first.is_none() {
                    first = Some(sc.words.iter().map(|w| w.text.clone()).collect());
                }
            });
            let lookup = first.as_deref().is_some_and(|w| match w {
                [n, ..]
                    if matches!(
                        command_name(n),
                        "which" | "type" | "whereis" | "realpath" | "readlink"
                    ) =>
                {
                    true
                }
                [n, f, ..] if command_name(n) == "command" && f == "-v" => true,
                [n, rest @ ..] => {
                    matches!(
                        command_name(n),
                        "pyenv" | "rbenv" | "nodenv" | "brew" | "npm" | "xcrun" | "rustup" | "go"
                    ) && rest.iter().any(|a| {
                        matches!(
                            a.as_str(),
                            "which" | "--prefix" | "bin" | "-f" | "--find" | "env"
                        )
                    })
                }
                _ => false,
            });
            return !lookup;
        }
        // `$x`, `${x}`, `${a[@]}`, `${a[0]}`, `${!ref}`: the variable behind the word.
        let name = t
            .strip_prefix("${")
            .and_then(|n| n.strip_suffix('}'))
            .map(|n| {
                let n = n.trim_start_matches('!');
                n.split_once('[').map_or(n, |(base, _)| base)
            })
            .or_else(|| t.strip_prefix('$'))
            .filter(|n| valid_name(n));
        name.is_some_and(|n| {
            self.vars
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .is_some_and(|(_, v)| v.is_none())
        })
    }

    /// `PATH=/tmp/x:$PATH git status`: a temp directory on the search path lets whatever
    /// was dropped there answer to any program name run afterwards.
    fn path_var(&mut self, value: Option<&str>) {
        let Some(value) = value else { return };
        let temp = value.split(':').find(|d| {
            let r = paths::resolve(d, &self.cwd, self.ctx.home);
            d.starts_with('/') && paths::is_temp(&r) && !paths::is_inside(&r, self.ctx.workspace)
        });
        if let Some(dir) = temp {
            self.push(r::PRELOAD_CODE.finding(format!(
                "`PATH` includes `{}`, a temp directory: a program dropped there runs in place of the one named.",
                clip(dir, 60)
            )));
        }
    }

    fn set_var(&mut self, name: &str, v: Option<String>) {
        if let Some(slot) = self.vars.iter_mut().find(|(k, _)| k == name) {
            slot.1 = v;
        } else if self.vars.len() < MAX_VARS {
            self.vars.push((name.to_owned(), v));
        }
    }

    fn redirects(&mut self, rs: &[Redirect], words: &[Word], facts: &mut Facts) {
        // What `echo`/`printf` of literals writes, for the project `.npmrc` check below.
        let printed = || -> Option<String> {
            let (first, rest) = words.split_first()?;
            (matches!(first.text.as_str(), "echo" | "printf") && rest.iter().all(|w| !w.dynamic))
                .then(|| {
                    rest.iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
        };
        for r in rs.iter().filter(|r| r.writes_file()) {
            let resolved = if r.target.dynamic && r.target.subs.is_empty() {
                self.substitute(&r.target.text)
            } else {
                None
            };
            let dynamic = r.target.dynamic && resolved.is_none();
            let t = resolved.as_deref().unwrap_or(&r.target.text);
            if paths::is_discard(t) {
                continue;
            }
            facts.write_redirect = true;
            // A project `.npmrc` naming its registry and a token variable
            // (`_authToken=${NPM_TOKEN}`) is configuration; a literal credential, or content
            // that cannot be read, is a secret written into the project.
            let safe_npmrc = self.project_npmrc(t)
                && printed().is_some_and(|c| {
                    !c.split(['\n', ' ']).any(|l| {
                        l.split_once('=').is_some_and(|(k, v)| {
                            (k.ends_with("_authToken")
                                || k.ends_with("_auth")
                                || k.ends_with("_password"))
                                && !v.trim().is_empty()
                                && !v.trim().starts_with("${")
                        })
                    })
                });
            if !safe_npmrc {
                self.check_write_target(t, "A redirection");
            }
            self.guard_target(t, dynamic, false, "A redirection to", false);
            if dynamic {
                // `> "$(python3 -c 'import site; …')/x.pth"`: a directory found at run time,
                // but a file name Python loads at every start wherever it is a site directory.
                let base = t.rsplit('/').next().unwrap_or(t);
                if base.ends_with(".pth") || matches!(base, "sitecustomize.py" | "usercustomize.py")
                {
                    self.push(protect::Later::Loaded.finding("A redirection", clip(t, 80)));
                }
            }
            facts.system_redirect |= paths::is_system_path(t);
            facts.dotdot |= paths::has_dotdot(t);
            facts.sensitive |= paths::is_risk_sensitive(t);
            self.note_target(t);
        }
    }

    /// Blocks writes into raw devices and secret files.
    fn check_write_target(&mut self, t: &str, via: impl std::fmt::Display) {
        if paths::is_device(t) {
            self.push(r::DEVICE_WRITE.finding(format!(
                "{via} writes to the raw device `{}`, destroying its data.",
                clip(t, 80)
            )));
        } else if paths::is_secret_path(t) && !self.project_dotenv(t) {
            self.push(r::SENSITIVE_WRITE.finding(format!(
                "{via} writes to `{}`, a secrets or credentials file.",
                clip(t, 80)
            )));
        }
    }

    /// A shell or REPL history file replaced, emptied or destroyed (`ln -sf /dev/null
    /// ~/.bash_history`, `shred -u ~/.zsh_history`, code opening it for writing).
    fn history_write(&mut self, t: &str, via: impl std::fmt::Display) -> bool {
        let f = self.path_facts(t);
        if !paths::is_history_file(&f.resolved) {
            return false;
        }
        self.push(r::AUDIT_WIPE.finding(format!(
            "{via} `{}`, erasing the record of what was run.",
            clip(t, 80)
        )));
        true
    }

    /// A project's own dotenv file (`.env`, `.env.local` in the workspace): setting up local
    /// configuration is everyday work, and writing one reveals nothing. Keys, `.npmrc`,
    /// `.netrc` and dotenv files elsewhere stay sensitive.
    /// A project's own `.npmrc` (`//registry.npmjs.org/:_authToken=${NPM_TOKEN}`): the
    /// documented way to point a project at its registry; the user's `~/.npmrc` stays
    /// sensitive, and a literal token in what is written is `secret-in-content`.
    fn project_npmrc(&self, t: &str) -> bool {
        let r = paths::resolve(t, &self.cwd, self.ctx.home);
        r.ends_with("/.npmrc") && paths::is_inside(&r, &paths::normalize(self.ctx.workspace))
    }

    fn project_dotenv(&self, t: &str) -> bool {
        let r = paths::resolve(t, &self.cwd, self.ctx.home);
        paths::is_dotenv(&r) && paths::is_inside(&r, &paths::normalize(self.ctx.workspace))
    }

    /// Self-protection for a path the command changes. `dynamic`: the path is computed at run
    /// time; `strict` makes any computed path an approval (`sed -i $F`).
    fn guard_target(
        &mut self,
        t: &str,
        dynamic: bool,
        subtree: bool,
        via: impl std::fmt::Display,
        strict: bool,
    ) {
        // A computed path that still names a guard file (`$D/.claude/settings.json`,
        // `$CLAUDE_CONFIG_DIR/…`) is as good as literal.
        if let Some(what) = protect::check(t, &self.cwd, self.ctx, subtree) {
            self.push(p::GUARD_TAMPER.finding(format!(
                "{via} `{}` would change {what}, which would disable or bypass the guard.",
                clip(t, 80)
            )));
        } else if dynamic && (strict || protect::looks_protected(t)) {
            self.push(p::GUARD_TAMPER_SUSPECT.finding(format!(
                "{via} `{}` is computed at run time and could be the guard's own settings.",
                clip(t, 80)
            )));
        }
    }

    fn guard_words(
        &mut self,
        ws: &[&Word],
        subtree: bool,
        via: impl std::fmt::Display + Copy,
        strict: bool,
    ) {
        for w in ws {
            self.guard_target(&w.text, w.dynamic, subtree, via, strict);
        }
    }

    /// Grades a command given as words, after stripping wrappers.
    #[allow(clippy::too_many_arguments)]
    fn argv(
        &mut self,
        words: &[Word],
        sudo: bool,
        mut facts: Facts,
        first: usize,
        stdin: Option<&Redirect>,
        depth: usize,
        pipe_in: Traits,
    ) -> Traits {
        if depth > shell::MAX_DEPTH {
            self.unparseable("nesting too deep");
            return Traits::default();
        }
        // Where this command's output goes, kept against the commands walked inside it
        // (substitutions, wrapped commands) that set the field for themselves.
        let to_file = self.stdout_to_file;
        let stripped = strip_wrappers(words);
        // `env DASHCLAW_DAEMON_BIN=/bin/true claude`, `sudo CLAUDE_CONFIG_DIR=/tmp/c claude`:
        // settings handed to the program through a wrapper, as a prefix assignment would.
        let wrapped_env = words[..stripped.start.min(words.len())]
            .iter()
            .chain(
                words[stripped.start.min(words.len())..]
                    .iter()
                    .take_while(|w| w.is_assignment()),
            )
            .filter(|w| w.is_assignment())
            .filter_map(|w| w.text.split_once('=').map(|(n, _)| n))
            .chain(
                // `env -u DASHCLAW_X cmd`, `env --unset=DASHCLAW_X cmd`: removed for it.
                words[..stripped.start.min(words.len())]
                    .windows(2)
                    .filter(|w| matches!(w[0].text.as_str(), "-u" | "--unset"))
                    .map(|w| w[1].text.as_str())
                    .chain(
                        words[..stripped.start.min(words.len())]
                            .iter()
                            .filter_map(|w| {
                                w.text
                                    .strip_prefix("--unset=")
                                    .or_else(|| w.text.strip_prefix("-u"))
                            }),
                    ),
            )
            .find(|n| guard_setting(n));
        if let Some(n) = wrapped_env {
            self.push(p::GUARD_TAMPER_SUSPECT.finding(format!(
                "`{n}` set for what this command starts changes how the guard or an agent's hooks run."
            )));
        }
        // `nsenter -t 1 -m -p …`: the host's own namespaces, entered from wherever this runs
        // (a container, a sandbox); what follows runs as the host.
        let wrappers = &words[..stripped.start.min(words.len())];
        if let Some(at) = wrappers
            .iter()
            .position(|w| command_name(&w.text) == "nsenter")
        {
            let opts = &wrappers[at + 1..];
            let pid1 = opts.iter().enumerate().any(|(i, w)| {
                matches!(w.text.as_str(), "-t1" | "--target=1")
                    || (matches!(w.text.as_str(), "-t" | "--target")
                        && opts.get(i + 1).is_some_and(|v| v.text == "1"))
            });
            if pid1 {
                self.push(r::CONTAINER_ESCAPE.finding(
                    "`nsenter --target 1` enters the host's namespaces (pid 1's mount, network and process view).",
                ));
            }
        }
        let sudo = sudo || stripped.sudo;
        if !words.is_empty() {
            self.record_command(words);
        }
        // What arrives on stdin, when it is known: a here-string or heredoc literal, or the
        // folded output of the previous pipeline stage.
        let input: Option<String> = match stdin {
            Some(r) if r.feeds_stdin() && !r.target.dynamic => Some(r.target.text.clone()),
            // `<<< "rm -rf $HOME"`: expansions of variables known here.
            Some(r) if r.feeds_stdin() => self.fold_word(&r.target, depth + 1),
            Some(_) => None,
            None => self.stdin_text.take(),
        };
        if let (Some(x), Some(text)) = (&stripped.xargs, &input) {
            // `echo / | xargs rm -rf`: the items become arguments, as xargs would make them.
            let argv = &words[stripped.start..];
            if !argv.is_empty() {
                let items: Vec<&str> = if x.lines {
                    text.split(['\n', '\0'])
                        .filter(|l| !l.is_empty())
                        .take(8)
                        .collect()
                } else {
                    text.split_ascii_whitespace().take(64).collect()
                };
                let base: Vec<String> = argv.iter().map(|w| quote(&w.text)).collect();
                let lines: Vec<String> = match &x.replace {
                    Some(r) => items
                        .iter()
                        .map(|it| {
                            argv.iter()
                                .map(|w| quote(&w.text.replace(r.as_str(), it)))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect(),
                    None => vec![format!(
                        "{} {}",
                        base.join(" "),
                        items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(" ")
                    )],
                };
                let mut t = Traits::default();
                for line in lines {
                    t |= self.text(&line, depth + 1, Some("xargs".to_owned()));
                }
                self.segment(Intent::Readonly, facts, first);
                return t;
            }
        }
        if let Some((text, label)) = stripped.reparse {
            // `env -S 'rm -rf /'`, `su -c '…'`: the wrapper hands a string to a parser.
            let mut text = text.to_owned();
            for w in &words[stripped.start..] {
                text.push(' ');
                text.push_str(&quote(&w.text));
            }
            self.reparsed += 1;
            let t = self.text(&text, depth + 1, Some(label.to_owned()));
            self.reparsed -= 1;
            return t;
        }
        if stripped.xargs.is_some() {
            // `xargs rm -rf` with unknown input: the targets arrive at run time.
            self.xargs_context = true;
        }
        let argv = &words[stripped.start..];
        let Some(cmd) = argv.first() else {
            self.segment(Intent::Readonly, facts, first);
            return Traits::default();
        };
        if stripped.lookup_only {
            self.segment(Intent::Readonly, facts, first);
            return Traits::default();
        }
        // `/bin/r? -rf ~`, `/???/rm`: a glob in the program name picks the program at run time.
        let globbed;
        let cmd = if !cmd.dynamic
            && cmd.text.contains(['?', '*', '['])
            && !matches!(cmd.text.as_str(), "[" | "[[")
        {
            let mut g = cmd.clone();
            g.dynamic = true;
            globbed = g;
            &globbed
        } else {
            cmd
        };
        if cmd.dynamic && argv[0].subs.iter().any(|sub| script_downloads(sub, depth)) {
            // `$(curl -s https://x)`: a downloaded text run as a command.
            self.push(
                r::CURL_PIPE_SHELL.finding(
                    "The command to run is downloaded at run time (remote code execution).",
                ),
            );
            self.segment(Intent::Destructive, facts, first);
            return Traits::default();
        }
        // `uv run https://…/s.py`, a URL in the program position: fetched and run.
        if !cmd.dynamic && {
            let l = cmd.text.as_bytes();
            l.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"http://"))
                || l.get(..8)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"https://"))
        } {
            self.push(r::CURL_PIPE_SHELL.finding(format!(
                "`{}` is a URL: the program is fetched and run unreviewed.",
                clip(&cmd.text, 80)
            )));
            self.segment(Intent::Destructive, facts, first);
            return Traits::default();
        }
        if cmd.dynamic
            && self.reparsed == 0
            && !looks_destructive(&argv[1..], self.ctx.home)
            && !self.program_is_data(cmd)
        {
            // `$PYTHON -m pytest`, `$EDITOR notes.md`: a configurable program with harmless
            // arguments. Its own substitutions were graded already.
            self.segment(Intent::Unknown, facts, first);
            return Traits {
                runs_stdin: input.is_none() && stdin.is_none(),
                ..Traits::default()
            };
        }
        if cmd.dynamic {
            let intent = if self.reparsed > 0 {
                self.push(p::SHELL_C_DYNAMIC.finding(format!(
                    "The command that a shell string runs, `{}`, is computed at run time (obfuscated execution).",
                    clip(&cmd.text, 80)
                )));
                Intent::Destructive
            } else {
                self.push(r::DYNAMIC_COMMAND.finding(format!(
                    "The program to run, `{}`, is only known at run time.",
                    clip(&cmd.text, 80)
                )));
                Intent::Unknown
            };
            self.segment(intent, facts, first);
            return Traits {
                runs_stdin: true,
                ..Traits::default()
            };
        }
        // `cp /bin/rm ./clean && ./clean -rf ~`: the program under its new name.
        if cmd.text.contains('/') && (!self.renamed.is_empty() || !self.symlinks.is_empty()) {
            let at = paths::resolve(&cmd.text, &self.cwd, self.ctx.home);
            let real = self
                .renamed
                .iter()
                .find(|(p, _)| *p == at)
                .map(|(_, n)| n.clone())
                .or_else(|| {
                    self.symlinks
                        .iter()
                        .find(|(l, _)| *l == at)
                        .map(|(_, t)| program_name(t).to_owned())
                });
            if let Some(real) = real.filter(|r| !r.is_empty() && *r != command_name(&cmd.text)) {
                let mut text = quote(&real);
                for w in &argv[1..] {
                    text.push(' ');
                    text.push_str(&quote(&w.text));
                }
                self.renamed.clear();
                self.symlinks.retain(|(l, _)| *l != at);
                return self.text(
                    &text,
                    depth + 1,
                    Some(format!("{} is {real}", clip(&cmd.text, 40))),
                );
            }
        }
        let name = command_name(&cmd.text);
        let args = &argv[1..];
        // The argument texts, once, for the table lookups below.
        let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
        // `/etc/init.d/ssh stop` is `service ssh stop`.
        if (cmd.text.starts_with("/etc/init.d/") || cmd.text.starts_with("/etc/rc.d/"))
            && !args.is_empty()
        {
            let mut svc = vec![Word::literal(name)];
            svc.extend(args.iter().cloned());
            let texts: Vec<&str> = svc.iter().map(|w| w.text.as_str()).collect();
            if let Some((rule, why)) = super::system::check("service", &texts) {
                self.push(rule.finding(why));
            }
        }
        let mut traits = Traits::default();
        if !name.is_ascii() {
            self.push(p::CONFUSABLE_COMMAND.finding(format!(
                "The program name `{}` contains non-ASCII characters (a look-alike of a real command?).",
                clip(name, 40)
            )));
            self.segment(Intent::Unknown, facts, first);
            return traits;
        }

        // Path facts from positional arguments (upstream: parsed targets).
        let skip_sub = matches!(
            name,
            "git"
                | "docker"
                | "kubectl"
                | "npm"
                | "yarn"
                | "pip"
                | "cargo"
                | "go"
                | "apt"
                | "brew"
                | "systemctl"
        );
        let upstream_readonly = listed(name) == Some(Listed::Readonly);
        for (i, a) in positionals(args).enumerate() {
            if (skip_sub && i == 0) || a.text.contains(char::is_whitespace) {
                continue;
            }
            facts.sensitive |= paths::is_risk_sensitive(&a.text);
            facts.dotdot |= paths::has_dotdot(&a.text);
            if !upstream_readonly {
                self.note_target(&a.text);
            }
        }

        // `--help` anywhere only counts for known programs whose option parser stops at it: a
        // shell, an interpreter or a script would pass it to code that runs anyway
        // (`python3 -c '…' --help`, `./wipe.sh --help`).
        let help_exits = !cmd.text.contains('/')
            && !SHELLS.contains(&name)
            && !matches!(listed(name), None | Some(Listed::Interpreter))
            || infra::is_infra_name(name);
        let help_exits = help_exits
            && !is_versioned_python(name)
            && args
                .iter()
                .all(|a| !a.dynamic && !a.text.contains(char::is_whitespace));
        if !args.is_empty()
            && (args
                .iter()
                .all(|a| matches!(a.text.as_str(), "--help" | "--version"))
                || (help_exits
                    && args
                        .iter()
                        .any(|a| matches!(a.text.as_str(), "--help" | "-help"))))
        {
            // `rm --help`, `dd --version`: documentation, nothing runs.
            self.segment(Intent::Readonly, facts, first);
            return traits;
        }
        let own = self.findings.len();
        self.pipe_secret = pipe_in.secret;
        self.stdout_to_file = to_file;
        self.exfil(name, args, &texts, stdin, pipe_in, &mut traits);
        if self.arg_runners.iter().any(|f| f == name) && !args.is_empty() && self.reparsed < 4 {
            // `f rm -rf ~` where `f(){ "$@"; }`: the arguments are the command that runs.
            let text = args
                .iter()
                .map(|w| quote(&w.text))
                .collect::<Vec<_>>()
                .join(" ");
            self.reparse(&text, depth, &format!("function {name}"));
        }
        let mut intent = if self.functions.iter().any(|f| f == name) {
            Intent::Readonly
        } else {
            self.base_intent(name, args, sudo)
        };
        self.stdout_to_file = to_file;
        if let Some(handler) = dispatch::handler(name) {
            let mut call = dispatch::Call {
                name,
                args,
                sudo,
                stdin,
                input: input.as_deref(),
                pipe_in,
                depth,
                own,
                intent,
                facts,
                traits,
            };
            handler(self, &mut call);
            (intent, facts, traits) = (call.intent, call.facts, call.traits);
        }
        // Programs that run other programs from their own arguments (see `embedded.rs`).
        {
            let (ename, eargs): (&str, &[&str]) =
                if name == "npx" || name == "bunx" || name == "pnpx" {
                    let at = texts
                        .iter()
                        .position(|a| !a.starts_with('-'))
                        .unwrap_or(texts.len());
                    (
                        texts.get(at).copied().unwrap_or(""),
                        texts.get(at + 1..).unwrap_or(&[]),
                    )
                } else {
                    (name, &texts)
                };
            let e = super::embedded::commands(ename, eargs, input.as_deref());
            for (cmd, label) in e.shell {
                self.reparsed += 1;
                self.text(&cmd, depth + 1, Some(label.to_owned()));
                self.reparsed -= 1;
            }
            if let Some(why) = e.dynamic {
                self.push(p::INTERPRETER_DYNAMIC.finding(format!("`{name}`: {why}.")));
            }
        }
        // System rules (services, firewalls, power, signals, accounts, mounts, the kernel).
        {
            let replaced_crontab =
                (name == "crontab" && texts.is_empty() && input.is_some()).then(|| {
                    (
                        r::CRONTAB_REMOVE,
                        "`crontab` fed on stdin replaces every scheduled job.".to_owned(),
                    )
                });
            if let Some((rule, why)) = super::system::check(name, &texts).or(replaced_crontab) {
                self.push(rule.finding(why));
                if intent != Intent::Destructive {
                    intent = Intent::SystemAdmin;
                }
            }
        }
        // Infrastructure and data rules (databases, containers, clusters, IaC, clouds).
        let mut infra_hit = false;
        // `npx cdk deploy …`, `npx prisma …`: the package runner's program.
        let (iname, itexts) = match name {
            "npx" | "pnpx" | "bunx" => super::admin::resolve(name, &texts),
            _ => (name, texts.as_slice()),
        };
        if infra::is_infra_name(iname) {
            let stdin_text = stdin
                .filter(|r| r.feeds_stdin())
                .map(|r| r.target.text.as_str());
            let v = infra::infra(iname, itexts, stdin_text);
            infra_hit = !v.findings.is_empty();
            // `RAILS_ENV=test rails db:drop`: the test database, rebuilt for tests.
            let test_db = infra_hit
                && super::admin::framework_database(name, &texts)
                    .is_some_and(|prog| infra::targets_test_database(prog, &self.test_env, &texts));
            if let Some(i) = v.intent.filter(|_| !test_db) {
                intent = i;
            }
            for f in v.findings {
                if test_db && f.verdict > Verdict::Warn {
                    self.push(r::DESTRUCTIVE.finding(format!("{} (the test database)", f.reason)));
                } else {
                    self.push(f);
                }
            }
        }
        // Admin CLIs read by verb, and dangerous argument forms (classify/admin.rs).
        if !infra_hit {
            if let Some((rule, i, why)) = super::admin::check(name, &texts) {
                let test_db = rule.id == r::ADMIN_DESTROY.id
                    && super::admin::framework_database(name, &texts).is_some_and(|prog| {
                        infra::targets_test_database(prog, &self.test_env, &texts)
                    });
                if test_db {
                    // `RAILS_ENV=test rails db:reset`: the test database, rebuilt for tests.
                    self.push(r::DESTRUCTIVE.finding(format!("{why} (the test database)")));
                } else {
                    self.push(rule.finding(why));
                    if intent != Intent::Destructive {
                        intent = i;
                    }
                }
            }
        }
        if pipe_in.sql && SQL_CLIENTS.contains(&name) {
            self.push(
                p::SQL_DESTRUCTIVE
                    .finding(format!("The SQL piped into `{name}` drops or wipes data.")),
            );
            intent = Intent::Destructive;
        }
        // Spend (upstream rule 5): purchase CLIs, and purchase URLs outside read-only commands.
        let spend_cli = infra::is_spend_name(name) && {
            let pos: Vec<&str> = positionals(args).map(|w| w.text.as_str()).collect();
            infra::spend_cli(name, &pos)
        };
        if spend_cli
            || (!upstream_readonly
                && args
                    .iter()
                    .any(|a| a.text.contains("://") && infra::is_purchase_url(&a.text)))
        {
            intent = Intent::Spend;
            self.push(p::SPEND.finding(format!(
                "`{}` buys, pays or subscribes to something.",
                clip(name, 40)
            )));
        }
        // Script then execute: `./build.sh`, `scripts/x.py`; or a bare name downloaded earlier
        // in this line (`certutil … %TEMP%\p.exe && %TEMP%\p.exe`).
        let downloaded_here = || {
            !self.downloaded.is_empty() && {
                let r = paths::resolve(&cmd.text, &self.cwd, self.ctx.home);
                self.downloaded.contains(&r)
            }
        };
        if (cmd.text.contains('/') || downloaded_here()) && intent == Intent::Unknown {
            self.exec_script(cmd, ScriptKind::Auto, depth, &mut facts, false);
        }
        // A command that changes things and names a guard location, however it does it.
        let guarded = self.findings[own..]
            .iter()
            .any(|f| f.rule == p::GUARD_TAMPER.id || f.rule == p::GUARD_TAMPER_SUSPECT.id);
        // Commands with their own path handling above (copy sources are only read).
        let handled = matches!(
            name,
            "systemctl"
                | "service"
                | "launchctl"
                | "journalctl"
                | "pgrep"
                | "ps"
                | "cp"
                | "scp"
                | "rsync"
                | "mv"
                | "install"
                | "ln"
                | "tee"
                | "rm"
                | "rmdir"
                | "unlink"
                | "chmod"
                | "chown"
                | "chgrp"
                | "touch"
                | "mkdir"
                | "sed"
                | "dd"
                | "find"
        );
        if !guarded && !handled && intent != Intent::Readonly {
            // A literal guard file handed to a program that is not read-only: we cannot tell
            // what the program does with it, and nothing legitimate needs to change it.
            if let Some((w, what)) = positionals(args).find_map(|w| {
                if w.dynamic {
                    return None;
                }
                // `UNIX-CONNECT:/path`, `--file=/path`: the path after the prefix.
                let t = w
                    .text
                    .rsplit_once(':')
                    .map(|(_, p)| p)
                    .filter(|p| p.starts_with('/') || p.starts_with('~'))
                    .unwrap_or(&w.text);
                protect::check(t, &self.cwd, self.ctx, false).map(|what| (w, what))
            }) {
                self.push(p::GUARD_TAMPER.finding(format!(
                    "`{}` is given `{}` ({what}); changing it would disable or bypass the guard.",
                    clip(name, 40),
                    clip(&w.text, 80)
                )));
            } else if let Some(w) =
                positionals(args).find(|w| w.dynamic && protect::names_guard_process(&w.text))
            {
                // `socat - UNIX-CONNECT:$XDG_RUNTIME_DIR/dashclaw.sock`: a path to the guard's
                // files or socket, finished at run time, given to a program that may change it
                // or speak to the daemon directly.
                self.push(p::GUARD_TAMPER_SUSPECT.finding(format!(
                    "`{}` is given `{}`, a guard path completed at run time; the guard's files and socket are not for agents.",
                    clip(name, 40),
                    clip(&w.text, 80)
                )));
            }
        }
        // A browser profile, keychain or password store opened by anything that reads
        // contents (`sqlite3 ~/.config/google-chrome/Default/'Login Data' 'select …'`).
        if !matches!(
            name,
            "ls" | "stat"
                | "du"
                | "file"
                | "test"
                | "["
                | "mkdir"
                | "readlink"
                | "realpath"
                | "basename"
                | "dirname"
                | "tree"
                | "exa"
                | "eza"
                | "lsd"
        ) && !self.findings[own..]
            .iter()
            .any(|f| f.rule == p::PRIVATE_KEY_READ.id)
        {
            if let Some(w) = args.iter().find(|w| {
                let t = w.text.rsplit_once('=').map_or(w.text.as_str(), |(_, v)| v);
                t.contains('/') && self.path_facts(t).read(t).personal_store
            }) {
                self.push(p::PRIVATE_KEY_READ.finding(format!(
                    "`{}` opens `{}`, a personal password, cookie or key store.",
                    clip(name, 40),
                    clip(&w.text, 80)
                )));
            }
        }
        if intent == Intent::Destructive
            && self.findings.len() == own
            && !matches!(name, "rm" | "rmdir" | "unlink" | "srm" | "find")
            && !(facts.bounded_rm || facts.regenerable_rm)
        {
            self.push(r::DESTRUCTIVE.finding(format!(
                "`{}` destroys data that cannot be recovered.",
                clip(name, 40)
            )));
        }
        if stripped.xargs.is_some() {
            self.xargs_context = false;
        }
        // The static output of a data command, for the next pipeline stage.
        if argv.iter().all(|w| !w.dynamic) {
            self.out_text = super::fold::output(name, &texts, input.as_deref());
        }
        self.segment(intent, facts, first);
        traits
    }

    /// Upstream intent table (§4.2 step 2), for the program `name`.
    fn base_intent(&self, name: &str, args: &[Word], sudo: bool) -> Intent {
        let promoted = |i| if sudo { Intent::SystemAdmin } else { i };
        if name.is_empty() {
            return Intent::Unknown;
        }
        if name.contains('-')
            && (self.powershell || name.starts_with(|c: char| c.is_ascii_uppercase()))
        {
            if let Some(i) = infra::powershell_intent(name) {
                return i;
            }
        }
        if name.starts_with("mkfs") {
            Intent::Destructive
        } else if name == "git" {
            git_intent(args)
        } else if is_versioned_python(name) {
            promoted(Intent::Interpreter)
        } else {
            match listed(name) {
                Some(Listed::Package) => promoted(Intent::PackageManagement),
                Some(Listed::Interpreter) => promoted(Intent::Interpreter),
                Some(Listed::Destructive) => Intent::Destructive,
                Some(Listed::SystemAdmin) => Intent::SystemAdmin,
                Some(Listed::Process) => Intent::ProcessManagement,
                Some(Listed::Network) => Intent::Network,
                Some(Listed::Write) => Intent::Write,
                Some(Listed::Readonly | Listed::ReadonlyExtra) => Intent::Readonly,
                None if sudo => Intent::SystemAdmin,
                None => Intent::Unknown,
            }
        }
    }

    /// The intent a wrapper segment takes when it raised a block (obfuscated execution).
    fn block_intent(&self, since: usize) -> Option<Intent> {
        self.findings[since..]
            .iter()
            .any(|f| f.verdict == Verdict::Block)
            .then_some(Intent::Destructive)
    }

    /// Sources and sinks of one command (see `exfil.rs`): a secret reaching a sink is a flow
    /// (block); a sink sending files or stdin outside the allowlist needs approval.
    fn exfil(
        &mut self,
        name: &str,
        args: &[Word],
        texts: &[&str],
        stdin: Option<&Redirect>,
        pipe_in: Traits,
        traits: &mut Traits,
    ) {
        let home = self.ctx.home;
        let secret_cmd = super::exfil::secret_command(name, texts);
        let secret_file = |w: &str, this: &Self| -> Option<String> {
            // A word spanning lines (a commit message, a script) names no file.
            if w.is_empty() || !w.contains(['.', '/', '~', '$']) || w.contains('\n') {
                return None;
            }
            let f = this.path_facts(w);
            if f.secret {
                Some(format!("`{}`", clip(w, 60)))
            } else if this.tainted_files.contains(&f.resolved) {
                Some(format!("`{}` (written from a secret)", clip(w, 60)))
            } else {
                None
            }
        };
        let redirect_in = stdin
            .filter(|r| r.kind == RedirKind::Input && r.target.subs.is_empty())
            .and_then(|r| secret_file(&r.target.text, self))
            .or_else(|| {
                // A here-string or heredoc that names a secret (`sftp h <<< 'put ~/.ssh/id_rsa'`)
                // or carries one (`<<< "$(cat ~/.ssh/id_rsa)"`).
                let r = stdin.filter(|r| r.feeds_stdin())?;
                if self.secret_args.contains(&r.target.text)
                    || r.target.subs.iter().any(|s| self.script_reads_secret(s, 0))
                {
                    return Some(format!("`{}`", clip(&r.target.text, 60)));
                }
                // File names in the text count for programs that act on what they read
                // (`sftp`'s `put`), not for ones that only pass text on (`cat <<EOF`).
                (!super::exfil::prints_its_input(name))
                    .then(|| {
                        r.target
                            .text
                            .split_whitespace()
                            .find_map(|t| secret_file(t, self))
                    })
                    .flatten()
                    .or_else(|| {
                        super::exfil::secret_vars_in(&r.target.text).map(|v| format!("`{v}`"))
                    })
            });
        if let Some(store) = secret_cmd.filter(|s| super::exfil::personal_store(s)) {
            self.push(
                p::PRIVATE_KEY_READ
                    .finding(format!("`{name}` prints passwords or keys from {store}.")),
            );
        }
        // `docker build --build-arg TOKEN=$(gh auth token)`: build arguments are kept in the
        // image's history, which goes wherever the image is pushed.
        if matches!(name, "docker" | "podman" | "buildah" | "nerdctl")
            && texts
                .iter()
                .any(|t| matches!(*t, "build" | "buildx" | "bud"))
        {
            let secret_arg = args.iter().enumerate().find_map(|(i, a)| {
                let v = match a.text.strip_prefix("--build-arg=") {
                    Some(v) => v,
                    None if a.text == "--build-arg" => args.get(i + 1)?.text.as_str(),
                    None => return None,
                };
                let (k, val) = v.split_once('=').unwrap_or((v, ""));
                (self.secret_args.iter().any(|w| w.ends_with(v) || *w == v)
                    || super::exfil::secret_vars_in(val).is_some()
                    || (val.is_empty() && super::exfil::secret_var(k)))
                .then(|| k.to_owned())
            });
            if let Some(k) = secret_arg {
                self.push(p::SECRET_IN_CONTENT.finding(format!(
                    "`{name} build --build-arg {k}` bakes a secret into the image's history; use a build secret (`--secret`) instead."
                )));
            }
        }
        // `git add -f .env`: a secrets file staged, to be committed and pushed with the rest.
        let git_sub = (name == "git").then(|| super::git::subcommand_at(texts));
        if let Some(at) = git_sub.filter(|at| texts.get(*at) == Some(&"add")) {
            if let Some(t) = args
                .get(at + 1..)
                .unwrap_or_default()
                .iter()
                .filter(|a| !a.dynamic && !a.text.starts_with('-'))
                .find(|a| {
                    let f = self.path_facts(&a.text);
                    f.secret || f.read(&a.text).text_secret
                })
            {
                self.push(p::SECRET_IN_CONTENT.finding(format!(
                    "`git add` stages `{}`, a secrets file: once committed it stays in the history and goes wherever the repository is pushed.",
                    clip(&t.text, 80)
                )));
            }
        }
        // `base64 < ~/.ssh/id_ed25519`: a key read through stdin is read all the same.
        if let Some(r) = stdin.filter(|r| r.kind == RedirKind::Input && !r.target.dynamic) {
            let f = self.path_facts(&r.target.text);
            if paths::is_private_key_path(&f.resolved)
                || super::exfil::user_credential(&f.resolved, self.ctx.home, self.ctx.workspace)
            {
                self.push(p::PRIVATE_KEY_READ.finding(format!(
                    "`{name}` reads `{}` on its stdin, a private key or a credential of the user's.",
                    clip(&r.target.text, 80)
                )));
            }
        }
        // The environment (or the shell's variables) piped on and printed into the
        // conversation: filtered down to its secrets by any filter (`grep -i token`,
        // `awk '/KEY/'`, `sed -n '/_TOKEN=/p'`, `jq 'select(…SECRET…)'`), or encoded
        // (`| base64`), which also hides the values from the transcript's redaction.
        if self.in_pipe
            && pipe_in.secret
            && self
                .last_source
                .as_deref()
                .is_some_and(|s| s.contains("environ") || s.contains("variables"))
            && self.shows_output()
        {
            let filter = match name {
                "grep" | "egrep" | "fgrep" | "rg" | "ag" => {
                    // Counting, listing or testing prints no value.
                    !texts.iter().any(|t| {
                        matches!(
                            *t,
                            "--count" | "--quiet" | "--silent" | "--files-with-matches"
                        ) || (t.starts_with('-')
                            && !t.starts_with("--")
                            && t.contains(['c', 'q', 'l']))
                    })
                }
                // Without `-n`, sed prints every line anyway (the plain dump is let).
                "sed" | "gsed" => texts
                    .iter()
                    .any(|t| matches!(*t, "-n" | "--quiet" | "--silent") || *t == "-ne"),
                "awk" | "gawk" | "mawk" | "nawk" | "jq" | "perl" | "ruby" | "python"
                | "python3" | "node" => true,
                // PowerShell's filters (`Where-Object Name -match 'TOKEN'`, `sls`).
                "Where-Object" | "where" | "?" | "Select-String" | "sls" => true,
                _ => false,
            } && texts
                .iter()
                .any(|t| !t.starts_with("--") && super::exfil::names_secret_word(t));
            let encoder = matches!(
                name,
                "base64" | "basenc" | "base32" | "xxd" | "od" | "hexdump" | "rev" | "uuencode"
            ) && !args.iter().any(|a| is_decode_flag(name, &a.text));
            if filter {
                self.push(p::PRIVATE_KEY_READ.finding(format!(
                    "`{name}` picks the secrets out of the environment and prints them into the conversation."
                )));
            } else if encoder {
                self.push(p::PRIVATE_KEY_READ.finding(format!(
                    "`{name}` prints the environment encoded, secrets included, past the transcript's redaction."
                )));
            }
        }
        // `echo $GITHUB_TOKEN`: a secret variable's value printed into the conversation
        // (`${TOKEN:+set}`, `${#TOKEN}` print no value).
        if matches!(name, "echo" | "printf" | "print") && self.shows_output() {
            // Or a variable assigned from a secret in this line (`c=$(aws sts assume-role …);
            // echo "$c"`).
            let tainted = || {
                self.tainted_vars
                    .iter()
                    .find(|v| {
                        texts
                            .iter()
                            .any(|t| super::exfil::secret_refs_named(t).any(|n| n == v.as_str()))
                    })
                    .map(|v| format!("${v}"))
            };
            if let Some(v) = texts
                .iter()
                .find_map(|t| super::exfil::printed_secret_var(t))
                .or_else(tainted)
            {
                self.push(p::PRIVATE_KEY_READ.finding(format!(
                    "`{name}` prints `{v}`, a secret, into the conversation."
                )));
            }
        }
        // An account's token or a secret store's value printed into the conversation (not
        // captured by `$( )`, not piped into a login or other consumer).
        if let Some(store) = secret_cmd.filter(|s| super::exfil::account_secret(s)) {
            if self.shows_output() {
                self.push(
                    p::PRIVATE_KEY_READ
                        .finding(format!("`{name}` prints {store} into the conversation.")),
                );
            }
        }
        let mut source = secret_cmd
            .map(str::to_owned)
            .or_else(|| {
                args.iter().filter(|a| !a.dynamic).find_map(|a| {
                    let t = a
                        .text
                        .split_once('=')
                        .map(|(_, v)| v)
                        .filter(|_| a.text.starts_with('-'))
                        .unwrap_or(&a.text);
                    secret_file(t.trim_start_matches('@'), self)
                })
            })
            .or_else(|| {
                texts
                    .iter()
                    .any(|t| super::exfil::metadata_endpoint(t))
                    .then(|| "the cloud metadata endpoint".to_owned())
            })
            .or_else(|| redirect_in.clone());
        if source.is_none() && matches!(name, "echo" | "printf" | "printenv" | "print") {
            source = texts.iter().find_map(|t| super::exfil::secret_vars_in(t));
        }
        if matches!(name, "printenv")
            && !texts.is_empty()
            && texts.iter().all(|t| super::exfil::secret_var(t))
        {
            source = Some(format!("`${}`", texts[0]));
        }
        // `</dev/null` feeds nothing (`openssl s_client -connect h:443 </dev/null`).
        let stdin_fed = self.in_pipe
            || stdin.is_some_and(|r| {
                r.feeds_stdin() || (r.kind == RedirKind::Input && r.target.text != "/dev/null")
            });
        if let Some(sink) = super::exfil::sink(name, texts, stdin_fed) {
            if super::exfil::identity_in_url(&sink.dest)
                && !super::exfil::data_in_hostname(name, &sink.dest)
                && !super::exfil::allowed_destination(&sink.dest, self.ctx)
            {
                self.push(super::exfil::upload_finding(
                    "the machine's or the user's name, spliced into the URL",
                    &format!("`{name}`"),
                    &sink.dest,
                ));
            }
            if super::exfil::data_in_hostname(name, &sink.dest) {
                self.push(super::exfil::upload_finding(
                    "run-time data spelled into the host name",
                    &format!("`{name}`"),
                    &sink.dest,
                ));
            }
            if let Some(t) = texts.iter().find(|t| super::exfil::metadata_endpoint(t)) {
                self.push(p::CLOUD_METADATA.finding(format!(
                    "`{name}` reads `{}`, an instance metadata service that hands out this machine's cloud credentials.",
                    clip(t, 80)
                )));
            }
            let dest = if sink.dest.is_empty() {
                "?".to_owned()
            } else {
                sink.dest.clone()
            };
            let via = format!("`{name}`");
            // Under `xargs` the piped secret becomes the sender's arguments.
            let fed_secret = (sink.stdin || self.xargs_context) && self.in_pipe && pipe_in.secret;
            let flow_src: Option<String> = if fed_secret {
                Some(
                    self.last_source
                        .clone()
                        .unwrap_or_else(|| "a secret".into()),
                )
            } else if sink.stdin && redirect_in.is_some() {
                redirect_in.clone()
            } else if let Some(f) = sink.files.iter().find_map(|f| secret_file(f, self)) {
                Some(f)
            } else if let Some(v) = sink
                .inline
                .iter()
                // `https://api.telegram.org/bot$TELEGRAM_TOKEN/getMe`: a credential in the URL
                // of the service that issued it is how that API is called.
                .filter(|t| !super::exfil::only_issuer_credentials(t, &sink.dest))
                .find_map(|t| super::exfil::secret_vars_in(t))
            {
                Some(format!("`{v}`"))
            } else if let Some(v) = sink
                .auth
                .iter()
                .find_map(|t| super::exfil::credential_to_stranger(t, &sink.dest))
                .filter(|_| !super::exfil::allowed_destination(&sink.dest, self.ctx))
            {
                Some(format!(
                    "`{v}` (a credential its issuer should receive, not this host)"
                ))
            } else if let Some(w) = self
                .secret_args
                .iter()
                .filter(|w| !super::exfil::token_to_its_issuer(w, &dest))
                .find(|w| texts.iter().any(|t| t == *w) || sink.inline.iter().any(|i| i == *w))
            {
                Some(format!("`{}`", clip(w, 60)))
            } else {
                self.secret_args
                    .iter()
                    .find(|w| !super::exfil::token_to_its_issuer(w, &dest))
                    .map(|w| format!("`{}`", clip(w, 60)))
            };
            let payload = !sink.files.is_empty() || (sink.stdin && stdin_fed) || fed_secret;
            if let Some(src) = flow_src {
                self.push(super::exfil::flow_finding(&src, &via, &dest));
            } else if payload
                && !super::exfil::allowed_destination(&dest, self.ctx)
                && !self.deploys_build_output(&dest, &sink.files)
                && !super::exfil::authenticated_to_issuer(&sink.auth, &dest)
            {
                let what = sink
                    .files
                    .first()
                    .map(|f| format!("`{}`", clip(f, 60)))
                    .unwrap_or_else(|| "its input".to_owned());
                self.push(super::exfil::upload_finding(&what, &via, &dest));
            } else if self.ctx.session_tainted
                && (payload || !sink.inline.is_empty())
                && !super::exfil::allowed_destination(&dest, self.ctx)
            {
                let mut f = p::TAINTED_EGRESS.finding(format!(
                    "A secret was shown earlier in this session; {via} sends data to `{}`.",
                    clip(&dest, 80)
                ));
                f.flow = Some(crate::event::Flow {
                    source: Some("this session's earlier tool results".into()),
                    sink: via,
                    destination: dest,
                });
                self.push(f);
            }
        }
        // Whole trees that hold credentials, handed to an archiver or a copier (`tar cz ~`).
        if source.is_none()
            && matches!(
                name,
                "tar"
                    | "zip"
                    | "7z"
                    | "rsync"
                    | "scp"
                    | "cp"
                    | "rclone"
                    | "gzip"
                    | "bsdtar"
                    | "gtar"
                    | "cpio"
                    | "base64"
                    | "xxd"
                    | "openssl"
                    | "gpg"
            )
        {
            let h = home.map(paths::normalize);
            source = positionals(args).find_map(|a| {
                let f = self.path_facts(&a.text);
                let holds = h
                    .as_deref()
                    .and_then(|h| f.resolved.strip_prefix(h))
                    .is_some_and(|rest| {
                        matches!(
                            rest,
                            "" | "/.config" | "/.aws" | "/.kube" | "/.docker" | "/Library"
                        )
                    });
                holds.then(|| format!("`{}` (with the credentials in it)", clip(&a.text, 60)))
            });
        }
        if let Some(src) = source {
            traits.secret = true;
            // A copy or archive of a secret is a secret: remember where it goes.
            let outs: Vec<String> = match name {
                "cp" | "mv" | "install" | "ln" | "rsync" | "ditto" => copy_destination(args)
                    .map(|d| vec![d.text.clone()])
                    .unwrap_or_default(),
                _ => args
                    .iter()
                    .enumerate()
                    .filter(|(i, a)| {
                        matches!(
                            a.text.as_str(),
                            "-f" | "--file" | "-o" | "--output" | "-out" | "-O"
                        ) || (name == "tar"
                            && a.text.ends_with('f')
                            && (a.text.starts_with('-') && !a.text.starts_with("--")
                                // Old-style bundled options: `tar czf out.tgz dir`.
                                || (*i == 0 && a.text.bytes().all(|b| b.is_ascii_alphabetic()))))
                    })
                    .filter_map(|(i, _)| args.get(i + 1).map(|w| w.text.clone()))
                    .chain(if name == "zip" || name == "7z" {
                        positionals(args)
                            .skip(usize::from(name == "7z"))
                            .take(1)
                            .map(|w| w.text.clone())
                            .collect::<Vec<_>>()
                    } else {
                        Vec::new()
                    })
                    .collect(),
            };
            for o in outs {
                if o != "-" && self.tainted_files.len() < 32 {
                    let r = paths::resolve(&o, &self.cwd, home);
                    // A copy into a directory keeps the file's name.
                    self.tainted_files.push(r.clone());
                    if let Some(first) = positionals(args).next() {
                        let base = first.text.rsplit('/').next().unwrap_or(&first.text);
                        self.tainted_files
                            .push(format!("{}/{base}", r.trim_end_matches('/')));
                    }
                }
            }
            self.last_source = Some(src);
        }
    }

    /// `aws s3 sync ./dist s3://site`, `gsutil cp build/app.zip gs://artifacts/`: the
    /// workspace's own build output sent to the user's object store is a deploy. Anything
    /// else (`.`, `src`, a loose archive that could hold anything) still needs approval.
    fn deploys_build_output(&self, dest: &str, files: &[String]) -> bool {
        const OUTPUT_DIRS: &[&str] = &[
            "dist",
            "build",
            "out",
            "site",
            "_site",
            "public",
            "www",
            "target",
            "release",
            "artifacts",
            "storybook-static",
            "coverage",
            "htmlcov",
        ];
        // An object store, or a server's directory (`deploy@staging:/opt/releases/`, as
        // `scp` and `rsync` name it).
        let server_dir = dest.split_once(':').is_some_and(|(host, path)| {
            !host.is_empty() && !host.contains('/') && path.starts_with(['/', '~'])
        });
        let store = server_dir
            || ["s3://", "gs://", "az://", "r2://"]
                .iter()
                .any(|p| dest.starts_with(p));
        let ws = paths::normalize(self.ctx.workspace);
        store
            && !files.is_empty()
            && files.iter().all(|f| {
                let r = paths::resolve(f, &self.cwd, self.ctx.home);
                paths::is_inside(&r, &ws)
                    && !paths::is_secret_path(&r)
                    && !super::exfil::secret_path(&r, self.ctx.home)
                    && !paths::is_dotenv(&r)
                    && r.strip_prefix(&format!("{ws}/"))
                        .is_some_and(|rel| rel.split('/').any(|p| OUTPUT_DIRS.contains(&p)))
            })
    }

    /// Records what this command line writes to `path` (`None`: unseen content).
    fn note_written(&mut self, path: String, content: Option<&str>, append: bool) {
        const KEPT: usize = 32;
        let text = match (content, append) {
            (Some(c), true) => match self.written_text(&path) {
                Some(None) => None,
                Some(Some(before)) => Some(before + c),
                None => Some(c.to_owned()),
            },
            (c, _) => c.map(str::to_owned),
        };
        self.written.retain(|(p, _)| *p != path);
        if self.written.len() >= KEPT {
            self.written.remove(0);
            self.written_overflow = true;
        }
        self.written.push((path, text));
    }

    /// [`Self::written_text`] for a file as the command names it. Resolving allocates, so a
    /// name whose last segment matches no written file is rejected first.
    fn written_named(&self, name: &str) -> Option<Option<String>> {
        if self.written.is_empty() {
            return None;
        }
        // The last segment, by a plain byte scan (this runs for every recipe file name).
        let last = |p: &str| -> usize { p.bytes().rposition(|b| b == b'/').map_or(0, |i| i + 1) };
        let base = &name[last(name)..];
        let plain = !matches!(base, "" | "." | "..") && !base.contains(['~', '$']);
        if plain
            && !self.written.iter().any(|(p, _)| {
                p.ends_with(base)
                    && (p.len() == base.len() || p.as_bytes()[p.len() - base.len() - 1] == b'/')
            })
        {
            return None;
        }
        self.written_text(&paths::resolve(name, &self.cwd, self.ctx.home))
    }

    /// What this command line last wrote to `path`: `None` if nothing, `Some(None)` if the
    /// content cannot be seen.
    fn written_text(&self, path: &str) -> Option<Option<String>> {
        self.written
            .iter()
            .rev()
            .find(|(p, _)| p == path)
            .map(|(_, c)| c.clone())
    }

    /// The output of the command being graded reaches the conversation: not captured by
    /// `$( )`, not piped into a consumer that prints nothing of it, not sent to a file.
    fn shows_output(&self) -> bool {
        !self
            .origin
            .iter()
            .any(|o| matches!(o, Origin::Fixed("$( )")))
            && self
                .pipe_tail
                .as_deref()
                .is_none_or(super::exfil::prints_its_input)
            && !self.stdout_to_file
    }

    /// What is known of the path `w` names from the current cwd (memoized per cwd).
    fn path_facts(&self, w: &str) -> std::rc::Rc<PathFacts> {
        let mut memo = self.secret_memo.borrow_mut();
        if memo.0 != self.cwd {
            memo.0.clone_from(&self.cwd);
            memo.1.clear();
        }
        if let Some(hit) = memo.1.get(w) {
            return hit.clone();
        }
        let resolved = paths::resolve(w, &self.cwd, self.ctx.home);
        // A word spanning lines (a commit message, a script body) names no file.
        let text_like = w.contains('\n') || w.len() > 4096;
        let facts = std::rc::Rc::new(PathFacts {
            secret: !text_like && super::exfil::secret_path(&resolved, self.ctx.home),
            inside: paths::is_inside(&resolved, self.ctx.workspace),
            home: self.ctx.home.map(str::to_owned),
            write: std::cell::OnceCell::new(),
            read: std::cell::OnceCell::new(),
            resolved,
        });
        if memo.1.len() < 256 {
            memo.1.insert(w.to_owned(), facts.clone());
        }
        facts
    }

    /// A write into a system location (`/etc`, `/usr`, …) needs approval.
    fn system_write(&mut self, target: &str, via: impl std::fmt::Display) {
        // Messages here read "{via} writes …": `cp` to → `cp` (formatted only for a finding).
        let via = || {
            let v = via.to_string();
            v.strip_suffix(" to")
                .or_else(|| v.strip_suffix(" downloads to"))
                .map_or_else(|| v.clone(), str::to_owned)
        };
        // Memoized per cwd: a script names the same targets again and again.
        let facts = self.path_facts(target);
        let r = facts.resolved.as_str();
        if let Some(later) = facts.write().later {
            self.push(later.finding(&via(), clip(target, 80)));
            return;
        }
        if paths::has(r, "/.")
            && (paths::has(r, "/.git/hooks/")
                || r.ends_with("/.git/config")
                || paths::has(r, "/.husky/") && paths::has(r, "/_/"))
        {
            self.push(p::GIT_HOOK_WRITE.finding(format!(
                "{} writes `{}`, code or settings git runs later.",
                via(),
                clip(target, 80)
            )));
            return;
        }
        if facts.write().system
            && !paths::is_device(r)
            && !paths::is_discard(r)
            && !r.starts_with("/tmp")
            && !r.starts_with("/var/tmp")
            && !r.starts_with("/dev/")
        {
            self.push(p::SYSTEM_WRITE.finding(format!(
                "{} writes `{}`, a system file.",
                via(),
                clip(target, 80)
            )));
        }
    }

    /// A write into a shell start-up file: blocked when it changes the guard's or the agents'
    /// settings, `PATH`, or shadows the hook; a change whose content is unknown needs approval.
    fn startup_write(&mut self, target: &str, content: Option<&str>, via: impl std::fmt::Display) {
        self.ci_write(target, content);
        if !self.path_facts(target).write().startup {
            return;
        }
        match content {
            Some(c) => {
                if let Some(what) = protect::startup_tamper(c) {
                    self.push(p::SHELL_STARTUP_TAMPER.finding(format!(
                        "{via} `{}` and adds {what}, which would switch the guard off in later shells.",
                        clip(target, 80)
                    )));
                } else if shell::parse_at_depth(c, STARTUP_DEPTH).is_ok() {
                    // What a start-up file gains runs in every later shell, unseen by the hook
                    // then: grade it now, as if it ran (`echo 'pkill dashclawd' >> ~/.bashrc`).
                    // Its `cd`s and variables stay out of the rest of this command.
                    let (cwd, vars) = (self.cwd.clone(), self.vars.clone());
                    let label = format!("{} at shell start", clip(target, 40));
                    self.text(c, STARTUP_DEPTH, Some(label));
                    (self.cwd, self.vars) = (cwd, vars);
                }
            }
            None => self.push(p::GUARD_TAMPER_SUSPECT.finding(format!(
                "{via} `{}`, a shell start-up file, with content that cannot be read.",
                clip(target, 80)
            ))),
        }
    }

    /// CI pipelines, pre-commit hooks and editor tasks run what they say later, with the
    /// repository's secrets or on opening the folder: the commands in content written to them
    /// are graded now, as if run (`${{ secrets.X }}` read as a secret). Unknown content (an
    /// edit) is ordinary work on the project.
    fn ci_write(&mut self, target: &str, content: Option<&str>) {
        let Some(kind) = super::ci::kind(&self.path_facts(target).resolved) else {
            return;
        };
        let Some(content) = content else {
            // Editor tasks of unseen content may run on opening the folder.
            if kind == super::ci::Kind::EditorTasks {
                self.push(protect::Later::Loaded.finding("A write", clip(target, 80)));
            }
            return;
        };
        if self.reparsed > 4 {
            return;
        }
        let label = format!("{} step", clip(target, 40));
        let (cwd, vars) = (self.cwd.clone(), self.vars.clone());
        let steps = super::ci::steps(kind, content);
        for step in steps.commands.iter().take(16) {
            self.reparsed += 1;
            self.text(step, STARTUP_DEPTH, Some(label.clone()));
            self.reparsed -= 1;
        }
        (self.cwd, self.vars) = (cwd, vars);
        if let Some(repo) = steps.remote_code {
            self.push(p::INSTALL_FROM_URL.finding(format!(
                "`{}` fetches hooks from `{}`, which run unreviewed at every commit.",
                clip(target, 60),
                clip(&repo, 80)
            )));
        }
    }

    /// Exfiltration facts from interpreter code: a read source and a network send in the same
    /// program is a flow.
    fn code_flow(&mut self, program: &str, f: &super::code::CodeFacts) {
        // A metadata address in a string literal: code has no other use for it than a request
        // (through any library, a socket, or a command it runs).
        if let Some(t) = f
            .sends
            .iter()
            .chain(&f.literals)
            .find(|t| super::exfil::metadata_endpoint(t))
        {
            self.push(p::CLOUD_METADATA.finding(format!(
                "`{program}` code reads `{}`, an instance metadata service that hands out this machine's cloud credentials.",
                clip(t, 80)
            )));
        }
        // Code that opens a private key or an account's credentials prints or uses them
        // (`print(open('/root/.ssh/id_rsa').read())`), like `cat` would.
        if let Some(r) = f.reads.iter().chain(&f.home_paths).find(|r| {
            let res = paths::resolve(r, &self.cwd, self.ctx.home);
            paths::is_private_key_path(&res)
                || super::exfil::user_credential(&res, self.ctx.home, self.ctx.workspace)
                || super::exfil::personal_store_path(&res)
        }) {
            self.push(p::PRIVATE_KEY_READ.finding(format!(
                "`{program}` code reads `{}`, a private key or a credential of the user's.",
                clip(r, 80)
            )));
        }
        if f.fork_bomb {
            self.push(r::FORK_BOMB.finding(format!(
                "`{program}` code forks in a loop that never ends (a fork bomb)."
            )));
        }
        if let Some(call) = &f.remote_destroy {
            self.push(r::ADMIN_DESTROY.finding(format!(
                "`{program}` code calls `{call}`, which deletes a remote resource and its data."
            )));
        }
        if let Some(lib) = f.store_reader {
            self.push(p::PRIVATE_KEY_READ.finding(format!(
                "`{program}` code uses `{lib}`, which reads the user's browser cookies or saved passwords."
            )));
        }
        if f.autostart {
            self.push(r::AUTOSTART_WRITE.finding(format!(
                "`{program}` code adds a login item, which starts by itself at every login, unseen by the hook."
            )));
        }
        if let Some(what) = &f.unsafe_load {
            self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                "`{program}` code runs {what}: deserializing it runs whatever code its author put in."
            )));
        }
        if f.prints_secret_env && f.sends.is_empty() && self.shows_output() {
            self.push(p::PRIVATE_KEY_READ.finding(format!(
                "`{program}` code prints environment variables that hold secrets into the conversation."
            )));
        }
        if f.sends.is_empty() {
            return;
        }
        let source = f
            .reads
            .iter()
            .chain(&f.home_paths)
            .find(|r| {
                let t = r.trim_start_matches('/');
                let p = if r.starts_with('/') && t.starts_with('.') {
                    format!("~/{t}")
                } else {
                    (*r).clone()
                };
                super::exfil::secret_path(
                    &paths::resolve(&p, &self.cwd, self.ctx.home),
                    self.ctx.home,
                )
            })
            .map(|r| format!("`{}`", clip(r, 60)))
            .or_else(|| f.env_dump.then(|| "the environment".to_owned()))
            .or_else(|| {
                (f.reads_stdin && self.in_pipe && self.pipe_secret).then(|| {
                    self.last_source
                        .clone()
                        .unwrap_or_else(|| "a secret".into())
                })
            });
        let dest = f.sends.first().map(String::as_str).unwrap_or("?");
        match source {
            Some(src) => self.push(super::exfil::flow_finding(
                &src,
                &format!("`{program}` code"),
                dest,
            )),
            None if !f.reads.is_empty() && !super::exfil::allowed_destination(dest, self.ctx) => {
                self.push(super::exfil::upload_finding(
                    &format!("`{}`", clip(&f.reads[0], 60)),
                    &format!("`{program}` code"),
                    dest,
                ))
            }
            None => {}
        }
    }

    /// Languages read only for their shell-outs (Erlang, OCaml, Lisps, Haskell, Octave, dc,
    /// …): a string literal that is a dangerous command line is taken as run, whatever call
    /// it is passed to (`os:cmd("rm -rf ~")`, `Sys.command "…"`, `(system "…")`), and dc's
    /// `!` runs the rest of its line. Only findings that stop a call are kept, so ordinary
    /// strings cost nothing.
    fn command_strings(
        &mut self,
        program: &str,
        code: &str,
        f: &super::code::CodeFacts,
        depth: usize,
    ) {
        let mut cmds: Vec<String> = f
            .literals
            .iter()
            .filter(|l| l.contains(' ') && l.len() < 4096)
            .take(8)
            .cloned()
            .collect();
        if program == "dc" {
            cmds.extend(
                code.split('!')
                    .skip(1)
                    .filter_map(|r| r.lines().next())
                    .map(str::to_owned)
                    .take(4),
            );
        }
        for c in cmds {
            let at = self.findings.len();
            self.reparsed += 1;
            self.text(&c, depth + 1, Some(format!("{program} string")));
            self.reparsed -= 1;
            let kept: Vec<Finding> = self
                .findings
                .drain(at..)
                .filter(|f| f.verdict >= Verdict::RequireApproval)
                .collect();
            self.findings.extend(kept);
        }
    }

    /// Grades interpreter code as if its effects were written in shell (see `code.rs`).
    fn grade_code(&mut self, program: &str, code: &str, depth: usize, facts: &mut Facts) {
        let Some(lang) = super::code::Lang::of(program) else {
            if has_escape_hatch(code) {
                self.push(r::INLINE_CODE_ESCAPE.finding(format!(
                    "Inline `{program}` code runs shell commands or deletes files."
                )));
            }
            return;
        };
        if depth + 2 > shell::MAX_DEPTH {
            return;
        }
        let f = super::code::scan(lang, code);
        let label = format!("{program} code");
        let before = self.findings.len();
        if lang == super::code::Lang::Other {
            self.command_strings(program, code, &f, depth);
        }
        for cmd in f.shell.iter().take(8) {
            self.reparsed += 1;
            let t = self.text(cmd, depth + 1, Some(label.clone()));
            self.reparsed -= 1;
            if t.runs_stdin {
                // `pty.spawn('/bin/sh')`, `subprocess.call(['/bin/sh', '-i'])` after `dup2`: a
                // shell whose commands arrive later, through whatever the code wired to it.
                self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "Inline `{program}` code starts `{}`, a shell whose commands arrive later and cannot be checked.",
                    clip(cmd, 60)
                )));
            }
        }
        for (target, recursive) in f.deletes.iter().take(8) {
            let flags = if *recursive { "-rf" } else { "-f" };
            let cmd = format!("rm {flags} -- {}", quote(target));
            self.text(&cmd, depth + 1, Some(label.clone()));
        }
        for (from, to) in f.moves.iter().take(8) {
            let cmd = format!("mv -- {} {}", quote(from), quote(to));
            self.text(&cmd, depth + 1, Some(label.clone()));
        }
        let writes_files = !f.writes.is_empty()
            || [
                "'w'",
                "'a'",
                "\"w\"",
                "\"a\"",
                "appendFile",
                "writeFile",
                "write_text",
                "json.dump",
                "File.write",
                ">>",
                "'>'",
                "\">\"",
            ]
            .iter()
            .any(|k| code.contains(k));
        let home_writes: Vec<String> = if writes_files {
            f.home_paths.clone()
        } else {
            Vec::new()
        };
        // `p='~/.claude/settings.json'; json.dump(d, open(p, 'w'))`: a written path held in a
        // variable is still named by a literal.
        let literal_writes: Vec<String> = if writes_files {
            f.literals
                .iter()
                .filter(|l| {
                    l.len() < 4096
                        && (l.starts_with(['/', '~', '.']) || l.contains('/'))
                        && !l.contains(char::is_whitespace)
                        && protect::check(l, &self.cwd, self.ctx, false).is_some()
                })
                .take(4)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        for target in f
            .writes
            .iter()
            .chain(&home_writes)
            .chain(&literal_writes)
            .take(12)
        {
            let via = Via(program, " code writes");
            self.history_write(target, via);
            self.check_write_target(target, via);
            self.guard_target(target, false, false, via, false);
            // What code writes into a start-up file is rarely a literal we can read: unless
            // the code itself names a way to switch the guard off, the content is unseen.
            let seen = protect::startup_tamper(code).is_some().then_some(code);
            self.startup_write(target, seen, via);
            if paths::is_system_path(target) {
                self.push(p::SYSTEM_WRITE.finding(format!(
                    "`{program}` code writes `{}`, a system file.",
                    clip(target, 80)
                )));
            }
        }
        // Destructive SQL in a literal of code that talks to a database
        // (`sqlite3.connect('app.db').execute('DROP TABLE users')`); an in-memory database has
        // nothing to lose.
        const DB_APIS: &[&str] = &[
            "sqlite3",
            "psycopg",
            "pymysql",
            "MySQLdb",
            "mysql",
            "pg",
            "sqlalchemy",
            "knex",
            "sequelize",
            "prisma",
            "better-sqlite3",
            "DBI",
            "PDO",
            "mongo",
            "redis",
            ".execute(",
            ".query(",
            ".exec(",
            "executescript",
        ];
        if DB_APIS.iter().any(|k| code.contains(k)) && !code.contains(":memory:") {
            if let Some(f) = f
                .literals
                .iter()
                .filter(|l| l.len() < 4096)
                .find_map(|l| infra::sql_finding(&format!("`{program}` code"), l))
            {
                self.push(f);
            }
        }
        // A raw client of the guard's own socket or database.
        if let Some(lit) = f
            .literals
            .iter()
            .find(|l| l.len() < 4096 && protect::check(l, &self.cwd, self.ctx, false).is_some())
        {
            if !f.sends.is_empty()
                || code.contains("socket")
                || code.contains("connect")
                || code.contains("sqlite")
            {
                self.push(p::GUARD_TAMPER.finding(format!(
                    "`{program}` code opens `{}`, the guard's own socket or records.",
                    clip(lit, 80)
                )));
            }
        }
        // Signalling processes the code looks up by the guard's name (`os.kill` of what
        // `pgrep dashclawd` printed).
        const KILLS: &[&str] = &[
            "kill(",
            ".kill",
            "killpg",
            "terminate(",
            "send_signal",
            "SIGKILL",
            "SIGTERM",
            "Process.kill",
            "posix_kill",
            "signal(",
        ];
        if f.literals.iter().any(|l| protect::names_guard_process(l))
            && KILLS.iter().any(|k| code.contains(k))
        {
            self.push(p::GUARD_TAMPER.finding(format!(
                "`{program}` code signals processes it finds by the guard's name."
            )));
        }
        if let Some(why) = f.reflection {
            self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                "Inline `{program}` code uses {why}, so what it does cannot be read."
            )));
        } else if f.dynamic_shell {
            self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                "Inline `{program}` code runs a shell command built at run time."
            )));
        } else if f.dynamic_delete
            && workspace_walk(code, &f)
            && paths::is_inside(
                &paths::normalize(&self.cwd),
                &paths::normalize(self.ctx.workspace),
            )
        {
            // `[p.unlink() for p in Path('.').rglob('*.pyc')]`: what `find . -name … -delete`
            // does, and graded the same.
            self.push(p::FIND_DELETE.finding(format!(
                "Inline `{program}` code deletes what a walk of the working directory finds."
            )));
        } else if f.dynamic_delete {
            self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                "Inline `{program}` code deletes a path computed at run time."
            )));
        }
        self.code_flow(program, &f);
        if self.findings.len() == before && has_escape_hatch(code) {
            self.push(r::INLINE_CODE_ESCAPE.finding(format!(
                "Inline `{program}` code runs shell commands or deletes files."
            )));
        }
        let _ = facts;
    }

    /// Grades a script the command runs, from its content (upstream §4.5).
    fn exec_script(
        &mut self,
        w: &Word,
        kind: ScriptKind,
        depth: usize,
        facts: &mut Facts,
        sourced: bool,
    ) {
        if w.dynamic || self.scripts >= MAX_SCRIPTS || depth + 2 > shell::MAX_DEPTH {
            return;
        }
        self.scripts += 1;
        let path = paths::resolve(&w.text, &self.cwd, self.ctx.home);
        if self.downloaded.iter().any(|d| paths::is_inside(&path, d)) {
            self.push(r::CURL_PIPE_SHELL.finding(format!(
                "`{}` was downloaded earlier in this command and is now run (unreviewed remote code).",
                clip(&w.text, 80)
            )));
            return;
        }
        let written = self.written_text(&path);
        let content = match &written {
            Some(Some(c)) => Ok(c.clone()),
            Some(None) => Err("unseen"),
            None => match script::read(&path) {
                // Written earlier in this line among more files than were kept.
                Err("missing") if self.written_overflow => Err("unseen"),
                r => r,
            },
        };
        // A temp directory is where anyone (a background job, another call) can put a script
        // between this check and the run: one that is not there or cannot be read is unseen.
        let in_temp = (paths::is_temp(&path) && !paths::is_inside(&path, self.ctx.workspace))
            || path.starts_with("/proc/")
            || path == "/dev/stdin";
        let content = match content {
            Ok(c) => c,
            Err("unseen") => {
                self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "`{}` runs a file written earlier in this command with content that cannot be read.",
                    clip(&w.text, 80)
                )));
                return;
            }
            Err(why) if in_temp => {
                self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "`{}` runs a script in a temp directory that {}, so what it does cannot be checked.",
                    clip(&w.text, 80),
                    if why == "missing" { "does not exist yet" } else { "cannot be read" },
                )));
                facts.floor = Some((70, "temp script unseen"));
                return;
            }
            // Upstream: a miss changes nothing; a script we cannot read is at least 60. A
            // compiled program outside the temp directories is graded by its name alone.
            Err("missing" | "binary") => return,
            Err(_) => {
                facts.floor = Some((60, "script unreadable"));
                return;
            }
        };
        let shell_like = match kind {
            ScriptKind::Shell => true,
            ScriptKind::Interpreter => false,
            ScriptKind::Auto => script::is_shell_script(&path, &content),
        };
        let label = format!("script {}", clip(&w.text, 60));
        if shell_like {
            // A script runs in its own shell: its variables and `cd` do not leak back (unless
            // it is sourced).
            let saved = (
                self.vars.clone(),
                self.cwd.clone(),
                self.cwd_moved,
                self.aliases.len(),
            );
            self.text(&content, depth + 1, Some(label));
            if !sourced {
                (self.vars, self.cwd, self.cwd_moved) = (saved.0, saved.1, saved.2);
                self.aliases.truncate(saved.3);
            }
        } else if let Some(prog) = (written.is_some() || in_temp)
            .then(|| script_interpreter(&path, &content))
            .flatten()
        {
            // A program written in this command, or dropped in a temp dir, is graded like
            // inline code (`python3 -c …`); the project's own scripts keep the lighter check.
            let label = format!("script {}", clip(&w.text, 60));
            self.origin.push(Origin::Named(label));
            self.grade_code(prog, &content, depth, facts);
            self.origin.pop();
        } else {
            if has_escape_hatch(&content) {
                self.push(p::SCRIPT_ESCAPE_HATCH.finding(format!(
                    "`{}` runs shell commands or deletes files.",
                    clip(&w.text, 80)
                )));
                facts.floor = Some((80, "script escape hatch"));
            }
            if script::writes_raw_device(&content) {
                self.push(r::DEVICE_WRITE.finding(format!(
                    "`{}` writes to a raw disk device.",
                    clip(&w.text, 80)
                )));
            }
            if content.contains("://")
                && content
                    .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '(' | ')'))
                    .any(infra::is_purchase_url)
            {
                self.push(p::SPEND.finding(format!(
                    "`{}` calls a purchase or payment endpoint.",
                    clip(&w.text, 80)
                )));
                facts.floor = Some((75, "script spend endpoint"));
            }
        }
    }

    /// What a delete of `t` reaches, with paths normalised and resolved against the tracked
    /// working directory: `Root` (the system, a home or its top folders, the workspace),
    /// `Scratch` (temp or regenerable, and only while the effective cwd is in the workspace),
    /// or `Tree` (anything else).
    fn delete_reach(&self, t: &Word) -> Reach {
        let ctx = self.ctx;
        let p = t.text.as_str();
        if !t.dynamic && !self.symlinks.is_empty() {
            // `ln -s ~ x; rm -rf x/`: through a link made earlier in this command (a trailing
            // slash or a path inside it follows the link; `rm -rf x` removes only the link).
            let r = paths::resolve(p, &self.cwd, ctx.home);
            let through = self.symlinks.iter().rev().find_map(|(l, target)| {
                let rest = r.strip_prefix(l.as_str())?;
                (rest.starts_with('/') || (rest.is_empty() && p.ends_with('/')))
                    .then(|| format!("{}{rest}", target.trim_end_matches('/')))
            });
            if let Some(real) = through {
                return self.delete_reach(&Word::literal(&real));
            }
        }
        if t.dynamic {
            // `$TMPDIR/build-x`: a named entry inside the temp directory.
            let in_tmpdir = ["$TMPDIR/", "${TMPDIR}/", "${TMPDIR:-/tmp}/"]
                .iter()
                .any(|pre| {
                    p.strip_prefix(pre).is_some_and(|rest| {
                        !rest.trim_matches('/').is_empty()
                            && !rest.contains(['$', '`', '*', '?', '['])
                            && !paths::has_dotdot(rest)
                    })
                });
            if in_tmpdir && t.subs.is_empty() {
                return Reach::Scratch;
            }
            return match p {
                "$PWD" | "${PWD}" | "$PWD/" | "$(pwd)" | "$PWD/*" => Reach::Root,
                _ if paths::is_home(p.trim_end_matches("/*"), ctx.home) => Reach::Root,
                _ => Reach::Tree,
            };
        }
        if paths::is_root_or_system_dir(p, ctx.home) || paths::is_cwd_or_parent(p) {
            // `.`/`..` only matter relative to where the command runs.
            if paths::is_cwd_or_parent(p) {
                // `/*` is the root's entries, not the cwd (an empty path would resolve to it).
                let dir = match p.trim_end_matches("/*") {
                    "" => "/",
                    d => d,
                };
                let r = paths::resolve(dir, &self.cwd, ctx.home);
                // A workspace under /tmp is still the workspace, not scratch.
                let ws = paths::normalize(ctx.workspace);
                // A regenerable directory of the workspace (`cd dist; rm -rf ./*`) is scratch.
                let ws_artifact = r
                    .strip_prefix(&format!("{ws}/"))
                    .is_some_and(paths::is_regenerable);
                let in_scratch = ws_artifact
                    || (paths::is_regenerable(&format!("{r}/x"))
                        && r != "/tmp"
                        && r != "/var/tmp"
                        && !paths::is_inside(&r, &ws)
                        && !paths::is_inside(&ws, &r));
                if in_scratch {
                    return Reach::Scratch;
                }
            }
            return Reach::Root;
        }
        let r = paths::resolve(p, &self.cwd, ctx.home);
        let bare = r.trim_end_matches("/*").trim_end_matches("/.*");
        let ws = paths::normalize(ctx.workspace);
        if paths::is_root_or_system_dir(bare, ctx.home) || bare == ws || (bare.is_empty()) {
            return Reach::Root;
        }
        // `*` and `./*` with the cwd at the workspace are the workspace.
        if matches!(p, "*" | "./*" | ".*" | "./.*") && paths::normalize(&self.cwd) == ws {
            return Reach::Root;
        }
        // A home directory's top folders (`~/.ssh`, `~/Documents`), unless the workspace.
        if let Some(h) = ctx.home.map(paths::normalize) {
            if let Some(rest) = bare.strip_prefix(&format!("{h}/")) {
                if !rest.contains('/')
                    && !paths::is_inside(&ws, bare)
                    && !paths::is_inside(bare, &ws)
                {
                    return Reach::Root;
                }
            }
            if paths::is_inside(&ws, bare) {
                // Deleting a parent of the workspace.
                return Reach::Root;
            }
        }
        if [
            "/etc",
            "/usr",
            "/bin",
            "/sbin",
            "/lib",
            "/lib64",
            "/boot",
            "/sys",
            "/proc",
            "/dev",
            "/System",
            "/Library",
            "/Applications",
            "/root",
            "/snap",
            "/nix",
        ]
        .iter()
        // Root's home is judged as a home (above and below), not as a system directory.
        .filter(|d| Some(**d) != ctx.home.map(|h| h.trim_end_matches('/')))
        .any(|d| paths::is_inside(bare, d))
        {
            return Reach::Root;
        }
        let in_ws = paths::is_inside(&r, &ws);
        let cwd_in_ws = paths::is_inside(&paths::normalize(&self.cwd), &ws);
        // Temp directories are scratch, but not the workspace when it lives in one.
        let scratch_abs = r.starts_with('/') && paths::is_regenerable(bare) && !in_ws;
        // `rm -rf dist/*.whl`, `rm -rf **/__pycache__`: a glob that only reaches artifacts.
        let artifact_glob = cwd_in_ws
            && !p.starts_with('/')
            && !paths::has_dotdot(p)
            && in_ws
            && paths::is_artifact_glob(p);
        let regenerable_rel = !p.starts_with('/')
            && paths::is_regenerable(p.trim_end_matches("/*").trim_end_matches("/.*"))
            && cwd_in_ws;
        // Inside the user's cache directory or `$TMPDIR`: caches and scratch, by convention.
        let plain = !p.contains(['*', '?', '[']) && !paths::has_dotdot(p);
        let home_cache = self.ctx.home.is_some_and(|h| {
            HOME_CACHES.iter().any(|c| {
                let dir = format!("{h}/{c}");
                // A cache nested in a tool's folder may go whole (`~/.npm/_cacache`); a top
                // folder (`~/.cache`) only entry by entry.
                (c.contains('/') && bare == dir)
                    || (bare.starts_with(&dir)
                        && bare.as_bytes().get(dir.len()) == Some(&b'/')
                        && bare.len() > dir.len() + 1)
            })
        });
        if scratch_abs
            || artifact_glob
            || regenerable_rel
            || (in_ws && paths::is_regenerable(bare.strip_prefix(&format!("{ws}/")).unwrap_or("")))
            || (plain && home_cache)
        {
            return Reach::Scratch;
        }
        Reach::Tree
    }
}

/// Caches under a home that tools refill by themselves: an entry inside one is scratch.
const HOME_CACHES: &[&str] = &[
    ".cache",
    ".npm/_cacache",
    ".npm/_npx",
    ".cargo/registry/cache",
    ".gradle/caches",
    ".m2/repository",
    "go/pkg/mod/cache",
    "Library/Caches",
    "Library/Developer/Xcode/DerivedData",
    ".gradle/caches",
    ".android/cache",
    ".yarn/berry/cache",
    ".pnpm-store",
];

/// `find -name` patterns that only match build and editor leftovers.
const FIND_ARTIFACTS: &[&str] = &[
    "*.pyc",
    "*.pyo",
    "__pycache__",
    "*.o",
    "*.obj",
    "*.class",
    ".DS_Store",
    "*.tmp",
    "*~",
    "*.swp",
    "*.swo",
    "Thumbs.db",
    ".pytest_cache",
    ".mypy_cache",
    "node_modules",
    "*.tsbuildinfo",
    "*.log",
    "*.egg-info",
    ".ruff_cache",
    "*.d",
    "target",
    "dist",
    "build",
    ".cache",
    "*.bak~",
];

/// How far a delete reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Root,
    Scratch,
    Tree,
}

/// A script that is a shell reading its program from stdin (`sh`, `bash -s`), as in `>(sh)`.
fn shell_reads_stdin(s: &Script) -> bool {
    let mut first = None;
    shell::for_each_simple(s, &mut |sc| {
        if first.is_none() {
            first = Some(sc.words.iter().map(|w| w.text.clone()).collect::<Vec<_>>());
        }
    });
    first.is_some_and(|w| {
        w.first().is_some_and(|n| SHELLS.contains(&command_name(n)))
            && w[1..]
                .iter()
                .all(|a| a.starts_with('-') && !a.contains('c'))
    })
}

/// Code whose only way to paths is a walk of the working directory (`Path('.').rglob(…)`,
/// `os.walk('.')`, `glob.glob('**/*.pyc')`): no absolute, home or parent literal, nothing from
/// arguments, input or the environment.
fn workspace_walk(code: &str, f: &super::code::CodeFacts) -> bool {
    const WALKS: &[&str] = &[
        "Path('.')",
        "Path(\".\")",
        "Path()",
        "Path.cwd()",
        "os.walk('.')",
        "os.walk(\".\")",
        "glob.glob('",
        "glob.glob(\"",
        "glob.iglob('",
        "glob.iglob(\"",
        "Dir.glob('",
        "Dir.glob(\"",
        "Dir['",
        "Dir[\"",
        "readdirSync('",
        "readdirSync(\"",
    ];
    const OUTSIDE: &[&str] = &[
        "argv",
        "input(",
        "environ",
        "stdin",
        "getenv",
        "home",
        "expanduser",
        "chdir",
        "ENV",
        "process.env",
        "readline",
    ];
    WALKS.iter().any(|w| code.contains(w))
        && !OUTSIDE.iter().any(|o| code.contains(o))
        && f.home_paths.is_empty()
        && f.literals.iter().all(|l| {
            !l.starts_with(['/', '~', '$']) && !l.contains("..") && !l.contains(':')
        })
        // A pattern that narrows the walk (`*.pyc`), not everything (`*`, `**/*`).
        && f
            .literals
            .iter()
            .any(|l| l.chars().any(|c| !matches!(c, '*' | '/' | '.')))
}

/// The interpreter a script file is meant for, from its extension or shebang.
fn script_interpreter(path: &str, content: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let by_ext = match ext {
        "py" => Some("python3"),
        "js" | "mjs" | "cjs" | "ts" => Some("node"),
        "rb" => Some("ruby"),
        "pl" | "pm" => Some("perl"),
        "php" => Some("php"),
        "lua" => Some("lua"),
        "go" => Some("go"),
        "java" => Some("java"),
        "c" | "cc" | "cpp" | "cxx" => Some("cc"),
        "rs" => Some("rustc"),
        _ => None,
    };
    by_ext.or_else(|| {
        let line = content.lines().next()?.strip_prefix("#!")?;
        ["python3", "python", "node", "ruby", "perl", "php", "lua"]
            .into_iter()
            .find(|i| line.contains(i))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScriptKind {
    Shell,
    Interpreter,
    /// Decide from the extension and shebang.
    Auto,
}

fn is_windows_root(t: &str) -> bool {
    let l = t.to_ascii_lowercase().replace('\\', "/");
    let l = l.trim_end_matches(['/', '*']);
    let drive = l.len() == 2 && l.as_bytes()[1] == b':';
    drive
        || l.is_empty()
        || l.starts_with("$env:userprofile")
        || l.starts_with("$env:systemroot")
        || (l.len() > 2
            && l.as_bytes()[1] == b':'
            && ["/windows", "/users", "/program files"].iter().any(|p| {
                l[2..].starts_with(p)
                    && l[2..].matches('/').count() <= if *p == "/users" { 2 } else { 1 }
            }))
}

/// A program the classifier knows by name (a handler, a table row or an intent): a file of
/// that name on the search path would run in its place.
pub(super) fn known_program(name: &str) -> bool {
    dispatch::handler(name).is_some()
        || listed(name).is_some()
        || matches!(
            name,
            "ls" | "cat"
                | "cd"
                | "cp"
                | "mv"
                | "grep"
                | "find"
                | "sed"
                | "awk"
                | "ps"
                | "sudo"
                | "ssh"
                | "scp"
                | "make"
                | "npm"
                | "npx"
                | "yarn"
                | "pnpm"
                | "node"
                | "docker"
                | "kubectl"
                | "cargo"
                | "go"
                | "java"
                | "gcc"
                | "cc"
                | "which"
                | "env"
                | "less"
                | "vim"
                | "code"
                | "open"
                | "xdg-open"
                | "dashclawd"
                | "dashclaw-hook"
                | "claude"
                | "codex"
                | "hermes"
                | "openclaw"
        )
}

/// A variable the guard or an agent reads to find its daemon, hooks or settings
/// (`DASHCLAW_DAEMON_BIN=/bin/true claude`, `CLAUDE_CONFIG_DIR=/tmp/c claude`).
/// Settings that stop the shell's history from being kept (`HISTFILE=/dev/null`,
/// `HISTSIZE=0`); `None` is an unset variable.
fn history_off(name: &str, value: Option<&str>) -> bool {
    match name {
        "HISTFILE" => matches!(value, None | Some("" | "/dev/null")),
        "HISTSIZE" | "HISTFILESIZE" | "SAVEHIST" => value.is_some_and(|v| v.trim() == "0"),
        _ => false,
    }
}

fn guard_setting(name: &str) -> bool {
    name.starts_with("DASHCLAW_")
        || matches!(
            name,
            "CLAUDE_CONFIG_DIR"
                | "CODEX_HOME"
                | "HERMES_HOME"
                | "OPENCLAW_HOME"
                | "OPENCLAW_CONFIG"
        )
}

/// An interpreter's name without a version suffix (`lua5.4`, `php8.2`, `ruby3.1`, `tclsh8.6`,
/// `node-18`); other names unchanged.
pub(super) fn unversioned(name: &str) -> &str {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let base = base.strip_suffix('-').unwrap_or(base);
    if base.len() < name.len()
        && matches!(
            base,
            "lua"
                | "luajit"
                | "php"
                | "ruby"
                | "perl"
                | "node"
                | "nodejs"
                | "tclsh"
                | "wish"
                | "pypy"
                | "guile"
                | "racket"
                | "ghc"
                | "octave"
                | "julia"
                | "erl"
                | "elixir"
        )
    {
        base
    } else {
        name
    }
}

fn is_versioned_python(name: &str) -> bool {
    name.strip_prefix("python")
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
}

/// Index of git's subcommand, skipping global options and their values.
fn git_subcommand(args: &[Word]) -> Option<usize> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !is_flag(a) {
            return Some(i);
        }
        let takes_value = matches!(
            a.text.as_str(),
            "-C" | "-c"
                | "--git-dir"
                | "--work-tree"
                | "--namespace"
                | "--exec-path"
                | "--config-env"
                | "--super-prefix"
        );
        i += if takes_value { 2 } else { 1 };
    }
    None
}

fn git_intent(args: &[Word]) -> Intent {
    let sub = git_subcommand(args).map(|i| args[i].text.as_str());
    match sub {
        Some(s) if GIT_READONLY.contains(&s) => Intent::Readonly,
        _ => Intent::Write, // the git rules raise reset/clean/push/branch -D to destructive
    }
}

/// `(inline code, reads program from stdin)` for an interpreter invocation.
/// The inline code word (`Some(None)` when the flag has no operand), and whether the program
/// reads its code from stdin instead.
fn interpreter_mode<'w>(name: &str, args: &'w [Word]) -> (Option<Option<&'w Word>>, bool) {
    let name = unversioned(name);
    let inline_flags: &[&str] = match name {
        "erl" => &["-eval"],
        "escript" | "ocaml" | "raku" | "perl6" | "rakudo" | "ghc" | "runghc" | "runhaskell"
        | "gnuplot" | "dc" => &["-e"],
        "elixir" | "racket" => &["-e", "--eval"],
        "guile" => &["-c", "-e"],
        "sbcl" | "clisp" | "ecl" => &["--eval", "-x", "-eval"],
        "clojure" | "clj" | "bb" => &["-e", "--eval"],
        "octave" | "octave-cli" | "matlab" => &["--eval", "-r", "-batch"],
        "swipl" => &["-g", "-t"],
        "node" | "nodejs" | "bun" | "tsx" | "ts-node" => &["-e", "--eval", "-p", "--print"],
        "deno" => &["--eval", "eval"],
        "ruby" => &["-e"],
        "perl" => &["-e", "-E"],
        "php" => &["-r"],
        "lua" | "luajit" | "osascript" | "Rscript" | "R" | "julia" | "groovy" | "scala" => &["-e"],
        _ => &["-c"],
    };
    let mut skip = false;
    for (i, a) in args.iter().enumerate() {
        if std::mem::take(&mut skip) {
            continue;
        }
        let t = a.text.as_str();
        // Clustered flags: `perl -pi -e`, `ruby -ne`.
        let clustered = matches!(name, "perl" | "ruby")
            && t.starts_with('-')
            && !t.starts_with("--")
            && t.len() > 2
            && t.ends_with(['e', 'E'])
            && t[1..].bytes().all(|b| b.is_ascii_alphabetic());
        // Python's `-Bc`, `-Ic`: flags bundled before `-c`.
        let clustered = clustered
            || (is_versioned_python(name) || name.starts_with("python") || name == "pypy3")
                && t.starts_with('-')
                && !t.starts_with("--")
                && t.len() > 2
                && t.ends_with('c')
                && t[1..].bytes().all(|b| b.is_ascii_alphabetic());
        if inline_flags.contains(&t) || clustered {
            return (Some(args.get(i + 1)), false);
        }
        if t == "-" || t == "/dev/stdin" {
            return (None, true);
        }
        if t == "-m" || !t.starts_with('-') || a.dynamic {
            return (None, false);
        }
        // Options that take the next word as their value (`python3 -W ignore -c …`).
        if matches!(
            (name.starts_with("python") || name == "pypy3", t),
            (true, "-W" | "-X" | "-Q")
        ) || (matches!(name, "perl" | "ruby") && matches!(t, "-I" | "-M" | "-r"))
            || (matches!(name, "node" | "nodejs" | "bun" | "tsx" | "ts-node")
                && matches!(t, "-r" | "--require" | "--import" | "--loader"))
        {
            skip = true;
        }
    }
    (None, true)
}

/// The script file an interpreter runs (`python x.py`, `node --inspect x.js`), if any.
fn interpreter_script<'w>(name: &str, args: &'w [Word]) -> Option<&'w Word> {
    let valued: &[&str] = match name {
        "node" | "nodejs" | "bun" | "tsx" | "ts-node" => &[
            "-r",
            "--require",
            "--import",
            "--loader",
            "--env-file",
            "--conditions",
        ],
        "ruby" => &["-I", "-r"],
        "perl" => &["-I", "-M"],
        "php" => &["-d", "-c"],
        "deno" => &["--allow-read", "--config"],
        _ => &["-W", "-X", "-Q"],
    };
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        let t = a.text.as_str();
        if name == "deno" && t == "run" {
            continue;
        }
        if t == "-m" || t == "--" {
            return None;
        }
        if valued.contains(&t) {
            i += 1;
            continue;
        }
        if is_flag(a) {
            continue;
        }
        return (t != "-").then_some(a);
    }
    None
}

fn is_decode_flag(name: &str, flag: &str) -> bool {
    match name {
        "xxd" => flag == "-r" || flag == "-revert",
        "openssl" => flag == "-d",
        _ => matches!(flag, "-d" | "-D" | "--decode"),
    }
}

/// Upstream escape-hatch pattern (§4.2 step 4.5), plus two obvious spellings it misses.
pub(crate) fn has_escape_hatch(code: &str) -> bool {
    [
        "child_process",
        "subprocess",
        "os.system",
        "execSync",
        "spawnSync",
        "fs.rm",
        "fs.unlink",
        "rmtree",
        "shutil",
        "os.remove",
        "rmSync",
    ]
    .iter()
    .any(|k| code.contains(k))
        || code
            .match_indices("rm ")
            .any(|(i, _)| code[i + 3..].trim_start().starts_with("-r"))
}

/// The destination of `cp`/`mv`/`install`/`ln`: `-t DIR`, `--target-directory=DIR`, or the last
/// positional when there are at least two.
fn copy_destination(args: &[Word]) -> Option<Cow<'_, Word>> {
    for (i, a) in args.iter().enumerate() {
        if a.text == "-t" || a.text == "--target-directory" {
            return args.get(i + 1).map(Cow::Borrowed);
        }
        if let Some(d) = a.text.strip_prefix("--target-directory=") {
            return Some(Cow::Owned(Word::literal(d)));
        }
    }
    let mut count = 0usize;
    let mut last = None;
    for w in positionals(args) {
        count += 1;
        last = Some(w);
    }
    last.filter(|_| count >= 2).map(Cow::Borrowed)
}

/// A word whose substitutions run a downloader (`"$(curl …)"`, `<(wget …)`).
fn word_downloads(w: &Word, depth: usize) -> bool {
    w.subs.iter().any(|s| script_downloads(s, depth))
}

fn script_downloads(s: &Script, depth: usize) -> bool {
    if depth > shell::MAX_DEPTH {
        return false;
    }
    let mut found = false;
    shell::for_each_simple(s, &mut |sc| {
        let words = &sc.words[strip_wrappers(&sc.words).start.min(sc.words.len())..];
        if let Some(w) = words.first() {
            found |= !w.dynamic && DOWNLOADERS.contains(&command_name(&w.text));
        }
    });
    found
}

/// Counts calls of `name` inside a function body, and whether any is piped or backgrounded.
/// Whether a function body runs its own arguments as a command (`"$@"`, `$*`, `eval "$@"`,
/// `exec "$1" "${@:2}"`): calling it runs whatever it is given.
fn runs_its_arguments(c: &Command, depth: usize) -> bool {
    if depth > shell::MAX_DEPTH {
        return false;
    }
    match c {
        Command::Simple(sc) => {
            let words: Vec<&str> = sc.words.iter().map(|w| w.text.as_str()).collect();
            let is_args = |w: &str| {
                matches!(w, "$@" | "${@}" | "$*" | "${*}" | "$1" | "${1}") || w.starts_with("${@:")
            };
            match words.as_slice() {
                [first, ..] if is_args(first) => true,
                ["eval" | "exec" | "command" | "builtin" | "sudo" | "env" | "nohup" | "time", rest @ ..] => {
                    rest.iter()
                        .find(|w| !w.starts_with('-'))
                        .is_some_and(|w| is_args(w))
                }
                _ => false,
            }
        }
        Command::Function { body, .. } => runs_its_arguments(body, depth + 1),
        Command::Group { body, .. } => body.items.iter().any(|item| {
            item.pipeline
                .stages
                .iter()
                .any(|stage| runs_its_arguments(stage, depth + 1))
        }),
    }
}

fn count_self_calls(c: &Command, name: &str, acc: &mut (usize, bool), depth: usize) {
    if depth > shell::MAX_DEPTH {
        return;
    }
    match c {
        Command::Simple(_) => {}
        Command::Function { body, .. } => count_self_calls(body, name, acc, depth + 1),
        Command::Group { body, .. } => {
            for item in &body.items {
                let spread = item.pipeline.stages.len() > 1 || item.background;
                for stage in &item.pipeline.stages {
                    match stage {
                        Command::Simple(sc) if sc.words.first().is_some_and(|w| w.text == name) => {
                            acc.0 += 1;
                            acc.1 |= spread;
                        }
                        other => count_self_calls(other, name, acc, depth + 1),
                    }
                }
            }
        }
    }
}

/// Arguments that would make an unknown program dangerous: force/recursive flags, or a
/// root, system or home path (`$x -rf ~`, `$(cat c) --force /etc`).
fn looks_destructive(args: &[Word], home: Option<&str>) -> bool {
    args.iter().any(|a| {
        let t = a.text.as_str();
        matches!(
            t,
            "--force" | "--recursive" | "--no-preserve-root" | "-delete" | "--delete" | "--hard"
        ) || (is_flag(a)
            && !t.starts_with("--")
            && t[1..].contains(['r', 'R', 'f'])
            && t.len() <= 4)
            || t.starts_with("of=/dev/")
            || (!a.dynamic && paths::is_root_or_system_dir(t, home))
            || t == "~"
            || t.starts_with("~/")
            || t.starts_with("$HOME")
    })
}

/// Environment set-up tools whose output is meant for `eval` (`eval "$(ssh-agent -s)"`).
const ENV_GENERATORS: &[(&str, &[&str])] = &[
    ("ssh-agent", &[]),
    ("gpg-agent", &[]),
    ("keychain", &[]),
    ("direnv", &["hook", "export"]),
    ("pyenv", &["init", "virtualenv-init"]),
    ("rbenv", &["init"]),
    ("nodenv", &["init"]),
    ("goenv", &["init"]),
    ("jenv", &["init"]),
    ("brew", &["shellenv"]),
    ("conda", &["shell.bash", "shell.zsh", "shell.posix"]),
    ("starship", &["init"]),
    ("zoxide", &["init"]),
    ("fnm", &["env"]),
    ("mise", &["activate", "env"]),
    ("rtx", &["activate"]),
    ("opam", &["env", "config"]),
    ("dircolors", &[]),
    ("thefuck", &["--alias"]),
    ("luarocks", &["path"]),
    ("npm", &["completion"]),
    ("kubectl", &["completion"]),
    ("gh", &["completion"]),
    ("register-python-argcomplete", &[]),
    ("pipenv", &["--completion"]),
    ("atuin", &["init"]),
];

pub(super) fn is_env_generator(s: &Script) -> bool {
    let [item] = s.items.as_slice() else {
        return false;
    };
    let [Command::Simple(sc)] = item.pipeline.stages.as_slice() else {
        return false;
    };
    let Some((first, rest)) = sc.words.split_first() else {
        return false;
    };
    // Only the program found on an unchanged `PATH`, by its plain name, with no environment
    // prefix: `PATH=/tmp/x ssh-agent` or `/tmp/x/ssh-agent` could print anything.
    if first.dynamic
        || first.text.contains('/')
        || !sc.assigns.is_empty()
        || rest.iter().any(|w| w.dynamic)
        || !sc.redirects.iter().all(|r| r.fd == Some(2))
    {
        return false;
    }
    let name = command_name(&first.text);
    // `helm completion bash`, `rustup completions zsh`: shell completion scripts.
    if rest
        .first()
        .is_some_and(|a| matches!(a.text.as_str(), "completion" | "completions"))
    {
        return true;
    }
    ENV_GENERATORS.iter().any(|(n, subs)| {
        *n == name
            && (subs.is_empty()
                || rest
                    .first()
                    .is_some_and(|a| subs.contains(&a.text.as_str())))
    })
}

struct Stripped<'w> {
    start: usize,
    sudo: bool,
    /// `command -v x`: a lookup, not a run.
    lookup_only: bool,
    /// A wrapper that hands a string to a shell parser (`env -S`, `su -c`), with its label.
    reparse: Option<(&'w str, &'static str)>,
    /// The command runs once per input item (`xargs`): how items are cut and placed.
    xargs: Option<Xargs>,
}

/// How `xargs` turns its input into arguments.
#[derive(Debug, Clone, Default)]
struct Xargs {
    /// `-I R` / `-i` / `--replace[=R]`: each line replaces R.
    replace: Option<String>,
    /// `-0` / `-d`: items are separated by NUL or a delimiter, not blanks.
    lines: bool,
}

/// What follows a wrapper's options before the command it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Command,
    /// `timeout DURATION cmd`.
    Duration,
    /// `flock FILE cmd`, `chroot DIR cmd`, `gosu USER cmd`, `faketime T cmd`.
    Operand,
    /// `taskset MASK cmd` (unless `-p`).
    CpuMask,
    /// `chrt PRIORITY cmd` (unless `-p`).
    Priority,
    /// `uv run`, `pnpm exec`: a subcommand word first.
    Subcommand(&'static str),
}

/// A program that runs another program given as its arguments.
struct Wrapper {
    names: &'static [&'static str],
    /// Options that take a separate value.
    valued: &'static [&'static str],
    /// Options whose value is a shell command line (`su -c`, `env -S`, `script -c`).
    reparse: &'static [&'static str],
    /// Runs as another (usually more privileged) user.
    sudo: bool,
    then: Then,
}

const fn wrap(
    names: &'static [&'static str],
    valued: &'static [&'static str],
    reparse: &'static [&'static str],
    sudo: bool,
    then: Then,
) -> Wrapper {
    Wrapper {
        names,
        valued,
        reparse,
        sudo,
        then,
    }
}

/// Every wrapper and launcher seen through, with its options (examples in docs/classifier.md
/// and tests/data/verdicts/wrappers.tsv).
const WRAPPERS: &[Wrapper] = &[
    wrap(
        &["sudo", "doas", "please"],
        &[
            "-u",
            "-g",
            "-h",
            "-p",
            "-C",
            "-D",
            "-r",
            "-t",
            "-U",
            "-T",
            "--user",
            "--group",
            "--host",
            "--prompt",
            "--chdir",
            "--role",
            "--type",
            "--other-user",
            "--close-from",
            "--command-timeout",
        ],
        &[],
        true,
        Then::Command,
    ),
    wrap(
        &["su", "runuser", "ksu"],
        &["-s", "--shell", "-g", "--group", "-G", "-w", "-u", "--user"],
        &["-c", "--command", "--session-command"],
        true,
        Then::Command,
    ),
    wrap(&["pkexec"], &["--user"], &[], true, Then::Command),
    wrap(
        &["gosu", "su-exec", "setuidgid", "s6-setuidgid"],
        &[],
        &[],
        true,
        Then::Operand,
    ),
    wrap(
        &["chpst"],
        &["-u", "-U", "-e", "-n", "-l", "-L"],
        &[],
        true,
        Then::Command,
    ),
    wrap(
        &["env"],
        &["-u", "-C", "--unset", "--chdir", "-P", "-a", "--argv0"],
        &["-S", "--split-string"],
        false,
        Then::Command,
    ),
    wrap(
        &["nice"],
        &["-n", "--adjustment"],
        &[],
        false,
        Then::Command,
    ),
    wrap(
        &["ionice"],
        &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"],
        &[],
        false,
        Then::Command,
    ),
    wrap(
        &["timeout", "gtimeout"],
        &["-s", "-k", "--signal", "--kill-after"],
        &[],
        false,
        Then::Duration,
    ),
    wrap(
        &["time"],
        &["-f", "-o", "--format", "--output"],
        &[],
        false,
        Then::Command,
    ),
    wrap(&["exec"], &["-a"], &[], false, Then::Command),
    wrap(&["stdbuf"], &["-i", "-o", "-e"], &[], false, Then::Command),
    wrap(
        &["strace", "ltrace"],
        &[
            "-e", "-o", "-p", "-s", "-u", "-E", "-I", "-b", "-a", "-P", "-O", "-S", "-X",
        ],
        &[],
        false,
        Then::Command,
    ),
    wrap(
        &["xargs", "gxargs"],
        &[
            "-n",
            "-I",
            "-P",
            "-d",
            "-L",
            "-l",
            "-s",
            "-E",
            "-a",
            "--max-args",
            "--delimiter",
            "--max-procs",
            "--arg-file",
            "--max-lines",
            "--max-chars",
            "--eof",
            "-J",
            "-R",
        ],
        &[],
        false,
        Then::Command,
    ),
    wrap(
        &["flock"],
        &["-w", "--wait", "--timeout", "-E", "--conflict-exit-code"],
        &["-c", "--command"],
        false,
        Then::Operand,
    ),
    wrap(
        &["chroot"],
        &["--userspec", "--groups"],
        &[],
        true,
        Then::Operand,
    ),
    wrap(
        &["taskset"],
        &["-c", "--cpu-list"],
        &[],
        false,
        Then::CpuMask,
    ),
    wrap(&["chrt"], &["-T", "-P", "-D"], &[], false, Then::Priority),
    wrap(
        &[
            "prlimit",
            "setpriv",
            "unshare",
            "firejail",
            "systemd-run",
            "caffeinate",
            "cgexec",
            "numactl",
            "bwrap",
            "fakeroot",
            "catchsegv",
            "dbus-run-session",
            "dbus-launch",
            "xvfb-run",
            "valgrind",
            "with-contenv",
            "tini",
            "dumb-init",
        ],
        &[
            "-c",
            "--cpu-list",
            "-p",
            "-t",
            "-w",
            "-u",
            "-g",
            "-n",
            "--net",
            "--profile",
            "--unit",
            "--property",
            "-E",
            "--setenv",
            "--uid",
            "--gid",
        ],
        &[],
        false,
        Then::Command,
    ),
    // nsenter's namespace flags (`-m`, `-n`, `-p`) take a file only when attached.
    wrap(
        &["nsenter"],
        &["-t", "--target", "-S", "--setuid", "-G", "--setgid"],
        &[],
        false,
        Then::Command,
    ),
    wrap(&["faketime"], &["-f"], &[], false, Then::Operand),
    // `op run -- cmd`, `doppler run -- cmd`, `aws-vault exec profile -- cmd`, `direnv exec dir cmd`.
    wrap(
        &["op", "doppler"],
        &[
            "--env-file",
            "--account",
            "-p",
            "--project",
            "-c",
            "--config",
        ],
        &[],
        false,
        Then::Subcommand("run"),
    ),
    // Loaders of `.env` files and settings for what they run (`dotenv -e .env.prod -- cmd`,
    // `cross-env NODE_ENV=x cmd`, `env-cmd -f .env cmd`, `dotenvx run -f .env -- cmd`).
    wrap(
        &["dotenv", "dotenv-cli", "env-cmd", "cross-env"],
        &[
            "-e",
            "-f",
            "--file",
            "-c",
            "-v",
            "-p",
            "--environments",
            "-r",
            "--rc-file",
        ],
        &[],
        false,
        Then::Command,
    ),
    wrap(
        &["dotenvx"],
        &["-f", "--env-file", "-e", "--env", "--convention"],
        &[],
        false,
        Then::Subcommand("run"),
    ),
    wrap(
        &["aws-vault"],
        &["--duration", "-d"],
        &[],
        false,
        Then::Subcommand("exec"),
    ),
    wrap(&["direnv"], &[], &[], false, Then::Subcommand("exec")),
    wrap(
        &[
            "nohup",
            "command",
            "builtin",
            "busybox",
            "toybox",
            "unbuffer",
            "setsid",
            "chronic",
            "rtk",
            "proxychains",
            "proxychains4",
            "torsocks",
            "tsocks",
            "nocache",
            "eatmydata",
            "ccache",
            "sccache",
            "distcc",
            "rlwrap",
            "winpty",
            "noglob",
            "nocorrect",
            // The dynamic loader run directly loads and runs the program it is given.
            "ld.so",
            "ld-linux.so.2",
            "ld-linux-x86-64.so.2",
            "ld-linux-aarch64.so.1",
            "ld-linux-armhf.so.3",
            "ld-musl-x86_64.so.1",
            "ld-musl-aarch64.so.1",
        ],
        &[],
        &[],
        false,
        Then::Command,
    ),
    wrap(
        &[
            "uv",
            "poetry",
            "pipenv",
            "pdm",
            "hatch",
            "rye",
            "conda",
            "mamba",
            "micromamba",
            "pixi",
        ],
        &[
            "--with",
            "--python",
            "-p",
            "--env-file",
            "--project",
            "--directory",
            "-n",
            "--name",
            "-e",
        ],
        &[],
        false,
        Then::Subcommand("run"),
    ),
    wrap(
        &[
            "bundle", "pnpm", "yarn", "bunx", "mise", "asdf", "rbenv", "pyenv", "nodenv",
        ],
        &["-C", "--dir", "--filter"],
        &[],
        false,
        Then::Subcommand("exec"),
    ),
];

/// The bare program name: path, a leading `\`, and a Windows `.exe` suffix removed
/// (`/usr/bin/rm`, `\rm`, `C:\Git\bin\git.exe`, `rm.exe`).
fn program_name(text: &str) -> &str {
    // Most command words are plain names (this runs for every one).
    if !text.bytes().any(|b| matches!(b, b'/' | b'\\' | b'.')) {
        return text;
    }
    let t = text.trim_start_matches('\\');
    let t = t.rsplit(['/', '\\']).next().unwrap_or(t);
    for ext in [".exe", ".EXE", ".Exe", ".cmd", ".bat", ".com"] {
        if let Some(base) = t.strip_suffix(ext) {
            if !base.is_empty() {
                return base;
            }
        }
    }
    t
}

/// The `WRAPPERS` entry naming `name` (an index: this runs for every command word).
fn wrapper(name: &str) -> Option<&'static Wrapper> {
    type Index = std::collections::HashMap<&'static str, &'static Wrapper, Fnv>;
    static INDEX: std::sync::LazyLock<Index> = std::sync::LazyLock::new(|| {
        let mut m = Index::default();
        for w in WRAPPERS {
            for n in w.names {
                // The first entry naming a program wins, as a linear search would.
                m.entry(*n).or_insert(w);
            }
        }
        m
    });
    INDEX.get(name).copied()
}

/// Skips wrappers and their options (`WRAPPERS`), so the command they run is graded.
fn strip_wrappers(words: &[Word]) -> Stripped<'_> {
    let mut out = Stripped {
        start: 0,
        sudo: false,
        lookup_only: false,
        reparse: None,
        xargs: None,
    };
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if w.dynamic {
            break;
        }
        let name = command_name(&w.text);
        if matches!(name, "npx" | "pnpx") {
            // `npx cross-env NODE_ENV=x cmd`, `npx dotenv -e f -- cmd`: a wrapper fetched by
            // the package runner is still a wrapper.
            let mut j = i + 1;
            while let Some(a) = words.get(j).filter(|a| is_flag(a)) {
                j += if matches!(a.text.as_str(), "-p" | "--package") {
                    2
                } else {
                    1
                };
            }
            match words.get(j) {
                Some(p) if !p.dynamic && wrapper(command_name(&p.text)).is_some() => {
                    i = j;
                    continue;
                }
                _ => break,
            }
        }
        let Some(spec) = wrapper(name) else {
            break;
        };
        if let Then::Subcommand(sub) = spec.then {
            // `uv run`, `pnpm exec`; `uv pip install` is not a wrapper.
            let at = words[i + 1..]
                .iter()
                .position(|a| !is_flag(a))
                .map(|p| i + 1 + p);
            match at {
                Some(a) if words[a].text == sub => i = a,
                _ => break,
            }
        }
        out.sudo |= spec.sudo;
        let wrapper_at = i;
        if name == "xargs" || name == "gxargs" {
            out.xargs = Some(xargs_spec(&words[i + 1..]));
        }
        i += 1;
        // `su [-] [user] -c CMD` and `runuser user -c CMD`: the `-c` string may follow the
        // user name, so look for it anywhere.
        if matches!(name, "su" | "runuser" | "ksu") {
            let c = words[i..]
                .iter()
                .position(|a| spec.reparse.contains(&a.text.as_str()));
            if let Some((c, v)) = c.and_then(|c| words.get(i + c + 1).map(|v| (c, v))) {
                out.reparse = Some((v.text.as_str(), "su -c"));
                out.start = (i + c + 2).min(words.len());
                return out;
            }
            if !words[i..]
                .iter()
                .any(|a| a.text == "--" || a.text == "-u" || a.text == "--user")
            {
                // A login shell, not a command.
                out.start = wrapper_at;
                return out;
            }
        }
        while let Some(a) = words.get(i) {
            let t = a.text.as_str();
            if t == "--" {
                i += 1;
                break;
            }
            if matches!(name, "env" | "cross-env")
                && !a.dynamic
                && (t == "-" || (!t.starts_with('-') && a.is_assignment()))
            {
                i += 1;
                continue;
            }
            if !is_flag(a) {
                break;
            }
            if name == "command" && (t == "-v" || t == "-V") {
                out.lookup_only = true;
            }
            // A command string for a shell parser: `-c CMD`, `--command=CMD`, `-SCMD`.
            let split = spec.reparse.iter().find_map(|r| {
                if t == *r {
                    words.get(i + 1).map(|v| (v.text.as_str(), 2))
                } else if let Some(v) = t.strip_prefix(r).and_then(|v| v.strip_prefix('=')) {
                    Some((v, 1))
                } else if r.len() == 2 && t.starts_with(r) && t.len() > 2 && !r.starts_with("--") {
                    Some((&t[2..], 1))
                } else {
                    None
                }
            });
            if let Some((cmd, skip)) = split {
                let label = match name {
                    "env" => "env -S",
                    "script" => "script -c",
                    "flock" => "flock -c",
                    _ => "su -c",
                };
                out.reparse = Some((cmd, label));
                out.start = (i + skip).min(words.len());
                return out;
            }
            i += 1;
            if spec.valued.contains(&t) {
                i += 1;
            }
        }
        let operand = words.get(i).filter(|w| !is_flag(w));
        match spec.then {
            Then::Duration | Then::Operand if operand.is_some() => i += 1,
            Then::CpuMask | Then::Priority
                if operand.is_some_and(|w| {
                    w.text.starts_with("0x")
                        || w.text
                            .bytes()
                            .all(|c| c.is_ascii_digit() || c == b',' || c == b'-')
                }) =>
            {
                i += 1
            }
            _ => {}
        }
        // `flock FILE -c CMD`: the command string comes after the lock file.
        if name == "flock" {
            if let Some(c) = words
                .get(i)
                .filter(|a| a.text == "-c" || a.text == "--command")
            {
                let _ = c;
                if let Some(v) = words.get(i + 1) {
                    out.reparse = Some((v.text.as_str(), "flock -c"));
                    out.start = (i + 2).min(words.len());
                    return out;
                }
            }
        }
        if i >= words.len() {
            // A bare wrapper (`env`, `xargs`, `sudo -l`) is itself the command.
            out.start = wrapper_at;
            return out;
        }
    }
    out.start = i.min(words.len());
    out
}

fn xargs_spec(args: &[Word]) -> Xargs {
    let mut x = Xargs::default();
    let mut i = 0;
    while let Some(a) = args.get(i).filter(|a| is_flag(a)) {
        let t = a.text.as_str();
        match t {
            "-I" | "-J" | "-R" => {
                x.replace = args.get(i + 1).map(|v| v.text.clone());
                x.lines = true;
                i += 1;
            }
            "-i" | "--replace" => {
                x.replace = Some("{}".into());
                x.lines = true;
            }
            "-0" | "--null" | "-d" | "--delimiter" => x.lines = true,
            _ if t.starts_with("--replace=") => {
                x.replace = Some(t["--replace=".len()..].to_owned());
                x.lines = true;
            }
            _ if t.starts_with("-I") && t.len() > 2 => {
                x.replace = Some(t[2..].to_owned());
                x.lines = true;
            }
            _ if t.starts_with("-i") && t.len() > 2 => {
                x.replace = Some(t[2..].to_owned());
                x.lines = true;
            }
            _ => {}
        }
        i += 1;
    }
    x
}

#[cfg(test)]
mod tests;
