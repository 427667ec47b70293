//! Admin CLIs as data, read by verb rather than by whole spellings.
//!
//! Cluster, cloud, hosted-service, secrets, database, migration and registry CLIs share one
//! shape: `tool [group…] verb [object…]`. Instead of listing every destroying subcommand of every
//! tool (a list that never ends), [`CLIS`] names the tools and how deep their command path goes,
//! and [`DESTROY`] holds the verbs: a word of the path whose `-`/`:`/`_`/`.` tokens include one
//! (`delete`, `terminate-instances`, `apps:destroy`, `db:drop`, `schedule-key-deletion`) makes the
//! call `admin-destroy`. Package managers' everyday verbs (`npm uninstall`) stay out: such tools
//! list only their registry verbs. [`FORMS`] holds argument forms that are dangerous whatever
//! the verb (container escapes, HTTP DELETE, nested agents, disk erasers, switching the guard
//! off through an agent's own CLI; packages from URLs are `install-from-url`, in rules).

use crate::catalog::rules as r;
use crate::catalog::Rule;
use crate::event::Intent;

/// One admin CLI.
struct Cli {
    programs: &'static [&'static str],
    /// How many leading positional words form the command path (`aws ec2 terminate-instances`
    /// is 2 after the program, `gcloud compute instances delete` 3).
    depth: usize,
    /// Whether the generic [`DESTROY`] verbs apply (false for package managers, whose
    /// `remove`/`uninstall` are everyday work on the project).
    generic: bool,
    /// Extra destroying verbs of this tool (`flyway clean`, `goose down`, `manage.py … zero`).
    extra: &'static [&'static str],
    /// Cloud CLIs also get the access-grant check.
    cloud: bool,
}

const fn cli(programs: &'static [&'static str], depth: usize) -> Cli {
    Cli {
        programs,
        depth,
        generic: true,
        extra: &[],
        cloud: false,
    }
}
const fn cloud(programs: &'static [&'static str], depth: usize) -> Cli {
    Cli {
        cloud: true,
        ..cli(programs, depth)
    }
}
const fn with(
    programs: &'static [&'static str],
    depth: usize,
    extra: &'static [&'static str],
) -> Cli {
    Cli {
        extra,
        ..cli(programs, depth)
    }
}
const fn only(
    programs: &'static [&'static str],
    depth: usize,
    extra: &'static [&'static str],
) -> Cli {
    Cli {
        generic: false,
        extra,
        ..cli(programs, depth)
    }
}

/// Verbs (as tokens of a command-path word) that destroy, reset, roll back or take down.
const DESTROY: &[&str] = &[
    "delete",
    "deletion",
    "del",
    "destroy",
    "remove",
    "rm",
    "rb",
    "rmi",
    "drop",
    "dropall",
    "purge",
    "prune",
    "reset",
    "flush",
    "flushall",
    "flushdb",
    "truncate",
    "wipe",
    "erase",
    "terminate",
    "uninstall",
    "unpublish",
    "yank",
    "rollback",
    "undo",
    "revert",
    "downgrade",
    "teardown",
    "nuke",
    "decommission",
    "deregister",
    "unregister",
    "evict",
    "cordon",
    "drain",
    "revoke",
    "disable",
    "kill",
];

/// Long flags that destroy on their own (`kubectl apply --prune`, `aws s3 sync --delete`,
/// `prisma db push --force-reset`); exact names, so `gh pr merge --delete-branch` stays a merge.
const DESTROY_FLAGS: &[&str] = &[
    "--prune",
    "--prune-all",
    "--delete",
    "--force-reset",
    "--accept-data-loss",
    "--purge",
    "--drop",
    "--wipe",
    "--destroy",
    "--truncate",
    "--force-delete-without-recovery",
    "-purge",
];

/// Verbs that only read: a path reaching one of these first is not a destroying call
/// (`kubectl get pod delete-worker`).
const READ: &[&str] = &[
    "get", "list", "ls", "describe", "show", "status", "logs", "log", "view", "info", "inspect",
    "plan", "diff", "help", "version", "output", "whoami", "explain", "top", "history", "validate",
    "lint", "fmt", "template", "search", "watch", "wait", "cat", "read",
];

/// Grants: a path with one of these nouns and one of the mutations.
const GRANT_NOUNS: &[&str] = &[
    "iam",
    "policy",
    "acl",
    "role",
    "roles",
    "permission",
    "permissions",
    "grant",
    "ingress",
    "key",
    "keys",
    "credential",
    "credentials",
    "login",
    "assignment",
];
const GRANT_VERBS: &[&str] = &[
    "attach",
    "put",
    "add",
    "set",
    "create",
    "grant",
    "authorize",
    "assign",
    "reset",
    "update",
];

const CLIS: &[Cli] = &[
    // Clusters and their add-ons.
    with(
        &["kubectl", "k", "oc", "kubecolor", "microk8s.kubectl"],
        2,
        &["cordon", "drain", "taint"],
    ),
    cli(&["helm"], 2),
    cli(
        &[
            "eksctl", "kind", "minikube", "k3d", "k3s", "skaffold", "tilt", "istioctl", "linkerd",
        ],
        2,
    ),
    cli(
        &["argocd", "flux", "velero", "nomad", "rancher", "kubeadm"],
        3,
    ),
    // Messaging, search and backups.
    cli(
        &["rabbitmqadmin", "nats", "pulsar-admin", "algolia", "kopia"],
        3,
    ),
    with(
        &["rabbitmqctl", "rabbitmq-plugins"],
        1,
        &["stop_app", "stop", "shutdown", "close_all_connections"],
    ),
    with(&["restic", "rustic"], 1, &["forget"]),
    cli(&["borg", "duplicity", "bq"], 1),
    with(&["rclone"], 1, &["rmdirs", "cleanup"]),
    // MinIO's client (`mc rb`, `mc rm --recursive`); Midnight Commander takes no such words.
    cli(&["mc", "mcli"], 2),
    // Payments, DNS and edge, feature flags, error tracking, identity, data platforms.
    cli(
        &[
            "stripe",
            "cloudflared",
            "flarectl",
            "sentry-cli",
            "ldcli",
            "auth0",
            "databricks",
            "twilio",
            "okta",
            "newrelic",
        ],
        3,
    ),
    // Secrets, configuration and service discovery.
    cli(
        &["vault", "consul", "etcdctl", "doppler", "infisical", "op"],
        3,
    ),
    // Clouds and hosted platforms.
    cloud(&["aws", "awslocal"], 2),
    cloud(&["gcloud"], 5),
    cloud(&["gsutil"], 1),
    cloud(&["az"], 4),
    cloud(
        &[
            "oci",
            "ibmcloud",
            "doctl",
            "hcloud",
            "linode-cli",
            "scw",
            "exoscale",
            "openstack",
            "aliyun",
            "tccli",
        ],
        4,
    ),
    cli(
        &[
            "fly",
            "flyctl",
            "heroku",
            "vercel",
            "netlify",
            "railway",
            "render",
            "wrangler",
            "supabase",
            "firebase",
            "amplify",
            "surge",
            "deployctl",
            "cf",
            "appwrite",
            "neonctl",
            "planetscale",
            "pscale",
            "turso",
            "upstash",
            "convex",
        ],
        3,
    ),
    cli(
        &[
            "serverless",
            "sls",
            "sam",
            "copilot",
            "eb",
            "cdk",
            "cdktf",
            "pulumi",
            "sst",
        ],
        2,
    ),
    with(
        &["terraform", "tofu", "terragrunt", "vagrant", "packer"],
        2,
        &["force-unlock"],
    ),
    // Volumes, pools and filesystems, and object-store CLIs without a table of their own.
    cli(
        &["btrfs", "zfs", "zpool", "lvm", "b2", "s3cmd", "azcopy"],
        2,
    ),
    cli(&["gh", "glab", "tea", "hub", "bb"], 3),
    // Virtual machines and system containers (`virsh undefine`, `lxc delete`, `multipass
    // purge`, `VBoxManage unregistervm`, Proxmox's `qm destroy`).
    with(
        &["virsh"],
        1,
        &[
            "undefine",
            "vol-delete",
            "vol-wipe",
            "pool-delete",
            "pool-destroy",
        ],
    ),
    cli(&["lxc", "incus", "lxd"], 2),
    cli(
        &[
            "multipass",
            "limactl",
            "colima",
            "orb",
            "orbctl",
            "qm",
            "pct",
        ],
        1,
    ),
    with(
        &["VBoxManage", "vboxmanage"],
        1,
        &["unregistervm", "closemedium"],
    ),
    with(&["prlctl", "vmrun", "utmctl"], 1, &["deletevm"]),
    // Configuration management, ML platforms and password stores.
    cli(&["knife"], 2),
    with(&["mlflow"], 2, &["gc"]),
    cli(&["huggingface-cli", "hf"], 2),
    cli(&["pass", "gopass"], 1),
    // `certbot delete`, `certbot revoke`: a site's certificate gone.
    cli(&["certbot"], 1),
    // CI runners taken off their pool.
    with(&["gitlab-runner"], 1, &["unregister"]),
    cli(&["wandb"], 2),
    // Databases without an SQL argument of their own.
    cli(
        &[
            "mysqladmin",
            "influx",
            "cqlsh",
            "clickhouse",
            "mongo",
            "mongosh",
            "memcached-tool",
            "meilisearch",
            "typesense",
            "weaviate",
            "qdrant",
        ],
        2,
    ),
    // Migrations and frameworks' database commands.
    with(
        &["rails", "rake", "bin/rails"],
        1,
        &["schema:load", "structure:load"],
    ),
    with(
        &["manage.py", "django-admin"],
        3,
        &["zero", "sqlflush", "reset_db"],
    ),
    with(&["artisan"], 1, &["fresh", "db:wipe"]),
    cli(
        &[
            "prisma",
            "alembic",
            "sequelize",
            "sequelize-cli",
            "knex",
            "typeorm",
            "diesel",
            "sqlx",
            "mikro-orm",
            "drizzle-kit",
        ],
        2,
    ),
    with(&["flyway", "liquibase", "atlas", "sqitch"], 2, &["clean"]),
    with(
        &["goose", "migrate", "golang-migrate", "dbmate"],
        2,
        &["down", "down-to"],
    ),
    with(&["mix"], 1, &["ecto.drop", "ecto.reset", "ecto.rollback"]),
    with(&["drush", "wp"], 2, &["sql-drop", "empty"]),
    // Package registries: only the verbs that touch what others depend on.
    only(
        &["npm", "pnpm", "yarn", "bun"],
        2,
        &["unpublish", "deprecate"],
    ),
    only(&["cargo"], 1, &["yank"]),
    // `dotnet ef database drop`; `dotnet remove package` stays everyday work.
    only(&["dotnet"], 3, &["drop"]),
    only(&["gem"], 1, &["yank"]),
    only(&["docker", "podman", "nerdctl"], 2, &["reset"]),
];

/// An argument form that is dangerous whatever the verb.
struct Form {
    programs: &'static [&'static str],
    fires: fn(&str, &[&str]) -> bool,
    rule: Rule,
    intent: Intent,
    what: &'static str,
}

const FORMS: &[Form] = &[
    Form {
        programs: &["lvremove", "vgremove", "pvremove", "wipefs"],
        fires: |_, args| !preview(args) && args.iter().any(|a| !a.starts_with('-')),
        rule: r::ADMIN_DESTROY,
        intent: Intent::Destructive,
        what: "removes a logical volume, volume group or physical volume, or wipes its signatures",
    },
    Form {
        // `pg_restore --clean` drops each object before recreating it from the dump.
        programs: &["pg_restore"],
        fires: |_, args| {
            args.iter().any(|a| {
                *a == "--clean" || (a.starts_with('-') && !a.starts_with("--") && a[1..].contains('c'))
            }) && !args.iter().any(|a| *a == "-l" || *a == "--list" || a.starts_with("-f") || a.starts_with("--file"))
        },
        rule: r::ADMIN_DESTROY,
        intent: Intent::Destructive,
        what: "drops the database's objects before restoring them from the dump",
    },
    Form {
        programs: &["dropuser", "pg_dropcluster", "pg_dropdb"],
        fires: |_, args| !preview(args),
        rule: r::ADMIN_DESTROY,
        intent: Intent::Destructive,
        what: "drops a PostgreSQL role or cluster",
    },
    Form {
        programs: &["docker", "podman", "nerdctl", "docker-compose", "finch"],
        fires: container_escape,
        rule: r::CONTAINER_ESCAPE,
        intent: Intent::SystemAdmin,
        what: "starts a container with access to the host (privileged, host namespaces, the Docker socket or a system directory)",
    },
    Form {
        programs: &["kubectl", "oc"],
        fires: kube_host_access,
        rule: r::CONTAINER_ESCAPE,
        intent: Intent::SystemAdmin,
        what: "runs a debug container on a node or a pod with the node's privileges, namespaces or files",
    },
    Form {
        programs: &["kubectl", "oc"],
        fires: kube_role_binding,
        rule: r::CLOUD_IAM_GRANT,
        intent: Intent::SystemAdmin,
        what: "binds a role to a user, group or service account, granting its access",
    },
    Form {
        programs: &[
            "cqlsh", "clickhouse", "influx", "snowsql", "bq", "trino", "presto", "spark-sql", "hive",
            "beeline", "usql", "pgcli", "mycli", "litecli", "sqlplus", "isql", "osql", "sqlcmd",
            "duckdb", "turso", "pscale", "neonctl", "supabase", "wrangler", "mongosh",
        ],
        fires: sql_argument,
        rule: r::SQL_DROP,
        intent: Intent::Destructive,
        what: "runs SQL that drops or wipes data",
    },
    Form {
        programs: &[
            "kafka-topics", "kafka-topics.sh", "kafka-consumer-groups", "kafka-consumer-groups.sh",
            "kafka-configs", "kafka-configs.sh", "kafka-acls", "kafka-acls.sh",
            "kafka-delete-records", "kafka-delete-records.sh", "kafka-streams-application-reset",
            "kafka-streams-application-reset.sh",
        ],
        fires: kafka_destroy,
        rule: r::ADMIN_DESTROY,
        intent: Intent::Destructive,
        what: "deletes topics, records, offsets, configuration or ACLs, or rewinds a consumer group",
    },
    Form {
        programs: &[
            "npm", "pnpm", "yarn", "bun", "cargo", "twine", "uv", "poetry", "gem", "mvn", "mvnw",
            "./mvnw", "gradle", "gradlew", "./gradlew", "dotnet", "helm", "flit", "hatch", "pdm",
            "gh", "glab", "tea", "lerna", "nx", "changeset", "semantic-release", "npx", "pnpx", "bunx",
            "sbt", "luarocks", "rake", "bundle", "fastlane", "eas", "flutter", "dart", "xcrun",
        ],
        fires: publishes,
        rule: r::REGISTRY_PUBLISH,
        intent: Intent::Network,
        what: "publishes a package to a registry, where others install it and the version cannot be reused",
    },
    Form {
        programs: &["curl", "wget", "http", "https", "xh", "httpie", "curlie"],
        fires: http_delete,
        rule: r::HTTP_DESTROY,
        intent: Intent::Destructive,
        what: "sends an HTTP DELETE to a remote host",
    },
    Form {
        programs: &["claude", "codex", "gemini", "aider", "opencode", "goose", "amp", "cursor-agent", "qwen", "crush", "hermes", "openclaw", "llm", "copilot"],
        fires: nested_agent,
        rule: r::NESTED_AGENT,
        intent: Intent::Interpreter,
        what: "starts another AI agent on a prompt",
    },
    Form {
        programs: &["claude", "codex", "hermes", "openclaw", "gemini"],
        fires: agent_guard_off,
        rule: r::GUARD_TAMPER,
        intent: Intent::SystemAdmin,
        what: "switches off the agent's hooks or the DashClaw plugin",
    },
    Form {
        programs: &[
            "npm", "pnpm", "yarn", "bun", "pip", "pip3", "gem", "add-apt-repository",
            "apt-add-repository", "apt-key", "dnf", "yum-config-manager", "zypper", "rpm",
        ],
        fires: package_source,
        rule: r::PACKAGE_SOURCE,
        intent: Intent::SystemAdmin,
        what: "changes where packages come from or how they are verified",
    },
    Form {
        programs: &["nc", "ncat", "netcat", "nc.traditional", "nc.openbsd", "socat", "pwncat", "cryptcat"],
        fires: remote_shell,
        rule: r::REMOTE_SHELL,
        intent: Intent::Network,
        what: "runs a program for whoever is at the other end of a network connection",
    },
    Form {
        programs: &["dpkg", "apt", "apt-get", "rpm", "dnf", "yum", "zypper", "gdebi", "installer"],
        fires: local_package,
        rule: r::ROOT_PACKAGE_INSTALL,
        intent: Intent::SystemAdmin,
        what: "installs a local package file, whose maintainer scripts run as root unreviewed",
    },
    Form {
        programs: &[
            "http-server", "serve", "live-server", "miniserve", "darkhttpd", "php", "ruby",
            "busybox", "caddy", "webfsd", "httpd", "npx", "pnpx", "bunx",
        ],
        fires: serves_home,
        rule: r::EXPOSE_LOCAL,
        intent: Intent::Network,
        what: "serves the home directory or the whole filesystem over HTTP",
    },
    Form {
        programs: &["netsh", "set-mppreference", "add-mppreference", "set-netfirewallprofile", "icacls", "takeown"],
        fires: windows_security,
        rule: r::FIREWALL_DISABLE,
        intent: Intent::SystemAdmin,
        what: "switches off the Windows firewall or Defender, or opens system files to everyone",
    },
    Form {
        // `ssh-keygen -f ~/.ssh/id_ed25519`: a new key written over the user's own.
        programs: &["ssh-keygen"],
        fires: |_, args| {
            let reads = args.iter().any(|a| {
                matches!(*a, "-l" | "-y" | "-F" | "-R" | "-lf" | "-H" | "-Y" | "-Q" | "-k" | "-e" | "-i" | "-D")
            });
            !reads
                && args.windows(2).any(|w| {
                    w[0] == "-f"
                        && w[1].contains(".ssh/")
                        && w[1]
                            .rsplit('/')
                            .next()
                            .is_some_and(|b| matches!(b, "id_rsa" | "id_ed25519" | "id_ecdsa" | "id_dsa" | "id_ed25519_sk" | "id_ecdsa_sk"))
                })
        },
        rule: r::SENSITIVE_WRITE,
        intent: Intent::Write,
        what: "writes a new key over the user's default ssh key, locking them out of wherever it was trusted",
    },
    Form {
        programs: &["set-executionpolicy", "defaults", "xattr", "tccutil", "socketfilterfw", "fdesetup", "csrutil"],
        fires: os_security_setting,
        rule: r::BOOT_CHANGE,
        intent: Intent::SystemAdmin,
        what: "turns off an operating-system check on what runs (execution policy, Gatekeeper quarantine, the macOS firewall)",
    },
    Form {
        programs: &["ssh"],
        fires: |_, args| {
            args.iter().any(|a| {
                (a.starts_with('-') && !a.starts_with("--") && a.len() > 1 && a[1..].chars().all(|c| c.is_ascii_alphabetic()) && a.contains('A'))
                    || a.eq_ignore_ascii_case("ForwardAgent=yes")
                    || a.eq_ignore_ascii_case("-oForwardAgent=yes")
            })
        },
        rule: r::EXPOSE_LOCAL,
        intent: Intent::Network,
        what: "forwards the ssh agent: the remote host can sign in anywhere as the user while connected",
    },
    Form {
        programs: &["ngrok", "cloudflared", "lt", "localtunnel", "bore", "ssh", "zrok", "tailscale"],
        fires: public_tunnel,
        rule: r::EXPOSE_LOCAL,
        intent: Intent::Network,
        what: "opens a public tunnel to this machine",
    },
    Form {
        programs: &["schtasks", "reg", "new-itemproperty", "set-itemproperty", "register-scheduledtask"],
        fires: windows_autostart,
        rule: r::AUTOSTART_WRITE,
        intent: Intent::SystemAdmin,
        what: "makes Windows start a program by itself (a scheduled task or a Run key)",
    },
    Form {
        programs: &["fastboot", "flashrom", "esptool", "esptool.py", "avrdude", "dfu-util", "heimdall", "qemu-img"],
        fires: firmware_write,
        rule: r::DISK_ERASE,
        intent: Intent::Destructive,
        what: "writes or erases a device's flash, firmware or partitions, or unlocks its boot loader",
    },
    Form {
        // `gh secret set AWS_KEY --body "$AWS_SECRET_ACCESS_KEY"`: a credential handed to CI.
        programs: &["gh", "glab"],
        fires: |name, args| {
            let pos: Vec<&str> = args.iter().copied().filter(|a| !a.starts_with('-')).collect();
            // A credential of another service (the forge's own token stays with the forge).
            let forge = if name == "glab" { "https://gitlab.com" } else { "https://github.com" };
            matches!(pos.first(), Some(&("secret" | "variable")))
                && matches!(pos.get(1), Some(&("set" | "create")))
                && args.iter().any(|a| {
                    super::exfil::secret_vars_in(a).is_some()
                        && !super::exfil::only_issuer_credentials(a, forge)
                })
                && !preview(args)
        },
        rule: r::CLOUD_IAM_GRANT,
        intent: Intent::SystemAdmin,
        what: "stores a credential where the repository's workflows (and whoever can change them) can use it",
    },
    Form {
        // `openssl pkcs12 -in signing.p12 -nodes`, `openssl rsa -in key.pem`: the private
        // key printed in clear (`-out`, `-noout`, `-nokeys` and `-pubout` print none).
        programs: &["openssl"],
        fires: |_, args| {
            let sub = args.first().copied().unwrap_or("");
            let key_in = args
                .windows(2)
                .any(|w| w[0] == "-in" && super::paths::is_private_key_path(w[1]));
            // `-noout -text` still prints the key's components.
            let quiet = args
                .iter()
                .any(|a| matches!(*a, "-out" | "-nokeys" | "-pubout" | "-info"))
                || args.contains(&"-noout") && !args.contains(&"-text");
            matches!(sub, "pkcs12" | "rsa" | "pkey" | "ec" | "dsa" | "pkcs8") && key_in && !quiet
        },
        rule: r::PRIVATE_KEY_READ,
        intent: Intent::Readonly,
        what: "prints a private key in clear into the conversation",
    },
    Form {
        programs: &["kubectl", "oc", "dockerd", "docker", "podman"],
        fires: listens_everywhere,
        rule: r::EXPOSE_LOCAL,
        intent: Intent::Network,
        what: "opens a cluster or container API (or a tunnel) to every network, not just this machine",
    },
    Form {
        // `rustup self uninstall` removes every toolchain and cargo's own bin directory
        // (`rustup toolchain uninstall nightly` is one regenerable toolchain).
        programs: &["rustup"],
        fires: |_, args| {
            let pos: Vec<&str> = args.iter().copied().filter(|a| !a.starts_with('-')).collect();
            pos.starts_with(&["self", "uninstall"])
        },
        rule: r::ADMIN_DESTROY,
        intent: Intent::Destructive,
        what: "removes Rust, every toolchain and everything cargo installed",
    },
    Form {
        // `nginx -s stop`: the machine's web server; one run from the project's own prefix
        // (`nginx -p "$PWD/.nginx" -s stop`) is the project's.
        programs: &["nginx"],
        fires: |_, args| {
            args.windows(2).any(|w| w[0] == "-s" && matches!(w[1], "stop" | "quit"))
                && !args.iter().any(|a| *a == "-p" || a.starts_with("-p"))
        },
        rule: r::SERVICE_DISABLE,
        intent: Intent::SystemAdmin,
        what: "stops the web server, taking its sites down",
    },
    Form {
        programs: &["wsl", "wsl.exe"],
        fires: |_, args| args.iter().any(|a| a.eq_ignore_ascii_case("--unregister")),
        rule: r::ADMIN_DESTROY,
        intent: Intent::Destructive,
        what: "deletes a WSL distribution with every file in it",
    },
    Form {
        programs: &[
            "nmap", "masscan", "zmap", "rustscan", "naabu", "hydra", "medusa", "ncrack",
            "patator", "sqlmap", "nikto", "wpscan", "gobuster", "ffuf", "dirb", "dirbuster",
            "feroxbuster", "wfuzz", "nuclei", "hping3", "slowhttptest", "slowloris",
            "goldeneye", "ab", "wrk", "hey", "siege", "vegeta", "bombardier", "oha",
            "xmrig", "xmr-stak", "minerd", "cpuminer", "cpuminer-opt", "ccminer", "t-rex",
            "nbminer", "lolminer", "phoenixminer", "ethminer", "nanominer", "srbminer",
            "dd", "fallocate", "docker", "podman", "kubectl",
        ],
        fires: host_abuse,
        rule: r::HOST_ABUSE,
        intent: Intent::Network,
        what: "attacks, floods or mines, or fills the disk (scanning and brute force belong on this machine's own test targets)",
    },
    Form {
        programs: &["dvc"],
        // `dvc gc -c`: also deletes whatever the remote cache holds that this workspace does not use.
        fires: |_, args| {
            !preview(args)
                && args.first() == Some(&"gc")
                && args.iter().any(|a| {
                    *a == "--cloud" || (a.starts_with('-') && !a.starts_with("--") && a.contains('c'))
                })
        },
        rule: r::ADMIN_DESTROY,
        intent: Intent::Destructive,
        what: "deletes data from the shared remote cache",
    },
    Form {
        programs: &["jupyter", "jupyter-lab", "jupyter-notebook", "voila"],
        fires: notebook_exposed,
        rule: r::EXPOSE_LOCAL,
        intent: Intent::Network,
        what: "serves a notebook (which runs code for whoever reaches it) on every network interface",
    },
    Form {
        programs: &["format", "diskpart", "diskutil", "vssadmin", "wmic", "bcdedit", "cipher", "del", "erase", "rd", "rmdir", "wbadmin", "fsutil", "clear-disk", "format-volume"],
        fires: disk_erase,
        rule: r::DISK_ERASE,
        intent: Intent::Destructive,
        what: "erases a disk, a volume, shadow copies or a drive root",
    },
];

/// Programs whose everyday use the command path never reaches: the launchers they are run
/// through (`python manage.py`, `php artisan`, `npx prisma`, `bundle exec rake`).
pub(crate) fn resolve<'a>(name: &'a str, args: &'a [&'a str]) -> (&'a str, &'a [&'a str]) {
    let base = |p: &'a str| p.rsplit(['/', '\\']).next().unwrap_or(p);
    let is_py = name.starts_with("python")
        || matches!(name, "php" | "ruby" | "node" | "uv" | "poetry" | "pipenv");
    if is_py {
        let rest = match (name, args.first()) {
            ("uv" | "poetry" | "pipenv", Some(&"run")) => &args[1..],
            ("uv" | "poetry" | "pipenv", _) => return (name, args),
            _ => args,
        };
        let rest = match rest.first() {
            Some(p) if p.starts_with("python") => &rest[1..],
            _ => rest,
        };
        if let Some(first) = rest.first() {
            let b = base(first);
            if matches!(b, "manage.py" | "artisan" | "rails" | "rake") {
                return (b, &rest[1..]);
            }
        }
        return (name, args);
    }
    match name {
        "npx" | "pnpx" | "bunx" => {
            let mut i = 0;
            while let Some(a) = args.get(i) {
                if matches!(*a, "-p" | "--package") {
                    i += 2;
                } else if a.starts_with('-') {
                    i += 1;
                } else {
                    return (base(a), &args[i + 1..]);
                }
            }
            (name, args)
        }
        "bundle" | "pnpm" | "yarn" | "bun"
            if matches!(args.first(), Some(&("exec" | "dlx" | "x"))) =>
        {
            match args.get(1) {
                Some(p) => (base(p), &args[2..]),
                None => (name, args),
            }
        }
        _ => (name, args),
    }
}

fn tokens(word: &str) -> impl Iterator<Item = String> + '_ {
    word.split(['-', ':', '_', '.'])
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Preview flags: the tool only says what it would do.
fn preview(args: &[&str]) -> bool {
    args.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        matches!(
            a.as_str(),
            "--help"
                | "-h"
                | "--dry-run"
                | "--dryrun"
                | "--what-if"
                | "--whatif"
                | "--preview"
                | "--check"
                | "--plan"
                | "help"
        ) || (a.starts_with("--dry-run=") && a != "--dry-run=none")
    })
}

/// Grades `name args…` (cooked words, flags included) against the admin CLIs and the forms.
pub(crate) fn check(name: &str, args: &[&str]) -> Option<(Rule, Intent, String)> {
    let name = name.strip_suffix(".exe").unwrap_or(name);
    let lower;
    let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        lower = name.to_ascii_lowercase();
        lower.as_str()
    } else {
        name
    };
    // Hot path: most commands name no program of these tables (one hash lookup).
    static PROGRAMS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| {
            let launchers = [
                "php", "ruby", "node", "uv", "poetry", "pipenv", "npx", "pnpx", "bunx", "bundle",
            ];
            FORMS
                .iter()
                .flat_map(|f| f.programs.iter())
                .chain(CLIS.iter().flat_map(|c| c.programs.iter()))
                .copied()
                .chain(launchers)
                .collect()
        });
    if !PROGRAMS.contains(name) && !name.starts_with("python") {
        return None;
    }
    // `python -m twine upload`, `python3 -m pip config set …`: the module is the program.
    if name.starts_with("python") && args.first() == Some(&"-m") {
        if let Some((module, rest)) = args[1..].split_first() {
            if *module != name && PROGRAMS.contains(module) {
                return check(module, rest);
            }
        }
    }
    for f in FORMS.iter().filter(|f| f.programs.contains(&name)) {
        if (f.fires)(name, args) {
            return Some((f.rule, f.intent, format!("`{name}` {}.", f.what)));
        }
    }
    if preview(args) {
        return None;
    }
    let (prog, args) = resolve(name, args);
    // `pulumi destroy -s test-pr-1234`: an ephemeral stack, made to be torn down.
    if prog == "pulumi" && super::infra::pulumi_stack(args).is_some_and(super::infra::scratch_stack)
    {
        return None;
    }
    if prog == "aws" && super::infra::local_endpoint(args) {
        return None;
    }
    // `incus delete test-ci-42 --force`: machines made for one test run. Every machine named
    // must be one (`incus delete prod-db ci-tmp` is not exempt for the second).
    let vm_cli = matches!(
        prog,
        "lxc"
            | "incus"
            | "lxd"
            | "multipass"
            | "limactl"
            | "colima"
            | "virsh"
            | "VBoxManage"
            | "vboxmanage"
    );
    let objects: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .skip(1)
        .collect();
    if vm_cli && !objects.is_empty() && objects.iter().all(|o| super::infra::scratch_stack(o)) {
        return None;
    }
    let cli = CLIS.iter().find(|c| c.programs.contains(&prog))?;
    let stripped = super::globals::strip(prog, args);
    let args = stripped.as_slice();
    let path: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-') && !a.contains('='))
        .take(cli.depth)
        .take_while(|w| !READ.contains(w))
        .collect();
    // Object stores' `rm` of one named object is everyday work; only a recursive one is bulk.
    let single_object = matches!(
        (prog, path.as_slice()),
        ("aws" | "awslocal", ["s3", "rm", ..])
            | ("gsutil", ["rm", ..])
            | ("gcloud", ["storage", "rm", ..])
            | ("mc" | "mcli", ["rm", ..])
    ) && !args
        .iter()
        .any(|a| matches!(*a, "-r" | "-R" | "--recursive" | "-m"))
        // Terraform's state is the record of what it manages, not an ordinary object.
        && !args.iter().any(|a| a.contains(".tfstate"));
    let verb = path.iter().filter(|_| !single_object).find(|w| {
        cli.extra.contains(w)
            || tokens(w).any(|t| {
                cli.extra.contains(&t.as_str()) || (cli.generic && DESTROY.contains(&t.as_str()))
            })
    });
    if let Some(v) = verb {
        return Some((
            r::ADMIN_DESTROY,
            Intent::Destructive,
            format!(
                "`{prog} {}` destroys, resets or rolls back what it manages ({v}).",
                path.join(" ")
            ),
        ));
    }
    if cli.generic {
        let flag = args
            .iter()
            .find(|a| DESTROY_FLAGS.contains(&a.split('=').next().unwrap_or(a)));
        if let Some(f) = flag {
            return Some((
                r::ADMIN_DESTROY,
                Intent::Destructive,
                format!("`{prog}` with `{f}` deletes what it manages."),
            ));
        }
        if scale_to_zero(args) {
            return Some((
                r::ADMIN_DESTROY,
                Intent::Destructive,
                format!("`{prog}` scales a workload to zero, taking it down."),
            ));
        }
    }
    if cli.cloud {
        let toks: Vec<String> = path.iter().flat_map(|w| tokens(w)).collect();
        if toks.iter().any(|t| GRANT_NOUNS.contains(&t.as_str()))
            && toks.iter().any(|t| GRANT_VERBS.contains(&t.as_str()))
        {
            return Some((
                r::CLOUD_IAM_GRANT,
                Intent::SystemAdmin,
                format!(
                    "`{prog} {}` grants access or creates credentials.",
                    path.join(" ")
                ),
            ));
        }
    }
    None
}

/// An argument (a `-e`/`-q`/`--execute` query, or a positional one) with destructive SQL.
fn sql_argument(_name: &str, args: &[&str]) -> bool {
    args.iter().any(|a| super::infra::is_sql_danger(a))
}

/// `nc -e /bin/sh host port`, `ncat --exec`, `socat TCP:h:p EXEC:/bin/sh`.
fn remote_shell(name: &str, args: &[&str]) -> bool {
    if name == "socat" {
        return args.iter().any(|a| {
            let u = a.to_ascii_uppercase();
            u.starts_with("EXEC:") || u.starts_with("SYSTEM:")
        });
    }
    args.iter().any(|a| {
        matches!(*a, "-e" | "-c" | "--exec" | "--sh-exec" | "--lua-exec")
            || a.starts_with("--exec=")
            || a.starts_with("--sh-exec=")
            // Bundled: `-lvpe`, `-nve`.
            || (a.starts_with('-') && !a.starts_with("--") && a.len() > 2 && a.ends_with('e')
                && a[1..].bytes().all(|b| b.is_ascii_alphabetic()))
    })
}

/// `dpkg -i x.deb`, `apt install ./x.deb`, `rpm -ivh x.rpm`, `gdebi x.deb`, `installer -pkg`.
fn local_package(name: &str, args: &[&str]) -> bool {
    let file = |a: &&str| {
        let l = a.to_ascii_lowercase();
        [".deb", ".rpm", ".pkg", ".apk"]
            .iter()
            .any(|e| l.ends_with(e))
            || a.starts_with("./")
            || a.starts_with('/')
            || l.starts_with("http://")
            || l.starts_with("https://")
    };
    match name {
        "dpkg" => args
            .iter()
            .any(|a| matches!(*a, "-i" | "--install" | "--unpack")),
        "rpm" => {
            args.iter().any(|a| {
                a.starts_with('-') && !a.starts_with("--") && (a.contains('i') || a.contains('U'))
                    || matches!(*a, "--install" | "--upgrade")
            }) && !args.iter().any(|a| *a == "-q" || a.starts_with("-q"))
        }
        "gdebi" => args.iter().any(|a| !a.starts_with('-')),
        "installer" => args.contains(&"-pkg"),
        _ => {
            args.iter()
                .any(|a| matches!(*a, "install" | "localinstall" | "in" | "reinstall"))
                && args.iter().filter(|a| !a.starts_with('-')).any(file)
        }
    }
}

/// `npx http-server ~`, `php -S 0.0.0.0:8080 -t ~`, `ruby -run -e httpd ~`,
/// `busybox httpd -h /`: a static server rooted at home or `/`.
fn serves_home(name: &str, args: &[&str]) -> bool {
    let root = |a: &&str| matches!(*a, "~" | "~/" | "$HOME" | "${HOME}" | "/" | "/root");
    match name {
        // `npx http-server ~`: the package's program and its arguments.
        "npx" | "pnpx" | "bunx" => {
            let at = args.iter().position(|a| !a.starts_with('-'));
            at.is_some_and(|i| {
                let prog = args[i].split('@').next().unwrap_or(args[i]);
                matches!(
                    prog,
                    "http-server" | "serve" | "live-server" | "localtunnel"
                ) && (prog == "localtunnel"
                    || args[i + 1..]
                        .iter()
                        .filter(|a| !a.starts_with('-'))
                        .any(root))
            })
        }
        "httpd" => args.windows(2).any(|w| w[0] == "-h" && root(&w[1])),
        "php" => args.contains(&"-S") && args.windows(2).any(|w| w[0] == "-t" && root(&w[1])),
        "ruby" => args.contains(&"httpd") && args.iter().any(root),
        "busybox" => {
            args.contains(&"httpd") && args.windows(2).any(|w| w[0] == "-h" && root(&w[1]))
        }
        "caddy" => {
            args.contains(&"file-server")
                && args.windows(2).any(|w| w[0] == "--root" && root(&w[1]))
        }
        _ => args.iter().filter(|a| !a.starts_with('-')).any(root),
    }
}

/// `netsh advfirewall set allprofiles state off`, `Set-MpPreference -DisableRealtimeMonitoring
/// $true`, `Set-NetFirewallProfile -Enabled False`, `icacls C:\Windows /grant Everyone:F`.
fn windows_security(name: &str, args: &[&str]) -> bool {
    let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let has = |s: &str| lower.iter().any(|a| a == s);
    match name {
        "netsh" => {
            (has("advfirewall") || has("firewall"))
                && (has("off") || has("disable") || lower.iter().any(|a| a.contains("state=off")))
        }
        // Exclusions blind Defender to a path, a process or an extension.
        "add-mppreference" | "set-mppreference"
            if lower.iter().any(|a| a.starts_with("-exclusion")) =>
        {
            true
        }
        "set-mppreference" => lower.iter().any(|a| a.starts_with("-disable")),
        "set-netfirewallprofile" => {
            lower
                .windows(2)
                .any(|w| w[0] == "-enabled" && w[1].contains("false"))
                || has("-enabled:$false")
        }
        "icacls" | "takeown" => {
            let system = lower.iter().any(|a| {
                let a = a.replace('\\', "/");
                a.starts_with("c:windows")
                    || a.starts_with("c:/windows")
                    || a.starts_with("c:program")
                    || a.starts_with("c:/program")
                    || a == "c:"
                    || a == "c:/"
            });
            let everyone = lower
                .iter()
                .any(|a| a.contains("everyone") || a.contains("*s-1-1-0"));
            system && (everyone || name == "takeown")
        }
        _ => false,
    }
}

/// `ngrok http 3000`, `cloudflared tunnel --url …`, `lt --port 22`, `ssh -R 0.0.0.0:…`,
/// `tailscale funnel`.
/// `kubectl proxy --address 0.0.0.0`, `kubectl port-forward --address 0.0.0.0 svc/x`,
/// `dockerd -H tcp://0.0.0.0:2375` (the Docker API unauthenticated: root for anyone), and a
/// tunnel client run as a container (`docker run cloudflare/cloudflared tunnel --url …`).
fn listens_everywhere(name: &str, args: &[&str]) -> bool {
    let any_addr = |v: &str| {
        let v = v.trim_matches(['\'', '"']);
        matches!(v, "0.0.0.0" | "::" | "[::]" | "*")
            || v.starts_with("tcp://0.0.0.0")
            || v.starts_with("tcp://:")
            || v.starts_with("tcp://[::]")
    };
    let value_of = |flags: &[&str]| {
        args.iter().enumerate().any(|(i, a)| {
            flags.iter().any(|f| {
                (a == f && args.get(i + 1).is_some_and(|v| any_addr(v)))
                    || a.strip_prefix(f)
                        .and_then(|v| v.strip_prefix('='))
                        .is_some_and(any_addr)
            })
        })
    };
    match name {
        "kubectl" | "oc" => {
            matches!(
                args.iter().find(|a| !a.starts_with('-')),
                Some(&("proxy" | "port-forward"))
            ) && value_of(&["--address"])
        }
        "dockerd" => value_of(&["-H", "--host"]),
        _ => {
            args.iter().find(|a| !a.starts_with('-')) == Some(&"run")
                && args.iter().any(|a| {
                    let image = a.rsplit('/').next().unwrap_or(a);
                    image.starts_with("cloudflared") || image.starts_with("ngrok")
                })
                && args.iter().any(|a| matches!(*a, "tunnel" | "http" | "tcp"))
        }
    }
}

/// Scanners, brute-forcers and web attack tools aimed anywhere but this machine; floods and
/// huge load runs at a remote host; miners (any program, or a miner image, given a
/// `stratum+tcp://` pool); disk fillers.
fn host_abuse(name: &str, args: &[&str]) -> bool {
    if preview(args)
        || args
            .iter()
            .any(|a| matches!(*a, "--version" | "-V" | "version"))
    {
        return false;
    }
    // A target on this machine (or its containers' loopback names) is the developer's own.
    let local = |t: &str| {
        let host = super::exfil::host_of(t).unwrap_or_else(|| t.to_ascii_lowercase());
        let host = host.split('/').next().unwrap_or(&host).to_owned();
        matches!(
            host.as_str(),
            "localhost" | "127.0.0.1" | "::1" | "host.docker.internal"
        ) || host.starts_with("127.")
            || host.ends_with(".localhost")
            || host.ends_with(".test")
    };
    let targets: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| {
            !a.starts_with('-')
                && !a.contains('$')
                && (a.contains('.') || a.contains(':') || *a == "localhost")
        })
        .filter(|a| !a.ends_with(".txt") && !a.ends_with(".lst") && !a.ends_with(".json"))
        .collect();
    let remote_target = !targets.is_empty() && !targets.iter().all(|t| local(t));
    let mining = args
        .iter()
        .any(|a| a.contains("stratum+tcp://") || a.contains("stratum+ssl://"))
        || args.iter().any(|a| {
            let image = a.rsplit('/').next().unwrap_or(a).to_ascii_lowercase();
            image.starts_with("xmrig") || image.contains("miner")
        }) && matches!(name, "docker" | "podman" | "kubectl");
    match name {
        "dd" => {
            let from_endless = args
                .iter()
                .any(|a| matches!(*a, "if=/dev/zero" | "if=/dev/urandom" | "if=/dev/random"));
            let to_file = args.iter().any(|a| {
                a.strip_prefix("of=")
                    .is_some_and(|o| !o.starts_with("/dev/") && !o.is_empty())
            });
            from_endless && to_file && !args.iter().any(|a| a.starts_with("count="))
        }
        "fallocate" => args.windows(2).any(|w| {
            w[0] == "-l"
                && w[1]
                    .trim_end_matches(['B', 'b'])
                    .strip_suffix(['G', 'g', 'T', 't'])
                    .is_some_and(|n| {
                        let big_unit = w[1].to_ascii_uppercase().contains('T');
                        big_unit || n.parse::<f64>().is_ok_and(|g| g >= 100.0)
                    })
        }),
        "docker" | "podman" | "kubectl" => mining,
        "ab" | "wrk" | "hey" | "siege" | "vegeta" | "bombardier" | "oha" => {
            // Load runs only count at someone else's host, and only when huge.
            let huge = args.iter().enumerate().any(|(i, a)| {
                let v = match *a {
                    "-n" | "-c" | "-r" | "--requests" | "--connections" => {
                        args.get(i + 1).copied().unwrap_or("")
                    }
                    _ => return false,
                };
                v.parse::<u64>().is_ok_and(|n| n >= 10_000)
            });
            remote_target && huge
        }
        "hping3" => args.iter().any(|a| matches!(*a, "--flood" | "--faster")) && remote_target,
        "xmrig" | "xmr-stak" | "minerd" | "cpuminer" | "cpuminer-opt" | "ccminer" | "t-rex"
        | "nbminer" | "lolminer" | "phoenixminer" | "ethminer" | "nanominer" | "srbminer" => true,
        // Scanners and attack tools: anything but a local target (`-h`/`--help` excepted).
        _ => {
            !args.is_empty()
                && !args.iter().any(|a| matches!(*a, "-h" | "--help"))
                && (remote_target
                    || mining
                    || targets.is_empty()
                        && args.iter().any(|a| {
                            a.contains('/') && a.chars().next().is_some_and(|c| c.is_ascii_digit())
                        }))
        }
    }
}

/// Hosts whose business is publishing a forwarded port to the internet.
fn tunnel_service(host: &str) -> bool {
    let host = host.rsplit('@').next().unwrap_or(host).to_ascii_lowercase();
    [
        "serveo.net",
        "localhost.run",
        "pinggy.io",
        "pinggy.link",
        "tunnel.pyjam.as",
        "ngrok.com",
        "ngrok.io",
        "tuns.sh",
        "srv.us",
    ]
    .iter()
    .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

fn public_tunnel(name: &str, args: &[&str]) -> bool {
    let pos: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    match name {
        "ngrok" => matches!(pos.first(), Some(&("http" | "tcp" | "tls" | "start"))),
        "cloudflared" => {
            pos.first() == Some(&"tunnel")
                && !args
                    .iter()
                    .any(|a| matches!(*a, "list" | "info" | "--help"))
        }
        "lt" | "localtunnel" => args.iter().any(|a| a.starts_with("--port") || *a == "-p"),
        "bore" => pos.first() == Some(&"local"),
        "zrok" => pos.first() == Some(&"share"),
        "tailscale" => pos.first() == Some(&"funnel") && !pos.contains(&"status"),
        // A remote forward to a tunnel service (`ssh -R 80:localhost:3000 serveo.net`).
        "ssh"
            if pos.iter().any(|h| tunnel_service(h))
                && args.iter().any(|a| {
                    a.starts_with("-R")
                        || (a.starts_with('-') && !a.starts_with("--") && a.ends_with('R'))
                }) =>
        {
            true
        }
        "ssh" => args.iter().enumerate().any(|(i, a)| {
            // `-R spec`, `-Rspec`, or a flag cluster ending in it (`-fNR spec`).
            let cluster_r = a.starts_with('-')
                && !a.starts_with("--")
                && a.ends_with('R')
                && a[1..].chars().all(|c| c.is_ascii_alphabetic());
            let spec = if *a == "-R" || cluster_r {
                args.get(i + 1).copied()
            } else {
                a.strip_prefix("-R").filter(|v| !v.is_empty())
            };
            // Bound to all interfaces; a reverse SOCKS proxy into this network (`-R 1080`);
            // or this machine's own ssh server handed to the remote end.
            spec.is_some_and(|s| {
                let parts: Vec<&str> = s.split(':').collect();
                s.starts_with("0.0.0.0:")
                    || s.starts_with("*:")
                    || s.starts_with(':')
                    || (parts.len() <= 2 && !s.contains('/'))
                    || (parts.len() >= 3
                        && parts[parts.len() - 1] == "22"
                        && matches!(
                            parts[parts.len() - 2],
                            "localhost" | "127.0.0.1" | "[::1]" | "::1"
                        ))
            })
        }),
        _ => false,
    }
}

/// `fastboot erase userdata`, `fastboot flashing unlock`, `flashrom -w rom`, `esptool
/// erase_flash`, `qemu-img convert … /dev/sdb`: the device's storage or boot chain rewritten.
fn firmware_write(name: &str, args: &[&str]) -> bool {
    if preview(args) {
        return false;
    }
    let pos: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    match name {
        "fastboot" => {
            matches!(
                pos.first(),
                Some(
                    &("flash"
                        | "flashall"
                        | "erase"
                        | "format"
                        | "flashing"
                        | "oem"
                        | "update"
                        | "wipe-super")
                )
            ) || args.contains(&"-w")
        }
        "flashrom" => args.iter().any(|a| {
            matches!(*a, "-w" | "--write" | "-E" | "--erase") || a.starts_with("--write=")
        }),
        "esptool" | "esptool.py" => pos.iter().any(|p| {
            matches!(
                *p,
                "erase_flash"
                    | "erase-flash"
                    | "erase_region"
                    | "write_flash"
                    | "write-flash"
                    | "burn_efuse"
            )
        }),
        "avrdude" => args.iter().any(|a| a.starts_with("-U") || *a == "-e"),
        "dfu-util" => args.iter().any(|a| matches!(*a, "-D" | "--download")),
        "heimdall" => pos.first() == Some(&"flash"),
        // `qemu-img convert|dd` with a block device as the output.
        "qemu-img" => {
            matches!(pos.first(), Some(&("convert" | "dd")))
                && args.iter().any(|a| {
                    let t = a.strip_prefix("of=").unwrap_or(a);
                    t.starts_with("/dev/")
                        && !matches!(t, "/dev/null" | "/dev/zero" | "/dev/stdout" | "/dev/stdin")
                })
        }
        _ => false,
    }
}

/// `jupyter lab --ip 0.0.0.0`, `--ip=*`: the server (a code runner) listens on every
/// interface, and with `--ServerApp.token=''` needs no password either.
fn notebook_exposed(_: &str, args: &[&str]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        let v = match a.split_once('=') {
            Some((k, v)) if k.ends_with("ip") || k.ends_with(".ip") => v,
            _ if *a == "--ip" => args.get(i + 1).copied().unwrap_or(""),
            _ => return false,
        };
        matches!(v.trim_matches(['\'', '"']), "0.0.0.0" | "*" | "::" | "[::]")
    })
}

/// `Set-ExecutionPolicy Unrestricted`, `defaults write com.apple.LaunchServices LSQuarantine
/// -bool false`, `defaults write /Library/Preferences/com.apple.alf globalstate -int 0`,
/// `xattr -d com.apple.quarantine App.app`.
fn os_security_setting(name: &str, args: &[&str]) -> bool {
    let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    match name {
        "set-executionpolicy" => lower
            .iter()
            .any(|a| matches!(a.as_str(), "unrestricted" | "bypass")),
        "defaults" => {
            lower.first().is_some_and(|a| a == "write")
                && lower.iter().any(|a| {
                    a.contains("com.apple.alf")
                        || a == "lsquarantine"
                        || a.contains("com.apple.security")
                        || a.contains("gatekeeper")
                        || a.contains("com.apple.screensaver")
                            && lower.iter().any(|k| k == "askforpassword")
                })
        }
        // Privacy permissions reset for every app; the application firewall off; FileVault off;
        // System Integrity Protection off.
        // (`tccutil reset Camera com.example.app` is one app's one permission.)
        "tccutil" => {
            lower.first().is_some_and(|a| a == "reset")
                && (lower.get(1).is_none_or(|s| s == "all") || lower.len() < 3)
        }
        "socketfilterfw" => lower
            .windows(2)
            .any(|w| w[0] == "--setglobalstate" && w[1] == "off"),
        "fdesetup" => lower.first().is_some_and(|a| a == "disable"),
        "csrutil" => lower.first().is_some_and(|a| a == "disable"),
        "xattr" => {
            lower.iter().any(|a| a == "com.apple.quarantine")
                && lower
                    .iter()
                    .any(|a| a.starts_with('-') && (a.contains('d') || a.contains('c')))
        }
        _ => false,
    }
}

/// `schtasks /create`, `reg add HKCU\…\CurrentVersion\Run`, `Register-ScheduledTask`.
fn windows_autostart(name: &str, args: &[&str]) -> bool {
    let lower: Vec<String> = args
        .iter()
        .map(|a| a.to_ascii_lowercase().replace('/', "\\"))
        .collect();
    let run_key = || {
        lower.iter().any(|a| {
            [
                "currentversion\\run",
                "currentversionrun",
                "\\winlogon",
                "image file execution options",
            ]
            .iter()
            .any(|k| a.contains(k))
        })
    };
    match name {
        "schtasks" => lower.iter().any(|a| a == "\\create" || a == "-create"),
        "register-scheduledtask" => true,
        "reg" => {
            lower
                .first()
                .is_some_and(|a| matches!(a.as_str(), "add" | "import"))
                && run_key()
        }
        _ => run_key(),
    }
}

/// Settings of package managers that decide where packages come from or how they are checked.
const SOURCE_KEYS: &[&str] = &[
    "registry",
    "registryserver",
    "index-url",
    "index_url",
    "trusted-host",
    "strict-ssl",
    "cafile",
    "proxy",
    "https-proxy",
    "enablestrictsettings",
];

/// `npm config set registry …`, `add-apt-repository …`, `apt-key add`, …
fn package_source(name: &str, args: &[&str]) -> bool {
    if args.iter().any(|a| matches!(*a, "-h" | "--help")) {
        return false;
    }
    let pos: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let key = |k: &str| {
        let k = k.to_ascii_lowercase();
        let k = k.rsplit(['.', ':']).next().unwrap_or(&k).to_owned();
        SOURCE_KEYS.iter().any(|s| k == *s || k.ends_with(s))
    };
    match name {
        "npm" | "pnpm" | "yarn" | "bun" | "pip" | "pip3" => match pos.as_slice() {
            ["config", "set", k, ..] | ["set", k, ..] => key(k.split('=').next().unwrap_or(k)),
            _ => false,
        },
        "gem" => {
            pos.first() == Some(&"sources") && args.iter().any(|a| matches!(*a, "-a" | "--add"))
        }
        "add-apt-repository" | "apt-add-repository" => {
            !args
                .iter()
                .any(|a| matches!(*a, "-r" | "--remove" | "-L" | "--list"))
                && !pos.is_empty()
        }
        "apt-key" => matches!(pos.first(), Some(&("add" | "adv"))),
        "rpm" => args.contains(&"--import"),
        "dnf" | "yum-config-manager" => args.iter().any(|a| a.starts_with("--add-repo")),
        "zypper" => matches!(pos.first(), Some(&("ar" | "addrepo"))),
        _ => false,
    }
}

/// Ports of data stores with an HTTP API (Elasticsearch/OpenSearch, CouchDB, InfluxDB,
/// Meilisearch, Typesense, Qdrant, Solr, Consul, Vault, etcd, RabbitMQ, ClickHouse, ArangoDB,
/// Neo4j; generic ports such as 8080 or 9000 are left out).
const DATASTORE_PORTS: &[&str] = &[
    "9200", "9300", "5984", "8086", "7700", "8108", "6333", "8983", "8500", "8200", "2379",
    "15672", "8123", "8529", "7474",
];

/// Whether a URL or `host:port` names one of [`DATASTORE_PORTS`].
fn datastore_port(target: &str) -> bool {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| DATASTORE_PORTS.contains(&port))
}

/// Frameworks' and ORMs' own database commands (resets, drops, rollbacks), which act on the
/// database their configuration names: against a test setup they are everyday test work.
pub(crate) fn framework_database<'a>(name: &'a str, args: &'a [&'a str]) -> Option<&'a str> {
    let (prog, _) = resolve(name, args);
    matches!(
        prog,
        "rails"
            | "bin/rails"
            | "rake"
            | "manage.py"
            | "django-admin"
            | "artisan"
            | "prisma"
            | "knex"
            | "sequelize"
            | "sequelize-cli"
            | "typeorm"
            | "mikro-orm"
            | "drizzle-kit"
            | "alembic"
            | "mix"
            | "diesel"
            | "sqlx"
    )
    .then_some(prog)
}

/// `npm publish`, `cargo publish`, `twine upload`, `mvn deploy`, `gradle publish…`, … (previews
/// and `--help` excepted).
fn publishes(name: &str, args: &[&str]) -> bool {
    if preview(args) {
        return false;
    }
    // `npx lerna publish`: the package runner's program.
    let (name, args) = match name {
        "npx" | "pnpx" | "bunx" => resolve(name, args),
        _ => (name, args),
    };
    let stripped = super::globals::strip(name, args);
    let pos: Vec<&str> = stripped
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let first = pos.first().copied().unwrap_or("");
    match name.rsplit('/').next().unwrap_or(name) {
        "npm" | "pnpm" | "yarn" | "bun" => {
            first == "publish"
                || (first == "npm" && pos.get(1) == Some(&"publish"))
                // Moving a dist-tag changes what everyone's `install` resolves to.
                || (first == "dist-tag" && matches!(pos.get(1), Some(&("add" | "rm"))))
        }
        "cargo" | "uv" | "poetry" | "flit" | "hatch" | "pdm" => first == "publish",
        "twine" => first == "upload",
        // Monorepo release tools publish every changed package to the registry.
        "lerna" | "changeset" => first == "publish",
        "nx" => first == "release" && (pos.get(1) == Some(&"publish") || pos.len() == 1),
        "semantic-release" => true,
        "gem" => first == "push",
        "mvn" | "mvnw" => pos
            .iter()
            .any(|p| matches!(*p, "deploy" | "deploy:deploy" | "release:perform")),
        // sbt's publishing tasks (`+publishSigned`, `sonatypeBundleRelease`, `publish`).
        "sbt" => pos.iter().any(|p| {
            let t = p.trim_start_matches('+');
            (t.starts_with("publish")
                && !t.starts_with("publishLocal")
                && !t.starts_with("publishM2"))
                || t.starts_with("sonatypeBundleRelease")
                || t.starts_with("sonatypeRelease")
        }),
        "luarocks" => first == "upload",
        // App stores and over-the-air channels: what users' devices install next.
        "fastlane" => {
            matches!(
                first,
                "deliver" | "supply" | "pilot" | "upload_to_app_store" | "upload_to_play_store"
            ) || pos
                .iter()
                .any(|p| matches!(*p, "release" | "beta" | "deploy"))
        }
        "eas" => {
            first == "submit"
                || (first == "update" && stripped.iter().any(|a| a.contains("production")))
        }
        "flutter" | "dart" => first == "pub" && pos.get(1) == Some(&"publish"),
        "xcrun" => {
            first == "altool"
                && stripped
                    .iter()
                    .any(|a| *a == "--upload-app" || *a == "--upload-package")
        }
        // Bundler's gem tasks: `rake release` pushes the gem (through `bundle exec` too).
        "rake" => pos
            .iter()
            .any(|p| matches!(*p, "release" | "release:rubygem_push")),
        "bundle" => {
            first == "exec"
                && pos.get(1) == Some(&"rake")
                && pos.iter().skip(2).any(|p| *p == "release")
        }
        "gradle" | "gradlew" => pos
            .iter()
            .any(|p| p.starts_with("publish") && !p.contains("Local")),
        "dotnet" => first == "nuget" && pos.get(1) == Some(&"push"),
        "helm" => first == "push",
        // A repository made public. (Image pushes and releases are the project's own
        // delivery, as `git push` is; peer guards let them through too.)
        // `gh api -X PATCH repos/o/r -f private=false`, `glab api -X PUT projects/… -f
        // visibility=public`: the same change through the raw API.
        "gh" | "glab" | "tea"
            if first == "api"
                && stripped.iter().any(|a| {
                    let a = a.trim_matches(['\'', '"']);
                    matches!(a, "private=false" | "visibility=public" | "private:=false")
                }) =>
        {
            true
        }
        "gh" => {
            first == "repo"
                && matches!(pos.get(1), Some(&("create" | "edit")))
                && stripped.iter().any(|a| {
                    matches!(*a, "--public" | "--visibility=public")
                        || *a == "public" && stripped.contains(&"--visibility")
                })
        }
        _ => false,
    }
}

/// Kafka's admin scripts take their verb as a flag; `--reset-offsets` only acts with `--execute`.
fn kafka_destroy(name: &str, args: &[&str]) -> bool {
    if preview(args) {
        return false;
    }
    let stem = name.trim_end_matches(".sh");
    matches!(
        stem,
        "kafka-delete-records" | "kafka-streams-application-reset"
    ) || args.iter().any(|a| {
        matches!(
            a.split('=').next().unwrap_or(a),
            "--delete" | "--delete-offsets" | "--remove" | "--delete-config"
        )
    }) || (args.contains(&"--reset-offsets") && args.contains(&"--execute"))
}

/// `--replicas=0`, `--replicas 0`, or a patch setting `"replicas": 0`.
fn scale_to_zero(args: &[&str]) -> bool {
    args.windows(2).any(|w| w[0] == "--replicas" && w[1] == "0")
        || args.contains(&"--replicas=0")
        || args.iter().any(|a| {
            let squeezed: String = a.chars().filter(|c| !c.is_whitespace()).collect();
            squeezed.contains("\"replicas\":0") || squeezed.contains("replicas:0")
        })
}

/// The kubectl verb: the first of these words before `--` (global options and their values
/// come first, in any order).
fn kube_verb<'a>(args: &[&'a str], verbs: &[&str]) -> Option<(&'a str, usize)> {
    args.iter()
        .take_while(|a| **a != "--")
        .position(|a| verbs.contains(a))
        .map(|i| (args[i], i))
}

/// `kubectl debug node/x` (the node's root filesystem and namespaces), `--profile=sysadmin`,
/// and `kubectl run` with a privileged or host-sharing pod spec (`--privileged`,
/// `--overrides='{…"hostPID":true…}'`).
fn kube_host_access(_name: &str, args: &[&str]) -> bool {
    let Some((verb, at)) = kube_verb(args, &["debug", "run"]) else {
        return false;
    };
    let opts: Vec<&str> = args[at + 1..]
        .iter()
        .copied()
        .take_while(|a| *a != "--")
        .collect();
    let value = |flag: &str| {
        opts.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix(flag)
                .and_then(|r| r.strip_prefix('='))
                .or_else(|| (*a == flag).then(|| opts.get(i + 1).copied()).flatten())
        })
    };
    if verb == "debug"
        && (opts
            .iter()
            .any(|a| a.starts_with("node/") || a.starts_with("nodes/"))
            || value("--profile").is_some_and(|p| matches!(p, "sysadmin" | "netadmin")))
    {
        return true;
    }
    if opts.contains(&"--privileged") || opts.contains(&"--privileged=true") {
        return true;
    }
    value("--overrides").is_some_and(|o| {
        let compact: String = o.chars().filter(|c| !c.is_whitespace()).collect();
        [
            "\"privileged\":true",
            "\"hostPID\":true",
            "\"hostNetwork\":true",
            "\"hostIPC\":true",
            "\"hostPath\"",
            "\"allowPrivilegeEscalation\":true",
        ]
        .iter()
        .any(|k| compact.contains(k))
    })
}

/// `kubectl create clusterrolebinding|rolebinding …`: access granted in the cluster.
fn kube_role_binding(_name: &str, args: &[&str]) -> bool {
    let Some((_, at)) = kube_verb(args, &["create"]) else {
        return false;
    };
    args[at + 1..]
        .iter()
        .find(|a| !a.starts_with('-'))
        .is_some_and(|k| matches!(*k, "clusterrolebinding" | "rolebinding"))
        && !args.iter().any(|a| {
            matches!(
                *a,
                "--dry-run" | "--dry-run=client" | "--dry-run=server" | "-h" | "--help"
            )
        })
}

fn container_escape(_name: &str, args: &[&str]) -> bool {
    let runs = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .is_some_and(|sub| matches!(*sub, "run" | "create" | "exec" | "container" | "up"));
    if !runs {
        return false;
    }
    if args.contains(&"--privileged") {
        return true;
    }
    // Flags whose value gives the container the host: (flags, dangerous value).
    type Escape = (&'static [&'static str], fn(&str) -> bool);
    const ESCAPES: &[Escape] = &[
        (
            &["--pid", "--ipc", "--userns", "--uts", "--cgroupns"],
            |v| v == "host",
        ),
        (&["--cap-add"], |v| {
            let v = v.to_ascii_uppercase();
            matches!(
                v.trim_start_matches("CAP_"),
                "ALL" | "SYS_ADMIN" | "SYS_PTRACE" | "SYS_MODULE" | "DAC_READ_SEARCH" | "SYS_RAWIO"
            )
        }),
        (&["--security-opt"], |v| v.contains("unconfined")),
        (&["-v", "--volume", "--mount"], host_mount),
        (&["--device"], |v| {
            ["/dev/sd", "/dev/nvme", "/dev/mem", "/dev/vd", "/dev/disk"]
                .iter()
                .any(|d| v.starts_with(d))
        }),
    ];
    args.iter().enumerate().any(|(i, a)| {
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v)),
            _ => (*a, args.get(i + 1).copied()),
        };
        ESCAPES
            .iter()
            .any(|(flags, bad)| flags.contains(&flag) && value.is_some_and(bad))
    })
}

/// A bind mount of the Docker socket or of a host system directory.
fn host_mount(spec: &str) -> bool {
    let src = if spec.contains("source=") || spec.contains("src=") {
        spec.split(',')
            .find_map(|kv| {
                kv.strip_prefix("source=")
                    .or_else(|| kv.strip_prefix("src="))
            })
            .unwrap_or("")
    } else {
        spec.split(':').next().unwrap_or("")
    };
    let src = src.trim_end_matches('/');
    src.ends_with("docker.sock")
        || src.ends_with("containerd.sock")
        || src.ends_with("podman.sock")
        || src.is_empty() && spec.starts_with('/')
        || matches!(
            src,
            "/etc"
                | "/root"
                | "/boot"
                | "/usr"
                | "/var"
                | "/proc"
                | "/sys"
                | "/dev"
                | "/home"
                | "/bin"
                | "/sbin"
                | "/lib"
                | "/var/run"
                | "/run"
                | "~"
                | "$HOME"
        )
}

fn http_delete(_name: &str, args: &[&str]) -> bool {
    let method = args
        .windows(2)
        .find_map(|w| matches!(w[0], "-X" | "--request" | "--method").then_some(w[1]));
    let method = method.or_else(|| {
        args.iter().find_map(|a| {
            a.strip_prefix("--request=")
                .or_else(|| a.strip_prefix("--method="))
                .or_else(|| a.strip_prefix("-X").filter(|m| !m.is_empty()))
        })
    });
    // httpie/xh: `http DELETE url`.
    let method = method.or_else(|| {
        args.iter()
            .find(|a| !a.starts_with('-'))
            .copied()
            .filter(|a| a.eq_ignore_ascii_case("delete") || a.eq_ignore_ascii_case("purge"))
    });
    let Some(m) = method else { return false };
    if !(m.eq_ignore_ascii_case("delete") || m.eq_ignore_ascii_case("purge")) {
        return false;
    }
    let targets: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| {
            !a.starts_with('-')
                && (a.contains("://") || a.contains(':') || a.contains('.'))
                && !a.eq_ignore_ascii_case(m)
        })
        .collect();
    // A data store on this machine holds data like a remote one does.
    if targets.iter().any(|t| datastore_port(t)) {
        return true;
    }
    let hosts: Vec<String> = targets
        .iter()
        .filter_map(|a| super::exfil::host_of(a))
        .collect();
    hosts.is_empty()
        || hosts.iter().any(|h| {
            !(h == "localhost"
                || h.ends_with(".localhost")
                || h.starts_with("127.")
                || h == "::1"
                || h == "0.0.0.0"
                || h == "host.docker.internal")
        })
}

/// A prompt given on the command line, or the agent's guard switched off.
fn nested_agent(_name: &str, args: &[&str]) -> bool {
    const BYPASS: &[&str] = &[
        "--dangerously-skip-permissions",
        "--dangerously-bypass-approvals-and-sandbox",
        "--yolo",
        "--full-auto",
        "--yes-always",
        "--auto-approve",
        "--allow-all-tools",
        "--permission-mode",
        "--approval-mode",
        "--allowedTools",
        "--allowed-tools",
    ];
    const PROMPT: &[&str] = &[
        "-p",
        "--print",
        "-m",
        "--message",
        "--prompt",
        "-q",
        "--query",
        "-x",
        "--execute",
    ];
    const RUN: &[&str] = &["exec", "e", "run", "chat", "agent", "ask", "prompt"];
    if args.iter().any(|a| {
        BYPASS
            .iter()
            .any(|b| a == b || a.starts_with(&format!("{b}=")))
    }) && !preview(args)
    {
        return true;
    }
    if preview(args) || args.iter().any(|a| matches!(*a, "--version" | "-v" | "-V")) {
        return false;
    }
    args.iter().any(|a| {
        PROMPT.contains(a)
            || PROMPT
                .iter()
                .any(|p| p.starts_with("--") && a.starts_with(&format!("{p}=")))
    }) || args
        .iter()
        .find(|a| !a.starts_with('-'))
        .is_some_and(|s| RUN.contains(s))
}

/// `openclaw plugins disable dashclaw`, `claude config set … hooks`, `hermes hooks remove …`.
fn agent_guard_off(_name: &str, args: &[&str]) -> bool {
    let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let off = lower.iter().any(|a| {
        matches!(
            a.as_str(),
            "disable"
                | "uninstall"
                | "remove"
                | "rm"
                | "delete"
                | "unset"
                | "set"
                | "add"
                | "reset"
                | "--disable"
        )
    });
    let about_guard = lower
        .iter()
        .any(|a| a.contains("dashclaw") || a.contains("hook") || a.contains("disableallhooks"));
    let config = lower.iter().any(|a| {
        matches!(
            a.as_str(),
            "plugins" | "plugin" | "config" | "hooks" | "hook" | "settings"
        )
    });
    off && about_guard && config
}

fn disk_erase(name: &str, args: &[&str]) -> bool {
    let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let has = |s: &str| lower.iter().any(|a| a == s);
    let any_root = || lower.iter().any(|a| drive_root(a));
    match name {
        "diskpart" | "clear-disk" => true,
        "format" | "format-volume" => any_root() || has("-driveletter"),
        "diskutil" => lower.iter().any(|a| {
            matches!(
                a.as_str(),
                "erasedisk"
                    | "erasevolume"
                    | "zerodisk"
                    | "randomdisk"
                    | "secureerase"
                    | "partitiondisk"
                    | "reformat"
                    | "deletecontainer"
                    | "deletevolume"
            )
        }),
        "vssadmin" | "wmic" => has("delete") && (has("shadows") || has("shadowcopy")),
        "wbadmin" => has("delete") && (has("catalog") || has("systemstatebackup") || has("backup")),
        "bcdedit" => has("/delete") || has("/set") || has("/deletevalue"),
        "cipher" => lower.iter().any(|a| a.starts_with("/w")),
        "fsutil" => has("setzerodata") || has("deletejournal"),
        "del" | "erase" | "rd" | "rmdir" => has("/s") && any_root(),
        _ => false,
    }
}

/// `C:`, `C:\`, `c:/*`, `C:\Windows` (bash cooks an unquoted `C:\Windows` to `C:Windows`).
fn drive_root(a: &str) -> bool {
    let b = a.as_bytes();
    if b.len() < 2 || !b[0].is_ascii_alphabetic() || b[1] != b':' {
        return false;
    }
    let rest = a[2..]
        .trim_matches(['\\', '/', '*', '.'])
        .replace('\\', "/");
    rest.is_empty()
        || matches!(
            rest.as_str(),
            "windows"
                | "users"
                | "program files"
                | "programdata"
                | "windows/system32"
                | "windowssystem32"
        )
}

#[cfg(test)]
mod tests {
    use super::check;

    fn id(cmd: &[&str]) -> Option<&'static str> {
        check(cmd[0], &cmd[1..]).map(|(r, _, _)| r.id)
    }

    #[test]
    fn verbs_not_spellings() {
        for c in [
            &["vault", "kv", "delete", "secret/x"][..],
            &["eksctl", "delete", "cluster"],
            &["gcloud", "compute", "instances", "delete", "vm1", "-q"],
            &["az", "group", "delete", "-n", "rg", "--yes"],
            &["heroku", "apps:destroy", "x"],
            &["rake", "db:drop"],
            &["python3", "manage.py", "migrate", "app", "zero"],
            &["npx", "prisma", "migrate", "reset", "--force"],
            &["helm", "rollback", "api", "1"],
            &["cargo", "yank", "--version", "1.0.0"],
            &["kubectl", "apply", "--prune", "-f", "k8s/"],
            &["etcdctl", "del", "", "--prefix"],
        ] {
            assert_eq!(id(c), Some("admin-destroy"), "{c:?}");
        }
        for c in [
            &["kubectl", "get", "pod", "delete-worker"][..],
            &["npm", "uninstall", "lodash"],
            &["cargo", "remove", "serde"],
            &["gh", "pr", "create", "--fill"],
            &["vault", "kv", "get", "secret/x"],
            &["terraform", "plan"],
            &["gcloud", "compute", "instances", "delete", "vm1", "--help"],
            &["rake", "db:migrate"],
        ] {
            assert_eq!(id(c), None, "{c:?}");
        }
    }

    #[test]
    fn forms() {
        assert_eq!(
            id(&["docker", "run", "--pid=host", "alpine"]),
            Some("container-escape")
        );
        assert_eq!(
            id(&["docker", "run", "-v", "/etc:/x", "alpine"]),
            Some("container-escape")
        );
        assert_eq!(id(&["docker", "run", "-v", "./src:/src", "alpine"]), None);
        assert_eq!(
            id(&["curl", "-XDELETE", "https://x.example/a"]),
            Some("http-destroy")
        );
        assert_eq!(
            id(&["http", "DELETE", "api.example.com/x"]),
            Some("http-destroy")
        );
        assert_eq!(id(&["curl", "-X", "DELETE", "localhost:8080/x"]), None);
        // A data store on this machine still holds data.
        assert_eq!(
            id(&["curl", "-X", "DELETE", "localhost:9200/x"]),
            Some("http-destroy")
        );
        assert_eq!(id(&["curl", "-X", "POST", "https://x.example"]), None);
        assert_eq!(
            id(&["codex", "exec", "fix the tests"]),
            Some("nested-agent")
        );
        assert_eq!(
            id(&["openclaw", "plugins", "disable", "dashclaw"]),
            Some("guard-tamper")
        );
        assert_eq!(id(&["openclaw", "plugins", "list"]), None);
        assert_eq!(id(&["format", "c:", "/q"]), Some("disk-erase"));
        assert_eq!(id(&["del", "/q", "buildout.txt"]), None);
        assert_eq!(id(&["diskutil", "list"]), None);
    }
}
