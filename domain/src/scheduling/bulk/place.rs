//! The placement job: one chunk of a batch, in one tenant transaction.
//!
//! The job id goes into `processed_jobs` first, so a redelivered chunk changes nothing. Each
//! row runs in a savepoint: the earliest free slot that suits it (the provider's or the
//! department's providers' working hours, existing appointments with their buffers, the
//! client's own appointments, the preferred times) is booked with staff rules and its
//! reminders scheduled, and the row marked `booked` — or the savepoint is rolled back and the
//! row marked `failed` with the reason. Overlaps are still refused by the exclusion
//! constraints, so a slot taken meanwhile by another worker or a person booking by hand only
//! moves the row on to the next candidate.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::super::availability::load_schedules;
use super::super::booking;
use super::super::calendar::local_start;
use super::super::model::{AppointmentRow, AppointmentType, Status};
use super::super::schema::{appointments, bulk_batches, bulk_rows};
use super::super::setup::get_type_row;
use super::super::slots::{Slot, busy_spans, compute, rules_for};
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::identity::Principal;
use crate::jobs;
use crate::org::repo as org_repo;
use crate::schema::people;

pub const KIND: &str = "bulk.place";

/// How many candidate slots a row tries before it gives up (each try is a savepoint; a slot
/// is lost only to a concurrent booking, so a few are plenty).
const TRIES: usize = 3;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ChunkJob {
    pub batch_id: Uuid,
    pub chunk: i32,
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

#[derive(Queryable, Selectable)]
#[diesel(table_name = bulk_rows)]
struct Work {
    line: i32,
    client_id: Option<Uuid>,
    provider_id: Option<Uuid>,
    department_id: Option<Uuid>,
    type_id: Option<Uuid>,
    from_date: Option<NaiveDate>,
    until_date: Option<NaiveDate>,
    from_at: Option<DateTime<Utc>>,
    until_at: Option<DateTime<Utc>>,
    preferred_from: Option<NaiveTime>,
    preferred_until: Option<NaiveTime>,
}

async fn savepoint<T>(
    c: &mut AsyncPgConnection,
    name: &str,
    work: impl AsyncFnOnce(&mut AsyncPgConnection) -> DomainResult<T>,
) -> DomainResult<Result<T, DomainError>> {
    diesel::sql_query(format!("SAVEPOINT {name}"))
        .execute(c)
        .await?;
    match work(c).await {
        Ok(v) => {
            diesel::sql_query(format!("RELEASE SAVEPOINT {name}"))
                .execute(c)
                .await?;
            Ok(Ok(v))
        }
        Err(e @ (DomainError::Conflict(_) | DomainError::Invalid(_))) => {
            diesel::sql_query(format!("ROLLBACK TO SAVEPOINT {name}"))
                .execute(c)
                .await?;
            Ok(Err(e))
        }
        Err(e) => Err(e),
    }
}

fn reason(e: &DomainError) -> String {
    let text = match e {
        DomainError::Conflict(m) => m.clone(),
        DomainError::Invalid(fields) => fields
            .iter()
            .map(|f| f.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    text.chars().take(500).collect()
}

fn no_slot(why: &str) -> DomainError {
    DomainError::Conflict(why.to_owned())
}

/// Candidate slots for one row, earliest first.
async fn candidates(
    c: &mut AsyncPgConnection,
    w: &Work,
    t: &AppointmentType,
    providers: &[Uuid],
    client: Uuid,
) -> DomainResult<Vec<(Slot, chrono_tz::Tz)>> {
    let now = Utc::now();
    let (lo_day, hi_day) = match (w.from_date, w.until_date, w.from_at, w.until_at) {
        (Some(a), Some(b), _, _) => (a, b),
        (_, _, Some(a), Some(b)) => (a.date_naive(), b.date_naive()),
        _ => return Err(no_slot("the row has no window")),
    };
    let schedules = load_schedules(
        c,
        providers,
        lo_day - Duration::days(2),
        hi_day + Duration::days(2),
    )
    .await?;
    if schedules.is_empty() {
        return Err(no_slot("the provider has no working hours set"));
    }
    // Instants covering the window in any zone (±14 h), for the two range queries.
    let lo = local_start(chrono_tz::UTC, lo_day.and_time(NaiveTime::MIN)) - Duration::days(1);
    let hi = local_start(chrono_tz::UTC, hi_day.and_time(NaiveTime::MIN)) + Duration::days(2);
    let busy = busy_spans(c, providers, lo, hi).await?;
    let mine: Vec<(DateTime<Utc>, DateTime<Utc>)> = appointments::table
        .filter(appointments::client_id.eq(client))
        .filter(appointments::status.ne("cancelled"))
        .filter(appointments::starts_at.lt(hi))
        .filter(appointments::ends_at.gt(lo))
        .select((appointments::starts_at, appointments::ends_at))
        .load(c)
        .await?;
    let mut out = Vec::new();
    for id in providers {
        let Some(s) = schedules.get(id) else {
            continue;
        };
        let tz = s.tz;
        let (from, to) = match (w.from_date, w.until_date, w.from_at, w.until_at) {
            (Some(a), Some(b), _, _) => (
                local_start(tz, a.and_time(NaiveTime::MIN)),
                local_start(tz, (b + Duration::days(1)).and_time(NaiveTime::MIN)),
            ),
            (_, _, Some(a), Some(b)) => (a, b),
            _ => continue,
        };
        let rules = rules_for(t, false, now, from, to);
        let slots = compute(
            t,
            &[*id],
            &schedules,
            &busy,
            &rules,
            from.with_timezone(&tz).date_naive(),
            to.with_timezone(&tz).date_naive(),
        );
        let dur = t.duration().num_seconds();
        for slot in slots {
            if let (Some(a), Some(b)) = (w.preferred_from, w.preferred_until) {
                let start = slot.starts_at.with_timezone(&tz).time();
                let m = i64::from(start.num_seconds_from_midnight());
                if m < i64::from(a.num_seconds_from_midnight())
                    || m + dur > i64::from(b.num_seconds_from_midnight())
                {
                    continue;
                }
            }
            if mine
                .iter()
                .any(|(s, e)| *s < slot.ends_at && slot.starts_at < *e)
            {
                continue;
            }
            out.push((slot, tz));
        }
    }
    out.sort_by_key(|(s, _)| (s.starts_at, s.provider_id));
    Ok(out)
}

/// Books one row (inside the caller's savepoint).
async fn place_row(
    c: &mut AsyncPgConnection,
    tenant_id: i64,
    p: &Principal,
    w: &Work,
    types: &mut HashMap<Uuid, Option<AppointmentType>>,
    departments: &mut HashMap<Uuid, Vec<Uuid>>,
) -> DomainResult<AppointmentRow> {
    let (Some(client), Some(type_id)) = (w.client_id, w.type_id) else {
        return Err(no_slot("the row names no client or type"));
    };
    if let Entry::Vacant(e) = types.entry(type_id) {
        e.insert(get_type_row(c, type_id).await?.filter(|t| t.active));
    }
    let Some(t) = types.get(&type_id).cloned().flatten() else {
        return Err(no_slot("the appointment type is no longer active"));
    };
    let providers = match (w.provider_id, w.department_id) {
        (Some(id), _) => vec![id],
        (None, Some(d)) => {
            if let Entry::Vacant(e) = departments.entry(d) {
                let ids = org_repo::subtree_ids(c, &[d]).await?;
                let ps: Vec<Uuid> = people::table
                    .filter(people::kind.eq("provider"))
                    .filter(people::status.eq("active"))
                    .filter(people::department_id.eq_any(ids))
                    .order(people::id)
                    .select(people::id)
                    .load(c)
                    .await?;
                e.insert(ps);
            }
            departments.get(&d).cloned().unwrap_or_default()
        }
        (None, None) => return Err(no_slot("the row names no provider or department")),
    };
    if providers.is_empty() {
        return Err(no_slot("the department has no active providers"));
    }
    let found = candidates(c, w, &t, &providers, client).await?;
    if found.is_empty() {
        return Err(no_slot(if w.preferred_from.is_some() {
            "no free time in the window at the preferred times (working hours, other appointments and buffers)"
        } else {
            "no free time in the window (working hours, other appointments and buffers)"
        }));
    }
    let mut last = None;
    for (slot, tz) in found.into_iter().take(TRIES) {
        let attempt = savepoint(c, "bulk_slot", async |c| {
            booking::insert(
                c,
                p,
                &t,
                slot.provider_id,
                client,
                slot.starts_at,
                tz.name(),
                Status::Booked,
                None,
            )
            .await
        })
        .await?;
        match attempt {
            Ok(row) => {
                super::super::reminders::schedule(c, tenant_id, &row).await?;
                return Ok(row);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| no_slot("no free time in the window")))
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
            // The submitter books: `booked_by` and the audit name them. Their reach was
            // checked row by row when the batch was submitted.
            let p = Principal {
                account_id: submitter,
                person_id: None,
                session_id: Uuid::nil(),
                grants: Vec::new(),
                request_id: None,
                mfa_enrolment_required: false,
                scopes: None,
            };
            let actor = Actor::account(submitter, None);
            let work: Vec<Work> = bulk_rows::table
                .filter(bulk_rows::batch_id.eq(job.batch_id))
                .filter(bulk_rows::chunk.eq(job.chunk))
                .filter(bulk_rows::status.eq("pending"))
                .order(bulk_rows::seq)
                .select(Work::as_select())
                .load(c)
                .await?;
            let mut types = HashMap::new();
            let mut departments = HashMap::new();
            let (mut booked, mut failed) = (0, 0);
            let mut subjects = Vec::new();
            for w in &work {
                let row = bulk_rows::table.find((job.batch_id, w.line));
                let placed = savepoint(c, "bulk_row", async |c| {
                    place_row(c, tenant.id, &p, w, &mut types, &mut departments).await
                })
                .await?;
                match placed {
                    Ok(a) => {
                        diesel::update(row)
                            .set((
                                bulk_rows::status.eq("booked"),
                                bulk_rows::appointment_id.eq(a.id),
                                bulk_rows::provider_id.eq(a.provider_id),
                                bulk_rows::starts_at.eq(a.starts_at),
                            ))
                            .execute(c)
                            .await?;
                        subjects.push(a.client_id);
                        booked += 1;
                    }
                    Err(e) => {
                        diesel::update(row)
                            .set((
                                bulk_rows::status.eq("failed"),
                                bulk_rows::reason.eq(reason(&e)),
                            ))
                            .execute(c)
                            .await?;
                        failed += 1;
                    }
                }
            }
            subjects.sort_unstable();
            subjects.dedup();
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
            complete(c, job.batch_id, &actor).await?;
            Ok(ChunkOutcome::Placed { booked, failed })
        })
        .await
}
