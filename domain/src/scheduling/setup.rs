//! What can be booked and under which rules: the tenant's scheduling policy, locations and
//! appointment types. Institution admins change them; everyone signed in reads them (clients
//! see only active, self-bookable types).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::calendar::parse_zone;
use super::model::*;
use super::schema::{appointment_type_providers, appointment_types, locations, scheduling_policy};
use super::slots::is_client_only;
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult, FieldError};
use crate::identity::{Principal, Role};
use crate::org::repo as org_repo;
use crate::schema::people;

fn require_admin(p: &Principal) -> DomainResult<()> {
    if p.has(Role::InstitutionAdmin) && !p.is_integration() {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only institution administrators change scheduling set-up",
        ))
    }
}

fn require_member(p: &Principal) -> DomainResult<()> {
    if p.is_integration() || p.grants.is_empty() {
        Err(DomainError::Forbidden(
            "scheduling is for members of the organisation",
        ))
    } else {
        Ok(())
    }
}

/// Collects range errors so one response names every bad field.
#[derive(Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    pub fn range(&mut self, field: &str, v: Option<i32>, lo: i32, hi: i32) {
        if let Some(v) = v
            && !(lo..=hi).contains(&v)
        {
            self.fail(field, format!("must be between {lo} and {hi}"));
        }
    }
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }
    pub fn done(self) -> DomainResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}

pub async fn load_policy(c: &mut AsyncPgConnection) -> QueryResult<Policy> {
    scheduling_policy::table
        .select(Policy::as_select())
        .first(c)
        .await
}

pub async fn get_policy(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
) -> DomainResult<Policy> {
    require_member(p)?;
    tenancy
        .tx(tenant, async |c| Ok(load_policy(c).await?))
        .await
}

pub async fn update_policy(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    expected_version: i32,
    patch: PolicyPatch,
) -> DomainResult<Policy> {
    require_admin(p)?;
    let mut check = Check::default();
    check.range(
        "/max_open_bookings_per_client",
        patch.max_open_bookings_per_client,
        1,
        500,
    );
    check.range(
        "/max_bookings_per_client_per_day",
        patch.max_bookings_per_client_per_day,
        1,
        50,
    );
    check.range(
        "/max_waitlist_entries_per_client",
        patch.max_waitlist_entries_per_client,
        0,
        50,
    );
    check.range(
        "/waitlist_offer_minutes",
        patch.waitlist_offer_minutes,
        5,
        10080,
    );
    check.range("/waitlist_offer_batch", patch.waitlist_offer_batch, 1, 20);
    if let Some(offsets) = &patch.reminder_offsets_minutes {
        if offsets.len() > 5 {
            check.fail("/reminder_offsets_minutes", "at most 5 reminders");
        }
        if offsets.iter().any(|o| !(1..=20160).contains(o)) {
            check.fail(
                "/reminder_offsets_minutes",
                "each between 1 minute and 14 days before the start",
            );
        }
    }
    if let Some(channels) = &patch.reminder_channels {
        let mut seen = channels.clone();
        seen.sort_unstable();
        seen.dedup();
        if channels.is_empty()
            || seen.len() != channels.len()
            || channels.iter().any(|c| c != "email" && c != "sms")
        {
            check.fail(
                "/reminder_channels",
                "one or both of email and sms, each at most once",
            );
        }
    }
    if let Some(Some(url)) = &patch.sms_webhook_url
        && let Err(why) = gateway_url(url)
    {
        check.fail("/sms_webhook_url", why);
    }
    if let Some(t) = &patch.reminder_template
        && (t.trim().is_empty() || t.chars().count() > 1000)
    {
        check.fail("/reminder_template", "1 to 1000 characters");
    }
    check.done()?;
    tenancy
        .tx(tenant, async |c| {
            let current = load_policy(c).await?;
            if current.version != expected_version {
                return Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                });
            }
            let mut patch = patch;
            // The gateway's secret belongs to its URL: removing the URL removes it.
            if patch.sms_webhook_url == Some(None) {
                patch.sms_webhook_secret = Some(None);
            }
            let url_after = patch
                .sms_webhook_url
                .clone()
                .unwrap_or(current.sms_webhook_url.clone());
            let secret_after = match &patch.sms_webhook_secret {
                Some(s) => s.is_some(),
                None => current.sms_webhook_secret.is_some(),
            };
            let channels_after = patch
                .reminder_channels
                .as_ref()
                .unwrap_or(&current.reminder_channels);
            let mut check = Check::default();
            if channels_after.iter().any(|c| c == "sms") && url_after.is_none() {
                check.fail(
                    "/reminder_channels",
                    "SMS reminders need the tenant's SMS gateway (sms_webhook_url)",
                );
            }
            if url_after.is_some() && !secret_after {
                check.fail(
                    "/sms_webhook_secret",
                    "the SMS gateway needs a signing secret (32 to 256 characters)",
                );
            }
            check.done()?;
            let updated = diesel::update(scheduling_policy::table)
                .filter(scheduling_policy::version.eq(expected_version))
                .set((
                    &patch,
                    scheduling_policy::version.eq(scheduling_policy::version + 1),
                    scheduling_policy::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Policy::as_returning())
                .get_result(c)
                .await?;
            audit::record(c, &Actor::from(p), Event::new("scheduling_policy.update")).await?;
            Ok(updated)
        })
        .await
}

/// Where SMS reminders are POSTed: an absolute http(s) URL with a host and no credentials.
/// (Which addresses it may reach is the sender's decision, at send time.)
fn gateway_url(raw: &str) -> Result<(), &'static str> {
    let u = url::Url::parse(raw).map_err(|_| "must be an absolute http(s) URL")?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("must be an absolute http(s) URL");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not carry credentials (the signing secret authenticates us)");
    }
    if raw.len() > 500 {
        return Err("must be at most 500 characters");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Locations

pub async fn list_locations(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
) -> DomainResult<Vec<Location>> {
    require_member(p)?;
    let staff = !is_client_only(p);
    tenancy
        .tx(tenant, async |c| {
            let mut q = locations::table.order(locations::name.asc()).into_boxed();
            if !staff {
                q = q.filter(locations::active.eq(true));
            }
            Ok(q.select(Location::as_select()).load(c).await?)
        })
        .await
}

async fn check_department(c: &mut AsyncPgConnection, d: Option<Uuid>) -> DomainResult<()> {
    if let Some(d) = d
        && org_repo::get_department(c, d).await?.is_none()
    {
        return Err(DomainError::invalid("/department_id", "no such department"));
    }
    Ok(())
}

pub async fn create_location(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    new: NewLocation,
) -> DomainResult<Location> {
    require_admin(p)?;
    parse_zone(&new.timezone).map_err(|m| DomainError::invalid("/timezone", m))?;
    tenancy
        .tx(tenant, async |c| {
            check_department(c, new.department_id).await?;
            let l = diesel::insert_into(locations::table)
                .values(&new)
                .returning(Location::as_returning())
                .get_result(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("location.create").on("location", l.id),
            )
            .await?;
            Ok(l)
        })
        .await
}

pub async fn update_location(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    patch: LocationPatch,
) -> DomainResult<Location> {
    require_member(p)?;
    if let Some(tz) = &patch.timezone {
        parse_zone(tz).map_err(|m| DomainError::invalid("/timezone", m))?;
    }
    tenancy
        .tx(tenant, async |c| {
            let current: Location = locations::table
                .find(id)
                .select(Location::as_select())
                .first(c)
                .await
                .optional()?
                .ok_or(DomainError::NotFound("location"))?;
            require_admin(p)?;
            if let Some(d) = patch.department_id {
                check_department(c, d).await?;
            }
            let l = diesel::update(locations::table.find(id))
                .filter(locations::version.eq(expected_version))
                .set((
                    &patch,
                    locations::version.eq(locations::version + 1),
                    locations::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Location::as_returning())
                .get_result(c)
                .await
                .optional()?
                .ok_or(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                })?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("location.update").on("location", id),
            )
            .await?;
            Ok(l)
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// Appointment types

pub async fn get_type_row(
    c: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<AppointmentType>> {
    appointment_types::table
        .find(id)
        .select(AppointmentType::as_select())
        .first(c)
        .await
        .optional()
}

pub async fn list_types(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
) -> DomainResult<Vec<AppointmentType>> {
    require_member(p)?;
    let client_only = is_client_only(p);
    tenancy
        .tx(tenant, async |c| {
            let mut q = appointment_types::table
                .order(appointment_types::name.asc())
                .into_boxed();
            if client_only {
                q = q
                    .filter(appointment_types::active.eq(true))
                    .filter(appointment_types::client_bookable.eq(true));
            }
            Ok(q.select(AppointmentType::as_select()).load(c).await?)
        })
        .await
}

pub async fn get_type(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<AppointmentType> {
    require_member(p)?;
    let client_only = is_client_only(p);
    tenancy
        .tx(tenant, async |c| {
            get_type_row(c, id)
                .await?
                .filter(|t| !client_only || (t.active && t.client_bookable))
                .ok_or(DomainError::NotFound("appointment type"))
        })
        .await
}

/// Field-level checks shared by create and update (values as they will be after the change).
fn check_type(check: &mut Check, t: &NewAppointmentType) {
    check.range("/duration_minutes", Some(t.duration_minutes), 5, 480);
    check.range(
        "/buffer_before_minutes",
        Some(t.buffer_before_minutes),
        0,
        240,
    );
    check.range(
        "/buffer_after_minutes",
        Some(t.buffer_after_minutes),
        0,
        240,
    );
    check.range(
        "/slot_interval_minutes",
        Some(t.slot_interval_minutes),
        5,
        480,
    );
    check.range("/min_notice_minutes", Some(t.min_notice_minutes), 0, 43200);
    check.range("/max_advance_days", Some(t.max_advance_days), 1, 730);
    check.range(
        "/cancellation_window_minutes",
        Some(t.cancellation_window_minutes),
        0,
        20160,
    );
    match Modality::parse(&t.modality) {
        None => check.fail("/modality", "must be in_person or video"),
        Some(Modality::InPerson) if t.location_id.is_none() => {
            check.fail("/location_id", "an in-person type needs a location")
        }
        _ => {}
    }
}

async fn check_type_refs(c: &mut AsyncPgConnection, t: &NewAppointmentType) -> DomainResult<()> {
    check_department(c, t.department_id).await?;
    if let Some(l) = t.location_id {
        let ok: Option<bool> = locations::table
            .find(l)
            .select(locations::active)
            .first(c)
            .await
            .optional()?;
        if ok != Some(true) {
            return Err(DomainError::invalid(
                "/location_id",
                "no such active location",
            ));
        }
    }
    Ok(())
}

pub async fn create_type(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    new: NewAppointmentType,
) -> DomainResult<AppointmentType> {
    require_admin(p)?;
    let mut check = Check::default();
    check_type(&mut check, &new);
    check.done()?;
    tenancy
        .tx(tenant, async |c| {
            check_type_refs(c, &new).await?;
            let t = diesel::insert_into(appointment_types::table)
                .values(&new)
                .returning(AppointmentType::as_returning())
                .get_result(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment_type.create").on("appointment_type", t.id),
            )
            .await?;
            Ok(t)
        })
        .await
}

pub async fn update_type(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    patch: AppointmentTypePatch,
) -> DomainResult<AppointmentType> {
    require_member(p)?;
    let client_only = is_client_only(p);
    tenancy
        .tx(tenant, async |c| {
            let current = get_type_row(c, id)
                .await?
                .filter(|t| !client_only || (t.active && t.client_bookable))
                .ok_or(DomainError::NotFound("appointment type"))?;
            require_admin(p)?;
            let after = NewAppointmentType {
                id,
                name: patch.name.clone().unwrap_or(current.name.clone()),
                duration_minutes: patch.duration_minutes.unwrap_or(current.duration_minutes),
                buffer_before_minutes: patch
                    .buffer_before_minutes
                    .unwrap_or(current.buffer_before_minutes),
                buffer_after_minutes: patch
                    .buffer_after_minutes
                    .unwrap_or(current.buffer_after_minutes),
                slot_interval_minutes: patch
                    .slot_interval_minutes
                    .unwrap_or(current.slot_interval_minutes),
                min_notice_minutes: patch
                    .min_notice_minutes
                    .unwrap_or(current.min_notice_minutes),
                max_advance_days: patch.max_advance_days.unwrap_or(current.max_advance_days),
                cancellation_window_minutes: patch
                    .cancellation_window_minutes
                    .unwrap_or(current.cancellation_window_minutes),
                modality: patch.modality.clone().unwrap_or(current.modality.clone()),
                location_id: patch.location_id.unwrap_or(current.location_id),
                client_bookable: patch.client_bookable.unwrap_or(current.client_bookable),
                requires_approval: patch.requires_approval.unwrap_or(current.requires_approval),
                department_id: patch.department_id.unwrap_or(current.department_id),
            };
            let mut check = Check::default();
            check_type(&mut check, &after);
            check.done()?;
            check_type_refs(c, &after).await?;
            let t = diesel::update(appointment_types::table.find(id))
                .filter(appointment_types::version.eq(expected_version))
                .set((
                    &patch,
                    appointment_types::version.eq(appointment_types::version + 1),
                    appointment_types::updated_at.eq(diesel::dsl::now),
                ))
                .returning(AppointmentType::as_returning())
                .get_result(c)
                .await
                .optional()?
                .ok_or(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                })?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment_type.update").on("appointment_type", id),
            )
            .await?;
            Ok(t)
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// Who offers a type

/// Which providers offer a type: all active ones, or the listed ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offering {
    pub all: bool,
    /// Empty when `all`.
    pub provider_ids: Vec<Uuid>,
    /// The type's version (the offering is part of the type).
    pub version: i32,
}

async fn load_offering(c: &mut AsyncPgConnection, t: &AppointmentType) -> QueryResult<Offering> {
    let provider_ids = if t.offered_by_all {
        Vec::new()
    } else {
        appointment_type_providers::table
            .filter(appointment_type_providers::type_id.eq(t.id))
            .order(appointment_type_providers::provider_id)
            .select(appointment_type_providers::provider_id)
            .load(c)
            .await?
    };
    Ok(Offering {
        all: t.offered_by_all,
        provider_ids,
        version: t.version,
    })
}

/// The subset of `providers` that offer `t` (all of them unless the type is narrowed), in
/// the given order.
pub async fn offering_providers(
    c: &mut AsyncPgConnection,
    t: &AppointmentType,
    providers: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    if t.offered_by_all {
        return Ok(providers.to_vec());
    }
    let offering: Vec<Uuid> = appointment_type_providers::table
        .filter(appointment_type_providers::type_id.eq(t.id))
        .filter(appointment_type_providers::provider_id.eq_any(providers))
        .select(appointment_type_providers::provider_id)
        .load(c)
        .await?;
    Ok(providers
        .iter()
        .copied()
        .filter(|p| offering.contains(p))
        .collect())
}

/// 422 naming `field` when `provider` does not offer `t`.
pub async fn check_offered(
    c: &mut AsyncPgConnection,
    t: &AppointmentType,
    provider: Uuid,
    field: &str,
) -> DomainResult<()> {
    if offering_providers(c, t, &[provider]).await?.is_empty() {
        return Err(DomainError::invalid(
            field,
            "this provider does not offer this appointment type",
        ));
    }
    Ok(())
}

pub async fn get_offering(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    type_id: Uuid,
) -> DomainResult<Offering> {
    require_member(p)?;
    let client_only = is_client_only(p);
    tenancy
        .tx(tenant, async |c| {
            let t = get_type_row(c, type_id)
                .await?
                .filter(|t| !client_only || (t.active && t.client_bookable))
                .ok_or(DomainError::NotFound("appointment type"))?;
            Ok(load_offering(c, &t).await?)
        })
        .await
}

/// Replaces who offers a type (under the type's version: `If-Match` is the type's ETag).
/// Every listed id must be an active provider of this organisation.
pub async fn set_offering(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    type_id: Uuid,
    expected_version: i32,
    all: bool,
    provider_ids: Vec<Uuid>,
) -> DomainResult<Offering> {
    require_member(p)?;
    let client_only = is_client_only(p);
    let mut ids = provider_ids;
    ids.sort_unstable();
    ids.dedup();
    if all && !ids.is_empty() {
        return Err(DomainError::invalid(
            "/provider_ids",
            "leave the list empty when every provider offers the type",
        ));
    }
    if !all && ids.is_empty() {
        return Err(DomainError::invalid(
            "/provider_ids",
            "name at least one provider (or offer the type by all providers)",
        ));
    }
    if ids.len() > 1000 {
        return Err(DomainError::invalid(
            "/provider_ids",
            "at most 1000 providers",
        ));
    }
    tenancy
        .tx(tenant, async |c| {
            let current = get_type_row(c, type_id)
                .await?
                .filter(|t| !client_only || (t.active && t.client_bookable))
                .ok_or(DomainError::NotFound("appointment type"))?;
            require_admin(p)?;
            let known: Vec<Uuid> = people::table
                .filter(people::id.eq_any(&ids))
                .filter(people::kind.eq("provider"))
                .filter(people::status.eq("active"))
                .select(people::id)
                .load(c)
                .await?;
            if known.len() != ids.len() {
                return Err(DomainError::invalid(
                    "/provider_ids",
                    "every entry must be an active provider of this organisation",
                ));
            }
            let t = diesel::update(appointment_types::table.find(type_id))
                .filter(appointment_types::version.eq(expected_version))
                .set((
                    appointment_types::offered_by_all.eq(all),
                    appointment_types::version.eq(appointment_types::version + 1),
                    appointment_types::updated_at.eq(diesel::dsl::now),
                ))
                .returning(AppointmentType::as_returning())
                .get_result(c)
                .await
                .optional()?
                .ok_or(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                })?;
            diesel::delete(
                appointment_type_providers::table
                    .filter(appointment_type_providers::type_id.eq(type_id)),
            )
            .execute(c)
            .await?;
            let rows: Vec<_> = ids
                .iter()
                .map(|id| {
                    (
                        appointment_type_providers::type_id.eq(type_id),
                        appointment_type_providers::provider_id.eq(*id),
                    )
                })
                .collect();
            if !rows.is_empty() {
                diesel::insert_into(appointment_type_providers::table)
                    .values(rows)
                    .execute(c)
                    .await?;
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("appointment_type.offering")
                    .on("appointment_type", type_id)
                    .detail("all", all)
                    .detail("providers", ids.len()),
            )
            .await?;
            Ok(load_offering(c, &t).await?)
        })
        .await
}

/// The demo institution's scheduling set-up: a clinic, three appointment types and working
/// hours for the given providers (weekdays 09:00–17:00 and Saturday mornings, in each
/// provider's zone). Used by `swiftacare demo` only; never on a real tenant.
pub async fn seed_demo(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    department: Uuid,
    providers: &[(Uuid, &str)],
) -> DomainResult<()> {
    use super::schema::{availability_rules, provider_schedules};
    tenancy
        .tx(tenant, async |c| {
            let clinic = Uuid::now_v7();
            diesel::insert_into(locations::table)
                .values(&NewLocation {
                    id: clinic,
                    name: "Riverside General – Outpatient Wing".into(),
                    address: Some("200 Riverside Drive, 3rd floor".into()),
                    timezone: "America/Toronto".into(),
                    department_id: Some(department),
                })
                .execute(c)
                .await?;
            let kinds = [
                ("Therapy session (50 min)", 50, 10, 60, "video", None, false),
                (
                    "Intake assessment (90 min)",
                    90,
                    0,
                    90,
                    "in_person",
                    Some(clinic),
                    true,
                ),
                (
                    "Medication follow-up (30 min)",
                    30,
                    5,
                    30,
                    "video",
                    None,
                    false,
                ),
            ];
            for (name, duration, after, interval, modality, location, approval) in kinds {
                diesel::insert_into(appointment_types::table)
                    .values(&NewAppointmentType {
                        id: Uuid::now_v7(),
                        name: name.into(),
                        duration_minutes: duration,
                        buffer_before_minutes: 0,
                        buffer_after_minutes: after,
                        slot_interval_minutes: interval,
                        min_notice_minutes: 0,
                        max_advance_days: 120,
                        cancellation_window_minutes: 1440,
                        modality: modality.into(),
                        location_id: location,
                        client_bookable: true,
                        requires_approval: approval,
                        department_id: None,
                    })
                    .execute(c)
                    .await?;
            }
            for (provider, zone) in providers {
                diesel::insert_into(provider_schedules::table)
                    .values((
                        provider_schedules::provider_id.eq(provider),
                        provider_schedules::timezone.eq(*zone),
                    ))
                    .execute(c)
                    .await?;
                let nine = chrono::NaiveTime::from_hms_opt(9, 0, 0);
                let five = chrono::NaiveTime::from_hms_opt(17, 0, 0);
                let ten = chrono::NaiveTime::from_hms_opt(10, 0, 0);
                let two = chrono::NaiveTime::from_hms_opt(14, 0, 0);
                let days = (1..=5)
                    .map(|d| (d, nine, five))
                    .chain(std::iter::once((6, ten, two)));
                for (weekday, start, end) in days {
                    let (Some(start), Some(end)) = (start, end) else {
                        continue;
                    };
                    diesel::insert_into(availability_rules::table)
                        .values((
                            availability_rules::id.eq(Uuid::now_v7()),
                            availability_rules::provider_id.eq(provider),
                            availability_rules::weekday.eq(weekday as i16),
                            availability_rules::start_time.eq(start),
                            availability_rules::end_time.eq(end),
                        ))
                        .execute(c)
                        .await?;
                }
            }
            Ok(())
        })
        .await
}
