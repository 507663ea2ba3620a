//! Slot search across one provider or a department's providers: working hours minus
//! appointments (with their buffers), within the type's notice and advance limits, returned
//! as instants the API renders in the zone the caller asked for.
//!
//! Answers come in pages, earliest first: at most `limit` slots ([`DEFAULT_LIMIT`], at most
//! [`MAX_LIMIT`]) ordered by (start, provider), and a [`Cursor`] to continue from. A booking
//! screen shows a day or a week; a 20-provider department free around the clock holds ~50,000
//! slots over 28 days, which nobody reads and which took longer to build and send than
//! everything else in the request.
//!
//! Per request: the type, the providers, their schedules (three set-based queries) and one
//! statement for every provider's busy time ([`super::busy::busy_page`]) — never a query per
//! slot or per provider. That statement reads at most [`PAGE_ROWS`] appointments (at least
//! [`MIN_ROWS_PER_PROVIDER`] per provider); when a provider has more, the page ends where its
//! busy time is still known, and may then hold fewer than `limit` slots with a cursor to go on.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::collections::HashMap;
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::availability::load_schedules;
pub use super::busy::busy_spans;
use super::busy::{BusyPage, busy_page};
use super::calendar::{Schedule, SlotRules, Span, free_slots, local_start};
use super::model::{AppointmentType, Modality};
use super::setup::get_type_row;
use crate::error::{DomainError, DomainResult};
use crate::identity::{Principal, Role};
use crate::org::repo as org_repo;
use crate::schema::people;

/// The longest window one search may cover.
pub const MAX_DAYS: i64 = 62;
/// Slots per page when the caller does not say.
pub const DEFAULT_LIMIT: usize = 200;
/// The most slots one page may hold.
pub const MAX_LIMIT: usize = 500;
/// Appointments one page reads at most, shared among the providers searched…
pub const PAGE_ROWS: i64 = 10_000;
/// …but at least this many per provider. Busy times of one provider do not overlap and last
/// at least 5 minutes, so 500 appointments reach ≥ 41 h past the page's start: enough for a
/// page to move on by ≥ 9 h even with 8-hour appointments and 4-hour buffers (see
/// `complete_until`), so following the cursor always ends.
pub const MIN_ROWS_PER_PROVIDER: i64 = 500;
/// …and at most this many: a page holds at most [`MAX_LIMIT`] slots, so one provider's dense
/// calendar needs no more than a few days of appointments per page (QUALITY B3: reading all of
/// a 28-day calendar of 5,000 appointments kept a single-provider search over 10 ms).
pub const MAX_ROWS_PER_PROVIDER: i64 = 1_000;

#[derive(Clone, Copy, Debug)]
pub enum Providers {
    One(Uuid),
    /// Every active provider in this department and its sub-departments.
    Department(Uuid),
}

/// Where a page continues: strictly after this (start, provider) in the answer's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub starts_at: DateTime<Utc>,
    pub provider_id: Uuid,
}

impl Cursor {
    /// The page ended before `at` without a slot there: continue with starts from `at` on
    /// (no provider id sorts before the nil one).
    fn at(at: DateTime<Utc>) -> Cursor {
        Cursor {
            starts_at: at,
            provider_id: Uuid::nil(),
        }
    }
    /// Opaque to clients: microseconds since the epoch and the provider, `_`-separated.
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.starts_at.timestamp_micros(),
            self.provider_id.simple()
        )
    }
    pub fn decode(raw: &str) -> Option<Cursor> {
        let (t, p) = raw.trim().split_once('_')?;
        Some(Cursor {
            starts_at: DateTime::from_timestamp_micros(t.parse().ok()?)?,
            provider_id: Uuid::try_parse(p).ok()?,
        })
    }
    fn before(&self, s: &Slot) -> bool {
        (self.starts_at, self.provider_id) < (s.starts_at, s.provider_id)
    }
}

#[derive(Clone, Debug)]
pub struct SlotQuery {
    pub providers: Providers,
    pub type_id: Uuid,
    /// First and last local date (inclusive) in `tz`.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    /// The previous page's `next`.
    pub after: Option<Cursor>,
    /// Slots per page, 1..=[`MAX_LIMIT`].
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub provider_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// One page of a search.
#[derive(Clone, Debug, Default)]
pub struct SlotPage {
    pub slots: Vec<Slot>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Appointments per provider one page reads.
pub fn rows_per_provider(providers: usize) -> i64 {
    let n = i64::try_from(providers.max(1)).unwrap_or(i64::MAX);
    (PAGE_ROWS / n).clamp(MIN_ROWS_PER_PROVIDER, MAX_ROWS_PER_PROVIDER)
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
) -> DomainResult<SlotPage> {
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
    if !(1..=MAX_LIMIT).contains(&q.limit) {
        return Err(DomainError::invalid(
            "limit",
            format!("must be 1 to {MAX_LIMIT}"),
        ));
    }
    let client_only = is_client_only(p);
    let from = local_start(q.tz, q.from.and_time(chrono::NaiveTime::MIN));
    let to = local_start(
        q.tz,
        (q.to + Duration::days(1)).and_time(chrono::NaiveTime::MIN),
    );
    let start = match q.after {
        Some(a) if a.starts_at < from || a.starts_at > to => {
            return Err(DomainError::invalid(
                "after",
                "is not a cursor of this search (keep from, to and tz as they were)",
            ));
        }
        Some(a) => a.starts_at,
        None => from,
    };
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
            let rules = rules_for(&t, client_only, Utc::now(), start, to);
            let (lo, hi) = bounds(&rules);
            if lo >= hi || providers.is_empty() {
                return Ok(SlotPage::default());
            }
            let schedules = load_schedules(
                c,
                &providers,
                q.from - Duration::days(2),
                q.to + Duration::days(2),
            )
            .await?;
            let busy = busy_page(
                c,
                &providers,
                lo,
                hi,
                Some(rows_per_provider(providers.len())),
            )
            .await?;
            let page = compute_page(&t, &providers, &schedules, &busy, &rules, q.after, q.limit);
            // The cursor must move on, or a client following it would loop (see
            // MIN_ROWS_PER_PROVIDER for why it does with the data the app writes).
            if page.slots.is_empty() && page.next.is_some_and(|n| n.starts_at <= lo) {
                return Err(DomainError::Internal(
                    "slot search: a page of busy time ended before the page began".into(),
                ));
            }
            Ok(page)
        })
        .await
}

/// The instants slot starts may take under these rules: `[lo, hi)`.
pub fn bounds(r: &SlotRules) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        r.from.max(r.earliest),
        r.to.min(r.latest + Duration::seconds(1)),
    )
}

/// The in-memory part of one page of a search (the B3 floor): rows already loaded, slots
/// from `rules.from` on, strictly after `after`, at most `limit`, earliest first.
pub fn compute_page(
    t: &AppointmentType,
    providers: &[Uuid],
    schedules: &HashMap<Uuid, Schedule>,
    busy: &BusyPage,
    rules: &SlotRules,
    after: Option<Cursor>,
    limit: usize,
) -> SlotPage {
    let (_, hi) = bounds(rules);
    let mut r = *rules;
    // A slot is only known free if the busy time around it was read: it and its buffer after
    // must end by `complete_until`.
    let cut = busy
        .complete_until
        .map(|u| u - rules.duration - rules.buffer_after);
    if let Some(cut) = cut {
        r.to = r.to.min(cut);
    }
    let (lo, page_hi) = bounds(&r);
    let location = type_location(t);
    let none: Vec<Span> = Vec::new();
    let mut out = Vec::new();
    for id in providers {
        let Some(schedule) = schedules.get(id) else {
            continue;
        };
        if page_hi <= lo {
            break;
        }
        // Working hours of the dates this page can reach, a day either side.
        let first = lo.with_timezone(&schedule.tz).date_naive() - Duration::days(1);
        let last = page_hi.with_timezone(&schedule.tz).date_naive() + Duration::days(1);
        let working = schedule.working(first, last, location);
        let busy = busy.spans.get(id).unwrap_or(&none);
        let mine = free_slots(&working, busy, &r)
            .into_iter()
            .map(|s| Slot {
                provider_id: *id,
                starts_at: s,
                ends_at: s + rules.duration,
            })
            .filter(|s| after.is_none_or(|a| a.before(s)))
            // One provider alone may fill the page; one more tells whether a next page exists.
            .take(limit + 1);
        out.extend(mine);
    }
    out.sort_by_key(|s| (s.starts_at, s.provider_id));
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(|s| Cursor {
            starts_at: s.starts_at,
            provider_id: s.provider_id,
        })
    } else {
        cut.filter(|c| *c < hi).map(Cursor::at)
    };
    SlotPage { slots: out, next }
}

/// Every slot of the window, all providers, rows already loaded (bulk placement, which picks
/// among them by its own preferences).
pub fn compute(
    t: &AppointmentType,
    providers: &[Uuid],
    schedules: &HashMap<Uuid, Schedule>,
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
