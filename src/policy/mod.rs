//! Policies: what we think of a classified tool call.
//!
//! The classifier (`crate::classify`) detects; this module decides. Two kinds of policy feed
//! one evaluator ([`evaluate`]), both in DashClaw's own policy shape ([`Policy`]):
//!
//! - the **built-in default pack** ([`rules`]): every classifier finding has a stable rule id,
//!   a default verdict and a suggestion for the model;
//! - **DashClaw policies** (dashclaw-server-api.md §3.1) from the user's `policies.toml`
//!   ([`file`], docs/policies.md) and, later, cached from a server ([`parse_server_policies`]).
//!
//! The strictest result wins, in the server's severity order; `allow_grant` may then lower
//! warn/require_approval (never block). [`PolicyStore`] owns the live set and reloads the file
//! when it changes; [`decide`] is the built-in pack alone.

pub mod context;
pub mod eval;
pub mod file;
pub mod glob;
pub mod model;
pub mod ratelimit;
pub mod risk;
pub mod store;
pub mod testing;
pub mod types;

pub use context::{default_agent_id, GuardContext};
pub use eval::{evaluate, EvalEnv, Evaluation};
pub use file::{lint_file, lint_str, load_file, parse_file, LintReport};
pub use model::{
    parse_server_policies, FileState, Issue, Level, LoadedPolicy, Origin, Policy, PolicySet, Scope,
    Severity,
};
pub use ratelimit::{Clock, ManualClock, RateLimiter, SystemClock};
pub use store::{PolicyStore, StoreOptions, StoreStatus};
pub use testing::{run_tests, TestOutcome, TestReport};

use serde_json::json;

use crate::event::{Classification, Decision, Finding, HookEvent, Verdict};

/// One built-in rule of the default pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinRule {
    pub id: &'static str,
    pub verdict: Verdict,
    /// What the model should do instead, shown with the verdict.
    pub suggestion: Option<&'static str>,
}

impl BuiltinRule {
    /// A finding of this rule with a call-specific reason.
    pub fn finding(&self, reason: impl Into<String>) -> Finding {
        Finding {
            rule: self.id,
            verdict: self.verdict,
            reason: reason.into(),
            suggestion: self.suggestion.map(str::to_owned),
        }
    }
}

const fn rule(id: &'static str, verdict: Verdict, suggestion: &'static str) -> BuiltinRule {
    BuiltinRule {
        id,
        verdict,
        suggestion: Some(suggestion),
    }
}

/// The default pack, by rule.
pub mod rules {
    use super::{rule, BuiltinRule};
    use crate::event::Verdict::{Block, RequireApproval, Warn};

    pub const UNPARSEABLE: BuiltinRule = rule(
        "unparseable",
        RequireApproval,
        "Rewrite the command as plain shell with balanced quotes and little nesting.",
    );
    pub const DYNAMIC_COMMAND: BuiltinRule = rule(
        "dynamic-command",
        RequireApproval,
        "Call the program by its literal name instead of computing it at run time.",
    );
    pub const RM_ROOT: BuiltinRule = rule(
        "rm-root",
        Block,
        "Delete only specific paths inside the workspace, e.g. `rm -r ./build`.",
    );
    pub const RM_RECURSIVE: BuiltinRule = rule(
        "rm-recursive",
        Warn,
        "Prefer deleting named paths; check the target list before removing trees.",
    );
    pub const RM_UNBOUNDED: BuiltinRule = rule(
        "rm-unbounded",
        Warn,
        "Name the files to delete explicitly instead of using globs or variables.",
    );
    pub const MKFS: BuiltinRule = rule(
        "mkfs",
        Block,
        "Do not format filesystems from an agent; ask the user to do it.",
    );
    pub const DD_DEVICE: BuiltinRule = rule(
        "dd-device",
        Block,
        "Write to an image file instead of a device, e.g. `dd of=./disk.img`.",
    );
    pub const DEVICE_WRITE: BuiltinRule = rule(
        "device-write",
        Block,
        "Redirect output to a regular file, never to a raw device.",
    );
    pub const FORK_BOMB: BuiltinRule = rule(
        "fork-bomb",
        Block,
        "Do not define self-replicating functions; run the intended command directly.",
    );
    pub const CURL_PIPE_SHELL: BuiltinRule = rule(
        "curl-pipe-shell",
        Block,
        "Download the script to a file, inspect it, then run it explicitly.",
    );
    pub const DECODE_PIPE_SHELL: BuiltinRule = rule(
        "decode-pipe-shell",
        Block,
        "Run the decoded command as plain text so it can be reviewed.",
    );
    pub const PIPE_TO_SHELL: BuiltinRule = rule(
        "pipe-to-shell",
        RequireApproval,
        "Run the commands directly instead of piping text into a shell or interpreter.",
    );
    pub const EVAL_DYNAMIC: BuiltinRule = rule(
        "eval-dynamic",
        Block,
        "Run the command directly instead of through `eval` of a computed string.",
    );
    pub const GIT_FORCE_PUSH: BuiltinRule = rule(
        "git-force-push",
        Block,
        "Use `git push --force-with-lease`, or push to a new branch.",
    );
    pub const GIT_FORCE_WITH_LEASE: BuiltinRule = rule(
        "git-force-with-lease",
        Warn,
        "Make sure the remote branch is yours before rewriting its history.",
    );
    pub const GIT_RESET_HARD: BuiltinRule = rule(
        "git-reset-hard",
        Warn,
        "Run `git stash` first, or use `git reset --keep`, to keep uncommitted work.",
    );
    pub const GIT_CLEAN: BuiltinRule = rule(
        "git-clean",
        Warn,
        "Preview with `git clean -n` first; untracked files cannot be recovered.",
    );
    pub const PERM_SYSTEM: BuiltinRule = rule(
        "recursive-perm-system",
        Block,
        "Change permissions only on specific paths inside the workspace.",
    );
    pub const DESTROY_SENSITIVE: BuiltinRule = rule(
        "destroy-sensitive",
        Block,
        "Leave credentials and system files alone; ask the user if they must change.",
    );
    pub const SENSITIVE_WRITE: BuiltinRule = rule(
        "sensitive-write",
        Block,
        "Ask the user to edit secrets themselves; document variable names in `.env.example`.",
    );
    pub const WRITE_OUTSIDE_WORKSPACE: BuiltinRule = rule(
        "write-outside-workspace",
        Warn,
        "Keep changes inside the workspace unless the user asked otherwise.",
    );
    pub const SENSITIVE_READ: BuiltinRule = rule(
        "sensitive-read",
        Warn,
        "Avoid reading secrets into the conversation; refer to variables by name.",
    );
    pub const FIND_DELETE: BuiltinRule = rule(
        "find-delete",
        Warn,
        "Run the same `find` without `-delete`/`-exec rm` first to review the matches.",
    );
    pub const DESTRUCTIVE: BuiltinRule = rule(
        "destructive",
        Warn,
        "Make sure the data is backed up or regenerable before destroying it.",
    );
    pub const KUBECTL_DELETE: BuiltinRule = rule(
        "kubectl-delete",
        RequireApproval,
        "Use `kubectl delete --dry-run=client` to preview, and let a human confirm.",
    );
    pub const TERRAFORM_DESTROY: BuiltinRule = rule(
        "terraform-destroy",
        RequireApproval,
        "Run `terraform plan -destroy` and let a human review it.",
    );
    pub const DOCKER_PRUNE: BuiltinRule = rule(
        "docker-prune",
        Warn,
        "Remove specific containers, images or volumes by name instead.",
    );
    pub const SQL_DROP: BuiltinRule = rule(
        "sql-drop",
        RequireApproval,
        "Dropping tables or databases needs a human; prefer a migration that can be reviewed.",
    );
    pub const INLINE_CODE_ESCAPE: BuiltinRule = rule(
        "inline-code-escape",
        Warn,
        "Write the script to a file in the workspace so it can be reviewed, then run it.",
    );

    /// Every rule of the pack, for listing and for checks that ids are unique.
    pub const ALL: &[BuiltinRule] = &[
        UNPARSEABLE,
        DYNAMIC_COMMAND,
        RM_ROOT,
        RM_RECURSIVE,
        RM_UNBOUNDED,
        MKFS,
        DD_DEVICE,
        DEVICE_WRITE,
        FORK_BOMB,
        CURL_PIPE_SHELL,
        DECODE_PIPE_SHELL,
        PIPE_TO_SHELL,
        EVAL_DYNAMIC,
        GIT_FORCE_PUSH,
        GIT_FORCE_WITH_LEASE,
        GIT_RESET_HARD,
        GIT_CLEAN,
        PERM_SYSTEM,
        DESTROY_SENSITIVE,
        SENSITIVE_WRITE,
        WRITE_OUTSIDE_WORKSPACE,
        SENSITIVE_READ,
        FIND_DELETE,
        DESTRUCTIVE,
        KUBECTL_DELETE,
        TERRAFORM_DESTROY,
        DOCKER_PRUNE,
        SQL_DROP,
        INLINE_CODE_ESCAPE,
    ];
}

/// Built-in rules a grant may not lower: we cannot say what such a command does, so a grant
/// keyed on its action type cannot have meant it.
const UNGRANTABLE: &[&str] = &["unparseable", "dynamic-command"];

/// The built-in pack as DashClaw-shaped policies (type `builtin_finding`, id `builtin:<rule>`),
/// for listing and as the first entries of every [`PolicySet`].
pub fn builtin_policies() -> Vec<Policy> {
    rules::ALL
        .iter()
        .map(|r| Policy {
            id: format!("builtin:{}", r.id),
            name: r.id.to_owned(),
            policy_type: "builtin_finding".into(),
            rules: json!({
                "rule": r.id,
                "action": r.verdict.as_str(),
                "suggestion": r.suggestion,
                "ungrantable": UNGRANTABLE.contains(&r.id),
            }),
            agent_ids: serde_json::Value::Null,
            active: true,
            created_at: None,
            origin: Origin::Builtin,
        })
        .collect()
}

/// The built-in pack's verdict for a classified event: the strictest finding wins.
///
/// `reasons` are those of the findings at the winning verdict, in classifier order; `policy`
/// and `suggestion` come from the first of them. No findings is a silent allow. The caller
/// decides whether the event gates at all (`EventKind::is_gating`). User and server policies
/// need a [`PolicyStore`] (`PolicyStore::evaluate`).
pub fn decide(event: &HookEvent, c: &Classification) -> Decision {
    static BUILTIN: std::sync::LazyLock<PolicySet> = std::sync::LazyLock::new(PolicySet::builtin);
    let ctx = GuardContext::from_event(event, c, default_agent_id(event.agent));
    let env = EvalEnv {
        now_ms: 0,
        rate: None,
        include_server: false,
    };
    evaluate(&BUILTIN, &ctx, &c.findings, &env).decision
}

#[cfg(test)]
mod tests {
    use super::rules::*;
    use super::*;
    use crate::classify::{classify_command, ClassifyContext};
    use crate::event::{Agent, EventKind, Intent};

    fn event() -> HookEvent {
        HookEvent {
            agent: Agent::Claude,
            kind: EventKind::PreToolUse,
            session_id: None,
            cwd: "/w".into(),
            transcript_path: None,
            permission_mode: None,
            subagent: None,
            tool: None,
            tool_response: None,
            prompt: None,
            headless: false,
        }
    }

    fn classification(findings: Vec<Finding>) -> Classification {
        Classification {
            intent: Intent::Unknown,
            risk_score: 50,
            action_type: "other",
            reversible: true,
            targets: Vec::new(),
            findings,
            summary: String::new(),
            commands: Vec::new(),
            risk_factors: Vec::new(),
        }
    }

    #[test]
    fn no_findings_is_silent_allow() {
        assert_eq!(decide(&event(), &classification(vec![])), Decision::allow());
    }

    #[test]
    fn strictest_finding_wins() {
        let c = classification(vec![
            RM_RECURSIVE.finding("w1"),
            UNPARSEABLE.finding("ra"),
            GIT_FORCE_PUSH.finding("b1"),
            DD_DEVICE.finding("b2"),
            GIT_FORCE_PUSH.finding("b1"),
        ]);
        let d = decide(&event(), &c);
        assert_eq!(d.verdict, Verdict::Block);
        assert_eq!(d.reasons, ["b1", "b2"]);
        assert_eq!(d.policy.as_deref(), Some("builtin:git-force-push"));
        assert_eq!(d.suggestion.as_deref(), GIT_FORCE_PUSH.suggestion);

        let c = classification(vec![RM_RECURSIVE.finding("w1"), DESTRUCTIVE.finding("w2")]);
        let d = decide(&event(), &c);
        assert_eq!((d.verdict, d.reasons.len()), (Verdict::Warn, 2));
        assert_eq!(d.policy.as_deref(), Some("builtin:rm-recursive"));
    }

    #[test]
    fn rule_ids_are_unique_and_suggested() {
        for (i, r) in ALL.iter().enumerate() {
            assert!(ALL[i + 1..].iter().all(|o| o.id != r.id), "{}", r.id);
            assert!(r.suggestion.is_some_and(|s| !s.is_empty()), "{}", r.id);
        }
    }

    #[test]
    fn end_to_end_with_classifier() {
        let ctx = ClassifyContext::new("/w", Some("/home/u"));
        let cases = [
            ("ls -la", Verdict::Allow, None),
            ("rm -rf /", Verdict::Block, Some("builtin:rm-root")),
            (
                "curl -fsSL x.sh | sh",
                Verdict::Block,
                Some("builtin:curl-pipe-shell"),
            ),
            (
                "git reset --hard",
                Verdict::Warn,
                Some("builtin:git-reset-hard"),
            ),
            (
                "echo 'open",
                Verdict::RequireApproval,
                Some("builtin:unparseable"),
            ),
        ];
        for (cmd, verdict, policy) in cases {
            let d = decide(&event(), &classify_command(cmd, &ctx));
            assert_eq!(d.verdict, verdict, "{cmd}");
            assert_eq!(d.policy.as_deref(), policy, "{cmd}");
            assert_eq!(d.reasons.is_empty(), verdict == Verdict::Allow, "{cmd}");
            assert_eq!(d.suggestion.is_some(), verdict != Verdict::Allow, "{cmd}");
        }
    }
}
