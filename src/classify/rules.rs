//! Grading of parsed shell commands: intents and risk compatible with the upstream DashClaw
//! classifier (upstream-python-hooks.md §4.2–4.4), plus the built-in block/warn rules.
//!
//! Unlike upstream, every list segment, every pipeline stage and every substitution is graded,
//! and the worst one sets the intent and the risk. Quoted text is data: only words in command
//! position (after wrappers such as `sudo` or `xargs`) name a program.

use super::paths;
use super::shell::{self, Command, RedirKind, Redirect, Script, SimpleCommand, Word};
use super::ClassifyContext;
use crate::event::{Finding, Intent, Verdict};
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
}

pub(crate) fn classify_shell(command: &str, ctx: &ClassifyContext) -> ShellOutcome {
    let mut w = Walker {
        ctx,
        functions: Vec::new(),
        segs: Vec::new(),
        findings: Vec::new(),
        targets: Vec::new(),
    };
    if command.contains('\0') {
        w.unparseable("the command contains a NUL byte");
    } else {
        w.text(command, 0);
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
    "jq", "yq", "tac", "nl", "paste", "join", "rev", "strings", "bat", "fd", "sleep",
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
const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish"];
const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch", "http", "https", "xh"];
const SQL_CLIENTS: &[&str] = &["psql", "mysql", "mariadb", "sqlite3", "clickhouse-client"];

/// What a pipeline stage does with data, for the cross-stage rules.
#[derive(Debug, Default, Clone, Copy)]
struct Traits {
    downloads: bool,
    decodes: bool,
    /// Runs its stdin as a program (`sh`, `python -`, …).
    runs_stdin: bool,
}

impl std::ops::BitOrAssign for Traits {
    fn bitor_assign(&mut self, o: Traits) {
        self.downloads |= o.downloads;
        self.decodes |= o.decodes;
        self.runs_stdin |= o.runs_stdin;
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
}

#[derive(Debug)]
struct Segment {
    intent: Intent,
    score: i32,
    cleanup: bool,
}

struct Walker<'a> {
    ctx: &'a ClassifyContext<'a>,
    /// Functions defined so far; calling one runs its (already graded) body.
    functions: Vec<String>,
    segs: Vec<Segment>,
    findings: Vec<Finding>,
    targets: Vec<String>,
}

const MAX_TARGETS: usize = 16;
const MAX_FINDINGS: usize = 32;

fn command_name(text: &str) -> &str {
    let t = text.trim_start_matches('\\');
    t.rsplit('/').next().unwrap_or(t)
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

impl Walker<'_> {
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
        let reversible = self
            .segs
            .iter()
            .all(|s| !matches!(s.intent, Intent::Destructive | Intent::Spend));
        ShellOutcome {
            intent,
            risk,
            action_type,
            reversible,
            targets: self.targets,
            findings: self.findings,
        }
    }

    fn unparseable(&mut self, why: &str) {
        self.push(r::UNPARSEABLE.finding(format!(
            "Could not parse the shell command ({why}), so it cannot be checked."
        )));
        self.segs.push(Segment {
            intent: Intent::Unknown,
            score: 70,
            cleanup: false,
        });
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

    /// Grades one command from its intent, facts and the findings raised since `first`.
    fn segment(&mut self, intent: Intent, facts: Facts, first: usize) {
        let mut s = i32::from(intent.base_risk());
        if facts.bounded_rm {
            s = s.min(55);
        }
        if facts.sensitive {
            s += 15;
        }
        // Upstream: each warning +10, a block at least 85 (order-independent: warnings first).
        let own = &self.findings[first..];
        let warns = own.iter().filter(|f| f.verdict == Verdict::Warn).count();
        s += 10 * i32::try_from(warns).unwrap_or(i32::MAX / 20).min(10);
        let strictest = own.iter().map(|f| f.verdict).max();
        let blocked = strictest == Some(Verdict::Block);
        match strictest {
            Some(Verdict::Block) => s = s.max(85),
            Some(Verdict::RequireApproval) => s = s.max(70),
            _ => {}
        }
        if facts.inline_eval {
            s += 10;
        }
        if facts.regenerable_rm && !blocked {
            s = s.min(35);
        }
        // Hook-level adjustments (upstream §2.4 step 3, §4.4).
        if intent == Intent::Unknown {
            s = s.max(70);
        }
        if facts.write_redirect {
            s = s.max(35);
        }
        if facts.dotdot {
            s += 20;
        }
        if facts.system_redirect {
            s = s.max(75);
        }
        self.segs.push(Segment {
            intent,
            score: s.clamp(0, 100),
            cleanup: intent == Intent::Destructive && (facts.bounded_rm || facts.regenerable_rm),
        });
    }

    /// Parses and grades text that the shell will run (`bash -c`, `eval`, heredoc to `sh`).
    fn text(&mut self, src: &str, depth: usize) -> Traits {
        match shell::parse_at_depth(src, depth) {
            Ok(script) => self.script(&script, depth),
            Err(e) => {
                self.unparseable(&e.to_string());
                Traits::default()
            }
        }
    }

    fn script(&mut self, s: &Script, depth: usize) -> Traits {
        let mut all = Traits::default();
        for item in &s.items {
            let mut upstream = Traits::default();
            for (i, stage) in item.pipeline.stages.iter().enumerate() {
                let t = self.command(stage, depth);
                if i > 0 && t.runs_stdin {
                    self.pipe_into_interpreter(upstream);
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

    fn command(&mut self, c: &Command, depth: usize) -> Traits {
        if depth > shell::MAX_DEPTH {
            self.unparseable("nesting too deep");
            return Traits::default();
        }
        match c {
            Command::Simple(sc) => self.simple(sc, depth),
            Command::Group { body, redirects } => {
                let mut t = self.script(body, depth + 1);
                t.runs_stdin = false;
                let first = self.findings.len();
                let mut facts = Facts::default();
                self.redirects(redirects, &mut facts);
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
                self.command(body, depth + 1);
                Traits::default()
            }
        }
    }

    fn simple(&mut self, sc: &SimpleCommand, depth: usize) -> Traits {
        // Substitutions run before the command itself, wherever they sit.
        let words = sc.assigns.iter().chain(&sc.words);
        for w in words.chain(sc.redirects.iter().map(|r| &r.target)) {
            for sub in &w.subs {
                self.script(sub, depth + 1);
            }
        }
        let first = self.findings.len();
        let mut facts = Facts::default();
        self.redirects(&sc.redirects, &mut facts);
        let stdin = sc.redirects.iter().find(|r| {
            r.feeds_stdin() || (r.kind == RedirKind::Input && r.fd.is_none_or(|fd| fd == 0))
        });
        self.argv(&sc.words, false, facts, first, stdin, depth)
    }

    fn redirects(&mut self, rs: &[Redirect], facts: &mut Facts) {
        for r in rs.iter().filter(|r| r.writes_file()) {
            let t = r.target.text.as_str();
            if paths::is_discard(t) {
                continue;
            }
            facts.write_redirect = true;
            self.check_write_target(t, "A redirection");
            facts.system_redirect |= paths::is_system_path(t);
            facts.dotdot |= paths::has_dotdot(t);
            facts.sensitive |= paths::is_risk_sensitive(t);
            self.note_target(t);
        }
    }

    /// Blocks writes into raw devices and secret files.
    fn check_write_target(&mut self, t: &str, via: &str) {
        if paths::is_device(t) {
            self.push(r::DEVICE_WRITE.finding(format!(
                "{via} writes to the raw device `{}`, destroying its data.",
                clip(t, 80)
            )));
        } else if paths::is_secret_path(t) {
            self.push(r::SENSITIVE_WRITE.finding(format!(
                "{via} writes to `{}`, a secrets or credentials file.",
                clip(t, 80)
            )));
        }
    }

    /// Grades a command given as words, after stripping wrappers.
    fn argv(
        &mut self,
        words: &[Word],
        sudo: bool,
        mut facts: Facts,
        first: usize,
        stdin: Option<&Redirect>,
        depth: usize,
    ) -> Traits {
        let stripped = strip_wrappers(words);
        let sudo = sudo || stripped.sudo;
        let argv = &words[stripped.start..];
        let Some(cmd) = argv.first() else {
            self.segment(Intent::Readonly, facts, first);
            return Traits::default();
        };
        if stripped.lookup_only {
            self.segment(Intent::Readonly, facts, first);
            return Traits::default();
        }
        if cmd.dynamic {
            self.push(r::DYNAMIC_COMMAND.finding(format!(
                "The program to run, `{}`, is only known at run time.",
                clip(&cmd.text, 80)
            )));
            self.segment(Intent::Unknown, facts, first);
            return Traits {
                runs_stdin: true,
                ..Traits::default()
            };
        }
        let name = command_name(&cmd.text);
        let args = &argv[1..];
        let mut traits = Traits::default();

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
        for (i, a) in positionals(args).enumerate() {
            if (skip_sub && i == 0) || a.text.contains(char::is_whitespace) {
                continue;
            }
            facts.sensitive |= paths::is_risk_sensitive(&a.text);
            facts.dotdot |= paths::has_dotdot(&a.text);
            if !READONLY.contains(&name) {
                self.note_target(&a.text);
            }
        }

        let own = self.findings.len();
        let mut intent = if self.functions.iter().any(|f| f == name) {
            Intent::Readonly
        } else {
            base_intent(name, args, sudo)
        };
        match name {
            _ if SHELLS.contains(&name) => {
                match self.shell(args, stdin, depth) {
                    Some(i) => intent = i,
                    None => traits.runs_stdin = stdin.is_none(),
                }
                if let Some(i) = self.block_intent(own) {
                    intent = i;
                }
            }
            "eval" => {
                intent = self.eval(args, depth);
            }
            "source" | "." if args.iter().any(|a| word_downloads(a, depth)) => {
                self.push(
                    r::CURL_PIPE_SHELL
                        .finding("Sourcing a download runs unreviewed remote code in this shell."),
                );
                intent = Intent::Destructive;
            }
            "trap" => {
                if let Some(action) = positionals(args).next() {
                    self.text(&action.text, depth + 1);
                }
            }
            "find" => self.find(args, sudo, &mut intent, depth),
            "rm" | "rmdir" => self.rm(name, args, &mut facts),
            "dd" => {
                for a in args {
                    if let Some(of) = a.text.strip_prefix("of=") {
                        if paths::is_device(of) {
                            self.push(r::DD_DEVICE.finding(format!(
                                "`dd` would overwrite the device `{}`.",
                                clip(of, 80)
                            )));
                        } else {
                            self.check_write_target(of, "`dd`");
                        }
                    }
                }
            }
            "shred" | "truncate" | "wipe" => {
                for t in positionals(args) {
                    if paths::is_secret_path(&t.text) || paths::is_system_path(&t.text) {
                        self.push(r::DESTROY_SENSITIVE.finding(format!(
                            "`{name}` would destroy `{}`, a credentials or system file.",
                            clip(&t.text, 80)
                        )));
                    }
                }
            }
            "chmod" | "chown" | "chgrp" => {
                let recursive = args
                    .iter()
                    .any(|a| a.text == "--recursive" || short_has(a, &['R']));
                if recursive {
                    if let Some(t) = positionals(args)
                        .skip(1)
                        .find(|t| paths::is_root_or_system_dir(&t.text, self.ctx.home))
                    {
                        self.push(r::PERM_SYSTEM.finding(format!(
                            "Recursive `{name}` on `{}` changes permissions of system or home files.",
                            clip(&t.text, 80)
                        )));
                    }
                }
            }
            "cat" | "head" | "tail" | "less" | "more" | "bat" | "strings" | "xxd" | "od"
            | "base64" => {
                if let Some(t) = positionals(args).find(|t| paths::is_secret_path(&t.text)) {
                    self.push(r::SENSITIVE_READ.finding(format!(
                        "`{name}` prints `{}`, which holds secrets or credentials.",
                        clip(&t.text, 80)
                    )));
                }
                if matches!(name, "base64" | "xxd")
                    && args.iter().any(|a| is_decode_flag(name, &a.text))
                {
                    traits.decodes = true;
                }
            }
            "tee" => {
                for t in positionals(args) {
                    self.check_write_target(&t.text, "`tee`");
                }
            }
            "cp" | "mv" | "install" | "ln" => {
                if let Some(dest) = copy_destination(args) {
                    self.check_write_target(&dest, &format!("`{name}`"));
                }
            }
            "kubectl" if args.iter().any(|a| a.text == "delete") => {
                self.push(r::KUBECTL_DELETE.finding("`kubectl delete` removes cluster resources."));
            }
            "terraform" | "tofu" | "terragrunt"
                if args
                    .iter()
                    .any(|a| a.text == "destroy" || a.text == "-destroy") =>
            {
                self.push(
                    r::TERRAFORM_DESTROY
                        .finding("This destroys infrastructure managed by Terraform."),
                );
            }
            "docker" | "podman" if args.iter().any(|a| a.text == "prune") => {
                self.push(r::DOCKER_PRUNE.finding(format!(
                    "`{name} … prune` deletes containers, images or volumes in bulk."
                )));
            }
            _ if SQL_CLIENTS.contains(&name) => {
                let stdin_sql = stdin.filter(|r| r.feeds_stdin()).map(|r| &r.target);
                if args.iter().chain(stdin_sql).any(|a| drops_sql(&a.text)) {
                    self.push(r::SQL_DROP.finding(format!(
                        "The SQL passed to `{name}` drops a table or database."
                    )));
                }
            }
            _ if name.starts_with("mkfs") => {
                self.push(r::MKFS.finding(format!(
                    "`{name}` formats a filesystem, erasing everything on it."
                )));
            }
            "base32" | "openssl" | "uudecode" => {
                traits.decodes =
                    name == "uudecode" || args.iter().any(|a| is_decode_flag(name, &a.text));
            }
            _ if DOWNLOADERS.contains(&name) => traits.downloads = true,
            _ if INTERPRETER.contains(&name) || name.starts_with("python") => {
                let (inline, reads_stdin) = interpreter_mode(name, args);
                if let Some(code) = inline {
                    facts.inline_eval = true;
                    if has_escape_hatch(code) {
                        self.push(r::INLINE_CODE_ESCAPE.finding(format!(
                            "Inline `{name}` code runs shell commands or deletes files."
                        )));
                    }
                }
                traits.runs_stdin = reads_stdin && stdin.is_none();
            }
            "git" => self.git(args, &mut intent),
            _ => {}
        }
        if intent == Intent::Destructive
            && self.findings.len() == own
            && !matches!(name, "rm" | "rmdir")
        {
            self.push(r::DESTRUCTIVE.finding(format!(
                "`{}` destroys data that cannot be recovered.",
                clip(name, 40)
            )));
        }
        self.segment(intent, facts, first);
        traits
    }

    /// The intent a wrapper segment takes when it raised a block (obfuscated execution).
    fn block_intent(&self, since: usize) -> Option<Intent> {
        self.findings[since..]
            .iter()
            .any(|f| f.verdict == Verdict::Block)
            .then_some(Intent::Destructive)
    }

    /// `bash -c '…'`, `bash <<EOF`, `bash script.sh`. `None` means it reads its stdin.
    fn shell(&mut self, args: &[Word], stdin: Option<&Redirect>, depth: usize) -> Option<Intent> {
        let mut inline = false;
        let mut from_stdin = false;
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            if t == "--" {
                i += 1;
                break;
            }
            if !(t.starts_with('-') || t.starts_with('+')) || a.dynamic || t.len() < 2 {
                break;
            }
            if matches!(t, "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file") {
                i += 1;
            } else if t == "--command" || (!t.starts_with("--") && t[1..].contains('c')) {
                inline = true;
            } else if !t.starts_with("--") && t[1..].contains('s') {
                from_stdin = true;
            }
            i += 1;
        }
        let operand = args.get(i);
        if inline {
            let Some(code) = operand else {
                return Some(Intent::Unknown);
            };
            if word_downloads(code, depth) {
                self.push(r::CURL_PIPE_SHELL.finding(
                    "Running a downloaded script through `sh -c` executes unreviewed remote code.",
                ));
            }
            self.text(&code.text, depth + 1);
            return Some(Intent::Readonly);
        }
        if let Some(script) = operand.filter(|o| !from_stdin && o.text != "-") {
            if word_downloads(script, depth) {
                self.push(r::CURL_PIPE_SHELL.finding(
                    "Running a downloaded script through a shell executes unreviewed remote code.",
                ));
            }
            return Some(Intent::Unknown);
        }
        match stdin {
            Some(r) if r.feeds_stdin() => {
                self.text(&r.target.text, depth + 1);
                Some(Intent::Readonly)
            }
            Some(_) => Some(Intent::Unknown),
            None => None,
        }
    }

    fn eval(&mut self, args: &[Word], depth: usize) -> Intent {
        if args.is_empty() {
            return Intent::Readonly;
        }
        if args.iter().any(|a| word_downloads(a, depth)) {
            self.push(
                r::CURL_PIPE_SHELL.finding("`eval` of a download runs unreviewed remote code."),
            );
            return Intent::Destructive;
        }
        if let Some(a) = args.iter().find(|a| a.dynamic) {
            self.push(r::EVAL_DYNAMIC.finding(format!(
                "`eval` of the computed string `{}` hides the command that runs.",
                clip(&a.text, 80)
            )));
            return Intent::Destructive;
        }
        let joined = args
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        self.text(&joined, depth + 1);
        Intent::Readonly
    }

    fn find(&mut self, args: &[Word], sudo: bool, intent: &mut Intent, depth: usize) {
        // `-exec CMD … ;` / `+` ranges, graded as commands of their own.
        let mut execs: Vec<&[Word]> = Vec::new();
        let mut deletes = false;
        let mut i = 0;
        while let Some(a) = args.get(i) {
            i += 1;
            match a.text.as_str() {
                "-delete" => deletes = true,
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    let start = i;
                    while args.get(i).is_some_and(|w| w.text != ";" && w.text != "+") {
                        i += 1;
                    }
                    let inner = &args[start..i];
                    deletes |= inner.first().is_some_and(|w| {
                        matches!(command_name(&w.text), "rm" | "shred" | "unlink" | "rmdir")
                    });
                    execs.push(inner);
                    i += 1;
                }
                _ => {}
            }
        }
        if deletes {
            *intent = Intent::Destructive;
            let mut roots = args
                .iter()
                .take_while(|a| !a.text.starts_with('-') && a.text != "(" && a.text != "!");
            if let Some(root) = roots.find(|a| paths::is_root_or_system_dir(&a.text, self.ctx.home))
            {
                self.push(r::RM_ROOT.finding(format!(
                    "`find {} … -delete` would delete system or home files.",
                    clip(&root.text, 80)
                )));
            } else {
                self.push(r::FIND_DELETE.finding("`find` deletes every file it matches."));
            }
        }
        for inner in execs {
            let first = self.findings.len();
            self.argv(inner, sudo, Facts::default(), first, None, depth + 1);
        }
    }

    fn rm(&mut self, name: &str, args: &[Word], facts: &mut Facts) {
        let recursive = name == "rm"
            && args
                .iter()
                .take_while(|a| a.text != "--")
                .any(|a| a.text == "--recursive" || short_has(a, &['r', 'R']));
        let targets: Vec<&Word> = positionals(args).collect();
        let ctx = self.ctx;
        let root = targets.iter().find(|t| {
            let p = t.text.as_str();
            paths::is_root_or_system_dir(p, ctx.home)
                || paths::is_cwd_or_parent(p)
                || matches!(p, "$PWD" | "${PWD}" | "$PWD/" | "$(pwd)")
                || (p.starts_with('/') && paths::normalize(p) == paths::normalize(ctx.workspace))
        });
        if let (true, Some(t)) = (recursive, root) {
            self.push(r::RM_ROOT.finding(format!(
                "`rm -r {}` would delete the system, a home directory or the whole workspace.",
                clip(&t.text, 80)
            )));
            return;
        }
        let literal = targets.iter().all(|t| !t.dynamic && !has_glob(&t.text));
        facts.bounded_rm = !recursive && (1..=3).contains(&targets.len()) && literal;
        facts.regenerable_rm = !targets.is_empty()
            && targets
                .iter()
                .all(|t| !t.dynamic && paths::is_regenerable(&t.text));
        if facts.regenerable_rm || facts.bounded_rm {
            return;
        }
        let shown = targets.first().map_or("", |t| clip(&t.text, 80));
        if recursive {
            self.push(r::RM_RECURSIVE.finding(format!("Recursive delete of `{shown}`.")));
        } else {
            self.push(r::RM_UNBOUNDED.finding(format!(
                "`{name}` of `{shown}` uses globs, variables or many targets."
            )));
        }
    }

    fn git(&mut self, args: &[Word], intent: &mut Intent) {
        let Some(i) = git_subcommand(args) else {
            return;
        };
        let sub = &args[i];
        let rest = &args[i + 1..];
        match sub.text.as_str() {
            "reset" if rest.iter().any(|a| a.text == "--hard") => {
                *intent = Intent::Destructive;
                self.push(
                    r::GIT_RESET_HARD
                        .finding("`git reset --hard` discards uncommitted changes for good."),
                );
            }
            "clean"
                if rest
                    .iter()
                    .any(|a| a.text == "--force" || short_has(a, &['f'])) =>
            {
                *intent = Intent::Destructive;
                self.push(r::GIT_CLEAN.finding("`git clean -f` deletes untracked files for good."));
            }
            "push" => {
                let force = rest.iter().any(|a| {
                    a.text == "--force"
                        || short_has(a, &['f'])
                        || (!is_flag(a) && a.text.starts_with('+'))
                });
                let lease = rest
                    .iter()
                    .any(|a| a.text.starts_with("--force-with-lease"));
                if force {
                    *intent = Intent::Destructive;
                    self.push(
                        r::GIT_FORCE_PUSH
                            .finding("`git push --force` can overwrite commits others pushed."),
                    );
                } else if lease {
                    *intent = Intent::Destructive;
                    self.push(r::GIT_FORCE_WITH_LEASE.finding(
                        "`git push --force-with-lease` rewrites the remote branch history.",
                    ));
                }
            }
            _ => {}
        }
    }
}

/// Upstream intent table (§4.2 step 2), for the program `name`.
fn base_intent(name: &str, args: &[Word], sudo: bool) -> Intent {
    let promoted = |i| if sudo { Intent::SystemAdmin } else { i };
    if name.is_empty() {
        Intent::Unknown
    } else if name.starts_with("mkfs") {
        Intent::Destructive
    } else if name == "git" {
        git_intent(args)
    } else if PACKAGE.contains(&name) {
        promoted(Intent::PackageManagement)
    } else if INTERPRETER.contains(&name) || is_versioned_python(name) {
        promoted(Intent::Interpreter)
    } else if DESTRUCTIVE.contains(&name) {
        Intent::Destructive
    } else if SYSTEM_ADMIN.contains(&name) {
        Intent::SystemAdmin
    } else if PROCESS.contains(&name) {
        Intent::ProcessManagement
    } else if NETWORK.contains(&name) {
        Intent::Network
    } else if WRITE.contains(&name) {
        Intent::Write
    } else if READONLY.contains(&name)
        || SHELL_READONLY.contains(&name)
        || READONLY_EXTRA.contains(&name)
    {
        Intent::Readonly
    } else if sudo {
        Intent::SystemAdmin
    } else {
        Intent::Unknown
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
        _ => Intent::Write, // the git rules above raise reset/clean/push to destructive
    }
}

/// `(inline code, reads program from stdin)` for an interpreter invocation.
fn interpreter_mode<'w>(name: &str, args: &'w [Word]) -> (Option<&'w str>, bool) {
    let inline_flags: &[&str] = match name {
        "node" | "nodejs" | "bun" | "tsx" | "ts-node" => &["-e", "--eval", "-p", "--print"],
        "deno" => &["--eval", "eval"],
        "ruby" => &["-e"],
        "perl" => &["-e", "-E"],
        "php" => &["-r"],
        "npx" => return (None, false),
        _ => &["-c"],
    };
    for (i, a) in args.iter().enumerate() {
        let t = a.text.as_str();
        if inline_flags.contains(&t) {
            return (Some(args.get(i + 1).map_or("", |c| c.text.as_str())), false);
        }
        if t == "-" {
            return (None, true);
        }
        if t == "-m" || !t.starts_with('-') || a.dynamic {
            return (None, false);
        }
    }
    (None, true)
}

fn is_decode_flag(name: &str, flag: &str) -> bool {
    match name {
        "xxd" => flag == "-r" || flag == "-revert",
        "openssl" => flag == "-d",
        _ => matches!(flag, "-d" | "-D" | "--decode"),
    }
}

fn has_escape_hatch(code: &str) -> bool {
    [
        "child_process",
        "subprocess",
        "os.system",
        "execSync",
        "spawnSync",
        "fs.rm",
        "fs.unlink",
        "rmtree",
        "rm -rf",
        "rm -r ",
        "shutil",
    ]
    .iter()
    .any(|k| code.contains(k))
}

/// `DROP TABLE` / `DROP DATABASE` / `DROP SCHEMA`, case-insensitively, as words.
fn drops_sql(text: &str) -> bool {
    let mut prev_drop = false;
    for tok in text.split(|c: char| c.is_whitespace() || c == ';' || c == '(') {
        if tok.is_empty() {
            continue;
        }
        if prev_drop
            && ["table", "database", "schema"]
                .iter()
                .any(|k| tok.eq_ignore_ascii_case(k))
        {
            return true;
        }
        prev_drop = tok.eq_ignore_ascii_case("drop");
    }
    false
}

/// The destination of `cp`/`mv`/`install`/`ln`: `-t DIR`, `--target-directory=DIR`, or the last
/// positional when there are at least two.
fn copy_destination(args: &[Word]) -> Option<String> {
    for (i, a) in args.iter().enumerate() {
        if a.text == "-t" || a.text == "--target-directory" {
            return args.get(i + 1).map(|w| w.text.clone());
        }
        if let Some(d) = a.text.strip_prefix("--target-directory=") {
            return Some(d.to_owned());
        }
    }
    let pos: Vec<&Word> = positionals(args).collect();
    (pos.len() >= 2).then(|| pos[pos.len() - 1].text.clone())
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
        let words = &sc.words[strip_wrappers(&sc.words).start..];
        if let Some(w) = words.first() {
            found |= !w.dynamic && DOWNLOADERS.contains(&command_name(&w.text));
        }
    });
    found
}

/// Counts calls of `name` inside a function body, and whether any is piped or backgrounded.
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

struct Stripped {
    start: usize,
    sudo: bool,
    /// `command -v x`: a lookup, not a run.
    lookup_only: bool,
}

/// Skips `sudo`, `env`, `nohup`, `nice`, `timeout`, `xargs`, … and their options.
fn strip_wrappers(words: &[Word]) -> Stripped {
    let mut out = Stripped {
        start: 0,
        sudo: false,
        lookup_only: false,
    };
    let mut i = 0;
    while let Some(w) = words.get(i) {
        if w.dynamic {
            break;
        }
        let name = command_name(&w.text);
        let valued: &[&str] = match name {
            "sudo" | "doas" => {
                out.sudo = true;
                &["-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T"]
            }
            "env" => &["-u", "-C", "--unset", "--chdir"],
            "nice" => &["-n", "--adjustment"],
            "ionice" => &["-c", "-n", "-p", "-P", "-u"],
            "timeout" => &["-s", "-k", "--signal", "--kill-after"],
            "time" => &["-f", "-o", "--format", "--output"],
            "exec" => &["-a"],
            "stdbuf" => &["-i", "-o", "-e"],
            "strace" | "ltrace" => &["-e", "-o", "-p", "-s", "-u", "-E", "-I", "-b", "-a", "-P"],
            "xargs" => &[
                "-n",
                "-I",
                "-P",
                "-d",
                "-L",
                "-s",
                "-E",
                "-a",
                "--max-args",
                "--delimiter",
                "--max-procs",
                "--arg-file",
                "--max-lines",
                "--max-chars",
                "--replace",
            ],
            "nohup" | "command" | "builtin" | "busybox" | "unbuffer" => &[],
            _ => break,
        };
        let wrapper_at = i;
        i += 1;
        while let Some(a) = words.get(i) {
            let t = a.text.as_str();
            if t == "--" {
                i += 1;
                break;
            }
            if name == "env" && !a.dynamic && !t.starts_with('-') && a.is_assignment() {
                i += 1;
                continue;
            }
            if !is_flag(a) {
                break;
            }
            if name == "command" && (t == "-v" || t == "-V") {
                out.lookup_only = true;
            }
            i += 1;
            if valued.contains(&t) {
                i += 1;
            }
        }
        if name == "timeout" {
            i += 1; // the duration
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

#[cfg(test)]
mod tests;
