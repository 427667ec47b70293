//! Handlers for shells and shell builtins: what runs a shell string, and what changes the
//! variables, aliases, positional parameters and working directory the rest of the line sees.

use super::dispatch::Call;
use super::*;

impl Walker<'_> {
    /// `bash -c '…'`, `sh script.sh`, `sh < file`, `… | sh`.
    pub(super) fn h_shell(&mut self, c: &mut Call<'_>) {
        match self.shell(
            c.args,
            c.stdin,
            c.input,
            c.pipe_in.decodes,
            c.depth,
            &mut c.facts,
        ) {
            Some(i) => c.intent = i,
            None => c.traits.runs_stdin = c.stdin.is_none(),
        }
        if let Some(i) = self.block_intent(c.own) {
            c.intent = i;
        }
    }

    pub(super) fn h_eval(&mut self, c: &mut Call<'_>) {
        c.intent = self.eval(c.args, c.depth);
    }

    pub(super) fn h_source(&mut self, c: &mut Call<'_>) {
        if c.args.iter().any(|a| word_downloads(a, c.depth)) {
            self.push(
                r::CURL_PIPE_SHELL
                    .finding("Sourcing a download runs unreviewed remote code in this shell."),
            );
            c.intent = Intent::Destructive;
        } else if let Some(s) = positionals(c.args).next() {
            if s.text.starts_with("<(") {
                c.intent = self.procsub_script(s, c.depth, "source <( )");
            } else {
                self.exec_script(s, ScriptKind::Shell, c.depth, &mut c.facts, true);
            }
        }
    }

    /// Whether `PATH` was changed earlier in this command so that an impostor could be found
    /// first: a value only known at run time, or a directory in a temp dir, the workspace or
    /// relative to the cwd. Tool directories under the home (`~/.pyenv/bin`, `~/.cargo/bin`),
    /// as start-up files add them, are not.
    fn path_untrusted(&self) -> bool {
        let Some((_, value)) = self.vars.iter().rev().find(|(k, _)| k == "PATH") else {
            return false;
        };
        let Some(value) = value else {
            return true;
        };
        let ws = paths::normalize(self.ctx.workspace);
        value.split(':').any(|dir| {
            if dir.starts_with('$') {
                // `$PATH` (the inherited value) or another expansion left unfolded.
                return !matches!(dir, "$PATH" | "${PATH}");
            }
            let r = paths::resolve(dir, &self.cwd, self.ctx.home);
            !dir.starts_with('/') && !dir.starts_with('~')
                || ["/tmp", "/var/tmp", "/dev/shm"]
                    .iter()
                    .any(|t| paths::is_inside(&r, t))
                || paths::is_inside(&r, &ws)
        })
    }

    /// `bash <(echo …)`, `source <(printf …)`: the script is the substitution's output, graded
    /// when it folds to a literal; otherwise it is text made at run time, fed to a shell.
    pub(super) fn procsub_script(&mut self, script: &Word, depth: usize, label: &str) -> Intent {
        let path_changed = self.path_untrusted();
        if let [sub] = script.subs.as_slice() {
            // `source <(kubectl completion bash)`: what environment set-up tools print.
            if !path_changed && super::is_env_generator(sub) {
                return Intent::Readonly;
            }
        }
        if let Some(sub) = script.subs.first() {
            if let Some(text) = self.fold_script(sub, 0) {
                self.text(&text, depth + 1, Some(label.to_owned()));
                return Intent::Readonly;
            }
        }
        self.push(
            r::PIPE_TO_SHELL
                .finding("The shell runs a script produced at run time by a process substitution."),
        );
        Intent::Unknown
    }

    pub(super) fn h_trap(&mut self, c: &mut Call<'_>) {
        if let Some(action) = positionals(c.args).next() {
            self.text(&action.text, c.depth + 1, Some("trap".to_owned()));
        }
    }

    pub(super) fn h_alias(&mut self, c: &mut Call<'_>) {
        for a in c.args {
            if let Some((n, v)) = a.text.split_once('=') {
                if self.aliases.len() < 32 && !n.is_empty() && !a.dynamic {
                    self.aliases.push((n.to_owned(), v.to_owned()));
                }
            }
        }
    }

    /// `hash -p /bin/rm ls`: the name now runs that file, as an alias would.
    pub(super) fn h_hash(&mut self, c: &mut Call<'_>) {
        if let Some(i) = c.args.iter().position(|a| a.text == "-p") {
            match (c.args.get(i + 1), c.args.get(i + 2)) {
                (Some(file), Some(name)) if !file.dynamic && !name.dynamic => {
                    if self.aliases.len() < 32 {
                        self.aliases.push((name.text.clone(), quote(&file.text)));
                    }
                }
                _ => self
                    .push(r::DYNAMIC_COMMAND.finding(
                        "`hash -p` maps a command name to a file only known at run time.",
                    )),
            }
        }
    }

    /// Builtins that run text their arguments carry: `let 'a[$(cmd)]=1'` (an array subscript
    /// is evaluated, substitutions included), `enable -f lib.so name` (native code loaded into
    /// the shell), `fc -s`/`fc -e` (commands re-run from history).
    pub(super) fn h_evaluating_builtin(&mut self, c: &mut Call<'_>) {
        match c.name {
            "let" => {
                for a in c.args {
                    self.subscript_commands(&a.text, c.depth);
                }
            }
            "test" => {
                if let Some(i) = c.args.iter().position(|a| a.text == "-v") {
                    if let Some(a) = c.args.get(i + 1) {
                        let t = a.text.clone();
                        self.subscript_commands(&t, c.depth);
                    }
                }
            }
            "enable" if c.args.iter().any(|a| a.text == "-f") => {
                self.push(
                    p::PRELOAD_CODE.finding(
                        "`enable -f` loads native code from a shared object into the shell.",
                    ),
                );
            }
            "fc" if c
                .args
                .iter()
                .any(|a| matches!(a.text.as_str(), "-s" | "-e")) =>
            {
                self.push(p::INTERPRETER_DYNAMIC.finding(
                    "`fc` re-runs commands from the shell history, which cannot be read here.",
                ));
            }
            _ => {}
        }
    }

    /// `$(…)` or backticks inside text bash evaluates as arithmetic or a subscript.
    pub(super) fn subscript_commands(&mut self, text: &str, depth: usize) {
        for (i, _) in text.match_indices("$(") {
            let body = &text[i + 2..];
            let mut level = 1usize;
            let end = body.char_indices().find_map(|(j, ch)| {
                match ch {
                    '(' => level += 1,
                    ')' => level -= 1,
                    _ => {}
                }
                (level == 0).then_some(j)
            });
            let inner = &body[..end.unwrap_or(body.len())];
            self.reparse(inner, depth, "evaluated subscript");
        }
    }

    /// `export`, `declare`, `typeset`, `local`, `readonly`: assignments and `-n` namerefs.
    pub(super) fn h_declare(&mut self, c: &mut Call<'_>) {
        let args = c.args;
        let nameref = args
            .iter()
            .any(|a| a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains('n'));
        for a in args
            .iter()
            .filter(|a| a.is_assignment() || a.text.contains('='))
        {
            if a.text.starts_with('-') {
                continue;
            }
            match a.text.split_once('=') {
                Some((r, target)) if nameref && valid_name(r) && valid_name(target) => {
                    self.namerefs.push((r.to_owned(), target.to_owned()));
                }
                _ => self.assign(a),
            }
        }
    }

    pub(super) fn h_unset(&mut self, c: &mut Call<'_>) {
        for a in positionals(c.args) {
            // As for `export`: what this shell starts runs without the setting.
            let name = self
                .fold_word(a, c.depth + 1)
                .unwrap_or_else(|| a.text.clone());
            if guard_setting(&name) {
                self.push(p::GUARD_TAMPER_SUSPECT.finding(format!(
                    "`unset {name}` changes how the guard or an agent's hooks run for what this shell starts."
                )));
            }
            if name == "HISTFILE" {
                self.push(
                    r::AUDIT_WIPE.finding(
                        "`unset HISTFILE` stops the shell from keeping a record of what is run."
                            .to_owned(),
                    ),
                );
            }
            self.set_var(&name, None);
        }
    }

    /// `history -c`, `history -d N`: the shell's record of what was run, erased.
    pub(super) fn h_history(&mut self, c: &mut Call<'_>) {
        if c.args.iter().any(|a| {
            a.text == "--clear"
                || (a.text.starts_with('-')
                    && !a.text.starts_with("--")
                    && a.text.contains(['c', 'd']))
        }) {
            self.push(
                r::AUDIT_WIPE
                    .finding("`history` erases the shell's record of what was run.".to_owned()),
            );
        }
    }

    /// `read a b <<< "rm -rf ~"`: a known input gives the variables their values.
    pub(super) fn h_read(&mut self, c: &mut Call<'_>) {
        let args = c.args;
        let names: Vec<String> = positionals(args)
            .filter(|a| valid_name(&a.text))
            .map(|a| a.text.clone())
            .collect();
        // `-a` alone or in a cluster (`-ra`); mapfile/readarray always fill an array.
        let array = args
            .iter()
            .any(|a| a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains('a'))
            || c.name != "read";
        if c.name != "read" {
            // `mapfile -t a <<< $'x\ny'`: one element per line (MAPFILE without a name).
            let name = names
                .first()
                .cloned()
                .unwrap_or_else(|| "MAPFILE".to_owned());
            match c.input {
                Some(text) => {
                    let elems: Vec<String> = text.lines().take(256).map(str::to_owned).collect();
                    self.arrays.push((name, elems));
                }
                None => self.set_var(&name, None),
            }
            return;
        }
        let line = c.input.map(|t| t.lines().next().unwrap_or("").to_owned());
        // Fields split on IFS (blanks when unset or only blanks).
        let ifs = self.lookup("IFS").filter(|i| !i.trim().is_empty());
        match (line, names.as_slice()) {
            (Some(l), [one]) if array => {
                let elems: Vec<String> = match (&ifs, c.name) {
                    (Some(i), "read") => l.split(|ch| i.contains(ch)).map(str::to_owned).collect(),
                    _ => l.split_whitespace().map(str::to_owned).collect(),
                };
                self.arrays.push((one.clone(), elems));
            }
            (Some(l), [_, ..]) => {
                let mut rest = l.trim_start();
                for (i, n) in names.iter().enumerate() {
                    let v = if i + 1 == names.len() {
                        rest.trim_end().to_owned()
                    } else {
                        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                        let v = rest[..end].to_owned();
                        rest = rest[end..].trim_start();
                        v
                    };
                    self.set_var(n, Some(v));
                }
            }
            _ => {
                for n in &names {
                    self.set_var(n, None);
                }
            }
        }
    }

    /// `set -- rm -rf ~; "$@"`: the positional parameters.
    pub(super) fn h_set(&mut self, c: &mut Call<'_>) {
        // `set +o history`: nothing run from here on is recorded.
        if c.args
            .windows(2)
            .any(|w| w[0].text == "+o" && w[1].text == "history")
        {
            self.push(r::AUDIT_WIPE.finding(
                "`set +o history` stops the shell from keeping a record of what is run.".to_owned(),
            ));
        }
        if c.args.first().is_some_and(|a| a.text == "--") {
            let elems: Vec<String> = c.args[1..].iter().map(|a| a.text.clone()).collect();
            self.arrays.push(("@".to_owned(), elems));
        }
    }

    pub(super) fn h_for(&mut self, c: &mut Call<'_>) {
        if let Some(v) = c.args.first().filter(|v| valid_name(&v.text)) {
            let vals: Vec<&Word> = c.args.iter().skip(2).collect();
            let value = match vals.as_slice() {
                [one] if !one.dynamic => Some(one.text.clone()),
                // `for d in / /tmp; do rm -rf $d; done`: the body runs once per value; grade it
                // with the one that reaches furthest (a root, system or home directory, then a
                // credentials file), so the worst pass is the one seen.
                many if many.len() <= 16 && many.iter().all(|w| !w.dynamic) => {
                    let home = self.ctx.home;
                    let resolved = |w: &&Word| paths::resolve(&w.text, &self.cwd, home);
                    let rank = |w: &&Word| match self.delete_reach(w) {
                        Reach::Root => 2,
                        Reach::Tree => 1,
                        Reach::Scratch => 0,
                    };
                    many.iter()
                        .find(|w| crate::classify::exfil::secret_path(&resolved(w), home))
                        .filter(|_| !many.iter().any(|w| rank(w) == 2))
                        .or_else(|| many.iter().rev().max_by_key(|w| rank(w)))
                        .map(|w| w.text.clone())
                }
                _ => None,
            };
            self.set_var(&v.text, value);
        }
    }

    pub(super) fn h_cd(&mut self, c: &mut Call<'_>) {
        match positionals(c.args).next() {
            Some(d) if !d.dynamic && d.text != "-" => {
                self.cwd = paths::resolve(&d.text, &self.cwd, self.ctx.home);
                self.cwd_moved = true;
            }
            None => {
                if let Some(h) = self.ctx.home {
                    self.cwd = h.to_owned();
                    self.cwd_moved = true;
                }
            }
            Some(_) => self.cwd_unknown = true,
        }
    }

    /// `bash -c '…'`, `bash <<EOF`, `bash script.sh`. `None` means it reads its stdin.
    pub(super) fn shell(
        &mut self,
        args: &[Word],
        stdin: Option<&Redirect>,
        input: Option<&str>,
        decoded: bool,
        depth: usize,
        facts: &mut Facts,
    ) -> Option<Intent> {
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
                if self.xargs_context {
                    // `xargs -a cmds.txt sh -c`: the command string is each input line.
                    self.push(p::SHELL_C_DYNAMIC.finding(
                        "`sh -c` gets its command string from `xargs` input at run time.",
                    ));
                    return Some(Intent::Destructive);
                }
                return Some(Intent::Unknown);
            };
            if word_downloads(code, depth) {
                self.push(r::CURL_PIPE_SHELL.finding(
                    "Running a downloaded script through `sh -c` executes unreviewed remote code.",
                ));
            }
            if code.dynamic {
                // A computed program text (`bash -c "$CMD"`) is obfuscated execution.
                let first = self.findings.len();
                if let Some(t) = self.fold_word(code, 0) {
                    self.reparsed += 1;
                    self.text(&t, depth + 1, Some("bash -c".to_owned()));
                    self.reparsed -= 1;
                    return Some(Intent::Readonly);
                }
                self.push(p::SHELL_C_DYNAMIC.finding(format!(
                    "`sh -c` runs the computed string `{}`, which hides the command (obfuscated execution).",
                    clip(&code.text, 80)
                )));
                let _ = first;
                return Some(Intent::Destructive);
            }
            self.reparsed += 1;
            self.text(&code.text, depth + 1, Some("bash -c".to_owned()));
            self.reparsed -= 1;
            return Some(Intent::Readonly);
        }
        if let Some(script) = operand.filter(|o| !from_stdin && o.text != "-") {
            if script.text.starts_with("<(") && !word_downloads(script, depth) {
                return Some(self.procsub_script(script, depth, "bash <( )"));
            }
            if word_downloads(script, depth) {
                self.push(r::CURL_PIPE_SHELL.finding(
                    "Running a downloaded script through a shell executes unreviewed remote code.",
                ));
                return Some(Intent::Unknown);
            }
            if script.dynamic && self.program_is_data(script) {
                // `bash $(cat name.txt)`: which script runs is data made at run time, as for a
                // program word (`$(which x)` and a configured `$SCRIPT` are not).
                self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "The script the shell runs, `{}`, is named by data made at run time.",
                    clip(&script.text, 80)
                )));
                return Some(Intent::Unknown);
            }
            self.exec_script(script, ScriptKind::Shell, depth, facts, false);
            return Some(Intent::Unknown);
        }
        match (stdin, input) {
            // `bash <<< "$(echo … | base64 -d)"`: the shell reads the expanded text as its
            // script, so that (folded) text is what is graded.
            (Some(r), Some(text)) if r.feeds_stdin() && r.target.dynamic => {
                self.text(text, depth + 1, Some("here-string, expanded".to_owned()));
                Some(Intent::Readonly)
            }
            // The script is itself an expansion (`bash <<< "$CMD"`, `<<< "$(curl …)"`); text
            // with expansions inside its commands (`cd $(git rev-parse --show-toplevel)`) is
            // graded below as written, as a script would run it.
            (Some(r), None)
                if r.feeds_stdin()
                    && r.target.dynamic
                    && r.target.text.trim_start().starts_with(['$', '`']) =>
            {
                self.text(&r.target.text, depth + 1, Some("heredoc".to_owned()));
                self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "The script fed to the shell, `{}`, is made at run time and cannot be read.",
                    clip(&r.target.text, 80)
                )));
                Some(Intent::Unknown)
            }
            (Some(r), _) if r.feeds_stdin() => {
                self.text(&r.target.text, depth + 1, Some("heredoc".to_owned()));
                Some(Intent::Readonly)
            }
            (None, Some(text)) => {
                // `printf 'rm -rf ~' | sh`, `echo cm0gLXJmIH4= | base64 -d | sh`: the folded
                // (or decoded) text is the script, graded as if written plainly. Only text
                // that cannot be folded stays `decode-pipe-shell` / `pipe-to-shell`.
                let label = if decoded { "decoded stdin" } else { "stdin" };
                self.text(text, depth + 1, Some(label.to_owned()));
                Some(Intent::Readonly)
            }
            (Some(r), _) if r.kind == RedirKind::Input => {
                // `sh < script.sh`: the file is the script.
                self.exec_script(&r.target, ScriptKind::Shell, depth, facts, false);
                Some(Intent::Unknown)
            }
            (Some(_), _) => Some(Intent::Unknown),
            (None, None) => None,
        }
    }

    pub(super) fn eval(&mut self, args: &[Word], depth: usize) -> Intent {
        if args.is_empty() {
            return Intent::Readonly;
        }
        if args.iter().any(|a| word_downloads(a, depth)) {
            self.push(
                r::CURL_PIPE_SHELL.finding("`eval` of a download runs unreviewed remote code."),
            );
            return Intent::Destructive;
        }
        let mut joined = String::new();
        for a in args {
            // A `PATH` changed earlier in this command could put an impostor generator first.
            let path_changed = self.path_untrusted();
            if a.subs.len() == 1 && !path_changed && is_env_generator(&a.subs[0]) {
                // `eval "$(ssh-agent -s)"`: the output of an environment set-up tool.
                continue;
            }
            let text = self.fold_word(a, 0);
            let Some(text) = text else {
                self.push(r::EVAL_DYNAMIC.finding(format!(
                    "`eval` of the computed string `{}` hides the command that runs.",
                    clip(&a.text, 80)
                )));
                return Intent::Destructive;
            };
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(&text);
        }
        self.reparsed += 1;
        self.text(&joined, depth + 1, Some("eval".to_owned()));
        self.reparsed -= 1;
        Intent::Readonly
    }
}
