//! Coverage floor: every rule of gitleaks' default configuration has a rule of ours for the
//! same credential format (our own regex, samples and look-alikes live in `src/redact/rules.rs`
//! and are exercised by `redact_corpus.rs`). Only the rule ids are listed here, as a checklist;
//! the mapping says which of our rules finds that format. `generic-secret` stands for the
//! assignment detector, which finds keyed formats under any name containing a secret word.

use std::collections::BTreeSet;

use dashclaw_sidecar::redact::default_engine;

/// (gitleaks rule id, our rule ids that cover its format).
const PARITY: &[(&str, &[&str])] = &[
    ("1password-secret-key", &["onepassword-secret-key"]),
    (
        "1password-service-account-token",
        &["onepassword-service-account-token"],
    ),
    ("adafruit-api-key", &["adafruit-api-key", "adafruit-io-key"]),
    ("adobe-client-id", &["adobe-client-id"]),
    ("adobe-client-secret", &["adobe-client-secret"]),
    ("age-secret-key", &["age-secret-key"]),
    ("airtable-api-key", &["airtable-token"]),
    ("algolia-api-key", &["algolia-admin-key"]),
    ("alibaba-access-key-id", &["alibaba-access-key-id"]),
    ("alibaba-secret-key", &["alibaba-secret-key"]),
    ("anthropic-admin-api-key", &["anthropic-admin-key"]),
    ("anthropic-api-key", &["anthropic-api-key"]),
    ("artifactory-api-key", &["jfrog-api-key"]),
    ("artifactory-reference-token", &["jfrog-identity-token"]),
    ("asana-client-id", &["asana-client-secret"]),
    ("asana-client-secret", &["asana-client-secret"]),
    (
        "atlassian-api-token",
        &[
            "atlassian-api-token",
            "atlassian-token-keyed",
            "confluence-token",
            "jira-api-token",
        ],
    ),
    (
        "authress-service-client-access-key",
        &["authress-access-key"],
    ),
    ("aws-access-token", &["aws-access-key-id"]),
    ("azure-ad-client-secret", &["azure-ad-client-secret"]),
    ("beamer-api-token", &["beamer-api-token"]),
    ("bitbucket-client-id", &["bitbucket-client-secret"]),
    ("bitbucket-client-secret", &["bitbucket-client-secret"]),
    ("bittrex-access-key", &["bittrex-key"]),
    ("bittrex-secret-key", &["bittrex-key"]),
    ("cisco-meraki-api-key", &["cisco-meraki-api-key"]),
    (
        "clickhouse-cloud-api-secret-key",
        &["clickhouse-cloud-secret"],
    ),
    ("clojars-api-token", &["clojars-token"]),
    ("cloudflare-api-key", &["cloudflare-api-token"]),
    ("cloudflare-global-api-key", &["cloudflare-api-token"]),
    ("cloudflare-origin-ca-key", &["cloudflare-origin-ca-key"]),
    ("codecov-access-token", &["codecov-token", "generic-secret"]),
    ("cohere-api-token", &["cohere-api-key"]),
    ("coinbase-access-token", &["coinbase-api-secret"]),
    ("confluent-access-token", &["confluent-key"]),
    ("confluent-secret-key", &["confluent-key"]),
    (
        "contentful-delivery-api-token",
        &["contentful-delivery-token"],
    ),
    (
        "curl-auth-header",
        &["curl-header-credential", "authorization-header"],
    ),
    ("curl-auth-user", &["curl-user-password"]),
    ("database-password", &["generic-secret", "odbc-password"]),
    ("databricks-api-token", &["databricks-token"]),
    (
        "datadog-access-token",
        &["datadog-access-token", "datadog-api-key"],
    ),
    (
        "defined-networking-api-token",
        &["defined-networking-token"],
    ),
    ("digitalocean-access-token", &["digitalocean-oauth-token"]),
    ("digitalocean-pat", &["digitalocean-pat"]),
    (
        "digitalocean-refresh-token",
        &["digitalocean-refresh-token"],
    ),
    ("discord-api-token", &["discord-client-secret"]),
    ("discord-client-id", &["discord-client-secret"]),
    ("discord-client-secret", &["discord-client-secret"]),
    ("doppler-api-token", &["doppler-token"]),
    ("droneci-access-token", &["drone-token"]),
    ("dropbox-api-token", &["dropbox-api-token"]),
    (
        "dropbox-long-lived-api-token",
        &["dropbox-long-lived-token"],
    ),
    (
        "dropbox-short-lived-api-token",
        &["dropbox-token", "dropbox-api-token"],
    ),
    ("duffel-api-token", &["duffel-api-token"]),
    ("dynatrace-api-token", &["dynatrace-token"]),
    ("easypost-api-token", &["easypost-api-key"]),
    ("easypost-test-api-token", &["easypost-test-api-key"]),
    ("etsy-access-token", &["etsy-access-token"]),
    ("facebook-access-token", &["facebook-app-token"]),
    ("facebook-page-access-token", &["facebook-access-token"]),
    ("facebook-secret", &["facebook-app-secret"]),
    ("fastly-api-token", &["fastly-api-token"]),
    ("finicity-api-token", &["finicity-key"]),
    ("finicity-client-secret", &["finicity-key"]),
    ("finnhub-access-token", &["finnhub-token"]),
    ("flickr-access-token", &["flickr-token"]),
    (
        "flutterwave-encryption-key",
        &["flutterwave-encryption-key"],
    ),
    ("flutterwave-public-key", &["flutterwave-public-key"]),
    ("flutterwave-secret-key", &["flutterwave-secret-key"]),
    ("flyio-access-token", &["fly-io-org-token", "fly-io-token"]),
    ("frameio-api-token", &["frameio-token"]),
    ("freemius-secret-key", &["generic-secret"]),
    ("freshbooks-access-token", &["freshbooks-token"]),
    ("gcp-api-key", &["google-api-key"]),
    ("generic-api-key", &["generic-secret"]),
    (
        "github-app-token",
        &[
            "github-user-to-server-token",
            "github-server-to-server-token",
        ],
    ),
    ("github-fine-grained-pat", &["github-fine-grained-pat"]),
    ("github-oauth", &["github-oauth-token"]),
    ("github-pat", &["github-pat"]),
    ("github-refresh-token", &["github-refresh-token"]),
    ("gitlab-cicd-job-token", &["gitlab-ci-job-token"]),
    ("gitlab-deploy-token", &["gitlab-deploy-token"]),
    (
        "gitlab-feature-flag-client-token",
        &["gitlab-feature-flag-token"],
    ),
    ("gitlab-feed-token", &["gitlab-feed-token"]),
    (
        "gitlab-incoming-mail-token",
        &["gitlab-incoming-mail-token"],
    ),
    (
        "gitlab-kubernetes-agent-token",
        &["gitlab-kubernetes-agent-token"],
    ),
    ("gitlab-oauth-app-secret", &["gitlab-oauth-app-secret"]),
    ("gitlab-pat", &["gitlab-pat"]),
    ("gitlab-pat-routable", &["gitlab-pat"]),
    ("gitlab-ptt", &["gitlab-pipeline-trigger-token"]),
    ("gitlab-rrt", &["gitlab-runner-registration-token"]),
    (
        "gitlab-runner-authentication-token",
        &["gitlab-runner-auth-token"],
    ),
    (
        "gitlab-runner-authentication-token-routable",
        &["gitlab-runner-auth-token"],
    ),
    ("gitlab-scim-token", &["gitlab-scim-token"]),
    ("gitlab-session-cookie", &["session-cookie"]),
    ("gitter-access-token", &["gitter-token"]),
    ("gocardless-api-token", &["gocardless-token"]),
    ("grafana-api-key", &["grafana-api-key"]),
    ("grafana-cloud-api-token", &["grafana-cloud-token"]),
    (
        "grafana-service-account-token",
        &["grafana-service-account-token"],
    ),
    ("harness-api-key", &["harness-pat"]),
    ("hashicorp-tf-api-token", &["terraform-cloud-token"]),
    ("hashicorp-tf-password", &["generic-secret"]),
    ("heroku-api-key", &["heroku-api-key"]),
    ("heroku-api-key-v2", &["heroku-api-key-v2"]),
    ("hubspot-api-key", &["hubspot-api-key"]),
    ("huggingface-access-token", &["huggingface-token"]),
    (
        "huggingface-organization-api-token",
        &["huggingface-org-token"],
    ),
    ("infracost-api-token", &["infracost-api-token"]),
    ("intercom-api-key", &["intercom-token"]),
    ("intra42-client-secret", &["intra42-client-secret"]),
    ("jfrog-api-key", &["jfrog-keyed-token"]),
    ("jfrog-identity-token", &["jfrog-keyed-token"]),
    ("jwt", &["jwt"]),
    ("jwt-base64", &["jwt-base64"]),
    ("kraken-access-token", &["kraken-api-secret"]),
    ("kubernetes-secret-yaml", &["kubernetes-secret-data"]),
    ("kucoin-access-token", &["kucoin-access-token"]),
    ("kucoin-secret-key", &["kucoin-api-secret"]),
    (
        "launchdarkly-access-token",
        &["launchdarkly-token", "launchdarkly-key"],
    ),
    ("linear-api-key", &["linear-api-key"]),
    ("linear-client-secret", &["linear-client-secret"]),
    ("linkedin-client-id", &["linkedin-client-key"]),
    (
        "linkedin-client-secret",
        &["linkedin-client-key", "linkedin-client-secret"],
    ),
    ("lob-api-key", &["lob-api-key"]),
    ("lob-pub-api-key", &["lob-pub-api-key"]),
    ("looker-client-id", &["looker-client-secret"]),
    ("looker-client-secret", &["looker-client-secret"]),
    ("mailchimp-api-key", &["mailchimp-api-key"]),
    ("mailgun-private-api-token", &["mailgun-api-key"]),
    ("mailgun-pub-key", &["mailgun-pub-key"]),
    ("mailgun-signing-key", &["mailgun-signing-key"]),
    (
        "mapbox-api-token",
        &["mapbox-api-token", "mapbox-secret-token"],
    ),
    ("mattermost-access-token", &["mattermost-token"]),
    ("maxmind-license-key", &["maxmind-license-key"]),
    (
        "messagebird-api-token",
        &["messagebird-api-key", "message-bird-token"],
    ),
    (
        "messagebird-client-id",
        &["message-bird-token", "generic-secret"],
    ),
    ("microsoft-teams-webhook", &["teams-webhook"]),
    ("netlify-access-token", &["netlify-token"]),
    ("new-relic-browser-api-token", &["newrelic-browser-key"]),
    ("new-relic-insert-key", &["newrelic-insert-key"]),
    (
        "new-relic-user-api-id",
        &["new-relic-user-api-id", "newrelic-license-key"],
    ),
    ("new-relic-user-api-key", &["newrelic-user-api-key"]),
    ("notion-api-token", &["notion-token"]),
    ("npm-access-token", &["npm-token"]),
    ("nuget-config-password", &["nuget-config-password"]),
    ("nytimes-access-token", &["nytimes-access-token"]),
    ("octopus-deploy-api-key", &["octopus-deploy-api-key"]),
    ("okta-access-token", &["okta-api-token"]),
    (
        "openai-api-key",
        &[
            "openai-api-key",
            "openai-project-key",
            "openai-service-account-key",
            "openai-admin-key",
        ],
    ),
    ("openshift-user-token", &["openshift-user-token"]),
    ("perplexity-api-key", &["perplexity-api-key"]),
    ("plaid-api-token", &["plaid-access-token"]),
    ("plaid-client-id", &["plaid-client-id"]),
    ("plaid-secret-key", &["plaid-secret"]),
    ("planetscale-api-token", &["planetscale-token"]),
    ("planetscale-oauth-token", &["planetscale-oauth-token"]),
    ("planetscale-password", &["planetscale-password"]),
    ("postman-api-token", &["postman-api-key"]),
    ("prefect-api-token", &["prefect-api-key"]),
    (
        "private-key",
        &[
            "private-key",
            "openssh-private-key",
            "pgp-private-key-block",
        ],
    ),
    ("privateai-api-token", &["privateai-api-token"]),
    ("pulumi-api-token", &["pulumi-token"]),
    ("pypi-upload-token", &["pypi-token"]),
    ("rapidapi-access-token", &["rapidapi-access-token"]),
    ("readme-api-token", &["readme-api-key"]),
    ("rubygems-api-token", &["rubygems-api-key"]),
    ("scalingo-api-token", &["scalingo-token"]),
    ("sendbird-access-id", &["sendbird-token"]),
    ("sendbird-access-token", &["sendbird-token"]),
    ("sendgrid-api-token", &["sendgrid-api-key"]),
    ("sendinblue-api-token", &["brevo-api-key"]),
    ("sentry-access-token", &["sentry-auth-token"]),
    ("sentry-org-token", &["sentry-org-token"]),
    ("sentry-user-token", &["sentry-user-token"]),
    ("settlemint-application-access-token", &["settlemint-token"]),
    ("settlemint-personal-access-token", &["settlemint-token"]),
    ("settlemint-service-access-token", &["settlemint-token"]),
    ("shippo-api-token", &["shippo-api-token"]),
    ("shopify-access-token", &["shopify-access-token"]),
    ("shopify-custom-access-token", &["shopify-custom-app-token"]),
    (
        "shopify-private-app-access-token",
        &["shopify-private-app-token"],
    ),
    ("shopify-shared-secret", &["shopify-shared-secret"]),
    ("sidekiq-secret", &["sidekiq-credentials"]),
    ("sidekiq-sensitive-url", &["url-password"]),
    ("slack-app-token", &["slack-app-token"]),
    ("slack-bot-token", &["slack-bot-token"]),
    ("slack-config-access-token", &["slack-config-token"]),
    ("slack-config-refresh-token", &["slack-refresh-token"]),
    ("slack-legacy-bot-token", &["slack-bot-token"]),
    ("slack-legacy-token", &["slack-legacy-token"]),
    ("slack-legacy-workspace-token", &["slack-legacy-token"]),
    ("slack-user-token", &["slack-user-token"]),
    ("slack-webhook-url", &["slack-webhook"]),
    ("snyk-api-token", &["snyk-token"]),
    (
        "sonar-api-token",
        &["sonarqube-legacy-token", "sonarqube-token"],
    ),
    (
        "sourcegraph-access-token",
        &["sourcegraph-token", "sourcegraph-legacy-token"],
    ),
    (
        "square-access-token",
        &["square-access-token", "square-legacy-access-token"],
    ),
    ("squarespace-access-token", &["squarespace-access-token"]),
    (
        "stripe-access-token",
        &[
            "stripe-secret-key",
            "stripe-test-secret-key",
            "stripe-restricted-key",
        ],
    ),
    ("sumologic-access-id", &["sumologic-access-key"]),
    ("sumologic-access-token", &["sumologic-access-key"]),
    (
        "telegram-bot-api-token",
        &["telegram-bot-token-keyed", "telegram-bot-token"],
    ),
    ("travisci-access-token", &["travis-token"]),
    ("twilio-api-key", &["twilio-api-key-sid", "twilio-api-key"]),
    ("twitch-api-token", &["twitch-token"]),
    (
        "twitter-access-secret",
        &["twitter-access-token", "twitter-api-secret"],
    ),
    ("twitter-access-token", &["twitter-access-token"]),
    ("twitter-api-key", &["twitter-access-token"]),
    (
        "twitter-api-secret",
        &["twitter-api-secret", "twitter-access-token"],
    ),
    ("twitter-bearer-token", &["twitter-bearer-token"]),
    ("typeform-api-token", &["typeform-token"]),
    ("vault-batch-token", &["vault-batch-token"]),
    (
        "vault-service-token",
        &["vault-service-token", "vault-legacy-token"],
    ),
    (
        "yandex-access-token",
        &["yandex-iam-token", "yandex-aws-access-token"],
    ),
    (
        "yandex-api-key",
        &["yandex-api-key", "yandex-aws-access-token"],
    ),
    ("yandex-aws-access-token", &["yandex-aws-access-token"]),
    ("zendesk-secret-key", &["zendesk-token"]),
    // Newer upstream rules.
    ("castai-api-key", &["castai-api-key"]),
    ("chieftools-pat", &["chieftools-token"]),
    ("chieftools-access-token", &["chieftools-token"]),
    ("chieftools-refresh-token", &["chieftools-token"]),
    (
        "django-insecure-secret-key",
        &["django-insecure-secret-key"],
    ),
    ("datafactory-shir-token", &["datafactory-shir-key"]),
    ("ansible-vault-token", &["ansible-vault-payload"]),
    ("mcp-server-credential", &["generic-secret"]),
    ("groq-api-key", &["groq-api-key"]),
    ("langsmith-api-key", &["langsmith-api-key"]),
];

/// gitleaks rules that match files by name only (no content format to redact).
const PATH_ONLY: &[&str] = &["pkcs12-file"];

#[test]
fn every_gitleaks_rule_has_a_rule_of_ours() {
    let ours: BTreeSet<String> = default_engine().rules().into_iter().map(|r| r.id).collect();
    let mut missing = Vec::new();
    for (theirs, mapped) in PARITY {
        for id in *mapped {
            if !ours.contains(*id) {
                missing.push(format!("{theirs} -> {id}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "mapped to rules that do not exist:\n{}",
        missing.join("\n")
    );
    let ids: BTreeSet<&str> = PARITY.iter().map(|(t, _)| *t).collect();
    assert_eq!(ids.len(), PARITY.len(), "duplicate gitleaks id");
    println!(
        "{} gitleaks formats covered ({} path-only rules have no content format); {} rules of ours",
        PARITY.len(),
        PATH_ONLY.len(),
        ours.len()
    );
}
