//! The fake DashClaw server's own tests: it must behave as dashclaw-server-api.md says, in both
//! flavors, before other tests trust it.

use dashclaw_testkit::fake_dashclaw;

use std::io::Write;
use std::time::{Duration, Instant};

use fake_dashclaw::{FakeDashClaw, Fault, Flavor, GuardAnswer};
use serde_json::{json, Value};

/// A reqwest client builder with the crypto provider the daemon uses (reqwest is built without
/// one; src/remote/http.rs installs ring the same way).
fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

struct Reply {
    status: u16,
    text: String,
    json: Value,
    headers: reqwest::header::HeaderMap,
}

struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    fn new(fake: &FakeDashClaw) -> Api {
        Api {
            client: http()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
            base: fake.url(),
            key: fake.api_key(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> reqwest::Result<Reply> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .header("x-api-key", &self.key);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            text,
            json,
            headers,
        })
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.send(method, path, body).await.expect("request")
    }
    async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call("PATCH", path, Some(body)).await
    }
}

fn action_body(kind: &str) -> Value {
    json!({"agent_id": "agent-1", "action_type": kind, "declared_goal": "run the tests"})
}

fn is_html_404(r: &Reply) -> bool {
    r.status == 404 && r.text.starts_with("<!DOCTYPE html>") && r.json.is_null()
}

/// Reads SSE text until `pred` holds on everything read so far.
async fn read_sse_until(resp: &mut reqwest::Response, pred: impl Fn(&str) -> bool) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pred(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("SSE timed out; got so far:\n{seen}"))
            .expect("SSE chunk")
            .unwrap_or_else(|| panic!("SSE ended; got:\n{seen}"));
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

async fn open_stream(api: &Api, last_event_id: Option<&str>) -> reqwest::Response {
    let client = http().build().unwrap();
    let mut req = client
        .get(format!("{}/api/stream", api.base))
        .header("x-api-key", &api.key)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    req.send().await.expect("stream")
}

#[tokio::test]
async fn health_is_public_and_the_key_is_required() {
    for flavor in [Flavor::Newest, Flavor::V2] {
        let fake = FakeDashClaw::start(flavor);
        assert!(fake.api_key().starts_with("oc_live_"));
        let anon = http().build().unwrap();
        let health = anon
            .get(format!("{}/api/health", fake.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let health: Value = serde_json::from_str(&health.text().await.unwrap()).unwrap();
        assert_eq!(health["status"], "healthy");
        match flavor {
            Flavor::V2 => {
                assert_eq!(health["version"], "2.0.0");
                assert!(health.get("mode").is_none());
            }
            Flavor::Newest => {
                assert_ne!(health["version"], "2.0.0");
                assert!(health["mode"].is_string());
            }
        }
        let denied = anon
            .post(format!("{}/api/guard", fake.url()))
            .header("x-api-key", "oc_live_wrong")
            .body(r#"{"action_type":"test"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status(), 401);
        assert_eq!(
            denied.text().await.unwrap(),
            r#"{"error":"Unauthorized - Invalid or missing API key"}"#
        );
    }
}

#[tokio::test]
async fn guard_newest_answers_200_with_a_decision_id() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    fake.set_decision("block");
    let r = api
        .post(
            "/api/guard",
            json!({"action": "deploy", "intent": "ship it", "risk_score": 10}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["decision"], "block");
    let id = r.json["decision_id"].as_str().unwrap();
    assert!(id.starts_with("act_gd_") && id.len() == 7 + 16, "{id}");
    assert_eq!(r.json["action_id"], id);
    assert!(r.json["reasons"][0].as_str().is_some());
    assert!(r.headers.contains_key("server-timing"));
    assert_eq!(
        r.json["risk_score"], 75,
        "the deploy base score wins over the client's 10"
    );

    // Integer validation, in both flavors.
    let r = api
        .post(
            "/api/guard",
            json!({"action_type": "test", "risk_score": 85.5}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text.contains("risk_score must be an integer"),
        "{}",
        r.text
    );

    // The event was published.
    assert!(fake
        .events()
        .iter()
        .any(|e| e.name == "guard.decision.created" && e.data["id"] == id));
}

#[tokio::test]
async fn guard_v2_answers_403_without_ids_and_rejects_aliases() {
    let fake = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&fake);
    for (decision, status) in [
        ("allow", 200),
        ("warn", 200),
        ("require_approval", 403),
        ("block", 403),
    ] {
        fake.set_decision(decision);
        let r = api
            .post(
                "/api/guard?record=true",
                json!({"action_type": "deploy", "agent_id": "a", "declared_goal": "g"}),
            )
            .await;
        assert_eq!(r.status, status, "{decision}");
        assert_eq!(r.json["decision"], decision);
        assert_eq!(
            r.json["risk_score"],
            Value::Null,
            "v2 echoes the absent client score"
        );
        for absent in ["decision_id", "action_id", "recorded"] {
            assert!(r.json.get(absent).is_none(), "{absent} on v2");
        }
    }
    assert!(fake.actions().is_empty(), "record=true is ignored on v2");
    let r = api
        .post("/api/guard", json!({"action": "deploy", "intent": "x"}))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("action_type is required"), "{}", r.text);
}

#[tokio::test]
async fn guard_record_true_creates_the_row_except_on_block() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    fake.set_guard(|body| {
        if body["action_type"] == "deploy" {
            GuardAnswer::require_approval("p: deploys need approval")
        } else {
            GuardAnswer::block("p: nope")
        }
    });
    let body = json!({"action_type": "deploy", "agent_id": "a", "declared_goal": "ship"});
    let r = api.post("/api/guard?record=true", body).await;
    assert_eq!(r.json["recorded"], true);
    let id = r.json["action_id"].as_str().unwrap();
    assert!(id.starts_with("act_") && !id.starts_with("act_gd_"));
    assert_ne!(r.json["decision_id"], id);
    let row = fake.action(id).unwrap();
    assert_eq!(row["status"], "pending_approval");
    assert_eq!(row["guard_decision_id"], r.json["decision_id"]);
    assert!(row["approval_expires_at"].is_string());

    let r = api
        .post(
            "/api/guard?record=true",
            json!({"action_type": "rm", "agent_id": "a", "declared_goal": "x"}),
        )
        .await;
    assert_eq!(r.json["recorded"], false);
    assert_eq!(r.json["recorded_error"], "decision is block");
    assert_eq!(r.json["action_id"], r.json["decision_id"]);
    assert_eq!(fake.actions().len(), 1);
}

#[tokio::test]
async fn guard_idempotency_replay_and_raw_answers() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let body = json!({"action_type": "test", "idempotency_key": "k1"});
    let first = api.post("/api/guard", body.clone()).await;
    assert!(first.json.get("idempotent_replay").is_none());
    fake.set_decision("block");
    let again = api.post("/api/guard", body).await;
    assert_eq!(again.json["idempotent_replay"], true);
    assert_eq!(again.json["decision"], "allow", "the prior decision");
    assert_eq!(again.json["decision_id"], first.json["decision_id"]);
    let decisions = fake
        .events()
        .iter()
        .filter(|e| e.name == "guard.decision.created")
        .count();
    assert_eq!(decisions, 1, "a replay writes no audit row");

    fake.set_answer(GuardAnswer::raw(200, r#"{"decision":"frobnicate"}"#));
    let r = api.post("/api/guard", json!({"action_type": "test"})).await;
    assert_eq!(r.text, r#"{"decision":"frobnicate"}"#);
    fake.set_answer(GuardAnswer::raw(200, r#"{"reasons":[]}"#));
    let r = api.post("/api/guard", json!({"action_type": "test"})).await;
    assert!(r.json.get("decision").is_none());
}

#[tokio::test]
async fn actions_validate_gate_and_replay() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let r = api.post("/api/actions", json!({"agent_id": "a"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"], "Validation failed");

    let r = api.post("/api/actions", action_body("conversation")).await;
    assert_eq!(r.status, 201, "free-form types on newest");
    assert_eq!(r.json["action"]["status"], "running");
    assert_eq!(r.json["action_id"], r.json["action"]["action_id"]);
    assert!(r.json["security"].is_object() && r.json["decision"]["decision"] == "allow");

    let mut keyed = action_body("test");
    keyed["idempotency_key"] = json!("k");
    let first = api.post("/api/actions", keyed.clone()).await;
    let again = api.post("/api/actions", keyed).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json["idempotent_replay"], true);
    assert_eq!(again.json["action"]["action_id"], first.json["action_id"]);

    fake.set_decision("require_approval");
    let mut wait = action_body("deploy");
    wait["approval_wait_seconds"] = json!(60);
    let r = api.post("/api/actions", wait).await;
    assert_eq!(r.status, 202);
    assert_eq!(r.json["action"]["status"], "pending_approval");
    let created =
        fake_dashclaw::parse_iso(r.json["action"]["created_at"].as_str().unwrap()).unwrap();
    let expires =
        fake_dashclaw::parse_iso(r.json["action"]["approval_expires_at"].as_str().unwrap())
            .unwrap();
    assert_eq!(expires - created, (60 + 900) * 1000);

    fake.set_decision("block");
    let r = api.post("/api/actions", action_body("deploy")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json["error"], "Action blocked by policy");
    assert_eq!(r.json["action"]["status"], "blocked");
    assert_eq!(r.json["decision"]["decision"], "block");
}

#[tokio::test]
async fn actions_v2_enum_duplicates_and_block_body() {
    let fake = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&fake);
    let r = api.post("/api/actions", action_body("conversation")).await;
    assert_eq!(r.status, 400);
    let mut body = action_body("test");
    body["action_id"] = json!("act_fixed");
    assert_eq!(api.post("/api/actions", body.clone()).await.status, 201);
    let r = api.post("/api/actions", body).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json["error"], "Action with this action_id already exists");
    fake.set_decision("block");
    let r = api.post("/api/actions", action_body("deploy")).await;
    assert_eq!(r.status, 403);
    assert!(r.json.get("action").is_none());
    assert_eq!(r.json["decision"]["decision"], "block");
    assert!(r.json["decision"].get("decision_id").is_none());
}

#[tokio::test]
async fn patch_newest_409_on_terminal_rows_v2_overwrites() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let id = api.post("/api/actions", action_body("test")).await.json["action_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/actions/{id}");
    let r = api.patch(&path, json!({"foo": 1})).await;
    assert_eq!(r.status, 400);
    assert!(r.json["error"]
        .as_str()
        .unwrap()
        .starts_with("At least one outcome field is required"));
    let r = api
        .patch(
            &path,
            json!({"status": "completed", "output_summary": "ok"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["action"]["outcome_status"], "completed");
    let r = api.patch(&path, json!({"status": "failed"})).await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json["error"],
        "Action is in a terminal state and cannot be modified"
    );
    assert_eq!(r.json["status"], "completed");
    let r = api
        .patch(
            &path,
            json!({"status": "failed", "close_if_running": true, "tokens_in": 7}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["action"]["status"], "completed");
    assert_eq!(
        r.json["action"]["tokens_in"], 7,
        "non-close fields land after the close"
    );
    let r = api.patch(&path, json!({"executed_despite": "block"})).await;
    assert_eq!(r.status, 409, "not gated");
    // The outcome route now refuses: the PATCH set outcome_status.
    let r = api
        .post(&format!("{path}/outcome"), json!({"status": "completed"}))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json["error"], "outcome already set");
    let r = api
        .patch("/api/actions/act_missing", json!({"status": "completed"}))
        .await;
    assert_eq!(r.status, 404);

    let v2 = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&v2);
    let id = api.post("/api/actions", action_body("test")).await.json["action_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/actions/{id}");
    assert_eq!(
        api.patch(&path, json!({"status": "completed"}))
            .await
            .status,
        200
    );
    let r = api.patch(&path, json!({"status": "failed"})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["action"]["status"], "failed");
    v2.set_schema_drift(true);
    assert_eq!(
        api.patch(&path, json!({"status": "completed"}))
            .await
            .status,
        500
    );
}

#[tokio::test]
async fn outcome_is_one_shot_and_absent_on_v2() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let id = api.post("/api/actions", action_body("test")).await.json["action_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/actions/{id}/outcome");
    assert_eq!(api.get(&path).await.json["status"], "pending");
    assert_eq!(
        api.post(&path, json!({"status": "failed"})).await.status,
        400
    );
    assert_eq!(
        api.post(&path, json!({"status": "partial"})).await.status,
        400
    );
    assert_eq!(
        api.post(&path, json!({"status": "bogus"})).await.json["error"],
        "Invalid status"
    );
    let r = api
        .post(
            &path,
            json!({"status": "partial", "progress": {"step": 2}, "summary": "half"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["outcome"]["status"], "partial");
    assert!(r.json["outcome"]["elapsed_ms"].is_u64());
    let r = api.post(&path, json!({"status": "completed"})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json["current_status"], "partial");
    let last = fake.events().pop().unwrap();
    assert_eq!(
        (last.name.as_str(), &last.data["status"]),
        ("action.updated", &json!("partial"))
    );

    fake.set_decision("require_approval");
    let pending = api.post("/api/actions", action_body("deploy")).await.json["action_id"].clone();
    let r = api
        .post(
            &format!("/api/actions/{}/outcome", pending.as_str().unwrap()),
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json["error"],
        "Cannot report an outcome for an action in status 'pending_approval'"
    );

    let v2 = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&v2);
    let id = api.post("/api/actions", action_body("test")).await.json["action_id"].clone();
    let r = api
        .post(
            &format!("/api/actions/{}/outcome", id.as_str().unwrap()),
            json!({"status": "completed"}),
        )
        .await;
    assert!(is_html_404(&r), "{}", r.text);
    assert!(is_html_404(&api.post("/api/assumptions", json!({})).await));
}

#[tokio::test]
async fn approvals_publish_and_replay_over_sse() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    fake.set_decision("require_approval");
    let created = api.post("/api/actions", action_body("deploy")).await;
    let id = created.json["action_id"].as_str().unwrap().to_owned();

    let mut sse = open_stream(&api, None).await;
    assert_eq!(sse.status(), 200);
    assert_eq!(sse.headers()["content-type"], "text/event-stream");
    read_sse_until(&mut sse, |s| s.contains("event: connected")).await;

    let r = api
        .post(
            &format!("/api/approvals/{id}"),
            json!({"decision": "allow"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["success"], true);
    assert_eq!(r.json["action"]["status"], "running");
    assert!(r.json["action"]["approved_by"].is_string());
    let seen = read_sse_until(&mut sse, |s| s.contains("event: action.updated")).await;
    let data = seen
        .lines()
        .skip_while(|l| *l != "event: action.updated")
        .nth(1)
        .unwrap();
    let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(data["action_id"], id.as_str());
    let r = api
        .post(
            &format!("/api/actions/{id}/approve"),
            json!({"decision": "deny"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"], "Action is not pending approval");
    assert_eq!(
        api.post("/api/approvals/act_nope", json!({"decision": "allow"}))
            .await
            .status,
        404
    );

    // Replay: everything after the action.created cursor, then `connected`.
    let events = fake.events();
    let created_ev = events.iter().find(|e| e.name == "action.created").unwrap();
    let after = events.iter().filter(|e| e.seq() > created_ev.seq()).count();
    let mut again = open_stream(&api, Some(&created_ev.id)).await;
    let text = read_sse_until(&mut again, |s| s.contains("event: connected")).await;
    assert!(text.starts_with("id: mem-"), "{text}");
    assert!(text.contains("event: action.updated"));
    assert!(!text.contains("event: action.created"));
    let connected: Value = serde_json::from_str(
        text.split("event: connected\ndata: ")
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(connected["replayed"], after);
    assert_eq!(connected["lastEventId"], created_ev.id.as_str());

    // The query-string cursor works too.
    let r = http()
        .build()
        .unwrap()
        .get(format!(
            "{}/api/stream?lastEventId={}",
            api.base, created_ev.id
        ))
        .header("x-api-key", &api.key)
        .send()
        .await
        .unwrap();
    let mut r = r;
    let text = read_sse_until(&mut r, |s| s.contains("event: connected")).await;
    assert!(text.contains(&format!("\"replayed\":{after}")), "{text}");
}

#[tokio::test]
async fn approvals_expiry_denial_and_v2_quirks() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    fake.set_decision("require_approval");
    let a = api.post("/api/actions", action_body("deploy")).await.json["action_id"].clone();
    let b = api.post("/api/actions", action_body("deploy")).await.json["action_id"].clone();
    let c = api.post("/api/actions", action_body("deploy")).await.json["action_id"].clone();
    let (a, b, c) = (
        a.as_str().unwrap(),
        b.as_str().unwrap(),
        c.as_str().unwrap(),
    );

    assert!(fake.make_overdue(a));
    let r = api
        .post(&format!("/api/approvals/{a}"), json!({"decision": "allow"}))
        .await;
    assert_eq!(r.status, 410);
    assert_eq!(r.json["code"], "APPROVAL_EXPIRED");

    assert!(fake.make_overdue(b));
    let before = fake.events().len();
    let r = api.get(&format!("/api/actions/{b}")).await;
    assert_eq!(r.json["action"]["status"], "expired", "lazy expiry on read");
    assert!(r.json.get("message_summary").is_some());
    assert_eq!(fake.events()[before].name, "action.updated");

    let row = fake.deny(c, "too risky").unwrap();
    assert_eq!(
        (row["status"].as_str(), row["error_message"].as_str()),
        (Some("failed"), Some("too risky"))
    );
    assert!(row["approved_by"].is_null());
    assert!(fake.approve(c, "me").is_err());
    assert_eq!(
        api.get("/api/actions/act_none").await.json["error"],
        "Action not found"
    );
    let listed = api.get("/api/actions?status=failed&agent_id=agent-1").await;
    assert_eq!(listed.json["total"], 1);

    let v2 = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&v2);
    v2.set_decision("require_approval");
    let id = api.post("/api/actions", action_body("deploy")).await.json["action_id"].clone();
    let id = id.as_str().unwrap();
    assert!(is_html_404(
        &api.post(
            &format!("/api/approvals/{id}"),
            json!({"decision": "allow"})
        )
        .await
    ));
    let path = format!("/api/actions/{id}/approve");
    assert_eq!(
        api.post(&path, json!({"decision": "allow"})).await.status,
        500
    );
    let r = api
        .post(&path, json!({"decision": "allow", "reasoning": "ok"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["action"]["status"], "running");
    assert!(r.json["action"].get("approved_by").is_none());
    assert!(r.json["action"]["reasoning"]
        .as_str()
        .unwrap()
        .contains("[HITL Decision: ALLOW by ]"));
    let r = api.get(&format!("/api/actions/{id}")).await;
    assert!(r.json["open_loops"].is_array());
}

#[tokio::test]
async fn heartbeat_first_call_retries() {
    let fake = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&fake);
    let body = json!({"agent_id": "a", "status": "online"});
    let r = api.post("/api/agents/heartbeat", body.clone()).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["code"], "RETRY");
    let r = api.post("/api/agents/heartbeat", body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["status"], "ok");
    assert!(r.json["timestamp"].is_string());
    assert_eq!(fake.events().last().unwrap().name, "agent.heartbeat");
    assert_eq!(
        api.post(
            "/api/agents/heartbeat",
            json!({"agent_id": "a", "status": "error"})
        )
        .await
        .status,
        400
    );
}

#[tokio::test]
async fn policies_rules_are_strings() {
    let fake = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&fake);
    let r = api
        .post("/api/policies", json!({"name": "p", "policy_type": "block_action_type", "rules": {"action_types": ["deploy"]}}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"], "rules must be a string");
    let body = json!({"name": "p", "policy_type": "block_action_type", "rules": r#"{"action_types":["deploy"]}"#});
    assert_eq!(api.post("/api/policies", body.clone()).await.status, 201);
    assert_eq!(api.post("/api/policies", body).await.status, 409);

    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let id = fake.add_policy(
        "gate",
        "require_approval",
        json!({"action_types": ["deploy"]}),
        Some(&["agent-1"]),
    );
    let r = api
        .post("/api/policies", json!({"name": "obj", "policy_type": "warn_action_type", "rules": {"action_types": ["x"]}}))
        .await;
    assert_eq!(r.status, 201);
    let list = api.get("/api/policies").await;
    let policies = list.json["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[1]["id"], id.as_str(), "newest first");
    assert!(policies[1]["id"].as_str().unwrap().starts_with("gp_"));
    assert!(policies
        .iter()
        .all(|p| p["rules"].is_string() && p["active"] == 1));
    assert_eq!(policies[1]["agent_ids"], r#"["agent-1"]"#);
    let changes: Vec<_> = fake
        .events()
        .into_iter()
        .filter(|e| e.name == "policy.updated")
        .collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].data["change_type"], "created");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn ingest_accepts_gzip_bodies_and_skips_unchanged_input() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let lines = vec![
        json!({"type": "user", "uuid": "u1", "sessionId": "s-1"}).to_string(),
        json!({"type": "assistant", "uuid": "u2", "sessionId": "s-1",
               "message": {"model": "m", "content": [{"type": "tool_use", "name": "Bash"}]}})
        .to_string(),
    ];
    let envelope = json!({"project": {"cwd": "/home/x/my repo"}, "jsonl_lines": lines}).to_string();
    let post_gz = |body: Vec<u8>| {
        api.client
            .post(format!("{}/api/code-sessions/ingest-jsonl", api.base))
            .header("x-api-key", &api.key)
            .header("content-type", "application/json")
            .header("x-dashclaw-encoding", "gzip")
            .body(body)
            .send()
    };
    let r = post_gz(gzip(envelope.as_bytes())).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["project"]["slug"], "my-repo");
    assert_eq!(v["session"]["session_uuid"], "s-1");
    assert_eq!(v["session"]["skipped"], false);
    assert_eq!(v["session"]["inserted_tool_uses"], 1);
    let again = post_gz(gzip(envelope.as_bytes())).await.unwrap();
    let v: Value = serde_json::from_str(&again.text().await.unwrap()).unwrap();
    assert_eq!(v["session"]["skipped"], true);
    assert_eq!(fake.ingested_lines("s-1"), lines);
    let recorded = fake.requests_to("/api/code-sessions/ingest-jsonl");
    assert_eq!(
        recorded[0].body_json.as_ref().unwrap()["jsonl_lines"][0],
        lines[0].as_str()
    );

    let r = post_gz(b"not gzip".to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("gzip_body_decode_failed"));
    let r = api
        .post("/api/code-sessions/ingest-jsonl", json!({"project": {}}))
        .await;
    assert_eq!(r.json["error"], "missing_jsonl_lines");
    let r = api
        .post("/api/code-sessions/ingest-live", json!({"usage": {}}))
        .await;
    assert_eq!(r.json["error"], "missing_session_uuid");
    let calls: Vec<Value> = (0..65).map(|i| json!({"name": format!("t{i}")})).collect();
    let r = api
        .post(
            "/api/code-sessions/ingest-live",
            json!({"session_uuid": "s-2", "tool_calls": calls}),
        )
        .await;
    assert_eq!(
        (r.status, r.json["error"].as_str()),
        (413, Some("too_many_tool_calls"))
    );
    let r = api
        .post(
            "/api/code-sessions/ingest-live",
            json!({"session_uuid": "s-2", "tool_calls": [{"name": "Bash"}]}),
        )
        .await;
    assert_eq!(r.json["session"]["turn_index"], 0);
    assert_eq!(r.json["session"]["inserted_tool_uses"], 1);
    assert_eq!(fake.live_turns("s-2").len(), 1);

    let v2 = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&v2);
    assert!(is_html_404(
        &api.post(
            "/api/code-sessions/ingest-live",
            json!({"session_uuid": "s"})
        )
        .await
    ));
}

#[tokio::test]
async fn body_limit_and_rate_limit() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let big = format!(
        r#"{{"action_type":"test","content":"{}"}}"#,
        "x".repeat(2_100_000)
    );
    let r = api
        .client
        .post(format!("{}/api/guard", api.base))
        .header("x-api-key", &api.key)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(
        v,
        json!({"error": "Request body too large", "maxBytes": 2_097_152})
    );

    fake.rate_limit(2);
    fake.set_retry_after(1);
    for _ in 0..2 {
        let r = api.get("/api/health").await;
        assert_eq!(r.status, 429);
        assert_eq!(r.json["error"], "Rate limit exceeded. Please slow down.");
        assert_eq!(r.headers["retry-after"], "1");
    }
    assert_eq!(api.get("/api/health").await.status, 200);
}

#[tokio::test]
async fn faults_misbehave_as_asked() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let guard = || api.send("POST", "/api/guard", Some(json!({"action_type": "test"})));

    fake.fault(
        "/api/guard",
        Fault::Status(503, r#"{"error":"x","code":"DB_CONNECTION_FAILED"}"#.into()),
        1,
    );
    assert_eq!(guard().await.unwrap().json["code"], "DB_CONNECTION_FAILED");
    fake.fault("/api/guard", Fault::Html404, 1);
    assert!(is_html_404(&guard().await.unwrap()));
    fake.fault("/api/guard", Fault::Garbage, 1);
    let r = guard().await.unwrap();
    assert_eq!((r.status, r.json.is_null()), (200, true));
    fake.fault("/api/guard", Fault::EmptyBody, 1);
    let r = guard().await.unwrap();
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    fake.fault("/api/guard", Fault::Truncated, 1);
    assert!(guard().await.is_err(), "a truncated body fails to read");
    fake.fault("/api/guard", Fault::Close, 1);
    assert!(guard().await.is_err(), "no response at all");

    fake.fault("/api/guard", Fault::Delay(Duration::from_millis(300)), 1);
    let t = Instant::now();
    assert_eq!(guard().await.unwrap().json["decision"], "allow");
    assert!(t.elapsed() >= Duration::from_millis(300));

    fake.fault("/api/guard", Fault::Hang, 1);
    let hung = tokio::time::timeout(Duration::from_millis(500), guard()).await;
    assert!(hung.is_err(), "hang never answers");
    assert_eq!(guard().await.unwrap().status, 200, "faults are used up");
    assert_eq!(
        fake.requests_to("/api/guard").len(),
        9,
        "faulted requests are recorded too"
    );
}

#[tokio::test]
async fn stop_refuses_connections_and_restart_keeps_state_and_port() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    let id = api.post("/api/actions", action_body("test")).await.json["action_id"].clone();
    let port = fake.port();
    fake.stop();
    // The pooled keep-alive connection was closed too; a fresh one is refused.
    assert!(api.send("GET", "/api/health", None).await.is_err());
    let err = Api::new(&fake)
        .send("GET", "/api/health", None)
        .await
        .err()
        .expect("refused");
    assert!(err.is_connect(), "{err:?}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    fake.restart();
    assert_eq!(fake.port(), port);
    let r = api
        .get(&format!("/api/actions/{}", id.as_str().unwrap()))
        .await;
    assert_eq!(r.status, 200, "state survives");
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    for _ in 0..5 {
        assert_eq!(
            api.post("/api/guard", json!({"action_type": "test"}))
                .await
                .status,
            200
        );
    }
    assert_eq!(fake.connections(), 1);
    let other = Api::new(&fake);
    other.get("/api/health").await;
    assert_eq!(fake.connections(), 2);

    let h2 = http().http2_prior_knowledge().build().unwrap();
    for _ in 0..3 {
        let r = h2
            .get(format!("{}/api/health", fake.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        assert_eq!(r.status(), 200);
    }
    assert_eq!(fake.connections(), 3);
}

#[tokio::test]
async fn sse_heartbeats_outages_and_dropped_streams() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let api = Api::new(&fake);
    fake.set_sse_heartbeat(Duration::from_millis(50));
    let mut sse = open_stream(&api, None).await;
    read_sse_until(&mut sse, |s| s.matches(": heartbeat\n\n").count() >= 2).await;
    fake.publish("agent.heartbeat", json!({"agent_id": "a"}));
    read_sse_until(&mut sse, |s| s.contains("event: agent.heartbeat")).await;
    fake.drop_streams();
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(Some(_)) = sse.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ends");

    fake.set_stream_unavailable(true);
    let r = api.get("/api/stream").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["error"], "Realtime backend unavailable");
}

/// No async runtime on the caller's side: plain std sockets, two requests on one connection.
#[test]
fn usable_from_synchronous_tests() {
    use std::io::{BufRead, BufReader, Read};
    let fake = FakeDashClaw::start(Flavor::V2);
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", fake.port())).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    for _ in 0..2 {
        conn.write_all(b"GET /api/health HTTP/1.1\r\nhost: x\r\n\r\n")
            .unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut len = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["version"], "2.0.0");
    }
    assert_eq!(fake.connections(), 1);
    assert_eq!(fake.requests().len(), 2);
    fake.stop();
    fake.restart();
    assert!(std::net::TcpStream::connect(("127.0.0.1", fake.port())).is_ok());
}

#[tokio::test]
async fn bad_input_gets_json_errors_not_panics() {
    for flavor in [Flavor::Newest, Flavor::V2] {
        let fake = FakeDashClaw::start(flavor);
        let api = Api::new(&fake);
        let paths = [
            ("POST", "/api/guard?record=true&x=%zz"),
            ("POST", "/api/actions"),
            ("PATCH", "/api/actions/act_x"),
            ("POST", "/api/actions/act_x/approve"),
            ("POST", "/api/policies"),
            ("POST", "/api/agents/heartbeat"),
        ];
        let bodies = [
            "",
            "nul",
            "[]",
            "42",
            r#"{"action_type":{"a":1},"risk_score":"9"}"#,
            "\u{0}\u{ff}",
        ];
        for (method, path) in paths {
            for body in bodies {
                let req = api
                    .client
                    .request(
                        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                        format!("{}{path}", api.base),
                    )
                    .header("x-api-key", &api.key)
                    .body(body);
                let r = req.send().await.expect("an answer");
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                assert!(
                    (400..600).contains(&status) && serde_json::from_str::<Value>(&text).is_ok(),
                    "{method} {path} {body:?} → {status} {text}"
                );
            }
        }
        assert_eq!(api.get("/api/health").await.status, 200);
    }
}

/// base64 of RSA PKCS#1 v1.5 / SHA-256 over the body's keys in sorted order, without spaces
/// (flat bodies only: enough for these checks, and independent of the daemon's signer).
fn sign_flat(key: &rsa::RsaPrivateKey, body: &Value) -> String {
    use base64::Engine;
    use rsa::signature::{SignatureEncoding, Signer};
    let sorted: std::collections::BTreeMap<String, Value> = body
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let text = serde_json::to_string(&sorted).unwrap();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    base64::engine::general_purpose::STANDARD.encode(signer.sign(text.as_bytes()).to_bytes())
}

#[tokio::test]
async fn v2_statuses_and_signature_enforcement_with_pairing() {
    use rsa::pkcs8::EncodePublicKey;
    let fake = FakeDashClaw::start(Flavor::V2);
    let api = Api::new(&fake);
    let mut body = action_body("test");
    body["status"] = json!("blocked");
    let r = api.post("/api/actions", body.clone()).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("status must be one of"), "{}", r.text);
    body["status"] = json!("failed");
    assert_eq!(api.post("/api/actions", body).await.status, 201);

    fake.enforce_signatures(true);
    let r = api.post("/api/actions", action_body("test")).await;
    assert_eq!(
        (r.status, r.json["code"].as_str()),
        (401, Some("SIGNATURE_REQUIRED"))
    );
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = key
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let mut signed = action_body("build");
    signed["_signature"] = json!(sign_flat(&key, &signed));
    // Not paired yet: the key is not trusted.
    let r = api.post("/api/actions", signed.clone()).await;
    assert_eq!(r.json["code"], "INVALID_AGENT_SIGNATURE");
    let p = api
        .post(
            "/api/pairings",
            json!({"agent_id": "agent-1", "public_key": pem, "algorithm": "RSASSA-PKCS1-v1_5"}),
        )
        .await;
    let id = p.json["pairing"]["id"].as_str().unwrap().to_owned();
    assert!(p.json["pairing"].get("public_key").is_none());
    let r = api
        .send("GET", &format!("/api/pairings/{id}"), None)
        .await
        .unwrap();
    assert_eq!(r.json["pairing"]["status"], "pending");
    assert_eq!(
        api.post(&format!("/api/pairings/{id}/approve"), json!({}))
            .await
            .status,
        200
    );
    let r = api
        .send("GET", &format!("/api/pairings/{id}"), None)
        .await
        .unwrap();
    assert_eq!(r.json["pairing"]["status"], "approved");
    let r = api.post("/api/actions", signed.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["action"]["verified"], 1);
    // A signature over other content does not verify.
    let mut tampered = signed.clone();
    tampered["declared_goal"] = json!("something else");
    let r = api.post("/api/actions", tampered).await;
    assert_eq!(r.json["code"], "INVALID_AGENT_SIGNATURE");
}

#[tokio::test]
async fn newest_verifies_bearer_tokens() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let client = http().build().unwrap();
    let guard = |token: Option<String>| {
        let mut req = client
            .post(format!("{}/api/guard", fake.url()))
            .header("x-api-key", fake.api_key())
            .header("content-type", "application/json")
            .body(json!({"action_type": "build", "agent_id": "self-asserted"}).to_string());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        async move {
            let text = req.send().await.unwrap().text().await.unwrap();
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    let r = guard(None).await;
    assert_eq!(r["verification_status"], "unverified");
    assert_eq!(r["agent_id"], "self-asserted");
    let r = guard(Some(fake.mint_token(
        fake_dashclaw::TRUSTED_ISSUER,
        "agent-7",
        600,
    )))
    .await;
    assert_eq!(r["verification_status"], "verified");
    assert_eq!(r["agent_id"], "agent-7", "sub overrides the body");
    let r = guard(Some(fake.mint_token(
        fake_dashclaw::TRUSTED_ISSUER,
        "a",
        -10,
    )))
    .await;
    assert_eq!(r["verification_status"], "expired");
    let r = guard(Some(fake.mint_token(
        fake_dashclaw::TRUSTED_ISSUER,
        "a",
        90_000,
    )))
    .await;
    assert_eq!(r["verification_status"], "exp_too_far");
    let r = guard(Some(fake.mint_token("https://other", "a", 600))).await;
    assert_eq!(r["verification_status"], "unknown_issuer");
    let mut forged = fake.mint_token(fake_dashclaw::TRUSTED_ISSUER, "a", 600);
    forged.push('A');
    let r = guard(Some(forged)).await;
    assert_eq!(r["verification_status"], "failed");
}
