//! Jobs through a transactional outbox.
//!
//! A job is a row in the shard's `swiftacare_jobs.outbox`, written by [`enqueue`] inside the
//! tenant transaction that causes it (booking → its reminders), so a job exists exactly when
//! its cause committed. Runners (the broker relay and consumer in `swiftacare worker`, or the
//! embedded runner in `swiftacare serve` when there is no broker) read due rows through
//! [`tenancy::Tenancy::jobs_tx`] and run the job's handler back inside its tenant through the
//! one door. Handlers are idempotent: [`claim_processed`] records the job id in the tenant's
//! `processed_jobs` in the same transaction as the job's effect.
//!
//! Payloads carry ids only — never names, addresses or health information.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

diesel::table! {
    swiftacare_jobs.outbox (id) {
        id -> Uuid,
        tenant_id -> Int8,
        kind -> Text,
        payload -> Jsonb,
        available_at -> Timestamptz,
        status -> Text,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        done_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    processed_jobs (job_id) {
        job_id -> Uuid,
        kind -> Text,
        processed_at -> Timestamptz,
    }
}

/// How many times a job is tried before it is dead (kept, visible, not retried).
pub const MAX_ATTEMPTS: i32 = 5;

/// Wait before retry `attempt` (1-based): 5 s, 20 s, 80 s, 320 s …
pub fn backoff(attempt: i32) -> Duration {
    Duration::seconds(5 * 4_i64.pow(attempt.clamp(1, 6) as u32 - 1))
}

#[derive(Clone, Debug, PartialEq, Queryable, Selectable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = outbox)]
pub struct Job {
    pub id: Uuid,
    pub tenant_id: i64,
    pub kind: String,
    pub payload: Value,
    pub available_at: DateTime<Utc>,
    pub attempts: i32,
}

/// Writes a job in the caller's (tenant) transaction; it becomes due at `available_at`.
pub async fn enqueue(
    c: &mut AsyncPgConnection,
    tenant_id: i64,
    kind: &str,
    payload: Value,
    available_at: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(id),
            outbox::tenant_id.eq(tenant_id),
            outbox::kind.eq(kind),
            outbox::payload.eq(payload),
            outbox::available_at.eq(available_at),
        ))
        .execute(c)
        .await?;
    Ok(id)
}

/// Writes many jobs of one kind with one statement (bulk placement's reminders).
pub async fn enqueue_many(
    c: &mut AsyncPgConnection,
    tenant_id: i64,
    kind: &str,
    jobs: &[(Value, DateTime<Utc>)],
) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Int8, Jsonb, Text, Timestamptz, Uuid as SqlUuid};
    if jobs.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = jobs.iter().map(|_| Uuid::now_v7()).collect();
    let (payloads, due): (Vec<Value>, Vec<DateTime<Utc>>) = jobs.iter().cloned().unzip();
    diesel::sql_query(
        "INSERT INTO swiftacare_jobs.outbox (id, tenant_id, kind, payload, available_at) \
         SELECT j.id, $1, $2, j.payload, j.due \
         FROM unnest($3::uuid[], $4::jsonb[], $5::timestamptz[]) AS j(id, payload, due)",
    )
    .bind::<Int8, _>(tenant_id)
    .bind::<Text, _>(kind)
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Jsonb>, _>(payloads)
    .bind::<Array<Timestamptz>, _>(due)
    .execute(c)
    .await
}

/// Records that this tenant processed `job` — in the transaction of the job's effect.
/// `false` when it already had: the effect must not happen again.
pub async fn claim_processed(
    c: &mut AsyncPgConnection,
    job: Uuid,
    kind: &str,
) -> QueryResult<bool> {
    let n = diesel::insert_into(processed_jobs::table)
        .values((
            processed_jobs::job_id.eq(job),
            processed_jobs::kind.eq(kind),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await?;
    Ok(n == 1)
}

/// Due pending jobs, locked for this runner (others skip them), oldest first.
pub async fn claim_due(c: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Job>> {
    outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::available_at.le(Utc::now()))
        .order(outbox::available_at)
        .limit(limit)
        .for_update()
        .skip_locked()
        .select(Job::as_select())
        .load(c)
        .await
}

pub async fn mark_published(c: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<usize> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::status.eq("published"),
            outbox::published_at.eq(Utc::now()),
        ))
        .execute(c)
        .await
}

pub async fn mark_done(c: &mut AsyncPgConnection, id: Uuid, attempts: i32) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("done"),
            outbox::attempts.eq(attempts),
            outbox::done_at.eq(Utc::now()),
        ))
        .execute(c)
        .await
}

/// After a failed attempt: due again after the backoff, or dead past [`MAX_ATTEMPTS`].
/// `error` is a short code, never message text with personal data. Returns true when dead.
pub async fn record_failure(
    c: &mut AsyncPgConnection,
    id: Uuid,
    attempts: i32,
    error: &str,
) -> QueryResult<bool> {
    let dead = attempts >= MAX_ATTEMPTS;
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(if dead { "dead" } else { "pending" }),
            outbox::attempts.eq(attempts),
            outbox::available_at.eq(Utc::now() + backoff(attempts)),
            outbox::last_error.eq(error.chars().take(200).collect::<String>()),
        ))
        .execute(c)
        .await?;
    Ok(dead)
}

/// Marks a job dead at once (a broker consumer's verdict after its own retries).
pub async fn mark_dead(
    c: &mut AsyncPgConnection,
    id: Uuid,
    attempts: i32,
    error: &str,
) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("dead"),
            outbox::attempts.eq(attempts),
            outbox::last_error.eq(error.chars().take(200).collect::<String>()),
        ))
        .execute(c)
        .await
}

/// Jobs waiting on this shard: (due now, scheduled later, dead). For the metrics.
pub async fn depth(c: &mut AsyncPgConnection) -> QueryResult<(i64, i64, i64)> {
    let now = Utc::now();
    let due = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::available_at.le(now))
        .count()
        .get_result(c)
        .await?;
    let later = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::available_at.gt(now))
        .count()
        .get_result(c)
        .await?;
    let dead = outbox::table
        .filter(outbox::status.eq("dead"))
        .count()
        .get_result(c)
        .await?;
    Ok((due, later, dead))
}
