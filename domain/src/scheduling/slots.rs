//! Slot search across one provider or a department's providers: working hours minus
//! appointments (with their buffers), within the type's notice and advance limits, returned
//! as instants the API renders in the zone the caller asked for.
//!
//! Per request: the type, the providers, their schedules (three set-based queries) and one
//! indexed range query for every provider's appointments in the window — never a query per
//! slot or per provider.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::availability::load_schedules;
use super::calendar::{SlotRules, Span, free_slots, local_start, merge};
use super::model::{AppointmentType, Modality};
use super::schema::appointments;
use super::setup::get_type_row;
use crate::error::{DomainError, DomainResult};
use crate::identity::{Principal, Role};
use crate::org::repo as org_repo;
use crate::schema::people;

/// The longest window one search may cover.
pub const MAX_DAYS: i64 = 62;

#[derive(Clone, Copy, Debug)]
pub enum Providers {
    One(Uuid),
    /// Every active provider in this department and its sub-departments.
    Department(Uuid),
}

#[derive(Clone, Debug)]
pub struct SlotQuery {
    pub providers: Providers,
    pub type_id: Uuid,
    /// First and last local date (inclusive) in `tz`.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub provider_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Busy spans per provider: one range query on (provider_id, starts_at). Appointments last at
/// most 8 h plus 4 h of buffers, so starts a day either side of the window cover every overlap.
pub async fn busy_spans(
    c: &mut AsyncPgConnection,
    providers: &[Uuid],
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
) -> QueryResult<HashMap<Uuid, Vec<Span>>> {
    let rows: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = appointments::table
        .filter(appointments::provider_id.eq_any(providers))
        .filter(appointments::starts_at.ge(lo - Duration::days(1)))
        .filter(appointments::starts_at.lt(hi + Duration::days(1)))
        .filter(appointments::status.ne("cancelled"))
        .select((
            appointments::provider_id,
            appointments::busy_from,
            appointments::busy_until,
        ))
        .load(c)
        .await?;
    let mut out: HashMap<Uuid, Vec<Span>> = HashMap::new();
    for (p, s, e) in rows {
        out.entry(p).or_default().push((s, e));
    }
    Ok(out
        .into_iter()
        .map(|(p, spans)| (p, merge(spans)))
        .collect())
}

/// Slot rules for this caller: clients are held to the type's notice and advance limits;
/// staff may book at any future time within two years.
pub fn rules_for(
    t: &AppointmentType,
    client_booking: bool,
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> SlotRules {
    let (earliest, latest) = if client_booking {
        (
            now + Duration::minutes(t.min_notice_minutes.into()),
            now + Duration::days(t.max_advance_days.into()),
        )
    } else {
        (now, now + Duration::days(730))
    };
    SlotRules {
        duration: t.duration(),
        interval: Duration::minutes(t.slot_interval_minutes.into()),
        buffer_before: t.buffer_before(),
        buffer_after: t.buffer_after(),
        earliest,
        latest,
        from,
        to,
    }
}

/// The location whose hours count for this type: in-person types only at their location.
pub fn type_location(t: &AppointmentType) -> Option<Uuid> {
    match Modality::parse(&t.modality) {
        Some(Modality::InPerson) => t.location_id,
        _ => None,
    }
}

pub fn is_client_only(p: &Principal) -> bool {
    !p.grants.is_empty() && p.grants.iter().all(|g| g.role == Role::Client)
}

pub async fn search(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    q: SlotQuery,
) -> DomainResult<Vec<Slot>> {
    if p.is_integration() || p.grants.is_empty() {
        return Err(DomainError::Forbidden(
            "slot search is for members of the organisation",
        ));
    }
    let today = Utc::now().date_naive();
    if q.from < today - Duration::days(366) || q.from > today + Duration::days(800) {
        return Err(DomainError::invalid(
            "from",
            "must be within a year before and about two years after today",
        ));
    }
    if q.to < q.from {
        return Err(DomainError::invalid("to", "must not be before from"));
    }
    if (q.to - q.from).num_days() >= MAX_DAYS {
        return Err(DomainError::invalid(
            "to",
            format!("a search covers at most {MAX_DAYS} days"),
        ));
    }
    let client_only = is_client_only(p);
    let from = local_start(q.tz, q.from.and_time(chrono::NaiveTime::MIN));
    let to = local_start(
        q.tz,
        (q.to + Duration::days(1)).and_time(chrono::NaiveTime::MIN),
    );
    tenancy
        .tx(tenant, async |c| {
            let t = get_type_row(c, q.type_id)
                .await?
                .filter(|t| t.active && (!client_only || t.client_bookable))
                .ok_or_else(|| DomainError::invalid("type", "no such bookable appointment type"))?;
            let providers: Vec<Uuid> = match q.providers {
                Providers::One(id) => {
                    super::reach::provider(c, id, "provider").await?;
                    super::setup::check_offered(c, &t, id, "provider").await?;
                    vec![id]
                }
                Providers::Department(d) => {
                    if org_repo::get_department(c, d).await?.is_none() {
                        return Err(DomainError::invalid("department", "no such department"));
                    }
                    let ids = org_repo::subtree_ids(c, &[d]).await?;
                    let team: Vec<Uuid> = people::table
                        .filter(people::kind.eq("provider"))
                        .filter(people::status.eq("active"))
                        .filter(people::department_id.eq_any(ids))
                        .select(people::id)
                        .load(c)
                        .await?;
                    super::setup::offering_providers(c, &t, &team).await?
                }
            };
            let schedules = load_schedules(
                c,
                &providers,
                q.from - Duration::days(2),
                q.to + Duration::days(2),
            )
            .await?;
            let busy = busy_spans(c, &providers, from, to).await?;
            let rules = rules_for(&t, client_only, Utc::now(), from, to);
            Ok(compute(
                &t, &providers, &schedules, &busy, &rules, q.from, q.to,
            ))
        })
        .await
}

/// The in-memory part of a search (also the B3 floor): rows already loaded.
pub fn compute(
    t: &AppointmentType,
    providers: &[Uuid],
    schedules: &HashMap<Uuid, super::calendar::Schedule>,
    busy: &HashMap<Uuid, Vec<Span>>,
    rules: &SlotRules,
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<Slot> {
    let location = type_location(t);
    let none: Vec<Span> = Vec::new();
    let mut out = Vec::new();
    for id in providers {
        let Some(schedule) = schedules.get(id) else {
            continue;
        };
        let working = schedule.working(
            first - Duration::days(1),
            last + Duration::days(1),
            location,
        );
        let busy = busy.get(id).unwrap_or(&none);
        out.extend(free_slots(&working, busy, rules).into_iter().map(|s| Slot {
            provider_id: *id,
            starts_at: s,
            ends_at: s + rules.duration,
        }));
    }
    out.sort_by_key(|s| (s.starts_at, s.provider_id));
    out
}
