//! Recurring series (RFC 5545 RRULE subset: weekly, every N weeks, monthly by weekday; COUNT or
//! UNTIL) expanded by the `rrule` crate in the provider's zone, so 10:00 stays 10:00 local
//! across daylight-saving changes. Occurrences are materialised as appointments; one that
//! cannot be booked (the provider or client is busy, or it falls outside working hours) is
//! reported as a conflict instead of failing the whole series.
//!
//! Editing: one occurrence → the appointment's own reschedule/cancel (it becomes an exception);
//! "this and following" → the series splits, the later part gets its own series row; "all" →
//! every future, open, non-exception occurrence moves.

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rrule::{Frequency, RRule, Unvalidated};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::booking::{self, Booker};
use super::calendar::{local_start, parse_zone};
use super::model::*;
use super::reach::reach;
use super::schema::{appointment_series, appointments};
use super::setup::get_type_row;
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::identity::Principal;

/// The most occurrences one series may have.
pub const MAX_OCCURRENCES: u16 = 104;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = appointment_series)]
pub struct SeriesRow {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub type_id: Uuid,
    pub timezone: String,
    pub first_local: NaiveDateTime,
    pub rrule: String,
    pub parent_id: Option<Uuid>,
    pub status: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Clone, Debug)]
pub struct NewSeries {
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub type_id: Uuid,
    /// The first occurrence's wall-clock start in the provider's zone.
    pub first_local: NaiveDateTime,
    pub rrule: String,
}

/// An occurrence that could not be booked, and why.
#[derive(Clone, Debug)]
pub struct OccurrenceConflict {
    pub local: NaiveDateTime,
    pub starts_at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct SeriesOutcome {
    pub series: SeriesRow,
    pub appointments: Vec<Appointment>,
    pub conflicts: Vec<OccurrenceConflict>,
}

/// Parses and checks the RRULE subset; returns the normalised rule text.
pub fn parse_rule(raw: &str) -> Result<RRule<Unvalidated>, String> {
    let text = raw.trim();
    let text = text.strip_prefix("RRULE:").unwrap_or(text);
    let rule: RRule<Unvalidated> = text
        .parse()
        .map_err(|e| format!("is not a valid RFC 5545 RRULE: {e}"))?;
    match rule.get_freq() {
        Frequency::Weekly | Frequency::Monthly => {}
        _ => return Err("only FREQ=WEEKLY or FREQ=MONTHLY (by weekday) are supported".into()),
    }
    if rule.get_freq() == Frequency::Monthly && rule.get_by_weekday().is_empty() {
        return Err("a monthly series repeats by weekday, e.g. BYDAY=2TU".into());
    }
    // The `rrule` crate accepts INTERVAL=0 and then yields nothing: an empty series.
    if rule.get_interval() == 0 {
        return Err("INTERVAL must be at least 1".into());
    }
    // RFC 5545 3.3.10: COUNT and UNTIL MUST NOT occur in the same rule.
    if rule.get_count().is_some() && rule.get_until().is_some() {
        return Err("give COUNT or UNTIL, not both".into());
    }
    // With a start in the provider's zone, `rrule` only takes a UTC UNTIL; say so plainly
    // instead of passing on its message about "timezone Local".
    if text
        .split(';')
        .any(|p| p.starts_with("UNTIL=") && !p.ends_with('Z'))
    {
        return Err(
            "UNTIL must be a UTC time ending in Z, e.g. 20270329T235959Z (the end of the last day \
             in the provider's zone, converted to UTC)"
                .into(),
        );
    }
    match (rule.get_count(), rule.get_until()) {
        (None, None) => return Err("needs COUNT or UNTIL: a series must end".into()),
        (Some(n), _) if n == 0 || n > MAX_OCCURRENCES as u32 => {
            return Err(format!("COUNT must be between 1 and {MAX_OCCURRENCES}"));
        }
        _ => {}
    }
    Ok(rule)
}

/// The occurrences' local start times (wall clock in `tz`).
pub fn expand(
    rule: &str,
    tz: chrono_tz::Tz,
    first_local: NaiveDateTime,
) -> Result<Vec<NaiveDateTime>, String> {
    let parsed = parse_rule(rule)?;
    let rtz: rrule::Tz = tz.into();
    let start = rtz
        .from_local_datetime(&first_local)
        .earliest()
        .ok_or_else(|| {
            format!(
                "{first_local} does not exist in {} (daylight-saving gap)",
                tz.name()
            )
        })?;
    if parsed.get_until().is_some_and(|u| *u < start) {
        return Err("UNTIL is before the first start".into());
    }
    let set = parsed
        .build(start)
        .map_err(|e| format!("is not a valid RRULE for this start: {e}"))?;
    let result = set.all(MAX_OCCURRENCES + 1);
    if result.dates.is_empty() {
        return Err("gives no occurrence before its UNTIL".into());
    }
    if result.dates.len() > MAX_OCCURRENCES as usize {
        return Err(format!(
            "a series has at most {MAX_OCCURRENCES} occurrences"
        ));
    }
    if let Some(last) = result.dates.last()
        && last.naive_local() - first_local > Duration::days(731)
    {
        return Err("a series spans at most two years".into());
    }
    Ok(result.dates.iter().map(|d| d.naive_local()).collect())
}

/// Replaces the rule's end (COUNT/UNTIL) with `end`.
fn with_end(rule: &str, end: &str) -> String {
    let text = rule.trim();
    let text = text.strip_prefix("RRULE:").unwrap_or(text);
    let mut parts: Vec<&str> = text
        .split(';')
        .filter(|p| !p.starts_with("COUNT=") && !p.starts_with("UNTIL="))
        .collect();
    parts.push(end);
    parts.join(";")
}

async fn savepoint<T>(
    c: &mut AsyncPgConnection,
    work: impl AsyncFnOnce(&mut AsyncPgConnection) -> DomainResult<T>,
) -> DomainResult<Result<T, DomainError>> {
    diesel::sql_query("SAVEPOINT occurrence").execute(c).await?;
    match work(c).await {
        Ok(v) => {
            diesel::sql_query("RELEASE SAVEPOINT occurrence")
                .execute(c)
                .await?;
            Ok(Ok(v))
        }
        Err(e @ (DomainError::Conflict(_) | DomainError::Invalid(_))) => {
            diesel::sql_query("ROLLBACK TO SAVEPOINT occurrence")
                .execute(c)
                .await?;
            Ok(Err(e))
        }
        Err(e) => Err(e),
    }
}

fn reason(e: &DomainError) -> String {
    match e {
        DomainError::Conflict(m) => m.clone(),
        DomainError::Invalid(fields) => fields
            .iter()
            .map(|f| f.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Books every occurrence it can; the rest are reported.
async fn materialise(
    c: &mut AsyncPgConnection,
    p: &Principal,
    b: &Booker,
    t: &AppointmentType,
    series: Uuid,
    tz: chrono_tz::Tz,
    locals: &[NaiveDateTime],
) -> DomainResult<(Vec<AppointmentRow>, Vec<OccurrenceConflict>)> {
    let mut booked = Vec::new();
    let mut conflicts = Vec::new();
    for local in locals {
        let starts_at = local_start(tz, *local);
        let outcome = savepoint(c, async |c| {
            booking::check_time(c, b, t, starts_at, "/first_start").await?;
            booking::insert(
                c,
                p,
                t,
                b.provider.id,
                b.client.id,
                starts_at,
                tz.name(),
                Status::Booked,
                Some((series, *local)),
            )
            .await
        })
        .await?;
        match outcome {
            Ok(row) => booked.push(row),
            Err(e) => conflicts.push(OccurrenceConflict {
                local: *local,
                starts_at,
                reason: reason(&e),
            }),
        }
    }
    Ok((booked, conflicts))
}

pub async fn create(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    new: NewSeries,
) -> DomainResult<SeriesOutcome> {
    parse_rule(&new.rrule).map_err(|m| DomainError::invalid("/rrule", m))?;
    tenancy
        .tx(tenant, async |c| {
            let b = booking::booker(c, p, new.provider_id, Some(new.client_id)).await?;
            if b.self_service {
                return Err(DomainError::Forbidden(
                    "recurring series are booked by the provider or the front desk",
                ));
            }
            let t = get_type_row(c, new.type_id)
                .await?
                .filter(|t| t.active)
                .ok_or_else(|| {
                    DomainError::invalid("/type_id", "no such active appointment type")
                })?;
            super::setup::check_offered(c, &t, b.provider.id, "/provider_id").await?;
            let tz = booking::provider_zone(c, b.provider.id).await?;
            let first = local_start(tz, new.first_local);
            if first <= Utc::now() {
                return Err(DomainError::invalid("/first_start", "is in the past"));
            }
            if first > Utc::now() + Duration::days(730) {
                return Err(DomainError::invalid(
                    "/first_start",
                    "is more than two years ahead",
                ));
            }
            let locals = expand(&new.rrule, tz, new.first_local)
                .map_err(|m| DomainError::invalid("/rrule", m))?;
            // first_start is documented as the first occurrence: a rule that would begin
            // elsewhere (BYDAY=2TU from a Monday) is refused rather than silently moved.
            let first_local = <[NaiveDateTime]>::first(&locals);
            if first_local != Some(&new.first_local) {
                return Err(DomainError::invalid(
                    "/first_start",
                    format!(
                        "is not an occurrence of the rule, whose first would be {}; start on a day the rule repeats on",
                        first_local.map(|l| l.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
                    ),
                ));
            }
            let series = diesel::insert_into(appointment_series::table)
                .values((
                    appointment_series::id.eq(Uuid::now_v7()),
                    appointment_series::provider_id.eq(b.provider.id),
                    appointment_series::client_id.eq(b.client.id),
                    appointment_series::type_id.eq(t.id),
                    appointment_series::timezone.eq(tz.name()),
                    appointment_series::first_local.eq(new.first_local),
                    appointment_series::rrule.eq(new.rrule.trim().trim_start_matches("RRULE:")),
                    appointment_series::created_by.eq(p.account_id),
                ))
                .returning(SeriesRow::as_returning())
                .get_result(c)
                .await?;
            let (rows, conflicts) = materialise(c, p, &b, &t, series.id, tz, &locals).await?;
            for row in &rows {
                super::reminders::schedule(c, tenant.id, row).await?;
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment_series.create")
                    .on("appointment_series", series.id)
                    .subjects([b.client.id])
                    .detail("booked", rows.len() as i64)
                    .detail("conflicts", conflicts.len() as i64),
            )
            .await?;
            let appointments = booking::present(c, &b.reach, rows).await?;
            Ok(SeriesOutcome {
                series,
                appointments,
                conflicts,
            })
        })
        .await
}

async fn visible_series(
    c: &mut AsyncPgConnection,
    p: &Principal,
    id: Uuid,
) -> DomainResult<(SeriesRow, super::reach::Reach, bool)> {
    let r = reach(c, p).await?;
    let s: SeriesRow = appointment_series::table
        .find(id)
        .select(SeriesRow::as_select())
        .first(c)
        .await
        .optional()?
        .ok_or(DomainError::NotFound("series"))?;
    let provider = crate::org::repo::get_person(c, s.provider_id)
        .await?
        .ok_or(DomainError::NotFound("series"))?;
    if !r.sees(&provider, s.client_id) {
        return Err(DomainError::NotFound("series"));
    }
    let manages = r.manages(&provider);
    Ok((s, r, manages))
}

async fn occurrences(c: &mut AsyncPgConnection, series: Uuid) -> QueryResult<Vec<AppointmentRow>> {
    appointments::table
        .filter(appointments::series_id.eq(series))
        .order(appointments::starts_at)
        .select(AppointmentRow::as_select())
        .load(c)
        .await
}

pub async fn get(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<SeriesOutcome> {
    tenancy
        .tx(tenant, async |c| {
            let (series, r, _) = visible_series(c, p, id).await?;
            let rows = occurrences(c, id).await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment_series.read")
                    .on("appointment_series", id)
                    .subjects([series.client_id]),
            )
            .await?;
            let appointments = booking::present(c, &r, rows).await?;
            Ok(SeriesOutcome {
                series,
                appointments,
                conflicts: Vec::new(),
            })
        })
        .await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every future open occurrence that still follows the series.
    All,
    /// This occurrence (an appointment of the series) and every later one.
    Following(Uuid),
}

/// Future, open, non-exception occurrences in scope, and the local start they begin from.
async fn in_scope(
    c: &mut AsyncPgConnection,
    series: &SeriesRow,
    scope: Scope,
) -> DomainResult<Vec<AppointmentRow>> {
    let rows = occurrences(c, series.id).await?;
    let from_local = match scope {
        Scope::All => None,
        Scope::Following(aid) => Some(
            rows.iter()
                .find(|a| a.id == aid)
                .and_then(|a| a.occurrence_local)
                .ok_or_else(|| {
                    DomainError::invalid(
                        "/from_appointment_id",
                        "is not an occurrence of this series",
                    )
                })?,
        ),
    };
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .filter(|a| a.status().is_open() && !a.series_exception && a.starts_at > now)
        .filter(|a| match (from_local, a.occurrence_local) {
            (Some(f), Some(l)) => l >= f,
            _ => true,
        })
        .collect())
}

/// Splits off the occurrences from `from_local` on into a new series (for "following").
async fn split(
    c: &mut AsyncPgConnection,
    p: &Principal,
    series: &SeriesRow,
    from_local: NaiveDateTime,
    new_first: NaiveDateTime,
    remaining: usize,
) -> DomainResult<SeriesRow> {
    let tz = parse_zone(&series.timezone).map_err(DomainError::Internal)?;
    let until = local_start(tz, from_local) - Duration::seconds(1);
    diesel::update(appointment_series::table.find(series.id))
        .set((
            appointment_series::rrule.eq(with_end(
                &series.rrule,
                &format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")),
            )),
            appointment_series::status.eq("ended"),
            appointment_series::version.eq(appointment_series::version + 1),
            appointment_series::updated_at.eq(diesel::dsl::now),
        ))
        .execute(c)
        .await?;
    let tail = diesel::insert_into(appointment_series::table)
        .values((
            appointment_series::id.eq(Uuid::now_v7()),
            appointment_series::provider_id.eq(series.provider_id),
            appointment_series::client_id.eq(series.client_id),
            appointment_series::type_id.eq(series.type_id),
            appointment_series::timezone.eq(&series.timezone),
            appointment_series::first_local.eq(new_first),
            appointment_series::rrule.eq(with_end(
                &series.rrule,
                &format!("COUNT={}", remaining.max(1)),
            )),
            appointment_series::parent_id.eq(series.id),
            appointment_series::created_by.eq(p.account_id),
        ))
        .returning(SeriesRow::as_returning())
        .get_result(c)
        .await?;
    Ok(tail)
}

/// Moves the occurrences in scope to a new local time of day (same dates). Occurrences that
/// cannot move stay where they were and are reported.
pub async fn retime(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    scope: Scope,
    local_time: NaiveTime,
) -> DomainResult<SeriesOutcome> {
    tenancy
        .tx(tenant, async |c| {
            let (series, r, manages) = visible_series(c, p, id).await?;
            if !manages {
                return Err(DomainError::Forbidden(
                    "only those who manage the provider's calendar may change a series",
                ));
            }
            if series.version != expected_version {
                return Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: series.version,
                });
            }
            if series.status != "active" {
                return Err(DomainError::Conflict(format!(
                    "the series is {}",
                    series.status
                )));
            }
            let tz = parse_zone(&series.timezone).map_err(DomainError::Internal)?;
            let t = get_type_row(c, series.type_id)
                .await?
                .ok_or(DomainError::NotFound("appointment type"))?;
            let b = booking::booker(c, p, series.provider_id, Some(series.client_id)).await?;
            let rows = in_scope(c, &series, scope).await?;
            let target = match (
                scope,
                <[AppointmentRow]>::first(&rows).and_then(|a| a.occurrence_local),
            ) {
                (Scope::Following(_), Some(first)) => {
                    split(
                        c,
                        p,
                        &series,
                        first,
                        first.date().and_time(local_time),
                        rows.len(),
                    )
                    .await?
                }
                _ => {
                    diesel::update(appointment_series::table.find(id))
                        .set((
                            appointment_series::first_local
                                .eq(series.first_local.date().and_time(local_time)),
                            appointment_series::version.eq(appointment_series::version + 1),
                            appointment_series::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(SeriesRow::as_returning())
                        .get_result(c)
                        .await?
                }
            };
            let mut moved = Vec::new();
            let mut conflicts = Vec::new();
            for a in rows {
                let Some(old_local) = a.occurrence_local else {
                    continue;
                };
                let new_local = old_local.date().and_time(local_time);
                let starts_at = local_start(tz, new_local);
                let ends_at = starts_at + t.duration();
                let outcome = savepoint(c, async |c| {
                    booking::check_time(c, &b, &t, starts_at, "/local_time").await?;
                    let row = diesel::update(appointments::table.find(a.id))
                        .set((
                            appointments::series_id.eq(target.id),
                            appointments::occurrence_local.eq(new_local),
                            appointments::starts_at.eq(starts_at),
                            appointments::ends_at.eq(ends_at),
                            appointments::busy_from.eq(starts_at - t.buffer_before()),
                            appointments::busy_until.eq(ends_at + t.buffer_after()),
                            appointments::version.eq(appointments::version + 1),
                            appointments::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(AppointmentRow::as_returning())
                        .get_result(c)
                        .await?;
                    booking::record_event(
                        c,
                        a.id,
                        Some(p.account_id),
                        "rescheduled",
                        Some(a.status()),
                        a.status(),
                        None,
                        false,
                        Some((a.starts_at, a.ends_at)),
                    )
                    .await?;
                    Ok(row)
                })
                .await?;
                match outcome {
                    Ok(row) => {
                        super::reminders::schedule(c, tenant.id, &row).await?;
                        moved.push(row);
                    }
                    Err(e) => {
                        conflicts.push(OccurrenceConflict {
                            local: new_local,
                            starts_at,
                            reason: reason(&e),
                        });
                        // It stays at its old time, as an exception of the original series.
                        diesel::update(appointments::table.find(a.id))
                            .set(appointments::series_exception.eq(true))
                            .execute(c)
                            .await?;
                    }
                }
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment_series.retime")
                    .on("appointment_series", id)
                    .subjects([series.client_id])
                    .detail("moved", moved.len() as i64)
                    .detail("conflicts", conflicts.len() as i64),
            )
            .await?;
            let appointments = booking::present(c, &r, moved).await?;
            Ok(SeriesOutcome {
                series: target,
                appointments,
                conflicts,
            })
        })
        .await
}

/// Cancels the occurrences in scope (and ends the series when the scope is all of it).
pub async fn cancel(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    scope: Scope,
    reason_code: Option<ReasonCode>,
) -> DomainResult<SeriesOutcome> {
    tenancy
        .tx(tenant, async |c| {
            let (series, r, manages) = visible_series(c, p, id).await?;
            if !manages {
                return Err(DomainError::Forbidden(
                    "only those who manage the provider's calendar may cancel a series",
                ));
            }
            if series.version != expected_version {
                return Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: series.version,
                });
            }
            let rows = in_scope(c, &series, scope).await?;
            let by = if r.own_calendar == Some(series.provider_id) {
                "provider"
            } else {
                "staff"
            };
            let mut cancelled = Vec::new();
            for a in &rows {
                let row = diesel::update(appointments::table.find(a.id))
                    .set((
                        appointments::status.eq("cancelled"),
                        appointments::cancelled_by.eq(by),
                        appointments::version.eq(appointments::version + 1),
                        appointments::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning(AppointmentRow::as_returning())
                    .get_result(c)
                    .await?;
                booking::record_event(
                    c,
                    a.id,
                    Some(p.account_id),
                    "cancelled",
                    Some(a.status()),
                    Status::Cancelled,
                    reason_code,
                    false,
                    None,
                )
                .await?;
                cancelled.push(row);
            }
            let status = if scope == Scope::All {
                "cancelled"
            } else {
                "ended"
            };
            let series = diesel::update(appointment_series::table.find(id))
                .set((
                    appointment_series::status.eq(status),
                    appointment_series::version.eq(appointment_series::version + 1),
                    appointment_series::updated_at.eq(diesel::dsl::now),
                ))
                .returning(SeriesRow::as_returning())
                .get_result(c)
                .await?;
            if let Some(t) = get_type_row(c, series.type_id).await? {
                for a in &rows {
                    super::waitlist::offer_freed(c, tenant.id, &t, a.provider_id, a.starts_at)
                        .await?;
                }
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment_series.cancel")
                    .on("appointment_series", id)
                    .subjects([series.client_id])
                    .detail("cancelled", cancelled.len() as i64),
            )
            .await?;
            let appointments = booking::present(c, &r, cancelled).await?;
            Ok(SeriesOutcome {
                series,
                appointments,
                conflicts: Vec::new(),
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_series_keeps_local_time_across_dst() {
        let tz: chrono_tz::Tz = "America/Toronto".parse().expect("zone");
        let first = chrono::NaiveDate::from_ymd_opt(2027, 3, 1)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("valid");
        let locals = expand("FREQ=WEEKLY;COUNT=8", tz, first).expect("expands");
        assert_eq!(locals.len(), 8);
        assert!(
            locals
                .iter()
                .all(|l| l.time() == NaiveTime::from_hms_opt(10, 0, 0).expect("t"))
        );
        let offsets: Vec<i64> = locals
            .iter()
            .map(|l| (local_start(tz, *l) - l.and_utc()).num_hours())
            .collect();
        // EST (UTC−5) before 14 March 2027, EDT (UTC−4) after.
        assert_eq!(offsets[0], 5);
        assert_eq!(offsets[7], 4);
    }

    #[test]
    fn rule_subset() {
        assert!(parse_rule("FREQ=WEEKLY;INTERVAL=2;COUNT=10").is_ok());
        assert!(parse_rule("RRULE:FREQ=MONTHLY;BYDAY=2TU;COUNT=6").is_ok());
        assert!(parse_rule("FREQ=WEEKLY").is_err(), "must end");
        assert!(parse_rule("FREQ=DAILY;COUNT=3").is_err());
        assert!(
            parse_rule("FREQ=MONTHLY;COUNT=3").is_err(),
            "monthly by weekday only"
        );
        assert!(parse_rule("FREQ=WEEKLY;COUNT=500").is_err());
        assert!(parse_rule("nonsense").is_err());
        assert!(parse_rule("FREQ=WEEKLY;INTERVAL=0;COUNT=3").is_err());
        assert!(parse_rule("FREQ=WEEKLY;COUNT=3;UNTIL=20270329T235959Z").is_err());
        assert!(parse_rule("FREQ=WEEKLY;UNTIL=20270329T235959").is_err());
        assert!(parse_rule("FREQ=WEEKLY;UNTIL=20270329").is_err());
        assert!(parse_rule("FREQ=MONTHLY;BYDAY=-1MO;INTERVAL=2;UNTIL=20271231T235959Z").is_ok());
        assert_eq!(
            with_end("FREQ=WEEKLY;COUNT=10", "COUNT=4"),
            "FREQ=WEEKLY;COUNT=4"
        );
    }

    #[test]
    fn until_and_monthly_rules_expand_in_the_providers_zone() {
        let tz: chrono_tz::Tz = "America/Toronto".parse().expect("zone");
        let first = chrono::NaiveDate::from_ymd_opt(2027, 3, 1)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("valid");
        // Until the end of 29 March in Toronto (EDT, UTC−4): the 29th is the last.
        let locals = expand("FREQ=WEEKLY;UNTIL=20270330T035959Z", tz, first).expect("expands");
        assert_eq!(locals.len(), 5);
        assert_eq!(locals[4].date().to_string(), "2027-03-29");
        // Every other month on the first Monday, until the end of the year.
        let locals = expand(
            "FREQ=MONTHLY;BYDAY=1MO;INTERVAL=2;UNTIL=20280101T045959Z",
            tz,
            first,
        )
        .expect("expands");
        let days: Vec<String> = locals.iter().map(|l| l.date().to_string()).collect();
        assert_eq!(
            days,
            [
                "2027-03-01",
                "2027-05-03",
                "2027-07-05",
                "2027-09-06",
                "2027-11-01"
            ]
        );
        assert!(expand("FREQ=WEEKLY;UNTIL=20270201T000000Z", tz, first).is_err());
        // The second Tuesday after 1 March is the 9th, before an UNTIL of the 5th: nothing.
        assert!(expand("FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270305T000000Z", tz, first).is_err());
    }
}
