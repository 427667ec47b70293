//! Built-in rules added by the full classifier, in the same shape as `crate::policy::rules`.
//!
//! They live here (not in `policy/`) so the classifier can grow without touching the policy
//! pack; the pack decides by `Finding::verdict`, so these work with `policy::decide` as is.
//! `ALL` lists them for the pack to merge into its own table.

use crate::event::Finding;
use crate::event::Verdict::{self, Block, RequireApproval, Warn};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub verdict: Verdict,
    pub suggestion: &'static str,
}

impl Rule {
    pub fn finding(&self, reason: impl Into<String>) -> Finding {
        Finding {
            rule: self.id,
            verdict: self.verdict,
            reason: reason.into(),
            suggestion: Some(self.suggestion.to_owned()),
        }
    }
}

const fn rule(id: &'static str, verdict: Verdict, suggestion: &'static str) -> Rule {
    Rule {
        id,
        verdict,
        suggestion,
    }
}

pub const SHELL_C_DYNAMIC: Rule = rule(
    "shell-c-dynamic",
    Block,
    "Run the command directly instead of passing a computed string to a shell.",
);
pub const REMOTE_DESTRUCTIVE: Rule = rule(
    "remote-destructive",
    Block,
    "Do not run destructive commands on remote hosts from an agent; ask the user.",
);
pub const CONFUSABLE_COMMAND: Rule = rule(
    "confusable-command",
    RequireApproval,
    "Call programs by their plain ASCII names.",
);
pub const SPEND: Rule = rule(
    "spend",
    RequireApproval,
    "Purchases and payments need a human; describe what you would buy instead.",
);
pub const NPX_AUTO_INSTALL: Rule = rule(
    "npx-auto-install",
    Warn,
    "Add the package as a dev dependency, or run `npx` without `-y` so installs are confirmed.",
);
pub const SQL_DESTRUCTIVE: Rule = rule(
    "sql-destructive",
    RequireApproval,
    "Add a WHERE clause or back the data up; bulk deletes need a human.",
);
pub const CONTAINER_DESTROY: Rule = rule(
    "container-destroy",
    Warn,
    "Stop containers and remove them by name once you are sure they are disposable.",
);
pub const VOLUME_DESTROY: Rule = rule(
    "volume-destroy",
    RequireApproval,
    "Volumes hold data; back them up and let a human confirm removing them.",
);
/// Approval, not block: a human may well want a dev namespace gone; the separate id lets a
/// policy raise it to a block.
pub const KUBECTL_DELETE_BULK: Rule = rule(
    "kubectl-delete-bulk",
    RequireApproval,
    "Delete named resources one at a time; never namespaces or `--all` from an agent.",
);
pub const HELM_UNINSTALL: Rule = rule(
    "helm-uninstall",
    RequireApproval,
    "Uninstalling a release removes its resources; let a human confirm.",
);
pub const IAC_AUTO_APPROVE: Rule = rule(
    "iac-auto-approve",
    Block,
    "Run the plan, show it, and let a human apply it; never auto-approve a destroy.",
);
pub const IAC_AUTO_APPLY: Rule = rule(
    "iac-auto-apply",
    RequireApproval,
    "Run `plan` first and let a human review the changes before applying.",
);
pub const CLOUD_DELETE: Rule = rule(
    "cloud-delete",
    RequireApproval,
    "Deleting cloud resources needs a human; list what would be removed instead.",
);
pub const GIT_PUSH_DELETE: Rule = rule(
    "git-push-delete",
    RequireApproval,
    "Deleting a remote branch or tag affects everyone; ask the user.",
);
pub const GIT_BRANCH_FORCE_DELETE: Rule = rule(
    "git-branch-force-delete",
    Warn,
    "Use `git branch -d`, which refuses to delete unmerged work.",
);
pub const GIT_HISTORY_REWRITE: Rule = rule(
    "git-history-rewrite",
    RequireApproval,
    "Rewriting repository history needs a human; work on a copy of the repository.",
);
pub const GUARD_TAMPER: Rule = rule(
    "guard-tamper",
    Block,
    "The DashClaw guard, its settings and its records are off limits; ask the user to change them.",
);
pub const GUARD_TAMPER_SUSPECT: Rule = rule(
    "guard-tamper-suspect",
    RequireApproval,
    "Name the exact file or process literally so it can be checked.",
);
pub const SECRET_IN_CONTENT: Rule = rule(
    "secret-in-content",
    RequireApproval,
    "Read secrets from the environment or a secrets manager instead of writing them into files.",
);
pub const PRIVATE_KEY_READ: Rule = rule(
    "private-key-read",
    RequireApproval,
    "Do not read private keys or cloud credentials into the conversation.",
);
pub const SYMLINK_ESCAPE: Rule = rule(
    "symlink-escape",
    RequireApproval,
    "The path leads outside the workspace through a symlink; write to the real path inside it.",
);
pub const SCRIPT_ESCAPE_HATCH: Rule = rule(
    "script-escape-hatch",
    Warn,
    "Review the script: it runs shell commands or deletes files.",
);

pub const ALL: &[Rule] = &[
    SHELL_C_DYNAMIC,
    REMOTE_DESTRUCTIVE,
    CONFUSABLE_COMMAND,
    SPEND,
    NPX_AUTO_INSTALL,
    SQL_DESTRUCTIVE,
    CONTAINER_DESTROY,
    VOLUME_DESTROY,
    KUBECTL_DELETE_BULK,
    HELM_UNINSTALL,
    IAC_AUTO_APPROVE,
    IAC_AUTO_APPLY,
    CLOUD_DELETE,
    GIT_PUSH_DELETE,
    GIT_BRANCH_FORCE_DELETE,
    GIT_HISTORY_REWRITE,
    GUARD_TAMPER,
    GUARD_TAMPER_SUSPECT,
    SECRET_IN_CONTENT,
    PRIVATE_KEY_READ,
    SYMLINK_ESCAPE,
    SCRIPT_ESCAPE_HATCH,
];

#[cfg(test)]
mod tests {
    #[test]
    fn ids_unique_and_distinct_from_policy_pack() {
        for (i, r) in super::ALL.iter().enumerate() {
            assert!(super::ALL[i + 1..].iter().all(|o| o.id != r.id), "{}", r.id);
            assert!(
                crate::policy::rules::ALL.iter().all(|o| o.id != r.id),
                "{}",
                r.id
            );
        }
    }
}
