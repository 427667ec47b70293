//! Git, read as git reads it: global options, the subcommand, and the few settings that make
//! git run a program. Returns what the walker should raise; the walker grades any program a
//! setting would run as shell text.

use crate::catalog::rules as r;
use crate::catalog::Rule;

/// What a git command does that matters.
#[derive(Debug, Default)]
pub(crate) struct GitFacts {
    pub findings: Vec<(Rule, String)>,
    /// Destroys work or history (the intent becomes destructive).
    pub destructive: bool,
    /// Settings that run a program: (key, value) for the walker to grade.
    pub exec_settings: Vec<(String, String)>,
    /// The remote or URL a push goes to, and whether the push sends anything.
    pub push_to: Option<String>,
    /// `git remote add NAME URL` in this command.
    pub remote_added: Option<(String, String)>,
    /// Changes refs without destroying work (`branch -d`, `branch -m`).
    pub writes: bool,
    /// Shell commands git runs from its arguments (`submodule foreach`, `rebase --exec`,
    /// `bisect run`).
    pub shell: Vec<String>,
}

/// Global options that take a value.
const VALUED_GLOBAL: &[&str] = &[
    "-C",
    "-c",
    "--git-dir",
    "--work-tree",
    "--namespace",
    "--exec-path",
    "--config-env",
    "--super-prefix",
    "--list-cmds",
];

/// Settings whose value is a program git runs (lower-cased keys; `*` matches one segment).
const EXEC_KEYS: &[&str] = &[
    "core.fsmonitor",
    "core.hookspath",
    "core.pager",
    "core.sshcommand",
    "core.editor",
    "core.askpass",
    "core.gitproxy",
    "diff.external",
    "diff.*.textconv",
    "diff.*.command",
    "filter.*.clean",
    "filter.*.smudge",
    "filter.*.process",
    "merge.*.driver",
    "credential.helper",
    "alias.*",
    "sequence.editor",
    "gpg.program",
    "gpg.ssh.program",
    "gpg.x509.program",
    "pager.*",
    "uploadpack.packobjectshook",
    "remote.*.receivepack",
    "remote.*.uploadpack",
    "include.path",
    "includeif.*.path",
    "protocol.ext.allow",
    "core.worktree",
    "http.proxy",
    "url.*.insteadof",
    "difftool.*.cmd",
    "mergetool.*.cmd",
    "web.browser",
    "browser.*.cmd",
    "sendemail.smtpserver",
    "ssh.variant",
    "core.sshcommand",
];

fn key_matches(pattern: &str, key: &str) -> bool {
    let (p, k): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), key.split('.').collect());
    if p.len() == 2 && k.len() >= 2 && p[1] == "*" {
        return p[0] == k[0];
    }
    if p.len() == 3 && k.len() >= 3 && p[1] == "*" {
        return p[0] == k[0] && p[2] == k[k.len() - 1];
    }
    p == k
}

pub(crate) fn is_exec_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    EXEC_KEYS.iter().any(|p| key_matches(p, &k))
}

/// Where the subcommand sits in `git args…`, past the global options (`-C dir`, `-c k=v`,
/// `--git-dir=…`).
pub(crate) fn subcommand_at(args: &[&str]) -> usize {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !a.starts_with('-') {
            break;
        }
        i += if VALUED_GLOBAL.contains(a) { 2 } else { 1 };
    }
    i
}

/// Reads `git args…` (arguments after `git`).
pub(crate) fn read(args: &[&str]) -> GitFacts {
    let mut f = GitFacts::default();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !a.starts_with('-') {
            break;
        }
        if *a == "-c" {
            if let Some((k, v)) = args.get(i + 1).and_then(|kv| kv.split_once('=')) {
                if is_exec_key(k) {
                    f.exec_settings.push((k.to_owned(), v.to_owned()));
                }
            }
        } else if let Some(kv) = a.strip_prefix("--config-env=") {
            if let Some((k, _)) = kv.split_once('=') {
                if is_exec_key(k) {
                    f.exec_settings.push((k.to_owned(), "$ENV".to_owned()));
                }
            }
        }
        i += if VALUED_GLOBAL.contains(a) { 2 } else { 1 };
    }
    let Some(sub) = args.get(i) else {
        return f;
    };
    let rest = &args[i + 1..];
    let short = |c: char| {
        rest.iter()
            .any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].contains(c))
    };
    let long = |l: &str| {
        rest.iter()
            .any(|a| *a == l || a.starts_with(&format!("{l}=")))
    };
    let pos: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let after_dd: Option<usize> = rest.iter().position(|a| *a == "--");
    let hit = |rule: Rule, why: String, destructive: bool, f: &mut GitFacts| {
        f.destructive |= destructive;
        f.findings.push((rule, why));
    };
    // Commands git runs itself, and settings given to a subcommand (`clone -c k=v`).
    match *sub {
        "submodule" if pos.first() == Some(&"foreach") => {
            let at = rest.iter().position(|a| *a == "foreach").unwrap_or(0) + 1;
            let cmd: Vec<&str> = rest[at..]
                .iter()
                .copied()
                .skip_while(|a| a.starts_with("--"))
                .collect();
            if !cmd.is_empty() {
                f.shell.push(cmd.join(" "));
            }
        }
        // `git grep -O'cmd'`, `git difftool -x 'cmd'`: a command line git runs per file.
        "grep" | "difftool" => {
            let (short_flag, long_flag) = if *sub == "grep" {
                ("-O", "--open-files-in-pager")
            } else {
                ("-x", "--extcmd")
            };
            for (j, a) in rest.iter().enumerate() {
                let c = if *a == short_flag || *a == long_flag {
                    rest.get(j + 1).copied()
                } else {
                    a.strip_prefix(&format!("{long_flag}="))
                        .or_else(|| a.strip_prefix(short_flag).filter(|v| !v.is_empty()))
                };
                if let Some(c) = c {
                    f.shell.push(c.to_owned());
                }
            }
        }
        "rebase" => {
            for (j, a) in rest.iter().enumerate() {
                if matches!(*a, "-x" | "--exec") {
                    if let Some(c) = rest.get(j + 1) {
                        f.shell.push((*c).to_owned());
                    }
                } else if let Some(c) = a.strip_prefix("--exec=") {
                    f.shell.push(c.to_owned());
                }
            }
        }
        "bisect" if pos.first() == Some(&"run") => {
            // An argv, not a string: quote each word back.
            let at = rest.iter().position(|a| *a == "run").unwrap_or(0) + 1;
            if at < rest.len() {
                let words: Vec<String> =
                    rest[at..].iter().map(|w| super::shell::quote(w)).collect();
                f.shell.push(words.join(" "));
            }
        }
        "clone" | "submodule" | "fetch" | "pull" => {
            for (j, a) in rest.iter().enumerate() {
                let kv = match *a {
                    "-c" | "--config" => rest.get(j + 1).copied(),
                    _ => a.strip_prefix("--config="),
                };
                if let Some((k, v)) = kv.and_then(|kv| kv.split_once('=')) {
                    if is_exec_key(k) {
                        f.exec_settings.push((k.to_owned(), v.to_owned()));
                    }
                }
            }
        }
        _ => {}
    }
    match *sub {
        "checkout" | "co" => {
            let creates = long("-b")
                || rest.iter().any(|a| {
                    matches!(*a, "-b" | "-B" | "--orphan" | "-t" | "--track" | "--detach")
                });
            let paths_after = after_dd.is_some_and(|d| d + 1 < rest.len());
            let pathish = pos.iter().any(|p| {
                *p == "."
                    || p.ends_with('/')
                    || p.contains('*')
                    || p.starts_with("./")
                    || p.starts_with(':')
            });
            if long("--force") || short('f') && !creates || paths_after || (pathish && !creates) {
                hit(
                    r::GIT_DISCARD,
                    format!("`git {sub}` overwrites uncommitted changes in the worktree."),
                    true,
                    &mut f,
                );
            }
        }
        "restore" => {
            let staged_only =
                (long("--staged") || short('S')) && !(long("--worktree") || short('W'));
            if !staged_only && !pos.is_empty() {
                hit(
                    r::GIT_DISCARD,
                    "`git restore` throws away uncommitted changes in the worktree.".into(),
                    true,
                    &mut f,
                );
            }
        }
        "switch" | "sw" if long("--discard-changes") || long("--force") || rest.contains(&"-f") => {
            hit(
                r::GIT_DISCARD,
                "`git switch -f` throws away uncommitted changes.".into(),
                true,
                &mut f,
            );
        }
        "reset" if long("--hard") || long("--merge") => {
            hit(
                r::GIT_RESET_HARD,
                "`git reset --hard` discards uncommitted changes for good.".into(),
                true,
                &mut f,
            );
        }
        "clean"
            if (long("--force") || short('f'))
                && !(long("--dry-run") || short('n') || long("--interactive") || short('i')) =>
        {
            let ignored = if short('x') || short('X') {
                " (ignored files too)"
            } else {
                ""
            };
            hit(
                r::GIT_CLEAN,
                format!("`git clean -f` deletes untracked files{ignored} for good."),
                true,
                &mut f,
            );
        }
        "stash" if pos.first().is_some_and(|p| matches!(*p, "drop" | "clear")) => {
            hit(
                r::GIT_STASH_DESTROY,
                format!("`git stash {}` deletes stashed work.", pos[0]),
                true,
                &mut f,
            );
        }
        "worktree" if pos.first() == Some(&"remove") && (long("--force") || short('f')) => {
            hit(
                r::GIT_DISCARD,
                "`git worktree remove --force` deletes a worktree with its uncommitted changes."
                    .into(),
                true,
                &mut f,
            );
        }
        "branch" => {
            let force_delete = rest.iter().any(|a| {
                a.starts_with('-') && !a.starts_with("--") && (a.contains('D') || a.contains('M'))
            }) || ((long("--delete") || short('d'))
                && (long("--force") || short('f')))
                || ((long("--force") || rest.contains(&"-f")) && pos.len() >= 2);
            if force_delete {
                hit(
                    r::GIT_BRANCH_FORCE_DELETE,
                    "`git branch -D`/`-f` drops commits that may not be merged anywhere.".into(),
                    true,
                    &mut f,
                );
            } else if long("--delete") || short('d') || long("--move") || short('m') || short('c') {
                f.writes = true;
            }
        }
        "push" => {
            let force = rest.iter().any(|a| {
                *a == "--force"
                    || *a == "--mirror"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('f'))
            }) || pos.iter().skip(1).any(|p| p.starts_with('+'));
            let lease = rest.iter().any(|a| {
                a.starts_with("--force-with-lease") || a.starts_with("--force-if-includes")
            });
            let delete = long("--delete")
                || rest.contains(&"-d")
                || pos
                    .iter()
                    .skip(1)
                    .any(|p| p.starts_with(':') && p.len() > 1);
            let dry_run = long("--dry-run") || rest.contains(&"-n");
            let explicit_force = rest.iter().any(|a| {
                *a == "--force"
                    || *a == "--mirror"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('f'))
            });
            let delete = delete || long("--prune");
            if dry_run {
                // `git push -n`: nothing is sent.
            } else if force && (!lease || explicit_force) {
                hit(
                    r::GIT_FORCE_PUSH,
                    "`git push --force`/`--mirror` can overwrite commits others pushed.".into(),
                    true,
                    &mut f,
                );
            } else if delete {
                hit(
                    r::GIT_PUSH_DELETE,
                    "`git push --delete` removes a remote branch or tag.".into(),
                    true,
                    &mut f,
                );
            } else if lease {
                hit(
                    r::GIT_FORCE_WITH_LEASE,
                    "`git push --force-with-lease` rewrites the remote branch history.".into(),
                    true,
                    &mut f,
                );
            }
            f.push_to = pos.first().map(|p| (*p).to_owned());
        }
        // `--cached` only untracks; the worktree keeps the files.
        "rm" if long("--cached") => {}
        "rm" if (rest.iter().any(|a| *a == "." || *a == "*" || *a == ":/"))
            && (short('r') || long("--recursive")) =>
        {
            hit(
                r::GIT_DISCARD,
                "`git rm -r .` deletes every tracked file from the worktree.".into(),
                true,
                &mut f,
            );
        }
        // `git rm -f`: also files with uncommitted changes, which git would otherwise refuse.
        "rm" if (short('f') || long("--force")) && !short('n') && !long("--dry-run") => {
            hit(
                r::GIT_DISCARD,
                "`git rm -f` deletes files even with uncommitted changes in them.".into(),
                true,
                &mut f,
            );
        }
        "replace"
            if !rest
                .iter()
                .any(|a| matches!(*a, "-l" | "--list" | "-d" | "--delete")) =>
        {
            hit(
                r::GIT_HISTORY_REWRITE,
                "`git replace` makes git show another object in place of a commit.".into(),
                true,
                &mut f,
            );
        }
        "submodule" if pos.first() == Some(&"deinit") && (long("--force") || short('f')) => {
            hit(
                r::GIT_DISCARD,
                "`git submodule deinit -f` discards the submodules' worktrees.".into(),
                true,
                &mut f,
            );
        }
        "read-tree" if long("--reset") || (short('u') && rest.contains(&"--reset")) => {
            hit(
                r::GIT_DISCARD,
                "`git read-tree -u --reset` overwrites the worktree.".into(),
                true,
                &mut f,
            );
        }
        "checkout-index" if (long("--force") || short('f')) && (long("--all") || short('a')) => {
            hit(
                r::GIT_DISCARD,
                "`git checkout-index -a -f` overwrites every file in the worktree.".into(),
                true,
                &mut f,
            );
        }
        // `git fast-export --all | … | git fast-import --force`: history rewritten in a pipe.
        "fast-import" if rest.contains(&"--force") => {
            hit(
                r::GIT_HISTORY_REWRITE,
                "`git fast-import --force` overwrites branches with rewritten history.".to_owned(),
                true,
                &mut f,
            );
        }
        "filter-branch" | "filter-repo" => {
            hit(
                r::GIT_HISTORY_REWRITE,
                format!("`git {sub}` rewrites the whole repository history."),
                true,
                &mut f,
            );
        }
        "reflog"
            if pos
                .first()
                .is_some_and(|p| matches!(*p, "expire" | "delete")) =>
        {
            hit(
                r::GIT_HISTORY_REWRITE,
                "`git reflog expire/delete` drops the record that lets lost commits be recovered."
                    .into(),
                true,
                &mut f,
            );
        }
        "gc" if rest
            .iter()
            .any(|a| a.starts_with("--prune=now") || a.starts_with("--prune=all")) =>
        {
            hit(
                r::GIT_HISTORY_REWRITE,
                "`git gc --prune=now` deletes unreachable commits at once.".into(),
                true,
                &mut f,
            );
        }
        "prune" if !short('n') && !long("--dry-run") => {
            hit(
                r::GIT_HISTORY_REWRITE,
                "`git prune` deletes unreachable objects.".into(),
                true,
                &mut f,
            );
        }
        "update-ref" if short('d') || long("--stdin") => {
            hit(
                r::GIT_HISTORY_REWRITE,
                "`git update-ref -d` deletes a ref without any safety check.".into(),
                true,
                &mut f,
            );
        }
        "config" => {
            // `git config [--global] key value`, `git config set key value`, `--add`, `--replace-all`.
            let reading = rest.iter().any(|a| {
                matches!(
                    *a,
                    "--get"
                        | "--get-all"
                        | "--get-regexp"
                        | "-l"
                        | "--list"
                        | "--unset"
                        | "--unset-all"
                        | "--show-origin"
                        | "--remove-section"
                )
            }) || pos
                .first()
                .is_some_and(|p| matches!(*p, "get" | "list" | "unset"));
            let p: Vec<&str> = if pos.first() == Some(&"set") {
                pos[1..].to_vec()
            } else {
                pos.clone()
            };
            if !reading && p.len() >= 2 && is_exec_key(p[0]) {
                f.exec_settings.push((p[0].to_owned(), p[1..].join(" ")));
            }
        }
        "remote" if pos.first() == Some(&"add") && pos.len() >= 3 => {
            f.remote_added = Some((pos[1].to_owned(), pos[2].to_owned()));
        }
        _ => {}
    }
    f
}

/// Programs a benign setting names (`core.pager less`, `core.editor 'code --wait'`).
pub(crate) fn benign_setting(key: &str, value: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let v = value.trim();
    let first = v.split_whitespace().next().unwrap_or("");
    let prog = first.rsplit('/').next().unwrap_or(first);
    match k.as_str() {
        "core.fsmonitor" => matches!(v, "true" | "false" | ""),
        "core.hookspath" => {
            !v.starts_with('/') && !v.starts_with('~') && !v.contains("..") && !v.contains('$')
        }
        "http.proxy" | "url.*.insteadof" => false,
        "protocol.ext.allow" => v != "always",
        "credential.helper" => {
            !v.starts_with('!')
                && !v.contains('/')
                && matches!(
                    prog,
                    "store"
                        | "cache"
                        | "osxkeychain"
                        | "manager"
                        | "manager-core"
                        | "libsecret"
                        | "wincred"
                        | ""
                        | "gh"
                )
        }
        _ if k.starts_with("alias.") => !v.starts_with('!'),
        _ => {
            matches!(
                prog,
                "less"
                    | "more"
                    | "most"
                    | "cat"
                    | "bat"
                    | "delta"
                    | "diff-so-fancy"
                    | "vim"
                    | "vi"
                    | "nvim"
                    | "nano"
                    | "emacs"
                    | "emacsclient"
                    | "code"
                    | "subl"
                    | "mate"
                    | "micro"
                    | "hx"
                    | "ssh"
                    | "gpg"
                    | "gpg2"
                    | "ssh-keygen"
                    | "meld"
                    | "vimdiff"
                    | "kdiff3"
                    | "opendiff"
                    | "git-lfs"
                    // `core.editor=true`: accept the prepared message without an editor.
                    | "true"
                    | "false"
                    | ":"
            ) && !v.contains([';', '|', '&', '`', '$', '>'])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(cmd: &str) -> Vec<&'static str> {
        let a: Vec<&str> = cmd.split_whitespace().collect();
        read(&a).findings.iter().map(|(r, _)| r.id).collect()
    }

    #[test]
    fn discards_and_look_alikes() {
        assert_eq!(rules("checkout -- ."), vec!["git-discard"]);
        assert_eq!(rules("checkout HEAD -- src/a.rs"), vec!["git-discard"]);
        assert!(rules("checkout main").is_empty());
        assert!(rules("checkout -b x").is_empty());
        assert!(rules("restore --staged a").is_empty());
        assert_eq!(rules("restore a.rs"), vec!["git-discard"]);
        assert_eq!(rules("branch -Dv x"), vec!["git-branch-force-delete"]);
        assert!(rules("branch -d x").is_empty());
        assert!(rules("push origin main").is_empty());
        assert_eq!(rules("push origin +main"), vec!["git-force-push"]);
        assert!(rules("clean -n").is_empty());
    }

    #[test]
    fn exec_settings() {
        let f = read(&["-c", "core.fsmonitor=rm -rf ~", "status"]);
        assert_eq!(f.exec_settings.len(), 1);
        assert!(read(&["-c", "user.name=x", "commit"])
            .exec_settings
            .is_empty());
        assert!(benign_setting("core.pager", "less -R"));
        assert!(!benign_setting("core.pager", "sh -c id"));
        assert!(benign_setting("alias.lg", "log --oneline"));
        assert!(!benign_setting("alias.x", "!rm -rf ~"));
        assert!(benign_setting("core.hooksPath", ".githooks"));
        assert!(!benign_setting("core.hooksPath", "/tmp/h"));
    }
}
