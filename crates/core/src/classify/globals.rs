//! Options that take a value and may come before a CLI's subcommand (`aws --profile prod s3 rm`,
//! `docker --context prod system prune`, `docker compose -f prod.yml down -v`). Readers of a
//! command path drop them with their values first, so the value is never taken for the verb.

/// Program names and their value-taking options (long and short spellings).
const VALUED: &[(&[&str], &[&str])] = &[
    (
        &["aws", "awslocal"],
        &[
            "--profile",
            "--region",
            "--output",
            "--endpoint-url",
            "--query",
            "--ca-bundle",
            "--cli-read-timeout",
            "--cli-connect-timeout",
            "--color",
            "--cli-binary-format",
        ],
    ),
    (
        &["gcloud"],
        &[
            "--project",
            "--account",
            "--configuration",
            "--format",
            "--verbosity",
            "--impersonate-service-account",
            "--billing-project",
            "--zone",
            "--region",
        ],
    ),
    (&["az"], &["--subscription", "--output", "-o", "--query"]),
    (
        &["kubectl", "k", "oc", "kubecolor"],
        &[
            "-n",
            "--namespace",
            "--context",
            "--kubeconfig",
            "--cluster",
            "--user",
            "-o",
            "--output",
            "-l",
            "--selector",
        ],
    ),
    (
        &["helm"],
        &["-n", "--namespace", "--kube-context", "--kubeconfig"],
    ),
    (
        &["docker", "podman", "nerdctl"],
        &[
            "--context",
            "-c",
            "-H",
            "--host",
            "--config",
            "--log-level",
            "-l",
        ],
    ),
    (
        &["docker-compose", "podman-compose"],
        &[
            "-f",
            "--file",
            "-p",
            "--project-name",
            "--env-file",
            "--profile",
            "--project-directory",
        ],
    ),
    (
        &["npm", "pnpm", "yarn"],
        &[
            "--prefix",
            "-C",
            "--dir",
            "--workspace",
            "-w",
            "--registry",
            "--userconfig",
            "--filter",
        ],
    ),
    (
        &["cargo"],
        &[
            "--manifest-path",
            "--config",
            "-Z",
            "--color",
            "-p",
            "--package",
        ],
    ),
    (&["gh", "glab"], &["-R", "--repo"]),
];

/// `args` without `name`'s value-taking options and their values (`--opt=value` forms too).
/// The global options of `name` that take a separate value (empty when it has none listed).
pub(crate) fn valued(name: &str) -> &'static [&'static str] {
    VALUED
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map_or(&[], |(_, opts)| *opts)
}

pub(crate) fn strip<'a>(name: &str, args: &[&'a str]) -> Vec<&'a str> {
    // `docker compose …` takes compose's options after the word (`-f` is a file there, `--force`
    // for `docker rm`).
    if matches!(name, "docker" | "podman" | "nerdctl") {
        if let Some(at) = args.iter().position(|a| *a == "compose") {
            let mut out = strip(name, &args[..at]);
            out.push("compose");
            out.extend(strip("docker-compose", &args[at + 1..]));
            return out;
        }
    }
    let Some((_, opts)) = VALUED.iter().find(|(names, _)| names.contains(&name)) else {
        return args.to_vec();
    };
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if opts.contains(a) {
            i += 2;
            continue;
        }
        if a.split_once('=')
            .is_some_and(|(k, _)| k.starts_with('-') && opts.contains(&k))
        {
            i += 1;
            continue;
        }
        out.push(*a);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn values_are_not_verbs() {
        assert_eq!(
            strip(
                "aws",
                &["--profile", "prod", "s3", "rm", "s3://b", "--recursive"]
            ),
            ["s3", "rm", "s3://b", "--recursive"]
        );
        assert_eq!(
            strip("docker", &["compose", "-f", "prod.yml", "down", "-v"]),
            ["compose", "down", "-v"]
        );
        assert_eq!(strip("aws", &["--region=eu-west-1", "ec2"]), ["ec2"]);
        assert_eq!(strip("ls", &["-l", "x"]), ["-l", "x"]);
        assert_eq!(strip("docker", &["rm", "-f", "web"]), ["rm", "-f", "web"]);
    }
}
