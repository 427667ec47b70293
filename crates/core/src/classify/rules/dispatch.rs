//! The per-command handler table: which family of rules reads a program's arguments.
//!
//! `Walker::argv` strips wrappers, records the command and runs the rules every program gets
//! (exfiltration, embedded commands, system, infra, spend); in between, the program's own
//! handler, looked up here once by name, reads what only that program means: `rm`'s targets,
//! `git`'s subcommands, the code an interpreter runs, a shell builtin's effect on variables.
//! Handlers live with their family (`builtins.rs`, `files.rs`, `programs.rs`).

use std::collections::HashMap;
use std::sync::LazyLock;

use super::shell::{Redirect, Word};
use super::{
    is_versioned_python, listed, unversioned, Facts, Fnv, Listed, Traits, Walker, DOWNLOADERS,
    SHELLS,
};
use crate::event::Intent;

/// One command as its handler sees it; the handler updates `intent`, `facts` and `traits`.
pub(super) struct Call<'c> {
    pub name: &'c str,
    pub args: &'c [Word],
    pub sudo: bool,
    pub stdin: Option<&'c Redirect>,
    /// What arrives on stdin when it is known (a here-string, heredoc, or folded pipe text).
    pub input: Option<&'c str>,
    pub pipe_in: Traits,
    pub depth: usize,
    /// Index of the first finding raised for this command.
    pub own: usize,
    pub intent: Intent,
    pub facts: Facts,
    pub traits: Traits,
}

pub(super) type Handler = for<'a, 'b> fn(&mut Walker<'a>, &mut Call<'b>);

/// A handler method as a table entry.
macro_rules! h {
    ($m:ident) => {
        |w, c| w.$m(c)
    };
}

/// Program names (and aliases) to handlers. A name listed twice keeps its first handler.
const HANDLERS: &[(&[&str], Handler)] = &[
    (SHELLS, h!(h_shell)),
    (&["eval"], h!(h_eval)),
    (&["source", "."], h!(h_source)),
    (&["trap"], h!(h_trap)),
    (&["alias"], h!(h_alias)),
    (&["hash"], h!(h_hash)),
    (
        &[
            "go", "java", "javac", "gcc", "cc", "clang", "tcc", "rustc", "g++", "c++",
        ],
        h!(h_compiled),
    ),
    (&["let", "enable", "fc", "test"], h!(h_evaluating_builtin)),
    (
        &["export", "declare", "typeset", "local", "readonly"],
        h!(h_declare),
    ),
    (&["unset"], h!(h_unset)),
    (&["history"], h!(h_history)),
    (&["read", "mapfile", "readarray", "getopts"], h!(h_read)),
    (&["set"], h!(h_set)),
    (&["for", "select"], h!(h_for)),
    (&["cd", "pushd"], h!(h_cd)),
    (&["find"], h!(h_find)),
    (&["rm", "rmdir", "unlink", "srm"], h!(h_rm)),
    (&["dd"], h!(h_dd)),
    (
        &[
            "wipefs",
            "blkdiscard",
            "sgdisk",
            "sfdisk",
            "fdisk",
            "parted",
            "gdisk",
            "cfdisk",
            "hdparm",
            "nvme",
            "badblocks",
        ],
        h!(h_disk),
    ),
    (&["shred", "truncate", "wipe"], h!(h_shred)),
    (
        &["chmod", "chown", "chgrp", "chattr", "setfacl"],
        h!(h_perm),
    ),
    (&["awk", "gawk"], h!(h_awk)),
    (
        &[
            "cat", "head", "tail", "less", "more", "bat", "strings", "xxd", "od", "base64", "grep",
            "rg", "cp", "scp", "rsync", "sed", "tac", "nl",
        ],
        h!(h_reader),
    ),
    (&["tee"], h!(h_tee)),
    (
        &["certutil", "certutil.exe", "bitsadmin", "bitsadmin.exe"],
        h!(h_windows_download),
    ),
    (&["dotnet", "msbuild", "MSBuild.exe"], h!(h_msbuild)),
    (
        &[
            "jupyter",
            "jupyter-nbconvert",
            "jupyter-execute",
            "papermill",
        ],
        h!(h_notebook),
    ),
    (
        &["vim", "vi", "nvim", "ex", "gvim", "vim.basic", "vim.tiny"],
        h!(h_editor),
    ),
    (&["mv", "install", "ln"], h!(h_move)),
    (
        &[
            "tar", "bsdtar", "gtar", "unzip", "7z", "7za", "7zz", "cpio", "zip",
        ],
        h!(h_extract),
    ),
    (
        &[
            "yq",
            "dasel",
            "xmlstarlet",
            "crudini",
            "sponge",
            "ed",
            "toml",
            "json",
        ],
        h!(h_inplace_editor),
    ),
    (&["Invoke-Expression", "iex"], h!(h_invoke_expression)),
    (&["parallel", "sem"], h!(h_parallel)),
    (
        &["make", "gmake", "npm", "pnpm", "yarn", "just", "task"],
        h!(h_scripts),
    ),
    (&["touch", "mkdir"], h!(h_touch)),
    (
        &[
            "pip", "pip3", "pipx", "uv", "uvx", "cargo", "gem", "composer",
        ],
        h!(h_package),
    ),
    (
        &[
            "kill",
            "pkill",
            "killall",
            "skill",
            "pkill.sh",
            "taskkill",
            "tskill",
            "Stop-Process",
            "stop-process",
            "spps",
        ],
        h!(h_kill),
    ),
    (
        &["systemctl", "launchctl", "service", "sv", "rc-service"],
        h!(h_service),
    ),
    (&["dashclawd"], h!(h_dashclawd)),
    (&["ssh"], h!(h_ssh)),
    (super::super::fanout::PROGRAMS, h!(h_fanout)),
    (&["watch"], h!(h_watch)),
    (
        &[
            "docker",
            "podman",
            "kubectl",
            "oc",
            "nerdctl",
            "lxc",
            "incus",
            "multipass",
        ],
        h!(h_container),
    ),
    (
        &["Remove-Item", "remove-item", "ri", "del", "erase", "rd"],
        h!(h_remove_item),
    ),
    (&["mkswap"], h!(h_mkfs)),
    (&["base32", "openssl", "uudecode"], h!(h_decoder)),
    (&["echo", "printf"], h!(h_echo)),
    (DOWNLOADERS, h!(h_downloader)),
    (
        &["iwr", "irm", "Invoke-WebRequest", "Invoke-RestMethod"],
        h!(h_downloader),
    ),
    (&["pwsh", "powershell"], h!(h_pwsh)),
    (
        &[
            "lua",
            "luajit",
            "osascript",
            "irb",
            "pypy",
            "pypy3",
            "ipython",
            "Rscript",
            "R",
            "julia",
            "tclsh",
            "wish",
            "groovy",
            "scala",
            "jshell",
            "kotlin",
            // Read for shell-outs and command-like strings (`Lang::Other`).
            "erl",
            "escript",
            "ocaml",
            "raku",
            "perl6",
            "rakudo",
            "elixir",
            "guile",
            "racket",
            "sbcl",
            "clisp",
            "ecl",
            "clojure",
            "clj",
            "bb",
            "ghc",
            "runghc",
            "runhaskell",
            "gnuplot",
            "octave",
            "octave-cli",
            "matlab",
            "swipl",
            "dc",
        ],
        h!(h_interpreter),
    ),
    (&["git", "hub", "yadm"], h!(h_git)),
];

/// The handler for a program name, if it has one.
pub(super) fn handler(name: &str) -> Option<Handler> {
    type Table = HashMap<&'static str, Handler, Fnv>;
    static TABLE: LazyLock<Table> = LazyLock::new(|| {
        let mut m = Table::default();
        for (names, h) in HANDLERS {
            for n in *names {
                m.entry(*n).or_insert(*h);
            }
        }
        m
    });
    if let Some(h) = TABLE.get(name) {
        return Some(*h);
    }
    // `lua5.4`, `php8.2`: the interpreter under its versioned name.
    let name = unversioned(name);
    if let Some(h) = TABLE.get(name) {
        return Some(*h);
    }
    // Families known by a pattern rather than a name.
    if name.starts_with("mkfs") {
        Some(h!(h_mkfs))
    } else if listed(name) == Some(Listed::Interpreter) || is_versioned_python(name) {
        Some(h!(h_interpreter))
    } else {
        None
    }
}

/// Every name in the table, for the tests.
#[cfg(test)]
pub(super) fn names() -> impl Iterator<Item = &'static str> {
    HANDLERS.iter().flat_map(|(n, _)| n.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_one_handler() {
        // A name in two families would silently keep the first; the table says it once.
        let mut seen = std::collections::HashSet::new();
        for n in names() {
            assert!(seen.insert(n), "`{n}` is listed twice in HANDLERS");
            assert!(handler(n).is_some());
        }
        assert!(handler("mkfs.ext4").is_some());
        assert!(handler("python3.12").is_some());
        assert!(handler("ls").is_none());
    }
}
