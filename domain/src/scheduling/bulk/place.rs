//! The placement job: one chunk of a batch, in one tenant transaction, set-based.
//!
//! The job id goes into `processed_jobs` first, so a redelivered chunk changes nothing. Then,
//! whatever the chunk's size, a fixed handful of statements:
//!
//! 1. **load** once: the chunk's pending rows, their types, the departments' providers, the
//!    schedules of every provider involved over the chunk's window, their busy spans (with
//!    buffers) and the chunk's clients' own appointments;
//! 2. **place** in memory ([`super::plan`]), row after row in the fair order, each choice
//!    reserved at once so rows of the chunk never collide;
//! 3. **write** the appointments with one `INSERT … SELECT FROM unnest(…)` (in a savepoint;
//!    if an exclusion constraint refuses a row, again with `ON CONFLICT DO NOTHING RETURNING
//!    id`). The constraints stay the final guard: a row whose slot a concurrent booking (a
//!    person booking by hand, another worker) took after the load is simply not returned.
//!    Those rows go round again against freshly loaded spans ([`ROUNDS`] at most), then fail
//!    with a reason;
//! 4. one statement each for the appointments' `booked` events, their reminder jobs (what
//!    `reminders::schedule` writes for a booking), the rows' outcomes (`UPDATE … FROM
//!    unnest`), and the chunk's audit entry naming the clients booked.
//!
//! A row is booked (appointment, event, reminders, row marked) or failed with its reason,
//! never half-done, and a failed row never undoes another: nothing a row can meet (no slot,
//! a slot lost) aborts the statement. Bulk appointments are the rows `booking::insert` writes
//! for a staff booking: same columns, booked by the submitter, an event each, reminders.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Array, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::super::availability::load_schedules;
use super::super::calendar::{Span, merge};
use super::super::model::AppointmentType;
use super::super::reminders;
use super::super::schema::{
    appointment_type_providers, appointment_types, appointments, bulk_batches, bulk_rows,
};
use super::super::setup::load_policy;
use super::super::slots::busy_spans;
use super::plan::{Choice, Loaded, Planner, Work, query_range};
use crate::audit::{self, Actor, Event};
use crate::error::DomainResult;
use crate::jobs;
use crate::org::repo as org_repo;
use crate::schema::people;

pub const KIND: &str = "bulk.place";

/// How many times a chunk places and inserts the rows whose slot a concurrent booking took
/// (each round reloads those providers' and clients' time; losing a slot needs a concurrent
/// writer on the same calendar, so a few rounds are plenty).
pub const ROUNDS: usize = 3;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ChunkJob {
    pub batch_id: Uuid,
    pub chunk: i32,
    /// The lane's chunks after this one ([`super::input::layout`]): the chunk enqueues the
    /// next with the rest, in its own transaction, so it is written exactly once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<i32>,
}

impl ChunkJob {
    /// The job for the first chunk of a lane, or `None` for an empty one.
    pub fn lane(batch_id: Uuid, chain: &[i32]) -> Option<ChunkJob> {
        let (chunk, then) = chain.split_first()?;
        Some(ChunkJob {
            batch_id,
            chunk: *chunk,
            then: then.to_vec(),
        })
    }
}

/// The job's payload.
pub fn to_payload(job: &ChunkJob) -> DomainResult<serde_json::Value> {
    serde_json::to_value(job).map_err(|e| crate::error::DomainError::Internal(e.to_string()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// This tenant had already processed the job.
    AlreadyDone,
    Placed {
        booked: usize,
        failed: usize,
    },
}

#[derive(QueryableByName)]
struct Landed {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v.dedup();
    v
}

/// The clients' own appointments that may touch `lo..hi`, merged per client.
async fn client_spans(
    c: &mut AsyncPgConnection,
    clients: &[Uuid],
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
) -> QueryResult<HashMap<Uuid, Vec<Span>>> {
    let rows: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = appointments::table
        .filter(appointments::client_id.eq_any(clients))
        .filter(appointments::status.ne("cancelled"))
        .filter(appointments::starts_at.lt(hi))
        .filter(appointments::ends_at.gt(lo))
        .select((
            appointments::client_id,
            appointments::starts_at,
            appointments::ends_at,
        ))
        .load(c)
        .await?;
    let mut out: HashMap<Uuid, Vec<Span>> = HashMap::new();
    for (client, s, e) in rows {
        out.entry(client).or_default().push((s, e));
    }
    Ok(out.into_iter().map(|(k, v)| (k, merge(v))).collect())
}

/// The active providers of each department's subtree (a department row may go to any of them).
pub(super) async fn department_providers(
    c: &mut AsyncPgConnection,
    departments: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<Uuid>>> {
    let mut out = HashMap::new();
    for d in departments {
        let ids = org_repo::subtree_ids(c, &[*d]).await?;
        let ps: Vec<Uuid> = people::table
            .filter(people::kind.eq("provider"))
            .filter(people::status.eq("active"))
            .filter(people::department_id.eq_any(ids))
            .order(people::id)
            .select(people::id)
            .load(c)
            .await?;
        out.insert(*d, ps);
    }
    Ok(out)
}

/// Serialises placement per provider: one transaction-scoped advisory lock per provider, taken
/// in id order (`providers` is sorted; `unnest` yields it in order), so two chunks sharing
/// providers — lanes of different batches, or a lane whose department gained a provider after
/// submit — place one after the other instead of choosing the same free times and losing them
/// to each other's inserts. Chunks on disjoint providers do not wait. Hand bookings take no
/// lock: the exclusion constraints still guard those (see [`insert`]).
async fn lock_calendars(c: &mut AsyncPgConnection, providers: &[Uuid]) -> QueryResult<()> {
    if providers.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('swiftacare.bulk.provider:' || p::text, 0)) \
         FROM unnest($1::uuid[]) AS p",
    )
    .bind::<Array<SqlUuid>, _>(providers)
    .execute(c)
    .await
    .map(|_| ())
}

/// Everything the chunk's placement reads, and the instants its range queries covered.
async fn load(
    c: &mut AsyncPgConnection,
    work: &[Work],
) -> DomainResult<(Loaded, DateTime<Utc>, DateTime<Utc>)> {
    let type_ids = sorted(work.iter().filter_map(|w| w.type_id).collect());
    let types: HashMap<Uuid, AppointmentType> = appointment_types::table
        .filter(appointment_types::id.eq_any(&type_ids))
        .filter(appointment_types::active.eq(true))
        .select(AppointmentType::as_select())
        .load(c)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let narrowed: Vec<Uuid> = types
        .values()
        .filter(|t| !t.offered_by_all)
        .map(|t| t.id)
        .collect();
    let mut offered: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if !narrowed.is_empty() {
        let pairs: Vec<(Uuid, Uuid)> = appointment_type_providers::table
            .filter(appointment_type_providers::type_id.eq_any(&narrowed))
            .select((
                appointment_type_providers::type_id,
                appointment_type_providers::provider_id,
            ))
            .load(c)
            .await?;
        for (t, p) in pairs {
            offered.entry(t).or_default().push(p);
        }
    }
    let departments = department_providers(
        c,
        &sorted(
            work.iter()
                .filter(|w| w.provider_id.is_none())
                .filter_map(|w| w.department_id)
                .collect(),
        ),
    )
    .await?;
    let providers = sorted(
        work.iter()
            .filter_map(|w| w.provider_id)
            .chain(departments.values().flatten().copied())
            .collect(),
    );
    // Before any calendar is read: a chunk of another batch (or lane) on the same providers
    // waits here, and then reads what that chunk booked.
    lock_calendars(c, &providers).await?;
    let clients = sorted(work.iter().filter_map(|w| w.client_id).collect());
    let days: Vec<(NaiveDate, NaiveDate)> = work.iter().filter_map(Work::days).collect();
    let (Some(first), Some(last)) = (
        days.iter().map(|d| d.0).min(),
        days.iter().map(|d| d.1).max(),
    ) else {
        // No row has a window: each fails on its own with that reason.
        let now = Utc::now();
        return Ok((
            Loaded {
                types,
                departments,
                offered,
                ..Loaded::default()
            },
            now,
            now,
        ));
    };
    let schedules = load_schedules(
        c,
        &providers,
        first - Duration::days(2),
        last + Duration::days(2),
    )
    .await?;
    let (lo, hi) = query_range(first, last);
    let busy = busy_spans(c, &providers, lo, hi).await?;
    let clients = client_spans(c, &clients, lo, hi).await?;
    Ok((
        Loaded {
            types,
            departments,
            schedules,
            busy,
            clients,
            offered,
        },
        lo,
        hi,
    ))
}

/// Inserts the chosen appointments (as `booking::insert` would: status `booked`, booked by
/// `booker`); returns the ids that landed.
///
/// First as a plain insert in a savepoint: the exclusion constraints check each row once, as
/// they do for `COPY`. Only if one refuses a row — a concurrent booking took its slot since
/// the load — does the insert go again with `ON CONFLICT DO NOTHING`, which skips the refused
/// rows (it checks every row ahead of inserting it as well, so it is not the first try).
async fn insert(
    c: &mut AsyncPgConnection,
    booker: Uuid,
    rows: &[(Uuid, &Choice)],
) -> QueryResult<HashSet<Uuid>> {
    diesel::sql_query("SAVEPOINT bulk_insert")
        .execute(c)
        .await?;
    match insert_as(c, booker, rows, "").await {
        Ok(landed) => {
            diesel::sql_query("RELEASE SAVEPOINT bulk_insert")
                .execute(c)
                .await?;
            Ok(landed)
        }
        Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::ExclusionViolation, _)) => {
            diesel::sql_query("ROLLBACK TO SAVEPOINT bulk_insert")
                .execute(c)
                .await?;
            insert_as(c, booker, rows, "ON CONFLICT DO NOTHING").await
        }
        Err(e) => Err(e),
    }
}

async fn insert_as(
    c: &mut AsyncPgConnection,
    booker: Uuid,
    rows: &[(Uuid, &Choice)],
    on_conflict: &str,
) -> QueryResult<HashSet<Uuid>> {
    let col = |f: fn(&Choice) -> Uuid| rows.iter().map(|(_, x)| f(x)).collect::<Vec<_>>();
    let at = |f: fn(&Choice) -> DateTime<Utc>| rows.iter().map(|(_, x)| f(x)).collect::<Vec<_>>();
    let landed: Vec<Landed> = diesel::sql_query(format!(
        "INSERT INTO appointments (id, provider_id, client_id, type_id, location_id, starts_at, \
             ends_at, busy_from, busy_until, timezone, status, booked_by) \
         SELECT a.id, a.provider_id, a.client_id, a.type_id, a.location_id, a.starts_at, \
             a.ends_at, a.busy_from, a.busy_until, a.timezone, 'booked', $11 \
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], \
             $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], \
             $10::text[]) \
             AS a(id, provider_id, client_id, type_id, location_id, starts_at, ends_at, \
             busy_from, busy_until, timezone) \
         {on_conflict} RETURNING id"
    ))
    .bind::<Array<SqlUuid>, _>(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(col(|x| x.provider_id))
    .bind::<Array<SqlUuid>, _>(col(|x| x.client_id))
    .bind::<Array<SqlUuid>, _>(col(|x| x.type_id))
    .bind::<Array<Nullable<SqlUuid>>, _>(
        rows.iter().map(|(_, x)| x.location_id).collect::<Vec<_>>(),
    )
    .bind::<Array<Timestamptz>, _>(at(|x| x.starts_at))
    .bind::<Array<Timestamptz>, _>(at(|x| x.ends_at))
    .bind::<Array<Timestamptz>, _>(at(|x| x.busy_from))
    .bind::<Array<Timestamptz>, _>(at(|x| x.busy_until))
    .bind::<Array<Text>, _>(
        rows.iter()
            .map(|(_, x)| x.tz.name().to_owned())
            .collect::<Vec<_>>(),
    )
    .bind::<SqlUuid, _>(booker)
    .load(c)
    .await?;
    Ok(landed.into_iter().map(|l| l.id).collect())
}

/// One `booked` event per new appointment (what `booking::record_event` writes on booking).
async fn record_events(
    c: &mut AsyncPgConnection,
    actor: Uuid,
    appointments: &[Uuid],
) -> QueryResult<usize> {
    let ids: Vec<Uuid> = appointments.iter().map(|_| Uuid::now_v7()).collect();
    diesel::sql_query(
        "INSERT INTO appointment_events (id, appointment_id, actor_account, action, \
             from_status, to_status, reason_code, late, previous_start, previous_end) \
         SELECT e.id, e.appointment_id, $3, 'booked', NULL, 'booked', NULL, false, NULL, NULL \
         FROM unnest($1::uuid[], $2::uuid[]) AS e(id, appointment_id)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<SqlUuid>, _>(appointments)
    .bind::<SqlUuid, _>(actor)
    .execute(c)
    .await
}

/// A row's outcome: booked as the appointment, or failed with the reason.
enum Settled<'a> {
    Booked(Uuid, &'a Choice),
    Failed(String),
}

/// Marks the chunk's rows with one statement.
async fn settle(
    c: &mut AsyncPgConnection,
    batch: Uuid,
    rows: &[(i32, Settled<'_>)],
) -> QueryResult<usize> {
    let mut lines = Vec::with_capacity(rows.len());
    let mut status = Vec::with_capacity(rows.len());
    let mut reason = Vec::with_capacity(rows.len());
    let mut appointment = Vec::with_capacity(rows.len());
    let mut provider = Vec::with_capacity(rows.len());
    let mut starts = Vec::with_capacity(rows.len());
    for (line, s) in rows {
        lines.push(*line);
        match s {
            Settled::Booked(id, x) => {
                status.push("booked");
                reason.push(None);
                appointment.push(Some(*id));
                provider.push(Some(x.provider_id));
                starts.push(Some(x.starts_at));
            }
            Settled::Failed(why) => {
                status.push("failed");
                reason.push(Some(why.chars().take(500).collect::<String>()));
                appointment.push(None);
                provider.push(None);
                starts.push(None);
            }
        }
    }
    diesel::sql_query(
        "UPDATE bulk_rows AS b SET status = u.status, \
             reason = coalesce(u.reason, b.reason), \
             appointment_id = coalesce(u.appointment_id, b.appointment_id), \
             provider_id = coalesce(u.provider_id, b.provider_id), \
             starts_at = coalesce(u.starts_at, b.starts_at) \
         FROM unnest($2::int4[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], \
             $7::timestamptz[]) AS u(line, status, reason, appointment_id, provider_id, starts_at) \
         WHERE b.batch_id = $1 AND b.line = u.line",
    )
    .bind::<SqlUuid, _>(batch)
    .bind::<Array<Int4>, _>(lines)
    .bind::<Array<Text>, _>(status)
    .bind::<Array<Nullable<Text>>, _>(reason)
    .bind::<Array<Nullable<SqlUuid>>, _>(appointment)
    .bind::<Array<Nullable<SqlUuid>>, _>(provider)
    .bind::<Array<Nullable<Timestamptz>>, _>(starts)
    .execute(c)
    .await
}

/// Places the rows (in order), inserts, and places again those whose slot was taken
/// meanwhile. Returns each row's choice and appointment id, or why it has none.
async fn place_all(
    c: &mut AsyncPgConnection,
    booker: Uuid,
    work: &[Work],
) -> DomainResult<Vec<Result<(Uuid, Choice), String>>> {
    let (loaded, lo, hi) = load(c, work).await?;
    let mut planner = Planner::new(loaded, Utc::now());
    let mut out: Vec<Option<Result<(Uuid, Choice), String>>> = vec![None; work.len()];
    let mut todo: Vec<usize> = (0..work.len()).collect();
    for round in 0..ROUNDS {
        if round > 0 {
            // Fresh time for the calendars where a slot was lost (our own inserts included:
            // this transaction sees them).
            let providers = sorted(
                todo.iter()
                    .flat_map(|i| planner.providers(&work[*i]).unwrap_or_default())
                    .collect(),
            );
            let clients = sorted(todo.iter().filter_map(|i| work[*i].client_id).collect());
            let busy = busy_spans(c, &providers, lo, hi).await?;
            let theirs = client_spans(c, &clients, lo, hi).await?;
            planner.refresh(&providers, busy, &clients, theirs);
        }
        let mut chosen: Vec<(usize, Uuid, Choice)> = Vec::new();
        for i in todo.drain(..) {
            match planner.place(&work[i]) {
                Ok(x) => chosen.push((i, Uuid::now_v7(), x)),
                Err(why) => out[i] = Some(Err(why.to_owned())),
            }
        }
        if chosen.is_empty() {
            break;
        }
        let rows: Vec<(Uuid, &Choice)> = chosen.iter().map(|(_, id, x)| (*id, x)).collect();
        let landed = insert(c, booker, &rows).await?;
        for (i, id, x) in chosen {
            if landed.contains(&id) {
                out[i] = Some(Ok((id, x)));
            } else {
                todo.push(i);
            }
        }
        if todo.is_empty() {
            break;
        }
    }
    Ok(out
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Err(format!(
                    "the free times found were taken by other bookings meanwhile ({ROUNDS} tries)"
                ))
            })
        })
        .collect())
}

/// Marks a batch completed once no row is pending, and audits it. Locks the batch row first,
/// so of two chunks finishing together the second sees the first's rows settled.
pub async fn complete(c: &mut AsyncPgConnection, batch: Uuid, actor: &Actor) -> DomainResult<bool> {
    let status: String = bulk_batches::table
        .find(batch)
        .select(bulk_batches::status)
        .for_update()
        .first(c)
        .await?;
    if status == "completed" {
        return Ok(false);
    }
    let counts: Vec<(String, i64)> = bulk_rows::table
        .filter(bulk_rows::batch_id.eq(batch))
        .group_by(bulk_rows::status)
        .select((bulk_rows::status, diesel::dsl::count_star()))
        .load(c)
        .await?;
    let n = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, v)| *v);
    if n("pending") > 0 {
        return Ok(false);
    }
    diesel::update(bulk_batches::table.find(batch))
        .set((
            bulk_batches::status.eq("completed"),
            bulk_batches::completed_at.eq(diesel::dsl::now),
        ))
        .execute(c)
        .await?;
    audit::record(
        c,
        actor,
        Event::new("bulk_batch.complete")
            .on("bulk_batch", batch)
            .detail("booked", n("booked"))
            .detail("failed", n("failed")),
    )
    .await?;
    Ok(true)
}

/// Runs one chunk job of a batch (idempotent: see the module docs).
pub async fn run_chunk(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    job_id: Uuid,
    job: &ChunkJob,
) -> DomainResult<ChunkOutcome> {
    tenancy
        .tx(tenant, async |c| {
            if !jobs::claim_processed(c, job_id, KIND).await? {
                return Ok(ChunkOutcome::AlreadyDone);
            }
            let Some(submitter) = bulk_batches::table
                .find(job.batch_id)
                .select(bulk_batches::submitted_by)
                .first::<Uuid>(c)
                .await
                .optional()?
            else {
                return Ok(ChunkOutcome::AlreadyDone);
            };
            // The submitter books: `booked_by`, the events and the audit name them. Their
            // reach was checked row by row when the batch was submitted.
            let actor = Actor::account(submitter, None);
            let work: Vec<Work> = bulk_rows::table
                .filter(bulk_rows::batch_id.eq(job.batch_id))
                .filter(bulk_rows::chunk.eq(job.chunk))
                .filter(bulk_rows::status.eq("pending"))
                .order(bulk_rows::seq)
                .select(Work::as_select())
                .load(c)
                .await?;
            let placed = place_all(c, submitter, &work).await?;
            let booked: Vec<(Uuid, &Choice)> = placed
                .iter()
                .filter_map(|p| p.as_ref().ok().map(|(id, x)| (*id, x)))
                .collect();
            let ids: Vec<Uuid> = booked.iter().map(|(id, _)| *id).collect();
            record_events(c, submitter, &ids).await?;
            // What `reminders::schedule` writes for each booking, for the chunk at once.
            let policy = load_policy(c).await?;
            let now = Utc::now();
            let mut reminder_jobs = Vec::new();
            for (id, x) in &booked {
                reminder_jobs.extend(reminders::jobs_for(&policy, *id, x.starts_at, now)?);
            }
            jobs::enqueue_many(c, tenant.id, reminders::KIND, &reminder_jobs).await?;
            let outcomes: Vec<(i32, Settled<'_>)> = work
                .iter()
                .zip(&placed)
                .map(|(w, p)| {
                    (
                        w.line,
                        match p {
                            Ok((id, x)) => Settled::Booked(*id, x),
                            Err(why) => Settled::Failed(why.clone()),
                        },
                    )
                })
                .collect();
            settle(c, job.batch_id, &outcomes).await?;
            let subjects = sorted(booked.iter().map(|(_, x)| x.client_id).collect());
            let (booked, failed) = (ids.len(), work.len() - ids.len());
            audit::record(
                c,
                &actor,
                Event::new("appointment.bulk_create")
                    .on("bulk_batch", job.batch_id)
                    .subjects(subjects)
                    .detail("chunk", job.chunk)
                    .detail("booked", booked)
                    .detail("failed", failed),
            )
            .await?;
            if let Some(next) = ChunkJob::lane(job.batch_id, &job.then) {
                jobs::enqueue_many(c, tenant.id, KIND, &[(to_payload(&next)?, now)]).await?;
            }
            complete(c, job.batch_id, &actor).await?;
            Ok(ChunkOutcome::Placed { booked, failed })
        })
        .await
}
