//! Booking and the appointment lifecycle.
//!
//! requested → booked → checked_in → completed | no_show; requested | booked → cancelled.
//! Every transition writes an `appointment_events` row (who, when, reason code) and an audit
//! entry. Overlaps are refused by the database's exclusion constraints, so two concurrent
//! bookings of the same time cannot both succeed whatever the interleaving (QUALITY T1).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::availability::load_schedules;
use super::calendar::parse_zone;
use super::model::*;
use super::reach::{self, Reach, reach};
use super::schema::{appointment_events, appointment_types, appointments};
use super::setup::{get_type_row, load_policy};
use super::slots::type_location;
use super::waitlist;
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::idempotency::{IdempotencyKey, claim_key, settle_key};
use crate::identity::Principal;
use crate::org::model::Person;
use crate::org::repo as org_repo;
use crate::page::{Page, PageRequest};
use crate::schema::people;

async fn names(c: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String, String)> = people::table
        .filter(people::id.eq_any(ids))
        .select((people::id, people::given_name, people::family_name))
        .load(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, g, f)| (id, format!("{g} {f}")))
        .collect())
}

/// Rows → appointments with the names this caller may see.
pub async fn present(
    c: &mut AsyncPgConnection,
    r: &Reach,
    rows: Vec<AppointmentRow>,
) -> DomainResult<Vec<Appointment>> {
    let mut ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|a| [a.provider_id, a.client_id])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let names = names(c, &ids).await?;
    let mut types: Vec<Uuid> = rows.iter().map(|a| a.type_id).collect();
    types.sort_unstable();
    types.dedup();
    let type_names: HashMap<Uuid, String> = appointment_types::table
        .filter(appointment_types::id.eq_any(types))
        .select((appointment_types::id, appointment_types::name))
        .load::<(Uuid, String)>(c)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let client_visible = r.staff_side() || r.own_bookings == Some(row.client_id);
            Appointment {
                type_name: type_names.get(&row.type_id).cloned().unwrap_or_default(),
                provider_name: names.get(&row.provider_id).cloned().unwrap_or_default(),
                client_name: client_visible
                    .then(|| names.get(&row.client_id).cloned())
                    .flatten(),
                row,
            }
        })
        .collect())
}

pub async fn row(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AppointmentRow>> {
    appointments::table
        .find(id)
        .select(AppointmentRow::as_select())
        .first(c)
        .await
        .optional()
}

async fn locked_row(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AppointmentRow>> {
    appointments::table
        .find(id)
        .select(AppointmentRow::as_select())
        .for_update()
        .first(c)
        .await
        .optional()
}

#[expect(
    clippy::too_many_arguments,
    reason = "one column per argument of the event row"
)]
pub async fn record_event(
    c: &mut AsyncPgConnection,
    appointment: Uuid,
    actor: Option<Uuid>,
    action: &str,
    from: Option<Status>,
    to: Status,
    reason: Option<ReasonCode>,
    late: bool,
    previous: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> QueryResult<()> {
    diesel::insert_into(appointment_events::table)
        .values((
            appointment_events::id.eq(Uuid::now_v7()),
            appointment_events::appointment_id.eq(appointment),
            appointment_events::actor_account.eq(actor),
            appointment_events::action.eq(action),
            appointment_events::from_status.eq(from.map(Status::as_str)),
            appointment_events::to_status.eq(to.as_str()),
            appointment_events::reason_code.eq(reason.map(ReasonCode::as_str)),
            appointment_events::late.eq(late),
            appointment_events::previous_start.eq(previous.map(|p| p.0)),
            appointment_events::previous_end.eq(previous.map(|p| p.1)),
        ))
        .execute(c)
        .await
        .map(|_| ())
}

/// Who is booking, for whom, and under which rules.
pub struct Booker {
    pub reach: Reach,
    pub client: Person,
    pub provider: Person,
    /// A client booking for themselves: notice, advance and hoarding limits apply.
    pub self_service: bool,
}

/// Resolves and authorises a booking's parties. Errors name the field at fault.
pub async fn booker(
    c: &mut AsyncPgConnection,
    p: &Principal,
    provider_id: Uuid,
    client_id: Option<Uuid>,
) -> DomainResult<Booker> {
    let r = reach(c, p).await?;
    let provider = reach::provider(c, provider_id, "/provider_id").await?;
    let (client_id, self_service) = match (client_id, r.own_bookings) {
        (None, Some(me)) => (me, true),
        (Some(id), Some(me)) if id == me && !r.manages(&provider) => (me, true),
        (Some(id), _) => (id, false),
        (None, None) => {
            return Err(DomainError::invalid(
                "/client_id",
                "name the client to book for",
            ));
        }
    };
    if !self_service && !r.manages(&provider) {
        return Err(DomainError::Forbidden(
            "you may book only for yourself, or on calendars you manage",
        ));
    }
    let client = reach::client(c, client_id, "/client_id").await?;
    Ok(Booker {
        reach: r,
        client,
        provider,
        self_service,
    })
}

/// Everything a new or moved appointment must satisfy besides not overlapping (which the
/// database enforces): a bookable type, a future start within the provider's hours, and —
/// for clients booking themselves — the type's notice and advance limits. Returns the
/// provider's zone (read with the hours, so callers need not read it again).
pub async fn check_time(
    c: &mut AsyncPgConnection,
    b: &Booker,
    t: &AppointmentType,
    starts_at: DateTime<Utc>,
    field: &str,
) -> DomainResult<chrono_tz::Tz> {
    let now = Utc::now();
    if starts_at <= now {
        return Err(DomainError::invalid(field, "is in the past"));
    }
    if b.self_service {
        if starts_at < now + Duration::minutes(t.min_notice_minutes.into()) {
            return Err(DomainError::invalid(
                field,
                format!(
                    "this type must be booked at least {} minutes ahead",
                    t.min_notice_minutes
                ),
            ));
        }
        if starts_at > now + Duration::days(t.max_advance_days.into()) {
            return Err(DomainError::invalid(
                field,
                format!(
                    "this type can be booked at most {} days ahead",
                    t.max_advance_days
                ),
            ));
        }
    } else if starts_at > now + Duration::days(730) {
        return Err(DomainError::invalid(field, "is more than two years ahead"));
    }
    let day = starts_at.date_naive();
    let schedules = load_schedules(
        c,
        &[b.provider.id],
        day - Duration::days(2),
        day + Duration::days(2),
    )
    .await?;
    let Some(schedule) = schedules.get(&b.provider.id) else {
        return Err(DomainError::invalid(
            "/provider_id",
            "has no working hours set",
        ));
    };
    if !schedule.covers(starts_at, starts_at + t.duration(), type_location(t)) {
        return Err(DomainError::invalid(
            field,
            "is outside the provider's working hours for this appointment type",
        ));
    }
    Ok(schedule.tz)
}

/// Slot-hoarding limits (QUALITY T20) for a client booking themselves. The client's row is
/// locked first, so concurrent bookings by one client are counted one after another.
pub async fn check_limits(
    c: &mut AsyncPgConnection,
    client: &Person,
    starts_at: DateTime<Utc>,
    tz: chrono_tz::Tz,
    moving: Option<Uuid>,
) -> DomainResult<()> {
    let policy = load_policy(c).await?;
    people::table
        .find(client.id)
        .select(people::id)
        .for_update()
        .first::<Uuid>(c)
        .await?;
    let mut open = appointments::table
        .filter(appointments::client_id.eq(client.id))
        .filter(appointments::status.eq_any(["requested", "booked"]))
        .filter(appointments::starts_at.gt(Utc::now()))
        .into_boxed();
    if let Some(m) = moving {
        open = open.filter(appointments::id.ne(m));
    }
    let open: i64 = open.count().get_result(c).await?;
    if moving.is_none() && open >= policy.max_open_bookings_per_client.into() {
        return Err(DomainError::Conflict(format!(
            "you already hold {open} upcoming appointments, the most this organisation allows; cancel one first"
        )));
    }
    let local = starts_at.with_timezone(&tz).date_naive();
    let day_start = super::calendar::local_start(tz, local.and_time(chrono::NaiveTime::MIN));
    let day_end = super::calendar::local_start(
        tz,
        (local + Duration::days(1)).and_time(chrono::NaiveTime::MIN),
    );
    let mut same_day = appointments::table
        .filter(appointments::client_id.eq(client.id))
        .filter(appointments::status.ne("cancelled"))
        .filter(appointments::starts_at.ge(day_start))
        .filter(appointments::starts_at.lt(day_end))
        .into_boxed();
    if let Some(m) = moving {
        same_day = same_day.filter(appointments::id.ne(m));
    }
    let same_day: i64 = same_day.count().get_result(c).await?;
    if same_day >= policy.max_bookings_per_client_per_day.into() {
        return Err(DomainError::Conflict(format!(
            "you already have {same_day} appointments that day, the most this organisation allows"
        )));
    }
    Ok(())
}

/// The zone an appointment is shown in by default: the provider's.
pub async fn provider_zone(
    c: &mut AsyncPgConnection,
    provider: Uuid,
) -> DomainResult<chrono_tz::Tz> {
    let zone: Option<String> = super::schema::provider_schedules::table
        .find(provider)
        .select(super::schema::provider_schedules::timezone)
        .first(c)
        .await
        .optional()?;
    match zone {
        Some(z) => parse_zone(&z).map_err(DomainError::Internal),
        None => Err(DomainError::invalid(
            "/provider_id",
            "has no working hours set",
        )),
    }
}

pub struct Booked {
    pub appointment: Appointment,
    /// True when an `Idempotency-Key` replayed an earlier booking.
    pub replayed: bool,
}

/// Inserts one appointment row (no checks beyond the database's).
#[expect(
    clippy::too_many_arguments,
    reason = "the row's fields, passed straight through"
)]
pub async fn insert(
    c: &mut AsyncPgConnection,
    p: &Principal,
    t: &AppointmentType,
    provider: Uuid,
    client: Uuid,
    starts_at: DateTime<Utc>,
    tz: &str,
    status: Status,
    series: Option<(Uuid, NaiveDateTime)>,
) -> DomainResult<AppointmentRow> {
    let ends_at = starts_at + t.duration();
    let new = NewAppointmentRow {
        id: Uuid::now_v7(),
        provider_id: provider,
        client_id: client,
        type_id: t.id,
        location_id: type_location(t),
        series_id: series.map(|s| s.0),
        occurrence_local: series.map(|s| s.1),
        starts_at,
        ends_at,
        busy_from: starts_at - t.buffer_before(),
        busy_until: ends_at + t.buffer_after(),
        timezone: tz.to_owned(),
        status: status.as_str().to_owned(),
        booked_by: Some(p.account_id),
    };
    let row = diesel::insert_into(appointments::table)
        .values(&new)
        .returning(AppointmentRow::as_returning())
        .get_result(c)
        .await?;
    record_event(
        c,
        row.id,
        Some(p.account_id),
        status.as_str(),
        None,
        status,
        None,
        false,
        None,
    )
    .await?;
    Ok(row)
}

pub async fn book(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    req: BookingRequest,
    key: Option<IdempotencyKey>,
) -> DomainResult<Booked> {
    tenancy
        .tx(tenant, async |c| {
            if let Some(k) = &key
                && let Some(existing) = claim_key(c, p.account_id, "bookAppointment", k).await?
            {
                let r = reach(c, p).await?;
                let row = row(c, existing)
                    .await?
                    .ok_or(DomainError::NotFound("appointment"))?;
                let appointment = present(c, &r, vec![row]).await?.remove(0);
                return Ok(Booked {
                    appointment,
                    replayed: true,
                });
            }
            let b = booker(c, p, req.provider_id, req.client_id).await?;
            let t = get_type_row(c, req.type_id)
                .await?
                .filter(|t| t.active && (!b.self_service || t.client_bookable))
                .ok_or_else(|| {
                    DomainError::invalid("/type_id", "no such bookable appointment type")
                })?;
            super::setup::check_offered(c, &t, b.provider.id, "/provider_id").await?;
            if b.self_service && !load_policy(c).await?.clients_may_self_book {
                return Err(DomainError::Forbidden(
                    "this organisation books appointments through its staff",
                ));
            }
            let tz = check_time(c, &b, &t, req.starts_at, "/starts_at").await?;
            if b.self_service {
                check_limits(c, &b.client, req.starts_at, tz, None).await?;
            }
            let status = if b.self_service && t.requires_approval {
                Status::Requested
            } else {
                Status::Booked
            };
            let row = insert(
                c,
                p,
                &t,
                b.provider.id,
                b.client.id,
                req.starts_at,
                tz.name(),
                status,
                None,
            )
            .await?;
            if let Some(k) = &key {
                settle_key(c, p.account_id, &k.key, row.id).await?;
            }
            super::reminders::schedule(c, tenant.id, &row).await?;
            let (id, client) = (row.id, row.client_id);
            // The reply's look-ups first: the audit record locks the chain head until commit,
            // so it comes last (QUALITY B1: bookings in one tenant queue on that lock).
            let appointment = present(c, &b.reach, vec![row]).await?.remove(0);
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment.create")
                    .on("appointment", id)
                    .subjects([client])
                    .detail("status", status.as_str()),
            )
            .await?;
            Ok(Booked {
                appointment,
                replayed: false,
            })
        })
        .await
}

/// The appointment and its provider, if the caller may see it (404 otherwise).
pub async fn visible(
    c: &mut AsyncPgConnection,
    r: &Reach,
    id: Uuid,
    lock: bool,
) -> DomainResult<(AppointmentRow, Person)> {
    let row = if lock {
        locked_row(c, id).await?
    } else {
        row(c, id).await?
    }
    .ok_or(DomainError::NotFound("appointment"))?;
    let provider = org_repo::get_person(c, row.provider_id)
        .await?
        .ok_or(DomainError::NotFound("appointment"))?;
    if !r.sees(&provider, row.client_id) {
        return Err(DomainError::NotFound("appointment"));
    }
    Ok((row, provider))
}

pub async fn get(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<Appointment> {
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            let (row, _) = visible(c, &r, id, false).await?;
            let client = row.client_id;
            let a = present(c, &r, vec![row]).await?.remove(0);
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment.read")
                    .on("appointment", id)
                    .subjects([client]),
            )
            .await?;
            Ok(a)
        })
        .await
}

pub async fn history(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<Vec<AppointmentEvent>> {
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            let (row, _) = visible(c, &r, id, false).await?;
            let events = appointment_events::table
                .filter(appointment_events::appointment_id.eq(id))
                .order((appointment_events::at, appointment_events::id))
                .select(AppointmentEvent::as_select())
                .load(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment.history.read")
                    .on("appointment", id)
                    .subjects([row.client_id]),
            )
            .await?;
            Ok(events)
        })
        .await
}

pub async fn list(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    f: AppointmentFilter,
    page: PageRequest,
) -> DomainResult<Page<Appointment>> {
    if let (Some(from), Some(to)) = (f.from, f.to)
        && to <= from
    {
        return Err(DomainError::invalid("to", "must be after from"));
    }
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            let managed = reach::managed_providers(c, &r).await?;
            let mut q = appointments::table.into_boxed();
            match (&managed, r.own_bookings) {
                (None, _) => {}
                (Some(ids), Some(me)) => {
                    q = q.filter(
                        appointments::provider_id
                            .eq_any(ids.clone())
                            .or(appointments::client_id.eq(me)),
                    );
                }
                (Some(ids), None) => q = q.filter(appointments::provider_id.eq_any(ids.clone())),
            }
            if let Some(id) = f.provider_id {
                q = q.filter(appointments::provider_id.eq(id));
            }
            if let Some(id) = f.client_id {
                q = q.filter(appointments::client_id.eq(id));
            }
            if let Some(from) = f.from {
                q = q.filter(appointments::ends_at.gt(from));
            }
            if let Some(to) = f.to {
                q = q.filter(appointments::starts_at.lt(to));
            }
            if !f.statuses.is_empty() {
                q = q.filter(appointments::status.eq_any(f.statuses.iter().map(|s| s.as_str())));
            }
            if let Some(after) = page.after {
                q = q.filter(appointments::id.gt(after));
            }
            let rows: Vec<AppointmentRow> = q
                .order(appointments::id.asc())
                .limit(page.limit + 1)
                .select(AppointmentRow::as_select())
                .load(c)
                .await?;
            let page_rows = Page::from_overfetch(rows, page.limit, |a| a.id);
            let mut subjects: Vec<Uuid> = page_rows.items.iter().map(|a| a.client_id).collect();
            subjects.sort_unstable();
            subjects.dedup();
            let items = present(c, &r, page_rows.items).await?;
            if !subjects.is_empty() {
                audit::record(
                    c,
                    &Actor::from(p),
                    Event::new("appointment.list").subjects(subjects),
                )
                .await?;
            }
            Ok(Page {
                items,
                next_after: page_rows.next_after,
            })
        })
        .await
}

/// How long before its start an appointment may be checked in.
pub const CHECK_IN_OPENS_HOURS: i64 = 2;

pub async fn transition(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    to: Transition,
    reason: Option<ReasonCode>,
) -> DomainResult<Appointment> {
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            let (row, provider) = visible(c, &r, id, true).await?;
            let manages = r.manages(&provider);
            let own = r.own_bookings == Some(row.client_id);
            if row.version != expected_version {
                return Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: row.version,
                });
            }
            let now = Utc::now();
            let from = row.status();
            let t = get_type_row(c, row.type_id)
                .await?
                .ok_or(DomainError::NotFound("appointment type"))?;
            let not_allowed = |what: &str| {
                DomainError::Conflict(format!("a {} appointment cannot be {what}", from.as_str()))
            };
            let (next, action, late, cancelled_by) = match to {
                Transition::Cancel => {
                    if !(manages || own) {
                        return Err(DomainError::NotFound("appointment"));
                    }
                    if !from.is_open() {
                        return Err(not_allowed("cancelled"));
                    }
                    if !manages && row.starts_at <= now {
                        return Err(DomainError::Conflict(
                            "the appointment has started; ask the clinic to change it".into(),
                        ));
                    }
                    let late = from == Status::Booked
                        && now
                            > row.starts_at
                                - Duration::minutes(t.cancellation_window_minutes.into());
                    let by = if own && !manages {
                        CancelledBy::Client
                    } else if r.own_calendar == Some(row.provider_id) {
                        CancelledBy::Provider
                    } else {
                        CancelledBy::Staff
                    };
                    (Status::Cancelled, "cancelled", late, Some(by))
                }
                _ if !manages => {
                    return Err(DomainError::Forbidden(
                        "only the provider, front desk or an administrator may do this",
                    ));
                }
                Transition::Approve if from == Status::Requested => {
                    (Status::Booked, "approved", false, None)
                }
                Transition::Approve => return Err(not_allowed("approved")),
                Transition::Decline if from == Status::Requested => {
                    let by = if r.own_calendar == Some(row.provider_id) {
                        CancelledBy::Provider
                    } else {
                        CancelledBy::Staff
                    };
                    (Status::Cancelled, "declined", false, Some(by))
                }
                Transition::Decline => return Err(not_allowed("declined")),
                Transition::CheckIn if from == Status::Booked => {
                    if now < row.starts_at - Duration::hours(CHECK_IN_OPENS_HOURS) {
                        return Err(DomainError::Conflict(format!(
                            "check-in opens {CHECK_IN_OPENS_HOURS} hours before the start"
                        )));
                    }
                    (Status::CheckedIn, "checked_in", false, None)
                }
                Transition::CheckIn => return Err(not_allowed("checked in")),
                Transition::Complete if matches!(from, Status::Booked | Status::CheckedIn) => {
                    if now < row.starts_at {
                        return Err(DomainError::Conflict(
                            "an appointment can be completed once it has started".into(),
                        ));
                    }
                    (Status::Completed, "completed", false, None)
                }
                Transition::Complete => return Err(not_allowed("completed")),
                Transition::NoShow if from == Status::Booked => {
                    if now < row.starts_at {
                        return Err(DomainError::Conflict(
                            "a no-show can be recorded once the start time has passed".into(),
                        ));
                    }
                    (Status::NoShow, "no_show", false, None)
                }
                Transition::NoShow => return Err(not_allowed("marked as a no-show")),
            };
            let updated = diesel::update(appointments::table.find(id))
                .filter(appointments::version.eq(expected_version))
                .set((
                    appointments::status.eq(next.as_str()),
                    appointments::cancelled_by.eq(cancelled_by.map(CancelledBy::as_str)),
                    appointments::late_cancellation.eq(late),
                    appointments::series_exception.eq(row.series_id.is_some()
                        && (row.series_exception || next == Status::Cancelled)),
                    appointments::version.eq(appointments::version + 1),
                    appointments::updated_at.eq(diesel::dsl::now),
                ))
                .returning(AppointmentRow::as_returning())
                .get_result(c)
                .await?;
            record_event(
                c,
                id,
                Some(p.account_id),
                action,
                Some(from),
                next,
                reason,
                late,
                None,
            )
            .await?;
            if next == Status::Booked {
                super::reminders::schedule(c, tenant.id, &updated).await?;
            }
            if next == Status::Cancelled && row.starts_at > now {
                waitlist::offer_freed(c, tenant.id, &t, row.provider_id, row.starts_at).await?;
            }
            let reply = present(c, &r, vec![updated]).await?.remove(0);
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment.transition")
                    .on("appointment", id)
                    .subjects([row.client_id])
                    .detail("action", action)
                    .detail("late", late),
            )
            .await?;
            Ok(reply)
        })
        .await
}

pub async fn reschedule(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    starts_at: DateTime<Utc>,
    reason: Option<ReasonCode>,
) -> DomainResult<Appointment> {
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            let (row, _) = visible(c, &r, id, true).await?;
            if row.version != expected_version {
                return Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: row.version,
                });
            }
            if !row.status().is_open() {
                return Err(DomainError::Conflict(format!(
                    "a {} appointment cannot be moved",
                    row.status().as_str()
                )));
            }
            let b = booker(c, p, row.provider_id, Some(row.client_id)).await?;
            if b.self_service && row.starts_at <= Utc::now() {
                return Err(DomainError::Conflict(
                    "the appointment has started; ask the clinic to change it".into(),
                ));
            }
            let t = get_type_row(c, row.type_id)
                .await?
                .ok_or(DomainError::NotFound("appointment type"))?;
            let tz = check_time(c, &b, &t, starts_at, "/starts_at").await?;
            if b.self_service {
                check_limits(c, &b.client, starts_at, tz, Some(id)).await?;
            }
            let ends_at = starts_at + t.duration();
            let updated = diesel::update(appointments::table.find(id))
                .filter(appointments::version.eq(expected_version))
                .set((
                    appointments::starts_at.eq(starts_at),
                    appointments::ends_at.eq(ends_at),
                    appointments::busy_from.eq(starts_at - t.buffer_before()),
                    appointments::busy_until.eq(ends_at + t.buffer_after()),
                    appointments::series_exception.eq(row.series_id.is_some()),
                    appointments::version.eq(appointments::version + 1),
                    appointments::updated_at.eq(diesel::dsl::now),
                ))
                .returning(AppointmentRow::as_returning())
                .get_result(c)
                .await?;
            let status = updated.status();
            record_event(
                c,
                id,
                Some(p.account_id),
                "rescheduled",
                Some(status),
                status,
                reason,
                false,
                Some((row.starts_at, row.ends_at)),
            )
            .await?;
            super::reminders::schedule(c, tenant.id, &updated).await?;
            if row.starts_at > Utc::now() {
                waitlist::offer_freed(c, tenant.id, &t, row.provider_id, row.starts_at).await?;
            }
            let reply = present(c, &r, vec![updated]).await?.remove(0);
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment.reschedule")
                    .on("appointment", id)
                    .subjects([row.client_id]),
            )
            .await?;
            Ok(reply)
        })
        .await
}
