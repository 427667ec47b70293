//! Handlers for programs that run other programs or code (interpreters, PowerShell, `ssh`,
//! `watch`, `parallel`, task runners, containers, `git`), that stop processes and services,
//! and the pipeline traits of filters (decoders, downloaders, `echo` of SQL).

use super::dispatch::Call;
use super::*;

impl Walker<'_> {
    /// Re-grades `text` as a shell string some program parses again.
    pub(super) fn reparse(&mut self, text: &str, depth: usize, label: &str) {
        self.reparsed += 1;
        self.text(text, depth + 1, Some(label.to_owned()));
        self.reparsed -= 1;
    }

    /// PowerShell's `Invoke-Expression` (only as a cmdlet).
    pub(super) fn h_invoke_expression(&mut self, c: &mut Call<'_>) {
        // Outside PowerShell `iex` is no command, unless a download is piped into it
        // (`iwr https://… | iex`), which only means one thing.
        if !self.powershell && !c.pipe_in.downloads {
            return;
        }
        if let Some(code) = positionals(c.args).next() {
            let text = code.text.clone();
            self.reparse(&text, c.depth, "Invoke-Expression");
        } else if c.pipe_in.downloads {
            // `iwr https://… | iex`
            self.push(
                r::CURL_PIPE_SHELL.finding(
                    "A download piped into `Invoke-Expression` runs unreviewed remote code.",
                ),
            );
            c.intent = Intent::Destructive;
        } else if self.in_pipe {
            self.push(p::INTERPRETER_DYNAMIC.finding(
                "`Invoke-Expression` runs text piped in at run time, which cannot be read.",
            ));
        }
    }

    pub(super) fn h_parallel(&mut self, c: &mut Call<'_>) {
        // `parallel --pipe CMD`: the input is cut into blocks fed to CMD's stdin, so CMD is a
        // pipeline stage reading it (`echo 'rm -rf ~' | parallel --pipe sh`).
        if c.args
            .iter()
            .any(|a| matches!(a.text.as_str(), "--pipe" | "--pipepart" | "--spreadstdin"))
        {
            const VALUED: &[&str] = &[
                "-j",
                "--jobs",
                "--block",
                "--block-size",
                "-N",
                "--recstart",
                "--recend",
            ];
            let mut i = 0;
            while let Some(a) = c.args.get(i).filter(|a| is_flag(a)) {
                i += if VALUED.contains(&a.text.as_str()) {
                    2
                } else {
                    1
                };
            }
            let cmd: Vec<String> = c
                .args
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .map(|a| quote(&a.text))
                .collect();
            if cmd.is_empty() {
                return;
            }
            match c.input {
                Some(text) => {
                    let line = format!("printf '%s' {} | {}", quote(text), cmd.join(" "));
                    self.text(&line, c.depth + 1, Some("parallel --pipe".to_owned()));
                }
                None => {
                    let t = self.text(
                        &cmd.join(" "),
                        c.depth + 1,
                        Some("parallel --pipe".to_owned()),
                    );
                    c.traits.runs_stdin |= t.runs_stdin;
                }
            }
            c.intent = Intent::Readonly;
            return;
        }
        c.intent = self.parallel(c.args, c.depth);
    }

    /// Package managers installing from a URL or a repository instead of a registry.
    pub(super) fn h_package(&mut self, c: &mut Call<'_>) {
        let (name, args) = (c.name, c.args);
        let remote = |t: &str| {
            let l = t.to_ascii_lowercase();
            l.starts_with("git+")
                || l.starts_with("http://")
                || l.starts_with("https://")
                || l.starts_with("git://")
                || l.starts_with("ssh://")
                || l.starts_with("github:")
                || l.starts_with("gitlab:")
                || l.starts_with("bitbucket:")
                || (l.contains(" @ ") && l.contains("://"))
        };
        let pos: Vec<&str> = positionals(args).map(|w| w.text.as_str()).collect();
        let installs = match name {
            "cargo" => pos.first() == Some(&"install"),
            "pipx" | "uvx" | "uv" | "pip" | "pip3" | "npm" | "pnpm" | "yarn" | "bun" | "gem" => {
                name == "uvx"
                    || pos.iter().take(2).any(|p| {
                        matches!(
                            *p,
                            "install" | "i" | "add" | "run" | "tool" | "x" | "exec" | "dlx"
                        )
                    })
            }
            _ => false,
        };
        // `npm config set script-shell /tmp/x.sh`: a program every later `npm run` starts.
        if matches!(name, "npm" | "pnpm" | "yarn")
            && pos.first() == Some(&"config")
            && pos.get(1) == Some(&"set")
        {
            let (key, value) = match (pos.get(2), pos.get(3)) {
                (Some(kv), None) => kv.split_once('=').unwrap_or((kv, "")),
                (Some(k), Some(v)) => (*k, *v),
                _ => ("", ""),
            };
            let key = key.trim_start_matches("--").to_ascii_lowercase();
            match key.as_str() {
                "script-shell" | "shell" | "git" | "editor" | "browser" | "viewer"
                    if !value.is_empty() =>
                {
                    let v = value.to_owned();
                    self.reparse(&v, c.depth, "npm config");
                }
                "node-options" => self.load_var("NODE_OPTIONS", Some(value)),
                _ => {}
            }
        }
        // `npm pkg set scripts.prepare=…`, `composer config scripts.post-install-cmd …`: a
        // script the package manager runs later (lifecycle ones on the next install, unasked),
        // graded now as if it ran.
        let script = match (name, pos.first(), pos.get(1)) {
            ("npm" | "pnpm", Some(&"pkg"), Some(&"set")) => pos
                .get(2)
                .and_then(|kv| kv.strip_prefix("scripts."))
                .and_then(|kv| kv.split_once('='))
                .map(|(_, cmd)| cmd),
            ("npm", Some(&"set-script"), Some(_)) => pos.get(2).copied(),
            ("composer", Some(&"config"), Some(k)) if k.starts_with("scripts.") => pos
                .get(2)
                .copied()
                // A PHP callback (`Vendor\\Class::method`) is code in the project, not a command.
                .filter(|v| !v.contains("::") || v.contains(' ')),
            _ => None,
        };
        if let Some(cmd) = script.filter(|c| !c.is_empty()) {
            let cmd = cmd.to_owned();
            self.reparse(&cmd, c.depth, "package script");
        }
        // A build script written in this command runs at the build (`build.rs`), like the
        // install scripts of a `package.json` written in this command.
        if name == "cargo"
            && pos.first().is_some_and(|v| {
                matches!(
                    *v,
                    "build"
                        | "b"
                        | "run"
                        | "r"
                        | "test"
                        | "t"
                        | "check"
                        | "c"
                        | "bench"
                        | "install"
                        | "clippy"
                        | "doc"
                )
            })
        {
            // `build.rs` and proc macros run at build time, the rest when built code runs.
            self.grade_written_sources(&[".rs"], "rustc", c.depth);
        }
        // `cargo make TASK` after writing `Makefile.toml`: its task scripts and commands run.
        if name == "cargo" && pos.first() == Some(&"make") {
            if let Some(toml) = self.written_named("Makefile.toml").flatten() {
                let text = cargo_make_commands(&toml);
                if !text.trim().is_empty() {
                    self.text(&text, c.depth + 1, Some("cargo make task".to_owned()));
                }
            }
        }
        if matches!(name, "npm" | "pnpm" | "yarn")
            && pos
                .first()
                .is_none_or(|v| matches!(*v, "install" | "i" | "ci" | "add"))
        {
            let manifest = format!("{}/package.json", self.cwd.trim_end_matches('/'));
            if let Some(json) = self.written_text(&manifest).flatten() {
                self.manifest_scripts(&json, c.depth);
            }
        }
        if !installs {
            return;
        }
        self.local_package_scripts(name, &pos, c.depth);
        if c.sudo && name != "uvx" && !matches!(pos.first(), Some(&("run" | "x" | "exec"))) {
            self.push(p::ROOT_PACKAGE_INSTALL.finding(format!(
                "`sudo {name}` installs packages as root: their install scripts run with full privileges."
            )));
        }
        let from = args.iter().enumerate().find_map(|(i, a)| {
            let t = a.text.as_str();
            if matches!(
                t,
                "--git" | "--from" | "--spec" | "--index-url" | "-i" | "--source"
            ) && matches!(name, "cargo" | "uvx" | "uv" | "pipx")
                || (t == "--git" && name == "cargo")
            {
                return args
                    .get(i + 1)
                    .map(|w| w.text.as_str())
                    .filter(|v| remote(v));
            }
            let v = t
                .strip_prefix("--git=")
                .or_else(|| t.strip_prefix("--from="))
                .or_else(|| t.strip_prefix("--spec="))
                .or_else(|| t.strip_prefix("--package="))
                .unwrap_or(t);
            remote(v).then_some(v)
        });
        // Indexes run by the projects they serve (PyTorch's wheels, NVIDIA's): a registry.
        let from = from.filter(|url| {
            let host = super::super::exfil::host_of(url).unwrap_or_default();
            !OFFICIAL_INDEXES.iter().any(|h| host == *h)
                || !args.iter().any(|a| {
                    matches!(
                        a.text.as_str(),
                        "--index-url" | "-i" | "--extra-index-url" | "-f" | "--find-links"
                    ) || a.text.starts_with("--index-url=")
                        || a.text.starts_with("--extra-index-url=")
                })
        });
        if let Some(url) = from {
            self.push(p::INSTALL_FROM_URL.finding(format!(
                "`{name}` installs from `{}`, not a registry: its build scripts run unreviewed.",
                clip(url, 80)
            )));
        }
    }

    /// `pip install ./p`, `npm install ./q`, `gem install ./x.gem`: a local package runs its
    /// own build or install scripts. One written in this command is graded from what was
    /// written (`setup.py` as Python, `package.json`'s install scripts as shell); one in a temp
    /// directory cannot be read and needs approval. The project's own (`pip install -e .`) is
    /// the project's code.
    fn local_package_scripts(&mut self, name: &str, pos: &[&str], depth: usize) {
        for p in pos
            .iter()
            .skip(1)
            .filter(|p| p.starts_with(['.', '/', '~']))
        {
            let dir = paths::resolve(p, &self.cwd, self.ctx.home);
            if paths::is_temp(&dir) && !paths::is_inside(&dir, self.ctx.workspace) {
                self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "`{name}` installs `{}` from a temp directory; its build scripts cannot be read.",
                    clip(p, 60)
                )));
                continue;
            }
            let written_at = |this: &Self, file: &str| {
                this.written_text(&format!("{}/{file}", dir.trim_end_matches('/')))
                    .flatten()
            };
            let setup = written_at(self, "setup.py");
            let package = written_at(self, "package.json");
            if let Some(code) = setup {
                let mut facts = Facts::default();
                self.grade_code("python3", &code, depth, &mut facts);
            }
            if let Some(json) = package {
                self.manifest_scripts(&json, depth);
            }
        }
    }

    /// The install scripts of a `package.json` written in this command, graded as run.
    fn manifest_scripts(&mut self, json: &str, depth: usize) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
            return;
        };
        for hook in ["preinstall", "install", "postinstall", "prepare"] {
            if let Some(cmd) = v
                .pointer(&format!("/scripts/{hook}"))
                .and_then(|c| c.as_str())
            {
                let cmd = cmd.to_owned();
                self.reparse(&cmd, depth, "package install script");
            }
        }
    }

    /// Compiled languages run from source: `go run x.go`, `java X.java` (single-file launch),
    /// `tcc -run x.c`, and compilers given a source written in this command or on stdin
    /// (`javac Y.java && java Y`, `cc -xc - <<< …`): the source is read for its shell-outs.
    /// `go run module@version` fetches and runs code from a repository.
    pub(super) fn h_compiled(&mut self, c: &mut Call<'_>) {
        let pos: Vec<&Word> = positionals(c.args).collect();
        if c.name == "go" {
            let sub = pos.first().map(|w| w.text.as_str());
            if matches!(
                sub,
                Some("build" | "run" | "test" | "generate" | "install" | "vet")
            ) {
                self.grade_written_sources(&[".go"], "go", c.depth);
            }
            if sub != Some("run") {
                return;
            }
            if let Some(m) = pos
                .get(1)
                .filter(|w| w.text.contains('@') && w.text.contains('/'))
            {
                self.push(p::INSTALL_FROM_URL.finding(format!(
                    "`go run {}` fetches a module and runs it unreviewed.",
                    clip(&m.text, 60)
                )));
                return;
            }
        }
        const SOURCES: &[&str] = &[".go", ".java", ".c", ".cc", ".cpp", ".cxx", ".rs"];
        let sources: Vec<&Word> = pos
            .iter()
            .copied()
            .filter(|w| SOURCES.iter().any(|e| w.text.ends_with(e)))
            .take(4)
            .collect();
        for src in sources {
            self.exec_script(src, ScriptKind::Interpreter, c.depth, &mut c.facts, false);
        }
        // `cc -xc - <<< 'int main(){system("…");}'`, `tcc -run - <<< …`.
        if c.args.iter().any(|a| a.text == "-") {
            if let Some(code) = c.input {
                let code = code.to_owned();
                self.grade_code(c.name, &code, c.depth, &mut c.facts);
            } else if self.in_pipe {
                self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "`{}` compiles source piped in at run time, which cannot be read.",
                    c.name
                )));
            }
        }
    }

    /// `make`, `npm run`, `just`, …: recipes and scripts defined in the same command.
    pub(super) fn h_scripts(&mut self, c: &mut Call<'_>) {
        if matches!(c.name, "npm" | "pnpm" | "yarn") {
            self.h_package(c);
        }
        self.scripts_run(c.name, c.args, c.input, c.depth);
    }

    /// `jupyter nbconvert --execute nb.ipynb`, `jupyter execute nb.ipynb`, `papermill in.ipynb
    /// out.ipynb`: a notebook's cells run. One fetched from a URL or downloaded earlier in this
    /// line is remote code run unreviewed.
    pub(super) fn h_notebook(&mut self, c: &mut Call<'_>) {
        let pos: Vec<&Word> = positionals(c.args).collect();
        let runs = match c.name {
            "papermill" => true,
            "jupyter-execute" => true,
            "jupyter-nbconvert" => c.args.iter().any(|a| a.text == "--execute"),
            _ => match pos.first().map(|w| w.text.as_str()) {
                Some("execute" | "run") => true,
                Some("nbconvert") => c.args.iter().any(|a| a.text == "--execute"),
                _ => false,
            },
        };
        if !runs {
            return;
        }
        for w in pos.iter().filter(|w| {
            let t = w.text.as_str();
            t.ends_with(".ipynb") || t.starts_with("http://") || t.starts_with("https://")
        }) {
            let t = w.text.as_str();
            let fetched = t.starts_with("http://") || t.starts_with("https://") || {
                let r = paths::resolve(t, &self.cwd, self.ctx.home);
                self.downloaded.iter().any(|d| paths::is_inside(&r, d))
            };
            if fetched {
                self.push(r::CURL_PIPE_SHELL.finding(format!(
                    "`{}` runs the notebook `{}`, fetched from the network (unreviewed remote code).",
                    c.name,
                    clip(t, 80)
                )));
                c.intent = Intent::Destructive;
                return;
            }
            // papermill's second positional is where the output goes.
            if c.name == "papermill" {
                break;
            }
        }
    }

    /// `dotnet build`, `msbuild`: MSBuild files written in this line run their `Exec` tasks.
    pub(super) fn h_msbuild(&mut self, c: &mut Call<'_>) {
        let sub = positionals(c.args).next().map(|w| w.text.as_str());
        if c.name != "dotnet"
            || matches!(
                sub,
                Some("build" | "run" | "test" | "publish" | "pack" | "restore" | "msbuild")
            )
        {
            self.grade_written_sources(
                &[
                    ".targets", ".props", ".csproj", ".fsproj", ".vbproj", ".proj",
                ],
                "msbuild",
                c.depth,
            );
        }
    }

    /// Files written earlier in this command line with one of `exts`, which the toolchain
    /// now compiles, loads or runs: graded from what was written (Rust as code, `//go:generate`
    /// lines and MSBuild `Exec` commands as shell, Go as code). Unwritten files are the
    /// project's own.
    fn grade_written_sources(&mut self, exts: &[&str], toolchain: &str, depth: usize) {
        let sources: Vec<String> = self
            .written
            .iter()
            .filter(|(p, _)| exts.iter().any(|e| p.ends_with(e)))
            .filter_map(|(_, c)| c.clone())
            .take(8)
            .collect();
        for text in sources {
            match toolchain {
                "go" => {
                    for line in text.lines() {
                        if let Some(cmd) = line.trim_start().strip_prefix("//go:generate ") {
                            let cmd = cmd.to_owned();
                            self.reparse(&cmd, depth, "go:generate");
                        }
                    }
                    let mut facts = Facts::default();
                    self.grade_code("go", &text, depth, &mut facts);
                }
                "msbuild" => {
                    for cmd in msbuild_exec_commands(&text) {
                        self.reparse(&cmd, depth, "MSBuild Exec");
                    }
                }
                _ => {
                    let mut facts = Facts::default();
                    self.grade_code(toolchain, &text, depth, &mut facts);
                }
            }
        }
    }

    pub(super) fn h_kill(&mut self, c: &mut Call<'_>) {
        self.kill(c.name, c.args);
    }

    /// Service managers stopping the DashClaw daemon.
    pub(super) fn h_service(&mut self, c: &mut Call<'_>) {
        let stops = c.args.iter().any(|a| {
            matches!(
                a.text.as_str(),
                "stop" | "disable" | "kill" | "mask" | "unload" | "bootout" | "remove"
            )
        });
        if stops && c.args.iter().any(|a| protect::names_guard_process(&a.text)) {
            self.push(p::GUARD_TAMPER.finding(format!(
                "`{}` would stop the DashClaw daemon, disabling the guard.",
                c.name
            )));
        }
        // Registering a job that starts on its own (at boot, login or on a timer): it runs
        // later, unseen by the hook. Starting or restarting one now is ordinary work.
        let verb = positionals(c.args).next().map(|w| w.text.as_str());
        let registers = match c.name {
            "systemctl" => matches!(verb, Some("enable" | "link" | "reenable" | "preset")),
            "launchctl" => matches!(verb, Some("load" | "bootstrap" | "enable" | "submit")),
            _ => false,
        };
        if registers {
            let what = positionals(c.args).nth(1).map_or("", |w| w.text.as_str());
            self.push(p::AUTOSTART_WRITE.finding(format!(
                "`{} {}` registers `{}` to start on its own later, unseen by the hook.",
                c.name,
                verb.unwrap_or(""),
                clip(what, 80)
            )));
        }
    }

    /// `dashclawd` subcommands that change the guard itself.
    pub(super) fn h_dashclawd(&mut self, c: &mut Call<'_>) {
        let pos: Vec<&str> = positionals(c.args).map(|w| w.text.as_str()).collect();
        let uninstall = c
            .args
            .iter()
            .any(|a| a.text == "--uninstall" || a.text == "uninstall");
        let sub = pos.first().copied().unwrap_or("");
        let help = c
            .args
            .iter()
            .any(|a| matches!(a.text.as_str(), "--help" | "-h" | "--version" | "-V"));
        // Only what reads or previews is the agent's to run; anything that changes the guard
        // (approvals, its lifetime, the service, the hooks, signing keys, the passphrase) is
        // the user's. Read as an allowlist, so a new subcommand starts out protected.
        let reads =
            help || matches!(
                sub,
                "" | "check" | "status" | "log" | "doctor" | "redact" | "mcp" | "help" | "run"
            ) || (sub == "policy"
                && matches!(pos.get(1), Some(&("lint" | "test" | "list" | "help"))))
                || (sub == "approvals" && pos.get(1).is_none_or(|s| *s == "help"))
                || (sub == "install"
                    && !uninstall
                    && c.args
                        .iter()
                        .any(|a| a.text == "--dry-run" || a.text == "--print"))
                || (sub == "ingest" && !pos.contains(&"backfill"))
                || (sub == "service" && pos.get(1) == Some(&"status"));
        if !reads {
            self.push(p::GUARD_TAMPER.finding(format!(
                "`dashclawd {}` changes the guard itself (approvals, lifetime, service, hooks or keys); only the user may run it.",
                pos.join(" ")
            )));
            c.intent = Intent::SystemAdmin;
        }
    }

    pub(super) fn h_ssh(&mut self, c: &mut Call<'_>) {
        self.ssh(c.args, c.depth, &mut c.intent);
    }

    /// Fan-out to many hosts (Ansible ad-hoc, Salt, pdsh, pssh, clush): what runs there is
    /// graded as if typed here (fanout.rs turns modules and functions into commands).
    pub(super) fn h_fanout(&mut self, c: &mut Call<'_>) {
        let args: Vec<&str> = c.args.iter().map(|w| w.text.as_str()).collect();
        if let Some(text) = super::super::fanout::command(c.name, &args) {
            self.reparse(&text, c.depth, c.name);
        }
    }

    /// `watch [-n N] CMD …`: the command, as a shell string.
    pub(super) fn h_watch(&mut self, c: &mut Call<'_>) {
        let args = c.args;
        let mut i = 0;
        while let Some(a) = args.get(i).filter(|a| is_flag(a)) {
            i += 1;
            if matches!(
                a.text.as_str(),
                "-n" | "--interval" | "-d" | "--differences"
            ) && a.text.starts_with("-n")
            {
                i += 1;
            }
        }
        let text = args[i.min(args.len())..]
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() {
            self.reparse(&text, c.depth, "watch");
        }
    }

    /// `docker exec`/`run`, `kubectl exec`, …: the command run inside.
    pub(super) fn h_container(&mut self, c: &mut Call<'_>) {
        // What the inner command prints comes out here (`docker exec db env | grep KEY`).
        c.traits |= self.container_exec(c.name, c.args, c.depth);
    }

    pub(super) fn h_decoder(&mut self, c: &mut Call<'_>) {
        c.traits.decodes =
            c.name == "uudecode" || c.args.iter().any(|a| is_decode_flag(c.name, &a.text));
    }

    pub(super) fn h_echo(&mut self, c: &mut Call<'_>) {
        c.traits.sql = c.args.iter().any(|a| infra::is_sql_danger(&a.text));
    }

    /// `certutil -urlcache -f URL out.exe`, `bitsadmin /transfer j URL out.exe`: Windows'
    /// built-in downloaders; what they save is remote content.
    pub(super) fn h_windows_download(&mut self, c: &mut Call<'_>) {
        let texts: Vec<&str> = c.args.iter().map(|w| w.text.as_str()).collect();
        let fetches = match c.name.to_ascii_lowercase().trim_end_matches(".exe") {
            "certutil" => texts.iter().any(|a| a.eq_ignore_ascii_case("-urlcache")),
            "bitsadmin" => texts.iter().any(|a| a.eq_ignore_ascii_case("/transfer")),
            _ => false,
        };
        let has_url = texts
            .iter()
            .any(|a| a.starts_with("http://") || a.starts_with("https://"));
        if !(fetches && has_url) {
            return;
        }
        c.traits.downloads = true;
        if let Some(out) = texts
            .last()
            .filter(|t| !t.starts_with(['-', '/']) || t.contains('.'))
        {
            // `%TEMP%\p.exe` as bash cooked it; the name is what later runs.
            if self.downloaded.len() < 8 {
                let r = paths::resolve(out, &self.cwd, self.ctx.home);
                self.downloaded.push(r);
            }
        }
    }

    pub(super) fn h_downloader(&mut self, c: &mut Call<'_>) {
        c.traits.downloads = true;
        // Where the download lands, so running it later in this line counts as running it.
        let args = c.args;
        // `wget URL`, `curl -O URL`: saved under the URL's last path segment in the cwd.
        let named_by_url = (c.name == "wget"
            && !args
                .iter()
                .any(|a| a.text.starts_with("-O") || a.text.starts_with("--output-document")))
            || (c.name == "curl"
                && args.iter().any(|a| {
                    a.text == "-O" || a.text == "--remote-name" || a.text == "--remote-name-all"
                }));
        if named_by_url {
            for u in positionals(args).filter(|w| w.text.contains('/') && w.text.contains('.')) {
                let path = u.text.split(['?', '#']).next().unwrap_or("");
                if let Some(base) = path
                    .rsplit('/')
                    .next()
                    .filter(|b| !b.is_empty() && !b.contains(':'))
                {
                    if self.downloaded.len() < 8 {
                        let r = paths::resolve(base, &self.cwd, self.ctx.home);
                        self.downloaded.push(r);
                    }
                }
            }
        }
        for (i, a) in args.iter().enumerate() {
            let t = a.text.as_str();
            // Bundled short flags ending in the output flag: `curl -sLo x`, `wget -qO x`.
            let bundled = t.len() > 2
                && t.starts_with('-')
                && !t.starts_with("--")
                && t[1..].bytes().all(|b| b.is_ascii_alphabetic())
                && t.ends_with(if c.name == "curl" { 'o' } else { 'O' });
            let out = match t {
                _ if bundled => args.get(i + 1).map(|w| w.text.as_str()),
                "-o" | "--output" | "-O" | "--output-document" if c.name != "curl" || t != "-O" => {
                    args.get(i + 1).map(|w| w.text.as_str())
                }
                _ => t
                    .strip_prefix("--output=")
                    .or_else(|| t.strip_prefix("--output-document="))
                    .or_else(|| {
                        t.strip_prefix("-o")
                            .filter(|r| !r.is_empty() && c.name == "curl")
                    }),
            };
            if let Some(o) = out.filter(|o| *o != "-" && !o.is_empty()) {
                let r = paths::resolve(o, &self.cwd, self.ctx.home);
                // Where a download lands is a write like any other (`curl -o /usr/local/bin/x`,
                // `wget -O ~/.bashrc`).
                let via = Via(c.name, " downloads to");
                self.check_write_target(o, via);
                if !paths::is_secret_path(&r) {
                    self.system_write(o, via);
                }
                self.startup_write(o, None, via);
                self.guard_target(o, a.dynamic, false, via, false);
                if self.downloaded.len() < 8 {
                    self.downloaded.push(r);
                }
            }
        }
    }

    /// `pwsh -Command "…"`: PowerShell text, graded with the cmdlet table.
    pub(super) fn h_pwsh(&mut self, c: &mut Call<'_>) {
        let args = c.args;
        // PowerShell takes any unambiguous prefix of a parameter, after `-` or `/`
        // (`-enc`, `-EncodedC`, `/c`, `-com`).
        let param = |a: &Word| -> Option<bool> {
            let l = a.text.to_ascii_lowercase();
            let l = l.strip_prefix(['-', '/'])?;
            if l == "ec" || (!l.is_empty() && "encodedcommand".starts_with(l)) {
                Some(true)
            } else if !l.is_empty() && "command".starts_with(l) {
                Some(false)
            } else {
                None
            }
        };
        let at = args.iter().position(|a| param(a).is_some());
        let Some((at, code)) = at.and_then(|i| Some((i, args.get(i + 1)?))) else {
            return;
        };
        let encoded = param(&args[at]) == Some(true);
        // `-EncodedCommand` is base64 of UTF-16LE text: decoded, it is graded like `-Command`.
        let decoded = encoded
            .then(|| super::super::fold::utf16le_base64(&code.text))
            .flatten()
            .filter(|_| !code.dynamic);
        if (encoded && decoded.is_none()) || code.dynamic {
            self.push(
                p::INTERPRETER_DYNAMIC
                    .finding("PowerShell runs an encoded or computed command that cannot be read."),
            );
        } else {
            if decoded.is_some() {
                self.push(r::DECODE_PIPE_SHELL.finding(
                    "PowerShell runs a base64-encoded command, which hides what it does.",
                ));
            }
            let text = decoded
                .unwrap_or_else(|| code.text.clone())
                .replace('\\', "/");
            let saved = self.powershell;
            self.powershell = true;
            self.reparse(&text, c.depth, "pwsh -Command");
            self.powershell = saved;
        }
    }

    /// Interpreters: the code they run (`-c`, `-e`, stdin, a script file).
    pub(super) fn h_interpreter(&mut self, c: &mut Call<'_>) {
        // `deno run https://…`, `bun run data:…`: the program is fetched or packed into a URL.
        let url = positionals(c.args)
            .find(|w| !matches!(w.text.as_str(), "run" | "x" | "exec"))
            .filter(|w| {
                let t = w.text.to_ascii_lowercase();
                t.starts_with("http://") || t.starts_with("https://") || t.starts_with("data:")
            });
        if let Some(u) = url {
            if u.text.to_ascii_lowercase().starts_with("data:") {
                self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                    "`{}` runs code packed into a `data:` URL, which is not read here.",
                    c.name
                )));
            } else {
                self.push(r::CURL_PIPE_SHELL.finding(format!(
                    "`{}` runs code downloaded from `{}` (unreviewed remote code).",
                    c.name,
                    clip(&u.text, 80)
                )));
                c.intent = Intent::Destructive;
            }
        }
        // `python3 -m pdb -c 'import os; os.system(…)' x`: pdb runs its `-c` commands as Python.
        if c.args
            .windows(2)
            .any(|w| w[0].text == "-m" && w[1].text == "pdb")
        {
            let codes: Vec<String> = c
                .args
                .windows(2)
                .filter(|w| w[0].text == "-c")
                .map(|w| w[1].text.clone())
                .collect();
            for code in codes {
                self.grade_code(c.name, &code, c.depth, &mut c.facts);
            }
        }
        // `python3 -m http.server` serving the home directory or `/` (as `-d DIR` or the cwd).
        if c.args
            .windows(2)
            .any(|w| w[0].text == "-m" && w[1].text == "http.server")
        {
            let dir = c
                .args
                .iter()
                .position(|a| matches!(a.text.as_str(), "-d" | "--directory"))
                .and_then(|i| c.args.get(i + 1))
                .map_or_else(
                    || self.cwd.clone(),
                    |d| paths::resolve(&d.text, &self.cwd, self.ctx.home),
                );
            if paths::is_root_or_system_dir(&dir, self.ctx.home)
                && !paths::is_inside(&dir, self.ctx.workspace)
            {
                self.push(p::EXPOSE_LOCAL.finding(format!(
                    "`{} -m http.server` serves `{dir}` to the network.",
                    c.name
                )));
            }
        }
        // Django's `manage.py flush` / `reset_db` empty the database.
        let mut pos = positionals(c.args).map(|w| w.text.as_str());
        let texts: Vec<&str> = c.args.iter().map(|w| w.text.as_str()).collect();
        if pos.next().is_some_and(|s| s.ends_with("manage.py"))
            && pos
                .next()
                .is_some_and(|s| matches!(s, "flush" | "reset_db"))
            // `--settings=config.settings.test`: the test database (graded as such in argv).
            && !super::super::infra::targets_test_database("manage.py", &self.test_env, &texts)
        {
            self.push(p::SQL_DESTRUCTIVE.finding(format!(
                "`{} manage.py flush` deletes every row in the database.",
                c.name
            )));
            c.intent = Intent::Destructive;
        }
        self.interpreter(
            c.name,
            c.args,
            c.stdin,
            c.input,
            c.depth,
            &mut c.facts,
            &mut c.traits,
        );
    }

    pub(super) fn h_git(&mut self, c: &mut Call<'_>) {
        self.git(c.args, &mut c.intent, c.depth);
        // `git clone URL [DIR]`: what lands there came from the network, like a download.
        let pos: Vec<&Word> = positionals(c.args).collect();
        if let Some(at) = pos.iter().position(|w| w.text == "clone") {
            let url = pos.get(at + 1).map(|w| w.text.as_str()).unwrap_or("");
            let dir = pos.get(at + 2).map(|w| w.text.clone()).unwrap_or_else(|| {
                let base = url
                    .trim_end_matches('/')
                    .rsplit(['/', ':'])
                    .next()
                    .unwrap_or("");
                base.strip_suffix(".git").unwrap_or(base).to_owned()
            });
            if (url.contains("://") || url.contains('@'))
                && !dir.is_empty()
                && self.downloaded.len() < 8
            {
                let r = paths::resolve(&dir, &self.cwd, self.ctx.home);
                self.downloaded.push(r);
            }
        }
    }

    pub(super) fn kill(&mut self, name: &str, args: &[Word]) {
        // `pgrep dashclawd | xargs kill`, `ps aux | grep dashclawd | awk … | xargs kill`: the
        // pids come from a listing (or a filter of one) that names the guard, a few stages up.
        // PowerShell's `Get-Process dashclawd | Stop-Process` pipes the processes themselves.
        let piped_objects = matches!(name.to_ascii_lowercase().as_str(), "stop-process" | "spps");
        if (self.xargs_context || piped_objects) && self.in_pipe {
            // Only the earlier stages of this pipeline (`Origin::Pipe(n)` is stage n), so a
            // listing in an earlier statement does not taint an unrelated `… | xargs kill`.
            let stages = self
                .origin
                .iter()
                .rev()
                .find_map(|o| match o {
                    Origin::Pipe(n) => Some(n.saturating_sub(1)),
                    _ => None,
                })
                .unwrap_or(1)
                .min(4);
            let end = self.commands.len().saturating_sub(1);
            let upstream = end.saturating_sub(stages)..end;
            let listing = self.commands[upstream].iter().rev().find(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                // `pgrep -f claw`, `grep 'd.sh'`: a search pattern that selects the guard.
                let searches = matches!(
                    words.first().copied(),
                    Some(
                        "pgrep"
                            | "pidof"
                            | "grep"
                            | "egrep"
                            | "rg"
                            | "awk"
                            | "Get-Process"
                            | "gps"
                            | "Where-Object"
                    )
                );
                words.iter().skip(1).any(|w| {
                    // `grep [d]ashclawd`, `grep '^dashclawd$'`: a pattern naming the guard.
                    let bare: String = w
                        .chars()
                        .filter(|c| !matches!(c, '\'' | '"' | '[' | ']' | '^' | '$' | '\\'))
                        .collect();
                    protect::names_guard_process(&bare)
                        || (searches
                            && !w.starts_with('-')
                            && protect::pattern_matches_guard(w.trim_matches(['\'', '"'])))
                })
            });
            if let Some(l) = listing {
                self.push(p::GUARD_TAMPER.finding(format!(
                    "`{name}` gets its pids from `{}`, which lists the DashClaw guard.",
                    clip(l, 80)
                )));
                return;
            }
        }
        if let Some(a) = args.iter().find(|a| protect::names_guard_process(&a.text)) {
            self.push(p::GUARD_TAMPER.finding(format!(
                "`{name} {}` would stop the DashClaw guard.",
                clip(&a.text, 80)
            )));
            return;
        }
        let suspect = |this: &mut Self, why: String| {
            this.push(p::GUARD_TAMPER_SUSPECT.finding(why));
        };
        if name == "kill" {
            let mut i = 0;
            let mut operands = Vec::new();
            while let Some(a) = args.get(i) {
                i += 1;
                if matches!(a.text.as_str(), "-s" | "-n") {
                    i += 1;
                } else if a.text == "--" {
                    operands.extend(&args[i..]);
                    break;
                } else if operands.is_empty() && is_flag(a) && a.text != "-1" {
                } else {
                    operands.push(a);
                }
            }
            for a in operands {
                if a.text == "-1" || a.text == "0" || a.text == "-0" {
                    self.push(p::GUARD_TAMPER.finding(
                        "`kill -1` (or 0) signals every process you own, the guard included.",
                    ));
                } else if a.dynamic
                    && a.text != "$!"
                    && !a.text.starts_with('%')
                    && !pids_spare_guard(a)
                    && !self.unset_pid_var(a)
                {
                    suspect(
                        self,
                        format!(
                            "`kill {}` targets a process computed at run time, which could be the guard.",
                            clip(&a.text, 80)
                        ),
                    );
                }
            }
            return;
        }
        // pkill / killall / skill: patterns.
        const VALUED: &[&str] = &[
            "-u", "-U", "-g", "-G", "-P", "-s", "-t", "-F", "--signal", "-o",
        ];
        let mut pats = Vec::new();
        let mut by_user = false;
        let mut i = 0;
        while let Some(a) = args.get(i) {
            i += 1;
            if VALUED.contains(&a.text.as_str()) {
                by_user |= matches!(a.text.as_str(), "-u" | "-U");
                i += 1;
            } else if !is_flag(a) {
                pats.push(a);
            }
        }
        if pats.is_empty() && by_user {
            suspect(
                self,
                format!("`{name} -u` signals every process of a user, the guard included."),
            );
        }
        for pat in pats {
            let t = pat.text.to_ascii_lowercase();
            let guard_names = "dashclawd run --auto-started dashclaw-hook";
            let runs_fit = t
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                .filter(|r| !r.is_empty())
                .all(|r| guard_names.contains(r));
            let regexy =
                name == "pkill" && t.contains(['.', '*', '^', '[', '|', '\\', '?']) && runs_fit;
            if pat.dynamic {
                suspect(
                    self,
                    format!(
                        "`{name}` pattern `{}` is computed at run time.",
                        clip(&pat.text, 80)
                    ),
                );
            } else if (t.len() >= 2 && ("dashclawd".contains(&t) || "dashclaw-hook".contains(&t)))
                || ((name != "pkill" || regexy) && protect::pattern_matches_guard(&t))
            {
                self.push(p::GUARD_TAMPER.finding(format!(
                    "`{name} {}` matches the DashClaw guard's processes.",
                    clip(&pat.text, 80)
                )));
            } else if regexy || t.len() < 2 {
                suspect(
                    self,
                    format!(
                        "`{name} {}` is a broad pattern that could match the guard.",
                        clip(&pat.text, 80)
                    ),
                );
            }
        }
    }

    /// `ssh [opts] host cmd…`: the remote command is graded too; a destructive one is blocked.
    pub(super) fn ssh(&mut self, args: &[Word], depth: usize, intent: &mut Intent) {
        const VALUED: &[&str] = &[
            "-b", "-B", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O",
            "-o", "-p", "-Q", "-R", "-S", "-W", "-w",
        ];
        let mut i = 0;
        while let Some(a) = args.get(i).filter(|a| is_flag(a)) {
            i += if VALUED.contains(&a.text.as_str()) {
                2
            } else {
                1
            };
        }
        let rest = args.get(i + 1..).unwrap_or(&[]);
        if rest.is_empty() {
            return;
        }
        // ssh joins its arguments with spaces and the remote shell parses the result.
        let text = rest
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let segs = self.segs.len();
        let findings = self.findings.len();
        let saved_cwd = (self.cwd.clone(), self.cwd_moved);
        self.reparsed += 1;
        self.text(&text, depth + 1, Some("ssh remote".to_owned()));
        self.reparsed -= 1;
        (self.cwd, self.cwd_moved) = saved_cwd;
        let destructive = self.segs[segs..]
            .iter()
            .any(|s| s.intent == Intent::Destructive && s.score > 55)
            || self.findings[findings..]
                .iter()
                .any(|f| f.verdict == Verdict::Block);
        if destructive {
            self.push(p::REMOTE_DESTRUCTIVE.finding(format!(
                "The command sent over ssh, `{}`, destroys data on the remote host.",
                clip(&text, 80)
            )));
            *intent = Intent::Destructive;
        }
    }

    /// `docker exec ctr cmd…`, `kubectl exec pod -- cmd…`: the inner command is graded.
    pub(super) fn container_exec(&mut self, name: &str, args: &[Word], depth: usize) -> Traits {
        // `docker --context prod compose -f x.yml exec db cmd…`: global and compose options
        // (with their values) come before `exec`, and compose's `exec` takes a service.
        let docker = matches!(name, "docker" | "podman" | "nerdctl");
        let skip_valued = |from: usize, valued: &[&str]| {
            let mut i = from;
            while let Some(a) = args.get(i).filter(|a| is_flag(a)) {
                i += if valued.contains(&a.text.as_str()) {
                    2
                } else {
                    1
                };
            }
            i
        };
        let args: &[Word] = if docker {
            let i = skip_valued(0, super::super::globals::valued(name));
            match args.get(i) {
                Some(w) if w.text == "compose" => {
                    let j = skip_valued(i + 1, super::super::globals::valued("docker-compose"));
                    &args[j.min(args.len())..]
                }
                _ => &args[i.min(args.len())..],
            }
        } else {
            args
        };
        let Some(at) = args.iter().position(|a| !is_flag(a)) else {
            return Traits::default();
        };
        // `kubectl run pod --image=x -- cmd…` and `kubectl debug node/x -- cmd…` run their
        // command in the cluster, like `exec`.
        let kube = matches!(name, "kubectl" | "oc");
        if args[at].text != "exec" && !(kube && matches!(args[at].text.as_str(), "run" | "debug")) {
            return Traits::default();
        }
        let rest = &args[at + 1..];
        // `incus exec db01 -- cmd`, `multipass exec vm -- cmd`: the command follows `--`.
        let dashdash = kube || matches!(name, "lxc" | "incus" | "multipass");
        let inner: &[Word] = if dashdash {
            match rest.iter().position(|a| a.text == "--") {
                Some(dd) => &rest[dd + 1..],
                None => return Traits::default(),
            }
        } else {
            const VALUED: &[&str] = &[
                "-e",
                "-u",
                "-w",
                "--env",
                "--user",
                "--workdir",
                "--env-file",
            ];
            let mut i = 0;
            while let Some(a) = rest.get(i).filter(|a| is_flag(a)) {
                i += if VALUED.contains(&a.text.as_str()) {
                    2
                } else {
                    1
                };
            }
            rest.get(i + 1..).unwrap_or(&[])
        };
        if inner.is_empty() {
            return Traits::default();
        }
        let first = self.findings.len();
        self.origin.push(Origin::Named(format!("{name} exec")));
        let saved = self.cwd.clone();
        let t = self.argv(
            inner,
            false,
            Facts::default(),
            first,
            None,
            depth + 1,
            Traits::default(),
        );
        self.cwd = saved;
        self.origin.pop();
        t
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn interpreter(
        &mut self,
        name: &str,
        args: &[Word],
        stdin: Option<&Redirect>,
        input: Option<&str>,
        depth: usize,
        facts: &mut Facts,
        traits: &mut Traits,
    ) {
        if name == "npx" {
            // `npx github:u/p`, `npx u/p`, `npx https://…/p.tgz`: code fetched from a repository
            // or URL, not the registry.
            let spec = args.iter().enumerate().find_map(|(i, a)| {
                let t = a.text.as_str();
                if let Some(v) = t.strip_prefix("--package=") {
                    return Some(v);
                }
                if matches!(t, "-p" | "--package") {
                    return args.get(i + 1).map(|w| w.text.as_str());
                }
                let prev_valued = i > 0
                    && matches!(
                        args[i - 1].text.as_str(),
                        "-p" | "--package" | "-c" | "--call"
                    );
                (!t.starts_with('-') && !prev_valued).then_some(t)
            });
            if let Some(spec) = spec.filter(|s| npm_remote_spec(s)) {
                self.push(p::INSTALL_FROM_URL.finding(format!(
                    "`npx` runs `{}`, fetched from a repository or URL rather than the registry.",
                    clip(spec, 80)
                )));
            }
            // npx's own options come before the command (`npx tsc -p x` is tsc's `-p`).
            if args
                .iter()
                .take_while(|a| a.text.starts_with('-'))
                .any(|a| {
                    matches!(a.text.as_str(), "-y" | "--yes" | "-p" | "--package")
                        || a.text.starts_with("--package=")
                })
            {
                self.push(
                    p::NPX_AUTO_INSTALL
                        .finding("`npx -y` downloads and runs a package without asking."),
                );
            }
            return;
        }
        let (inline, reads_stdin) = interpreter_mode(name, args);
        let fed = match stdin {
            Some(r) if r.feeds_stdin() => Some(r.target.text.as_str()),
            Some(_) => None,
            None => input,
        };
        if let Some(code) = inline {
            facts.inline_eval = true;
            if name == "perl" && args.iter().any(|a| short_has(a, &['i'])) {
                facts.sed_inplace = true;
                let files: Vec<&Word> = positionals(args).skip(1).collect();
                self.guard_words(&files, false, "`perl -i` on", true);
                for f in &files {
                    self.check_write_target(&f.text, "`perl -i`");
                    self.startup_write(&f.text, None, "`perl -i` edits");
                    self.system_write(&f.text, "`perl -i`");
                }
            }
            match code {
                Some(w) if w.dynamic && word_downloads(w, depth) => self.push(
                    r::CURL_PIPE_SHELL
                        .finding(format!("`{name}` runs code downloaded at run time.")),
                ),
                Some(w) if w.dynamic => match self.fold_word(w, 0) {
                    Some(code) => self.grade_code(name, &code, depth, facts),
                    None => self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                        "`{name}` runs code computed at run time (`{}`), which cannot be read.",
                        clip(&w.text, 60)
                    ))),
                },
                Some(w) => {
                    let code = w.text.clone();
                    self.grade_code(name, &code, depth, facts);
                }
                None => {}
            }
        } else if let (true, Some(code)) = (reads_stdin, fed) {
            let code = code.to_owned();
            self.grade_code(name, &code, depth, facts);
        } else if let Some(script) = interpreter_script(name, args) {
            if word_downloads(script, depth) {
                self.push(
                    r::CURL_PIPE_SHELL
                        .finding(format!("`{name}` runs a program downloaded at run time.")),
                );
            } else if script.text.starts_with("<(") {
                self.push(r::PIPE_TO_SHELL.finding(format!(
                    "`{name}` runs a program produced at run time by a process substitution."
                )));
            } else {
                self.exec_script(script, ScriptKind::Interpreter, depth, facts, false);
            }
        }
        traits.runs_stdin = reads_stdin && stdin.is_none() && input.is_none();
    }

    /// GNU `parallel CMD ::: ARGS…`: each argument is put into the command (at `{}` or at the
    /// end) and graded; without `:::` the arguments come from stdin, as with `xargs`.
    pub(super) fn parallel(&mut self, args: &[Word], depth: usize) -> Intent {
        const VALUED: &[&str] = &[
            "-j",
            "--jobs",
            "-S",
            "--sshlogin",
            "--joblog",
            "-a",
            "--arg-file",
            "--delay",
            "--timeout",
            "--results",
            "-d",
            "--delimiter",
            "-n",
            "-N",
            "--colsep",
            "-I",
        ];
        let mut i = 0;
        while let Some(a) = args.get(i).filter(|a| is_flag(a)) {
            i += if VALUED.contains(&a.text.as_str()) {
                2
            } else {
                1
            };
        }
        let rest = args.get(i..).unwrap_or(&[]);
        let sep = rest
            .iter()
            .position(|w| matches!(w.text.as_str(), ":::" | "::::" | ":::+"));
        let (cmd, items) = match sep {
            Some(k) => (
                &rest[..k],
                rest[k + 1..]
                    .iter()
                    .filter(|w| !w.text.starts_with(":::"))
                    .take(8)
                    .collect::<Vec<_>>(),
            ),
            None => (rest, Vec::new()),
        };
        if cmd.is_empty() {
            return Intent::Unknown;
        }
        let base: Vec<String> = if cmd.len() == 1 && cmd[0].text.contains(' ') {
            vec![cmd[0].text.clone()]
        } else {
            cmd.iter().map(|w| quote(&w.text)).collect()
        };
        let lines: Vec<String> = if items.is_empty() {
            vec![base.join(" ").replace("{}", "")]
        } else {
            items
                .iter()
                .map(|it| {
                    let q = quote(&it.text);
                    if base.iter().any(|b| b.contains("{}")) {
                        base.iter()
                            .map(|b| b.replace("{}", &q))
                            .collect::<Vec<_>>()
                            .join(" ")
                    } else {
                        format!("{} {q}", base.join(" "))
                    }
                })
                .collect()
        };
        self.xargs_context = items.is_empty();
        for l in lines {
            self.text(&l, depth + 1, Some("parallel".to_owned()));
        }
        self.xargs_context = false;
        Intent::Readonly
    }

    /// The body of package script `sn` defined earlier in this command line (`npm pkg set`,
    /// `npm set-script`, or a `package.json` written by it).
    fn npm_script(&self, sn: &str) -> Option<String> {
        self.npm_scripts
            .iter()
            .find(|(n, _)| n == sn)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                self.written_named("package.json")
                    .flatten()
                    .and_then(|c| serde_json::from_str::<serde_json::Value>(&c).ok())
                    .and_then(|v| v.get("scripts")?.get(sn)?.as_str().map(str::to_owned))
            })
    }

    /// `make x`, `npm run x` right after the Makefile or the script was written in the same
    /// command line: the recipe is what runs.
    pub(super) fn scripts_run(
        &mut self,
        name: &str,
        args: &[Word],
        input: Option<&str>,
        depth: usize,
    ) {
        let pos: Vec<&str> = positionals(args).map(|w| w.text.as_str()).collect();
        let recipe: Option<String> = match name {
            "make" | "gmake" | "just" | "task" => {
                // `make CC='sh -c "…"' all`: a program variable set on the command line is
                // what the recipes run.
                if matches!(name, "make" | "gmake") {
                    for a in args.iter().filter(|a| a.is_assignment()) {
                        if let Some((var, value)) = a.text.split_once('=') {
                            if MAKE_PROGRAM_VARS.contains(&var) && !value.trim().is_empty() {
                                let value = value.to_owned();
                                self.reparse(&value, depth, &format!("make {var}="));
                            }
                        }
                    }
                }
                let file = args
                    .iter()
                    .position(|a| matches!(a.text.as_str(), "-f" | "--file" | "--makefile"))
                    .and_then(|i| args.get(i + 1))
                    .map(|w| w.text.clone())
                    .or_else(|| {
                        args.iter().find_map(|a| {
                            let t = a.text.as_str();
                            t.strip_prefix("--file=")
                                .or_else(|| t.strip_prefix("--makefile="))
                                .or_else(|| t.strip_prefix("-f").filter(|f| !f.is_empty()))
                                .map(str::to_owned)
                        })
                    });
                // `make -f - <<< …`: the makefile is stdin.
                let from_stdin = file
                    .as_deref()
                    .is_some_and(|f| matches!(f, "-" | "/dev/stdin" | "/dev/fd/0"));
                if from_stdin && input.is_none() {
                    self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                        "`{name}` reads its recipes from stdin, which cannot be read here."
                    )));
                }
                const DEFAULT_NAMES: &[&str] = &[
                    "Makefile",
                    "makefile",
                    "GNUmakefile",
                    "justfile",
                    "Justfile",
                    "Taskfile.yml",
                ];
                let given: [&str; 1] = [file.as_deref().unwrap_or("")];
                let names: &[&str] = if file.is_some() {
                    &given
                } else {
                    DEFAULT_NAMES
                };
                // `make -f <(printf 'all:\n\trm -rf ~\n')`: the makefile is made right here.
                let procsub = args
                    .iter()
                    .find(|w| w.text.starts_with("<(") && w.subs.len() == 1)
                    .map(|w| w.subs[0].clone());
                let procsub_text = match procsub {
                    Some(sub) => {
                        let t = self.fold_script(&sub, 0);
                        if t.is_none() {
                            self.push(p::INTERPRETER_DYNAMIC.finding(format!(
                                "`{name}` reads recipes a process substitution makes at run time."
                            )));
                        }
                        t
                    }
                    None => None,
                };
                let stdin_text = input
                    .filter(|_| from_stdin)
                    .map(str::to_owned)
                    .or(procsub_text);
                let written = stdin_text.or_else(|| {
                    // Nothing written in this line: no recipe to read (skip resolving names).
                    names.iter().find_map(|n| self.written_named(n).flatten())
                });
                written.map(|text| {
                    // Recipe lines: after a `target:` (the rest of the line) and tab-indented lines.
                    text.lines()
                        .filter_map(|l| {
                            if let Some(r) = l.strip_prefix('\t') {
                                Some(r.trim_start_matches(['@', '-', '+']).to_owned())
                            } else {
                                // `target: prereqs ; recipe`
                                l.split_once(':')
                                    .and_then(|(_, r)| r.split_once(';'))
                                    .map(|(_, recipe)| recipe.trim().to_owned())
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            _ => {
                let script = match pos.as_slice() {
                    ["run" | "run-script", s, ..] => vec![*s],
                    // `npm test`, `npm start`: aliases of `npm run …`.
                    ["test" | "t" | "tst", ..] => vec!["test", "pretest", "posttest"],
                    [s @ ("start" | "stop" | "restart"), ..] => vec![*s],
                    // An install runs the package's lifecycle scripts.
                    ["install" | "i" | "ci" | "add" | "rebuild", ..] | [] => {
                        vec!["preinstall", "install", "postinstall", "prepare"]
                    }
                    [s, ..] if name == "yarn" || name == "pnpm" || name == "bun" => vec![*s],
                    _ => Vec::new(),
                };
                let found: Vec<String> = script
                    .into_iter()
                    .filter_map(|sn| self.npm_script(sn))
                    .collect();
                (!found.is_empty()).then(|| found.join("\n"))
            }
        };
        if let Some(text) = recipe.filter(|t| !t.trim().is_empty()) {
            self.text(&text, depth + 1, Some(format!("{name} script")));
        }
        if name == "npm"
            && pos.first() == Some(&"set-script")
            && pos.len() >= 3
            && self.npm_scripts.len() < 8
        {
            self.npm_scripts
                .push((pos[1].to_owned(), pos[2].to_owned()));
        }
        // `npm pkg set scripts.x='…'` defines a script for a later `npm run x`.
        if matches!(name, "npm" | "pnpm" | "yarn")
            && pos.first() == Some(&"pkg")
            && pos.get(1) == Some(&"set")
        {
            for kv in pos.iter().skip(2) {
                if let Some((k, v)) = kv.split_once('=') {
                    if let Some(sn) = k.strip_prefix("scripts.") {
                        if self.npm_scripts.len() < 8 {
                            self.npm_scripts.push((sn.to_owned(), v.to_owned()));
                        }
                    }
                }
            }
        }
    }

    pub(super) fn git(&mut self, args: &[Word], intent: &mut Intent, depth: usize) {
        // Settings given through the environment (`GIT_CONFIG_KEY_0=core.pager
        // GIT_CONFIG_VALUE_0='…' git log`, exported earlier in the line) count as `-c`.
        let env_settings = self.git_env_settings();
        let mut texts: Vec<&str> = Vec::with_capacity(args.len() + env_settings.len() * 2);
        for kv in &env_settings {
            texts.push("-c");
            texts.push(kv);
        }
        texts.extend(args.iter().map(|w| w.text.as_str()));
        let f = crate::classify::git::read(&texts);
        if f.destructive {
            *intent = Intent::Destructive;
        } else if f.writes {
            *intent = Intent::Write;
        }
        for (rule, why) in f.findings {
            self.push(rule.finding(why));
        }
        for (key, value) in &f.exec_settings {
            let first = self.findings.len();
            if value != "$ENV" {
                // The program the setting runs is graded as if run now; an alias without `!`
                // is a git command line (`alias.nuke='reset --hard'` runs `git reset --hard`).
                let text = match value.strip_prefix('!') {
                    Some(shell) => shell.to_owned(),
                    None if key.starts_with("alias.") => format!("git {value}"),
                    None => value.clone(),
                };
                self.reparsed += 1;
                self.text(&text, depth + 1, Some(format!("git {key}")));
                self.reparsed -= 1;
            }
            let raised = self.findings.len() > first;
            if raised || !crate::classify::git::benign_setting(key, value) {
                self.push(p::GIT_CONFIG_EXEC.finding(format!(
                    "Git setting `{key}` would run `{}` whenever git reaches it.",
                    clip(value, 80)
                )));
                *intent = Intent::Destructive;
            }
        }
        for cmd in f.shell.iter().take(4) {
            self.reparse(cmd, depth, "git runs");
        }
        if let Some((name, url)) = f.remote_added {
            if self.git_remotes_added.len() < 8 {
                self.git_remotes_added.push((name, url));
            }
        }
        if let Some(to) = f.push_to {
            let configured = crate::classify::exfil::git_remotes(&self.cwd);
            let url = if to.contains("://")
                || to.contains('@')
                || (to.contains(':') && !to.starts_with('/'))
            {
                Some(to.clone())
            } else if configured.iter().any(|(n, _)| *n == to) {
                None
            } else {
                self.git_remotes_added
                    .iter()
                    .find(|(n, _)| *n == to)
                    .map(|(_, u)| u.clone())
            };
            if let Some(url) = url {
                let known = configured.iter().any(|(_, u)| *u == url);
                if !known && !crate::classify::exfil::allowed_destination(&url, self.ctx) {
                    // A file written from a secret inside the repository goes with the push.
                    let carried = self
                        .tainted_files
                        .iter()
                        .find(|t| paths::is_inside(t, &self.cwd))
                        .cloned();
                    let f = match carried {
                        Some(t) => crate::classify::exfil::flow_finding(
                            &format!("`{}` (written from a secret)", clip(&t, 60)),
                            "`git push`",
                            &url,
                        ),
                        None => crate::classify::exfil::upload_finding(
                            "the repository",
                            "`git push`",
                            &url,
                        ),
                    };
                    self.push(f);
                }
            }
        }
    }
}

/// `kill $(lsof -t -i:3000)`, `kill $(pgrep -f webpack)`: pids from a listing that cannot
/// include the guard (it holds no internet socket; the pattern does not fit its names).
impl Walker<'_> {
    /// `kill "$SERVER_PID"`, `kill -- -$PGID`: a plain variable this command does not set. A
    /// fresh shell (each agent call) starts without it, so it holds what the agent's own
    /// earlier commands could not have left; one set here from a listing is judged by that.
    fn unset_pid_var(&self, w: &Word) -> bool {
        if !w.subs.is_empty() {
            return false;
        }
        let name = w
            .text
            .trim_start_matches('-')
            .trim_start_matches('$')
            .trim_start_matches('{')
            .trim_end_matches('}');
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !self.vars.iter().any(|(k, _)| k == name)
    }
}

fn pids_spare_guard(w: &Word) -> bool {
    !w.subs.is_empty()
        && w.subs.iter().all(|sub| {
            let [item] = sub.items.as_slice() else {
                return false;
            };
            let [Command::Simple(sc)] = item.pipeline.stages.as_slice() else {
                return false;
            };
            let words: Vec<&str> = sc.words.iter().map(|w| w.text.as_str()).collect();
            match words.as_slice() {
                ["lsof", rest @ ..] => rest.iter().any(|a| a.starts_with("-i") || a.starts_with("-ti")),
                // The shell's own background jobs.
                ["jobs", "-p"] => true,
                // A pid file of the project's own server, not the guard's.
                ["cat", file] => {
                    !sc.words.iter().any(|w| w.dynamic)
                        && !protect::names_guard_process(file)
                        && !protect::looks_protected(file)
                }
                ["pgrep" | "pidof", rest @ ..] => {
                    let pats: Vec<&&str> = rest.iter().filter(|a| !a.starts_with('-')).collect();
                    let guard = "dashclawd run --auto-started dashclaw-hook";
                    pats.len() == 1
                        && !sc.words.iter().any(|w| w.dynamic)
                        && pats[0].len() >= 3
                        && !pats[0].contains(['.', '*', '^', '[', '|', '\\', '?'])
                        && !guard.contains(pats[0].to_ascii_lowercase().as_str())
                        && !protect::names_guard_process(pats[0])
                        // Nor the agents' runtimes, whose children include the hook.
                        && !["node", "claude", "codex", "hermes", "openclaw", "python", "bun", "deno"]
                            .iter()
                            .any(|n| pats[0].to_ascii_lowercase().contains(n))
                }
                _ => false,
            }
        })
}

/// An npm package spec that names a repository or URL instead of a registry package:
/// `github:u/p`, `git+https://…`, `https://…/p.tgz`, and the GitHub shorthand `u/p`.
fn npm_remote_spec(spec: &str) -> bool {
    let l = spec.to_ascii_lowercase();
    [
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
        "git+",
        "git://",
        "http://",
        "https://",
        "ssh://",
    ]
    .iter()
    .any(|p| l.starts_with(p))
        || (!l.starts_with(['@', '.', '/', '~'])
            && l.split('/').count() == 2
            && l.split('/').all(|p| !p.is_empty())
            && !l.ends_with(".js")
            && !l.contains('='))
}

/// Package indexes published by the projects whose packages they serve.
const OFFICIAL_INDEXES: &[&str] = &[
    "download.pytorch.org",
    "pypi.nvidia.com",
    "pypi.ngc.nvidia.com",
    "data.pyg.org",
    "pypi.org",
    "files.pythonhosted.org",
];

/// Make variables whose value is a program the recipes run (`$(CC)`, `$(SHELL)`, …).
const MAKE_PROGRAM_VARS: &[&str] = &[
    "CC", "CXX", "CPP", "LD", "AR", "AS", "FC", "RANLIB", "STRIP", "SHELL", "MAKE", "INSTALL",
    "PYTHON", "PERL", "NODE", "GO", "CARGO", "RUSTC", "LINK", "OBJCOPY", "NM", "YACC", "LEX",
];

/// The shell text of a `Makefile.toml`'s tasks: `script = "…"` (one line or a `"""`/`'''`
/// block, or an array of lines) and `command = "…"` with its `args = [...]`.
fn cargo_make_commands(toml: &str) -> String {
    let doc: toml::Table = match toml.parse() {
        Ok(t) => t,
        // Unreadable: graded as shell text, which fails closed (unparseable) rather than
        // letting a syntax error hide a task.
        Err(_) => return toml.to_owned(),
    };
    let mut out = Vec::new();
    let Some(tasks) = doc.get("tasks").and_then(|t| t.as_table()) else {
        return String::new();
    };
    for task in tasks.values().filter_map(|t| t.as_table()) {
        match task.get("script") {
            Some(toml::Value::String(s)) => out.push(s.clone()),
            Some(toml::Value::Array(lines)) => {
                out.extend(lines.iter().filter_map(|l| l.as_str().map(str::to_owned)))
            }
            Some(toml::Value::Table(t)) => {
                if let Some(toml::Value::String(s)) = t.get("main") {
                    out.push(s.clone());
                }
            }
            _ => {}
        }
        if let Some(cmd) = task.get("command").and_then(|c| c.as_str()) {
            let args: Vec<String> = task
                .get("args")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(crate::classify::shell::quote))
                        .collect()
                })
                .unwrap_or_default();
            let mut line = crate::classify::shell::quote(cmd);
            for a in args {
                line.push(' ');
                line.push_str(&a);
            }
            out.push(line);
        }
    }
    out.join("\n")
}

/// The `Command` attributes of MSBuild `<Exec>` tasks, XML entities decoded.
fn msbuild_exec_commands(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in xml.match_indices("<Exec") {
        let tag = &xml[i..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        if let Some(at) = tag.find("Command=") {
            let rest = &tag[at + "Command=".len()..];
            let Some(q) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
                continue;
            };
            if let Some(end) = rest[1..].find(q) {
                let cmd = rest[1..1 + end]
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&");
                out.push(cmd);
            }
        }
        if out.len() >= 8 {
            break;
        }
    }
    out
}
