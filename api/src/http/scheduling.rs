//! Scheduling set-up and search: policy, locations, appointment types, provider availability
//! and slot search. Appointments themselves are in `appointments.rs`.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::scheduling::calendar::{self, OverrideKind, WeeklyRule};
use domain::scheduling::{availability, model, setup, slots};

use super::Tag;
use super::types::{Fields, etag, if_match};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult};

fn maybe<T>(m: MaybeUndefined<T>) -> Option<Option<T>> {
    match m {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// Parses "HH:MM" (or "HH:MM:SS") wall-clock times.
pub fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .map_err(|_| format!("`{raw}` is not a time of day such as 09:30"))
}

fn fmt_time(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn parse_name(fields: &mut Fields, field: &str, raw: &str) -> Option<String> {
    fields.check(
        field,
        domain::org::model::Name::parse(raw, 200).map(|n| n.as_str().to_owned()),
    )
}

// ---------------------------------------------------------------------------------------------
// Policy

/// The organisation's booking rules.
#[derive(Object)]
pub struct SchedulingPolicy {
    /// Clients may book for themselves (self-bookable types only).
    pub clients_may_self_book: bool,
    /// Upcoming appointments one client may hold at once (1–500).
    pub max_open_bookings_per_client: i32,
    /// Appointments one client may have on one day (1–50).
    pub max_bookings_per_client_per_day: i32,
    /// Waitlists one client may wait on at once (0–50).
    pub max_waitlist_entries_per_client: i32,
    /// How long a waitlist offer stays open (5–10080 minutes).
    pub waitlist_offer_minutes: i32,
    /// How many waiting clients are offered a freed slot at once (1–20).
    pub waitlist_offer_batch: i32,
    /// Provider calendar feeds show the client's name (otherwise only "Appointment").
    pub ical_show_client_names: bool,
    /// Send appointment reminders.
    pub reminders_enabled: bool,
    /// Minutes before the start each reminder goes out (at most 5; default 2880 and 120).
    pub reminder_offsets_minutes: Vec<i32>,
    /// How reminders go out: `email` and/or `sms` (text messages, to clients who agreed to them
    /// and have a phone number, through the tenant's SMS gateway).
    pub reminder_channels: Vec<String>,
    /// The reminder text; `{provider}`, `{date}`, `{time}` and `{zone}` are filled in, and
    /// nothing else about the appointment is ever added.
    pub reminder_template: String,
    /// The tenant's SMS gateway: each text is POSTed there as JSON, signed (see docs/SCHEDULING.md).
    #[oai(skip_serializing_if_is_none)]
    pub sms_webhook_url: Option<String>,
    /// Whether the gateway's signing secret is set (the secret itself is never returned).
    pub sms_webhook_secret_set: bool,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<model::Policy> for SchedulingPolicy {
    fn from(p: model::Policy) -> Self {
        SchedulingPolicy {
            clients_may_self_book: p.clients_may_self_book,
            max_open_bookings_per_client: p.max_open_bookings_per_client,
            max_bookings_per_client_per_day: p.max_bookings_per_client_per_day,
            max_waitlist_entries_per_client: p.max_waitlist_entries_per_client,
            waitlist_offer_minutes: p.waitlist_offer_minutes,
            waitlist_offer_batch: p.waitlist_offer_batch,
            ical_show_client_names: p.ical_show_client_names,
            reminders_enabled: p.reminders_enabled,
            reminder_offsets_minutes: p.reminder_offsets_minutes,
            reminder_channels: p.reminder_channels,
            reminder_template: p.reminder_template,
            sms_webhook_url: p.sms_webhook_url,
            sms_webhook_secret_set: p.sms_webhook_secret.is_some(),
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

#[derive(Object)]
pub struct UpdateSchedulingPolicy {
    pub clients_may_self_book: Option<bool>,
    pub max_open_bookings_per_client: Option<i32>,
    pub max_bookings_per_client_per_day: Option<i32>,
    pub max_waitlist_entries_per_client: Option<i32>,
    pub waitlist_offer_minutes: Option<i32>,
    pub waitlist_offer_batch: Option<i32>,
    pub ical_show_client_names: Option<bool>,
    pub reminders_enabled: Option<bool>,
    #[oai(validator(max_items = 5))]
    pub reminder_offsets_minutes: Option<Vec<i32>>,
    #[oai(validator(max_items = 2))]
    pub reminder_channels: Option<Vec<String>>,
    #[oai(validator(max_length = 1000))]
    pub reminder_template: Option<String>,
    /// The tenant's SMS gateway URL (http or https); `null` removes it and its secret.
    #[oai(validator(max_length = 500))]
    #[oai(nullable)]
    pub sms_webhook_url: MaybeUndefined<String>,
    /// The secret the gateway checks our HMAC-SHA256 signatures with (32–256 characters).
    /// Write-only: stored sealed, never returned.
    #[oai(validator(min_length = 32, max_length = 256))]
    pub sms_webhook_secret: Option<String>,
}

#[derive(ApiResponse)]
pub enum PolicyResponse {
    /// The policy.
    #[oai(status = 200)]
    Ok(Json<SchedulingPolicy>, #[oai(header = "ETag")] String),
}

fn policy_ok(p: model::Policy) -> PolicyResponse {
    let tag = etag(p.version);
    PolicyResponse::Ok(Json(p.into()), tag)
}

// ---------------------------------------------------------------------------------------------
// Locations

/// A place appointments happen in person (a clinic, a site, a room).
#[derive(Object)]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    #[oai(skip_serializing_if_is_none)]
    pub address: Option<String>,
    /// IANA zone of the location, e.g. America/Toronto.
    pub timezone: String,
    #[oai(skip_serializing_if_is_none)]
    pub department_id: Option<Uuid>,
    pub active: bool,
    pub version: i32,
}

impl From<model::Location> for Location {
    fn from(l: model::Location) -> Self {
        Location {
            id: l.id,
            name: l.name,
            address: l.address,
            timezone: l.timezone,
            department_id: l.department_id,
            active: l.active,
            version: l.version,
        }
    }
}

#[derive(Object)]
pub struct CreateLocation {
    /// 1–200 characters, unique in the organisation.
    #[oai(validator(max_length = 1000))]
    pub name: String,
    #[oai(validator(max_length = 500))]
    pub address: Option<String>,
    /// IANA zone, e.g. Europe/London.
    #[oai(validator(max_length = 64))]
    pub timezone: String,
    pub department_id: Option<Uuid>,
}

#[derive(Object)]
pub struct UpdateLocation {
    #[oai(validator(max_length = 1000))]
    pub name: Option<String>,
    #[oai(validator(max_length = 500))]
    #[oai(nullable)]
    pub address: MaybeUndefined<String>,
    #[oai(validator(max_length = 64))]
    pub timezone: Option<String>,
    #[oai(nullable)]
    pub department_id: MaybeUndefined<Uuid>,
    pub active: Option<bool>,
}

#[derive(ApiResponse)]
pub enum LocationResponse {
    /// The location.
    #[oai(status = 200)]
    Ok(Json<Location>, #[oai(header = "ETag")] String),
    /// Created.
    #[oai(status = 201)]
    Created(Json<Location>, #[oai(header = "ETag")] String),
}

// ---------------------------------------------------------------------------------------------
// Appointment types

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Modality {
    InPerson,
    Video,
}

impl Modality {
    fn as_str(self) -> &'static str {
        match self {
            Modality::InPerson => "in_person",
            Modality::Video => "video",
        }
    }
    fn parse(raw: &str) -> Modality {
        if raw == "in_person" {
            Modality::InPerson
        } else {
            Modality::Video
        }
    }
}

/// What can be booked: its length, buffers and booking rules.
#[derive(Object)]
pub struct AppointmentType {
    pub id: Uuid,
    pub name: String,
    pub duration_minutes: i32,
    /// Preparation time reserved before each appointment (its own; not shared).
    pub buffer_before_minutes: i32,
    /// Notes time reserved after each appointment (its own; not shared).
    pub buffer_after_minutes: i32,
    /// Slots start every this many minutes from the start of working hours.
    pub slot_interval_minutes: i32,
    /// Clients must book at least this long ahead.
    pub min_notice_minutes: i32,
    /// Clients may book at most this many days ahead.
    pub max_advance_days: i32,
    /// Cancelling a booked appointment within this many minutes of its start is late.
    pub cancellation_window_minutes: i32,
    pub modality: Modality,
    /// Where in-person appointments of this type happen.
    #[oai(skip_serializing_if_is_none)]
    pub location_id: Option<Uuid>,
    /// Clients may book it themselves.
    pub client_bookable: bool,
    /// Clients' own bookings wait for the provider's or front desk's approval.
    pub requires_approval: bool,
    #[oai(skip_serializing_if_is_none)]
    pub department_id: Option<Uuid>,
    pub active: bool,
    /// Every active provider offers it; `false`: only those listed at
    /// `/appointment-types/{id}/providers`.
    pub offered_by_all: bool,
    pub version: i32,
}

/// Who offers an appointment type.
#[derive(Object)]
pub struct TypeOffering {
    /// Every active provider offers it (then `provider_ids` is empty).
    pub all_providers: bool,
    /// The providers who offer it, when not all do.
    #[oai(validator(max_items = 1000))]
    pub provider_ids: Vec<Uuid>,
}

#[derive(ApiResponse)]
pub enum OfferingResponse {
    /// Who offers the type; the ETag is the type's.
    #[oai(status = 200)]
    Ok(Json<TypeOffering>, #[oai(header = "ETag")] String),
}

fn offering_ok(o: setup::Offering) -> OfferingResponse {
    let tag = etag(o.version);
    OfferingResponse::Ok(
        Json(TypeOffering {
            all_providers: o.all,
            provider_ids: o.provider_ids,
        }),
        tag,
    )
}

impl From<model::AppointmentType> for AppointmentType {
    fn from(t: model::AppointmentType) -> Self {
        AppointmentType {
            id: t.id,
            name: t.name,
            duration_minutes: t.duration_minutes,
            buffer_before_minutes: t.buffer_before_minutes,
            buffer_after_minutes: t.buffer_after_minutes,
            slot_interval_minutes: t.slot_interval_minutes,
            min_notice_minutes: t.min_notice_minutes,
            max_advance_days: t.max_advance_days,
            cancellation_window_minutes: t.cancellation_window_minutes,
            modality: Modality::parse(&t.modality),
            location_id: t.location_id,
            client_bookable: t.client_bookable,
            requires_approval: t.requires_approval,
            department_id: t.department_id,
            active: t.active,
            offered_by_all: t.offered_by_all,
            version: t.version,
        }
    }
}

#[derive(Object)]
pub struct CreateAppointmentType {
    #[oai(validator(max_length = 1000))]
    pub name: String,
    /// 5–480.
    pub duration_minutes: i32,
    /// 0–240, default 0.
    pub buffer_before_minutes: Option<i32>,
    /// 0–240, default 0.
    pub buffer_after_minutes: Option<i32>,
    /// 5–480, default the duration.
    pub slot_interval_minutes: Option<i32>,
    /// 0–43200, default 0.
    pub min_notice_minutes: Option<i32>,
    /// 1–730, default 90.
    pub max_advance_days: Option<i32>,
    /// 0–20160, default 1440 (24 h).
    pub cancellation_window_minutes: Option<i32>,
    pub modality: Modality,
    /// Required for in-person types.
    pub location_id: Option<Uuid>,
    /// Default true.
    pub client_bookable: Option<bool>,
    /// Default false.
    pub requires_approval: Option<bool>,
    pub department_id: Option<Uuid>,
}

#[derive(Object)]
pub struct UpdateAppointmentType {
    #[oai(validator(max_length = 1000))]
    pub name: Option<String>,
    pub duration_minutes: Option<i32>,
    pub buffer_before_minutes: Option<i32>,
    pub buffer_after_minutes: Option<i32>,
    pub slot_interval_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub max_advance_days: Option<i32>,
    pub cancellation_window_minutes: Option<i32>,
    pub modality: Option<Modality>,
    #[oai(nullable)]
    pub location_id: MaybeUndefined<Uuid>,
    pub client_bookable: Option<bool>,
    pub requires_approval: Option<bool>,
    #[oai(nullable)]
    pub department_id: MaybeUndefined<Uuid>,
    pub active: Option<bool>,
}

#[derive(ApiResponse)]
pub enum TypeResponse {
    /// The appointment type.
    #[oai(status = 200)]
    Ok(Json<AppointmentType>, #[oai(header = "ETag")] String),
    /// Created.
    #[oai(status = 201)]
    Created(Json<AppointmentType>, #[oai(header = "ETag")] String),
}

// ---------------------------------------------------------------------------------------------
// Availability

/// Working hours on one weekday, in the provider's zone.
#[derive(Object)]
pub struct AvailabilityRule {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i32,
    /// Local start, "09:00".
    #[oai(validator(max_length = 8))]
    pub start: String,
    /// Local end, "17:00" (after start; split hours that cross midnight).
    #[oai(validator(max_length = 8))]
    pub end: String,
    /// Hours at this location only (in-person types there); omit for any.
    pub location_id: Option<Uuid>,
    /// First date the rule applies (inclusive).
    pub valid_from: Option<NaiveDate>,
    /// Last date the rule applies (inclusive).
    pub valid_until: Option<NaiveDate>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum OverrideKindDto {
    /// Extra hours on that date.
    Extra,
    /// Time off: the hours given, or the whole day without hours.
    TimeOff,
}

/// A date-specific change to the weekly hours.
#[derive(Object)]
pub struct AvailabilityOverride {
    pub id: Uuid,
    pub date: NaiveDate,
    pub kind: OverrideKindDto,
    #[oai(skip_serializing_if_is_none)]
    pub start: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub end: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub location_id: Option<Uuid>,
}

impl From<calendar::DateOverride> for AvailabilityOverride {
    fn from(o: calendar::DateOverride) -> Self {
        AvailabilityOverride {
            id: o.id,
            date: o.date,
            kind: match o.kind {
                OverrideKind::Extra => OverrideKindDto::Extra,
                OverrideKind::TimeOff => OverrideKindDto::TimeOff,
            },
            start: o.hours.map(|h| fmt_time(h.0)),
            end: o.hours.map(|h| fmt_time(h.1)),
            location_id: o.location_id,
        }
    }
}

/// A provider's working week and upcoming overrides.
#[derive(Object)]
pub struct Availability {
    pub provider_id: Uuid,
    /// The provider's IANA zone; absent until hours are first set.
    #[oai(skip_serializing_if_is_none)]
    pub timezone: Option<String>,
    pub rules: Vec<AvailabilityRule>,
    /// Overrides from yesterday on.
    pub overrides: Vec<AvailabilityOverride>,
    /// 0 until hours are first set (send `If-Match: "0"` then).
    pub version: i32,
}

impl From<availability::Availability> for Availability {
    fn from(a: availability::Availability) -> Self {
        Availability {
            provider_id: a.provider_id,
            timezone: a.timezone,
            rules: a
                .rules
                .into_iter()
                .map(|r| AvailabilityRule {
                    weekday: r.weekday.into(),
                    start: fmt_time(r.start),
                    end: fmt_time(r.end),
                    location_id: r.location_id,
                    valid_from: r.valid_from,
                    valid_until: r.valid_until,
                })
                .collect(),
            overrides: a.overrides.into_iter().map(Into::into).collect(),
            version: a.version,
        }
    }
}

#[derive(Object)]
pub struct PutAvailability {
    /// IANA zone the hours are in, e.g. America/Toronto.
    #[oai(validator(max_length = 64))]
    pub timezone: String,
    #[oai(validator(max_items = 100))]
    pub rules: Vec<AvailabilityRule>,
}

#[derive(Object)]
pub struct CreateOverride {
    pub date: NaiveDate,
    pub kind: OverrideKindDto,
    /// Local "HH:MM"; required for extra hours, omit both for a whole day off.
    #[oai(validator(max_length = 8))]
    pub start: Option<String>,
    #[oai(validator(max_length = 8))]
    pub end: Option<String>,
    pub location_id: Option<Uuid>,
}

#[derive(ApiResponse)]
pub enum AvailabilityResponse {
    /// The provider's availability.
    #[oai(status = 200)]
    Ok(Json<Availability>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum OverrideCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<AvailabilityOverride>),
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done.
    #[oai(status = 204)]
    Done,
}

fn availability_ok(a: availability::Availability) -> AvailabilityResponse {
    let tag = etag(a.version);
    AvailabilityResponse::Ok(Json(a.into()), tag)
}

/// `If-Match` where `"0"` names a resource not created yet.
fn if_match_or_new(raw: Option<String>) -> ApiResult<i32> {
    if raw.as_deref().map(str::trim) == Some("\"0\"") {
        return Ok(0);
    }
    if_match(raw)
}

// ---------------------------------------------------------------------------------------------
// Slots

/// A bookable start time.
#[derive(Object)]
pub struct Slot {
    pub provider_id: Uuid,
    /// Start, with the offset of the zone asked for (`tz`).
    pub starts_at: DateTime<FixedOffset>,
    pub ends_at: DateTime<FixedOffset>,
}

/// One page of free slots, earliest first (by start, then provider).
#[derive(Object)]
pub struct SlotList {
    /// The zone the times are given in.
    pub timezone: String,
    /// At most `limit` slots. A page may hold fewer while `next_after` is set (it ends where
    /// the busy time it read ends); keep following `next_after` to see every slot.
    pub slots: Vec<Slot>,
    /// Pass as `after`, with the same `type`, `provider`/`department`, `from`, `to` and `tz`,
    /// for the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_after: Option<String>,
}

pub struct SchedulingApi;

#[OpenApi(tag = "Tag::Scheduling")]
impl SchedulingApi {
    /// The organisation's scheduling policy
    #[oai(
        path = "/scheduling/policy",
        method = "get",
        operation_id = "getSchedulingPolicy"
    )]
    async fn get_policy(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<PolicyResponse> {
        Ok(policy_ok(
            setup::get_policy(&state.tenancy, &tenant, &auth.0.principal).await?,
        ))
    }

    /// Change the scheduling policy (institution admins; requires `If-Match`)
    #[oai(
        path = "/scheduling/policy",
        method = "patch",
        operation_id = "updateSchedulingPolicy"
    )]
    async fn update_policy(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<UpdateSchedulingPolicy>,
    ) -> ApiResult<PolicyResponse> {
        let version = if_match(if_match_header.0)?;
        let b = body.0;
        let patch = model::PolicyPatch {
            clients_may_self_book: b.clients_may_self_book,
            max_open_bookings_per_client: b.max_open_bookings_per_client,
            max_bookings_per_client_per_day: b.max_bookings_per_client_per_day,
            max_waitlist_entries_per_client: b.max_waitlist_entries_per_client,
            waitlist_offer_minutes: b.waitlist_offer_minutes,
            waitlist_offer_batch: b.waitlist_offer_batch,
            ical_show_client_names: b.ical_show_client_names,
            reminders_enabled: b.reminders_enabled,
            reminder_offsets_minutes: b.reminder_offsets_minutes,
            reminder_channels: b.reminder_channels,
            sms_webhook_url: match b.sms_webhook_url {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(u) => Some(Some(u.trim().to_owned())),
            },
            reminder_template: b.reminder_template,
            sms_webhook_secret: match b.sms_webhook_secret {
                Some(s) => Some(Some(state.signer.sealer().seal(s.as_bytes())?)),
                None => None,
            },
        };
        Ok(policy_ok(
            setup::update_policy(&state.tenancy, &tenant, &auth.0.principal, version, patch)
                .await?,
        ))
    }

    /// List locations
    #[oai(path = "/locations", method = "get", operation_id = "listLocations")]
    async fn list_locations(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<Vec<Location>>> {
        let ls = setup::list_locations(&state.tenancy, &tenant, &auth.0.principal).await?;
        Ok(Json(ls.into_iter().map(Into::into).collect()))
    }

    /// Create a location (institution admins)
    #[oai(path = "/locations", method = "post", operation_id = "createLocation")]
    async fn create_location(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<CreateLocation>,
    ) -> ApiResult<LocationResponse> {
        let mut fields = Fields::default();
        let name = parse_name(&mut fields, "/name", &body.name);
        fields.finish()?;
        let new = model::NewLocation {
            id: Uuid::now_v7(),
            name: name.unwrap_or_default(),
            address: body.address.clone().filter(|a| !a.trim().is_empty()),
            timezone: body.timezone.trim().to_owned(),
            department_id: body.department_id,
        };
        let l = setup::create_location(&state.tenancy, &tenant, &auth.0.principal, new).await?;
        let tag = etag(l.version);
        Ok(LocationResponse::Created(Json(l.into()), tag))
    }

    /// Update a location (institution admins; requires `If-Match`)
    #[oai(
        path = "/locations/:location_id",
        method = "patch",
        operation_id = "updateLocation"
    )]
    async fn update_location(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        location_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<UpdateLocation>,
    ) -> ApiResult<LocationResponse> {
        let version = if_match(if_match_header.0)?;
        let b = body.0;
        let mut fields = Fields::default();
        let name = b
            .name
            .as_deref()
            .and_then(|n| parse_name(&mut fields, "/name", n));
        fields.finish()?;
        let patch = model::LocationPatch {
            name,
            address: maybe(b.address),
            timezone: b.timezone.map(|t| t.trim().to_owned()),
            department_id: maybe(b.department_id),
            active: b.active,
        };
        let l = setup::update_location(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            location_id.0,
            version,
            patch,
        )
        .await?;
        let tag = etag(l.version);
        Ok(LocationResponse::Ok(Json(l.into()), tag))
    }

    /// List appointment types (clients see the active, self-bookable ones)
    #[oai(
        path = "/appointment-types",
        method = "get",
        operation_id = "listAppointmentTypes"
    )]
    async fn list_types(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<Vec<AppointmentType>>> {
        let ts = setup::list_types(&state.tenancy, &tenant, &auth.0.principal).await?;
        Ok(Json(ts.into_iter().map(Into::into).collect()))
    }

    /// Create an appointment type (institution admins)
    #[oai(
        path = "/appointment-types",
        method = "post",
        operation_id = "createAppointmentType"
    )]
    async fn create_type(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<CreateAppointmentType>,
    ) -> ApiResult<TypeResponse> {
        let b = body.0;
        let mut fields = Fields::default();
        let name = parse_name(&mut fields, "/name", &b.name);
        fields.finish()?;
        let new = model::NewAppointmentType {
            id: Uuid::now_v7(),
            name: name.unwrap_or_default(),
            duration_minutes: b.duration_minutes,
            buffer_before_minutes: b.buffer_before_minutes.unwrap_or(0),
            buffer_after_minutes: b.buffer_after_minutes.unwrap_or(0),
            slot_interval_minutes: b.slot_interval_minutes.unwrap_or(b.duration_minutes),
            min_notice_minutes: b.min_notice_minutes.unwrap_or(0),
            max_advance_days: b.max_advance_days.unwrap_or(90),
            cancellation_window_minutes: b.cancellation_window_minutes.unwrap_or(1440),
            modality: b.modality.as_str().to_owned(),
            location_id: b.location_id,
            client_bookable: b.client_bookable.unwrap_or(true),
            requires_approval: b.requires_approval.unwrap_or(false),
            department_id: b.department_id,
        };
        let t = setup::create_type(&state.tenancy, &tenant, &auth.0.principal, new).await?;
        let tag = etag(t.version);
        Ok(TypeResponse::Created(Json(t.into()), tag))
    }

    /// Get an appointment type
    #[oai(
        path = "/appointment-types/:type_id",
        method = "get",
        operation_id = "getAppointmentType"
    )]
    async fn get_type(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        type_id: Path<Uuid>,
    ) -> ApiResult<TypeResponse> {
        let t = setup::get_type(&state.tenancy, &tenant, &auth.0.principal, type_id.0).await?;
        let tag = etag(t.version);
        Ok(TypeResponse::Ok(Json(t.into()), tag))
    }

    /// Update an appointment type (institution admins; requires `If-Match`)
    #[oai(
        path = "/appointment-types/:type_id",
        method = "patch",
        operation_id = "updateAppointmentType"
    )]
    async fn update_type(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        type_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<UpdateAppointmentType>,
    ) -> ApiResult<TypeResponse> {
        let version = if_match(if_match_header.0)?;
        let b = body.0;
        let mut fields = Fields::default();
        let name = b
            .name
            .as_deref()
            .and_then(|n| parse_name(&mut fields, "/name", n));
        fields.finish()?;
        let patch = model::AppointmentTypePatch {
            name,
            duration_minutes: b.duration_minutes,
            buffer_before_minutes: b.buffer_before_minutes,
            buffer_after_minutes: b.buffer_after_minutes,
            slot_interval_minutes: b.slot_interval_minutes,
            min_notice_minutes: b.min_notice_minutes,
            max_advance_days: b.max_advance_days,
            cancellation_window_minutes: b.cancellation_window_minutes,
            modality: b.modality.map(|m| m.as_str().to_owned()),
            location_id: maybe(b.location_id),
            client_bookable: b.client_bookable,
            requires_approval: b.requires_approval,
            department_id: maybe(b.department_id),
            active: b.active,
        };
        let t = setup::update_type(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            type_id.0,
            version,
            patch,
        )
        .await?;
        let tag = etag(t.version);
        Ok(TypeResponse::Ok(Json(t.into()), tag))
    }

    /// Who offers an appointment type
    #[oai(
        path = "/appointment-types/:type_id/providers",
        method = "get",
        operation_id = "getTypeOffering"
    )]
    async fn get_offering(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        type_id: Path<Uuid>,
    ) -> ApiResult<OfferingResponse> {
        Ok(offering_ok(
            setup::get_offering(&state.tenancy, &tenant, &auth.0.principal, type_id.0).await?,
        ))
    }

    /// Set who offers an appointment type (institution admins; `If-Match`: the type's ETag)
    ///
    /// Slot search, booking, series and the waitlist then keep to these providers.
    #[oai(
        path = "/appointment-types/:type_id/providers",
        method = "put",
        operation_id = "setTypeOffering"
    )]
    async fn set_offering(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        type_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<TypeOffering>,
    ) -> ApiResult<OfferingResponse> {
        let version = if_match(if_match_header.0)?;
        Ok(offering_ok(
            setup::set_offering(
                &state.tenancy,
                &tenant,
                &auth.0.principal,
                type_id.0,
                version,
                body.0.all_providers,
                body.0.provider_ids,
            )
            .await?,
        ))
    }

    /// A provider's working hours and upcoming overrides
    #[oai(
        path = "/providers/:provider_id/availability",
        method = "get",
        operation_id = "getAvailability"
    )]
    async fn get_availability(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        provider_id: Path<Uuid>,
    ) -> ApiResult<AvailabilityResponse> {
        Ok(availability_ok(
            availability::get(&state.tenancy, &tenant, &auth.0.principal, provider_id.0).await?,
        ))
    }

    /// Replace a provider's zone and weekly hours (requires `If-Match`; `"0"` the first time)
    #[oai(
        path = "/providers/:provider_id/availability",
        method = "put",
        operation_id = "putAvailability"
    )]
    async fn put_availability(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        provider_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<PutAvailability>,
    ) -> ApiResult<AvailabilityResponse> {
        let version = if_match_or_new(if_match_header.0)?;
        let mut fields = Fields::default();
        let mut rules = Vec::new();
        for (i, r) in body.rules.iter().enumerate() {
            let start = fields.check(&format!("/rules/{i}/start"), parse_time(&r.start));
            let end = fields.check(&format!("/rules/{i}/end"), parse_time(&r.end));
            let weekday = fields.check(
                &format!("/rules/{i}/weekday"),
                u8::try_from(r.weekday)
                    .ok()
                    .filter(|w| (1..=7).contains(w))
                    .ok_or_else(|| "must be 1 (Monday) to 7 (Sunday)".to_owned()),
            );
            if let (Some(start), Some(end), Some(weekday)) = (start, end, weekday) {
                rules.push(WeeklyRule {
                    weekday,
                    start,
                    end,
                    location_id: r.location_id,
                    valid_from: r.valid_from,
                    valid_until: r.valid_until,
                });
            }
        }
        fields.finish()?;
        Ok(availability_ok(
            availability::put(
                &state.tenancy,
                &tenant,
                &auth.0.principal,
                provider_id.0,
                version,
                body.timezone.trim().to_owned(),
                rules,
            )
            .await?,
        ))
    }

    /// Add extra hours or time off on one date
    #[oai(
        path = "/providers/:provider_id/availability/overrides",
        method = "post",
        operation_id = "createAvailabilityOverride"
    )]
    async fn create_override(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        provider_id: Path<Uuid>,
        body: Json<CreateOverride>,
    ) -> ApiResult<OverrideCreated> {
        let mut fields = Fields::default();
        let start = body
            .start
            .as_deref()
            .and_then(|s| fields.check("/start", parse_time(s)));
        let end = body
            .end
            .as_deref()
            .and_then(|s| fields.check("/end", parse_time(s)));
        if body.start.is_some() != body.end.is_some() {
            fields.check::<()>("/end", Err("give both start and end, or neither".into()));
        }
        fields.finish()?;
        let new = availability::NewOverride {
            date: body.date,
            kind: match body.kind {
                OverrideKindDto::Extra => OverrideKind::Extra,
                OverrideKindDto::TimeOff => OverrideKind::TimeOff,
            },
            hours: start.zip(end),
            location_id: body.location_id,
        };
        let o = availability::add_override(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            provider_id.0,
            new,
        )
        .await?;
        Ok(OverrideCreated::Created(Json(o.into())))
    }

    /// Remove an override
    #[oai(
        path = "/providers/:provider_id/availability/overrides/:override_id",
        method = "delete",
        operation_id = "deleteAvailabilityOverride"
    )]
    async fn delete_override(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        provider_id: Path<Uuid>,
        override_id: Path<Uuid>,
    ) -> ApiResult<Done> {
        availability::delete_override(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            provider_id.0,
            override_id.0,
        )
        .await?;
        Ok(Done::Done)
    }

    /// Free slots for a type, for one provider or a department's providers, a page at a time
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per query parameter"
    )]
    #[oai(path = "/slots", method = "get", operation_id = "searchSlots")]
    async fn slots(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// The appointment type.
        #[oai(name = "type")]
        type_id: Query<Uuid>,
        /// One provider (or give `department`).
        provider: Query<Option<Uuid>>,
        /// Every provider in this department and its sub-departments.
        department: Query<Option<Uuid>>,
        /// First local date, e.g. 2026-03-08.
        from: Query<NaiveDate>,
        /// Last local date (inclusive); at most 62 days after `from`.
        to: Query<NaiveDate>,
        /// IANA zone for the dates and the answer, e.g. America/Vancouver.
        tz: Query<String>,
        /// Slots per page, 1–500, default 200.
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// `next_after` of the previous page (an opaque cursor).
        after: Query<Option<String>>,
    ) -> ApiResult<Json<SlotList>> {
        let zone =
            calendar::parse_zone(tz.0.trim()).map_err(|m| ApiError::invalid_field("tz", m))?;
        let providers = match (provider.0, department.0) {
            (Some(p), None) => slots::Providers::One(p),
            (None, Some(d)) => slots::Providers::Department(d),
            _ => {
                return Err(ApiError::invalid_field(
                    "provider",
                    "give exactly one of provider or department",
                ));
            }
        };
        let after = match after.0.as_deref() {
            None => None,
            Some(raw) => Some(slots::Cursor::decode(raw).ok_or_else(|| {
                ApiError::bad_request(
                    "bad-request",
                    "failed to parse parameter `after`: not a `next_after` cursor",
                )
            })?),
        };
        let q = slots::SlotQuery {
            providers,
            type_id: type_id.0,
            from: from.0,
            to: to.0,
            tz: zone,
            after,
            limit: limit.0.map_or(slots::DEFAULT_LIMIT, |n| n as usize),
        };
        let found = slots::search(&state.tenancy, &tenant, &auth.0.principal, q).await?;
        let offset = |t: DateTime<Utc>| t.with_timezone(&zone).fixed_offset();
        Ok(Json(SlotList {
            timezone: zone.name().to_owned(),
            next_after: found.next.map(|c| c.encode()),
            slots: found
                .slots
                .into_iter()
                .map(|s| Slot {
                    provider_id: s.provider_id,
                    starts_at: offset(s.starts_at),
                    ends_at: offset(s.ends_at),
                })
                .collect(),
        }))
    }
}
