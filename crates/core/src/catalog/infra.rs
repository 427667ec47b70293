//! Containers, clusters, infrastructure as code (family infra), clouds and purchases (cloud),
//! and databases (data).

use super::{
    Family::{Cloud, Data, Infra as F},
    Rule,
};
use crate::event::Verdict::{Block, RequireApproval, Warn};

pub const CONTAINER_DESTROY: Rule = Rule {
    id: "container-destroy",
    family: F,
    verdict: Warn,
    explanation: "Force-removing containers or images.",
    suggestion: "Stop containers and remove them by name once you are sure they are disposable.",
    fires: &["docker rm -f web", "podman rmi -f img"],
    near_misses: &["docker ps -a"],
};
pub const CONTAINER_BULK_DESTROY: Rule = Rule {
    id: "container-bulk-destroy",
    family: F,
    verdict: RequireApproval,
    explanation:
        "Force-removing or stopping every container or image at once (a run-time listing, `system prune -f`, `container prune -f`): stopped containers' filesystems go with them.",
    suggestion:
        "List what would go first (`docker ps -a`), then remove the disposable ones by name.",
    fires: &[
        "docker rm -f $(docker ps -aq)",
        "docker rmi -f $(docker images -q)",
        "docker system prune -af",
        "docker container prune -f",
        "docker stop $(docker ps -q)",
    ],
    near_misses: &[
        "docker rm -f web",
        "docker stop web",
        "docker ps -aq",
    ],
};
pub const DOCKER_PRUNE: Rule = Rule {
    id: "docker-prune",
    family: F,
    verdict: Warn,
    explanation: "`docker … prune` removes every unused image, network or build cache (regenerable; containers and volumes have their own rules).",
    suggestion: "Remove specific containers, images or volumes by name instead.",
    fires: &["docker image prune -a", "docker network prune -f"],
    near_misses: &["docker system df"],
};
pub const VOLUME_DESTROY: Rule = Rule {
    id: "volume-destroy",
    family: F,
    verdict: RequireApproval,
    explanation: "Removing volumes deletes the data they hold.",
    suggestion: "Volumes hold data; back them up and let a human confirm removing them.",
    fires: &[
        "docker volume rm pgdata",
        "docker compose down -v",
        "docker system prune --volumes",
    ],
    near_misses: &["docker volume ls", "docker compose down"],
};
pub const KUBECTL_DELETE: Rule = Rule {
    id: "kubectl-delete",
    family: F,
    verdict: RequireApproval,
    explanation: "`kubectl delete` of a resource (named pods excepted: their controller starts new ones, so that is `container-destroy`), or `drain` of a node.",
    suggestion: "Use `kubectl delete --dry-run=client` to preview, and let a human confirm.",
    fires: &["kubectl delete deploy web", "kubectl delete pods -l app=web", "kubectl drain node-1"],
    near_misses: &[
        "kubectl get pods",
        "kubectl delete pod web-1 --dry-run=client",
        "kubectl delete pod web-1",
    ],
};
pub const KUBECTL_DELETE_BULK: Rule = Rule {
    id: "kubectl-delete-bulk",
    family: F,
    verdict: RequireApproval,
    explanation: "`kubectl delete` of namespaces, nodes, CRDs, volumes, `all`, `--all` or across namespaces (own id, so a policy can make it a block).",
    suggestion: "Delete named resources one at a time; never namespaces or `--all` from an agent.",
    fires: &["kubectl delete namespace prod", "kubectl delete pods --all -A"],
    near_misses: &["kubectl get ns"],
};
pub const HELM_UNINSTALL: Rule = Rule {
    id: "helm-uninstall",
    family: F,
    verdict: RequireApproval,
    explanation: "`helm uninstall` removes a release and its resources.",
    suggestion: "Uninstalling a release removes its resources; let a human confirm.",
    fires: &["helm uninstall web", "helm delete web"],
    near_misses: &["helm list"],
};
pub const TERRAFORM_DESTROY: Rule = Rule {
    id: "terraform-destroy",
    family: F,
    verdict: RequireApproval,
    explanation: "`terraform/tofu/terragrunt destroy`, `apply -destroy`, `state rm/push`, `pulumi destroy`, `cdk destroy` tear down managed infrastructure.",
    suggestion: "Run `terraform plan -destroy` and let a human review it.",
    fires: &["terraform destroy", "tofu apply -destroy", "pulumi destroy", "cdk destroy"],
    near_misses: &["terraform plan", "terraform plan -destroy"],
};
pub const IAC_AUTO_APPROVE: Rule = Rule {
    id: "iac-auto-approve",
    family: F,
    verdict: Block,
    explanation: "A destroy with its confirmation switched off (`-auto-approve`, `--yes`).",
    suggestion: "Run the plan, show it, and let a human apply it; never auto-approve a destroy.",
    fires: &["terraform destroy -auto-approve", "pulumi destroy --yes"],
    near_misses: &["terraform destroy"],
};
pub const IAC_AUTO_APPLY: Rule = Rule {
    id: "iac-auto-apply",
    family: F,
    verdict: RequireApproval,
    explanation: "An apply with its confirmation switched off.",
    suggestion: "Run `plan` first and let a human review the changes before applying.",
    fires: &["terraform apply -auto-approve"],
    near_misses: &["terraform apply"],
};
pub const CLOUD_DELETE: Rule = Rule {
    id: "cloud-delete",
    family: Cloud,
    verdict: RequireApproval,
    explanation:
        "Deleting cloud resources (buckets, instances, databases, projects) with a cloud CLI.",
    suggestion: "Deleting cloud resources needs a human; list what would be removed instead.",
    fires: &[
        "aws s3 rb s3://bucket --force",
        "gcloud projects delete p1",
        "aws ec2 terminate-instances --instance-ids i-1",
    ],
    near_misses: &["aws s3 ls", "gcloud projects list"],
};
pub const SPEND: Rule = Rule {
    id: "spend",
    family: Cloud,
    verdict: RequireApproval,
    explanation: "Buying, paying or subscribing (purchase CLIs and purchase URLs).",
    suggestion: "Purchases and payments need a human; describe what you would buy instead.",
    fires: &[
        "vercel domains buy example.com",
        "stripe charges create --amount 100",
    ],
    near_misses: &["vercel domains ls"],
};
pub const SQL_DROP: Rule = Rule {
    id: "sql-drop",
    family: Data,
    verdict: RequireApproval,
    explanation:
        "`DROP TABLE/DATABASE/SCHEMA/…` or Mongo `dropDatabase()` through a database client.",
    suggestion:
        "Dropping tables or databases needs a human; prefer a migration that can be reviewed.",
    fires: &[
        "python3 -c \"import sqlite3; sqlite3.connect('app.db').execute('DROP TABLE users')\"",
        "psql -c 'DROP DATABASE prod'",
        "mysql -e 'drop table users'",
    ],
    near_misses: &[
        "psql -c 'SELECT 1'",
        "python3 -c \"print('DROP TABLE users')\"",
    ],
};
pub const SQL_DESTRUCTIVE: Rule = Rule {
    id: "sql-destructive",
    family: Data,
    verdict: RequireApproval,
    explanation: "`TRUNCATE`, `DELETE`/`UPDATE` without `WHERE`, `deleteMany({})`, `FLUSHALL`.",
    suggestion: "Add a WHERE clause or back the data up; bulk deletes need a human.",
    fires: &[
        "psql -c 'DELETE FROM users'",
        "redis-cli FLUSHALL",
        "redis-cli --scan --pattern 'sess:*' | xargs redis-cli DEL",
        "redis-cli -h cache CONFIG SET dir /root/.ssh",
    ],
    near_misses: &[
        "psql -c 'DELETE FROM users WHERE id = 1'",
        "redis-cli GET k",
        "redis-cli DEL session:42",
        "redis-cli -h shutdown GET debug",
    ],
};

pub const INFRA_RULES: &[Rule] = &[
    CONTAINER_DESTROY,
    CONTAINER_BULK_DESTROY,
    DOCKER_PRUNE,
    VOLUME_DESTROY,
    KUBECTL_DELETE,
    KUBECTL_DELETE_BULK,
    HELM_UNINSTALL,
    TERRAFORM_DESTROY,
    IAC_AUTO_APPROVE,
    IAC_AUTO_APPLY,
    CLOUD_DELETE,
    SPEND,
    SQL_DROP,
    SQL_DESTRUCTIVE,
];
