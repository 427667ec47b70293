//! The built-in rule catalogue.
//!
//! Every pattern starts with one of its keywords (matched ASCII-case-insensitively), so the
//! engine can run it as an anchored search at the keyword hit; the few formats whose fixed part
//! is in the middle set `lead`, the most bytes a match may start before its keyword. Patterns
//! are bytes regexes with Unicode off. A capture group whose name starts with `s` is the secret
//! (only it is replaced); without one the whole match is.
//!
//! `sample` is a test template: `«…»` surrounds the secret and `{c:n}` stands for `n` generated
//! characters of class `c` (see `tests/redact_corpus.rs`); keys are generated at test time so that
//! no real-looking credential is committed. `near` is an optional near miss the rule must not
//! report (the tests also derive truncated and `xxxx` variants of every sample).

/// Extra validation after the regex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Entropy floor and placeholder allowlist only.
    Plain,
    /// `key = value` assignments: also length and "is this code?" heuristics.
    Generic,
    /// Key material blocks: no placeholder allowlist (random base64 may contain anything).
    NoPlaceholders,
    /// Header credentials: must look random, not like a word.
    Token,
}

pub(crate) struct Builtin {
    pub id: &'static str,
    pub family: &'static str,
    pub description: &'static str,
    pub keywords: &'static [&'static str],
    pub pattern: &'static str,
    pub entropy: f32,
    pub check: Check,
    pub lead: usize,
    pub max_len: usize,
    pub allow: &'static [&'static str],
    pub sample: &'static str,
    pub near: &'static str,
}

impl Builtin {
    const fn new(
        id: &'static str,
        family: &'static str,
        description: &'static str,
        keywords: &'static [&'static str],
        pattern: &'static str,
        sample: &'static str,
    ) -> Self {
        Builtin {
            id,
            family,
            description,
            keywords,
            pattern,
            entropy: 0.0,
            check: Check::Plain,
            lead: 0,
            max_len: 1024,
            allow: &[],
            sample,
            near: "",
        }
    }
    const fn ent(mut self, bits: f32) -> Self {
        self.entropy = bits;
        self
    }
    const fn lead(mut self, bytes: usize) -> Self {
        self.lead = bytes;
        self
    }
    const fn max(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }
    const fn check(mut self, check: Check) -> Self {
        self.check = check;
        self
    }
    const fn near(mut self, near: &'static str) -> Self {
        self.near = near;
        self
    }
}

/// A token with a distinctive prefix; the whole match is the secret.
macro_rules! tok {
    ($id:literal, $fam:literal, $desc:literal, [$($kw:literal),+], $re:expr, $sample:literal) => {
        Builtin::new($id, $fam, $desc, &[$($kw),+], concat!(r"\b", $re), $sample)
    };
}

/// Any pattern (must start with a keyword unless `lead` is set).
macro_rules! raw {
    ($id:literal, $fam:literal, $desc:literal, [$($kw:literal),+], $re:expr, $sample:literal) => {
        Builtin::new($id, $fam, $desc, &[$($kw),+], $re, $sample)
    };
}

/// `key = value` separator: optional closing quote (maybe JSON-escaped), `=`, `:`, `:=` or `=>`,
/// optional opening quote.
macro_rules! assign {
    () => {
        r#"(?:\\?["'])?[ \t]{0,4}(?::=|=>|=|:)[ \t]{0,4}(?:\\?["'`])?"#
    };
}

/// A provider's name, then a key-ish word in the same identifier (`HEROKU_API_KEY`,
/// `heroku.token`), an assignment, and a value of the provider's shape.
macro_rules! keyed {
    ($id:literal, $fam:literal, $desc:literal, $kw:literal, $val:expr, $gen:literal) => {
        Builtin::new(
            $id,
            $fam,
            $desc,
            &[$kw],
            concat!(
                "(?i)",
                $kw,
                r"[\w.\-]{0,24}?(?:key|token|secret|pass|pwd|auth|cred|api|pat|sid|access|private)",
                r"[\w.\-]{0,12}?",
                assign!(),
                "(?P<s>(?-i:",
                $val,
                r"))(?:[^A-Za-z0-9_+/=\-]|\z)"
            ),
            concat!($kw, "_api_key = \"«", $gen, "»\""),
        )
        .ent(2.8)
    };
}

macro_rules! uuid {
    () => {
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    };
}

/// Body of a private key block: base64, armour headers, whitespace and JSON-escaped newlines,
/// with at least one 32-character base64 run so that `-----BEGIN … KEY-----\n...` in docs and
/// code is left alone. It stops before a `-----END` line, which the caller matches.
macro_rules! key_body {
    () => {
        concat!(
            r"(?:[A-Za-z0-9+/=\s\\:,.]|-[^-])*?[A-Za-z0-9+/]{32}",
            r"(?:[A-Za-z0-9+/=\s\\:,.]|-[^-])*"
        )
    };
}

/// Scheme-specific connection string: the password between `user:` and `@`.
macro_rules! uri {
    ($id:literal, $desc:literal, [$($kw:literal),+], $scheme:literal, $sample:literal) => {
        Builtin::new(
            $id,
            "database",
            $desc,
            &[$($kw),+],
            concat!(
                "(?i:", $scheme, r")://[^\s:/?#@\[\]\x22'<>]*:(?P<s>[^\s/?#@\x22'<>]+)@"
            ),
            $sample,
        )
    };
}

pub(crate) static BUILTINS: &[Builtin] = &[
    // ---------------------------------------------------------------- private keys
    raw!("private-key", "private-key", "PEM private key block (RSA, EC, DSA, PKCS#8, encrypted)",
        ["-----begin"],
        concat!(r"-----BEGIN (?:(?:RSA|EC|DSA|ENCRYPTED|ANY) )?PRIVATE KEY-----", key_body!(),
            r"(?:-----END (?:(?:RSA|EC|DSA|ENCRYPTED|ANY) )?PRIVATE KEY-----)?"),
        "key file:\n«-----BEGIN RSA PRIVATE KEY-----\n{b:64}\n{b:64}\n{b:64}\n{b:20}==\n-----END RSA PRIVATE KEY-----»\nnext")
        .check(Check::NoPlaceholders).max(65536)
        .near("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----"),
    raw!("openssh-private-key", "private-key", "OpenSSH private key block",
        ["-----begin"],
        concat!(r"-----BEGIN OPENSSH PRIVATE KEY-----", key_body!(), r"(?:-----END OPENSSH PRIVATE KEY-----)?"),
        "«-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA{b:40}\n{b:70}\n{b:70}\n-----END OPENSSH PRIVATE KEY-----»")
        .check(Check::NoPlaceholders).max(65536)
        .near("const HEADER: &str = \"-----BEGIN OPENSSH PRIVATE KEY-----\";"),
    raw!("pgp-private-key-block", "private-key", "OpenPGP armoured private key block",
        ["-----begin"],
        concat!(r"-----BEGIN PGP PRIVATE KEY BLOCK-----", key_body!(), r"(?:-----END PGP PRIVATE KEY BLOCK-----)?"),
        "«-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBG{b:58}\n{b:64}\n{b:64}\n={b:4}\n-----END PGP PRIVATE KEY BLOCK-----»")
        .check(Check::NoPlaceholders).max(65536)
        .near("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGRhbGxv{b:50}\n-----END PGP PUBLIC KEY BLOCK-----"),
    raw!("ssh2-private-key", "private-key", "SSH2 (RFC 4716 / SECSH) private key block",
        ["---- begin ssh2"],
        concat!(r"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----", key_body!(), r"(?:---- END SSH2 ENCRYPTED PRIVATE KEY ----)?"),
        "«---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: rsa-key 2048\nP2/56wAAA{b:60}\n{b:70}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----»")
        .check(Check::NoPlaceholders).max(65536),
    raw!("putty-private-key", "private-key", "PuTTY .ppk private key lines",
        ["putty-user-key-file-"],
        concat!(r"PuTTY-User-Key-File-[23]:[^\n\\]*(?:\n|\\n)(?:[^\n\\]*(?:\n|\\n)){0,8}?",
            r"Private-Lines:[ \t]*[0-9]+(?:\r?\n|(?:\\r)?\\n)(?P<s>(?:[A-Za-z0-9+/=]{4,}(?:\r?\n|(?:\\r)?\\n))+)"),
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: me\nPublic-Lines: 2\nAAAAC3Nza{b:40}\n{b:20}\nPrivate-Lines: 1\n«{b:44}\n»")
        .check(Check::NoPlaceholders).max(16384),
    raw!("age-secret-key", "private-key", "age encryption secret key",
        ["age-secret-key-1"], r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        "«AGE-SECRET-KEY-1{E:58}»").near("AGE-SECRET-KEY-1ABC"),
    raw!("wireguard-private-key", "private-key", "WireGuard interface private key",
        ["privatekey"], r"(?i:PrivateKey)[ \t]*=[ \t]*(?P<s>[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)",
        "[Interface]\nPrivateKey = «{b:42}A=»\nAddress = 10.0.0.2/32"),
    raw!("kubeconfig-client-key-data", "private-key", "Kubeconfig client-key-data (base64 PEM key)",
        ["client-key-data"], r"client-key-data:[ \t]*(?P<s>[A-Za-z0-9+/]{64,}={0,2})",
        "users:\n- name: admin\n  user:\n    client-key-data: «LS0tLS1CRUdJTi{b:120}»\n")
        .check(Check::NoPlaceholders).max(16384),
    // ---------------------------------------------------------------- cloud
    tok!("aws-access-key-id", "cloud", "AWS access key id (long-term or STS)",
        ["akia", "asia", "abia", "acca", "a3t"], r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
        "aws_access_key_id = «AKIA{Z:16}»\n"),
    raw!("aws-secret-access-key", "cloud", "AWS secret access key in an assignment",
        ["aws_secret", "aws-secret", "awssecret", "secret_access_key", "secretaccesskey", "secret-access-key"],
        concat!(r"(?i:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)", assign!(),
            r"(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|\z)"),
        "aws_secret_access_key = «{b:40}»\nregion = us-east-1").ent(3.5),
    raw!("aws-session-token", "cloud", "AWS session token in an assignment",
        ["aws_session_token", "aws-session-token", "sessiontoken"],
        concat!(r"(?i:aws[_-]session[_-]token|sessiontoken)", assign!(), r"(?P<s>[A-Za-z0-9/+=]{100,})"),
        "export AWS_SESSION_TOKEN=«IQoJb3JpZ2luX2Vj{b:200}»\n").ent(4.0).max(4096),
    tok!("aws-mws-auth-token", "cloud", "Amazon MWS auth token", ["amzn.mws."],
        r"amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "«amzn.mws.{h:8}-{h:4}-{h:4}-{h:4}-{h:12}»"),
    tok!("aws-bedrock-api-key", "cloud", "Amazon Bedrock long-term API key", ["absk"],
        r"ABSK[A-Za-z0-9+/]{100,}={0,2}", "AWS_BEARER_TOKEN_BEDROCK=«ABSK{b:128}»").ent(4.0),
    raw!("gcp-service-account-key-id", "cloud", "Google service-account JSON private_key_id",
        ["private_key_id"], r#"private_key_id\\?"[ \t]*:[ \t]*\\?"(?P<s>[0-9a-f]{40})"#,
        r#"{"type": "service_account", "private_key_id": "«{h:40}»"}"#),
    raw!("gcp-service-account-private-key", "private-key", "Google service-account JSON private_key",
        ["private_key"], concat!(r#"private_key\\?"[ \t]*:[ \t]*\\?"(?P<s>-----BEGIN PRIVATE KEY-----"#, key_body!(), r#"(?:-----END PRIVATE KEY-----(?:\\+n)?)?)\\*""#),
        r#"{"type": "service_account", "private_key": "«-----BEGIN PRIVATE KEY-----\nMIIEv{b:64}\n{b:64}\n-----END PRIVATE KEY-----\n»", "client_email": "a@b.iam.gserviceaccount.com"}"#)
        .check(Check::NoPlaceholders).max(16384),
    tok!("google-api-key", "cloud", "Google API key (Maps, Firebase, Gemini / AI Studio)", ["aiza"],
        r"AIza[0-9A-Za-z_\-]{35}", "https://maps.googleapis.com/maps/api/geocode/json?key=«AIza{u:35}»&address=x"),
    tok!("google-oauth-client-secret", "cloud", "Google OAuth client secret", ["gocspx-"],
        r"GOCSPX-[A-Za-z0-9_\-]{28}", "client_secret: «GOCSPX-{u:28}»"),
    tok!("google-oauth-access-token", "cloud", "Google OAuth access token", ["ya29."],
        r"ya29\.[0-9A-Za-z_\-]{30,}", "Authorization: OAuth «ya29.{u:120}»"),
    tok!("google-oauth-refresh-token", "cloud", "Google OAuth refresh token", ["1//0"],
        r"1//0[0-9A-Za-z_\-]{40,}", "refresh: «1//0{u:100}»"),
    raw!("firebase-fcm-server-key", "cloud", "Firebase Cloud Messaging legacy server key", [":apa91b"],
        r"\bAAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{134}", "key=«AAAA{u:7}:APA91b{u:134}»").lead(11),
    raw!("azure-storage-account-key", "cloud", "Azure storage account key in a connection string",
        ["accountkey="], r"(?i:AccountKey)=(?P<s>[A-Za-z0-9+/]{86}==)",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=«{b:86}==»;EndpointSuffix=core.windows.net"),
    raw!("azure-sas-signature", "cloud", "Azure shared access signature (sig= parameter)",
        ["sig="], r"sig=(?P<s>[A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})",
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2030-01-01&sr=b&sp=r&sig=«{a:43}%3D»").ent(3.5),
    raw!("azure-ad-client-secret", "cloud", "Microsoft Entra ID (Azure AD) client secret", ["q~"],
        r"(?:^|[^A-Za-z0-9_~.\-])(?P<s>[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|\z)",
        "AZURE_CLIENT_SECRET=«{a:3}8Q~{a:34}»\n").lead(5),
    raw!("azure-servicebus-key", "cloud", "Azure Service Bus / Event Hubs shared access key",
        ["sharedaccesskey="], r"(?i:SharedAccessKey)=(?P<s>[A-Za-z0-9+/]{42,43}=)",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=«{b:43}=»"),
    raw!("azure-function-key", "cloud", "Azure Functions key header", ["x-functions-key"],
        r#"(?i:x-functions-key)\\?["']?[ \t]*[:=][ \t]*\\?["']?(?P<s>[A-Za-z0-9_\-]{40,}={0,2})"#,
        "x-functions-key: «{u:54}==»").ent(3.5),
    keyed!("azure-devops-pat", "vcs-ci", "Azure DevOps personal access token", "devops",
        r"[a-z2-7]{52}|[A-Za-z0-9]{84}", "{z:52}"),
    keyed!("azure-cosmosdb-key", "cloud", "Azure Cosmos DB account key", "cosmos",
        r"[A-Za-z0-9+/]{86}==", "{b:86}=="),
    keyed!("azure-openai-key", "ai", "Azure OpenAI / AI services key", "azure_openai",
        r"[0-9a-fA-F]{32}|[A-Za-z0-9]{84}", "{h:32}"),
    tok!("digitalocean-pat", "cloud", "DigitalOcean personal access token", ["dop_v1_"], r"dop_v1_[a-f0-9]{64}\b", "«dop_v1_{h:64}»"),
    tok!("digitalocean-oauth-token", "cloud", "DigitalOcean OAuth token", ["doo_v1_"], r"doo_v1_[a-f0-9]{64}\b", "«doo_v1_{h:64}»"),
    tok!("digitalocean-refresh-token", "cloud", "DigitalOcean refresh token", ["dor_v1_"], r"dor_v1_[a-f0-9]{64}\b", "«dor_v1_{h:64}»"),
    tok!("alibaba-access-key-id", "cloud", "Alibaba Cloud AccessKey id", ["ltai"], r"LTAI[A-Za-z0-9]{12,20}\b", "«LTAI{a:20}»").ent(3.0),
    keyed!("alibaba-secret-key", "cloud", "Alibaba Cloud AccessKey secret", "alibaba", r"[A-Za-z0-9]{30}", "{a:30}"),
    keyed!("aliyun-secret-key", "cloud", "Aliyun AccessKey secret", "aliyun", r"[A-Za-z0-9]{30}", "{a:30}"),
    tok!("tencent-secret-id", "cloud", "Tencent Cloud SecretId", ["akid"], r"AKID[A-Za-z0-9]{32}\b", "«AKID{a:32}»").ent(3.0),
    keyed!("tencent-secret-key", "cloud", "Tencent Cloud SecretKey", "tencent", r"[A-Za-z0-9]{32}", "{a:32}"),
    keyed!("ibm-cloud-api-key", "cloud", "IBM Cloud API key", "ibm", r"[A-Za-z0-9_\-]{44}", "{u:44}"),
    keyed!("heroku-api-key", "cloud", "Heroku API key (UUID form)", "heroku", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    tok!("heroku-api-key-v2", "cloud", "Heroku API key (HRKU- form)", ["hrku-"], r"HRKU-[A-Za-z0-9_\-]{60}", "«HRKU-{u:60}»"),
    raw!("fly-io-token", "cloud", "Fly.io macaroon token", ["flyv1 "], r"FlyV1 (?P<s>fm[12][ar]?_[A-Za-z0-9+/=_,\-]{100,})",
        "fly tokens create deploy\nFlyV1 «fm2_{b:200}»\n").max(8192),
    keyed!("vercel-token", "cloud", "Vercel access token", "vercel", r"[A-Za-z0-9]{24}", "{a:24}"),
    keyed!("netlify-token", "cloud", "Netlify access token", "netlify", r"nfp_[A-Za-z0-9]{36}|[A-Za-z0-9_\-]{40,46}", "{u:43}"),
    keyed!("cloudflare-api-token", "cloud", "Cloudflare API token or global API key", "cloudflare",
        r"[A-Za-z0-9_\-]{40}|[a-f0-9]{37}", "{u:40}"),
    tok!("cloudflare-origin-ca-key", "cloud", "Cloudflare Origin CA key", ["v1.0-"], r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b", "«v1.0-{h:24}-{h:146}»"),
    keyed!("linode-token", "cloud", "Linode / Akamai API token", "linode", r"[a-f0-9]{64}", "{h:64}"),
    keyed!("vultr-api-key", "cloud", "Vultr API key", "vultr", r"[A-Z0-9]{36}", "{A:36}"),
    keyed!("scaleway-secret-key", "cloud", "Scaleway secret key", "scaleway", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("scw-secret-key", "cloud", "Scaleway secret key (SCW_ variables)", "scw", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("hetzner-api-token", "cloud", "Hetzner Cloud API token", "hetzner", r"[A-Za-z0-9]{64}", "{a:64}"),
    keyed!("hcloud-token", "cloud", "Hetzner Cloud API token (HCLOUD_ variables)", "hcloud", r"[A-Za-z0-9]{64}", "{a:64}"),
    tok!("render-api-key", "cloud", "Render API key", ["rnd_"], r"rnd_[A-Za-z0-9]{32}\b", "«rnd_{a:32}»"),
    keyed!("railway-token", "cloud", "Railway API token", "railway", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    tok!("supabase-pat", "cloud", "Supabase personal access token", ["sbp_"], r"sbp_[a-f0-9]{40}\b", "«sbp_{h:40}»"),
    tok!("supabase-secret-key", "cloud", "Supabase secret API key", ["sb_secret_"], r"sb_secret_[A-Za-z0-9_\-]{31,}", "«sb_secret_{u:40}»"),
    tok!("planetscale-token", "database", "PlanetScale service token", ["pscale_tkn_"], r"pscale_tkn_[A-Za-z0-9_.\-]{32,64}", "«pscale_tkn_{u:43}»"),
    tok!("planetscale-password", "database", "PlanetScale database password", ["pscale_pw_"], r"pscale_pw_[A-Za-z0-9_.\-]{32,64}", "«pscale_pw_{u:43}»"),
    tok!("planetscale-oauth-token", "database", "PlanetScale OAuth token", ["pscale_oauth_"], r"pscale_oauth_[A-Za-z0-9_.\-]{32,64}", "«pscale_oauth_{u:43}»"),
    tok!("databricks-token", "cloud", "Databricks personal access token", ["dapi"], r"dapi[a-f0-9]{32}(?:-[0-9])?\b", "«dapi{h:32}»"),
    tok!("pulumi-token", "cloud", "Pulumi access token", ["pul-"], r"pul-[a-f0-9]{40}\b", "«pul-{h:40}»"),
    raw!("terraform-cloud-token", "cloud", "Terraform Cloud / Enterprise API token", ["atlasv1."],
        r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70}\b", "token = \"«{a:14}.atlasv1.{u:67}»\"").lead(15),
    tok!("vault-service-token", "cloud", "HashiCorp Vault service token", ["hvs."], r"hvs\.[A-Za-z0-9_\-]{24,}", "VAULT_TOKEN=«hvs.{u:90}»"),
    tok!("vault-batch-token", "cloud", "HashiCorp Vault batch token", ["hvb."], r"hvb\.[A-Za-z0-9_\-]{24,}", "VAULT_TOKEN=«hvb.{u:120}»"),
    tok!("doppler-token", "cloud", "Doppler token (personal, service, CLI, SCIM, audit)",
        ["dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."],
        r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_\-.]{40,}", "DOPPLER_TOKEN=«dp.st.{a:43}»"),
    tok!("onepassword-service-account-token", "cloud", "1Password service account token", ["ops_ey"],
        r"ops_eyJ[A-Za-z0-9+/=_\-]{100,}", "OP_SERVICE_ACCOUNT_TOKEN=«ops_eyJ{u:250}»").max(4096),
    tok!("onepassword-secret-key", "cloud", "1Password account secret key", ["a3-"],
        r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b",
        "«A3-{A:6}-{A:6}-{A:5}-{A:5}-{A:5}-{A:5}»"),
    tok!("tailscale-key", "cloud", "Tailscale auth / API / OAuth key", ["tskey-"],
        r"tskey-(?:auth|api|client|webhook|scim)-[A-Za-z0-9]{10,}-[A-Za-z0-9]{20,}", "«tskey-auth-{a:17}-{a:33}»"),
    keyed!("ngrok-authtoken", "cloud", "ngrok authtoken", "ngrok", r"[0-9A-Za-z]{25,27}_[0-9A-Za-z]{20,22}", "2{a:26}_{a:21}"),
    keyed!("okta-api-token", "auth", "Okta API token", "okta", r"00[A-Za-z0-9_\-]{40}", "00{u:40}"),
    keyed!("auth0-client-secret", "auth", "Auth0 client secret", "auth0", r"[A-Za-z0-9_\-]{64}", "{u:64}"),
    keyed!("backblaze-application-key", "cloud", "Backblaze B2 application key", "backblaze", r"K[0-9]{3}[A-Za-z0-9+/]{27}", "K005{a:27}"),
    keyed!("minio-secret-key", "cloud", "MinIO secret key", "minio", r"[A-Za-z0-9/+]{40}", "{b:40}"),
    raw!("cloudinary-url", "cloud", "Cloudinary URL API secret", ["cloudinary://"],
        r"cloudinary://[0-9]{6,20}:(?P<s>[A-Za-z0-9_\-]{20,40})@", "CLOUDINARY_URL=cloudinary://{d:15}:«{u:27}»@cloud"),
    keyed!("algolia-admin-key", "saas", "Algolia admin API key", "algolia", r"[a-f0-9]{32}", "{h:32}"),
    tok!("mapbox-secret-token", "saas", "Mapbox secret access token", ["sk.eyj"], r"sk\.eyJ[A-Za-z0-9_\-]{50,}\.[A-Za-z0-9_\-]{20,}", "«sk.eyJ1{u:60}.{u:22}»"),
    // ---------------------------------------------------------------- VCS and CI
    tok!("github-pat", "vcs-ci", "GitHub classic personal access token", ["ghp_"], r"ghp_[A-Za-z0-9]{36,}\b", "GITHUB_TOKEN=«ghp_{a:36}»\n"),
    tok!("github-oauth-token", "vcs-ci", "GitHub OAuth access token", ["gho_"], r"gho_[A-Za-z0-9]{36,}\b", "pushing with «gho_{a:36}» now"),
    tok!("github-user-to-server-token", "vcs-ci", "GitHub App user-to-server token", ["ghu_"], r"ghu_[A-Za-z0-9]{36,}\b", "«ghu_{a:36}»"),
    tok!("github-server-to-server-token", "vcs-ci", "GitHub App installation token", ["ghs_"], r"ghs_[A-Za-z0-9]{36,}\b", "«ghs_{a:36}»"),
    tok!("github-refresh-token", "vcs-ci", "GitHub App refresh token", ["ghr_"], r"ghr_[A-Za-z0-9]{36,}\b", "«ghr_{a:76}»"),
    tok!("github-fine-grained-pat", "vcs-ci", "GitHub fine-grained personal access token", ["github_pat_"],
        r"github_pat_[A-Za-z0-9_]{50,}\b", "token: «github_pat_{a:22}_{a:59}»"),
    tok!("gitlab-pat", "vcs-ci", "GitLab personal / project / group access token", ["glpat-"],
        r"glpat-[A-Za-z0-9_\-]{20,}(?:\.[A-Za-z0-9_\-]+)*", "CI_TOKEN is «glpat-{u:20}»."),
    tok!("gitlab-pipeline-trigger-token", "vcs-ci", "GitLab pipeline trigger token", ["glptt-"], r"glptt-[0-9a-f]{40}\b", "«glptt-{h:40}»"),
    tok!("gitlab-runner-registration-token", "vcs-ci", "GitLab runner registration token", ["gr1348941"], r"GR1348941[A-Za-z0-9_\-]{20,}", "«GR1348941{u:20}»"),
    tok!("gitlab-runner-auth-token", "vcs-ci", "GitLab runner authentication token", ["glrt-"], r"glrt-[A-Za-z0-9_\-]{20,}(?:\.[A-Za-z0-9_\-]+)*", "«glrt-{u:20}»"),
    tok!("gitlab-deploy-token", "vcs-ci", "GitLab deploy token", ["gldt-"], r"gldt-[A-Za-z0-9_\-]{20,}", "«gldt-{u:20}»"),
    tok!("gitlab-feed-token", "vcs-ci", "GitLab feed token", ["glft-"], r"glft-[A-Za-z0-9_\-]{20,}", "«glft-{u:20}»"),
    tok!("gitlab-oauth-app-secret", "vcs-ci", "GitLab OAuth application secret", ["gloas-"], r"gloas-[A-Za-z0-9_\-]{64}", "«gloas-{u:64}»"),
    tok!("gitlab-incoming-mail-token", "vcs-ci", "GitLab incoming mail token", ["glimt-"], r"glimt-[A-Za-z0-9_\-]{25}", "«glimt-{u:25}»"),
    tok!("gitlab-kubernetes-agent-token", "vcs-ci", "GitLab agent for Kubernetes token", ["glagent-"], r"glagent-[A-Za-z0-9_\-]{50,}", "«glagent-{u:50}»"),
    tok!("gitlab-scim-token", "vcs-ci", "GitLab SCIM OAuth token", ["glsoat-"], r"glsoat-[A-Za-z0-9_\-]{20,}", "«glsoat-{u:20}»"),
    tok!("gitlab-ci-job-token", "vcs-ci", "GitLab CI/CD job token", ["glcbt-"], r"glcbt-[A-Za-z0-9_\-]{20,}", "«glcbt-{h:5}_{u:20}»"),
    tok!("gitlab-feature-flag-token", "vcs-ci", "GitLab feature flags client token", ["glffct-"], r"glffct-[A-Za-z0-9_\-]{20,}", "«glffct-{u:20}»"),
    tok!("bitbucket-app-password", "vcs-ci", "Bitbucket app password", ["atbb"], r"ATBB[A-Za-z0-9_=.\-]{32,}", "«ATBB{a:32}»").ent(3.0),
    tok!("atlassian-api-token", "vcs-ci", "Atlassian (Jira, Confluence, Bitbucket) API token", ["atatt3"], r"ATATT3[A-Za-z0-9_=\-]{100,}", "«ATATT3{a:186}»").max(4096),
    tok!("bitbucket-access-token", "vcs-ci", "Bitbucket repository / workspace access token", ["atctt3"], r"ATCTT3[A-Za-z0-9_=\-]{100,}", "«ATCTT3{a:186}»").max(4096),
    keyed!("bitbucket-client-secret", "vcs-ci", "Bitbucket OAuth consumer secret", "bitbucket", r"[A-Za-z0-9_\-]{32,64}", "{u:32}"),
    keyed!("gitea-token", "vcs-ci", "Gitea access token", "gitea", r"[a-f0-9]{40}", "{h:40}"),
    keyed!("gogs-token", "vcs-ci", "Gogs access token", "gogs", r"[a-f0-9]{40}", "{h:40}"),
    tok!("circleci-pat", "vcs-ci", "CircleCI personal API token", ["ccipat_"], r"CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}\b", "«CCIPAT_{a:22}_{h:40}»"),
    tok!("circleci-project-token", "vcs-ci", "CircleCI project API token", ["ccipt_"], r"CCIPT_[A-Za-z0-9]{22}_[a-f0-9]{40}\b", "«CCIPT_{a:22}_{h:40}»"),
    keyed!("circleci-token", "vcs-ci", "CircleCI API token (legacy form)", "circle", r"[a-f0-9]{40}", "{h:40}"),
    keyed!("travis-token", "vcs-ci", "Travis CI token", "travis", r"[A-Za-z0-9_\-]{22}", "{u:22}"),
    keyed!("jenkins-api-token", "vcs-ci", "Jenkins API token", "jenkins", r"11[a-f0-9]{32}", "11{h:32}"),
    tok!("buildkite-token", "vcs-ci", "Buildkite user access token", ["bkua_"], r"bkua_[a-f0-9]{40}\b", "«bkua_{h:40}»"),
    keyed!("drone-token", "vcs-ci", "Drone CI token", "drone", r"[A-Za-z0-9]{32}", "{a:32}"),
    tok!("sourcegraph-token", "vcs-ci", "Sourcegraph access token", ["sgp_"], r"sgp_(?:[a-f0-9]{16}_)?[a-f0-9]{40}\b", "«sgp_{h:16}_{h:40}»"),
    tok!("jfrog-api-key", "registry", "JFrog Artifactory API key", ["akcp"], r"AKCp[A-Za-z0-9]{69}\b", "«AKCp{a:69}»"),
    tok!("jfrog-identity-token", "registry", "JFrog identity / reference token", ["cmvmd"], r"cmVmd[A-Za-z0-9]{59}\b", "«cmVmd{a:59}»"),
    tok!("sonarqube-token", "vcs-ci", "SonarQube / SonarCloud token", ["sqp_", "squ_", "sqa_"], r"sq[pua]_[a-f0-9]{40}\b", "«squ_{h:40}»"),
    keyed!("snyk-token", "vcs-ci", "Snyk API token", "snyk", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("codecov-token", "vcs-ci", "Codecov upload token", "codecov", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("coveralls-token", "vcs-ci", "Coveralls repo token", "coveralls", r"[A-Za-z0-9]{32,37}", "{a:32}"),
    tok!("octopus-deploy-api-key", "vcs-ci", "Octopus Deploy API key", ["api-"], r"API-[A-Z0-9]{26}\b", "«API-{A:26}»").ent(3.0),
    tok!("harness-pat", "vcs-ci", "Harness personal access token", ["pat."], r"pat\.[A-Za-z0-9_\-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20}\b", "«pat.{u:22}.{h:24}.{a:20}»"),
    keyed!("launchdarkly-key", "saas", "LaunchDarkly API / SDK / mobile key", "launchdarkly",
        r"(?:api|sdk|mob)-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}", "sdk-{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("bitrise-token", "vcs-ci", "Bitrise access token", "bitrise", r"[A-Za-z0-9_\-]{86}", "{u:86}"),
    keyed!("appveyor-token", "vcs-ci", "AppVeyor API token", "appveyor", r"v2\.[a-z0-9]{20}|[A-Za-z0-9]{20,}", "v2.{l:20}"),
    tok!("sentry-org-token", "observability", "Sentry organization auth token", ["sntrys_"], r"sntrys_eyJ[A-Za-z0-9+/=_\-]{60,}", "«sntrys_eyJ{u:120}»").max(4096),
    tok!("sentry-user-token", "observability", "Sentry user auth token", ["sntryu_"], r"sntryu_[a-f0-9]{64}\b", "«sntryu_{h:64}»"),
    keyed!("sentry-auth-token", "observability", "Sentry auth token (legacy form)", "sentry", r"[a-f0-9]{64}", "{h:64}"),
    // ---------------------------------------------------------------- AI providers
    tok!("anthropic-api-key", "ai", "Anthropic API key", ["sk-ant-api"], r"sk-ant-api[0-9]{2}-[A-Za-z0-9_\-]{80,}", "ANTHROPIC_API_KEY=«sk-ant-api03-{u:93}AA»\n"),
    tok!("anthropic-admin-key", "ai", "Anthropic admin API key", ["sk-ant-admin"], r"sk-ant-admin[0-9]{2}-[A-Za-z0-9_\-]{80,}", "«sk-ant-admin01-{u:93}AA»"),
    tok!("anthropic-oauth-token", "ai", "Anthropic / Claude OAuth access or refresh token", ["sk-ant-oat", "sk-ant-ort"],
        r"sk-ant-o[ar]t[0-9]{2}-[A-Za-z0-9_\-]{80,}", "CLAUDE_CODE_OAUTH_TOKEN=«sk-ant-oat01-{u:93}AA»"),
    tok!("anthropic-key", "ai", "Anthropic key of another kind", ["sk-ant-"], r"sk-ant-[A-Za-z0-9_\-]{20,}", "«sk-ant-sid01-{u:40}»"),
    tok!("openai-project-key", "ai", "OpenAI project API key", ["sk-proj-"], r"sk-proj-[A-Za-z0-9_\-]{40,}", "OPENAI_API_KEY=\"«sk-proj-{u:100}»\"\n"),
    tok!("openai-service-account-key", "ai", "OpenAI service account key", ["sk-svcacct-"], r"sk-svcacct-[A-Za-z0-9_\-]{40,}", "«sk-svcacct-{u:100}»"),
    tok!("openai-admin-key", "ai", "OpenAI admin key", ["sk-admin-"], r"sk-admin-[A-Za-z0-9_\-]{40,}", "«sk-admin-{u:100}»"),
    tok!("openrouter-api-key", "ai", "OpenRouter API key", ["sk-or-v1-"], r"sk-or-v1-[a-f0-9]{64}\b", "«sk-or-v1-{h:64}»"),
    tok!("langfuse-secret-key", "ai", "Langfuse secret key", ["sk-lf-"], concat!(r"sk-lf-", uuid!(), r"\b"), "«sk-lf-{h:8}-{h:4}-{h:4}-{h:4}-{h:12}»"),
    keyed!("deepseek-api-key", "ai", "DeepSeek API key", "deepseek", r"sk-[a-f0-9]{32}", "sk-{h:32}"),
    keyed!("stability-api-key", "ai", "Stability AI API key", "stability", r"sk-[A-Za-z0-9]{48}", "sk-{a:48}"),
    tok!("openai-api-key", "ai", "OpenAI API key (user / legacy form) and compatible sk- keys", ["sk-"], r"sk-[A-Za-z0-9]{32,}\b", "client = OpenAI(api_key=\"«sk-{a:48}»\")"),
    tok!("huggingface-token", "ai", "Hugging Face user access token", ["hf_"], r"hf_[A-Za-z]{34}\b", "HF_TOKEN=«hf_{Q:34}»"),
    tok!("huggingface-org-token", "ai", "Hugging Face organization API token", ["api_org_"], r"api_org_[A-Za-z]{34}\b", "«api_org_{Q:34}»"),
    tok!("groq-api-key", "ai", "Groq API key", ["gsk_"], r"gsk_[A-Za-z0-9]{52}\b", "GROQ_API_KEY=«gsk_{a:52}»"),
    tok!("together-api-key", "ai", "Together AI API key", ["tgp_v1_"], r"tgp_v1_[A-Za-z0-9_\-]{43}", "«tgp_v1_{u:43}»"),
    keyed!("together-api-key-legacy", "ai", "Together AI API key (hex form)", "together", r"[a-f0-9]{64}", "{h:64}"),
    tok!("perplexity-api-key", "ai", "Perplexity API key", ["pplx-"], r"pplx-[A-Za-z0-9]{48}\b", "«pplx-{a:48}»"),
    tok!("xai-api-key", "ai", "xAI (Grok) API key", ["xai-"], r"xai-[A-Za-z0-9]{80}\b", "«xai-{a:80}»"),
    keyed!("mistral-api-key", "ai", "Mistral AI API key", "mistral", r"[A-Za-z0-9]{32}", "{a:32}"),
    keyed!("cohere-api-key", "ai", "Cohere API key", "cohere", r"[A-Za-z0-9]{40}", "{a:40}"),
    tok!("replicate-api-token", "ai", "Replicate API token", ["r8_"], r"r8_[A-Za-z0-9]{37}\b", "«r8_{a:37}»"),
    tok!("fireworks-api-key", "ai", "Fireworks AI API key", ["fw_"], r"fw_[A-Za-z0-9]{24}\b", "«fw_{a:24}»").ent(3.0),
    tok!("anyscale-api-key", "ai", "Anyscale API key", ["esecret_"], r"esecret_[A-Za-z0-9_]{20,}", "«esecret_{a:26}»"),
    tok!("elevenlabs-api-key", "ai", "ElevenLabs API key", ["sk_"], r"sk_[a-f0-9]{48}\b", "«sk_{h:48}»"),
    keyed!("assemblyai-api-key", "ai", "AssemblyAI API key", "assemblyai", r"[a-f0-9]{32}", "{h:32}"),
    keyed!("deepgram-api-key", "ai", "Deepgram API key", "deepgram", r"[a-f0-9]{40}", "{h:40}"),
    tok!("pinecone-api-key", "ai", "Pinecone API key", ["pcsk_"], r"pcsk_[A-Za-z0-9_]{50,}", "«pcsk_{a:6}_{a:60}»"),
    tok!("langsmith-api-key", "ai", "LangSmith API key", ["lsv2_"], r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}\b", "«lsv2_pt_{h:32}_{h:10}»"),
    keyed!("wandb-api-key", "ai", "Weights & Biases API key", "wandb", r"[a-f0-9]{40}", "{h:40}"),
    tok!("cerebras-api-key", "ai", "Cerebras API key", ["csk-"], r"csk-[a-z0-9]{48}\b", "«csk-{l:48}»"),
    tok!("nvidia-api-key", "ai", "NVIDIA NGC / NIM API key", ["nvapi-"], r"nvapi-[A-Za-z0-9_\-]{64}", "«nvapi-{u:64}»"),
    keyed!("voyage-api-key", "ai", "Voyage AI API key", "voyage", r"pa-[A-Za-z0-9_\-]{40,}", "pa-{u:43}"),
    keyed!("ai21-api-key", "ai", "AI21 Labs API key", "ai21", r"[A-Za-z0-9]{32}", "{a:32}"),
    keyed!("runpod-api-key", "ai", "RunPod API key", "runpod", r"[A-Za-z0-9_]{32,}", "rpa_{A:40}"),
    keyed!("modal-token", "ai", "Modal token id / secret", "modal", r"(?:ak|as)-[A-Za-z0-9]{22}", "as-{a:22}"),
    tok!("tavily-api-key", "ai", "Tavily API key", ["tvly-"], r"tvly-(?:dev-|prod-)?[A-Za-z0-9]{32}\b", "«tvly-dev-{a:32}»"),
    tok!("firecrawl-api-key", "ai", "Firecrawl API key", ["fc-"], r"fc-[a-f0-9]{32}\b", "«fc-{h:32}»"),
    keyed!("serpapi-key", "ai", "SerpApi key", "serpapi", r"[a-f0-9]{64}", "{h:64}"),
    keyed!("gemini-api-key", "ai", "Gemini API key variable (non-AIza form)", "gemini", r"[A-Za-z0-9_\-]{39}", "{u:39}"),
    tok!("dashclaw-api-key", "ai", "DashClaw API key", ["oc_live_"], r"oc_live_[A-Za-z0-9_\-]{12,}", "x-api-key: «oc_live_{h:32}»\n"),
    // ---------------------------------------------------------------- payments
    tok!("stripe-secret-key", "payments", "Stripe live secret key (also Clerk, Paystack sk_live_)", ["sk_live_"], r"sk_live_[A-Za-z0-9]{16,}\b", "stripe.api_key = '«sk_live_{a:24}»'"),
    tok!("stripe-test-secret-key", "payments", "Stripe test secret key", ["sk_test_"], r"sk_test_[A-Za-z0-9]{16,}\b", "«sk_test_{a:99}»"),
    tok!("stripe-restricted-key", "payments", "Stripe restricted key", ["rk_live_", "rk_test_"], r"rk_(?:live|test)_[A-Za-z0-9]{16,}\b", "restricted: «rk_live_{a:24}»"),
    tok!("stripe-webhook-secret", "payments", "Stripe webhook signing secret", ["whsec_"], r"whsec_[A-Za-z0-9+/=]{32,}", "«whsec_{a:32}»"),
    tok!("braintree-access-token", "payments", "PayPal Braintree access token",
        ["access_token$production$", "access_token$sandbox$"], r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}\b",
        "«access_token$production${l:16}${h:32}»"),
    keyed!("paypal-client-secret", "payments", "PayPal REST client secret", "paypal", r"[A-Za-z0-9_\-]{80}", "{u:80}"),
    tok!("square-access-token", "payments", "Square access token", ["eaaa"], r"EAAA[A-Za-z0-9_\-]{60}(?:[^A-Za-z0-9_\-]|\z)", "«EAAA{u:60}» "),
    tok!("square-legacy-access-token", "payments", "Square legacy access token", ["sq0atp-"], r"sq0atp-[A-Za-z0-9_\-]{22}", "«sq0atp-{u:22}»"),
    tok!("square-oauth-secret", "payments", "Square OAuth application secret", ["sq0csp-"], r"sq0csp-[A-Za-z0-9_\-]{43}", "«sq0csp-{u:43}»"),
    keyed!("adyen-api-key", "payments", "Adyen API key", "adyen", r"AQE[A-Za-z0-9+/=_\-]{80,}", "AQE{u:100}"),
    tok!("shopify-access-token", "payments", "Shopify Admin API access token", ["shpat_"], r"shpat_[a-fA-F0-9]{32}\b", "«shpat_{h:32}»"),
    tok!("shopify-custom-app-token", "payments", "Shopify custom app access token", ["shpca_"], r"shpca_[a-fA-F0-9]{32}\b", "«shpca_{h:32}»"),
    tok!("shopify-private-app-token", "payments", "Shopify private app password", ["shppa_"], r"shppa_[a-fA-F0-9]{32}\b", "«shppa_{h:32}»"),
    tok!("shopify-shared-secret", "payments", "Shopify app shared secret", ["shpss_"], r"shpss_[a-fA-F0-9]{32}\b", "«shpss_{h:32}»"),
    tok!("plaid-access-token", "payments", "Plaid access token",
        ["access-production-", "access-development-", "access-sandbox-"],
        concat!(r"access-(?:production|development|sandbox)-", uuid!(), r"\b"), "«access-sandbox-{h:8}-{h:4}-{h:4}-{h:4}-{h:12}»"),
    keyed!("plaid-secret", "payments", "Plaid client secret", "plaid", r"[a-f0-9]{30}", "{h:30}"),
    keyed!("coinbase-api-secret", "payments", "Coinbase API secret", "coinbase", r"[A-Za-z0-9+/=]{40,}", "{b:64}"),
    keyed!("razorpay-key-secret", "payments", "Razorpay key secret", "razorpay", r"[A-Za-z0-9]{24}", "{a:24}"),
    tok!("flutterwave-secret-key", "payments", "Flutterwave secret key", ["flwseck-", "flwseck_test-"], r"FLWSECK(?:_TEST)?-[a-hA-H0-9]{32}-X\b", "«FLWSECK_TEST-{h:32}-X»"),
    tok!("flutterwave-encryption-key", "payments", "Flutterwave encryption key", ["flwseck_test"], r"FLWSECK_TEST[a-hA-H0-9]{12}\b", "«FLWSECK_TEST{h:12}»"),
    keyed!("mollie-api-key", "payments", "Mollie API key", "mollie", r"(?:live|test)_[A-Za-z0-9]{30}", "live_{a:30}"),
    keyed!("gocardless-token", "payments", "GoCardless access token", "gocardless", r"(?:live|sandbox)_[A-Za-z0-9_=\-]{40}", "live_{u:40}"),
    keyed!("lob-api-key", "payments", "Lob API key", "lob", r"(?:live|test)_[a-f0-9]{35}", "live_{h:35}"),
    keyed!("recurly-api-key", "payments", "Recurly API key", "recurly", r"[a-f0-9]{32}", "{h:32}"),
    keyed!("chargebee-api-key", "payments", "Chargebee API key", "chargebee", r"(?:live|test)_[A-Za-z0-9]{30,}", "live_{a:34}"),
    tok!("paddle-api-key", "payments", "Paddle API key", ["pdl_live_apikey_", "pdl_sdbx_apikey_"], r"pdl_(?:live|sdbx)_apikey_[a-z0-9]{26}_[A-Za-z0-9]{22}_[A-Za-z0-9]{3}\b", "«pdl_live_apikey_{l:26}_{a:22}_{a:3}»"),
    keyed!("binance-api-secret", "payments", "Binance API secret", "binance", r"[A-Za-z0-9]{64}", "{a:64}"),
    keyed!("kraken-api-secret", "payments", "Kraken API private key", "kraken", r"[A-Za-z0-9/+=]{80,90}", "{b:86}=="),
    keyed!("bitfinex-api-secret", "payments", "Bitfinex API secret", "bitfinex", r"[A-Za-z0-9_\-]{43}", "{u:43}"),
    keyed!("kucoin-api-secret", "payments", "KuCoin API secret", "kucoin", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    tok!("shippo-api-token", "payments", "Shippo API token", ["shippo_live_", "shippo_test_"], r"shippo_(?:live|test)_[a-f0-9]{40}\b", "«shippo_live_{h:40}»"),
    tok!("easypost-api-key", "payments", "EasyPost production API key", ["ezak"], r"EZAK[A-Za-z0-9]{54}\b", "«EZAK{a:54}»"),
    tok!("easypost-test-api-key", "payments", "EasyPost test API key", ["eztk"], r"EZTK[A-Za-z0-9]{54}\b", "«EZTK{a:54}»"),
    tok!("duffel-api-token", "payments", "Duffel API token", ["duffel_live_", "duffel_test_"], r"duffel_(?:live|test)_[A-Za-z0-9_=\-]{43}", "«duffel_test_{u:43}»"),
    // ---------------------------------------------------------------- chat and collaboration
    tok!("slack-bot-token", "chat", "Slack bot token", ["xoxb-"], r"xoxb-[0-9A-Za-z\-]{20,}", "SLACK_BOT=«xoxb-{d:12}-{d:13}-{a:24}»\n"),
    tok!("slack-user-token", "chat", "Slack user token", ["xoxp-"], r"xoxp-[0-9A-Za-z\-]{20,}", "«xoxp-{d:12}-{d:12}-{d:13}-{h:32}»"),
    tok!("slack-app-token", "chat", "Slack app-level token", ["xapp-"], r"xapp-[0-9]-[A-Z0-9]+-[0-9]+-[A-Za-z0-9]{20,}", "«xapp-1-A{A:10}-{d:13}-{h:64}»"),
    tok!("slack-config-token", "chat", "Slack configuration token", ["xoxe.xox"], r"xoxe\.xox[bp]-[0-9]-[A-Za-z0-9\-]{100,}", "«xoxe.xoxp-1-{a:160}»"),
    tok!("slack-refresh-token", "chat", "Slack rotating refresh token", ["xoxe-"], r"xoxe-[0-9]-[A-Za-z0-9\-]{100,}", "«xoxe-1-{a:140}»"),
    tok!("slack-legacy-token", "chat", "Slack legacy / workspace token", ["xoxa-", "xoxr-", "xoxs-", "xoxo-"], r"xox[aors]-[0-9A-Za-z\-]{10,}", "«xoxs-{d:12}-{a:24}»"),
    raw!("slack-webhook", "chat", "Slack incoming webhook / workflow trigger URL", ["hooks.slack.com"],
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/\-]{20,})",
        "curl -X POST https://hooks.slack.com/services/«T{A:8}/B{A:10}/{a:24}» -d @msg.json"),
    keyed!("discord-bot-token", "chat", "Discord bot token", "discord",
        r"[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}", "M{a:25}.{u:6}.{u:38}"),
    raw!("discord-webhook", "chat", "Discord webhook URL token", ["discord.com/api/webhooks/", "discordapp.com/api/webhooks/"],
        r"discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/(?P<s>[A-Za-z0-9_\-]{60,68})",
        "https://discord.com/api/webhooks/{d:19}/«{u:68}»"),
    raw!("telegram-bot-token", "chat", "Telegram bot token", [":aa"],
        r"(?:^|[^0-9])(?P<s>[0-9]{8,10}:AA[A-Za-z0-9_\-]{33})(?:[^A-Za-z0-9_\-]|\z)",
        "https://api.telegram.org/bot«{d:10}:AA{u:33}»/getMe").lead(11),
    raw!("teams-webhook", "chat", "Microsoft Teams incoming webhook URL", ["webhook.office.com"],
        r"webhook\.office\.com/webhookb2/(?P<s>[A-Za-z0-9@/_\-]{80,})",
        "https://acme.webhook.office.com/webhookb2/«{h:8}-{h:4}-{h:4}-{h:4}-{h:12}@{h:8}-{h:4}-{h:4}-{h:4}-{h:12}/IncomingWebhook/{h:32}/{h:8}»"),
    keyed!("mattermost-token", "chat", "Mattermost access token", "mattermost", r"[a-z0-9]{26}", "{l:26}"),
    keyed!("rocketchat-token", "chat", "Rocket.Chat personal token", "rocketchat", r"[A-Za-z0-9_\-]{43}", "{u:43}"),
    keyed!("twitch-token", "chat", "Twitch API token", "twitch", r"[a-z0-9]{30}", "{l:30}"),
    tok!("twitter-bearer-token", "chat", "Twitter / X app bearer token", ["aaaaaaaaaaaaaaaaaaaaa"], r"A{22}[A-Za-z0-9%]{80,}", "«AAAAAAAAAAAAAAAAAAAAAA{a:90}»"),
    keyed!("twitter-api-secret", "chat", "Twitter / X API secret", "twitter", r"[A-Za-z0-9]{45,50}", "{a:50}"),
    tok!("facebook-access-token", "chat", "Facebook / Meta access token", ["eaa"], r"EAA[A-Za-z0-9]{90,}", "«EAAG{a:150}»").ent(3.5),
    keyed!("facebook-app-secret", "chat", "Facebook app secret", "facebook", r"[a-f0-9]{32}", "{h:32}"),
    keyed!("linkedin-client-secret", "chat", "LinkedIn client secret", "linkedin", r"[A-Za-z0-9]{16}", "{a:16}"),
    keyed!("zoom-secret", "chat", "Zoom API / webhook secret", "zoom", r"[A-Za-z0-9_\-]{22,32}", "{u:32}"),
    keyed!("intercom-token", "saas", "Intercom access token", "intercom", r"[A-Za-z0-9_=\-]{40,}", "dG9rOj{u:50}="),
    keyed!("zendesk-token", "saas", "Zendesk API token", "zendesk", r"[A-Za-z0-9]{40}", "{a:40}"),
    keyed!("freshdesk-api-key", "saas", "Freshdesk API key", "freshdesk", r"[A-Za-z0-9]{20}", "{a:20}"),
    tok!("hubspot-private-app-token", "saas", "HubSpot private app token", ["pat-na1-", "pat-eu1-", "pat-na2-", "pat-ap1-"],
        concat!(r"pat-(?:na|eu|ap)[0-9]-", uuid!(), r"\b"), "«pat-na1-{h:8}-{h:4}-{h:4}-{h:4}-{h:12}»"),
    keyed!("asana-pat", "saas", "Asana personal access token", "asana", r"[0-9]/[0-9]{10,16}(?:/[0-9]{10,16})?:[A-Za-z0-9]{32}", "2/{d:16}/{d:16}:{h:32}"),
    tok!("trello-token", "saas", "Trello / Atlassian ATTA token", ["atta"], r"ATTA[A-Za-z0-9_=\-]{60,}", "«ATTA{a:64}»").ent(3.0),
    keyed!("jira-api-token", "saas", "Jira API token (legacy form)", "jira", r"[A-Za-z0-9]{24}", "{a:24}"),
    tok!("linear-api-key", "saas", "Linear API key", ["lin_api_"], r"lin_api_[A-Za-z0-9]{40}\b", "«lin_api_{a:40}»"),
    tok!("linear-oauth-token", "saas", "Linear OAuth token", ["lin_oauth_"], r"lin_oauth_[a-f0-9]{64}\b", "«lin_oauth_{h:64}»"),
    tok!("notion-token", "saas", "Notion integration token", ["ntn_"], r"ntn_[0-9]{11}[A-Za-z0-9]{35}\b", "«ntn_{d:11}{a:35}»"),
    tok!("notion-legacy-token", "saas", "Notion integration token (secret_ form)", ["secret_"], r"secret_[A-Za-z0-9]{43}\b", "NOTION_KEY=«secret_{a:43}»").ent(3.5),
    keyed!("airtable-token", "saas", "Airtable personal access token / API key", "airtable", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}|key[A-Za-z0-9]{14}", "pat{a:14}.{h:64}"),
    tok!("clickup-token", "saas", "ClickUp personal token", ["pk_"], r"pk_[0-9]{6,8}_[A-Z0-9]{32}\b", "«pk_{d:8}_{A:32}»"),
    tok!("figma-pat", "saas", "Figma personal access token", ["figd_"], r"figd_[A-Za-z0-9_\-]{40}", "«figd_{u:40}»"),
    keyed!("miro-token", "saas", "Miro access token", "miro", r"[A-Za-z0-9_\-]{27,}", "eyJtaXJv{u:30}"),
    tok!("dropbox-token", "saas", "Dropbox short-lived access token", ["sl."], r"sl\.[A-Za-z0-9_\-]{130,}", "«sl.{u:140}»").max(2048),
    keyed!("dropbox-long-lived-token", "saas", "Dropbox long-lived / refresh token", "dropbox", r"[A-Za-z0-9_\-]{43,64}", "{u:64}"),
    tok!("typeform-token", "saas", "Typeform personal access token", ["tfp_"], r"tfp_[A-Za-z0-9_.=\-]{59}", "«tfp_{u:59}»"),
    keyed!("calendly-token", "saas", "Calendly personal access token", "calendly", r"eyJ[A-Za-z0-9_.\-]{100,}", "eyJ{u:120}"),
    keyed!("twilio-api-key", "chat", "Twilio API key SID or auth token", "twilio", r"SK[0-9a-fA-F]{32}|[0-9a-f]{32}", "{h:32}"),
    tok!("sendgrid-api-key", "chat", "SendGrid API key", ["sg."], r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}", "«SG.{u:22}.{u:43}»"),
    tok!("mailgun-api-key", "chat", "Mailgun API key", ["key-"], r"key-[a-f0-9]{32}\b", "«key-{h:32}»"),
    keyed!("mailgun-signing-key", "chat", "Mailgun private / webhook signing key", "mailgun", r"[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}", "{h:32}-{h:8}-{h:8}"),
    raw!("mailchimp-api-key", "chat", "Mailchimp API key", ["-us"], r"\b[a-f0-9]{32}-us[0-9]{1,2}\b", "«{h:32}-us14»").lead(32),
    keyed!("postmark-token", "chat", "Postmark server / account token", "postmark", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("mailjet-secret", "chat", "Mailjet API secret", "mailjet", r"[a-f0-9]{32}", "{h:32}"),
    tok!("brevo-api-key", "chat", "Brevo (Sendinblue) API key", ["xkeysib-"], r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}\b", "«xkeysib-{h:64}-{a:16}»"),
    tok!("brevo-smtp-key", "chat", "Brevo (Sendinblue) SMTP key", ["xsmtpsib-"], r"xsmtpsib-[a-f0-9]{64}-[A-Za-z0-9]{16}\b", "«xsmtpsib-{h:64}-{a:16}»"),
    keyed!("mandrill-api-key", "chat", "Mandrill API key", "mandrill", r"[A-Za-z0-9_\-]{22}", "{u:22}"),
    keyed!("sparkpost-api-key", "chat", "SparkPost API key", "sparkpost", r"[a-f0-9]{40}", "{h:40}"),
    tok!("resend-api-key", "chat", "Resend API key", ["re_"], r"re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}\b", "«re_{a:8}_{a:24}»"),
    keyed!("messagebird-api-key", "chat", "MessageBird API key", "messagebird", r"[A-Za-z0-9]{25}", "{a:25}"),
    keyed!("vonage-api-secret", "chat", "Vonage (Nexmo) API secret", "vonage", r"[A-Za-z0-9]{16}", "{a:16}"),
    keyed!("nexmo-api-secret", "chat", "Nexmo API secret", "nexmo", r"[A-Za-z0-9]{16}", "{a:16}"),
    keyed!("plivo-auth-token", "chat", "Plivo auth token", "plivo", r"[A-Za-z0-9]{40}", "{a:40}"),
    keyed!("telnyx-api-key", "chat", "Telnyx API key", "telnyx", r"KEY[0-9A-F]{32}_[A-Za-z0-9]{22}", "KEY{H:32}_{a:22}"),
    keyed!("pusher-secret", "chat", "Pusher app secret", "pusher", r"[a-f0-9]{20}", "{h:20}"),
    keyed!("ably-api-key", "chat", "Ably API key", "ably", r"[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{6}:[A-Za-z0-9_=\-]{43}", "{u:6}.{u:6}:{u:43}"),
    tok!("contentful-pat", "saas", "Contentful personal access token", ["cfpat-"], r"CFPAT-[A-Za-z0-9_\-]{43}", "«CFPAT-{u:43}»"),
    keyed!("sanity-token", "saas", "Sanity API token", "sanity", r"sk[A-Za-z0-9]{79}", "sk{a:79}"),
    tok!("readme-api-key", "saas", "ReadMe API key", ["rdme_"], r"rdme_[a-z0-9]{70}\b", "«rdme_{l:70}»"),
    tok!("postman-api-key", "saas", "Postman API key", ["pmak-"], r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}\b", "«PMAK-{h:24}-{h:34}»"),
    tok!("prefect-api-key", "saas", "Prefect API key", ["pnu_"], r"pnu_[A-Za-z0-9]{36}\b", "«pnu_{a:36}»"),
    tok!("frameio-token", "saas", "Frame.io API token", ["fio-u-"], r"fio-u-[A-Za-z0-9_=\-]{64}", "«fio-u-{u:64}»"),
    tok!("scalingo-token", "cloud", "Scalingo API token", ["tk-us-"], r"tk-us-[A-Za-z0-9_\-]{48}", "«tk-us-{u:48}»"),
    tok!("adafruit-io-key", "saas", "Adafruit IO key", ["aio_"], r"aio_[A-Za-z0-9]{28}\b", "«aio_{a:28}»"),
    tok!("yandex-api-key", "cloud", "Yandex Cloud API key", ["aqvn"], r"AQVN[A-Za-z0-9_\-]{35,38}", "«AQVN{u:36}»"),
    tok!("yandex-iam-token", "cloud", "Yandex Cloud IAM token", ["t1."], r"t1\.[A-Za-z0-9_\-]+={0,2}\.[A-Za-z0-9_\-]{86}={0,2}", "«t1.{u:40}.{u:86}»"),
    tok!("yandex-oauth-token", "cloud", "Yandex OAuth token", ["y0_", "y1_", "y2_", "y3_"], r"y[0-3]_[A-Za-z0-9_\-]{55}", "«y0_{u:55}»"),
    // ---------------------------------------------------------------- observability
    tok!("dynatrace-token", "observability", "Dynatrace API token", ["dt0c01."], r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}\b", "«dt0c01.{A:24}.{A:64}»"),
    tok!("newrelic-user-api-key", "observability", "New Relic user API key", ["nrak-"], r"NRAK-[A-Z0-9]{27}\b", "«NRAK-{A:27}»"),
    tok!("newrelic-insert-key", "observability", "New Relic insights insert key", ["nrii-"], r"NRII-[A-Za-z0-9_\-]{32}", "«NRII-{u:32}»"),
    tok!("newrelic-browser-key", "observability", "New Relic browser API token", ["nrjs-"], r"NRJS-[a-f0-9]{19}\b", "«NRJS-{h:19}»"),
    tok!("newrelic-admin-key", "observability", "New Relic admin API key", ["nraa-"], r"NRAA-[a-f0-9]{27}\b", "«NRAA-{h:27}»"),
    keyed!("newrelic-license-key", "observability", "New Relic license key", "newrelic", r"[a-f0-9]{36}NRAL|[a-f0-9]{40}", "{h:36}NRAL"),
    tok!("grafana-cloud-token", "observability", "Grafana Cloud API token", ["glc_"], r"glc_[A-Za-z0-9+/]{32,}={0,2}", "«glc_{a:120}»"),
    tok!("grafana-service-account-token", "observability", "Grafana service account token", ["glsa_"], r"glsa_[A-Za-z0-9]{32}_[a-f0-9]{8}\b", "«glsa_{a:32}_{h:8}»"),
    tok!("grafana-api-key", "observability", "Grafana API key (legacy)", ["eyjrijoi"], r"eyJrIjoi[A-Za-z0-9_=\-]{70,400}", "«eyJrIjoi{u:100}»"),
    raw!("datadog-api-key", "observability", "Datadog API / application key variable",
        ["dd_api_key", "dd_app_key", "dd_application_key", "datadog_api_key", "datadog_app_key"],
        concat!(r"(?i:(?:dd|datadog)_(?:api|app|application)_key)", assign!(), r"(?P<s>[a-f0-9]{32}|[a-f0-9]{40})\b"),
        "DD_API_KEY=«{h:32}»\n"),
    keyed!("honeycomb-api-key", "observability", "Honeycomb API key", "honeycomb", r"hc[a-z]{2,3}_[A-Za-z0-9]{58}|[A-Za-z0-9]{22,32}", "hcaik_{a:58}"),
    keyed!("logzio-token", "observability", "Logz.io token", "logz", r"[A-Za-z]{32}", "{Q:32}"),
    keyed!("loggly-token", "observability", "Loggly customer token", "loggly", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("splunk-token", "observability", "Splunk HEC token", "splunk", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("sumologic-access-key", "observability", "Sumo Logic access key", "sumo", r"[A-Za-z0-9]{64}|[A-Za-z0-9]{14}", "{a:64}"),
    keyed!("rollbar-token", "observability", "Rollbar access token", "rollbar", r"[a-f0-9]{32}", "{h:32}"),
    keyed!("bugsnag-api-key", "observability", "Bugsnag API key", "bugsnag", r"[a-f0-9]{32}", "{h:32}"),
    tok!("posthog-personal-api-key", "observability", "PostHog personal API key", ["phx_"], r"phx_[A-Za-z0-9]{43}\b", "«phx_{a:43}»"),
    keyed!("mixpanel-secret", "observability", "Mixpanel API secret", "mixpanel", r"[a-f0-9]{32}", "{h:32}"),
    keyed!("segment-write-key", "observability", "Segment write key / token", "segment", r"[A-Za-z0-9]{32}", "{a:32}"),
    keyed!("amplitude-secret", "observability", "Amplitude secret key", "amplitude", r"[a-f0-9]{32}", "{h:32}"),
    keyed!("pagerduty-token", "observability", "PagerDuty API token", "pagerduty", r"[A-Za-z0-9_+\-]{20}", "u+{u:18}"),
    keyed!("opsgenie-api-key", "observability", "Opsgenie API key", "opsgenie", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    keyed!("lightstep-token", "observability", "Lightstep access token", "lightstep", r"[A-Za-z0-9/+]{84,}={0,2}", "{b:100}"),
    keyed!("elastic-api-key", "observability", "Elastic / Elasticsearch API key", "elastic", r"[A-Za-z0-9_=\-]{40,}", "{u:60}=="),
    keyed!("statuspage-api-key", "observability", "Statuspage API key", "statuspage", uuid!(), "{h:8}-{h:4}-{h:4}-{h:4}-{h:12}"),
    // ---------------------------------------------------------------- package registries
    tok!("npm-token", "registry", "npm access token", ["npm_"], r"npm_[A-Za-z0-9]{36}\b", "//registry.npmjs.org/:_authToken=«npm_{a:36}»\n"),
    tok!("pypi-token", "registry", "PyPI upload token", ["pypi-ageichlwas5vcmc"], r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}", "password = «pypi-AgEIcHlwaS5vcmc{u:150}»").max(4096),
    tok!("test-pypi-token", "registry", "TestPyPI upload token", ["pypi-agendgvzdc5wexbplm9yzw"], r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_\-]{50,}", "«pypi-AgENdGVzdC5weXBpLm9yZw{u:150}»").max(4096),
    tok!("crates-io-token", "registry", "crates.io API token", ["cio"], r"cio[A-Za-z0-9]{32}\b", "CARGO_REGISTRY_TOKEN=«cio{a:32}»").ent(3.5),
    tok!("dockerhub-pat", "registry", "Docker Hub personal access token", ["dckr_pat_"], r"dckr_pat_[A-Za-z0-9_\-]{27}", "docker login -u me -p «dckr_pat_{u:27}»"),
    tok!("dockerhub-org-token", "registry", "Docker Hub organization access token", ["dckr_oat_"], r"dckr_oat_[A-Za-z0-9_\-]{32}", "«dckr_oat_{u:32}»"),
    tok!("rubygems-api-key", "registry", "RubyGems API key", ["rubygems_"], r"rubygems_[a-f0-9]{48}\b", "«rubygems_{h:48}»"),
    tok!("nuget-api-key", "registry", "NuGet API key", ["oy2"], r"oy2[a-z0-9]{43}\b", "«oy2{l:43}»"),
    tok!("clojars-token", "registry", "Clojars deploy token", ["clojars_"], r"CLOJARS_[a-z0-9]{60}\b", "«CLOJARS_{l:60}»"),
    keyed!("hex-pm-api-key", "registry", "Hex.pm API key", "hexpm", r"[a-f0-9]{32}", "{h:32}"),
    keyed!("quay-token", "registry", "Quay.io robot / OAuth token", "quay", r"[A-Z0-9]{64}|[A-Za-z0-9]{40}", "{A:64}"),
    keyed!("cocoapods-token", "registry", "CocoaPods trunk token", "cocoapods", r"[a-f0-9]{32}", "{h:32}"),
    raw!("sidekiq-credentials", "registry", "Sidekiq Pro / Enterprise gem credentials",
        ["bundle_enterprise__contribsys__com", "bundle_gems__contribsys__com"],
        r#"(?i:BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM)[ \t]*[=:][ \t]*["']?(?P<s>[a-f0-9]{8}:[a-f0-9]{8})\b"#,
        "export BUNDLE_ENTERPRISE__CONTRIBSYS__COM=«{h:8}:{h:8}»"),
    raw!("laravel-app-key", "generic", "Laravel APP_KEY", ["app_key"],
        r#"APP_KEY[ \t]*=[ \t]*["']?base64:(?P<s>[A-Za-z0-9+/]{43}=)"#, "APP_KEY=base64:«{b:43}=»\n"),
    // ---------------------------------------------------------------- connection strings
    uri!("postgres-uri", "PostgreSQL connection string password", ["postgres"], r"postgres(?:ql)?(?:\+[a-z0-9]+)?",
        "DATABASE_URL=postgres://app:«S3cr3t-{a:10}»@db.internal:5432/app").near("postgres://app@db:5432/app?sslmode=require"),
    uri!("mysql-uri", "MySQL / MariaDB connection string password", ["mysql", "mariadb"], r"(?:mysql|mariadb)(?:\+[a-z0-9]+)?",
        "mysql+pymysql://root:«{a:16}»@127.0.0.1:3306/shop").near("mysql://root@127.0.0.1:3306/shop"),
    uri!("mongodb-uri", "MongoDB connection string password", ["mongodb"], r"mongodb(?:\+srv)?",
        "mongodb+srv://admin:«{a:20}»@cluster0.abcde.mongodb.net/?retryWrites=true").near("mongodb://mongo-0.mongo:27017,mongo-1.mongo:27017/?replicaSet=rs0"),
    uri!("redis-uri", "Redis connection string password", ["redis"], r"rediss?",
        "REDIS_URL=redis://:«{a:24}»@cache:6379/0").near("redis://cache:6379/0"),
    uri!("amqp-uri", "AMQP (RabbitMQ) connection string password", ["amqp"], r"amqps?",
        "amqp://guest:«{a:18}»@rabbit:5672/vhost").near("amqp://rabbit:5672/vhost"),
    uri!("mssql-uri", "SQL Server connection string password", ["sqlserver", "mssql"], r"(?:sqlserver|mssql)(?:\+[a-z0-9]+)?",
        "mssql+pyodbc://sa:«{a:18}»@sql:1433/db").near("mssql://sql:1433/db"),
    uri!("clickhouse-uri", "ClickHouse connection string password", ["clickhouse"], r"clickhouse(?:\+[a-z0-9]+)?",
        "clickhouse://default:«{a:18}»@ch:9000/db").near("clickhouse://ch:9000/db"),
    uri!("ldap-uri", "LDAP URL with credentials", ["ldap"], r"ldaps?", "ldaps://cn=admin:«{a:16}»@ldap.internal").near("ldaps://ldap.internal:636/dc=corp"),
    uri!("ftp-uri", "FTP / SFTP URL with credentials", ["ftp"], r"s?ftps?", "ftp://deploy:«{a:16}»@files.internal/upload").near("ftp://files.internal/pub/"),
    uri!("smtp-uri", "SMTP URL with credentials", ["smtp"], r"smtps?", "smtp://mailer:«{a:16}»@smtp.internal:587").near("smtp://smtp.internal:587"),
    raw!("url-password", "database", "Password in any URL's userinfo", ["://"],
        r#"://[^\s:/?#@\[\]"'<>]*:(?P<s>[^\s/?#@"'<>]+)@"#,
        "git clone https://deploy:«{a:16}»@git.internal/team/repo.git").near("see https://example.com:8443/path?q=a:b and ssh://git@host:22/repo"),
    raw!("odbc-password", "database", "Password in an ODBC / ADO.NET connection string", ["pwd="],
        r#"(?i:pwd)=(?P<sb>[^;\s'"]{8,})"#, "Driver={ODBC Driver 18};Server=db;Uid=sa;Pwd=«{a:12}9»;").check(Check::Generic).ent(2.5).near("PWD=/home/me"),
    raw!("redis-cli-password", "database", "Password passed to redis-cli -a", ["redis-cli"],
        r#"redis-cli\b[^\n]{0,100}?[ \t]-a[ \t]+["']?(?P<s>[^\s'"]{8,})"#, "redis-cli -h cache -a «{a:20}» ping").ent(2.5).near("redis-cli -h cache ping"),
    // ---------------------------------------------------------------- auth headers, cookies, tokens
    tok!("jwt", "auth", "JSON Web Token", ["eyj"], r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*", "cookie session=«eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{u:40}.{u:43}»; Path=/")
        .max(8192),
    raw!("authorization-header", "auth", "Authorization / Proxy-Authorization header credential", ["authorization"],
        concat!(r#"(?i)authorization\\?["']?[ \t]*[:=][ \t]*\\?["']?"#,
            r"(?:bearer|basic|token|digest|apikey|sso-key|ssws|otoken|oauth)[ \t]+(?P<s>[A-Za-z0-9._~+/=:\-]{8,})"),
        "curl -H \"Authorization: Bearer «{a:40}»\" https://api.internal/v1").check(Check::Token).near("Authorization: Bearer short"),
    raw!("bearer-token", "auth", "Bearer credential outside an Authorization header", ["bearer"],
        r"(?i:bearer)[ \t]+(?P<s>[A-Za-z0-9._~+/\-]{20,}=*)", "http GET api.internal/v1 'Bearer «{a:32}»'").ent(3.0).check(Check::Token).near("token_type: Bearer"),
    raw!("basic-auth-credential", "auth", "Basic credential (base64 user:password)", ["basic "],
        r"(?i:basic)[ \t]+(?P<s>[A-Za-z0-9+/]{12,}={0,2})(?:[^A-Za-z0-9+/=]|\z)", "proxy header Basic «{b:30}==»\n").ent(3.0).check(Check::Token).near("Basic authentication is disabled"),
    raw!("api-key-header", "auth", "API key request header (X-API-Key, api-key, X-Auth-Token)",
        ["x-api-key", "x-auth-token", "x-access-token", "api-key:", "x-goog-api-key", "x-apikey"],
        r#"(?i:x-api-key|x-auth-token|x-access-token|api-key|x-goog-api-key|x-apikey)\\?["']?[ \t]*:[ \t]*\\?["']?(?P<s>[A-Za-z0-9._~+/=\-]{16,})"#,
        "curl -H 'X-Auth-Token: «{a:32}»' https://api").ent(3.0).check(Check::Token).near("X-API-Key: $API_KEY"),
    raw!("cookie-header", "auth", "Cookie / Set-Cookie header value", ["cookie"],
        r#"(?i:cookie)\\?["']?[ \t]*:[ \t]*\\?["']?(?P<s>[^\s"'\\;=]+=[^\r\n"\\]{8,})"#,
        "Cookie: «session={a:32}; theme=dark»\r\n").ent(3.0).max(8192).near("cookie: none"),
    raw!("session-cookie", "auth", "Session cookie or parameter value",
        ["sessionid=", "session_id=", "phpsessid=", "jsessionid=", "connect.sid=", "_session="],
        r"(?i:sessionid|session_id|phpsessid|jsessionid|connect\.sid|_session)=(?P<s>[A-Za-z0-9%._~+/\-]{16,}={0,2})",
        "GET /app;jsessionid=«{A:32}» HTTP/1.1").ent(3.0).check(Check::Token).near("session_id=abc"),
    raw!("netrc-password", "auth", "Password in a .netrc entry", ["machine"],
        r"machine[ \t]+\S+[ \t\r\n]+login[ \t]+\S+[ \t\r\n]+password[ \t]+(?P<s>\S{4,})",
        "machine api.heroku.com\n  login me@example.org\n  password «{a:20}»\n").near("machine build login deploy"),
    raw!("curl-user-password", "auth", "Password in curl --user / -u", ["--user", "-u "],
        r#"(?:--user|-u)[ =]+["']?[^:\s'"]+:(?P<s>[^\s'"]{6,})"#, "curl -u admin:«{a:16}» https://api").ent(2.5).near("sort -u file.txt"),
    raw!("cli-password-flag", "generic", "Secret passed as a command-line flag",
        ["--password", "--passwd", "--token", "--api-key", "--secret", "--client-secret", "--auth-token"],
        r#"--(?:password|passwd|token|api-key|secret|client-secret|auth-token)(?:[ \t]+|=)["']?(?P<sb>[^\s'"\-][^\s'"]{7,})"#,
        "mysql --user root --password «{a:14}7» db").check(Check::Generic).ent(2.5).near("read -s --password-stdin"),
    tok!("bitcoin-wif-key", "crypto", "Bitcoin private key (WIF) in an assignment", ["wif"], r"(?i:wif)[\w.\-]{0,16}[ \t]*[:=][ \t]*[\x22']?(?P<s>[5KL][1-9A-HJ-NP-Za-km-z]{50,51})\b", "WIF_KEY=«K{B:51}»").ent(3.5),
    keyed!("ethereum-private-key", "crypto", "Ethereum private key (hex) in an assignment", "eth", r"(?:0x)?[a-fA-F0-9]{64}", "0x{h:64}"),
    // ---------------------------------------------------------------- generic
    raw!("generic-secret", "generic", "Secret-looking value assigned to a password / secret / token / key name",
        ["password", "passwd", "passphrase", "secret", "token", "api_key", "apikey", "api-key",
         "access_key", "accesskey", "access-key", "auth", "credential", "private_key", "private-key",
         "signing_key", "encryption_key", "master_key"],
        concat!(
            r"(?i:(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|auth|credentials?",
            r"|private[_-]key|signing_key|encryption_key|master_key)(?:[_.\-]?key)?)",
            r#"\\?["']?[ \t]*(?::=|=>|[:=])[ \t]*"#,
            r#"(?:\\"(?P<s1>[^"\\\r\n]{8,})\\""#,
            r#"|"(?P<s2>(?:[^"\\\r\n]|\\[^\r\n]){8,})""#,
            r#"|'(?P<s3>[^'\r\n]{8,})'"#,
            r#"|(?P<sb>[^\s"'`\\,;&<>(){}\[\]:=][^\s"'`\\,;&<>(){}\[\]=]{7,}=*))"#
        ),
        "DB_PASSWORD=«hunter2-{a:8}»\n").check(Check::Generic).ent(2.5)
        .near("let token = read_token(&path)?;"),
];
