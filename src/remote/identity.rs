//! Agent identity for servers that verify who recorded an action (dashclaw-server-api.md §4,
//! §13 "Signatures"): one RSA key pair per agent id, kept private under the state directory
//! (`state/identity/`, directory 0700, files 0600), the pairing state, and the `_signature` of
//! `POST /api/actions`: RSA PKCS#1 v1.5 / SHA-256 over the canonical JSON of the body (keys
//! sorted, no spaces) without `_signature`, base64.
//!
//! A production v2.0 server refuses unsigned action records (401 `SIGNATURE_REQUIRED`); newest
//! servers do with `ENFORCE_AGENT_SIGNATURES`. The public key becomes trusted through the
//! pairing flow (`dashclawd identity pair`: `POST /api/pairings`, an admin approves, the agent
//! polls `GET /api/pairings/:id`) or an admin's `POST /api/identities`.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::config::SignMode;

/// The algorithm name the server stores with a key.
pub const ALGORITHM: &str = "RSASSA-PKCS1-v1_5";
const KEY_BITS: usize = 2048;

/// What we know about an agent's pairing with a server.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pairing {
    pub agent_id: String,
    pub base_url: String,
    pub pairing_id: Option<String>,
    /// `pending`, `approved`, `expired`, or `registered` (an admin registered the key directly).
    pub status: String,
    /// SHA-256 hex of the public key's DER, so a replaced key is never taken for a paired one.
    pub public_key_sha256: String,
    pub updated_ms: u64,
}

/// The keys of this machine's agents and the signing decision.
#[derive(Debug)]
pub struct Identities {
    dir: PathBuf,
    mode: SignMode,
    /// The server answered `SIGNATURE_REQUIRED` (since this daemon started).
    required: AtomicBool,
    keys: Mutex<HashMap<String, Arc<RsaPrivateKey>>>,
}

impl Identities {
    pub fn new(dir: PathBuf, mode: SignMode) -> Identities {
        Identities {
            dir,
            mode,
            required: AtomicBool::new(false),
            keys: Mutex::new(HashMap::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn mode(&self) -> SignMode {
        self.mode
    }

    pub fn server_requires(&self) -> bool {
        self.required.load(Ordering::Relaxed)
    }

    pub fn set_server_requires(&self) {
        if !self.required.swap(true, Ordering::Relaxed) {
            tracing::warn!("the DashClaw server requires signed action records");
        }
    }

    /// The agent's key, if one exists (cached once read).
    pub fn key(&self, agent_id: &str) -> Result<Option<Arc<RsaPrivateKey>>, String> {
        if let Some(k) = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(agent_id)
        {
            return Ok(Some(k.clone()));
        }
        let Some(key) = load_key(&self.dir, agent_id)? else {
            return Ok(None);
        };
        let key = Arc::new(key);
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(agent_id.to_owned(), key.clone());
        Ok(Some(key))
    }

    /// Whether to sign an action record of `agent_id` now: `always`; `auto` once the server
    /// asked for signatures or the agent's key was paired with `base_url`; never with `never`.
    pub fn should_sign(&self, agent_id: &str, base_url: &str) -> bool {
        match self.mode {
            SignMode::Never => false,
            SignMode::Always => true,
            SignMode::Auto => {
                self.server_requires()
                    || load_pairing(&self.dir, agent_id).is_some_and(|p| {
                        p.base_url == base_url
                            && matches!(p.status.as_str(), "approved" | "registered")
                    })
            }
        }
    }

    /// Adds `_signature` to an action record. `Err` names what the user has to do.
    pub fn sign_body(&self, body: &mut Value) -> Result<(), String> {
        let agent_id = body
            .get("agent_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let key = self.key(&agent_id)?.ok_or_else(|| {
            format!(
                "agent {agent_id:?} has no signing key; run `dashclawd identity pair --agent-id {agent_id}`"
            )
        })?;
        if let Value::Object(m) = body {
            m.remove("_signature");
        }
        let sig = sign(&key, body);
        body["_signature"] = Value::String(sig);
        Ok(())
    }
}

/// The file name for an agent id: ids may hold `:` (sub-agents) or anything else, so unsafe
/// characters become `_` and a short hash keeps distinct ids apart.
fn stem(agent_id: &str) -> String {
    let safe: String = agent_id
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let h = hex::encode(&Sha256::digest(agent_id.as_bytes())[..4]);
    format!("{}-{h}", safe.trim_start_matches('.'))
}

pub fn key_path(dir: &Path, agent_id: &str) -> PathBuf {
    dir.join(format!("{}.key.pem", stem(agent_id)))
}

fn pairing_path(dir: &Path, agent_id: &str) -> PathBuf {
    dir.join(format!("{}.pairing.json", stem(agent_id)))
}

fn ensure_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("cannot make {} private: {e}", dir.display()))
}

/// Reads an agent's private key; a key file others can read is refused (it is the agent's
/// identity).
pub fn load_key(dir: &Path, agent_id: &str) -> Result<Option<RsaPrivateKey>, String> {
    let path = key_path(dir, agent_id);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "the signing key {} is readable by others (mode {:o}); run `chmod 600 {}`",
            path.display(),
            meta.mode() & 0o777,
            path.display()
        ));
    }
    let pem = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    RsaPrivateKey::from_pkcs8_pem(&pem)
        .map(Some)
        .map_err(|e| format!("{} is not a PKCS#8 RSA private key: {e}", path.display()))
}

/// The agent's key, created (2048-bit, written 0600 before a byte of it) when there is none.
pub fn load_or_create_key(dir: &Path, agent_id: &str) -> Result<(RsaPrivateKey, bool), String> {
    if let Some(k) = load_key(dir, agent_id)? {
        return Ok((k, false));
    }
    ensure_dir(dir)?;
    let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
        .map_err(|e| format!("cannot generate a key pair: {e}"))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the key: {e}"))?;
    write_private(&key_path(dir, agent_id), pem.as_bytes())?;
    Ok((key, true))
}

/// The public key as the server takes it (SPKI PEM, `BEGIN PUBLIC KEY`).
pub fn public_pem(key: &RsaPrivateKey) -> String {
    key.to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap_or_default()
}

pub fn public_sha256(key: &RsaPrivateKey) -> String {
    let der = key
        .to_public_key()
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    hex::encode(Sha256::digest(der))
}

pub fn load_pairing(dir: &Path, agent_id: &str) -> Option<Pairing> {
    let text = std::fs::read_to_string(pairing_path(dir, agent_id)).ok()?;
    let p: Pairing = serde_json::from_str(&text).ok()?;
    // A pairing belongs to the key it was made for.
    let key = load_key(dir, agent_id).ok().flatten()?;
    (p.public_key_sha256 == public_sha256(&key)).then_some(p)
}

pub fn save_pairing(dir: &Path, p: &Pairing) -> Result<(), String> {
    ensure_dir(dir)?;
    let text = serde_json::to_vec_pretty(p).map_err(|e| e.to_string())?;
    write_private(&pairing_path(dir, &p.agent_id), &text)
}

/// Every agent with a key here: `(agent_id from its pairing file or the file stem, pairing)`.
pub fn list(dir: &Path) -> Vec<(String, Option<Pairing>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Option<Pairing>)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".key.pem")?.to_owned();
            let pairing = std::fs::read_to_string(dir.join(format!("{stem}.pairing.json")))
                .ok()
                .and_then(|t| serde_json::from_str::<Pairing>(&t).ok());
            let id = pairing.as_ref().map(|p| p.agent_id.clone()).unwrap_or(stem);
            Some((id, pairing))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Written to a temporary file created 0600, then renamed into place.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The canonical JSON the signature covers: object keys sorted (by UTF-16 code units, as the
/// server's JavaScript sorts them), no whitespace, strings escaped as `JSON.stringify` does.
pub fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        // JavaScript prints an integral float without a fraction (`1`, not `1.0`).
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => out.push_str(&(f as i64).to_string()),
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

/// base64 of RSA PKCS#1 v1.5 / SHA-256 over [`canonical`] of `body` without `_signature`.
pub fn sign(key: &RsaPrivateKey, body: &Value) -> String {
    let mut unsigned = body.clone();
    if let Value::Object(m) = &mut unsigned {
        m.remove("_signature");
    }
    let signer = SigningKey::<Sha256>::new(key.clone());
    let sig = signer.sign(canonical(&unsigned).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = json!({"b": 1, "a": {"z": [1, {"y": "é\n", "x": null}], "c": true}, "f": 2.0, "g": 0.5});
        assert_eq!(
            canonical(&v),
            r#"{"a":{"c":true,"z":[1,{"x":null,"y":"é\n"}]},"b":1,"f":2,"g":0.5}"#
        );
    }

    #[test]
    fn keys_are_private_signatures_verify_and_ids_map_to_distinct_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("identity");
        let (key, created) = load_or_create_key(&d, "claude-code").unwrap();
        assert!(created);
        let meta = std::fs::metadata(key_path(&d, "claude-code")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        let (again, created) = load_or_create_key(&d, "claude-code").unwrap();
        assert!(!created);
        assert_eq!(public_pem(&again), public_pem(&key));
        assert!(public_pem(&key).contains("BEGIN PUBLIC KEY"));
        assert_ne!(key_path(&d, "a:b"), key_path(&d, "a_b"));

        let body =
            json!({"agent_id": "claude-code", "action_type": "build", "declared_goal": "make"});
        let ids = Identities::new(d.clone(), SignMode::Always);
        let mut signed = body.clone();
        ids.sign_body(&mut signed).unwrap();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(signed["_signature"].as_str().unwrap())
            .unwrap();
        let vk = VerifyingKey::<Sha256>::new(key.to_public_key());
        let sig = Signature::try_from(sig.as_slice()).unwrap();
        vk.verify(canonical(&body).as_bytes(), &sig).unwrap();
        let mut other = body.clone();
        other["declared_goal"] = json!("make install");
        assert!(vk.verify(canonical(&other).as_bytes(), &sig).is_err());

        // An unknown agent has no key: the error names the command.
        let mut b = json!({"agent_id": "codex"});
        assert!(ids.sign_body(&mut b).unwrap_err().contains("identity pair"));

        // A key others can read is refused.
        std::fs::set_permissions(
            key_path(&d, "claude-code"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert!(load_key(&d, "claude-code")
            .unwrap_err()
            .contains("chmod 600"));
    }

    #[test]
    fn auto_signs_once_paired_or_asked() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let (key, _) = load_or_create_key(&d, "bot").unwrap();
        let ids = Identities::new(d.clone(), SignMode::Auto);
        assert!(!ids.should_sign("bot", "http://s"));
        let mut p = Pairing {
            agent_id: "bot".into(),
            base_url: "http://s".into(),
            pairing_id: Some("pair_1".into()),
            status: "approved".into(),
            public_key_sha256: public_sha256(&key),
            updated_ms: 0,
        };
        save_pairing(&d, &p).unwrap();
        assert!(ids.should_sign("bot", "http://s"));
        assert!(!ids.should_sign("bot", "http://other"));
        p.public_key_sha256 = "00".into();
        save_pairing(&d, &p).unwrap();
        assert!(
            !ids.should_sign("bot", "http://s"),
            "a pairing of another key"
        );
        ids.set_server_requires();
        assert!(ids.should_sign("bot", "http://s"));
        assert!(!Identities::new(d, SignMode::Never).should_sign("bot", "http://s"));
    }
}
