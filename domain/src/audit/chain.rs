//! The hash chain: `hash = sha256(prev_hash || canonical_json(entry without hashes))`.
//!
//! Canonical JSON sorts object keys recursively and writes timestamps as RFC 3339 with
//! microseconds (PostgreSQL's precision), so the verifier recomputes exactly what was hashed.

use diesel_async::AsyncPgConnection;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::model::AuditEntry;
use super::repo;

pub const GENESIS: [u8; 32] = [0; 32];

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Serialises with keys in sorted order regardless of serde_json's map implementation.
fn canonical_string(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_string(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_string).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

pub fn payload(e: &AuditEntry) -> String {
    let v = json!({
        "seq": e.seq,
        "occurred_at": e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor_type": e.actor_type,
        "actor_id": e.actor_id,
        "action": e.action,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "subjects": e.subjects,
        "outcome": e.outcome,
        "request_id": e.request_id,
        "details": sorted(&e.details),
    });
    canonical_string(&v)
}

pub fn hash(prev: &[u8], e: &AuditEntry) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(payload(e).as_bytes());
    h.finalize().to_vec()
}

/// The outcome of walking a tenant's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub rows_checked: u64,
    /// The first entry that breaks the chain, and why.
    pub first_broken: Option<(i64, String)>,
}

/// Walks the whole chain in sequence order (in batches) and names the first broken row.
///
/// The head is read first and only rows up to it are walked: entries appended while the walk
/// runs (head and row commit together) are outside this check, not false breaks.
pub async fn verify(c: &mut AsyncPgConnection) -> diesel::QueryResult<VerifyReport> {
    let (head_seq, head_hash) = repo::head(c).await?;
    let mut prev_hash = GENESIS.to_vec();
    let mut prev_seq = 0i64;
    let mut checked = 0u64;
    loop {
        let batch = repo::load_range(c, prev_seq, head_seq, 1000).await?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            let broken = |why: String| {
                Ok(VerifyReport {
                    rows_checked: checked,
                    first_broken: Some((e.seq, why)),
                })
            };
            if e.seq != prev_seq + 1 {
                return broken(format!(
                    "sequence jumps from {prev_seq} to {} (rows removed)",
                    e.seq
                ));
            }
            if e.prev_hash != prev_hash {
                return broken("prev_hash does not match the previous row's hash".into());
            }
            if hash(&prev_hash, &e) != e.hash {
                return broken("contents do not match the row's hash (row edited)".into());
            }
            checked += 1;
            prev_seq = e.seq;
            prev_hash = e.hash;
        }
    }
    if head_seq != prev_seq || head_hash != prev_hash {
        return Ok(VerifyReport {
            rows_checked: checked,
            first_broken: Some((
                prev_seq + 1,
                format!(
                    "chain head says seq {head_seq}, last row is {prev_seq} (rows removed at the end)"
                ),
            )),
        });
    }
    Ok(VerifyReport {
        rows_checked: checked,
        first_broken: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": 1, "y": 2}], "c": "x"}});
        assert_eq!(
            canonical_string(&a),
            r#"{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}"#
        );
    }
}
