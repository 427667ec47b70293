//! Programs that run other programs from their own arguments: awk's `system()`, sed's `e`,
//! an editor's `:!`, tar's checkpoint actions, a debugger's `shell`, a database client's `\!`,
//! a multiplexer's or `at`'s command, a container with the host's root mounted. One table row
//! per program says where the command hides; the walker grades what is found as shell text,
//! and a command that is only known at run time is reported as dynamic.

use super::shell::{join_argv, quote};

/// What a program would run.
#[derive(Debug, Default)]
pub(crate) struct Embedded {
    /// Shell command lines, with a label for `Classification::commands`.
    pub shell: Vec<(String, &'static str)>,
    /// A command that cannot be read (`awk '{system($0)}'` on unknown input).
    pub dynamic: Option<&'static str>,
}

fn after<'a>(args: &'a [&'a str], flags: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        for f in flags {
            if a == f {
                if let Some(v) = args.get(i + 1) {
                    out.push(*v);
                }
            } else if let Some(v) = a.strip_prefix(f).and_then(|v| v.strip_prefix('=')) {
                out.push(v);
            }
        }
    }
    out
}

/// Double- or single-quoted literals inside `text` right after `open` (`system("x")`).
fn quoted_after(text: &str, open: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(open) {
        let rest = text[i + open.len()..].trim_start();
        let Some(q) = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'))
        else {
            continue;
        };
        if let Some(end) = rest[1..].find(q) {
            out.push(rest[1..1 + end].to_owned());
        }
    }
    out
}

/// One vi/ex/ed command: `!cmd`, `:silent !cmd`, `r !cmd`, `w !cmd` (the buffer fed to a
/// command: a shell there runs the buffer), `lua …`/`python …` code.
fn editor_command(e: &mut Embedded, c: &str) {
    let mut c = c.trim().trim_start_matches(':').trim();
    // Modifiers and ranges before the command (`silent!`, `%`, `.,$`, `1`).
    loop {
        let before = c;
        for m in ["silent!", "silent", "keepalt", "noautocmd", "sil!", "sil"] {
            if let Some(rest) = c.strip_prefix(m) {
                c = rest.trim_start();
            }
        }
        c = c.trim_start_matches(|ch: char| {
            ch.is_ascii_digit() || matches!(ch, '%' | '.' | ',' | '$')
        });
        if c == before {
            break;
        }
    }
    if let Some(sh) = c.strip_prefix('!') {
        let t = sh.trim();
        if !t.is_empty() && e.shell.len() < 8 {
            e.shell.push((t.to_owned(), "editor !"));
        }
        return;
    }
    for verb in ["r ", "read ", "w ", "write ", "e ", "edit "] {
        if let Some(cmd) = c
            .strip_prefix(verb)
            .and_then(|r| r.trim_start().strip_prefix('!'))
        {
            let prog = cmd.split_whitespace().next().unwrap_or("");
            if verb.starts_with('w')
                && matches!(
                    prog.rsplit('/').next(),
                    Some("sh" | "bash" | "zsh" | "dash" | "python3" | "python")
                )
            {
                e.dynamic = Some("the editor feeds its buffer to a shell");
            } else if !cmd.trim().is_empty() && e.shell.len() < 8 {
                e.shell.push((cmd.trim().to_owned(), "editor !"));
            }
            return;
        }
    }
    script_strings(e, c);
}

/// Code given to an embedded language (`lua os.execute("…")`, `python os.system("…")`,
/// `call system("…")`, `script …`): the literal commands it runs, or dynamic.
fn script_strings(e: &mut Embedded, c: &str) {
    let mut found = false;
    for call in ["system(", "execute(", "popen(", "call_process(", "Popen("] {
        for lit in quoted_after(c, call) {
            if e.shell.len() < 8 {
                e.shell.push((lit, "embedded code"));
            }
            found = true;
        }
    }
    let code = [
        "lua ", "luado ", "python ", "python3 ", "py ", "py3 ", "pyfile ", "perl ", "ruby ",
        "script ", "call ",
    ]
    .iter()
    .any(|k| c.starts_with(k));
    if code
        && !found
        && [
            "system",
            "execute",
            "popen",
            "exec",
            "spawn",
            "subprocess",
            "remove",
            "rmtree",
            "unlink",
        ]
        .iter()
        .any(|k| c.contains(k))
    {
        e.dynamic = Some("embedded code runs a command or deletes a path that cannot be read");
    }
}

/// The commands `name args…` runs by its own means (`input`: its known stdin).
pub(crate) fn commands(name: &str, args: &[&str], input: Option<&str>) -> Embedded {
    let mut e = Embedded::default();
    let add = |e: &mut Embedded, cmd: &str, label: &'static str| {
        let c = cmd.trim();
        if !c.is_empty() && e.shell.len() < 8 {
            e.shell.push((c.to_owned(), label));
        }
    };
    match name {
        "awk" | "gawk" | "mawk" | "nawk" => {
            let program = args
                .iter()
                .enumerate()
                .find(|(i, a)| {
                    !a.starts_with('-')
                        && (*i == 0
                            || !matches!(
                                args[i - 1],
                                "-v" | "-F"
                                    | "-f"
                                    | "--assign"
                                    | "--field-separator"
                                    | "-i"
                                    | "--include"
                            ))
                })
                .map(|(_, a)| *a)
                .unwrap_or("");
            for c in quoted_after(program, "system(") {
                add(&mut e, &c, "awk system");
            }
            if program.contains("system(")
                && !program.contains("system(\"")
                && !program.contains("system('")
            {
                match input {
                    Some(text) if program.contains("system($0)") => {
                        for l in text.lines() {
                            add(&mut e, l, "awk system");
                        }
                    }
                    _ => e.dynamic = Some("awk runs a command built at run time"),
                }
            }
            // `"cmd" | getline`, `("cmd"|getline l)`, `print … | "cmd"`.
            let getlines: Vec<usize> = program
                .match_indices("| getline")
                .chain(program.match_indices("|getline"))
                .map(|(i, _)| i)
                .collect();
            for i in getlines {
                if let Some(c) = program[..i]
                    .trim_end()
                    .strip_suffix('"')
                    .and_then(|s| s.rsplit_once('"'))
                    .map(|(_, c)| c)
                {
                    add(&mut e, c, "awk getline");
                }
            }
            for c in quoted_after(program, "| ") {
                add(&mut e, &c, "awk pipe");
            }
            // `print "rm -rf ~" | "sh"`: what is printed into a shell is its script.
            for (i, _) in program.match_indices('|') {
                let to = program[i + 1..].trim_start();
                let Some(cmd) = to.strip_prefix('"').and_then(|t| t.split('"').next()) else {
                    continue;
                };
                let prog = cmd.split_whitespace().next().unwrap_or("");
                let prog = prog.rsplit('/').next().unwrap_or(prog);
                if !matches!(
                    prog,
                    "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" | "busybox"
                ) {
                    continue;
                }
                let stmt = &program[..i];
                let start = stmt.rfind("print").map_or(0, |p| p + 5);
                let printed = stmt[start..].trim().trim_start_matches('f').trim();
                match printed.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    Some(lit) if !lit.contains('"') => add(&mut e, lit, "awk print to a shell"),
                    _ => e.dynamic = Some("awk prints a command built at run time into a shell"),
                }
            }
        }
        "sed" | "gsed" => {
            let mut scripts = after(args, &["-e", "--expression"]);
            if scripts.is_empty() {
                if let Some(s) = args.iter().find(|a| !a.starts_with('-')) {
                    scripts.push(s);
                }
            }
            for s in scripts {
                for part in s.split([';', '\n']) {
                    let p = part.trim_start_matches(|c: char| {
                        c.is_ascii_digit() || c == '$' || c == ',' || c.is_whitespace()
                    });
                    if let Some(cmd) = p.strip_prefix("e ") {
                        add(&mut e, cmd, "sed e");
                    } else if p == "e" {
                        e.dynamic = Some("sed runs its pattern space as a command");
                    }
                    // `s/x/y/e`: the replacement is executed.
                    if p.starts_with('s') && p.len() > 2 {
                        let d = p.as_bytes()[1] as char;
                        let fields: Vec<&str> = p[1..].split(d).collect();
                        if fields.len() >= 4 && fields[3].contains('e') {
                            e.dynamic = Some("sed's `e` flag runs the replaced text as a command");
                        }
                    }
                }
            }
        }
        "vim" | "vi" | "nvim" | "ex" | "view" | "gvim" | "vimdiff" | "less" | "more" | "man" => {
            if name == "man" {
                // `man -P CMD`: the pager is a command line.
                for c in after(args, &["-P", "--pager"]) {
                    add(&mut e, c, "man pager");
                }
            }
            let mut cmds: Vec<&str> = after(args, &["-c", "--cmd", "-S"]);
            // `ex -sc CMD`: `c` at the end of a short-option cluster.
            for (i, a) in args.iter().enumerate() {
                if a.len() > 2 && a.starts_with('-') && !a.starts_with("--") && a.ends_with('c') {
                    cmds.extend(args.get(i + 1));
                }
            }
            cmds.extend(args.iter().filter_map(|a| a.strip_prefix('+')));
            if let Some(text) =
                input.filter(|_| args.iter().any(|a| *a == "-s" || *a == "-es" || *a == "-"))
            {
                cmds.extend(text.lines());
            }
            for c in cmds {
                editor_command(&mut e, c);
            }
        }
        "ed" | "red" => {
            // ed's commands arrive on stdin; `!cmd` runs a shell command, `w !cmd` feeds it.
            if let Some(text) = input {
                for l in text.lines() {
                    editor_command(&mut e, l);
                }
            }
        }
        "m4" => {
            let texts: Vec<&str> = input
                .into_iter()
                .chain(args.iter().copied().filter(|a| !a.starts_with('-')))
                .collect();
            for t in texts {
                for key in ["esyscmd(", "syscmd("] {
                    for (i, _) in t.match_indices(key) {
                        let body = &t[i + key.len()..];
                        let end = body.rfind(')').unwrap_or(body.len());
                        add(&mut e, &body[..end], "m4 syscmd");
                    }
                }
            }
        }
        "tar" | "gtar" | "bsdtar" => {
            for c in after(
                args,
                &[
                    "--checkpoint-action",
                    "--to-command",
                    "--use-compress-program",
                    "-I",
                    "--rsh-command",
                    "--info-script",
                    "--new-volume-script",
                    "-F",
                ],
            ) {
                add(&mut e, c.strip_prefix("exec=").unwrap_or(c), "tar command");
            }
        }
        "zip" => {
            for c in after(args, &["-TT", "--unzip-command"]) {
                add(&mut e, c, "zip -TT");
            }
        }
        "rsync" => {
            for c in after(args, &["-e", "--rsh"]) {
                add(&mut e, c, "rsync -e");
            }
        }
        "ssh" | "scp" | "sftp" | "autossh" | "slogin" => {
            // `sftp -S prog`, `scp -S prog`: the transport program runs here.
            if name != "ssh" {
                for c in after(args, &["-S"]) {
                    add(&mut e, c, "ssh program");
                }
            }
            // `-F /tmp/cfg`: a config from a temp directory can hold any ProxyCommand.
            if after(args, &["-F"]).iter().any(|f| {
                ["/tmp/", "/var/tmp/", "/dev/shm/"]
                    .iter()
                    .any(|t| f.starts_with(t))
            }) {
                e.dynamic = Some(
                    "ssh reads a configuration from a temp directory, which can run any command",
                );
            }
            // `-o ProxyCommand=…` / `-oLocalCommand …`: run on this machine, not the remote.
            let opts = args.iter().enumerate().filter_map(|(i, a)| match *a {
                "-o" => args.get(i + 1).copied(),
                _ => a.strip_prefix("-o").filter(|v| !v.is_empty()),
            });
            for o in opts {
                let (k, v) = o
                    .split_once('=')
                    .or_else(|| o.split_once(char::is_whitespace))
                    .unwrap_or((o, ""));
                let k = k.trim().to_ascii_lowercase();
                if matches!(
                    k.as_str(),
                    "proxycommand" | "localcommand" | "knownhostscommand"
                ) && !v.trim().is_empty()
                    && v.trim() != "none"
                {
                    add(&mut e, v.trim(), "ssh local command");
                }
            }
        }
        "nodemon" | "watchexec" | "concurrently" | "chokidar" | "onchange" | "reflex" => {
            let flags: &[&str] = match name {
                "nodemon" => &["--exec", "-x"],
                "chokidar" => &["-c", "--command"],
                _ => &[],
            };
            for c in after(args, flags) {
                add(&mut e, c, "watcher command");
            }
            match name {
                // `concurrently 'cmd1' 'cmd2'`: every positional is a command line.
                "concurrently" => {
                    for c in args.iter().filter(|a| !a.starts_with('-')) {
                        add(&mut e, c, "concurrently");
                    }
                }
                // `watchexec -- cmd args`, `watchexec 'cmd'`, `onchange 'glob' -- cmd`.
                "watchexec" | "onchange" | "reflex" => {
                    if let Some(i) = args.iter().position(|a| *a == "--") {
                        add(&mut e, &join_argv(&args[i + 1..]), "watcher command");
                    } else if name == "watchexec" {
                        if let Some(c) = args.iter().rev().find(|a| !a.starts_with('-')) {
                            add(&mut e, c, "watcher command");
                        }
                    }
                }
                _ => {}
            }
        }
        "entr" => {
            // `entr [-s] CMD…`: `-s` hands the first argument to a shell.
            // entr's own options come first; everything from the command on is its argv.
            let pos: Vec<&str> = args
                .iter()
                .copied()
                .skip_while(|a| a.starts_with('-'))
                .collect();
            if args
                .iter()
                .take_while(|a| a.starts_with('-'))
                .any(|a| a.contains('s'))
            {
                if let Some(c) = pos.first() {
                    add(&mut e, c, "entr -s");
                }
            } else if !pos.is_empty() {
                add(&mut e, &join_argv(&pos), "entr");
            }
        }
        "expect" => {
            for s in after(args, &["-c"]) {
                for part in s.split([';', '\n']) {
                    let p = part.trim();
                    if let Some(cmd) = p.strip_prefix("spawn ").or(p.strip_prefix("exec ")) {
                        add(&mut e, cmd, "expect spawn");
                    }
                }
            }
        }
        "gdb" | "lldb" => {
            for c in after(args, &["-ex", "--ex", "-iex", "-o", "--one-line"]) {
                if let Some(sh) = c
                    .strip_prefix("shell ")
                    .or(c.strip_prefix('!'))
                    .or(c.strip_prefix("platform shell "))
                {
                    add(&mut e, sh, "gdb shell");
                } else {
                    // `python os.system("…")`, `call system("…")`, `script …`.
                    script_strings(&mut e, c);
                }
            }
            if let Some(i) = args.iter().position(|a| *a == "--args" || *a == "--") {
                add(&mut e, &join_argv(&args[i + 1..]), "gdb --args");
            }
        }
        "emacs" | "emacsclient" => {
            for c in after(args, &["--eval", "-eval"]) {
                for lit in quoted_after(c, "(shell-command ") {
                    add(&mut e, &lit, "emacs shell-command");
                }
                if c.contains("call-process")
                    || c.contains("start-process")
                    || c.contains("delete-directory")
                {
                    e.dynamic = Some("Emacs Lisp that runs processes or deletes directories");
                }
            }
        }
        "psql" | "mysql" | "mariadb" | "sqlite3" | "duckdb" => {
            let mut texts: Vec<&str> = after(args, &["-c", "--command", "-e", "--execute", "-cmd"]);
            texts.extend(args.iter().filter(|a| a.starts_with('.')).copied());
            if let Some(t) = input {
                texts.push(t);
            }
            for t in texts {
                // `COPY … TO PROGRAM 'cmd'` / `FROM PROGRAM 'cmd'` run a shell command.
                for (i, _) in t.to_ascii_uppercase().match_indices("PROGRAM ") {
                    if let Some(lit) = t[i + 8..].trim_start().strip_prefix('\'') {
                        if let Some(end) = lit.find('\'') {
                            add(&mut e, &lit[..end], "COPY … PROGRAM");
                        }
                    }
                }
                for line in t.lines().flat_map(|l| l.split(';')) {
                    let l = line.trim();
                    if let Some(sh) = l
                        .strip_prefix("\\!")
                        .or(l.strip_prefix(".shell "))
                        .or(l.strip_prefix(".system "))
                        .or(l.strip_prefix("system "))
                    {
                        add(&mut e, sh, "database shell escape");
                    }
                    // `.output '|sh'`, `.once |cmd`: query results piped into a command.
                    if let Some(target) = l.strip_prefix(".output ").or(l.strip_prefix(".once ")) {
                        let target = target.trim().trim_matches(['\'', '"']);
                        if let Some(cmd) = target.strip_prefix('|') {
                            let prog = cmd.split_whitespace().next().unwrap_or("");
                            if matches!(
                                prog.rsplit('/').next(),
                                Some("sh" | "bash" | "zsh" | "dash")
                            ) {
                                e.dynamic = Some("query results are piped into a shell");
                            } else {
                                add(&mut e, cmd, "database output pipe");
                            }
                        }
                    }
                }
            }
        }
        "tmux" => {
            let sub = args
                .iter()
                .find(|a| !a.starts_with('-'))
                .copied()
                .unwrap_or("");
            if matches!(
                sub,
                "new"
                    | "new-session"
                    | "new-window"
                    | "neww"
                    | "split-window"
                    | "splitw"
                    | "respawn-pane"
                    | "run-shell"
                    | "run"
            ) {
                let valued = ["-s", "-n", "-t", "-c", "-x", "-y", "-e", "-F", "-l"];
                let mut i = args.iter().position(|a| *a == sub).map_or(0, |p| p + 1);
                while let Some(a) = args.get(i).filter(|a| a.starts_with('-')) {
                    i += if valued.contains(a) { 2 } else { 1 };
                }
                if i < args.len() {
                    add(&mut e, &args[i..].join(" "), "tmux");
                }
            } else if sub == "send-keys" || sub == "send" {
                let text: Vec<&str> = args
                    .iter()
                    .skip_while(|a| **a != sub)
                    .skip(1)
                    .filter(|a| !a.starts_with('-') && !matches!(**a, "Enter" | "C-m"))
                    .copied()
                    .collect();
                if let Some(last) = text.last() {
                    add(&mut e, last, "tmux send-keys");
                }
            }
        }
        "screen" => {
            // Options taking a value, also at the end of a cluster (`-dmS name`).
            const VALUED: &[char] = &['S', 'c', 'e', 'h', 'p', 'T', 't', 'X'];
            let mut i = 0;
            let mut remote = None;
            while let Some(a) = args.get(i).filter(|a| a.starts_with('-')) {
                let last = a.chars().last().unwrap_or('-');
                let takes = !a.starts_with("--") && a.len() >= 2 && VALUED.contains(&last);
                if takes && last == 'X' {
                    remote = Some(i + 1);
                }
                i += if takes || *a == "-Logfile" { 2 } else { 1 };
            }
            if let Some(r) = remote {
                // `screen -S s -X stuff TEXT` types TEXT into the session's shell;
                // `-X exec CMD` / `-X screen CMD` start CMD there.
                match args.get(r).copied() {
                    Some("stuff") => {
                        if let Some(text) = args.get(r + 1) {
                            let t = text.replace("\\n", "\n").replace("^M", "\n");
                            for l in t.lines() {
                                add(&mut e, l, "screen stuff");
                            }
                        }
                    }
                    Some("exec" | "screen") => {
                        add(&mut e, &args[r + 1..].join(" "), "screen -X");
                    }
                    _ => {}
                }
            } else if i < args.len() {
                add(&mut e, &join_argv(&args[i..]), "screen");
            }
        }
        "schtasks" => {
            for c in after(args, &["/tr", "/TR", "/Tr"]) {
                add(&mut e, c, "scheduled task");
            }
        }
        "crontab" => {
            // `crontab -` / `crontab <<<`: each entry's command runs later, unseen.
            let from_stdin = args.is_empty() || args.contains(&"-");
            if let Some(text) = input.filter(|_| from_stdin) {
                for l in text.lines().map(str::trim) {
                    if l.is_empty()
                        || l.starts_with('#')
                        || l.split_once('=').is_some_and(|(k, _)| !k.contains(' '))
                    {
                        continue;
                    }
                    // Five time fields, or one `@reboot`-style nickname, then the command.
                    let skip = if l.starts_with('@') { 1 } else { 5 };
                    let cmd: Vec<&str> = l.split_whitespace().skip(skip).collect();
                    if !cmd.is_empty() {
                        add(&mut e, &cmd.join(" "), "cron job");
                    }
                }
            }
        }
        // `go build -toolexec=/tmp/x`, `go test -exec sudo`: a program run around every tool
        // call or test binary.
        "go" => {
            for v in after(args, &["-toolexec", "-exec"]) {
                add(&mut e, v, "go -toolexec");
            }
        }
        // `./gradlew --init-script <(curl …) build`: a build script made at run time.
        "gradle" | "gradlew" | "./gradlew"
            if after(args, &["--init-script", "-I"]).iter().any(|v| {
                v.starts_with("<(") || v.starts_with("http://") || v.starts_with("https://")
            }) =>
        {
            e.dynamic = Some("its init script is made or fetched at run time");
        }
        // `mvn exec:exec -Dexec.executable=bash -Dexec.args='-c …'`: the program the goal runs.
        "mvn" | "mvnw" | "./mvnw" => {
            let prop = |k: &str| {
                args.iter()
                    .find_map(|a| a.strip_prefix("-D").and_then(|d| d.strip_prefix(k)))
                    .and_then(|v| v.strip_prefix('='))
            };
            if let Some(exe) = prop("exec.executable") {
                let line = match prop("exec.args") {
                    Some(a) => format!("{} {a}", quote(exe)),
                    None => quote(exe),
                };
                add(&mut e, &line, "mvn exec");
            }
        }
        // `claude mcp add NAME -- cmd …`, `codex mcp add NAME -- cmd …`: a server the agent
        // starts by itself from now on, graded as if run.
        "claude" | "codex" | "gemini" | "cursor-agent"
            if args.first() == Some(&"mcp") && args.get(1) == Some(&"add") =>
        {
            if let Some(i) = args.iter().position(|a| *a == "--") {
                if let Some(rest) = args.get(i + 1..).filter(|r| !r.is_empty()) {
                    add(&mut e, &join_argv(rest), "mcp server");
                }
            }
        }
        // `adb shell CMD…`: a command line run on the device.
        "adb" => {
            let mut i = 0;
            while let Some(a) = args.get(i).filter(|a| a.starts_with('-')) {
                i += if matches!(*a, "-s" | "-t" | "-H" | "-P" | "-L") {
                    2
                } else {
                    1
                };
            }
            if args.get(i) == Some(&"shell") {
                if let Some(rest) = args
                    .get(i + 1..)
                    .filter(|r| !r.is_empty() && !r[0].starts_with('-'))
                {
                    add(&mut e, &rest.join(" "), "adb shell");
                }
            }
        }
        // `Rscript -e 'source("https://…")'`: code fetched and run.
        "Rscript" | "R"
            if after(args, &["-e"]).iter().any(|c| {
                c.contains("source(\"http")
                    || c.contains("source('http")
                    || c.contains("source(url(")
            }) =>
        {
            e.dynamic = Some("R code fetched from the network is run");
        }
        // `npm exec -c 'cmd'`, `npm exec --call='cmd'`: a shell command line.
        "npm" | "pnpm" if args.first() == Some(&"exec") => {
            for c in after(args, &["-c", "--call"]) {
                add(&mut e, c, "npm exec -c");
            }
        }
        // `wsl -d Ubuntu -- rm -rf /home/dev`, `wsl -e cmd …`: a Linux command line.
        "wsl" | "wsl.exe" => {
            let at = args
                .iter()
                .position(|a| matches!(*a, "--" | "-e" | "--exec"))
                .map(|i| i + 1);
            if let Some(rest) = at.and_then(|i| args.get(i..)).filter(|r| !r.is_empty()) {
                add(&mut e, &join_argv(rest), "wsl");
            }
        }
        "at" | "batch" => match input {
            Some(text) => {
                for l in text.lines() {
                    add(&mut e, l, "at job");
                }
            }
            None if !args.iter().any(|a| matches!(*a, "-l" | "-r" | "-d" | "-c")) => {
                e.dynamic = Some("`at` schedules commands read later from its input");
            }
            None => {}
        },
        "sg" | "newgrp" => {
            if let Some(c) = after(args, &["-c"]).first() {
                add(&mut e, c, "sg -c");
            } else if args.len() >= 2 && !args[1].starts_with('-') {
                add(&mut e, &args[1..].join(" "), "sg");
            }
        }
        "script" => {
            // `script -qc CMD`: `c` inside a short-option cluster.
            if let Some(i) = args.iter().position(|a| {
                (a.starts_with('-') && !a.starts_with("--") && a.ends_with('c'))
                    || *a == "--command"
            }) {
                if let Some(c) = args.get(i + 1) {
                    add(&mut e, c, "script -c");
                }
            }
        }
        "cmd" | "cmd.exe" => {
            if let Some(i) = args
                .iter()
                .position(|a| a.eq_ignore_ascii_case("/c") || a.eq_ignore_ascii_case("/k"))
            {
                let text = args[i + 1..].join(" ").replace('\\', "/");
                // cmd's own separators (`a && b`, `a & b`, `a || b`): each command in turn.
                let parts: Vec<String> = text
                    .split("&&")
                    .flat_map(|p| p.split("||"))
                    .flat_map(|p| p.split('&'))
                    .map(|p| cmd_exe_command(p.trim()))
                    .filter(|p| !p.is_empty())
                    .collect();
                if !parts.is_empty() {
                    add(&mut e, &parts.join(" ; "), "cmd.exe");
                }
            }
        }
        "rimraf" | "del-cli" | "trash" | "trash-put" | "rmrf" => {
            let targets: Vec<String> = args
                .iter()
                .filter(|a| !a.starts_with('-'))
                .map(|a| quote(a))
                .collect();
            if !targets.is_empty() {
                add(&mut e, &format!("rm -rf {}", targets.join(" ")), "rimraf");
            }
        }
        "docker" | "podman" | "nerdctl" => {
            // `docker run -v /:/host img rm -rf /host`: the host's root inside the container.
            if args.first() != Some(&"run") {
                return e;
            }
            let valued = [
                "-v",
                "--volume",
                "-e",
                "--env",
                "--name",
                "-w",
                "--workdir",
                "-p",
                "--publish",
                "--entrypoint",
                "--network",
                "--net",
                "-u",
                "--user",
                "--mount",
                "--platform",
                "-h",
                "--hostname",
                "--env-file",
                "--label",
                "-l",
                "--cpus",
                "-m",
                "--memory",
                "--pid",
                "--ipc",
                "--device",
                "--cap-add",
                "--add-host",
            ];
            let mut mounts: Vec<(String, String)> = Vec::new();
            let mut i = 1;
            while let Some(a) = args.get(i).filter(|a| a.starts_with('-')) {
                if matches!(*a, "-v" | "--volume") {
                    if let Some((host, ctr)) = args.get(i + 1).and_then(|v| v.split_once(':')) {
                        mounts.push((
                            host.to_owned(),
                            ctr.split(':').next().unwrap_or(ctr).to_owned(),
                        ));
                    }
                }
                i += if valued.contains(a) { 2 } else { 1 };
            }
            let rest = args.get(i + 1..).unwrap_or(&[]);
            if rest.is_empty() || mounts.is_empty() {
                return e;
            }
            // Map container paths back onto the host paths they are.
            let mapped: Vec<String> = rest
                .iter()
                .map(|w| {
                    let mut t = (*w).to_owned();
                    for (host, ctr) in &mounts {
                        if ctr != "/" && (t == *ctr || t.starts_with(&format!("{ctr}/"))) {
                            let h = if host == "/" { "" } else { host.as_str() };
                            t = format!("{h}{}", &t[ctr.len()..]);
                            if t.is_empty() {
                                t = "/".into();
                            }
                        }
                    }
                    quote(&t)
                })
                .collect();
            add(&mut e, &mapped.join(" "), "container with host mounts");
        }
        _ => {}
    }
    e
}

/// One cmd.exe command as the shell command it amounts to: `rd /s /q x` is `rm -rf x`, `del
/// x` is `rm -f x`, `format` erases a disk; anything else is read as written.
fn cmd_exe_command(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = text.split_whitespace().collect();
    let targets: Vec<&str> = words
        .iter()
        .skip(1)
        .filter(|w| !w.starts_with('/'))
        .copied()
        .collect();
    let recursive = words.iter().any(|w| w.eq_ignore_ascii_case("/s"));
    if ["rd ", "rmdir ", "del ", "erase "]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        let t = targets
            .iter()
            .map(|t| quote(&t.replace("C:", "/").replace("c:", "/")))
            .collect::<Vec<_>>()
            .join(" ");
        format!("rm {}f {t}", if recursive { "-r" } else { "-" })
    } else if lower.starts_with("format ") {
        "mkfs /dev/sda".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::commands;

    #[test]
    fn finds_hidden_commands() {
        let c = |n: &str, a: &[&str]| {
            commands(n, a, None)
                .shell
                .into_iter()
                .map(|(s, _)| s)
                .collect::<Vec<_>>()
        };
        assert_eq!(c("awk", &["BEGIN{system(\"rm -rf ~\")}"]), vec!["rm -rf ~"]);
        assert_eq!(
            c("sed", &["-n", "1e rm -rf ~", "/dev/null"]),
            vec!["rm -rf ~"]
        );
        assert_eq!(
            c("vim", &["-c", ":!rm -rf ~", "-c", ":q"]),
            vec!["rm -rf ~"]
        );
        assert_eq!(
            c("tar", &["cf", "x", "--checkpoint-action=exec=rm -rf ~"]),
            vec!["rm -rf ~"]
        );
        assert_eq!(
            c(
                "docker",
                &["run", "-v", "/:/host", "alpine", "rm", "-rf", "/host"]
            ),
            vec!["rm -rf /"]
        );
        assert!(c("awk", &["{print $1}"]).is_empty());
        assert!(c("docker", &["run", "alpine", "ls"]).is_empty());
    }
}
