//! `Idempotency-Key` on create requests (booking, referrals): a client that retries a request
//! whose answer it did not get — a dropped connection, a double click — creates one resource,
//! and the retry answers with it. A key is remembered per account for
//! [`IDEMPOTENCY_TTL_HOURS`], bound to the operation and a digest of the request, so the same
//! key with a different request is refused (422 naming `Idempotency-Key`). The keys live in
//! the tenant's `idempotency_keys` table, claimed in the same transaction as the resource they
//! name.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::{DomainError, DomainResult};
use crate::scheduling::schema::idempotency_keys;

/// An `Idempotency-Key` with a digest of the request it came with.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: Vec<u8>,
}

/// How long a key is remembered.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

/// Claims the key for this request, or returns what an earlier identical request created.
/// Concurrent requests with one key serialise on the key's primary key: the second waits for
/// the first to commit, then replays it.
pub async fn claim_key(
    c: &mut AsyncPgConnection,
    account: Uuid,
    operation: &str,
    k: &IdempotencyKey,
) -> DomainResult<Option<Uuid>> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::account_id.eq(account))
            .filter(
                idempotency_keys::created_at
                    .lt(Utc::now() - Duration::hours(IDEMPOTENCY_TTL_HOURS)),
            ),
    )
    .execute(c)
    .await?;
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::account_id.eq(account),
            idempotency_keys::key.eq(&k.key),
            idempotency_keys::operation.eq(operation),
            idempotency_keys::request_hash.eq(&k.request_hash),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    let (op, hash, resource): (String, Vec<u8>, Option<Uuid>) = idempotency_keys::table
        .find((account, &k.key))
        .select((
            idempotency_keys::operation,
            idempotency_keys::request_hash,
            idempotency_keys::resource_id,
        ))
        .first(c)
        .await?;
    if op != operation || hash != k.request_hash {
        return Err(DomainError::invalid(
            "Idempotency-Key",
            "was already used with a different request; use a new key for a new request",
        ));
    }
    resource
        .map(Some)
        .ok_or_else(|| DomainError::Internal("idempotency key without a resource".into()))
}

pub async fn settle_key(
    c: &mut AsyncPgConnection,
    account: Uuid,
    key: &str,
    resource: Uuid,
) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((account, key)))
        .set(idempotency_keys::resource_id.eq(resource))
        .execute(c)
        .await
        .map(|_| ())
}
