//! Handlers for programs that delete, overwrite, move, read or re-permission files and
//! devices: each grades its targets with the path rules (`guard_*`, `check_write_target`).

use super::dispatch::Call;
use super::*;

impl Walker<'_> {
    pub(super) fn h_find(&mut self, c: &mut Call<'_>) {
        self.find(c.args, c.sudo, &mut c.intent, c.depth);
    }

    pub(super) fn h_rm(&mut self, c: &mut Call<'_>) {
        if c.name == "rmdir"
            && c.args
                .iter()
                .any(|a| a.text.starts_with('/') && a.text.len() == 2)
        {
            return self.h_cmd_delete(c);
        }
        self.rm(c.name, c.args, &mut c.facts);
    }

    /// cmd.exe's `del`/`erase` (files) and `rd`/`rmdir` (`/s`: the tree), graded as the `rm`
    /// they amount to.
    pub(super) fn h_cmd_delete(&mut self, c: &mut Call<'_>) {
        let switch = |a: &Word| a.text.starts_with('/') && a.text.len() == 2;
        let tree = c
            .args
            .iter()
            .any(|a| switch(a) && a.text.eq_ignore_ascii_case("/s"));
        let targets: Vec<String> = c
            .args
            .iter()
            .filter(|a| !switch(a))
            .map(|a| quote(&a.text.replace('\\', "/")))
            .collect();
        if targets.is_empty() {
            return;
        }
        let flags = if tree { "-rf" } else { "-f" };
        let text = format!("rm {flags} -- {}", targets.join(" "));
        self.reparse(&text, c.depth, c.name);
    }

    pub(super) fn h_dd(&mut self, c: &mut Call<'_>) {
        for a in c.args {
            if let Some(of) = a.text.strip_prefix("of=") {
                if paths::is_device(of) {
                    self.push(r::DD_DEVICE.finding(format!(
                        "`dd` would overwrite the device `{}`.",
                        clip(of, 80)
                    )));
                } else {
                    self.check_write_target(of, "`dd`");
                    self.guard_target(of, a.dynamic, false, "`dd` to", false);
                }
            }
        }
    }

    /// Partitioning and wiping tools on a disk device (listing and dry runs excepted).
    pub(super) fn h_disk(&mut self, c: &mut Call<'_>) {
        let args = c.args;
        let listing = args.iter().any(|a| {
            matches!(
                a.text.as_str(),
                "-l" | "--list" | "-n" | "--no-act" | "-p" | "--print" | "list" | "print" | "-I"
            )
        });
        let Some(dev) = positionals(args).find(|t| paths::is_device(&t.text)) else {
            return;
        };
        if listing {
            return;
        }
        self.push(r::DEVICE_WRITE.finding(format!(
            "`{}` rewrites the disk device `{}`, destroying its data.",
            c.name,
            clip(&dev.text, 80)
        )));
        c.intent = Intent::Destructive;
    }

    pub(super) fn h_shred(&mut self, c: &mut Call<'_>) {
        let name = c.name;
        let ts: Vec<&Word> = positionals(c.args).collect();
        for t in &ts {
            if !t.dynamic && self.history_write(&t.text, Via(name, " destroys")) {
                continue;
            }
            // (`find / -exec truncate -s 0 {} +`: `{}` stands for the files under `/`.)
            let glob_dir = t
                .text
                .rsplit_once('/')
                .filter(|(_, base)| base.contains(['*', '?']))
                .map(|(d, _)| if d.is_empty() { "/" } else { d });
            // A key file of the project's own (`shred -u tmp/test-key.pem`) is its to destroy.
            let project_file = !t.dynamic && self.path_facts(&t.text).inside;
            if paths::is_secret_path(&t.text) && !project_file
                || paths::is_system_path(&t.text)
                || paths::is_root_or_system_dir(&t.text, self.ctx.home)
                || glob_dir.is_some_and(|d| {
                    paths::is_root_or_system_dir(d, self.ctx.home) || paths::is_system_path(d)
                })
            {
                self.push(r::DESTROY_SENSITIVE.finding(format!(
                    "`{name}` would destroy `{}`, a credentials or system file.",
                    clip(&t.text, 80)
                )));
            }
        }
        self.guard_words(&ts, false, Via(name, " of"), false);
    }

    /// `chmod`, `chown`, `chgrp`, `chattr`, `setfacl`.
    pub(super) fn h_perm(&mut self, c: &mut Call<'_>) {
        let (name, args) = (c.name, c.args);
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
        if name == "chmod" {
            if let Some(m) = positionals(args).next().filter(|m| sets_setuid(&m.text)) {
                let target = positionals(args).nth(1).map_or("", |t| t.text.as_str());
                self.push(r::SETUID_BIT.finding(format!(
                    "`chmod {}` makes `{}` run as its owner for whoever starts it.",
                    clip(&m.text, 20),
                    clip(target, 60)
                )));
            }
        }
        // Any permission change on `/`, a system file or a credential. Taking ownership for
        // yourself (`chown $USER`) and setting up an application's own directory under
        // `/opt` or `/usr/local` one path at a time are routine setup, not a risk.
        let skip = usize::from(name != "chattr" && name != "setfacl");
        // `$USER` folds to the home directory's last segment.
        let me = self
            .ctx
            .home
            .and_then(|h| h.trim_end_matches('/').rsplit('/').next())
            .filter(|n| !n.is_empty());
        let to_self = name == "chown"
            && positionals(args).next().is_some_and(|o| {
                let owner = o.text.split(':').next().unwrap_or("");
                Some(owner) == me
                    || matches!(
                        owner,
                        "$USER"
                            | "${USER}"
                            | "$(whoami)"
                            | "$(id -u)"
                            | "$(id -un)"
                            | "$LOGNAME"
                            | "$UID"
                    )
            });
        let app_dir = |r: &str| {
            ["/opt/", "/usr/local/"]
                .iter()
                .any(|d| r.strip_prefix(d).is_some_and(|rest| !rest.is_empty()))
        };
        if let Some(t) = positionals(args).skip(skip).find(|t| {
            let r = paths::resolve(&t.text, &self.cwd, self.ctx.home);
            if app_dir(&r) && (!recursive || to_self) {
                return false;
            }
            if to_self
                && self
                    .ctx
                    .home
                    .is_some_and(|h| paths::is_inside(&r, h) && r != paths::normalize(h))
            {
                return false;
            }
            r == "/"
                || paths::is_system_path(&r)
                // Taking permissions away from a key (`chmod 600 ~/.ssh/id_ed25519`) is what
                // ssh asks for; widening them is the risk.
                || (crate::classify::exfil::secret_path(&r, self.ctx.home)
                    && !(name == "chmod" && tightening_only(args)))
                || (recursive
                    && paths::is_inside(&r, self.ctx.home.unwrap_or("/nonexistent"))
                    && r.matches('/').count() <= 3
                    && !paths::is_inside(&r, self.ctx.workspace))
        }) {
            self.push(r::PERM_SYSTEM.finding(format!(
                "`{name}` on `{}` changes the permissions of a system or credentials file.",
                clip(&t.text, 80)
            )));
        }
        // Modes (`755`, `u+x`, `-x`) never look like guard paths, so all positionals do.
        let ts: Vec<&Word> = positionals(args).collect();
        self.guard_words(&ts, false, Via(name, " of"), false);
    }

    /// A directory below the workspace root (not the root, not `.git`, not a guard path):
    /// mirroring build output into it (`rsync -a --delete dist/ public/`) is a deploy step
    /// inside the project.
    fn workspace_subtree(&self, t: &str) -> bool {
        let ws = paths::normalize(self.ctx.workspace);
        let r = self.path_facts(t).resolved.clone();
        let r = r.trim_end_matches('/');
        !self.cwd_unknown
            && paths::is_inside(r, &ws)
            && r != ws
            && !r.split('/').any(|seg| seg == ".git")
            && protect::check(r, &self.cwd, self.ctx, false).is_none()
    }

    /// `awk -i inplace` edits its files; any other `awk` reads them.
    pub(super) fn h_awk(&mut self, c: &mut Call<'_>) {
        let inplace = c
            .args
            .iter()
            .any(|a| a.text == "inplace" || a.text == "-iinplace" || a.text.contains("inplace"));
        if !inplace {
            self.awk_program(c.args);
            return self.h_reader(c);
        }
        let files: Vec<&Word> = positionals(c.args)
            .skip(1)
            .filter(|w| w.text != "inplace")
            .collect();
        for f in &files {
            self.check_write_target(&f.text, "`awk -i inplace`");
            self.startup_write(&f.text, None, "`awk -i inplace` edits");
        }
        self.guard_words(&files, false, "`awk -i inplace` on", true);
        c.intent = Intent::Write;
    }

    /// What an awk program reads itself: files through `getline < "file"`, and the
    /// environment through `ENVIRON`.
    fn awk_program(&mut self, args: &[Word]) {
        let Some(program) = positionals(args).next().map(|w| w.text.as_str()) else {
            return;
        };
        if !program.contains("getline") && !program.contains("ENVIRON") {
            return;
        }
        for (i, _) in program.match_indices("getline") {
            let rest = program[i + 7..].trim_start();
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
            let Some(rest) = rest.trim_start().strip_prefix('<') else {
                continue;
            };
            let Some(path) = rest
                .trim_start()
                .strip_prefix('"')
                .and_then(|r| r.split_once('"'))
                .map(|(p, _)| p)
            else {
                continue;
            };
            let f = self.path_facts(path);
            let r = f.read(path);
            if r.text_private || r.user_credential || r.personal_store {
                self.push(p::PRIVATE_KEY_READ.finding(format!(
                    "`awk` reads `{}`, a private key or a credential of the user's.",
                    clip(path, 80)
                )));
                return;
            }
        }
        if crate::classify::code::prints_secret_env(program) && self.shows_output() {
            self.push(
                p::PRIVATE_KEY_READ.finding(
                    "`awk` prints environment variables that hold secrets into the conversation."
                        .to_owned(),
                ),
            );
        }
    }

    /// Programs that read (or copy) files: a secret among their operands is reported.
    pub(super) fn h_reader(&mut self, c: &mut Call<'_>) {
        let (name, args) = (c.name, c.args);
        let pattern_first = matches!(name, "grep" | "rg" | "awk" | "gawk" | "sed")
            && !args
                .iter()
                .any(|a| matches!(a.text.as_str(), "-e" | "-f" | "--regexp" | "--file"));
        // From the memoized path facts: a key, or a secret outside the workspace, is the user's.
        if let Some((t, private)) =
            positionals(args)
                .skip(usize::from(pattern_first))
                .find_map(|t| {
                    let f = self.path_facts(&t.text);
                    let r = f.read(&t.text);
                    if r.text_private || r.user_credential {
                        Some((t, true))
                    } else {
                        r.text_secret.then_some((t, false))
                    }
                })
        {
            // `grep -E '^(DB_PASSWORD|STRIPE_SECRET)=' .env`: the secrets picked out and shown
            // (a count or a file list shows none).
            let picks_secrets = pattern_first
                && !args.iter().any(|a| {
                    a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains(['c', 'l', 'q', 'L'])
                        || matches!(
                            a.text.as_str(),
                            "--count" | "--quiet" | "--files-with-matches"
                        )
                })
                && positionals(args)
                    .next()
                    .is_some_and(|p| super::super::exfil::names_secret_word(&p.text))
                && self.shows_output();
            if private || picks_secrets {
                self.push(p::PRIVATE_KEY_READ.finding(format!(
                    "`{name}` reads `{}`, a private key or a credential of the user's{}.",
                    clip(&t.text, 80),
                    if private {
                        ""
                    } else {
                        " (the secrets picked out by name)"
                    }
                )));
            } else if !matches!(name, "cp" | "scp" | "rsync" | "sed") {
                self.push(r::SENSITIVE_READ.finding(format!(
                    "`{name}` prints `{}`, which holds secrets or credentials.",
                    clip(&t.text, 80)
                )));
            }
        }
        if matches!(name, "base64" | "xxd") && args.iter().any(|a| is_decode_flag(name, &a.text)) {
            c.traits.decodes = true;
        }
        match name {
            "cp" => {
                self.note_renamed(args);
                self.copy_like(name, args)
            }
            "scp" | "rsync" => self.copy_like(name, args),
            "sed" => self.sed(args, &mut c.facts, &mut c.intent),
            _ => {}
        }
    }

    pub(super) fn h_tee(&mut self, c: &mut Call<'_>) {
        // `tee >(sh)`: a copy of the input goes to a shell.
        if c.args
            .iter()
            .any(|a| a.text.starts_with(">(") && a.subs.first().is_some_and(shell_reads_stdin))
        {
            match c.input {
                Some(text) => {
                    let text = text.to_owned();
                    self.reparse(&text, c.depth, "tee >(sh)");
                }
                None if c.pipe_in.downloads => self.push(r::CURL_PIPE_SHELL.finding(
                    "A download is copied by `tee` into a shell (unreviewed remote code).",
                )),
                None => self.push(
                    r::PIPE_TO_SHELL
                        .finding("`tee >(sh)` feeds text known only at run time to a shell."),
                ),
            }
        }
        let ts: Vec<&Word> = positionals(c.args)
            .filter(|t| !t.text.starts_with(">("))
            .collect();
        for t in &ts {
            self.check_write_target(&t.text, "`tee`");
            self.startup_write(&t.text, c.input, "`tee` writes");
            self.system_write(&t.text, "`tee`");
        }
        self.guard_words(&ts, false, "`tee` to", false);
    }

    /// `vim -es -c '%d' -c wq FILE`, `ex -sc '%s/no/yes/|x' FILE`: an editor driven by
    /// commands that write is a write to its files, graded like `sed -i` (the commands
    /// themselves, `:!cmd` included, are read in embedded.rs).
    pub(super) fn h_editor(&mut self, c: &mut Call<'_>) {
        let args = c.args;
        let mut cmds: Vec<&str> = Vec::new();
        let mut files: Vec<&Word> = Vec::new();
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            i += 1;
            let cluster_c =
                t.len() > 2 && t.starts_with('-') && !t.starts_with("--") && t.ends_with('c');
            if matches!(t, "-c" | "--cmd") || cluster_c {
                cmds.extend(args.get(i).map(|w| w.text.as_str()));
                i += 1;
            } else if matches!(
                t,
                "-S" | "-u" | "-U" | "-i" | "-T" | "-t" | "-q" | "-w" | "-W" | "-r"
            ) {
                i += 1;
            } else if let Some(cmd) = t.strip_prefix('+') {
                cmds.push(cmd);
            } else if !t.starts_with('-') && t != "--" {
                files.push(a);
            }
        }
        if let Some(text) = c.input {
            if args
                .iter()
                .any(|a| matches!(a.text.as_str(), "-s" | "-es" | "-Es" | "-" | "-e"))
            {
                cmds.extend(text.lines());
            }
        }
        // A write among the commands: `w`, `wq`, `x`, `wall`, `up[date]`, `sav[eas]`.
        let writes = cmds.iter().flat_map(|c| c.split('|')).any(|c| {
            let c = c.trim().trim_start_matches(':').trim_start();
            let word: String = c
                .chars()
                .take_while(|ch| ch.is_ascii_alphabetic())
                .collect();
            matches!(
                word.as_str(),
                "w" | "wq"
                    | "wqa"
                    | "wqall"
                    | "x"
                    | "xa"
                    | "xall"
                    | "xit"
                    | "exit"
                    | "wa"
                    | "wall"
                    | "write"
                    | "up"
                    | "update"
                    | "sav"
                    | "saveas"
            )
        });
        if !writes {
            return;
        }
        c.intent = Intent::Write;
        let via = format!("`{}` commands", c.name);
        for f in &files {
            if self.history_write(&f.text, format!("{via} rewrite")) {
                continue;
            }
            self.check_write_target(&f.text, via.as_str());
            self.system_write(&f.text, via.as_str());
            self.startup_write(&f.text, None, format!("{via} edit"));
            self.note_target(&f.text);
        }
        self.guard_words(&files, false, "An editor's scripted write to", true);
    }

    /// `cp /bin/rm ./clean`, `install -m755 /bin/rm ./t`: a program under a new name.
    fn note_renamed(&mut self, args: &[Word]) {
        let pos: Vec<&Word> = positionals(args).collect();
        let [src, dest] = pos.as_slice() else {
            return;
        };
        if src.dynamic || dest.dynamic || self.renamed.len() >= 8 {
            return;
        }
        let s = paths::normalize(&src.text);
        let program_dir = [
            "/bin/",
            "/usr/bin/",
            "/sbin/",
            "/usr/sbin/",
            "/usr/local/bin/",
        ]
        .iter()
        .any(|d| s.starts_with(d));
        if program_dir {
            let d = paths::resolve(&dest.text, &self.cwd, self.ctx.home);
            let prog = program_name(&s).to_owned();
            self.renamed.push((d, prog));
        }
    }

    /// `mv`, `install`, `ln`.
    pub(super) fn h_move(&mut self, c: &mut Call<'_>) {
        let (name, args) = (c.name, c.args);
        if name != "ln" {
            self.note_renamed(args);
        }
        // `install -m 4755 /bin/bash /tmp/sh`: a copy that runs as its owner for anyone.
        if name == "install" {
            let mode = args
                .iter()
                .enumerate()
                .find_map(|(i, a)| match a.text.as_str() {
                    "-m" | "--mode" => args.get(i + 1).map(|m| m.text.as_str()),
                    t => t.strip_prefix("--mode=").or_else(|| {
                        // `-m4755`, or a cluster ending in it (`-Dm4755`).
                        let cluster = t.strip_prefix('-').filter(|c| !c.starts_with('-'))?;
                        let at = cluster.find('m')?;
                        let mode = &cluster[at + 1..];
                        if mode.is_empty() {
                            args.get(i + 1).map(|m| m.text.as_str())
                        } else {
                            Some(mode)
                        }
                    }),
                });
            if let Some(m) = mode.filter(|m| sets_setuid(m)) {
                let target = positionals(args).last().map_or("", |t| t.text.as_str());
                self.push(r::SETUID_BIT.finding(format!(
                    "`install -m {}` makes `{}` run as its owner for whoever starts it.",
                    clip(m, 20),
                    clip(target, 60)
                )));
            }
        }
        if name == "mv" {
            let pos: Vec<&Word> = positionals(args).collect();
            if let Some((_, sources)) = pos.split_last() {
                self.git_metadata(name, sources);
            }
        }
        // A history file moved away, or replaced (`ln -sf /dev/null ~/.bash_history`).
        let pos: Vec<&Word> = positionals(args).filter(|w| !w.dynamic).collect();
        let replaced = if name == "mv" {
            &pos[..]
        } else {
            pos.last().map_or(&[][..], std::slice::from_ref)
        };
        for t in replaced {
            if self.history_write(&t.text, Via(name, " replaces")) {
                break;
            }
        }
        // `ln -s TARGET LINK`: a later write to LINK lands on TARGET.
        if name == "ln"
            && args
                .iter()
                .any(|a| short_has(a, &['s']) || a.text == "--symbolic")
        {
            let pos: Vec<&Word> = positionals(args).collect();
            // `ln -s ~/.ssh/id_rsa public/avatar.png`: a key, or the whole system or home,
            // linked into the project, where whatever serves, packs or commits it reads it.
            if let [target, link] = pos.as_slice() {
                let t = self.path_facts(&target.text);
                let exposed = {
                    let r = t.read(&target.text);
                    r.text_private || r.user_credential || r.personal_store
                } || paths::is_root_or_system_dir(&t.resolved, self.ctx.home)
                    || paths::is_home(&t.resolved, self.ctx.home);
                let l = paths::resolve(&link.text, &self.cwd, self.ctx.home);
                if exposed && !target.dynamic && paths::is_inside(&l, self.ctx.workspace) {
                    self.push(p::PRIVATE_KEY_READ.finding(format!(
                        "`ln -s {}` links it into the project as `{}`, where a server, an archive or a commit reads it.",
                        clip(&target.text, 60),
                        clip(&link.text, 60)
                    )));
                }
            }
            if let [target, link] = pos.as_slice() {
                if !target.dynamic && !link.dynamic && self.symlinks.len() < 16 {
                    let t = paths::resolve(&target.text, &self.cwd, self.ctx.home);
                    let l = paths::resolve(&link.text, &self.cwd, self.ctx.home);
                    self.symlinks.push((l, t));
                }
            }
        }
        self.copy_like(name, args)
    }

    /// `rm -rf .git`, `mv .git /tmp`: the repository's own history, not a build artifact.
    fn git_metadata(&mut self, name: &str, targets: &[&Word]) {
        let hit = targets.iter().find(|t| {
            if t.dynamic {
                return false;
            }
            let r = paths::resolve(&t.text, &self.cwd, self.ctx.home);
            let mut parts = r.split('/');
            if !parts.any(|p| p == ".git") {
                return false;
            }
            let rest: Vec<&str> = parts.collect();
            // Stale lock files are removed after a crashed git; hooks are scripts, not history.
            !(rest.last().is_some_and(|l| l.ends_with(".lock")) || rest.first() == Some(&"hooks"))
        });
        if let Some(t) = hit {
            self.push(r::GIT_METADATA_DESTROY.finding(format!(
                "`{name}` of `{}` removes the repository's history or state (commits, refs, index).",
                clip(&t.text, 80)
            )));
        }
    }

    /// Extraction into a directory that holds the guard's or the agents' settings
    /// (`tar -xf x.tar -C ~`) can overwrite them with anything.
    pub(super) fn h_extract(&mut self, c: &mut Call<'_>) {
        let (name, args) = (c.name, c.args);
        // `tar --remove-files`, `zip -m`, `7z a -sdel`: archiving that deletes what it packs is
        // a delete of those sources, graded as `rm -r` of them.
        if let Some(sources) = archive_deletes(name, args) {
            // Plain words stay bare so `~` and `$HOME` keep their meaning.
            let text = sources
                .iter()
                .map(|s| {
                    if s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_./~-$*{}".contains(&b))
                    {
                        s.clone()
                    } else {
                        format!("'{}'", s.replace('\'', r"'\''"))
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            self.reparse(&format!("rm -r -- {text}"), c.depth, name);
            c.intent = Intent::Destructive;
        }
        if name == "zip" {
            return;
        }
        let extracting = name != "tar" && name != "gtar" && name != "bsdtar"
            || args.iter().any(|a| {
                a.text == "--extract"
                    || a.text == "--get"
                    || (!a.text.starts_with("--")
                        && a.text.trim_start_matches('-').starts_with(['x'])
                        && a.text.len() < 8
                        && !a.text.contains('c'))
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains('x'))
            });
        if !extracting {
            return;
        }
        let dest = args
            .iter()
            .position(|a| matches!(a.text.as_str(), "-C" | "--directory" | "-d" | "-D"))
            .and_then(|i| args.get(i + 1))
            .map(|w| w.text.clone())
            .or_else(|| {
                args.iter()
                    .find_map(|a| a.text.strip_prefix("--directory=").map(str::to_owned))
            })
            // 7-Zip's output directory is glued to its switch (`-o/`, `-ovendor`).
            .or_else(|| {
                name.starts_with("7z")
                    .then(|| {
                        args.iter().find_map(|a| {
                            a.text
                                .strip_prefix("-o")
                                .filter(|d| !d.is_empty())
                                .map(str::to_owned)
                        })
                    })
                    .flatten()
            });
        // Extracting with no target where the command has moved to the root or a system
        // directory (`cd / && cpio -idmu < pkg.cpio`) lands there.
        let dest = dest.or_else(|| {
            (self.cwd == "/"
                || paths::is_root_or_system_dir(&self.cwd, self.ctx.home)
                    && !paths::is_inside(&self.cwd, self.ctx.workspace))
            .then(|| self.cwd.clone())
        });
        if args.iter().any(|a| {
            a.text == "--absolute-names"
                || a.text == "--absolute-filenames"
                || (a.text.starts_with('-')
                    && !a.text.starts_with("--")
                    && a.text.contains('P')
                    && name != "unzip")
        }) {
            self.push(p::SYSTEM_WRITE.finding(format!(
                "`{name} -P` keeps absolute paths: the archive's files land wherever it says, system and home included."
            )));
        }
        if let Some(d) = dest {
            let r = paths::resolve(&d, &self.cwd, self.ctx.home);
            const KEY_DIRS: &[&str] = &[
                "/.ssh",
                "/.aws",
                "/.gnupg",
                "/.kube",
                "/.docker",
                "/.config/gcloud",
                "/.azure",
            ];
            if KEY_DIRS
                .iter()
                .any(|k| r.ends_with(k) || r.contains(&format!("{k}/")))
            {
                self.push(r::SENSITIVE_WRITE.finding(format!(
                    "`{name}` extracts into `{}`, where keys and credentials live.",
                    clip(&d, 80)
                )));
            }
            self.system_write(&d, Via(name, " extracts into"));
            // Into a guard directory: blocked. Into a directory above one (`-C ~/.local`), only
            // the archive's unseen paths decide, so it needs approval.
            let r = paths::resolve(&d, &self.cwd, self.ctx.home);
            let config_dir = matches!(
                r.trim_end_matches('/').rsplit('/').next(),
                Some(".claude" | ".codex" | ".hermes" | "dashclaw")
            );
            self.guard_target(&d, false, config_dir, Via(name, " extracts into"), false);
            let above_guard = crate::classify::protect::check(&d, &self.cwd, self.ctx, false)
                .is_none()
                && crate::classify::protect::check(&d, &self.cwd, self.ctx, true).is_some();
            if above_guard
                || paths::is_home(&r, self.ctx.home)
                || paths::is_root_or_system_dir(&r, self.ctx.home)
                || r == "/"
                || paths::is_system_path(&r)
            {
                self.push(p::GUARD_TAMPER_SUSPECT.finding(format!(
                    "`{name}` extracts into `{}`, where it can overwrite shell start-up files and agent settings.",
                    clip(&d, 80)
                )));
            }
        }
    }

    /// In-place editors of structured files (`yq -i`, `sponge`, `ed`, …).
    pub(super) fn h_inplace_editor(&mut self, c: &mut Call<'_>) {
        let (name, args) = (c.name, c.args);
        let writes = name == "sponge"
            || name == "ed"
            || args.iter().any(|a| {
                matches!(
                    a.text.as_str(),
                    "-i" | "--inplace"
                        | "--in-place"
                        | "-w"
                        | "--write"
                        | "ed"
                        | "--set"
                        | "--del"
                        | "set"
                )
            });
        if !writes {
            return;
        }
        let ts: Vec<&Word> = positionals(args).collect();
        for t in &ts {
            self.startup_write(&t.text, None, Via(name, " edits"));
            self.system_write(&t.text, Via(name, " edits"));
        }
        self.guard_words(&ts, false, Via(name, " edits"), false);
        c.intent = Intent::Write;
    }

    pub(super) fn h_touch(&mut self, c: &mut Call<'_>) {
        let ts: Vec<&Word> = positionals(c.args).collect();
        self.guard_words(&ts, false, Via(c.name, " of"), false);
    }

    /// PowerShell's `Remove-Item` and its aliases (only as cmdlets).
    pub(super) fn h_remove_item(&mut self, c: &mut Call<'_>) {
        if self.powershell || c.name.contains('-') {
            self.remove_item(c.args, &mut c.facts);
            c.intent = Intent::Destructive;
        } else if matches!(c.name, "del" | "erase" | "rd") {
            // cmd.exe's, outside PowerShell.
            self.h_cmd_delete(c);
        }
    }

    /// `mkfs*`, `mkswap`: formatting, except a filesystem inside an image file.
    pub(super) fn h_mkfs(&mut self, c: &mut Call<'_>) {
        let image_only = c.name.starts_with("mkfs")
            && positionals(c.args).next().is_some()
            && positionals(c.args).all(|t| {
                !t.dynamic
                    && !paths::is_device(&t.text)
                    && (t.text.ends_with(".img")
                        || t.text.ends_with(".raw")
                        || t.text.ends_with(".iso")
                        || t.text.chars().all(|c| c.is_ascii_digit()))
            });
        if !image_only {
            self.push(r::MKFS.finding(format!(
                "`{}` formats a filesystem, erasing everything on it.",
                c.name
            )));
        }
    }

    pub(super) fn find(&mut self, args: &[Word], sudo: bool, intent: &mut Intent, depth: usize) {
        // `-exec CMD … ;` / `+` ranges, graded as commands of their own.
        let mut execs: Vec<&[Word]> = Vec::new();
        let mut deletes = false;
        let mut asks = false;
        let mut i = 0;
        while let Some(a) = args.get(i) {
            i += 1;
            match a.text.as_str() {
                "-delete" => deletes = true,
                // `-fprint FILE` and kin create or truncate FILE with the list of matches.
                "-fprint" | "-fprint0" | "-fls" | "-fprintf" => {
                    if let Some(t) = args.get(i) {
                        let via = format!("`find {}`", a.text);
                        self.check_write_target(&t.text, &via);
                        self.guard_target(&t.text, t.dynamic, false, &via, false);
                        self.system_write(&t.text, &via);
                        self.startup_write(&t.text, None, &via);
                        *intent = Intent::Write;
                    }
                    i += if a.text == "-fprintf" { 2 } else { 1 };
                }
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    let interactive = a.text.starts_with("-ok");
                    let start = i;
                    while args.get(i).is_some_and(|w| w.text != ";" && w.text != "+") {
                        i += 1;
                    }
                    let inner = &args[start..i.min(args.len())];
                    let rm = inner.first().is_some_and(|w| {
                        matches!(command_name(&w.text), "rm" | "shred" | "unlink" | "rmdir")
                    });
                    deletes |= rm;
                    // `-ok` asks before each file: a person sees every deletion.
                    asks |= rm && interactive;
                    execs.push(inner);
                    i += 1;
                }
                _ => {}
            }
        }
        let roots: Vec<&Word> = args
            .iter()
            .take_while(|a| !a.text.starts_with('-') && a.text != "(" && a.text != "!")
            .collect();
        if deletes {
            *intent = Intent::Destructive;
            // What narrows the match: a name pattern that is not everything, an age, a size.
            let mut narrowed = asks;
            let mut artifacts_only = true;
            let mut k = 0;
            while let Some(a) = args.get(k) {
                let t = a.text.as_str();
                if matches!(
                    t,
                    "-name" | "-iname" | "-path" | "-ipath" | "-regex" | "-iregex" | "-wholename"
                ) {
                    let pat = args.get(k + 1).map_or("*", |v| v.text.as_str());
                    if !matches!(pat, "*" | ".*" | "*.*" | "**") {
                        narrowed = true;
                    }
                    artifacts_only &= FIND_ARTIFACTS.contains(&pat);
                    k += 1;
                } else if matches!(
                    t,
                    "-newer"
                        | "-mtime"
                        | "-mmin"
                        | "-atime"
                        | "-ctime"
                        | "-size"
                        | "-empty"
                        | "-user"
                        | "-inum"
                        | "-samefile"
                        | "-links"
                ) {
                    narrowed = true;
                    artifacts_only = false;
                }
                k += 1;
            }
            let roots_or_cwd: Vec<Word> = if roots.is_empty() {
                vec![Word::literal(".")]
            } else {
                roots.iter().map(|w| (*w).clone()).collect()
            };
            let reaches: Vec<Reach> = roots_or_cwd.iter().map(|w| self.delete_reach(w)).collect();
            let worst = reaches
                .iter()
                .copied()
                .find(|r| *r == Reach::Root)
                .or(reaches.iter().copied().find(|r| *r == Reach::Tree));
            let shown = roots_or_cwd
                .first()
                .map_or(".", |w| clip(&w.text, 80))
                .to_owned();
            match worst {
                Some(Reach::Root) if !narrowed => self.push(r::RM_ROOT.finding(format!(
                    "`find {shown} … -delete` would delete everything under `{shown}`."
                ))),
                Some(_)
                    if !artifacts_only
                        && roots_or_cwd.iter().any(|w| {
                            if paths::is_root_or_system_dir(&w.text, self.ctx.home) {
                                return true;
                            }
                            // The user's files or a system tree (`~/Documents`,
                            // `/var/log/nginx`), not a temp directory or a cache.
                            let r = paths::resolve(&w.text, &self.cwd, self.ctx.home);
                            !w.dynamic
                                && !paths::is_inside(&r, self.ctx.workspace)
                                && !paths::is_temp(&r)
                                && !r.to_ascii_lowercase().contains("cache")
                        }) =>
                {
                    self.push(r::RM_RECURSIVE.finding(format!(
                        "`find {shown} … -delete` deletes matching files across system or home directories."
                    )))
                }
                Some(_) if !artifacts_only => {
                    self.push(r::FIND_DELETE.finding("`find` deletes every file it matches."))
                }
                _ => {}
            }
            // `find . -name '*.py' -delete`: every source file of a language, not output.
            let source_glob = args
                .iter()
                .position(|a| matches!(a.text.as_str(), "-name" | "-iname"))
                .and_then(|i| args.get(i + 1))
                .and_then(|p| p.text.strip_prefix("*."))
                .filter(|ext| SOURCE_EXTS.contains(ext));
            let output_only =
                !roots.is_empty() && roots.iter().all(|w| paths::is_regenerable(&w.text));
            if let Some(ext) = source_glob.filter(|_| !asks && !output_only) {
                self.push(r::RM_RECURSIVE.finding(format!(
                    "`find {shown} -name '*.{ext}' -delete` deletes every `.{ext}` file under `{shown}`: source, not build output."
                )));
            }
            // A tree containing guard files counts, except the working directory itself
            // (`find . -name '*.o' -delete` does not touch `.claude/`).
            for root in &roots {
                let here = paths::resolve(&root.text, &self.cwd, self.ctx.home) == self.cwd;
                self.guard_target(
                    &root.text,
                    root.dynamic,
                    !here,
                    "`find -delete` under",
                    false,
                );
            }
        }
        let name_pat = args
            .iter()
            .position(|a| matches!(a.text.as_str(), "-name" | "-iname"))
            .and_then(|i| args.get(i + 1))
            .filter(|p| FIND_ARTIFACTS.contains(&p.text.as_str()))
            .map(|p| p.text.clone());
        // Otherwise `{}` is a file under the first root matching the name pattern
        // (`find ~/.ssh -exec cat {} +` reads `~/.ssh/*`), except for `rm`, whose reach the
        // deletion grading above already judged from the roots and filters.
        let matched = {
            let root = roots
                .first()
                .map_or(".", |w| w.text.as_str())
                .trim_end_matches('/');
            let pat = args
                .iter()
                .position(|a| matches!(a.text.as_str(), "-name" | "-iname"))
                .and_then(|i| args.get(i + 1))
                .map_or("*", |p| p.text.as_str());
            let pat = if pat.contains('/') { "*" } else { pat };
            format!("{}/{pat}", if root.is_empty() { "" } else { root })
        };
        for inner in execs {
            let first = self.findings.len();
            self.origin.push(Origin::Fixed("find -exec"));
            let deleter = inner
                .first()
                .is_some_and(|w| matches!(command_name(&w.text), "rm" | "unlink" | "rmdir"));
            // `-exec rm -rf {} +` on `-name __pycache__` deletes what the name matched.
            let replaced: Vec<Word> = inner
                .iter()
                .map(|w| match (&name_pat, w.text.as_str()) {
                    (_, "{}") if !deleter => Word::literal(&matched),
                    (Some(p), "{}") => Word::literal(p),
                    _ => w.clone(),
                })
                .collect();
            let inner: &[Word] = &replaced;
            self.xargs_context = true;
            self.argv(
                inner,
                sudo,
                Facts::default(),
                first,
                None,
                depth + 1,
                Traits::default(),
            );
            self.xargs_context = false;
            self.origin.pop();
        }
    }

    pub(super) fn rm(&mut self, name: &str, args: &[Word], facts: &mut Facts) {
        let recursive = matches!(name, "rm" | "srm")
            && args
                .iter()
                .take_while(|a| a.text != "--")
                .any(|a| a.text == "--recursive" || short_has(a, &['r', 'R']));
        let targets: Vec<&Word> = positionals(args).collect();
        let reaches: Vec<Reach> = targets.iter().map(|t| self.delete_reach(t)).collect();
        // A glob at the top of the system or a home is as bad recursive or not (`rm -f ~/*`).
        let root = targets.iter().zip(&reaches).find(|(t, r)| {
            **r == Reach::Root
                && (recursive
                    || name == "rmdir"
                    || has_glob(&t.text) && !t.text.starts_with("./")
                    || t.text.ends_with("/*"))
        });
        if let Some((t, _)) = root {
            self.push(r::RM_ROOT.finding(format!(
                "`rm -r {}` would delete the system, a home directory or the whole workspace.",
                clip(&t.text, 80)
            )));
            return;
        }
        self.guard_words(&targets, recursive, Via(name, " of"), false);
        self.git_metadata(name, &targets);
        for t in &targets {
            let resolved = paths::resolve(&t.text, &self.cwd, self.ctx.home);
            let in_ws = paths::is_inside(&resolved, &paths::normalize(self.ctx.workspace));
            if !t.dynamic && paths::is_history_file(&resolved) {
                self.push(r::AUDIT_WIPE.finding(format!(
                    "`{name}` would delete `{}`, the record of what was run.",
                    clip(&t.text, 80)
                )));
                return;
            }
            if !t.dynamic
                && (!in_ws
                    && (paths::is_secret_path(&resolved)
                        || crate::classify::exfil::secret_path(&resolved, self.ctx.home))
                    || paths::is_system_path(&resolved)
                    || protect::is_startup_file(&resolved))
            {
                self.push(r::DESTROY_SENSITIVE.finding(format!(
                    "`{name}` would delete `{}`, a credentials, system or shell start-up file.",
                    clip(&t.text, 80)
                )));
                return;
            }
        }
        let literal = targets.iter().all(|t| !t.dynamic && !has_glob(&t.text));
        facts.bounded_rm = !recursive && (1..=3).contains(&targets.len()) && literal;
        facts.regenerable_rm = !targets.is_empty() && reaches.iter().all(|r| *r == Reach::Scratch);
        if facts.regenerable_rm || facts.bounded_rm {
            return;
        }
        if targets.is_empty() && !self.xargs_context {
            // Bare `rm` (an error, or `--help`/`--version`): nothing is deleted.
            facts.bounded_rm = true;
            return;
        }
        if targets.iter().all(|t| t.text == "{}" || t.dynamic) && self.xargs_context {
            if !recursive && self.piped_from_workspace_find() {
                // `find . -name '*.tmp' -print0 | xargs -0 rm -f`: files the workspace holds.
                facts.bounded_rm = true;
                return;
            }
            self.push(p::RM_DYNAMIC_TARGETS.finding(format!(
                "`{name}` deletes files another program names at run time."
            )));
            return;
        }
        let shown = targets.first().map_or("(its input)", |t| clip(&t.text, 80));
        if recursive {
            self.push(r::RM_RECURSIVE.finding(format!("Recursive delete of `{shown}`.")));
        } else {
            self.push(r::RM_UNBOUNDED.finding(format!(
                "`{name}` of `{shown}` uses globs, variables or many targets."
            )));
        }
    }

    /// `cp`, `mv`, `install`, `ln`, `rsync`: the destination (and for `mv` the sources).
    pub(super) fn copy_like(&mut self, name: &str, args: &[Word]) {
        let recursive = args.iter().take_while(|a| a.text != "--").any(|a| {
            matches!(a.text.as_str(), "--recursive" | "--archive") || short_has(a, &['r', 'R', 'a'])
        });
        let pos: Vec<&Word> = positionals(args).collect();
        if let Some(dest) = copy_destination(args) {
            let facts = self.path_facts(&dest.text);
            let d = facts.resolved.as_str();
            let srcs = &pos[..pos.len().saturating_sub(1)];
            // A file written earlier in this line is replaced (`echo ls > x.sh; cp /tmp/y
            // x.sh`): by a written source's content, or by content that cannot be seen.
            if !self.written.is_empty() && !dest.dynamic {
                let target = d.to_owned();
                let carried = match srcs {
                    [one] => {
                        let from = self.path_facts(&one.text).resolved.clone();
                        self.written_text(&from).flatten()
                    }
                    _ => None,
                };
                self.note_written(target, carried.as_deref(), false);
            }
            if name == "mv"
                && (paths::is_discard(d)
                    || srcs.iter().any(|s| self.delete_reach(s) == Reach::Root))
            {
                self.push(p::MOVE_TO_NULL.finding(format!(
                    "`mv` to `{}` throws away or breaks `{}`.",
                    clip(&dest.text, 80),
                    srcs.first().map_or("", |s| clip(&s.text, 80))
                )));
            }
            if srcs
                .iter()
                .any(|s| s.text == "/dev/null" || s.text == "/dev/zero")
                && (facts.write().system || facts.write().startup || facts.secret)
            {
                self.push(r::DESTROY_SENSITIVE.finding(format!(
                    "`{name}` empties `{}`, a system, credentials or start-up file.",
                    clip(&dest.text, 80)
                )));
            }
            if name == "rsync"
                && args.iter().any(|a| a.text.starts_with("--remove-source"))
                && srcs.iter().any(|s| self.delete_reach(s) == Reach::Root)
            {
                self.push(r::RM_ROOT.finding(format!(
                    "`rsync --remove-source-files` deletes the files of `{}`, a system, home or workspace tree.",
                    srcs.first().map_or("", |s| clip(&s.text, 80))
                )));
            }
            if name == "rsync"
                && args.iter().any(|a| {
                    a.text.starts_with("--delete") || a.text.starts_with("--remove-source")
                })
                && !args
                    .iter()
                    .any(|a| a.text == "--dry-run" || short_has(a, &['n']))
                && !paths::is_regenerable(&dest.text)
                && !(self.workspace_subtree(&dest.text)
                    && !srcs.is_empty()
                    && srcs.iter().all(|s| paths::is_regenerable(&s.text)))
            {
                self.push(p::RSYNC_DELETE.finding(format!(
                    "`rsync --delete` removes whatever in `{}` the source lacks.",
                    clip(&dest.text, 80)
                )));
            }
            let from_example = !srcs.is_empty()
                && srcs.iter().all(|s| {
                    [".example", ".sample", ".template", ".dist", ".defaults"]
                        .iter()
                        .any(|m| s.text.contains(m))
                });
            if !from_example {
                self.check_write_target(&dest.text, Via(name, ""));
            }
            if !paths::is_secret_path(d) && !d.contains(':') {
                self.system_write(&dest.text, Via(name, " to"));
            }
            if srcs.len() == 1 && !dest.dynamic {
                self.startup_write(&dest.text, None, Via(name, " overwrites"));
            }
            // Copying a tree into a directory can land on any file inside it.
            self.guard_target(&dest.text, dest.dynamic, recursive, Via(name, " to"), false);
        }
        if name == "mv" {
            let pos: Vec<&Word> = positionals(args).collect();
            if pos.len() >= 2 {
                let srcs = &pos[..pos.len() - 1];
                self.guard_words(srcs, true, "`mv` of", false);
            }
        }
        if name == "rsync" && args.iter().any(|a| a.text.starts_with("--delete")) {
            if let Some(dest) = copy_destination(args) {
                self.guard_target(
                    &dest.text,
                    dest.dynamic,
                    true,
                    "`rsync --delete` into",
                    false,
                );
            }
        }
    }

    pub(super) fn sed(&mut self, args: &[Word], facts: &mut Facts, intent: &mut Intent) {
        let inplace = args.iter().take_while(|a| a.text != "--").any(|a| {
            a.text.starts_with("--in-place") || (short_has(a, &['i']) && !a.text.starts_with("--"))
        });
        if !inplace {
            return;
        }
        facts.sed_inplace = true;
        *intent = Intent::Write;
        // The script is the first positional unless given with -e/-f.
        let explicit = args
            .iter()
            .any(|a| matches!(a.text.as_str(), "-e" | "-f" | "--expression" | "--file"));
        let mut files: Vec<&Word> = Vec::new();
        let mut i = 0;
        let mut skipped_script = explicit;
        while let Some(a) = args.get(i) {
            i += 1;
            if matches!(a.text.as_str(), "-e" | "-f" | "--expression" | "--file") {
                i += 1;
            } else if is_flag(a) {
            } else if !skipped_script {
                skipped_script = true;
            } else {
                files.push(a);
            }
        }
        for f in &files {
            self.check_write_target(&f.text, "`sed -i`");
            self.system_write(&f.text, "`sed -i`");
            // What the edit adds: the replacement of an `s///` script; anything else (`d`,
            // `a\`, `r file`) is unknown content.
            let added = args
                .iter()
                .find(|a| !a.text.starts_with('-'))
                .and_then(|a| sed_replacement(&a.text));
            self.startup_write(&f.text, added.as_deref(), "`sed -i` edits");
            self.note_target(&f.text);
        }
        self.guard_words(&files, false, "`sed -i` on", true);
    }

    /// PowerShell `Remove-Item` (upstream counts it as an rm).
    pub(super) fn remove_item(&mut self, args: &[Word], facts: &mut Facts) {
        let recursive = args.iter().any(|a| {
            let l = a.text.to_ascii_lowercase();
            l.starts_with("-rec") && !l.ends_with(":$false")
        });
        // Outside PowerShell, bash has cooked `.\bin` to `.bin`: read it back as the relative
        // path it was.
        let cooked: Vec<Word> = args
            .iter()
            .filter(|a| !a.text.starts_with('-'))
            // `Remove-Item ./bin, ./obj`: a PowerShell list, one path per element.
            .flat_map(|a| {
                a.text
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        let mut w = Word::literal(t);
                        w.dynamic = a.dynamic;
                        w.quoted = a.quoted;
                        w
                    })
                    .collect::<Vec<_>>()
            })
            .map(|a| {
                let t = a.text.as_str();
                let mut w = a.clone();
                if !self.powershell
                    && t.len() > 1
                    && t.starts_with('.')
                    && !t.starts_with("./")
                    && !t.starts_with("..")
                    && !t[1..].contains('/')
                    && !paths::is_regenerable(t)
                {
                    w.text = format!("./{}", &t[1..]);
                }
                w
            })
            .collect();
        let targets: Vec<&Word> = cooked.iter().collect();
        let profile = |t: &str| {
            let l = t.to_ascii_lowercase().replace('\\', "/");
            // `C:\Users\dev` or `C:/Users/dev` (a cooked `C:Usersdev` has lost its depth).
            l.len() >= 8
                && l.as_bytes()[1] == b':'
                && l[2..].starts_with("/users/")
                && l.trim_end_matches(['/', '*']).matches('/').count() <= 2
        };
        let root = targets.iter().find(|t| {
            is_windows_root(&t.text)
                || paths::is_root_or_system_dir(&t.text, self.ctx.home)
                || profile(&t.text)
        });
        if let (true, Some(t)) = (recursive, root) {
            self.push(r::RM_ROOT.finding(format!(
                "`Remove-Item -Recurse {}` would delete the system or a home directory.",
                clip(&t.text, 80)
            )));
            return;
        }
        let literal = targets.iter().all(|t| !t.dynamic && !has_glob(&t.text));
        facts.bounded_rm = !recursive && (1..=3).contains(&targets.len()) && literal;
        facts.regenerable_rm = !targets.is_empty()
            && targets
                .iter()
                .all(|t| self.delete_reach(t) == Reach::Scratch);
        if recursive && !facts.regenerable_rm {
            let shown = targets.first().map_or("", |t| clip(&t.text, 80));
            self.push(r::RM_RECURSIVE.finding(format!("Recursive delete of `{shown}`.")));
        }
        self.guard_words(&targets, recursive, "`Remove-Item` of", false);
    }
}

/// Whether a `chmod` only takes permissions away from group and others (`600`, `0400`, `700`,
/// `go-rwx`, `og=`): nothing becomes readable, writable or runnable by anyone new, and the owner
/// keeps access.
fn tightening_only(args: &[Word]) -> bool {
    let Some(mode) = positionals(args).next() else {
        return false;
    };
    let m = mode.text.as_str();
    if !m.is_empty() && m.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        let d = m.as_bytes();
        // The owner keeps read access (`000` locks the owner out too).
        return match d.len() {
            3 => d[0] >= b'4' && d[1] == b'0' && d[2] == b'0',
            4 => d[0] == b'0' && d[1] >= b'4' && d[2] == b'0' && d[3] == b'0',
            _ => false,
        };
    }
    !m.is_empty()
        && m.split(',').all(|clause| {
            let who_end = clause
                .find(|c: char| !"ugoa".contains(c))
                .unwrap_or(clause.len());
            let (who, rest) = clause.split_at(who_end);
            // Only group and others lose anything (`a-x` would lock the owner out of a directory).
            if who.is_empty() || who.contains(['u', 'a']) {
                return false;
            }
            match rest.as_bytes().first() {
                Some(b'-') => true,
                // `go=`: group and others get nothing.
                Some(b'=') => rest.len() == 1,
                _ => false,
            }
        })
}

/// The sources an archiver deletes once packed, when it is asked to (`tar --remove-files`,
/// `zip -m`/`--move`, `7z a -sdel`).
fn archive_deletes(name: &str, args: &[Word]) -> Option<Vec<String>> {
    let texts: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
    let pos = |skip_archive: bool| -> Vec<String> {
        let mut out = Vec::new();
        let mut skip_next = false;
        let mut archive_seen = !skip_archive;
        for (i, t) in texts.iter().enumerate() {
            if skip_next {
                skip_next = false;
                continue;
            }
            if t.starts_with('-') {
                // tar's `-f ARCHIVE` (also inside a cluster such as `-czf`).
                if name != "zip" && !t.starts_with("--") && t.ends_with('f') {
                    skip_next = true;
                }
                continue;
            }
            if matches!(name, "7z" | "7za" | "7zz") && i == 0 {
                continue; // the command letter (`a`)
            }
            if !archive_seen {
                archive_seen = true;
                continue;
            }
            out.push((*t).to_owned());
        }
        out
    };
    let sources = match name {
        "tar" | "gtar" | "bsdtar" if texts.contains(&"--remove-files") => pos(false),
        "zip"
            if texts.iter().any(|t| {
                *t == "--move" || (t.starts_with('-') && !t.starts_with("--") && t.contains('m'))
            }) =>
        {
            pos(true)
        }
        "7z" | "7za" | "7zz" if texts.first() == Some(&"a") && texts.contains(&"-sdel") => {
            pos(true)
        }
        _ => return None,
    };
    (!sources.is_empty()).then_some(sources)
}

/// A `chmod` mode that turns the set-user-ID bit on: `u+s`, `+s`, `a+rs`, `4755`, `6755`.
fn sets_setuid(mode: &str) -> bool {
    if mode.bytes().all(|b| b.is_ascii_digit()) {
        // Four octal digits: the first holds setuid (4) and setgid (2).
        return mode.len() == 4 && matches!(mode.as_bytes()[0], b'4' | b'5' | b'6' | b'7');
    }
    mode.split(',').any(|clause| {
        let Some(op) = clause.find(['+', '=']) else {
            return false;
        };
        let (who, perms) = clause.split_at(op);
        (who.is_empty() || who.contains(['u', 'a'])) && perms[1..].contains('s')
    })
}

impl Walker<'_> {
    /// The previous stage of this pipeline is a `find` that only walks the workspace (no
    /// symlink following), so the names it prints are workspace files.
    fn piped_from_workspace_find(&self) -> bool {
        if !self.in_pipe || self.commands.len() < 2 {
            return false;
        }
        let prev = &self.commands[self.commands.len() - 2];
        let mut words = prev.split_whitespace();
        if words.next() != Some("find") {
            return false;
        }
        let ws = paths::normalize(self.ctx.workspace);
        let rest: Vec<&str> = words.collect();
        if rest.iter().any(|w| matches!(*w, "-L" | "-follow" | "-H")) {
            return false;
        }
        // Narrowed by a name or path pattern (`-name '*.tmp'`), not every file.
        let narrowed = rest.windows(2).any(|w| {
            matches!(
                w[0],
                "-name" | "-iname" | "-path" | "-ipath" | "-regex" | "-iregex" | "-wholename"
            ) && !matches!(w[1].trim_matches(['\'', '"']), "*" | "**" | "*.*" | "")
        });
        if !narrowed {
            return false;
        }
        let roots: Vec<&str> = rest
            .iter()
            .copied()
            .take_while(|w| !w.starts_with(['-', '(', '!']))
            .collect();
        let roots = if roots.is_empty() { vec!["."] } else { roots };
        roots.iter().all(|r| {
            !r.contains(['$', '`', '*', '?'])
                && paths::is_inside(&paths::resolve(r, &self.cwd, self.ctx.home), &ws)
        })
    }
}

/// The replacement text of a sed `s<d>pattern<d>replacement<d>flags` script, if that is all
/// the script is.
fn sed_replacement(script: &str) -> Option<String> {
    let rest = script.strip_prefix('s')?;
    let d = rest.chars().next()?;
    if d.is_alphanumeric() || d == '\\' || d.is_whitespace() {
        return None;
    }
    let parts: Vec<&str> = rest[d.len_utf8()..].split(d).collect();
    match parts.as_slice() {
        // `\&` is a literal `&` in the text written (a bare `&` is the matched text).
        [_, repl, flags] if flags.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Some(repl.replace("\\&", "&"))
        }
        _ => None,
    }
}

/// Extensions of hand-written source: deleting all of them is deleting the project.
const SOURCE_EXTS: &[&str] = &[
    "py", "rs", "go", "js", "jsx", "ts", "tsx", "java", "kt", "c", "h", "cc", "cpp", "hpp", "cs",
    "rb", "php", "swift", "scala", "sh", "sql", "vue", "svelte", "md", "ex", "exs", "erl", "hs",
    "ml", "lua", "pl", "r", "dart", "m", "mm", "tf", "proto",
];
