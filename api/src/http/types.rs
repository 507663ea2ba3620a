//! Shared request/response helpers: ETags, If-Match, pagination, field parsing.

use domain::idempotency::IdempotencyKey;
use poem_openapi::Object;
use poem_openapi::types::ToJSON;
use sha2::{Digest, Sha256};

use crate::problem::{ApiError, ApiResult, ProblemField};

/// ETag for a versioned resource: the version as a strong entity tag.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Parses `If-Match: "<version>"` (the ETag from the last read). Missing → 428.
pub fn if_match(raw: Option<String>) -> ApiResult<i32> {
    let raw = raw.ok_or_else(ApiError::precondition_required)?;
    let v = raw.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid-if-match",
                "If-Match must be an ETag such as \"3\" from a previous read",
            )
        })
}

pub fn page(limit: Option<i64>, after: Option<uuid::Uuid>) -> ApiResult<domain::page::PageRequest> {
    domain::page::PageRequest::new(limit, after)
        .map_err(|e| ApiError::invalid_field("limit", e.to_string()))
}

/// Collects field errors so one response names every bad field, not just the first.
#[derive(Default)]
pub struct Fields(Vec<ProblemField>);

impl Fields {
    pub fn check<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(message) => {
                self.0.push(ProblemField {
                    field: field.to_owned(),
                    message,
                });
                None
            }
        }
    }
    pub fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.0))
        }
    }
}

/// A page of results.
#[derive(Object)]
pub struct PageInfo {
    /// Pass as `after` to fetch the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_after: Option<uuid::Uuid>,
}

/// Digest of the request that an `Idempotency-Key` is bound to.
fn request_hash(operation: &str, body: &impl ToJSON) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(operation.as_bytes());
    h.update([0]);
    h.update(body.to_json_string().as_bytes());
    h.finalize().to_vec()
}

/// The request's `Idempotency-Key` (optional), bound to the operation and the body.
pub fn idempotency_key(
    raw: Option<String>,
    operation: &str,
    body: &impl ToJSON,
) -> ApiResult<Option<IdempotencyKey>> {
    match raw {
        None => Ok(None),
        Some(k) => {
            let k = k.trim().to_owned();
            if k.is_empty() || k.len() > 200 || !k.chars().all(|c| c.is_ascii_graphic()) {
                return Err(ApiError::invalid_field(
                    "Idempotency-Key",
                    "must be 1–200 visible ASCII characters (a UUID is a good key)",
                ));
            }
            Ok(Some(IdempotencyKey {
                request_hash: request_hash(operation, body),
                key: k,
            }))
        }
    }
}
