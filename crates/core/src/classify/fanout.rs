//! Commands that another program runs on many hosts: Ansible ad-hoc calls, Salt, pdsh, pssh,
//! clush. Each is turned into the shell text it amounts to, which the walker then grades as if
//! typed here (so `ansible all -a reboot` is `reboot`, and `-m file -a 'path=/etc
//! state=absent'` is `rm -rf /etc`). Module and function readings are tables: a name, and how
//! its `key=value` arguments become a command.

/// `key=value` arguments of an Ansible module or a Salt function.
struct Kv<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Kv<'a> {
    fn parse(text: &'a str) -> Kv<'a> {
        // Words split at blanks outside quotes (`line='dev ALL=(ALL) NOPASSWD: ALL'`).
        let mut words = Vec::new();
        let (mut start, mut quote) = (None, None);
        for (i, c) in text.char_indices() {
            match (quote, c) {
                (Some(q), _) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => {
                    quote = Some(c);
                    start.get_or_insert(i);
                }
                (None, c) if c.is_whitespace() => {
                    if let Some(s) = start.take() {
                        words.push(&text[s..i]);
                    }
                }
                (None, _) => {
                    start.get_or_insert(i);
                }
            }
        }
        if let Some(s) = start {
            words.push(&text[s..]);
        }
        Kv(words
            .into_iter()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k, v.trim_matches(['\'', '"'])))
            .collect())
    }

    fn get(&self, keys: &[&str]) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| keys.contains(k))
            .map(|(_, v)| *v)
    }

    fn is(&self, key: &str, values: &[&str]) -> bool {
        self.get(&[key]).is_some_and(|v| values.contains(&v))
    }
}

/// A word quoted for the shell text handed back to the walker.
fn q(word: &str) -> String {
    super::shell::quote(word)
}

type Reading = fn(&Kv<'_>, &str) -> Option<String>;

/// Ansible modules (last segment of the name, so `ansible.builtin.file` is `file`).
const MODULES: &[(&[&str], Reading)] = &[
    (
        &[
            "command",
            "shell",
            "raw",
            "win_command",
            "win_shell",
            "script",
        ],
        |_, raw| Some(free_form(raw)),
    ),
    (&["file", "win_file"], |kv, _| {
        let path = kv.get(&["path", "dest", "name"])?;
        kv.is("state", &["absent"])
            .then(|| format!("rm -rf -- {}", q(path)))
    }),
    (
        &[
            "service",
            "systemd",
            "systemd_service",
            "sysvinit",
            "win_service",
        ],
        |kv, _| {
            let name = q(kv.get(&["name"])?);
            if kv.is("state", &["stopped"]) {
                Some(format!("systemctl stop {name}"))
            } else if kv.is("enabled", &["no", "false", "False"]) {
                Some(format!("systemctl disable {name}"))
            } else {
                None
            }
        },
    ),
    (&["reboot", "win_reboot"], |_, _| Some("reboot".into())),
    (&["user", "win_user"], |kv, _| {
        let name = kv.get(&["name"])?;
        if kv.is("state", &["absent"]) {
            return Some(format!("userdel {}", q(name)));
        }
        // Added to an administrators' group: `usermod -aG sudo NAME`.
        let groups = kv.get(&["groups", "group"])?;
        Some(format!("usermod -aG {} {}", q(groups), q(name)))
    }),
    // A line or block put into a file: the same as appending it there.
    (&["lineinfile", "blockinfile"], |kv, _| {
        let path = kv.get(&["path", "dest", "name"])?;
        let text = kv.get(&["line", "block"]).unwrap_or("");
        Some(format!("printf '%s\\n' {} >> {}", q(text), q(path)))
    }),
    (&["copy", "template", "win_copy"], |kv, _| {
        let dest = kv.get(&["dest"])?;
        match (kv.get(&["content"]), kv.get(&["src"])) {
            (Some(content), _) => Some(format!("printf '%s' {} > {}", q(content), q(dest))),
            (None, Some(src)) => Some(format!("cp {} {}", q(src), q(dest))),
            _ => None,
        }
    }),
    // A scheduled job: written where cron runs it later.
    (&["cron"], |kv, _| {
        let job = kv.get(&["job"])?;
        Some(format!(
            "printf '%s\\n' {} >> /etc/crontab",
            q(&format!("* * * * * root {job}"))
        ))
    }),
    (&["authorized_key"], |kv, _| {
        let user = kv.get(&["user"])?;
        let key = kv.get(&["key"]).unwrap_or("key");
        Some(format!(
            "printf '%s\\n' {} >> ~{}/.ssh/authorized_keys",
            q(key),
            user
        ))
    }),
    (
        &["apt", "yum", "dnf", "package", "pip", "homebrew"],
        |kv, _| {
            let name = kv.get(&["name", "pkg"])?;
            kv.is("state", &["absent", "removed"])
                .then(|| format!("apt-get remove -y {}", q(name)))
        },
    ),
    (&["iptables"], |kv, _| {
        kv.is("flush", &["yes", "true", "True"])
            .then(|| "iptables -F".into())
    }),
    (&["ufw"], |kv, _| {
        kv.is("state", &["disabled", "reset"])
            .then(|| "ufw disable".into())
    }),
    (&["mysql_db", "postgresql_db", "mongodb_db"], |kv, _| {
        let name = kv.get(&["name", "db"])?;
        kv.is("state", &["absent"])
            .then(|| format!("dropdb {}", q(name)))
    }),
];

/// Salt execution functions.
const SALT: &[(&[&str], Reading)] = &[
    (
        &[
            "cmd.run",
            "cmd.run_all",
            "cmd.run_stdout",
            "cmd.shell",
            "cmd.exec_code_all",
        ],
        |_, raw| Some(raw.to_owned()),
    ),
    (
        &[
            "system.reboot",
            "system.poweroff",
            "system.halt",
            "system.shutdown",
        ],
        |_, _| Some("reboot".into()),
    ),
    (&["file.remove", "file.rmdir"], |_, raw| {
        Some(format!("rm -rf -- {}", q(raw.split_whitespace().next()?)))
    }),
    (
        &["service.stop", "service.disable", "service.dead"],
        |_, raw| {
            Some(format!(
                "systemctl stop {}",
                q(raw.split_whitespace().next()?)
            ))
        },
    ),
    (&["user.delete"], |_, raw| {
        Some(format!("userdel {}", q(raw.split_whitespace().next()?)))
    }),
    (&["pkg.remove", "pkg.purge"], |_, raw| {
        Some(format!(
            "apt-get remove -y {}",
            q(raw.split_whitespace().next()?)
        ))
    }),
];

/// Parallel shells: the program, its options that take a value; the command is what follows.
const PARALLEL_SHELLS: &[(&[&str], &[&str])] = &[
    (
        &["pdsh", "dsh"],
        &[
            "-w", "-x", "-l", "-R", "-f", "-t", "-u", "-g", "-X", "-M", "-m",
        ],
    ),
    (
        &["pssh", "parallel-ssh"],
        &[
            "-h",
            "-H",
            "-l",
            "-p",
            "-o",
            "-e",
            "-t",
            "-x",
            "-X",
            "-O",
            "--hosts",
            "--host",
            "--user",
            "--par",
            "--outdir",
            "--errdir",
            "--timeout",
            "--extra-args",
            "--extra-arg",
            "--option",
        ],
    ),
    (
        &["clush"],
        &[
            "-w", "-x", "-g", "-X", "-l", "-f", "-t", "-u", "-o", "-O", "-E", "-R", "--group",
            "--nodes",
        ],
    ),
];

/// Every program this module reads.
pub(super) const PROGRAMS: &[&str] = &[
    "ansible",
    "salt",
    "salt-ssh",
    "pdsh",
    "dsh",
    "pssh",
    "parallel-ssh",
    "clush",
];

/// The shell text `name args…` runs on its hosts, when it runs one we can read.
pub(super) fn command(name: &str, args: &[&str]) -> Option<String> {
    match name {
        "ansible" => ansible(args),
        "salt" | "salt-ssh" => salt(args),
        _ => parallel_shell(name, args),
    }
}

/// `ansible PATTERN [-m MODULE] [-a ARGS]`; the module defaults to `command`.
fn ansible(args: &[&str]) -> Option<String> {
    let mut module = "command";
    let mut margs: Option<&str> = None;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (*a, None),
        };
        let value = || inline.or_else(|| args.get(i + 1).copied());
        match flag {
            "-m" | "--module-name" => module = value()?,
            "-a" | "--args" => margs = value(),
            _ if flag.starts_with("-m") && flag.len() > 2 => module = &flag[2..],
            _ if flag.starts_with("-a") && flag.len() > 2 => margs = Some(&flag[2..]),
            _ => {
                i += 1;
                continue;
            }
        }
        i += if inline.is_some() { 1 } else { 2 };
    }
    let module = module.rsplit('.').next().unwrap_or(module);
    let raw = margs.unwrap_or("");
    let (_, read) = MODULES.iter().find(|(names, _)| names.contains(&module))?;
    read(&Kv::parse(raw), raw).filter(|t| !t.trim().is_empty())
}

/// The free-form command of `command`/`shell`, without its leading `chdir=`/`creates=` options.
fn free_form(raw: &str) -> String {
    let mut rest = raw.trim_start();
    while let Some((word, tail)) = rest.split_once(char::is_whitespace) {
        let key = word.split('=').next().unwrap_or("");
        if !word.contains('=')
            || !matches!(
                key,
                "chdir" | "creates" | "removes" | "executable" | "warn" | "stdin"
            )
        {
            break;
        }
        rest = tail.trim_start();
    }
    rest.to_owned()
}

/// `salt TARGET FUNCTION ARGS…` (options before the target are skipped).
fn salt(args: &[&str]) -> Option<String> {
    let pos: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let function = pos.get(1)?;
    let raw = pos.get(2..).unwrap_or(&[]).join(" ");
    let (_, read) = SALT.iter().find(|(names, _)| names.contains(function))?;
    read(&Kv::parse(&raw), &raw)
}

fn parallel_shell(name: &str, args: &[&str]) -> Option<String> {
    let (_, valued) = PARALLEL_SHELLS
        .iter()
        .find(|(names, _)| names.contains(&name))?;
    let mut i = 0;
    while let Some(a) = args.get(i).filter(|a| a.starts_with('-')) {
        i += if valued.contains(a) { 2 } else { 1 };
    }
    let rest = args.get(i..)?;
    (!rest.is_empty()).then(|| rest.join(" "))
}

#[cfg(test)]
mod tests {
    use super::command;

    #[test]
    fn reads_what_runs_on_the_hosts() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            (
                "ansible",
                &["all", "-m", "shell", "-a", "rm -rf /var/log/*"],
                Some("rm -rf /var/log/*"),
            ),
            ("ansible", &["web", "-b", "-a", "reboot"], Some("reboot")),
            (
                "ansible",
                &["all", "-a", "chdir=/srv creates=x make install"],
                Some("make install"),
            ),
            (
                "ansible",
                &[
                    "all",
                    "-m",
                    "ansible.builtin.file",
                    "-a",
                    "path=/etc state=absent",
                ],
                Some("rm -rf -- /etc"),
            ),
            (
                "ansible",
                &["all", "-m", "file", "-a", "path=/tmp/x state=directory"],
                None,
            ),
            (
                "ansible",
                &["db", "-m", "service", "-a", "name=postgresql state=stopped"],
                Some("systemctl stop postgresql"),
            ),
            ("ansible", &["all", "-m", "ping"], None),
            ("ansible", &["all", "--module-name=reboot"], Some("reboot")),
            (
                "salt",
                &["*", "cmd.run", "rm -rf /srv"],
                Some("rm -rf /srv"),
            ),
            ("salt", &["-L", "web1", "test.ping"], None),
            (
                "pdsh",
                &["-w", "node[1-4]", "systemctl", "stop", "sshd"],
                Some("systemctl stop sshd"),
            ),
            ("pssh", &["-h", "hosts.txt", "-i", "uptime"], Some("uptime")),
            ("clush", &["-w", "n1,n2", "-b", "df -h"], Some("df -h")),
        ];
        for (name, args, want) in cases {
            assert_eq!(command(name, args).as_deref(), *want, "{name} {args:?}");
        }
    }
}
