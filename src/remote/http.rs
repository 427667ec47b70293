//! One long-lived HTTP client for the DashClaw API, and the failure taxonomy the fail-closed
//! rules are written against.
//!
//! Connections are pooled and kept alive (HTTP/2 when the server offers it over TLS), so a
//! governed call costs one warm round trip. Every failure is classified ([`ApiError`]) so the
//! agent and the ledger are told the real cause: a bad key is never reported as "unreachable".

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::config::Settings;

/// The longest error or body excerpt we keep for messages.
const EXCERPT: usize = 200;
/// The largest answer we read (policy lists are the biggest legitimate ones, far below this).
const MAX_RESPONSE: usize = 16 << 20;

/// A successful exchange: any status the caller handles itself, with a JSON body.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Value,
}

/// Why a call produced no usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The host name did not resolve.
    Dns(String),
    /// Nothing accepted the connection (refused, no route, reset before an answer).
    Unreachable(String),
    /// The TLS handshake or the certificate check failed.
    Tls(String),
    /// No complete answer within the budget.
    Timeout(Duration),
    /// 401: the key is missing, unknown or revoked.
    Unauthorized(String),
    /// 401 `SIGNATURE_REQUIRED` / `INVALID_AGENT_SIGNATURE`: the key is fine, the action record
    /// needs the agent's signature (or one the server can verify).
    Signature { code: String, message: String },
    /// 403 without a verdict: a readonly key, or a policy of the auth layer.
    Forbidden(String),
    /// 413: the request body was over the server's limit.
    TooLarge,
    /// 429, with the server's `Retry-After`.
    RateLimited(Option<Duration>),
    /// 5xx, with the server's error code when it gave one.
    Server {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// 404 served as an HTML page: the route does not exist on this server version.
    NoRoute,
    /// Any other 4xx: the server refuses this request as it is.
    Rejected { status: u16, message: String },
    /// A 2xx/4xx whose body is not JSON.
    Garbage { status: u16, excerpt: String },
    /// The connection closed in the middle of the answer.
    Truncated(String),
}

impl ApiError {
    /// Worth another attempt later (network trouble, overload); the others need a human or a
    /// different request.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::Dns(_)
                | ApiError::Unreachable(_)
                | ApiError::Timeout(_)
                | ApiError::RateLimited(_)
                | ApiError::Server { .. }
                | ApiError::Truncated(_)
                | ApiError::Garbage { .. }
                | ApiError::Tls(_)
        )
    }

    /// A short machine tag for the ledger and orphan records.
    pub fn tag(&self) -> &'static str {
        match self {
            ApiError::Dns(_) => "dns",
            ApiError::Unreachable(_) => "unreachable",
            ApiError::Tls(_) => "tls",
            ApiError::Timeout(_) => "timeout",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Signature { .. } => "signature",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::TooLarge => "too_large",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Server { .. } => "server_error",
            ApiError::NoRoute => "no_route",
            ApiError::Rejected { .. } => "rejected",
            ApiError::Garbage { .. } => "garbage",
            ApiError::Truncated(_) => "truncated",
        }
    }

    /// Whether the failure means "we are not allowed in" rather than "we could not talk".
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ApiError::Unauthorized(_) | ApiError::Forbidden(_) | ApiError::Signature { .. }
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Dns(d) => write!(f, "cannot resolve the server's host name ({d})"),
            ApiError::Unreachable(d) => write!(f, "is unreachable ({d})"),
            ApiError::Tls(d) => write!(f, "failed the TLS handshake ({d})"),
            ApiError::Timeout(t) => write!(f, "did not answer within {:.1}s", t.as_secs_f64()),
            ApiError::Unauthorized(m) => write!(
                f,
                "is unauthorized - invalid or missing API key (HTTP 401: {m}); check DASHCLAW_API_KEY"
            ),
            ApiError::Signature { code, message } => write!(
                f,
                "refused the action record's agent signature (HTTP 401 {code}: {message}); pair the agent with `dashclawd identity pair`"
            ),
            ApiError::Forbidden(m) => {
                write!(f, "refused the API key (HTTP 403: {m}); check the key's role")
            }
            ApiError::TooLarge => write!(f, "refused the request as too large (HTTP 413)"),
            ApiError::RateLimited(Some(d)) => write!(
                f,
                "is rate limiting this machine (HTTP 429, retry after {}s)",
                d.as_secs()
            ),
            ApiError::RateLimited(None) => write!(f, "is rate limiting this machine (HTTP 429)"),
            ApiError::Server {
                status,
                code,
                message,
            } => match code {
                Some(c) => write!(f, "failed with HTTP {status} {c}: {message}"),
                None => write!(f, "failed with HTTP {status}: {message}"),
            },
            ApiError::NoRoute => write!(f, "does not have this endpoint (HTTP 404 page)"),
            ApiError::Rejected { status, message } => {
                write!(f, "rejected the request (HTTP {status}: {message})")
            }
            ApiError::Garbage { status, excerpt } => {
                write!(f, "answered HTTP {status} with a body that is not JSON: {excerpt:?}")
            }
            ApiError::Truncated(d) => write!(f, "cut the answer short ({d})"),
        }
    }
}

/// The DashClaw API over one pooled client.
#[derive(Debug, Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    /// The OIDC bearer token, when configured (newest servers verify it).
    token: Option<std::sync::Arc<super::token::TokenSource>>,
}

impl Api {
    pub fn new(settings: &Settings) -> Result<Api, String> {
        let mut headers = HeaderMap::new();
        let mut key = HeaderValue::from_str(settings.api_key.expose())
            .map_err(|_| "the API key contains characters a header cannot carry".to_string())?;
        // Keeps the key out of reqwest's own debug output.
        key.set_sensitive(true);
        headers.insert("x-api-key", key);
        // reqwest is built without a crypto provider (Cargo.toml): use ring. An error only means
        // a provider is already installed, which is then the one used.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("dashclawd/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(settings.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(32)
            .tcp_keepalive(Duration::from_secs(30))
            .tcp_nodelay(true)
            // Redirects would resend the key to wherever the server points; refuse them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Api {
            client,
            base: settings.base_url.clone(),
            token: settings
                .auth_token
                .clone()
                .map(|t| std::sync::Arc::new(super::token::TokenSource::new(t))),
        })
    }

    pub fn token_source(&self) -> Option<&super::token::TokenSource> {
        self.token.as_deref()
    }

    /// Adds `Authorization: Bearer` when a token is configured (a sensitive header, so it never
    /// shows in reqwest's debug output).
    async fn with_token(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let Some(src) = &self.token else { return req };
        match src.get().await {
            Some(t) => match HeaderValue::from_str(&format!("Bearer {}", t.expose())) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    req.header(reqwest::header::AUTHORIZATION, v)
                }
                Err(_) => req,
            },
            None => req,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// The underlying client, for streaming requests (SSE).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends one JSON request and classifies the answer. Statuses that carry a meaningful
    /// JSON body (2xx, 400, 402, 403 with a verdict, 404 JSON, 409, 410) come back as `Ok`;
    /// the caller decides what they mean.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<ApiResponse, ApiError> {
        let mut req = self
            .with_token(self.client.request(method, self.url(path)).timeout(timeout))
            .await;
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(b).unwrap_or_default());
        }
        self.send(req, timeout).await
    }

    /// Sends a body that is already encoded (compressed ingest batches), with extra headers.
    pub async fn call_raw(
        &self,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<ApiResponse, ApiError> {
        let mut req = self
            .client
            .post(self.url(path))
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, timeout).await
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<ApiResponse, ApiError> {
        let resp = req.send().await.map_err(|e| classify_send(&e, timeout))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let is_html = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("text/html"));
        // Read in pieces with a cap: a broken or hostile server must not fill our memory.
        let mut bytes = Vec::new();
        let mut resp = resp;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_RESPONSE {
                        return Err(ApiError::Garbage {
                            status: status.as_u16(),
                            excerpt: format!("an answer over {} MiB", MAX_RESPONSE >> 20),
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(ApiError::Timeout(timeout)),
                Err(e) => return Err(ApiError::Truncated(chain(&e))),
            }
        }
        interpret(status, retry_after, is_html, &bytes)
    }
}

/// Maps a status and body to the taxonomy.
fn interpret(
    status: StatusCode,
    retry_after: Option<Duration>,
    is_html: bool,
    bytes: &[u8],
) -> Result<ApiResponse, ApiError> {
    let code = status.as_u16();
    let json: Option<Value> = serde_json::from_slice(bytes).ok();
    let error_text = json
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .map(|s| truncate(s, EXCERPT))
        .unwrap_or_else(|| excerpt(bytes));
    let error_text = || error_text.clone();
    let body_code = json
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_str);
    match code {
        401 if matches!(
            body_code,
            Some("SIGNATURE_REQUIRED" | "INVALID_AGENT_SIGNATURE")
        ) || error_text().to_ascii_lowercase().contains("signature") =>
        {
            let code = body_code.map(str::to_owned).unwrap_or_else(|| {
                if error_text().to_ascii_lowercase().contains("invalid") {
                    "INVALID_AGENT_SIGNATURE".into()
                } else {
                    "SIGNATURE_REQUIRED".into()
                }
            });
            return Err(ApiError::Signature {
                code,
                message: error_text(),
            });
        }
        401 => return Err(ApiError::Unauthorized(error_text())),
        413 => return Err(ApiError::TooLarge),
        429 => return Err(ApiError::RateLimited(retry_after)),
        404 if is_html || json.is_none() => return Err(ApiError::NoRoute),
        500..=599 => {
            return Err(ApiError::Server {
                status: code,
                code: json
                    .as_ref()
                    .and_then(|v| v.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                message: error_text(),
            })
        }
        _ => {}
    }
    let Some(body) = json else {
        if bytes.is_empty() && (200..300).contains(&code) && code != 200 {
            // 204-style answers carry nothing to read.
            return Ok(ApiResponse {
                status: code,
                body: Value::Null,
            });
        }
        return Err(ApiError::Garbage {
            status: code,
            excerpt: excerpt(bytes),
        });
    };
    match code {
        200..=299 | 400 | 402 | 403 | 404 | 409 | 410 => Ok(ApiResponse { status: code, body }),
        _ => Err(ApiError::Rejected {
            status: code,
            message: error_text(),
        }),
    }
}

/// `Retry-After` as seconds (the server sends `60`); HTTP dates are rare enough to ignore.
fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Classifies a failure before any status arrived.
fn classify_send(e: &reqwest::Error, timeout: Duration) -> ApiError {
    let text = chain(e);
    let lower = text.to_ascii_lowercase();
    if e.is_timeout() {
        return ApiError::Timeout(timeout);
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        return ApiError::Dns(text);
    }
    if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
    {
        return ApiError::Tls(text);
    }
    if e.is_connect() {
        return ApiError::Unreachable(text);
    }
    if lower.contains("connection closed") || lower.contains("incomplete") {
        return ApiError::Truncated(text);
    }
    ApiError::Unreachable(text)
}

/// The error and its sources on one line ("error sending request: … : connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    truncate(&out, 400)
}

fn excerpt(bytes: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(bytes), EXCERPT)
}

fn truncate(s: &str, max: usize) -> String {
    crate::util::text::ellipsize_bytes(s, max).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: u16, html: bool, body: &str) -> Result<ApiResponse, ApiError> {
        interpret(
            StatusCode::from_u16(code).unwrap(),
            Some(Duration::from_secs(60)),
            html,
            body.as_bytes(),
        )
    }

    #[test]
    fn statuses_map_to_causes() {
        assert!(
            matches!(run(401, false, r#"{"error":"Unauthorized - Invalid or missing API key"}"#), Err(ApiError::Unauthorized(m)) if m.contains("Invalid"))
        );
        assert_eq!(run(413, false, "{}").unwrap_err(), ApiError::TooLarge);
        assert_eq!(
            run(429, false, "{}").unwrap_err(),
            ApiError::RateLimited(Some(Duration::from_secs(60)))
        );
        assert!(
            matches!(run(503, false, r#"{"error":"x","code":"DB_CONNECTION_FAILED"}"#), Err(ApiError::Server{status:503, code:Some(c), ..}) if c=="DB_CONNECTION_FAILED")
        );
        assert!(matches!(
            run(502, false, "<html>bad gateway</html>"),
            Err(ApiError::Server { status: 502, .. })
        ));
        assert_eq!(
            run(404, true, "<!DOCTYPE html>").unwrap_err(),
            ApiError::NoRoute
        );
        assert_eq!(
            run(404, false, r#"{"error":"Action not found"}"#)
                .unwrap()
                .status,
            404
        );
        assert!(matches!(
            run(200, false, "hello"),
            Err(ApiError::Garbage { status: 200, .. })
        ));
        assert!(matches!(run(200, false, ""), Err(ApiError::Garbage { .. })));
        assert_eq!(
            run(403, false, r#"{"decision":"block"}"#).unwrap().status,
            403
        );
        assert!(matches!(
            run(418, false, r#"{"error":"teapot"}"#),
            Err(ApiError::Rejected { status: 418, .. })
        ));
    }

    #[test]
    fn signature_refusals_are_not_a_bad_key() {
        let sig = |body: &str| match run(401, false, body) {
            Err(ApiError::Signature { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            sig(r#"{"error":"Signature required","code":"SIGNATURE_REQUIRED"}"#),
            "SIGNATURE_REQUIRED"
        );
        assert_eq!(
            sig(r#"{"error":"Signature required for action records in production"}"#),
            "SIGNATURE_REQUIRED"
        );
        assert_eq!(
            sig(r#"{"error":"Invalid agent signature"}"#),
            "INVALID_AGENT_SIGNATURE"
        );
        assert!(matches!(
            run(
                401,
                false,
                r#"{"error":"Unauthorized - Invalid or missing API key"}"#
            ),
            Err(ApiError::Unauthorized(_))
        ));
        let e = ApiError::Signature {
            code: "SIGNATURE_REQUIRED".into(),
            message: "x".into(),
        };
        assert!(e.is_auth() && !e.is_transient());
        assert!(e.to_string().contains("dashclawd identity pair"));
    }

    #[test]
    fn messages_name_the_cause() {
        let unauthorized = ApiError::Unauthorized("Invalid".into()).to_string();
        assert!(unauthorized.contains("API key") && !unauthorized.contains("unreachable"));
        assert!(ApiError::Timeout(Duration::from_secs(5))
            .to_string()
            .contains("5.0s"));
    }
}
