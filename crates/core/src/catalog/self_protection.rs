//! The guard itself: its settings, hooks, binaries, socket, ledger, and what starts it.

use super::{Family::SelfProtection as F, Rule};
use crate::event::Verdict::{Block, RequireApproval};

pub const GUARD_TAMPER: Rule = Rule {
    id: "guard-tamper",
    family: F,
    verdict: Block,
    explanation: "Changing, moving or deleting the guard's settings, the agents' hook configuration and the hook scripts it names (`~/.claude/hooks/`), DashClaw's binaries, state, ledger or socket, by any means (redirections, `tee`, `cp`/`mv`/`rsync`/`tar -C`/`ln`, `sed -i`, `awk -i inplace`, `perl -pi`, interpreters' file APIs, database clients), or stopping the daemon (signals by pid or name, service stops).",
    suggestion: "The DashClaw guard, its settings and its records are off limits; ask the user to change them.",
    fires: &[
        "echo '{}' > ~/.claude/settings.json",
        "sed -i 's/dashclaw//' ~/.claude/settings.json",
        "python3 -c \"open('/home/u/.claude/settings.json','w').write('{}')\"",
        "pkill dashclawd",
        "cp -r x/. ~/.claude/",
        "@Write /home/u/.claude/settings.json|{}",
        "echo 'exit 0' > ~/.claude/hooks/pre_tool_use.sh",
    ],
    near_misses: &["cat ~/.claude/settings.json", "ls ~/.claude", "dashclawd status", "cat ~/.claude/hooks/pre_tool_use.sh"],
};
pub const GUARD_TAMPER_SUSPECT: Rule = Rule {
    id: "guard-tamper-suspect",
    family: F,
    verdict: RequireApproval,
    explanation:
        "A write whose target is computed at run time and could be the guard's own settings; a path to the guard's files or socket finished at run time and handed to a program that may change it or speak to the daemon (`socat - UNIX-CONNECT:$XDG_RUNTIME_DIR/dashclaw/…`); a shell start-up file written with content that cannot be read (interpreter code, `find -fprint`); unsetting the guard's settings.",
    suggestion: "Name the exact file or process literally so it can be checked.",
    fires: &["sed -i 's/x/y/' $F", "echo '{}' | socat - UNIX-CONNECT:$XDG_RUNTIME_DIR/dashclaw/dashclawd.sock", "find . -maxdepth 0 -fprint ~/.bashrc"],
    near_misses: &["sed -i 's/x/y/' src/a.rs", "cat $HOME/.config/dashclaw/config.toml", "find . -name '*.log' -fprint logs.txt"],
};
pub const SHELL_STARTUP_TAMPER: Rule = Rule {
    id: "shell-startup-tamper",
    family: F,
    verdict: Block,
    explanation: "A shell start-up file (`.bashrc`, `.zshrc`, `.profile`, `.bash_profile`, `.zshenv`, fish config, `/etc/environment`, …) gaining `DASHCLAW_*`, `CLAUDE_*`, `CODEX_*` or `HERMES_*` settings, a `PATH` change, or an alias or function shadowing the hook or the daemon: the guard would be switched off in every later shell.",
    suggestion: "Do not change shell start-up files to alter the agent or the guard; ask the user.",
    fires: &[
        "echo 'export DASHCLAW_HOOK_MODE=observe' >> ~/.bashrc",
        "echo 'export PATH=/tmp/x:$PATH' >> ~/.zshrc",
        "@Write /home/u/.profile|alias dashclaw-hook=true",
    ],
    near_misses: &["cat ~/.bashrc", "echo 'alias ll=\"ls -la\"' >> ~/.bashrc"],
};
pub const SENSITIVE_WRITE: Rule = Rule {
    id: "sensitive-write",
    family: F,
    verdict: Block,
    explanation: "Writing into keys, `.ssh/`, `.aws/credentials`, `.kube/config`, `.netrc`, `.npmrc`, dotenv files outside the workspace and similar credentials files. A project's own `.env*` in the workspace is local configuration and may be written. `ssh-keygen -f ~/.ssh/id_ed25519` writes a new key over the user's default one.",
    suggestion: "Ask the user to edit secrets themselves; document variable names in `.env.example`.",
    fires: &["echo KEY=x >> ~/.env", "cp key ~/.ssh/authorized_keys", "@Write /home/u/.aws/credentials|[default]", "echo x >> ~/.npmrc"],
    near_misses: &["echo KEY= >> .env.example", "@Write /w/proj/.env.example|A=", "echo DEBUG=1 >> .env", "@Write /w/proj/.env.local|PORT=3001"],
};

pub const SELF_PROTECTION_RULES: &[Rule] = &[
    GUARD_TAMPER,
    GUARD_TAMPER_SUSPECT,
    SHELL_STARTUP_TAMPER,
    SENSITIVE_WRITE,
];
