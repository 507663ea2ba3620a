//! Providers' working hours: a weekly pattern in the provider's IANA zone, replaced as a whole
//! (the editor sends the week), plus date-specific overrides (extra hours, time off).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::calendar::{DateOverride, OverrideKind, Schedule, WeeklyRule, parse_zone};
use super::reach::{self, reach};
use super::schema::{availability_overrides, availability_rules, locations, provider_schedules};
use super::setup::Check;
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::identity::Principal;
use crate::policy;

/// A provider's calendar set-up as stored. `version` 0 means never configured.
#[derive(Clone, Debug)]
pub struct Availability {
    pub provider_id: Uuid,
    pub timezone: Option<String>,
    pub rules: Vec<WeeklyRule>,
    pub overrides: Vec<DateOverride>,
    pub version: i32,
}

#[derive(Clone, Debug)]
pub struct NewOverride {
    pub date: NaiveDate,
    pub kind: OverrideKind,
    pub hours: Option<(NaiveTime, NaiveTime)>,
    pub location_id: Option<Uuid>,
}

type RuleRow = (
    Uuid,
    i16,
    NaiveTime,
    NaiveTime,
    Option<Uuid>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);
type OverrideRow = (
    Uuid,
    Uuid,
    NaiveDate,
    String,
    Option<NaiveTime>,
    Option<NaiveTime>,
    Option<Uuid>,
);

fn rule_from(r: RuleRow) -> (Uuid, WeeklyRule) {
    (
        r.0,
        WeeklyRule {
            weekday: r.1 as u8,
            start: r.2,
            end: r.3,
            location_id: r.4,
            valid_from: r.5,
            valid_until: r.6,
        },
    )
}

fn override_from(r: OverrideRow) -> (Uuid, DateOverride) {
    (
        r.1,
        DateOverride {
            id: r.0,
            date: r.2,
            kind: OverrideKind::parse(&r.3).unwrap_or(OverrideKind::TimeOff),
            hours: r.4.zip(r.5),
            location_id: r.6,
        },
    )
}

/// Schedules of these providers with their overrides in `first..=last` (three set-based
/// queries, whatever the number of providers). Providers who never set hours are absent.
pub async fn load_schedules(
    c: &mut AsyncPgConnection,
    providers: &[Uuid],
    first: NaiveDate,
    last: NaiveDate,
) -> DomainResult<HashMap<Uuid, Schedule>> {
    let zones: Vec<(Uuid, String)> = provider_schedules::table
        .filter(provider_schedules::provider_id.eq_any(providers))
        .select((
            provider_schedules::provider_id,
            provider_schedules::timezone,
        ))
        .load(c)
        .await?;
    let mut out: HashMap<Uuid, Schedule> = HashMap::new();
    for (id, zone) in zones {
        let tz = parse_zone(&zone).map_err(DomainError::Internal)?;
        out.insert(
            id,
            Schedule {
                tz,
                rules: Vec::new(),
                overrides: Vec::new(),
            },
        );
    }
    let rules: Vec<(Uuid, RuleRow)> = availability_rules::table
        .filter(availability_rules::provider_id.eq_any(providers))
        .select((
            availability_rules::provider_id,
            (
                availability_rules::id,
                availability_rules::weekday,
                availability_rules::start_time,
                availability_rules::end_time,
                availability_rules::location_id,
                availability_rules::valid_from,
                availability_rules::valid_until,
            ),
        ))
        .load(c)
        .await?;
    for (provider, row) in rules {
        if let Some(s) = out.get_mut(&provider) {
            s.rules.push(rule_from(row).1);
        }
    }
    let overrides: Vec<OverrideRow> = availability_overrides::table
        .filter(availability_overrides::provider_id.eq_any(providers))
        .filter(availability_overrides::on_date.between(first, last))
        .select(override_columns())
        .load(c)
        .await?;
    for row in overrides {
        let (provider, o) = override_from(row);
        if let Some(s) = out.get_mut(&provider) {
            s.overrides.push(o);
        }
    }
    Ok(out)
}

fn override_columns() -> (
    availability_overrides::id,
    availability_overrides::provider_id,
    availability_overrides::on_date,
    availability_overrides::kind,
    availability_overrides::start_time,
    availability_overrides::end_time,
    availability_overrides::location_id,
) {
    (
        availability_overrides::id,
        availability_overrides::provider_id,
        availability_overrides::on_date,
        availability_overrides::kind,
        availability_overrides::start_time,
        availability_overrides::end_time,
        availability_overrides::location_id,
    )
}

async fn read(c: &mut AsyncPgConnection, provider_id: Uuid) -> DomainResult<Availability> {
    let head: Option<(String, i32)> = provider_schedules::table
        .find(provider_id)
        .select((provider_schedules::timezone, provider_schedules::version))
        .first(c)
        .await
        .optional()?;
    let mut rules: Vec<WeeklyRule> = availability_rules::table
        .filter(availability_rules::provider_id.eq(provider_id))
        .select((
            availability_rules::id,
            availability_rules::weekday,
            availability_rules::start_time,
            availability_rules::end_time,
            availability_rules::location_id,
            availability_rules::valid_from,
            availability_rules::valid_until,
        ))
        .load::<RuleRow>(c)
        .await?
        .into_iter()
        .map(|r| rule_from(r).1)
        .collect();
    rules.sort_by_key(|r| (r.weekday, r.start));
    let today = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let overrides: Vec<DateOverride> = availability_overrides::table
        .filter(availability_overrides::provider_id.eq(provider_id))
        .filter(availability_overrides::on_date.ge(today))
        .order((
            availability_overrides::on_date,
            availability_overrides::start_time,
        ))
        .select(override_columns())
        .load::<OverrideRow>(c)
        .await?
        .into_iter()
        .map(|r| override_from(r).1)
        .collect();
    Ok(Availability {
        provider_id,
        timezone: head.as_ref().map(|h| h.0.clone()),
        rules,
        overrides,
        version: head.map(|h| h.1).unwrap_or(0),
    })
}

/// The provider, if the caller may see their calendar set-up (staff side of the tenant).
async fn visible_provider(
    c: &mut AsyncPgConnection,
    p: &Principal,
    provider_id: Uuid,
) -> DomainResult<crate::org::model::Person> {
    if !policy::can_read_departments(p) || p.is_integration() {
        return Err(DomainError::NotFound("provider"));
    }
    reach::provider(c, provider_id, "provider_id")
        .await
        .map_err(|_| DomainError::NotFound("provider"))
}

pub async fn get(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    provider_id: Uuid,
) -> DomainResult<Availability> {
    tenancy
        .tx(tenant, async |c| {
            visible_provider(c, p, provider_id).await?;
            read(c, provider_id).await
        })
        .await
}

fn check_rules(zone: &str, rules: &[WeeklyRule]) -> DomainResult<()> {
    let mut check = Check::default();
    if let Err(m) = parse_zone(zone) {
        check.fail("/timezone", m);
    }
    if rules.len() > 100 {
        check.fail("/rules", "at most 100 weekly rules");
    }
    for (i, r) in rules.iter().enumerate() {
        if !(1..=7).contains(&r.weekday) {
            check.fail(
                &format!("/rules/{i}/weekday"),
                "must be 1 (Monday) to 7 (Sunday)",
            );
        }
        if r.end <= r.start {
            check.fail(
                &format!("/rules/{i}/end"),
                "must be after start (split hours that cross midnight into two rules)",
            );
        }
        if let (Some(f), Some(u)) = (r.valid_from, r.valid_until)
            && u < f
        {
            check.fail(
                &format!("/rules/{i}/valid_until"),
                "must not be before valid_from",
            );
        }
    }
    // Overlapping rules on the same weekday are almost always an editing mistake.
    for (i, a) in rules.iter().enumerate() {
        for b in rules.iter().skip(i + 1) {
            if a.weekday == b.weekday
                && a.start < b.end
                && b.start < a.end
                && a.valid_from == b.valid_from
                && a.valid_until == b.valid_until
            {
                check.fail(
                    &format!("/rules/{i}"),
                    "overlaps another rule on the same weekday",
                );
                break;
            }
        }
    }
    check.done()
}

async fn check_locations(c: &mut AsyncPgConnection, ids: &[(String, Uuid)]) -> DomainResult<()> {
    for (field, id) in ids {
        let found: Option<bool> = locations::table
            .find(id)
            .select(locations::active)
            .first(c)
            .await
            .optional()?;
        if found != Some(true) {
            return Err(DomainError::invalid(field, "no such active location"));
        }
    }
    Ok(())
}

/// Replaces the provider's zone and weekly rules. `expected_version` 0 creates them.
pub async fn put(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    provider_id: Uuid,
    expected_version: i32,
    timezone: String,
    rules: Vec<WeeklyRule>,
) -> DomainResult<Availability> {
    tenancy
        .tx(tenant, async |c| {
            let provider = visible_provider(c, p, provider_id).await?;
            let r = reach(c, p).await?;
            if !r.manages(&provider) {
                return Err(DomainError::Forbidden(
                    "only the provider, front desk or an administrator of the provider's department may change these hours",
                ));
            }
            check_rules(&timezone, &rules)?;
            let locs: Vec<(String, Uuid)> = rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.location_id.map(|l| (format!("/rules/{i}/location_id"), l)))
                .collect();
            check_locations(c, &locs).await?;
            let current = read(c, provider_id).await?;
            if current.version != expected_version {
                return Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                });
            }
            if expected_version == 0 {
                diesel::insert_into(provider_schedules::table)
                    .values((
                        provider_schedules::provider_id.eq(provider_id),
                        provider_schedules::timezone.eq(&timezone),
                    ))
                    .execute(c)
                    .await
                    .map_err(|e| match e {
                        diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            _,
                        ) => DomainError::PreconditionFailed {
                            expected: 0,
                            current: 1,
                        },
                        e => e.into(),
                    })?;
            } else {
                let n = diesel::update(provider_schedules::table.find(provider_id))
                    .filter(provider_schedules::version.eq(expected_version))
                    .set((
                        provider_schedules::timezone.eq(&timezone),
                        provider_schedules::version.eq(provider_schedules::version + 1),
                        provider_schedules::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(c)
                    .await?;
                if n == 0 {
                    return Err(DomainError::PreconditionFailed {
                        expected: expected_version,
                        current: expected_version + 1,
                    });
                }
            }
            diesel::delete(availability_rules::table.filter(availability_rules::provider_id.eq(provider_id)))
                .execute(c)
                .await?;
            let rows: Vec<_> = rules
                .iter()
                .map(|r| {
                    (
                        availability_rules::id.eq(Uuid::now_v7()),
                        availability_rules::provider_id.eq(provider_id),
                        availability_rules::weekday.eq(r.weekday as i16),
                        availability_rules::start_time.eq(r.start),
                        availability_rules::end_time.eq(r.end),
                        availability_rules::location_id.eq(r.location_id),
                        availability_rules::valid_from.eq(r.valid_from),
                        availability_rules::valid_until.eq(r.valid_until),
                    )
                })
                .collect();
            if !rows.is_empty() {
                diesel::insert_into(availability_rules::table)
                    .values(rows)
                    .execute(c)
                    .await?;
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("availability.update").on("person", provider_id),
            )
            .await?;
            read(c, provider_id).await
        })
        .await
}

pub async fn add_override(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    provider_id: Uuid,
    new: NewOverride,
) -> DomainResult<DateOverride> {
    let mut check = Check::default();
    match (new.kind, new.hours) {
        (OverrideKind::Extra, None) => check.fail("/start", "extra hours need start and end"),
        (_, Some((s, e))) if e <= s => check.fail("/end", "must be after start"),
        _ => {}
    }
    check.done()?;
    tenancy
        .tx(tenant, async |c| {
            let provider = visible_provider(c, p, provider_id).await?;
            let r = reach(c, p).await?;
            if !r.manages(&provider) {
                return Err(DomainError::Forbidden(
                    "only the provider, front desk or an administrator of the provider's department may change these hours",
                ));
            }
            if read(c, provider_id).await?.version == 0 {
                return Err(DomainError::Conflict(
                    "set the provider's time zone and weekly hours first".into(),
                ));
            }
            if let Some(l) = new.location_id {
                check_locations(c, &[("/location_id".into(), l)]).await?;
            }
            let id = Uuid::now_v7();
            diesel::insert_into(availability_overrides::table)
                .values((
                    availability_overrides::id.eq(id),
                    availability_overrides::provider_id.eq(provider_id),
                    availability_overrides::on_date.eq(new.date),
                    availability_overrides::kind.eq(new.kind.as_str()),
                    availability_overrides::start_time.eq(new.hours.map(|h| h.0)),
                    availability_overrides::end_time.eq(new.hours.map(|h| h.1)),
                    availability_overrides::location_id.eq(new.location_id),
                ))
                .execute(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("availability.override.create").on("person", provider_id),
            )
            .await?;
            Ok(DateOverride {
                id,
                date: new.date,
                kind: new.kind,
                hours: new.hours,
                location_id: new.location_id,
            })
        })
        .await
}

pub async fn delete_override(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    provider_id: Uuid,
    override_id: Uuid,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            let provider = visible_provider(c, p, provider_id).await?;
            let r = reach(c, p).await?;
            if !r.manages(&provider) {
                return Err(DomainError::Forbidden(
                    "only the provider, front desk or an administrator of the provider's department may change these hours",
                ));
            }
            let n = diesel::delete(
                availability_overrides::table
                    .filter(availability_overrides::id.eq(override_id))
                    .filter(availability_overrides::provider_id.eq(provider_id)),
            )
            .execute(c)
            .await?;
            if n == 0 {
                return Err(DomainError::NotFound("override"));
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("availability.override.delete").on("person", provider_id),
            )
            .await?;
            Ok(())
        })
        .await
}
