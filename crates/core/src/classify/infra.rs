//! Rules for destructive operations on infrastructure and data (databases, containers,
//! Kubernetes, infrastructure-as-code, cloud CLIs), spend detection, and PowerShell cmdlets.
//!
//! All matching is on cooked words, so quoting or a wrapper cannot hide a subcommand, and a
//! quoted argument (a commit message, a grep pattern) is never read as one.

use super::pack as p;
use crate::event::{Finding, Intent};
use crate::policy::rules as r;

/// What an infrastructure rule concluded: a stricter intent and the findings.
#[derive(Debug, Default)]
pub(crate) struct Verdicts {
    pub intent: Option<Intent>,
    pub findings: Vec<Finding>,
}

impl Verdicts {
    fn hit(&mut self, intent: Intent, f: Finding) {
        self.intent = Some(intent);
        self.findings.push(f);
    }
}

fn non_flags<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect()
}

fn has(args: &[&str], flags: &[&str]) -> bool {
    args.iter().any(|a| {
        flags
            .iter()
            .any(|f| a == f || a.starts_with(&format!("{f}=")))
    })
}

/// Short-flag cluster containing `c` (`-fv`), or the long flag.
fn short_or_long(args: &[&str], c: char, long: &str) -> bool {
    args.iter()
        .any(|a| *a == long || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains(c)))
}

/// Redis commands that wipe data, stop or reconfigure the server; `(words, effect)`, matched
/// case-insensitively as the command and its first argument.
const REDIS: &[(&[&str], &str)] = &[
    (&["flushall"], "erases every key (FLUSHALL)"),
    (&["flushdb"], "erases every key of the database (FLUSHDB)"),
    (&["shutdown"], "stops the server (SHUTDOWN)"),
    (&["debug"], "crashes, stalls or reloads the server (DEBUG)"),
    (
        &["config", "set"],
        "changes the server's configuration (CONFIG SET), which can also write files",
    ),
    (
        &["config", "rewrite"],
        "rewrites the server's configuration file",
    ),
    (&["script", "flush"], "drops every cached script"),
    (&["function", "flush"], "drops every function library"),
    (&["function", "delete"], "drops a function library"),
    (&["cluster", "reset"], "resets the node's cluster state"),
    (&["cluster", "forget"], "removes a node from the cluster"),
    (&["cluster", "failover"], "fails the cluster over"),
    (&["swapdb"], "swaps two databases"),
    (
        &["replicaof"],
        "turns the server into a replica, replacing its data",
    ),
    (
        &["slaveof"],
        "turns the server into a replica, replacing its data",
    ),
    (&["acl", "deluser"], "deletes users"),
];

/// What a `redis-cli` call (or the commands piped into it) destroys. `DEL`/`UNLINK` of keys
/// named here is everyday work; with no key in the command they come from elsewhere at run
/// time (`--scan … | xargs redis-cli DEL`), a bulk delete.
fn redis_danger(args: &[&str], stdin: Option<&str>) -> Option<String> {
    const VALUED: &[&str] = &[
        "-h",
        "-p",
        "-s",
        "-a",
        "-u",
        "-n",
        "-r",
        "-i",
        "-d",
        "--user",
        "--pass",
        "--cacert",
        "--cacertdir",
        "--cert",
        "--key",
        "--sni",
        "--pattern",
        "--count",
        "--eval",
    ];
    let hit = |words: &[&str]| -> Option<String> {
        let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
        let first = lower.first()?;
        // `EVAL "redis.call('flushall')" 0`: a Lua script is judged by the commands it calls.
        if matches!(first.as_str(), "eval" | "eval_ro" | "evalsha" | "fcall") {
            let script = lower[1..].join(" ");
            return ["flushall", "flushdb", "shutdown", "swapdb", "config"]
                .iter()
                .find(|c| {
                    script.contains(&format!("'{c}'")) || script.contains(&format!("\"{c}\""))
                })
                .map(|c| {
                    format!(
                        "runs a script that calls {} on the server",
                        c.to_ascii_uppercase()
                    )
                });
        }
        if let Some((_, what)) = REDIS.iter().find(|(cmd, _)| {
            cmd.len() <= lower.len() && cmd.iter().zip(&lower).all(|(a, b)| a == b)
        }) {
            let to_no_one = matches!(first.as_str(), "replicaof" | "slaveof")
                && lower.get(1).is_some_and(|x| x == "no");
            if !to_no_one {
                return Some((*what).to_owned());
            }
        }
        (matches!(first.as_str(), "del" | "unlink") && lower.len() == 1).then(|| {
            "deletes keys that are only known at run time (DEL with no key named)".to_owned()
        })
    };
    let mut i = 0;
    while let Some(a) = args.get(i).filter(|a| a.starts_with('-')) {
        i += if VALUED.contains(a) { 2 } else { 1 };
    }
    hit(args.get(i..).unwrap_or(&[])).or_else(|| {
        stdin.and_then(|s| {
            s.lines()
                .find_map(|l| hit(&l.split_whitespace().collect::<Vec<_>>()))
        })
    })
}

/// Programs [`infra`] has rules for (a cheap pre-check on the hot path).
pub(crate) fn is_infra_name(name: &str) -> bool {
    matches!(
        name,
        "dropdb"
            | "rails"
            | "rake"
            | "prisma"
            | "psql"
            | "mysql"
            | "mariadb"
            | "sqlite3"
            | "clickhouse-client"
            | "cockroach"
            | "mongosh"
            | "mongo"
            | "sqlcmd"
            | "duckdb"
            | "redis-cli"
            | "valkey-cli"
            | "keydb-cli"
            | "docker"
            | "podman"
            | "nerdctl"
            | "docker-compose"
            | "podman-compose"
            | "kubectl"
            | "oc"
            | "kubecolor"
            | "helm"
            | "terraform"
            | "tofu"
            | "terragrunt"
            | "terraform-cdk"
            | "cdktf"
            | "pulumi"
            | "cdk"
            | "aws"
            | "gcloud"
            | "gsutil"
            | "az"
            | "doctl"
            | "hcloud"
            | "linode-cli"
            | "flyctl"
            | "fly"
            | "heroku"
            | "vercel"
            | "netlify"
            | "railway"
    )
}

/// Programs [`spend_cli`] knows.
pub(crate) fn is_spend_name(name: &str) -> bool {
    matches!(
        name,
        "vercel" | "stripe" | "agentcash" | "gcloud" | "aws" | "namecheap"
    )
}

/// Grades `name args…` for infrastructure and data rules. `stdin` is text fed to the command
/// (heredoc, here-string or an upstream `echo`), for SQL clients.
pub(crate) fn infra(name: &str, args: &[&str], stdin: Option<&str>) -> Verdicts {
    let mut v = infra_rules(name, args, stdin);
    // `docker compose -f docker-compose.test.yml down -v`, `-p ci-1234`: a stack made for
    // tests, whose volumes are scratch.
    // Every file and project named must be a test one (`-f test.yml -f prod.yml` is not).
    let named: Vec<&str> = args
        .windows(2)
        .filter(|w| matches!(w[0], "-f" | "--file" | "-p" | "--project-name"))
        .map(|w| {
            let base = w[1].rsplit('/').next().unwrap_or(w[1]);
            base.trim_end_matches(".yml").trim_end_matches(".yaml")
        })
        .collect();
    let scratch_compose = !named.is_empty() && named.iter().all(|n| scratch_stack(n));
    if scratch_compose {
        v.findings.retain(|f| f.rule != p::VOLUME_DESTROY.id);
        if v.findings.is_empty() {
            v.intent = Some(Intent::Write);
        }
    }
    v
}

fn infra_rules(name: &str, args: &[&str], stdin: Option<&str>) -> Verdicts {
    let mut v = Verdicts::default();
    // A preview changes nothing (`helm uninstall --dry-run`, `aws ec2 … --dry-run`).
    if args.iter().any(|a| {
        matches!(*a, "--dry-run" | "--dryrun")
            || a.starts_with("--dry-run=") && *a != "--dry-run=none"
    }) {
        return v;
    }
    // `aws --endpoint-url http://localhost:4566 …`: a local emulator (LocalStack, MinIO).
    if name == "aws" && local_endpoint(args) {
        return v;
    }
    let stripped = super::globals::strip(name, args);
    let args = stripped.as_slice();
    let pos = non_flags(args);
    // `aws s3 rb help`: the cloud CLIs' manual pages, nothing run.
    if matches!(name, "aws" | "az" | "gcloud" | "gsutil") && pos.last() == Some(&"help") {
        return v;
    }
    match name {
        "psql" | "mysql" | "mariadb" | "sqlite3" | "clickhouse-client" | "cockroach"
        | "mongosh" | "mongo" | "sqlcmd" | "duckdb" => {
            // An in-memory database has nothing to lose, nor has a test database file of the
            // project's (`sqlite3 ./test.db 'DROP TABLE …'`).
            if matches!(name, "sqlite3" | "duckdb")
                && pos.first().is_some_and(|f| {
                    *f == ":memory:"
                        || (!f.starts_with(['/', '~', '$'])
                            && !f.contains("..")
                            && scratch_database(f))
                })
            {
                return v;
            }
            // Connected to a test database (`psql app_test -c 'TRUNCATE …'`, `-d app_test`).
            let dbname = args.iter().enumerate().find_map(|(i, a)| match *a {
                "-d" | "--dbname" | "-D" | "--database" => args.get(i + 1).copied(),
                _ => a
                    .strip_prefix("--dbname=")
                    .or_else(|| a.strip_prefix("--database=")),
            });
            if matches!(name, "psql" | "mysql" | "mariadb")
                && dbname
                    .or(pos.first().copied())
                    .is_some_and(scratch_database)
            {
                return v;
            }
            let texts = args.iter().map(|a| sql_option_value(a)).chain(stdin);
            for t in texts {
                match sql_danger(t) {
                    Some(Danger::Drop) => v.hit(
                        Intent::Destructive,
                        r::SQL_DROP.finding(format!(
                            "The SQL passed to `{name}` drops a table, database or collection."
                        )),
                    ),
                    Some(Danger::Wipe(what)) => v.hit(
                        Intent::Destructive,
                        p::SQL_DESTRUCTIVE.finding(format!("The SQL passed to `{name}` {what}.")),
                    ),
                    None => {}
                }
            }
        }
        "redis-cli" | "valkey-cli" | "keydb-cli" => {
            if let Some(what) = redis_danger(args, stdin) {
                v.hit(
                    Intent::Destructive,
                    p::SQL_DESTRUCTIVE.finding(format!("`{name}` {what}.")),
                );
            }
        }
        // Framework and client commands that drop or wipe a whole database.
        // A test database is made to be dropped and made again (`dropdb app_test`).
        "dropdb"
            if !pos.is_empty()
                && !args.contains(&"--help")
                && !scratch_database(pos[pos.len() - 1]) =>
        {
            v.hit(
                Intent::Destructive,
                r::SQL_DROP.finding(format!("`dropdb {}` drops a database.", pos[0])),
            )
        }
        "rails" | "rake"
            if pos.iter().any(|a| {
                matches!(
                    *a,
                    "db:drop" | "db:reset" | "db:purge" | "db:schema:load" | "db:drop:all"
                )
            }) =>
        {
            v.hit(
                Intent::Destructive,
                r::SQL_DROP.finding(format!("`{name} db:drop/reset/purge` drops the database.")),
            )
        }
        "prisma"
            if (pos.first() == Some(&"migrate") && pos.get(1) == Some(&"reset"))
                || (pos.first() == Some(&"db") && args.contains(&"--force-reset")) =>
        {
            v.hit(
                Intent::Destructive,
                r::SQL_DROP.finding("`prisma migrate reset` drops and recreates the database."),
            )
        }
        "docker" | "podman" | "nerdctl" => containers(name, args, &pos, &mut v),
        "docker-compose" | "podman-compose" => compose(name, args, &pos, 0, &mut v),
        "kubectl" | "oc" | "kubecolor" => kubectl(name, args, &pos, &mut v),
        "helm" => {
            if matches!(pos.first(), Some(&("uninstall" | "delete" | "del" | "un"))) {
                v.hit(
                    Intent::Destructive,
                    p::HELM_UNINSTALL
                        .finding("`helm uninstall` removes a release and its resources."),
                );
            }
        }
        "terraform" | "tofu" | "terragrunt" | "terraform-cdk" | "cdktf" => {
            iac(name, args, &pos, &mut v)
        }
        // `pulumi destroy --yes -s test-pr-1234`: an ephemeral stack torn down as designed.
        "pulumi" if pulumi_stack(args).is_some_and(scratch_stack) => {}
        "pulumi" => {
            let yes =
                has(args, &["--yes", "-y", "--skip-preview"]) || short_or_long(args, 'y', "--yes");
            match pos.first().copied() {
                Some("destroy" | "down") if yes => v.hit(
                    Intent::Destructive,
                    p::IAC_AUTO_APPROVE
                        .finding("`pulumi destroy --yes` destroys a stack without review."),
                ),
                Some("destroy" | "down") => v.hit(
                    Intent::Destructive,
                    r::TERRAFORM_DESTROY
                        .finding("`pulumi destroy` destroys every resource of the stack."),
                ),
                Some("up" | "update") if yes => v.hit(
                    Intent::SystemAdmin,
                    p::IAC_AUTO_APPLY
                        .finding("`pulumi up --yes` changes infrastructure without review."),
                ),
                Some("stack") if pos.get(1) == Some(&"rm") => v.hit(
                    Intent::Destructive,
                    r::TERRAFORM_DESTROY
                        .finding("`pulumi stack rm` deletes a stack and its state."),
                ),
                _ => {}
            }
        }
        "cdk"
            if pos.first() == Some(&"deploy")
                && args.windows(2).any(|w| w[0] == "--require-approval" && w[1] == "never")
                || args.contains(&"--require-approval=never") =>
        {
            v.hit(
                Intent::SystemAdmin,
                p::IAC_AUTO_APPLY.finding(
                    "`cdk deploy --require-approval never` changes infrastructure (security groups and IAM included) without review.",
                ),
            )
        }
        "cdk" if pos.first() == Some(&"destroy") => v.hit(
            Intent::Destructive,
            r::TERRAFORM_DESTROY.finding("`cdk destroy` deletes CloudFormation stacks."),
        ),
        // `aws --endpoint-url http://localhost:4566 …`: a local emulator (LocalStack, MinIO).
        "aws" => aws(args, &pos, &mut v),
        "gcloud" | "gsutil" => {
            let del = pos.iter().any(|a| matches!(*a, "delete" | "rm" | "rb"));
            if del
                && !(name == "gsutil"
                    && pos.first() == Some(&"rm")
                    && !short_or_long(args, 'r', "--recursive"))
            {
                v.hit(
                    Intent::Destructive,
                    p::CLOUD_DELETE.finding(format!("`{name} … delete` removes cloud resources.")),
                );
            }
        }
        "az" if pos.iter().any(|a| *a == "delete" || *a == "purge") => v.hit(
            Intent::Destructive,
            p::CLOUD_DELETE.finding("`az … delete` removes Azure resources."),
        ),
        "vercel" | "netlify" | "railway"
            if matches!(pos.first(), Some(&("remove" | "rm" | "delete" | "destroy")))
                || pos.iter().take(2).any(|a| *a == "sites:delete") =>
        {
            v.hit(
                Intent::Destructive,
                p::CLOUD_DELETE
                    .finding(format!("`{name} remove` deletes deployments or projects.")),
            );
        }
        "doctl" | "hcloud" | "linode-cli" | "flyctl" | "fly" | "heroku"
            if pos
                .iter()
                .any(|a| matches!(*a, "delete" | "destroy" | "rm" | "apps:destroy")) =>
        {
            v.hit(
                Intent::Destructive,
                p::CLOUD_DELETE.finding(format!("`{name} … delete` removes cloud resources.")),
            );
        }
        _ => {}
    }
    v
}

fn containers(name: &str, args: &[&str], pos: &[&str], v: &mut Verdicts) {
    let force = short_or_long(args, 'f', "--force");
    let (obj, verb) = match pos {
        [o @ ("container" | "image" | "volume" | "network" | "system" | "builder" | "buildx"), verb, ..] => {
            (*o, *verb)
        }
        [verb, ..] => ("", *verb),
        [] => return,
    };
    match (obj, verb) {
        ("volume", "rm" | "remove" | "prune") => v.hit(
            Intent::Destructive,
            p::VOLUME_DESTROY.finding(format!(
                "`{name} volume {verb}` deletes the data in volumes."
            )),
        ),
        ("system", "prune") if has(args, &["--volumes"]) => v.hit(
            Intent::Destructive,
            p::VOLUME_DESTROY.finding(format!(
                "`{name} system prune --volumes` deletes volume data."
            )),
        ),
        ("system" | "container", "prune") if force => v.hit(
            Intent::Destructive,
            p::CONTAINER_BULK_DESTROY.finding(format!(
                "`{name} {obj} prune -f` deletes every stopped container (with what its filesystem holds), unasked."
            )),
        ),
        ("" | "container", "stop" | "kill")
            if pos
                .iter()
                .skip(1)
                .any(|a| a.contains("$(") || a.contains('`')) =>
        {
            v.hit(
                Intent::Destructive,
                p::CONTAINER_BULK_DESTROY.finding(format!(
                    "`{name} {verb}` stops every container a command lists at run time."
                )),
            )
        }
        (_, "prune") => v.hit(
            Intent::Destructive,
            r::DOCKER_PRUNE.finding(format!(
                "`{name} … prune` deletes containers, images or volumes in bulk."
            )),
        ),
        ("" | "container" | "image", "rm" | "rmi" | "remove")
            if force
                && pos.iter().skip(1).any(|a| {
                    // A listing narrowed by a filter (`$(docker ps -aq --filter name=app-)`)
                    // names the containers it removes; a bare one takes them all.
                    (a.contains("$(") || a.contains('`'))
                        && !a.contains("--filter")
                        && !a.contains(" -f ")
                        && !a.contains(" -f=")
                }) =>
        {
            // `docker rm -f $(docker ps -aq)`: the targets are whatever a listing returns.
            v.hit(
                Intent::Destructive,
                p::CONTAINER_BULK_DESTROY.finding(format!(
                    "`{name} {verb} -f` removes every container or image a command lists at run time."
                )),
            )
        }
        ("" | "container" | "image", "rm" | "rmi" | "remove") if force => v.hit(
            Intent::Destructive,
            p::CONTAINER_DESTROY.finding(format!(
                "`{name} {verb} -f` removes running containers or used images."
            )),
        ),
        ("" | "container" | "image", "rm" | "rmi" | "remove") => {
            v.intent = Some(Intent::Destructive)
        }
        ("", "compose") => compose(name, args, pos, 1, v),
        _ => {}
    }
}

fn compose(name: &str, args: &[&str], pos: &[&str], at: usize, v: &mut Verdicts) {
    if matches!(pos.get(at), Some(&("down" | "rm"))) && short_or_long(args, 'v', "--volumes") {
        v.hit(
            Intent::Destructive,
            p::VOLUME_DESTROY.finding(format!(
                "`{name} compose {} -v` deletes the project's volumes.",
                pos[at]
            )),
        );
    } else if pos.get(at) == Some(&"rm") && short_or_long(args, 'f', "--force") {
        v.hit(
            Intent::Destructive,
            p::CONTAINER_DESTROY.finding(format!("`{name} compose rm -f` removes containers.")),
        );
    }
}

fn kubectl(name: &str, args: &[&str], pos: &[&str], v: &mut Verdicts) {
    if args
        .iter()
        .any(|a| a.starts_with("--dry-run") && !a.ends_with("=none"))
    {
        return;
    }
    // `kubectl auth can-i delete pods`, `kubectl explain …`: the word is an argument of a
    // read-only subcommand.
    let asks = |a: &&str| {
        matches!(
            *a,
            "auth" | "get" | "describe" | "explain" | "logs" | "events" | "diff" | "help" | "top"
        )
    };
    let Some(i) = pos.iter().position(|a| *a == "delete") else {
        if pos.first() == Some(&"drain") {
            v.hit(
                Intent::SystemAdmin,
                r::KUBECTL_DELETE.finding("`kubectl drain` evicts every pod of a node."),
            );
        }
        return;
    };
    if pos[..i].iter().any(asks) {
        return;
    }
    let kind = pos.get(i + 1).copied().unwrap_or("");
    let bulk = has(args, &["--all", "--all-namespaces", "-A"])
        || matches!(
            kind,
            "namespace"
                | "namespaces"
                | "ns"
                | "all"
                | "node"
                | "nodes"
                | "crd"
                | "crds"
                | "customresourcedefinition"
                | "customresourcedefinitions"
                | "pv"
                | "persistentvolume"
                | "persistentvolumes"
        )
        || kind.starts_with("namespace/")
        || kind.starts_with("ns/");
    // Named pods: their controller starts replacements (the usual way to restart one).
    let pods_by_name = (matches!(kind, "pod" | "pods" | "po") && pos.len() > i + 2
        || kind.starts_with("pod/")
        || kind.starts_with("pods/"))
        && !args.iter().any(|a| {
            matches!(
                *a,
                "-l" | "--selector" | "--field-selector" | "-f" | "--filename" | "-k"
            ) || a.starts_with("--selector=")
                || a.starts_with("-l=")
                || a.starts_with("--field-selector=")
        });
    if bulk {
        v.hit(
            Intent::Destructive,
            p::KUBECTL_DELETE_BULK.finding(format!(
                "`{name} delete {kind}` removes whole namespaces, nodes or every resource of a kind."
            )),
        );
    } else if pods_by_name {
        v.hit(
            Intent::Destructive,
            r::CONTAINER_DESTROY.finding(format!(
                "`{name} delete pod` removes named pods; their controller, if any, starts new ones."
            )),
        );
    } else {
        v.hit(
            Intent::Destructive,
            r::KUBECTL_DELETE.finding(format!("`{name} delete` removes cluster resources.")),
        );
    }
}

fn iac(name: &str, args: &[&str], pos: &[&str], v: &mut Verdicts) {
    // Terragrunt's `run-all` asks once for every module; non-interactive answers yes.
    let auto = has(args, &["-auto-approve", "--auto-approve"])
        || (name == "terragrunt"
            && pos.contains(&"run-all")
            && has(args, &["--terragrunt-non-interactive", "--non-interactive"]));
    let sub = pos
        .iter()
        .copied()
        .find(|a| matches!(*a, "destroy" | "apply" | "run-all" | "plan"));
    let destroy =
        sub == Some("destroy") || has(args, &["-destroy", "--destroy"]) || pos.contains(&"destroy");
    if destroy && auto {
        v.hit(
            Intent::Destructive,
            p::IAC_AUTO_APPROVE.finding(format!(
                "`{name} destroy -auto-approve` destroys infrastructure without review."
            )),
        );
    } else if destroy && sub != Some("plan") {
        v.hit(
            Intent::Destructive,
            r::TERRAFORM_DESTROY.finding("This destroys infrastructure managed by Terraform."),
        );
    } else if auto && pos.contains(&"apply") {
        v.hit(
            Intent::SystemAdmin,
            p::IAC_AUTO_APPLY.finding(format!(
                "`{name} apply -auto-approve` changes infrastructure without review."
            )),
        );
    } else if pos.first() == Some(&"state") && matches!(pos.get(1), Some(&("rm" | "push"))) {
        v.hit(
            Intent::Destructive,
            r::TERRAFORM_DESTROY.finding(format!(
                "`{name} state` edits can orphan or lose infrastructure."
            )),
        );
    }
}

fn aws(args: &[&str], pos: &[&str], v: &mut Verdicts) {
    let svc = pos.first().copied().unwrap_or("");
    let op = pos.get(1).copied().unwrap_or("");
    let hit = match svc {
        "s3" => op == "rb" || (op == "rm" && has(args, &["--recursive"])),
        "s3api" => op.starts_with("delete-bucket"),
        _ => {
            op.starts_with("delete-")
                || op.starts_with("terminate-")
                || op.starts_with("deregister-")
                || op == "remove-tags"
                || op.starts_with("purge-")
        }
    };
    if hit {
        v.hit(
            Intent::Destructive,
            p::CLOUD_DELETE.finding(format!("`aws {svc} {op}` deletes AWS resources or data.")),
        );
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Danger {
    Drop,
    Wipe(&'static str),
}

/// Destructive SQL (or Mongo shell) in `text`: DROP …, TRUNCATE, DELETE/UPDATE without WHERE.
/// The SQL in an option written with its value attached: `--command=DROP …`, or `-eDROP …`
/// (what the shell leaves of `-e'DROP …'`). Anything else is returned whole.
fn sql_option_value(arg: &str) -> &str {
    if let Some(long) = arg.strip_prefix("--") {
        return long.split_once('=').map_or(arg, |(_, v)| v);
    }
    match arg.as_bytes() {
        [b'-', f, rest @ ..]
            if f.is_ascii_alphabetic() && rest.len() > 3 && rest.contains(&b' ') =>
        {
            &arg[2..]
        }
        _ => arg,
    }
}

/// A WHERE clause that holds for every row (`WHERE 1=1`, `WHERE true`) is no WHERE.
fn where_narrows(toks: &[&str]) -> bool {
    let Some(at) = toks.iter().position(|t| *t == "where") else {
        return false;
    };
    let cond: String = toks[at + 1..].concat();
    let cond = cond.trim_end_matches(')');
    !matches!(
        cond,
        "" | "1=1"
            | "true"
            | "1"
            | "0=0"
            | "'1'='1'"
            | "'a'='a'"
            | "1<>0"
            | "1!=0"
            | "notfalse"
            | "2>1"
    )
}

/// A database named for tests (`app_test`, `test_app`, `test.db`, `ci_scratch`): the test
/// setup of every framework drops and recreates these.
/// Variables that choose a framework's database, with `value` looking one up (a prefix
/// assignment, or set earlier in the line): `"DATABASE_URL"` when it names a scratch database
/// (`…/app_test`, `file:./test.db`), `"!DATABASE_URL"` when it names another, and each mode
/// variable (`RAILS_ENV`, `NODE_ENV`, …) whose value is `test`.
pub(crate) fn test_settings(value: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let Some(url) = value("DATABASE_URL") {
        let db = url
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .rsplit(['/', ':'])
            .next()
            .unwrap_or("");
        out.push(if scratch_database(db) {
            "DATABASE_URL"
        } else {
            "!DATABASE_URL"
        });
    }
    for n in [
        "RAILS_ENV",
        "RACK_ENV",
        "NODE_ENV",
        "MIX_ENV",
        "APP_ENV",
        "DJANGO_SETTINGS_MODULE",
    ] {
        let test = value(n).is_some_and(|v| {
            matches!(v.as_str(), "test" | "testing")
                || n == "DJANGO_SETTINGS_MODULE"
                    && v.rsplit('.').next().is_some_and(|l| l.contains("test"))
        });
        if test {
            out.push(n);
        }
    }
    out
}

/// A framework's or ORM's database command (`prog`, as resolved from launchers) aimed at a
/// test setup: by a scratch `DATABASE_URL` (which wins over everything), by the mode variable
/// that framework reads (`RAILS_ENV` for Rails, `NODE_ENV` for Knex and Sequelize, …), or by
/// its own option (`--env test`, `--settings config.settings.test`). Prisma, Drizzle, Diesel,
/// sqlx and Alembic read only the URL.
pub(crate) fn targets_test_database(prog: &str, settings: &[&str], args: &[&str]) -> bool {
    if settings.contains(&"!DATABASE_URL") {
        return false;
    }
    if settings.contains(&"DATABASE_URL") {
        return true;
    }
    let is_test = |v: &str| matches!(v, "test" | "testing");
    let settings_test = |v: &str| v.rsplit('.').next().is_some_and(|l| l.contains("test"));
    let opt = |names: &[&str], test: &dyn Fn(&str) -> bool| {
        args.iter()
            .enumerate()
            .any(|(i, a)| match a.split_once('=') {
                Some((k, v)) => names.contains(&k) && test(v),
                None => names.contains(a) && args.get(i + 1).is_some_and(|v| test(v)),
            })
    };
    match prog {
        "rails" | "bin/rails" | "rake" => {
            settings
                .iter()
                .any(|s| matches!(*s, "RAILS_ENV" | "RACK_ENV"))
                || opt(&["RAILS_ENV", "RACK_ENV", "-e", "--environment"], &is_test)
        }
        "mix" => settings.contains(&"MIX_ENV"),
        "knex" | "sequelize" | "sequelize-cli" | "typeorm" | "mikro-orm" => {
            settings.contains(&"NODE_ENV") || opt(&["--env", "-e"], &is_test)
        }
        "artisan" => settings.contains(&"APP_ENV") || opt(&["--env"], &is_test),
        "manage.py" | "django-admin" => {
            settings.contains(&"DJANGO_SETTINGS_MODULE") || opt(&["--settings"], &settings_test)
        }
        _ => false,
    }
}

/// `--endpoint-url` names this machine or a local container: an emulator, not the cloud.
pub(crate) fn local_endpoint(args: &[&str]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        let v = match a.strip_prefix("--endpoint-url=") {
            Some(v) => v,
            None if *a == "--endpoint-url" => args.get(i + 1).copied().unwrap_or(""),
            None => return false,
        };
        let host = super::exfil::host_of(v).unwrap_or_default();
        matches!(
            host.as_str(),
            "localhost"
                | "127.0.0.1"
                | "::1"
                | "0.0.0.0"
                | "host.docker.internal"
                | "localstack"
                | "minio"
        ) || host.ends_with(".localhost")
    })
}

/// The stack `pulumi` acts on (`-s NAME`, `--stack NAME`, `--stack=NAME`).
pub(crate) fn pulumi_stack<'a>(args: &[&'a str]) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| match *a {
        "-s" | "--stack" => args.get(i + 1).copied(),
        _ => a.strip_prefix("--stack="),
    })
}

/// A stack or environment made for one test run or review (`test-pr-1234`, `preview-42`,
/// `ci-7`), never one named for production or staging.
pub(crate) fn scratch_stack(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let toks: Vec<&str> = last.split(['-', '_', '.']).collect();
    !toks.iter().any(|t| {
        matches!(
            *t,
            "prod" | "production" | "prd" | "staging" | "stage" | "live" | "main"
        )
    }) && toks.iter().any(|t| {
        matches!(
            *t,
            "test"
                | "tests"
                | "testing"
                | "pr"
                | "preview"
                | "ci"
                | "tmp"
                | "temp"
                | "ephemeral"
                | "scratch"
                | "review"
                | "sandbox"
        )
    })
}

fn scratch_database(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let stem = base
        .strip_suffix(".db")
        .or_else(|| base.strip_suffix(".sqlite3"))
        .or_else(|| base.strip_suffix(".sqlite"))
        .unwrap_or(&base);
    let stem = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    stem == "test"
        || stem == "tmp"
        || ["test_", "test-", "tmp_", "scratch"]
            .iter()
            .any(|p| stem.starts_with(p))
        || [
            "_test", "-test", "_tests", "_testing", ".test", "_tmp", "_scratch", "_ci",
        ]
        .iter()
        .any(|s| stem.ends_with(s))
}

fn sql_danger(text: &str) -> Option<Danger> {
    if !text.is_ascii() && text.len() > 64 * 1024 {
        return None;
    }
    // Every danger below needs one of these words; most texts (every `echo`) have none, and
    // lowercasing and splitting them is wasted.
    static KEYWORDS: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([
                    "drop", "truncate", "delete", "update", "alter", "grant", "remove",
                ])
                .expect("static patterns compile")
        });
    if !KEYWORDS.is_match(text) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains(".dropdatabase(") || lower.contains(".drop()") {
        return Some(Danger::Drop);
    }
    if lower.contains("deletemany({})") || lower.contains(".remove({})") {
        return Some(Danger::Wipe("deletes every document of a collection"));
    }
    let mut worst = None;
    for stmt in lower.split(';') {
        let toks: Vec<&str> = stmt
            .split(|c: char| c.is_whitespace() || c == '(' || c == ',')
            .filter(|t| !t.is_empty())
            .collect();
        for (i, t) in toks.iter().enumerate() {
            let next = toks.get(i + 1).copied().unwrap_or("");
            match *t {
                "drop"
                    if matches!(
                        next,
                        "table" | "database" | "schema" | "collection" | "keyspace" | "owned"
                    ) =>
                {
                    // `DROP DATABASE IF EXISTS app_test`: a test database.
                    let target = toks[i + 2..]
                        .iter()
                        .find(|t| !matches!(**t, "if" | "exists"))
                        .copied()
                        .unwrap_or("");
                    if next == "database" && scratch_database(target.trim_matches(['"', '`', '\'']))
                    {
                        continue;
                    }
                    return Some(Danger::Drop);
                }
                "truncate" if i == 0 || next == "table" => {
                    worst = Some(Danger::Wipe("truncates a table"));
                }
                "delete" if next == "from" && i == 0 && !where_narrows(&toks) => {
                    worst = Some(Danger::Wipe(
                        "deletes every row of a table (no narrowing WHERE)",
                    ));
                }
                "update" if i == 0 && toks.contains(&"set") && !where_narrows(&toks) => {
                    worst = Some(Danger::Wipe(
                        "updates every row of a table (no narrowing WHERE)",
                    ));
                }
                "alter" if i == 0 && toks.contains(&"drop") && next == "table" => {
                    worst = Some(Danger::Wipe("drops a column or constraint and its data"));
                }
                "grant" if i == 0 && (toks.contains(&"public") || toks.contains(&"all")) => {
                    worst = Some(Danger::Wipe("grants broad database privileges"));
                }
                "alter"
                    if i == 0
                        && matches!(next, "user" | "role")
                        && toks.iter().any(|t| matches!(*t, "password" | "superuser")) =>
                {
                    worst = Some(Danger::Wipe(
                        "changes a database account's password or powers",
                    ));
                }
                _ => {}
            }
        }
    }
    worst
}

/// The finding for destructive SQL in `text`, said of `via` (`python3` code's query).
pub(crate) fn sql_finding(via: &str, text: &str) -> Option<crate::event::Finding> {
    match sql_danger(text)? {
        Danger::Drop => Some(r::SQL_DROP.finding(format!(
            "The SQL {via} runs drops a table, database or collection."
        ))),
        Danger::Wipe(what) => {
            Some(p::SQL_DESTRUCTIVE.finding(format!("The SQL {via} runs {what}.")))
        }
    }
}

/// SQL text that a pipeline stage prints (`echo "DROP TABLE x"`), for a client further on.
pub(crate) fn is_sql_danger(text: &str) -> bool {
    sql_danger(text).is_some()
}

/// Upstream rule 5: a purchase CLI (`stripe charges create`, `vercel domains buy`, ...).
pub(crate) fn spend_cli(name: &str, pos: &[&str]) -> bool {
    let at = |i: usize| pos.get(i).copied().unwrap_or("");
    match name {
        "vercel" => matches!(at(0), "domain" | "domains") && matches!(at(1), "buy" | "transfer-in"),
        "stripe" => {
            (matches!(at(0), "charges" | "payment_intents" | "subscriptions") && at(1) == "create")
                || (at(0) == "checkout" && at(1) == "sessions" && at(2) == "create")
        }
        "agentcash" => at(0) == "pay",
        "gcloud" => at(0) == "billing" || (at(0) == "beta" && at(1) == "billing"),
        "aws" => at(1).starts_with("purchase-"),
        "namecheap" => pos.iter().any(|a| a.contains("domains.create")),
        _ => false,
    }
}

/// Upstream rule 5: a URL that buys, pays or subscribes.
pub(crate) fn is_purchase_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = format!("/{}", path.split(['?', '#']).next().unwrap_or(""));
    if path.contains("/registrar/")
        && !["availability", "price", "status"]
            .iter()
            .any(|k| path.contains(k))
    {
        return true;
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, s) in segs.iter().enumerate() {
        let next = segs.get(i + 2).copied().unwrap_or("");
        if matches!(*s, "domain" | "domains") && matches!(next, "buy" | "transfer-in" | "renew") {
            return true;
        }
        if *s == "invoices" && segs.get(i + 2) == Some(&"pay") {
            return true;
        }
    }
    for p in [
        "/v1/charges",
        "/v1/payment_intents",
        "/v1/checkout/sessions",
        "/v1/subscriptions",
        "/v1/setup_intents",
    ] {
        if path.starts_with(p) {
            return true;
        }
    }
    if host.ends_with("paypal.com")
        && [
            "/v1/checkout/orders",
            "/v2/checkout/orders",
            "/v1/payments",
            "/v2/payments",
        ]
        .iter()
        .any(|p| path.starts_with(p))
    {
        return true;
    }
    let purchase_seg = segs.iter().any(|s| {
        matches!(
            *s,
            "purchase"
                | "purchases"
                | "checkout"
                | "top-up"
                | "topup"
                | "buy-credits"
                | "buy_credits"
        )
    });
    let label = host.split('.').next().unwrap_or("");
    let money_host = matches!(
        label,
        "api"
            | "checkout"
            | "pay"
            | "payments"
            | "billing"
            | "commerce"
            | "shop"
            | "store"
            | "secure"
    );
    let api_path = path.starts_with("/api/")
        || segs.first().is_some_and(|s| {
            s.len() >= 2 && s.starts_with('v') && s[1..].bytes().all(|c| c.is_ascii_digit())
        });
    purchase_seg && (money_host || api_path)
}

/// Upstream rule 15: PowerShell `Verb-Noun` cmdlets, case-insensitively.
pub(crate) fn powershell_intent(name: &str) -> Option<Intent> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "invoke-webrequest" | "invoke-restmethod" | "test-connection" | "test-netconnection" => {
            return Some(Intent::Network)
        }
        "start-sleep" => return Some(Intent::Readonly),
        _ => {}
    }
    let (verb, noun) = lower.split_once('-')?;
    if noun.is_empty() || !noun.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(match verb {
        "get" | "select" | "measure" | "test" | "compare" | "format" | "sort" | "group"
        | "resolve" | "convertto" | "convertfrom" | "split" | "join" | "where" | "show"
        | "find" | "search" => Intent::Readonly,
        "set" | "new" | "add" | "copy" | "move" | "rename" | "write" | "out" | "export"
        | "import" | "update" | "register" | "unregister" | "publish" => Intent::Write,
        "remove" | "clear" | "uninstall" | "reset" | "revoke" => Intent::Destructive,
        "stop" | "start" | "restart" | "suspend" | "resume" | "wait" => Intent::ProcessManagement,
        "install" => Intent::PackageManagement,
        "invoke" => Intent::Interpreter,
        "enter" | "enable" | "disable" => Intent::SystemAdmin,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql() {
        assert_eq!(sql_danger("DROP TABLE users"), Some(Danger::Drop));
        assert!(matches!(
            sql_danger("delete from users"),
            Some(Danger::Wipe(_))
        ));
        assert_eq!(sql_danger("DELETE FROM users WHERE id = 3"), None);
        assert!(matches!(
            sql_danger("select 1; TRUNCATE t"),
            Some(Danger::Wipe(_))
        ));
        assert_eq!(sql_danger("SELECT * FROM drop_log"), None);
        assert!(matches!(
            sql_danger("UPDATE t SET a=1"),
            Some(Danger::Wipe(_))
        ));
        assert_eq!(sql_danger("db.users.drop()"), Some(Danger::Drop));
    }

    #[test]
    fn urls() {
        for u in [
            "https://api.stripe.com/v1/charges",
            "https://api.example.com/v2/checkout",
            "https://x.com/api/domains/foo.com/buy",
            "https://api.paypal.com/v2/checkout/orders",
            "https://shop.example.com/purchase",
        ] {
            assert!(is_purchase_url(u), "{u}");
        }
        for u in [
            "https://example.com/checkout",
            "https://docs.stripe.com/api/charges",
            "https://x.com/registrar/availability",
        ] {
            assert!(!is_purchase_url(u), "{u}");
        }
    }
}
