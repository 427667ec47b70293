//! System rules as a table: services, firewalls, power, signals, accounts, mounts, the kernel.
//! Each entry names the programs, when it fires, and the catalog rule it raises.

use crate::catalog::rules as r;
use crate::catalog::Rule;

/// When an entry fires, from the command's arguments (flags included, in order).
#[derive(Clone, Copy)]
enum When {
    /// Any invocation with at least one argument, except `--help`/`--version`.
    WithArgs,
    /// Any invocation at all, except `--help`/`--version`.
    Always,
    /// One of these arguments is present.
    AnyArg(&'static [&'static str]),
    /// A verb and an object are both present (`systemctl stop sshd`, `service ssh stop`).
    VerbAndObject(&'static [&'static str], &'static [&'static str]),
    /// Signals aimed at pid 1 or every process.
    KillTargets,
    /// A `key=value` argument (`sysctl kernel.x=0`).
    KeyValue,
    /// Any invocation with arguments, unless one of these (a read: `zfs list`, `mdadm --detail`).
    WithArgsBut(&'static [&'static str]),
    /// An argument starting with one of these (`--vacuum-time=1s`).
    AnyArgPrefix(&'static [&'static str]),
    /// `aa-teardown` itself, or `apparmor_parser -R`.
    TeardownOrRemove,
}

struct Entry {
    programs: &'static [&'static str],
    when: When,
    rule: Rule,
    what: &'static str,
}

/// Services whose loss locks people out of the machine or blinds it.
const CRITICAL_SERVICES: &[&str] = &[
    "ssh",
    "sshd",
    "openssh-server",
    "networking",
    "network",
    "NetworkManager",
    "systemd-networkd",
    "systemd-resolved",
    "firewalld",
    "ufw",
    "iptables",
    "ip6tables",
    "nftables",
    "netfilter-persistent",
    "auditd",
    "apparmor",
    "fail2ban",
    "wpa_supplicant",
    "dbus",
    "systemd-journald",
    "rsyslog",
    "syslog",
    "crowdstrike",
    "falcon-sensor",
    "osqueryd",
    "wazuh-agent",
    "sshd.socket",
    "ssh.socket",
];
/// Servers others depend on: stopping one takes down what runs on it.
const SERVER_SERVICES: &[&str] = &[
    "postgresql",
    "postgres",
    "mysql",
    "mysqld",
    "mariadb",
    "mongod",
    "mongodb",
    "redis",
    "redis-server",
    "valkey",
    "memcached",
    "elasticsearch",
    "opensearch",
    "rabbitmq-server",
    "kafka",
    "zookeeper",
    "etcd",
    "consul",
    "vault",
    "nginx",
    "apache2",
    "httpd",
    "haproxy",
    "caddy",
    "traefik",
    "docker",
    "containerd",
    "kubelet",
    "k3s",
    "cron",
    "crond",
    "postfix",
    "named",
    "bind9",
    "dnsmasq",
    "unbound",
    "chronyd",
    "ntp",
];
const STOP_VERBS: &[&str] = &[
    "stop", "disable", "mask", "kill", "unload", "bootout", "remove", "--now",
];
const SYSTEM_DAEMONS: &[&str] = &[
    "sshd",
    "systemd",
    "init",
    "dockerd",
    "containerd",
    "kubelet",
    "Xorg",
    "gdm",
    "sddm",
    "NetworkManager",
    "dbus-daemon",
    "systemd-journald",
    "launchd",
    "auditd",
];

/// Packages the machine cannot run or be reached without.
const CORE_PACKAGES: &[&str] = &[
    "python3",
    "python3-minimal",
    "perl-base",
    "openssh-server",
    "openssh",
    "ssh",
    "sudo",
    "systemd",
    "coreutils",
    "bash",
    "libc6",
    "glibc",
    "linux",
    "linux-image-generic",
    "kernel",
    "core",
    "core20",
    "core22",
    "snapd",
    "apt",
    "dpkg",
    "rpm",
    "yum",
    "dnf",
    "pacman",
    "util-linux",
    "login",
    "passwd",
    "grub",
    "grub2",
    "grub-pc",
    "network-manager",
    "NetworkManager",
    "iproute2",
    "init",
    "base",
    "busybox",
];

/// Programs that start and stop services.
const SERVICE_MANAGERS: &[&str] = &[
    "systemctl",
    "service",
    "rc-service",
    "sv",
    "launchctl",
    "rc-update",
    "update-rc.d",
    "chkconfig",
];

const TABLE: &[Entry] = &[
    Entry {
        // `nginx -s stop`, `apachectl -k graceful-stop`: the web server itself told to stop.
        programs: &["apachectl", "apache2ctl", "httpd"],
        when: When::AnyArg(&["stop", "quit", "graceful-stop"]),
        rule: r::SERVICE_DISABLE,
        what: "stops the web server, taking its sites down",
    },
    Entry {
        programs: SERVICE_MANAGERS,
        when: When::VerbAndObject(STOP_VERBS, CRITICAL_SERVICES),
        rule: r::SERVICE_DISABLE,
        what: "stops or disables a service the machine's access or safety depends on",
    },
    Entry {
        programs: SERVICE_MANAGERS,
        when: When::VerbAndObject(STOP_VERBS, SERVER_SERVICES),
        rule: r::SERVICE_DISABLE,
        what: "stops or disables a server (database, web server, container runtime, …) that others depend on",
    },
    Entry {
        programs: &["systemctl", "loginctl"],
        when: When::AnyArg(&[
            "reboot",
            "poweroff",
            "halt",
            "kexec",
            "suspend",
            "hibernate",
            "rescue",
            "emergency",
            "isolate",
            "soft-reboot",
            "default",
            "set-default",
        ]),
        rule: r::POWER_STATE,
        what: "changes the machine's power state",
    },
    Entry {
        programs: &["shutdown", "reboot", "halt", "poweroff"],
        when: When::Always,
        rule: r::POWER_STATE,
        what: "shuts down or restarts the machine",
    },
    Entry {
        programs: &["init", "telinit"],
        when: When::AnyArg(&["0", "6", "1", "s", "S", "single"]),
        rule: r::POWER_STATE,
        what: "changes the runlevel (halt, reboot or single-user)",
    },
    Entry {
        programs: &[
            "iptables",
            "ip6tables",
            "iptables-legacy",
            "iptables-nft",
            "ip6tables-legacy",
            "ebtables",
            "arptables",
        ],
        when: When::AnyArg(&["-F", "--flush", "-X", "--delete-chain", "-P", "--policy"]),
        rule: r::FIREWALL_DISABLE,
        what: "flushes the firewall or opens its default policy",
    },
    Entry {
        // `-t nat -A PREROUTING … -j DNAT --to-destination host`: traffic sent elsewhere.
        programs: &["iptables", "ip6tables", "iptables-legacy", "iptables-nft"],
        when: When::AnyArg(&["DNAT", "REDIRECT", "TPROXY", "--to-destination", "--to-ports"]),
        rule: r::FIREWALL_DISABLE,
        what: "redirects the machine's network traffic to another address or port",
    },
    Entry {
        programs: &["nft"],
        when: When::AnyArg(&["flush", "delete"]),
        rule: r::FIREWALL_DISABLE,
        what: "flushes or deletes firewall rules",
    },
    Entry {
        programs: &["ufw"],
        when: When::AnyArg(&["disable", "reset"]),
        rule: r::FIREWALL_DISABLE,
        what: "disables the firewall",
    },
    Entry {
        programs: &["pfctl"],
        when: When::AnyArg(&["-d", "-F"]),
        rule: r::FIREWALL_DISABLE,
        what: "disables or flushes the packet filter",
    },
    Entry {
        programs: &["firewall-cmd"],
        when: When::AnyArg(&[
            "--panic-off",
            "--set-default-zone=trusted",
            "--complete-reload",
        ]),
        rule: r::FIREWALL_DISABLE,
        what: "opens the firewall",
    },
    Entry {
        programs: &["kill"],
        when: When::KillTargets,
        rule: r::KILL_ALL,
        what: "signals init or every process",
    },
    Entry {
        programs: &["loginctl"],
        when: When::AnyArg(&["terminate-user", "kill-user", "terminate-seat"]),
        rule: r::KILL_ALL,
        what: "ends every process of a user or seat",
    },
    Entry {
        programs: &["killall5"],
        when: When::Always,
        rule: r::KILL_ALL,
        what: "signals every process",
    },
    Entry {
        programs: &["pkill", "killall"],
        when: When::AnyArg(SYSTEM_DAEMONS),
        rule: r::KILL_ALL,
        what: "kills a system daemon",
    },
    Entry {
        programs: &["crontab"],
        when: When::AnyArg(&["-r", "-ir", "-ri"]),
        rule: r::CRONTAB_REMOVE,
        what: "deletes every scheduled job",
    },
    Entry {
        programs: &[
            "userdel", "useradd", "usermod", "groupdel", "groupmod", "deluser", "adduser",
            "delgroup", "chpasswd", "chage", "gpasswd", "vipw", "vigr", "pwconv", "dscl",
        ],
        when: When::WithArgs,
        rule: r::ACCOUNT_CHANGE,
        what: "changes user accounts",
    },
    Entry {
        programs: &["passwd", "visudo", "chpasswd", "sudoedit"],
        when: When::Always,
        rule: r::ACCOUNT_CHANGE,
        what: "changes passwords or sudo rights",
    },
    Entry {
        programs: &[
            "mount",
            "umount",
            "losetup",
            "cryptsetup",
            "mdadm",
            "lvremove",
            "vgremove",
            "pvremove",
            "zpool",
            "zfs",
        ],
        when: When::WithArgsBut(&[
            "list", "status", "get", "iostat", "history", "--detail", "-D", "--examine",
            "--list", "show", "luksDump", "-h", "--help",
        ]),
        rule: r::MOUNT_SYSTEM,
        what: "changes mounts or storage",
    },
    Entry {
        programs: &["swapoff", "swapon"],
        when: When::Always,
        rule: r::MOUNT_SYSTEM,
        what: "changes swap",
    },
    Entry {
        programs: &["journalctl"],
        when: When::AnyArgPrefix(&["--vacuum-size", "--vacuum-time", "--vacuum-files"]),
        rule: r::AUDIT_WIPE,
        what: "deletes the system journal",
    },
    Entry {
        programs: &["dmesg"],
        when: When::AnyArg(&["-c", "-C", "--clear", "--read-clear"]),
        rule: r::AUDIT_WIPE,
        what: "clears the kernel's message buffer",
    },
    Entry {
        programs: &["auditctl"],
        when: When::AnyArg(&["-D", "-e0"]),
        rule: r::AUDIT_WIPE,
        what: "deletes the kernel audit rules or turns auditing off",
    },
    Entry {
        programs: &["aa-teardown", "apparmor_parser"],
        when: When::TeardownOrRemove,
        rule: r::AUDIT_WIPE,
        what: "unloads AppArmor profiles",
    },
    Entry {
        programs: &["sysctl"],
        when: When::AnyArg(&["-w", "--write", "-p", "--load", "--system"]),
        rule: r::KERNEL_CHANGE,
        what: "changes kernel settings",
    },
    Entry {
        programs: &[
            "apt", "apt-get", "aptitude", "yum", "dnf", "zypper", "pacman", "dpkg", "rpm", "snap",
            "apk", "brew", "port",
        ],
        when: When::VerbAndObject(
            &[
                "remove",
                "purge",
                "erase",
                "autoremove",
                "-R",
                "-Rns",
                "-Rs",
                "-Rdd",
                "--purge",
                "--remove",
                "-e",
                "del",
                "uninstall",
                "-r",
                "-P",
            ],
            CORE_PACKAGES,
        ),
        rule: r::CORE_PACKAGE_REMOVE,
        what: "removes a package the system needs to run or be reached",
    },
    Entry {
        programs: &[
            "grub-install",
            "update-grub",
            "grub-mkconfig",
            "grub2-mkconfig",
            "bootctl",
            "setenforce",
            "setcap",
            "kexec",
        ],
        when: When::Always,
        rule: r::BOOT_CHANGE,
        what: "changes the boot loader or the security framework",
    },
    Entry {
        // macOS: System Integrity Protection and Gatekeeper off.
        programs: &["csrutil"],
        when: When::AnyArg(&["disable"]),
        rule: r::BOOT_CHANGE,
        what: "turns System Integrity Protection off",
    },
    Entry {
        programs: &["spctl"],
        when: When::AnyArg(&["--master-disable", "--global-disable", "kext-consent"]),
        rule: r::BOOT_CHANGE,
        what: "turns Gatekeeper's checks off",
    },
    Entry {
        programs: &["efibootmgr"],
        when: When::AnyArg(&[
            "-B",
            "--delete-bootnum",
            "-o",
            "--bootorder",
            "-c",
            "--create",
            "-n",
        ]),
        rule: r::BOOT_CHANGE,
        what: "changes the firmware boot entries",
    },
    Entry {
        programs: &[
            "ip",
            "ifconfig",
            "ifdown",
            "nmcli",
            "route",
            "networksetup",
            "rfkill",
        ],
        when: When::AnyArg(&[
            "down",
            "flush",
            "off",
            "del",
            "delete",
            "block",
            "-setnetworkserviceenabled",
        ]),
        rule: r::BOOT_CHANGE,
        what: "takes network links or routes down",
    },
    Entry {
        programs: &["ufw"],
        when: When::AnyArg(&["default", "deny", "reject"]),
        rule: r::FIREWALL_DISABLE,
        what: "changes the firewall's default policy",
    },
    Entry {
        programs: &["firewall-cmd"],
        when: When::AnyArg(&["--panic-on"]),
        rule: r::FIREWALL_DISABLE,
        what: "drops every connection",
    },
    Entry {
        programs: &["crontab"],
        when: When::WithArgs,
        rule: r::CRONTAB_REMOVE,
        what: "replaces every scheduled job",
    },
    Entry {
        programs: &["journalctl"],
        when: When::AnyArgPrefix(&["--vacuum-size", "--vacuum-time", "--vacuum-files"]),
        rule: r::AUDIT_WIPE,
        what: "deletes the system journal",
    },
    Entry {
        programs: &["dmesg"],
        when: When::AnyArg(&["-c", "-C", "--clear", "--read-clear"]),
        rule: r::AUDIT_WIPE,
        what: "clears the kernel's message buffer",
    },
    Entry {
        programs: &["auditctl"],
        when: When::AnyArg(&["-D", "-e0"]),
        rule: r::AUDIT_WIPE,
        what: "deletes the kernel audit rules or turns auditing off",
    },
    Entry {
        programs: &["aa-teardown", "apparmor_parser"],
        when: When::TeardownOrRemove,
        rule: r::AUDIT_WIPE,
        what: "unloads AppArmor profiles",
    },
    Entry {
        programs: &["sysctl"],
        when: When::KeyValue,
        rule: r::KERNEL_CHANGE,
        what: "changes kernel settings",
    },
    Entry {
        programs: &[
            "modprobe",
            "insmod",
            "rmmod",
            "kexec",
            "kldload",
            "kldunload",
            "kextload",
        ],
        when: When::WithArgs,
        rule: r::KERNEL_CHANGE,
        what: "loads or removes kernel code",
    },
];

/// The system rule `name args…` trips, with its reason.
pub(crate) fn check(name: &str, args: &[&str]) -> Option<(Rule, String)> {
    // Hot path: most programs are in no row (one hash lookup instead of scanning the table).
    static PROGRAMS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| {
            TABLE
                .iter()
                .flat_map(|e| e.programs.iter().copied())
                .collect()
        });
    if !PROGRAMS.contains(name) {
        return None;
    }
    if args.iter().any(|a| {
        matches!(
            *a,
            "--help"
                | "--version"
                | "-V"
                | "-n"
                | "--dry-run"
                | "--show"
                | "--list"
                | "status"
                | "show"
        )
    }) && !matches!(name, "iptables" | "ip6tables" | "kill" | "crontab")
    {
        return None;
    }
    if name == "mount"
        && args
            .iter()
            .all(|a| matches!(*a, "-l" | "-a" | "--show-labels" | "-t") || !a.contains('/'))
        && args.len() <= 2
        && !args.iter().any(|a| a.starts_with('/'))
    {
        return None;
    }
    if matches!(
        name,
        "apt" | "apt-get" | "aptitude" | "dnf" | "yum" | "zypper"
    ) && args.iter().any(|a| {
        matches!(
            *a,
            "-s" | "--simulate" | "--dry-run" | "--just-print" | "--no-act" | "--assumeno"
        )
    }) {
        return None;
    }
    if name == "crontab"
        && args.iter().all(|a| {
            matches!(*a, "-l" | "-e" | "-u") || !a.starts_with('-') && args.contains(&"-u")
        })
    {
        return None;
    }
    for e in TABLE.iter().filter(|e| e.programs.contains(&name)) {
        let fires = match e.when {
            When::Always => true,
            When::WithArgs => !args.is_empty(),
            When::AnyArg(set) => args.iter().any(|a| set.contains(a)),
            When::VerbAndObject(verbs, objects) => {
                args.iter().any(|a| verbs.contains(a))
                    && args.iter().any(|a| {
                        let unit = a.trim_end_matches(".service").trim_end_matches(".plist");
                        // `postgresql@16-main` is an instance of `postgresql`.
                        let unit = unit.split('@').next().unwrap_or(unit);
                        objects.contains(&unit)
                            // `apt purge 'openssh*'`: a glob that takes a listed one with it.
                            || (unit.len() > 3
                                && unit.ends_with('*')
                                && !unit[..unit.len() - 1].contains(['*', '?', '['])
                                && objects.iter().any(|o| o.starts_with(&unit[..unit.len() - 1])))
                            || (matches!(name, "launchctl")
                                && objects.iter().any(|o| o.len() > 3 && unit.contains(o)))
                    })
                    && !args.contains(&"--user")
            }
            When::KillTargets => {
                kill_targets(args)
                    // `kill -9 $(pgrep sshd)`: the pids of a daemon the machine needs.
                    || args.iter().any(|a| {
                        (a.contains("pgrep") || a.contains("pidof"))
                            && SYSTEM_DAEMONS.iter().any(|d| {
                                a.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                                    .any(|w| w == *d)
                            })
                    })
            }
            When::KeyValue => args.iter().any(|a| a.contains('=') && !a.starts_with('-')),
            When::WithArgsBut(reads) => !args.is_empty() && !args.iter().any(|a| reads.contains(a)),
            When::AnyArgPrefix(pre) => args.iter().any(|a| pre.iter().any(|p| a.starts_with(p))),
            When::TeardownOrRemove => {
                name == "aa-teardown" || args.iter().any(|a| matches!(*a, "-R" | "--remove"))
            }
        };
        if fires {
            return Some((e.rule, format!("`{name}` {}.", e.what)));
        }
    }
    None
}

/// `kill [-SIG | -s SIG | -n N] pid…` aimed at pid 1 or at -1 (every process).
fn kill_targets(args: &[&str]) -> bool {
    // Signal 0 delivers nothing: `kill -0 1` only asks whether the process exists.
    let signal_zero = args.iter().enumerate().any(|(i, a)| {
        matches!(*a, "-0" | "-s0" | "-n0" | "--signal=0")
            || (matches!(*a, "-s" | "-n" | "--signal") && args.get(i + 1) == Some(&"0"))
    });
    if signal_zero {
        return false;
    }
    let mut i = 0;
    let mut targets = Vec::new();
    let mut after_dd = false;
    while let Some(a) = args.get(i) {
        if after_dd {
            targets.push(*a);
        } else if *a == "--" {
            after_dd = true;
        } else if matches!(*a, "-s" | "-n" | "--signal") {
            i += 1;
        } else if a.starts_with('-')
            && targets.is_empty()
            && !(*a == "-1" && i > 0 && args[..i].iter().any(|p| p.starts_with('-')))
        {
            // A signal (`-9`, `-KILL`); `-1` after a signal is a target.
            if *a == "-1" && i + 1 >= args.len() {
                targets.push(*a);
            }
        } else {
            targets.push(*a);
        }
        i += 1;
    }
    targets.iter().any(|t| matches!(*t, "1" | "-1"))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn table() {
        assert!(check("kill", &["-9", "1"]).is_some());
        assert!(check("kill", &["-9", "-1"]).is_some());
        assert!(check("kill", &["-1"]).is_some());
        assert!(check("kill", &["-0", "1"]).is_none());
        assert!(check("kill", &["-s", "0", "1"]).is_none());
        assert!(check("kill", &["-9", "4242"]).is_none());
        assert!(check("kill", &["12345"]).is_none());
        assert!(check("systemctl", &["stop", "sshd"]).is_some());
        assert!(check("systemctl", &["restart", "nginx"]).is_none());
        assert!(check("systemctl", &["status", "sshd"]).is_none());
        assert!(check("service", &["networking", "stop"]).is_some());
        assert!(check("mount", &[]).is_none());
        assert!(check("sysctl", &["-a"]).is_none());
        assert!(check("shutdown", &["--help"]).is_none());
    }
}
