//! The machine itself: services, firewalls, power, processes, accounts, mounts, the kernel.

use super::{Family::System as F, Rule};
use crate::event::Verdict::{Block, RequireApproval};

pub const SERVICE_DISABLE: Rule = Rule {
    id: "service-disable",
    family: F,
    verdict: RequireApproval,
    explanation: "Stopping, disabling or masking remote access, networking or firewall services (`sshd`, `NetworkManager`, `firewalld`, …) can lock everyone out of the machine; stopping a server others depend on (a database, web server or container runtime) takes down what runs on it.",
    suggestion: "Leave system services alone; ask the user to change them.",
    fires: &["systemctl stop sshd", "sudo systemctl disable ssh", "systemctl mask firewalld", "service networking stop", "sudo systemctl stop postgresql@16-main", "service nginx stop"],
    near_misses: &["systemctl status sshd", "systemctl restart nginx", "systemctl --user stop myapp"],
};
pub const FIREWALL_DISABLE: Rule = Rule {
    id: "firewall-disable",
    family: F,
    verdict: Block,
    explanation: "Flushing or disabling the firewall (`iptables -F`, `nft flush ruleset`, `ufw disable`, `pfctl -d`, `netsh advfirewall … state off`) opens the machine to the network; switching off Windows Defender (`Set-MpPreference -Disable…`) or granting everyone full control of system files (`icacls C:\\Windows /grant Everyone:F`) opens it to anything run later.",
    suggestion: "Add a specific rule instead, and let the user apply firewall changes.",
    fires: &["iptables -F", "sudo iptables --flush", "nft flush ruleset", "ufw disable", "iptables -P INPUT ACCEPT"],
    near_misses: &["iptables -L", "ufw status", "nft list ruleset"],
};
pub const POWER_STATE: Rule = Rule {
    id: "power-state",
    family: F,
    verdict: RequireApproval,
    explanation: "Shutting down, rebooting or halting the machine ends every session on it.",
    suggestion: "Ask the user to reboot or shut down the machine themselves.",
    fires: &[
        "shutdown -h now",
        "reboot",
        "sudo halt",
        "poweroff",
        "init 0",
        "systemctl reboot",
    ],
    near_misses: &["shutdown --help", "uptime"],
};
pub const KILL_ALL: Rule = Rule {
    id: "kill-all",
    family: F,
    verdict: Block,
    explanation: "Signalling init (pid 1) or every process (`kill -1`, `kill -9 -1`, `killall5`), or `pkill`/`killall` of system daemons.",
    suggestion: "Stop only processes you started, by their pid.",
    fires: &["kill -9 1", "kill -9 -1", "kill -KILL -1", "killall5 -9", "pkill -9 sshd", "killall systemd"],
    near_misses: &["kill 12345", "kill -9 4242", "pkill -f 'node server.js'"],
};
pub const CRONTAB_REMOVE: Rule = Rule {
    id: "crontab-remove",
    family: F,
    verdict: RequireApproval,
    explanation: "`crontab -r` deletes every scheduled job of the user without a backup.",
    suggestion: "Edit the specific entry with `crontab -l > cron.bak` first.",
    fires: &["crontab -r", "crontab -r -u bob"],
    near_misses: &["crontab -l"],
};
pub const AUDIT_WIPE: Rule = Rule {
    id: "audit-wipe",
    family: F,
    verdict: RequireApproval,
    explanation: "Erasing the record of what happened on the machine: shell history files (deleted, emptied, replaced by a link to `/dev/null`, shredded, opened for writing by code) or history turned off (`history -c`, `unset HISTFILE`, `HISTFILE=/dev/null`, `HISTSIZE=0`, `set +o history`), the kernel's message buffer (`dmesg -C`), the systemd journal (`journalctl --vacuum-*`), kernel audit rules (`auditctl -D`, `-e 0`), AppArmor profiles (`aa-teardown`).",
    suggestion: "Leave logs and history in place; if space is short, ask the user to rotate or archive them.",
    fires: &["rm ~/.bash_history", "cat /dev/null > ~/.zsh_history", "journalctl --vacuum-time=1s", "auditctl -D", "aa-teardown", "history -c", "ln -sf /dev/null ~/.bash_history", "export HISTFILE=/dev/null", "dmesg -C"],
    near_misses: &["journalctl -u nginx --since today", "auditctl -l", "history | tail", "dmesg | tail", "export HISTSIZE=10000"],
};
pub const ACCOUNT_CHANGE: Rule = Rule {
    id: "account-change",
    family: F,
    verdict: RequireApproval,
    explanation: "Adding, deleting or changing user accounts, passwords or sudo rights (`userdel`, `passwd`, `chpasswd`, `visudo`, `usermod`).",
    suggestion: "Account and sudo changes need the user; describe the change instead.",
    fires: &["userdel bob", "passwd root", "chpasswd < users.txt", "visudo", "usermod -aG sudo bob"],
    near_misses: &["id", "whoami", "getent passwd bob"],
};
pub const MOUNT_SYSTEM: Rule = Rule {
    id: "mount-system",
    family: F,
    verdict: RequireApproval,
    explanation: "Mounting, unmounting or swapping off system storage.",
    suggestion: "Leave mounts alone; ask the user to change storage.",
    fires: &[
        "mount /dev/sdb1 /mnt",
        "umount /",
        "swapoff -a",
        "umount -l /home",
    ],
    near_misses: &["mount", "findmnt", "df -h"],
};
pub const KERNEL_CHANGE: Rule = Rule {
    id: "kernel-change",
    family: F,
    verdict: RequireApproval,
    explanation: "Changing the running kernel: `sysctl -w`, loading or removing modules.",
    suggestion: "Kernel settings need the user; describe the change instead.",
    fires: &[
        "sysctl -w kernel.panic=1",
        "modprobe evil",
        "insmod ./x.ko",
        "rmmod e1000",
    ],
    near_misses: &["sysctl -a", "lsmod", "sysctl kernel.hostname"],
};

pub const CORE_PACKAGE_REMOVE: Rule = Rule {
    id: "core-package-remove",
    family: F,
    verdict: RequireApproval,
    explanation: "Removing a package the system cannot run or be reached without (`openssh-server`, `sudo`, `systemd`, `coreutils`, the kernel, `libc`).",
    suggestion: "Leave core system packages alone; ask the user.",
    fires: &["apt-get remove -y openssh-server", "yum remove -y systemd", "pacman -Rns linux"],
    near_misses: &["apt-get remove -y cowsay", "apt-get install -y sudo"],
};
pub const BOOT_CHANGE: Rule = Rule {
    id: "boot-change",
    family: F,
    verdict: RequireApproval,
    explanation: "Changing the boot loader, boot entries, the network links or the security framework (`grub-install`, `efibootmgr -B`, `ip link set … down`, `nmcli networking off`, `setenforce 0`, `setcap`); turning off an operating-system check on what runs (`Set-ExecutionPolicy Unrestricted`, Gatekeeper quarantine via `defaults write … LSQuarantine` or `xattr -d com.apple.quarantine`, the macOS application firewall).",
    suggestion: "Ask the user to make boot, network or security-framework changes.",
    fires: &["update-grub", "efibootmgr -B -b 0001", "ip link set eth0 down", "setenforce 0", "nmcli networking off"],
    near_misses: &["ip addr", "efibootmgr", "getenforce", "nmcli device status"],
};

pub const AUTOSTART_WRITE: Rule = Rule {
    id: "autostart-write",
    family: F,
    verdict: RequireApproval,
    explanation: "Writing where programs are started or code is loaded later by something else: systemd user units, XDG autostart entries, launchd agents, `environment.d`, X session scripts, Windows Run keys and scheduled tasks, the user's program directories on the search path (`~/.local/bin`, `~/bin`: a file there answers to its name first), editor start-up files, Python `.pth`/`sitecustomize.py`, `node_modules/.bin`, an agent's MCP server list (`.mcp.json`), editor tasks run on opening; and registering such a job (`systemctl enable`, `launchctl load`/`bootstrap`). What lands there runs later, unseen by the hook. Also: login items added from AppleScript, the Windows Startup folders, and editor tasks that run on opening the folder (`.vscode/tasks.json` with `runOn: folderOpen`; content written in the command is graded as run, unseen content needs approval). Commands written into CI pipelines (`run:`/`script:` steps, `${{ secrets.* }}` read as secrets) are graded as if run.",
    suggestion: "Do not install things that start on their own; show the user the unit or entry and let them install it.",
    fires: &[
        "cp sync.service ~/.config/systemd/user/",
        "echo '[Desktop Entry]' > ~/.config/autostart/x.desktop",
        "@Write /home/u/Library/LaunchAgents/com.x.plist|<plist/>",
        "echo 'PATH=/tmp/x' > ~/.config/environment.d/10-x.conf",
        "printf '#!/bin/sh\\nrm -rf ~\\n' > ~/.local/bin/git",
        "echo '{\"mcpServers\":{\"x\":{\"command\":\"sh\"}}}' > .mcp.json",
        "systemctl --user enable --now sync.service",
        "launchctl load ~/Library/LaunchAgents/com.x.plist",
    ],
    near_misses: &["ls ~/.config/systemd/user", "cp sync.service deploy/systemd/", "cat ~/.config/autostart/x.desktop", "systemctl --user restart sync.service", "launchctl list"],
};

pub const SETUID_BIT: Rule = Rule {
    id: "setuid-bit",
    family: F,
    verdict: RequireApproval,
    explanation: "Setting the set-user-ID bit (`chmod u+s`, `chmod +s`, `chmod 4755`), on any file: whoever runs the file afterwards runs it as its owner, often root. A classic way to keep root after a single `sudo`.",
    suggestion: "Do not make programs setuid; if something needs privileges, ask the user how they want to grant them.",
    fires: &["chmod u+s /tmp/sh", "sudo chmod 4755 ./helper", "chmod +s \"$(which find)\"", "chmod a+rs x", "sudo install -m 4755 /bin/bash /tmp/sh"],
    near_misses: &["chmod u+x script.sh", "chmod 755 ./bin/tool", "chmod g+s shared/", "chmod -s ./helper", "install -m 755 build/app ~/.local/bin/app"],
};

pub const SYSTEM_RULES: &[Rule] = &[
    SETUID_BIT,
    AUTOSTART_WRITE,
    AUDIT_WIPE,
    CORE_PACKAGE_REMOVE,
    BOOT_CHANGE,
    SERVICE_DISABLE,
    FIREWALL_DISABLE,
    POWER_STATE,
    KILL_ALL,
    CRONTAB_REMOVE,
    ACCOUNT_CHANGE,
    MOUNT_SYSTEM,
    KERNEL_CHANGE,
];
