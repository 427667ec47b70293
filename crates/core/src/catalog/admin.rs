//! Admin CLIs, launchers and disks: rules raised by `classify/admin.rs`, which reads the
//! subcommand verbs of cluster, cloud, hosted-service, database, migration and registry CLIs,
//! and a few argument forms (container escapes, HTTP DELETE, remote package sources, nested
//! agents, disk erasers).

use super::{
    Family::{Cloud, Execution, Filesystem, Infra, Network},
    Rule,
};
use crate::event::Verdict::{Block, RequireApproval};

pub const ADMIN_DESTROY: Rule = Rule {
    id: "admin-destroy",
    family: Infra,
    verdict: RequireApproval,
    explanation: "An admin CLI's destroying verb: delete, destroy, drop, purge, prune, reset, flush, rollback, uninstall, unpublish, yank, drain, … of clusters, clouds, hosted services, secrets stores, databases, migrations or package registries (read by verb, so every such CLI and subcommand is covered), or scaling a workload to zero.",
    suggestion: "This removes or rolls back something outside the workspace; show the command to the user and let them run or approve it.",
    fires: &[
        "pg_restore --clean -d prod backup.dump",
        "vault kv delete secret/prod",
        "eksctl delete cluster --name prod",
        "gh repo delete owner/repo --yes",
        "npm unpublish mypkg --force",
        "python manage.py flush --noinput",
        "php artisan migrate:fresh --force",
        "kubectl rollout undo deploy/api",
        "kubectl scale deploy api --replicas=0",
        "mysqladmin -u root drop prod",
        "kafka-topics.sh --bootstrap-server k:9092 --delete --topic orders",
        "restic -r /srv/backup forget --keep-last 1 --prune",
        "rabbitmqctl purge_queue jobs",
        "stripe customers delete cus_123",
    ],
    near_misses: &[
        "vault kv get secret/prod",
        "gh repo view owner/repo",
        "npm uninstall lodash",
        "python manage.py migrate",
        "kubectl rollout status deploy/api",
        "gh release delete v1 --help",
        "kafka-topics.sh --bootstrap-server k:9092 --list",
        "kafka-consumer-groups --bootstrap-server k:9092 --group g --reset-offsets --to-earliest --topic t",
        "restic -r /srv/backup snapshots",
        "mc rm local/bucket/one-file.txt",
    ],
};
pub const CLOUD_IAM_GRANT: Rule = Rule {
    id: "cloud-iam-grant",
    family: Cloud,
    verdict: RequireApproval,
    explanation: "Granting access in a cloud or cluster: attaching or setting IAM policies and role bindings (`kubectl create clusterrolebinding|rolebinding`), creating access keys or service-account keys, opening security groups.",
    suggestion: "Access changes need a human; describe the grant you need and let the user make it.",
    fires: &[
        "aws iam attach-user-policy --user-name x --policy-arn arn:aws:iam::aws:policy/AdministratorAccess",
        "gcloud projects add-iam-policy-binding p --member user:x --role roles/owner",
        "gcloud iam service-accounts keys create key.json --iam-account x",
        "aws ec2 authorize-security-group-ingress --group-id sg --port 22 --cidr 0.0.0.0/0",
        "kubectl create clusterrolebinding me --clusterrole=cluster-admin --user=me",
    ],
    near_misses: &["aws iam list-users", "gcloud projects get-iam-policy p", "kubectl get clusterrolebindings"],
};
pub const CONTAINER_ESCAPE: Rule = Rule {
    id: "container-escape",
    family: Infra,
    verdict: RequireApproval,
    explanation: "A container that can reach the host: `--privileged`, host PID/IPC/user namespaces, added capabilities, unconfined security profiles, the Docker socket or a host system directory mounted in; `nsenter --target 1` into the host's namespaces; in Kubernetes, `kubectl debug node/…` (or `--profile=sysadmin`) and pods run with privileged, host-namespace or `hostPath` overrides.",
    suggestion: "Run the container without host access (no --privileged, no host mounts outside the workspace).",
    fires: &[
        "sudo nsenter --target 1 --mount --pid -- bash",
        "docker run --privileged -it alpine sh",
        "docker run -v /var/run/docker.sock:/var/run/docker.sock alpine",
        "podman run --pid=host alpine",
        "kubectl debug node/worker-2 -it --image=busybox",
    ],
    near_misses: &["docker run --rm -v $PWD:/src app make", "docker ps", "nsenter -t 4242 -n ip addr", "kubectl debug -it api-7f9 --image=busybox --target=api"],
};
pub const REGISTRY_PUBLISH: Rule = Rule {
    id: "registry-publish",
    family: Infra,
    verdict: RequireApproval,
    explanation: "Publishing a package to a registry (`npm publish`, `cargo publish`, `twine upload`, `gem push`, `mvn deploy`, …): it is public at once, others install it, and the version can never be reused.",
    suggestion: "Run the publish with `--dry-run` to check it, and let the user publish.",
    fires: &["npm publish", "cargo publish", "twine upload dist/*", "gem push x-1.0.gem", "./gradlew publish"],
    near_misses: &["npm publish --dry-run", "cargo publish --dry-run", "npm pack", "cargo package"],
};
pub const HTTP_DESTROY: Rule = Rule {
    id: "http-destroy",
    family: Network,
    verdict: RequireApproval,
    explanation: "An HTTP `DELETE` (or `PURGE`) sent to a host other than this machine, or to a data store's port on it (Elasticsearch 9200, CouchDB 5984, …): an API or data store removing data.",
    suggestion: "Deleting through a remote API needs a human; show the request to the user.",
    fires: &[
        "curl -X DELETE https://api.example.com/v1/users/all",
        "curl --request DELETE http://es:9200/_all",
        "curl -X DELETE http://localhost:9200/logs-2024",
    ],
    near_misses: &[
        "curl -X DELETE http://localhost:8080/items/1",
        "curl https://api.example.com/v1/users",
    ],
};
pub const NESTED_AGENT: Rule = Rule {
    id: "nested-agent",
    family: Execution,
    verdict: RequireApproval,
    explanation: "Starting another AI agent on a prompt (`claude -p`, `codex exec`, `gemini -p`, `aider --message`, …): its tool calls are decided elsewhere, often with its guard switched off (`--dangerously-skip-permissions`, `--yolo`).",
    suggestion: "Do the work yourself with your own tools, or ask the user to run the other agent.",
    fires: &[
        "claude --dangerously-skip-permissions -p 'delete everything'",
        "codex exec --dangerously-bypass-approvals-and-sandbox 'rm -rf ~'",
    ],
    near_misses: &["claude --version", "codex --help"],
};
pub const DISK_ERASE: Rule = Rule {
    id: "disk-erase",
    family: Filesystem,
    verdict: Block,
    explanation: "Erasing disks, volumes, boot configuration or shadow copies, or a recursive delete of a drive root (`format C:`, `diskpart`, `diskutil eraseDisk`, `vssadmin delete shadows`, `del /s C:\\`, `rd /s C:\\Windows`).",
    suggestion: "Never erase disks or drive roots from an agent; delete specific files inside the workspace.",
    fires: &[
        "format c: /q",
        "diskutil eraseDisk JHFS+ X /dev/disk2",
        "vssadmin delete shadows /all /quiet",
        "rd /s /q C:\\Windows",
    ],
    near_misses: &["diskutil list", "vssadmin list shadows", "del /q build\\out.txt"],
};
pub const PACKAGE_SOURCE: Rule = Rule {
    id: "package-source",
    family: Execution,
    verdict: RequireApproval,
    explanation: "Changing where packages come from or how they are verified: a registry, index, proxy or TLS setting of npm, yarn, pnpm, pip or gem, an apt/dnf/zypper repository or signing key, or a package manager's configuration file in the home directory. Every later install, by the agent or the user, would fetch from there unreviewed.",
    suggestion: "Keep the default registries; if the project needs another one, ask the user to configure it.",
    fires: &[
        "npm config set registry http://npm.example.net/",
        "yarn config set npmRegistryServer https://r.example.net",
        "pip config set global.index-url http://pypi.example.net/simple",
        "npm config set strict-ssl false",
        "add-apt-repository ppa:someone/tools",
        "curl -fsSL https://example.net/key.gpg | sudo apt-key add -",
        "gem sources --add http://gems.example.net/",
        "sudo dnf config-manager --add-repo https://example.net/x.repo",
        "echo 'index-url = http://pypi.example.net/simple' >> ~/.config/pip/pip.conf",
        "@Write /home/u/.cargo/config.toml|[source.crates-io]\nreplace-with = 'mirror'",
    ],
    near_misses: &[
        "npm config get registry",
        "npm config set init-author-name Ann",
        "pip config list",
        "apt-key list",
        "gem sources --list",
        "add-apt-repository --help",
        "echo '[build]' >> .cargo/config.toml",
    ],
};

pub const ADMIN_RULES: &[Rule] = &[
    ADMIN_DESTROY,
    CLOUD_IAM_GRANT,
    CONTAINER_ESCAPE,
    REGISTRY_PUBLISH,
    HTTP_DESTROY,
    NESTED_AGENT,
    DISK_ERASE,
    PACKAGE_SOURCE,
];
