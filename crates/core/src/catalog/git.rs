//! Git: losing uncommitted work, rewriting shared history, running code through config.

use super::{Family::Git as F, Rule};
use crate::event::Verdict::{Block, RequireApproval, Warn};

pub const GIT_FORCE_PUSH: Rule = Rule {
    id: "git-force-push",
    family: F,
    verdict: Block,
    explanation: "`git push --force`, `-f`, `+ref` or `--mirror` without a lease overwrites commits others pushed.",
    suggestion: "Use `git push --force-with-lease`, or push to a new branch.",
    fires: &["git push --force", "git push -f origin main", "git push origin +main", "git push --mirror"],
    near_misses: &["git push origin main", "git push --force-with-lease origin feature"],
};
pub const GIT_FORCE_WITH_LEASE: Rule = Rule {
    id: "git-force-with-lease",
    family: F,
    verdict: Warn,
    explanation: "`git push --force-with-lease` rewrites the remote branch, safely against concurrent pushes.",
    suggestion: "Make sure the remote branch is yours before rewriting its history.",
    fires: &["git push --force-with-lease origin feature"],
    near_misses: &["git push origin feature"],
};
pub const GIT_RESET_HARD: Rule = Rule {
    id: "git-reset-hard",
    family: F,
    verdict: RequireApproval,
    explanation: "`git reset --hard` (or `--merge`) throws away uncommitted changes; the warning would arrive after the work is gone.",
    suggestion: "Run `git stash` first, or use `git reset --keep`, to keep uncommitted work.",
    fires: &["git reset --hard", "git reset --hard HEAD~3", "git -C repo reset --hard origin/main"],
    near_misses: &["git reset HEAD~1", "git reset --soft HEAD~1", "git reset --keep HEAD~1"],
};
pub const GIT_CLEAN: Rule = Rule {
    id: "git-clean",
    family: F,
    verdict: RequireApproval,
    explanation: "`git clean -f` deletes untracked files for good (`-x`: ignored ones too).",
    suggestion: "Preview with `git clean -n` first; untracked files cannot be recovered.",
    fires: &["git clean -fd", "git clean -fdx", "git clean --force"],
    near_misses: &["git clean -n", "git clean --dry-run -fd"],
};
pub const GIT_DISCARD: Rule = Rule {
    id: "git-discard",
    family: F,
    verdict: RequireApproval,
    explanation: "Discarding uncommitted work in the worktree: `checkout -- <path>`, `checkout <ref> -- <path>`, `checkout .`, `checkout -f`, `restore` of the worktree, `switch -f`/`--discard-changes`, `worktree remove --force`.",
    suggestion: "Commit or `git stash` the changes first, or ask the user before discarding them.",
    fires: &["git checkout -- .", "git checkout .", "git checkout HEAD -- src/", "git restore .", "git restore --worktree a.rs", "git checkout -f main", "git switch --discard-changes main", "git worktree remove --force ../wt"],
    near_misses: &["git checkout main", "git checkout -b feature", "git restore --staged a.rs", "git switch -c new", "git worktree remove ../wt"],
};
pub const GIT_METADATA_DESTROY: Rule = Rule {
    id: "git-metadata-destroy",
    family: F,
    verdict: RequireApproval,
    explanation: "Deleting or moving the repository's `.git` or what is in it (objects, refs, the index, config): unpushed commits, stashes and the reflog exist nowhere else. Lock files (`.git/index.lock`) excepted.",
    suggestion: "Use git itself (`git gc`, `git reset`, `git stash drop`) or ask the user before touching `.git`.",
    fires: &["rm -rf .git", "rm -f .git/index", "mv .git /tmp/", "rm -rf .git/refs/heads"],
    near_misses: &["rm -f .git/index.lock", "rm -rf .github/old", "ls .git", "rm -rf build"],
};
pub const GIT_STASH_DESTROY: Rule = Rule {
    id: "git-stash-destroy",
    family: F,
    verdict: RequireApproval,
    explanation: "`git stash drop` / `clear` deletes stashed work that exists nowhere else.",
    suggestion: "Keep the stash, or turn it into a branch with `git stash branch <name>`.",
    fires: &[
        "git stash drop",
        "git stash clear",
        "git stash drop stash@{2}",
    ],
    near_misses: &["git stash", "git stash pop", "git stash list"],
};
pub const GIT_BRANCH_FORCE_DELETE: Rule = Rule {
    id: "git-branch-force-delete",
    family: F,
    verdict: RequireApproval,
    explanation: "`git branch -D` (also bundled, `-Dv`) or `--delete --force`, and `branch -f` onto another commit, drop commits that may be unmerged.",
    suggestion: "Use `git branch -d`, which refuses to delete unmerged work.",
    fires: &["git branch -D feature", "git branch -Dv feature", "git branch --delete --force x", "git branch -f main HEAD~3"],
    near_misses: &["git branch -d merged", "git branch -v", "git branch new-feature"],
};
pub const GIT_PUSH_DELETE: Rule = Rule {
    id: "git-push-delete",
    family: F,
    verdict: RequireApproval,
    explanation: "`git push --delete` or `git push origin :ref` removes a remote branch or tag.",
    suggestion: "Deleting a remote branch or tag affects everyone; ask the user.",
    fires: &[
        "git push origin --delete feature",
        "git push origin :feature",
        "git push -d origin v1.0",
    ],
    near_misses: &["git push origin feature", "git tag -d local-only"],
};
pub const GIT_HISTORY_REWRITE: Rule = Rule {
    id: "git-history-rewrite",
    family: F,
    verdict: RequireApproval,
    explanation: "`filter-branch`, `filter-repo`, `reflog expire`, `gc --prune=now`, `update-ref -d`, `replace`: history or the safety net of unreachable commits is rewritten or dropped.",
    suggestion: "Rewriting repository history needs a human; work on a copy of the repository.",
    fires: &["git filter-branch --tree-filter 'rm x' HEAD", "git filter-repo --path secrets --invert-paths", "git reflog expire --expire=now --all", "git gc --prune=now", "git update-ref -d refs/heads/main"],
    near_misses: &["git gc", "git reflog", "git update-ref refs/heads/x HEAD"],
};
pub const GIT_CONFIG_EXEC: Rule = Rule {
    id: "git-config-exec",
    family: F,
    verdict: Block,
    explanation: "Git settings that run a program (`core.fsmonitor`, `core.hooksPath`, `core.pager`, `core.sshCommand`, `core.editor`, `diff.external`, `alias.x='!…'`, filters, credential helpers …) set with `-c`, `--config-env` or `git config`: a command hidden where no one looks, run later by an innocent-looking git command.",
    suggestion: "Run the intended command directly; do not install programs into git's configuration.",
    fires: &["git -c core.fsmonitor='rm -rf ~' status", "git -c core.hooksPath=/tmp/h commit -m x", "git -c alias.x='!rm -rf ~' x", "git config alias.x '!sh -c x'", "git config core.pager 'sh -c id'", "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.pager GIT_CONFIG_VALUE_0='sh -c id' git log"],
    near_misses: &["git -c user.name=x commit -m y", "git config user.email a@b.c", "git config --get core.pager", "git -c color.ui=always log"],
};

pub const GIT_HOOK_WRITE: Rule = Rule {
    id: "git-hook-write",
    family: F,
    verdict: RequireApproval,
    explanation: "Writing a file under `.git/hooks/` or `.git/config`: code or settings git runs later, on an innocent-looking commit or checkout.",
    suggestion: "Keep hooks in a reviewed, committed directory and let the user install them.",
    fires: &["echo 'rm -rf ~' > .git/hooks/pre-commit", "cp evil.sh .git/hooks/post-checkout", "@Write /w/proj/.git/hooks/pre-commit|#!/bin/sh"],
    near_misses: &["cat .git/hooks/pre-commit.sample", "ls .git/hooks"],
};

pub const GIT_RULES: &[Rule] = &[
    GIT_METADATA_DESTROY,
    GIT_HOOK_WRITE,
    GIT_FORCE_PUSH,
    GIT_FORCE_WITH_LEASE,
    GIT_RESET_HARD,
    GIT_CLEAN,
    GIT_DISCARD,
    GIT_STASH_DESTROY,
    GIT_BRANCH_FORCE_DELETE,
    GIT_PUSH_DELETE,
    GIT_HISTORY_REWRITE,
    GIT_CONFIG_EXEC,
];
