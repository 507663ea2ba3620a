//! Appointments: booking (with `Idempotency-Key`), the lifecycle, reschedule, history;
//! recurring series; the waitlist; calendar feeds.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::scheduling::booking;
use domain::scheduling::calendar::parse_zone;
use domain::scheduling::{feeds, model, series, waitlist};

use super::Tag;
use super::scheduling::parse_time;
use super::types::{PageInfo, etag, idempotency_key, if_match, page};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Requested,
    Booked,
    CheckedIn,
    Completed,
    NoShow,
    Cancelled,
}

impl AppointmentStatus {
    fn to_domain(self) -> model::Status {
        match self {
            AppointmentStatus::Requested => model::Status::Requested,
            AppointmentStatus::Booked => model::Status::Booked,
            AppointmentStatus::CheckedIn => model::Status::CheckedIn,
            AppointmentStatus::Completed => model::Status::Completed,
            AppointmentStatus::NoShow => model::Status::NoShow,
            AppointmentStatus::Cancelled => model::Status::Cancelled,
        }
    }
    fn from_domain(s: model::Status) -> Self {
        match s {
            model::Status::Requested => AppointmentStatus::Requested,
            model::Status::Booked => AppointmentStatus::Booked,
            model::Status::CheckedIn => AppointmentStatus::CheckedIn,
            model::Status::Completed => AppointmentStatus::Completed,
            model::Status::NoShow => AppointmentStatus::NoShow,
            model::Status::Cancelled => AppointmentStatus::Cancelled,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Reason {
    ClientRequest,
    ProviderUnavailable,
    Illness,
    SchedulingError,
    Weather,
    Other,
}

impl Reason {
    fn to_domain(self) -> model::ReasonCode {
        match self {
            Reason::ClientRequest => model::ReasonCode::ClientRequest,
            Reason::ProviderUnavailable => model::ReasonCode::ProviderUnavailable,
            Reason::Illness => model::ReasonCode::Illness,
            Reason::SchedulingError => model::ReasonCode::Scheduling,
            Reason::Weather => model::ReasonCode::Weather,
            Reason::Other => model::ReasonCode::Other,
        }
    }
}

/// An appointment. Times are instants (UTC); `local_start` is the same start in the
/// provider's zone (`timezone`).
#[derive(Object)]
pub struct Appointment {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub provider_name: String,
    pub client_id: Uuid,
    /// Present for the client and for staff who manage the calendar.
    #[oai(skip_serializing_if_is_none)]
    pub client_name: Option<String>,
    pub type_id: Uuid,
    pub type_name: String,
    #[oai(skip_serializing_if_is_none)]
    pub location_id: Option<Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub series_id: Option<Uuid>,
    /// This occurrence was changed on its own and no longer follows its series.
    pub series_exception: bool,
    pub status: AppointmentStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The provider's IANA zone.
    pub timezone: String,
    /// The start in the provider's zone, with its offset.
    pub local_start: DateTime<FixedOffset>,
    #[oai(skip_serializing_if_is_none)]
    pub cancelled_by: Option<String>,
    /// Cancelled inside the type's cancellation window.
    pub late_cancellation: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<model::Appointment> for Appointment {
    fn from(a: model::Appointment) -> Self {
        let r = a.row;
        let local_start = parse_zone(&r.timezone)
            .map(|tz| r.starts_at.with_timezone(&tz).fixed_offset())
            .unwrap_or_else(|_| r.starts_at.fixed_offset());
        Appointment {
            status: AppointmentStatus::from_domain(r.status()),
            id: r.id,
            provider_id: r.provider_id,
            provider_name: a.provider_name,
            client_id: r.client_id,
            client_name: a.client_name,
            type_id: r.type_id,
            type_name: a.type_name,
            location_id: r.location_id,
            series_id: r.series_id,
            series_exception: r.series_exception,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            timezone: r.timezone,
            local_start,
            cancelled_by: r.cancelled_by,
            late_cancellation: r.late_cancellation,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

#[derive(Object)]
pub struct BookAppointment {
    pub provider_id: Uuid,
    /// The client; omit when a client books for themselves.
    pub client_id: Option<Uuid>,
    pub type_id: Uuid,
    /// The start instant (RFC 3339 with offset), e.g. one of the slots' `starts_at`.
    pub starts_at: DateTime<FixedOffset>,
}

#[derive(Object)]
pub struct AppointmentPage {
    pub items: Vec<Appointment>,
    pub page: PageInfo,
}

#[derive(ApiResponse)]
pub enum AppointmentCreated {
    /// Booked (or requested, when the type needs approval). A repeat with the same
    /// `Idempotency-Key` answers the same, with `Idempotent-Replayed: true`.
    #[oai(status = 201)]
    Created(
        Json<Appointment>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Location")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
pub enum AppointmentResponse {
    /// The appointment.
    #[oai(status = 200)]
    Ok(Json<Appointment>, #[oai(header = "ETag")] String),
}

fn appointment_ok(a: model::Appointment) -> AppointmentResponse {
    let tag = etag(a.row.version);
    AppointmentResponse::Ok(Json(a.into()), tag)
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Action {
    /// requested → booked.
    Approve,
    /// requested → cancelled.
    Decline,
    /// booked → checked_in (from 2 hours before the start).
    CheckIn,
    /// booked | checked_in → completed (once started).
    Complete,
    /// booked → no_show (once the start has passed).
    NoShow,
    /// requested | booked → cancelled (late inside the type's window).
    Cancel,
}

#[derive(Object)]
pub struct TransitionRequest {
    pub action: Action,
    pub reason: Option<Reason>,
}

#[derive(Object)]
pub struct RescheduleRequest {
    /// The new start instant.
    pub starts_at: DateTime<FixedOffset>,
    pub reason: Option<Reason>,
}

/// One entry of an appointment's history.
#[derive(Object)]
pub struct AppointmentEvent {
    pub at: DateTime<Utc>,
    /// The account that made the change.
    #[oai(skip_serializing_if_is_none)]
    pub actor_account_id: Option<Uuid>,
    /// requested, booked, approved, declined, checked_in, completed, no_show, cancelled, rescheduled.
    pub action: String,
    #[oai(skip_serializing_if_is_none)]
    pub from_status: Option<String>,
    pub to_status: String,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    pub late: bool,
    /// For a reschedule: where it was before.
    #[oai(skip_serializing_if_is_none)]
    pub previous_start: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub previous_end: Option<DateTime<Utc>>,
}

/// One reminder that fell due, and what happened to it.
#[derive(Object)]
pub struct ReminderDelivery {
    pub id: Uuid,
    pub offset_minutes: i32,
    /// email.
    pub channel: String,
    /// The appointment start it was for (a moved appointment gets new reminders).
    pub scheduled_for: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// sending, sent, skipped or failed.
    pub status: String,
    /// Why skipped or failed: cancelled, moved, not_booked, no_address, mail_error ….
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub sent_at: Option<DateTime<Utc>>,
}

// ---------------------------------------------------------------------------------------------
// Series

#[derive(Object)]
pub struct CreateSeries {
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub type_id: Uuid,
    /// The first occurrence's local start in the provider's zone, e.g. 2027-03-01T10:00:00.
    /// It must itself be an occurrence of the rule (for BYDAY=2TU, a second Tuesday).
    pub first_start: NaiveDateTime,
    /// RFC 5545 RRULE: FREQ=WEEKLY (INTERVAL=n for every n weeks) or FREQ=MONTHLY;BYDAY=2TU
    /// (INTERVAL=n for every n months; BYDAY=-1TU for the last Tuesday), ending with COUNT
    /// (1–104) or UNTIL, not both. UNTIL is a UTC instant ending in Z: to end on a date, send
    /// the end of that day in the provider's zone converted to UTC (23:59:59 on 29 March 2027
    /// in Toronto is `UNTIL=20270330T035959Z`). At most 104 occurrences within two years.
    #[oai(validator(max_length = 500))]
    pub rrule: String,
}

/// An occurrence that could not be booked, and why.
#[derive(Object)]
pub struct OccurrenceConflict {
    pub local_start: NaiveDateTime,
    pub starts_at: DateTime<Utc>,
    pub reason: String,
}

#[derive(Object)]
pub struct Series {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub type_id: Uuid,
    pub timezone: String,
    pub first_start: NaiveDateTime,
    pub rrule: String,
    /// The series this one continues after a "this and following" change.
    #[oai(skip_serializing_if_is_none)]
    pub parent_id: Option<Uuid>,
    /// active, ended (split or cut short) or cancelled.
    pub status: String,
    pub version: i32,
}

#[derive(Object)]
pub struct SeriesOutcome {
    pub series: Series,
    /// Occurrences booked (create), moved (retime), cancelled (cancel), or all (get).
    pub appointments: Vec<Appointment>,
    pub conflicts: Vec<OccurrenceConflict>,
}

impl From<series::SeriesOutcome> for SeriesOutcome {
    fn from(o: series::SeriesOutcome) -> Self {
        let s = o.series;
        SeriesOutcome {
            series: Series {
                id: s.id,
                provider_id: s.provider_id,
                client_id: s.client_id,
                type_id: s.type_id,
                timezone: s.timezone,
                first_start: s.first_local,
                rrule: s.rrule,
                parent_id: s.parent_id,
                status: s.status,
                version: s.version,
            },
            appointments: o.appointments.into_iter().map(Into::into).collect(),
            conflicts: o
                .conflicts
                .into_iter()
                .map(|c| OccurrenceConflict {
                    local_start: c.local,
                    starts_at: c.starts_at,
                    reason: c.reason,
                })
                .collect(),
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum SeriesScope {
    /// Every future occurrence that still follows the series.
    All,
    /// `from_appointment_id` and every later occurrence (the series splits there).
    Following,
}

#[derive(Object)]
pub struct RetimeSeries {
    pub scope: SeriesScope,
    /// Required with `following`: an occurrence of this series.
    pub from_appointment_id: Option<Uuid>,
    /// The new local start time, "10:30", on the same dates.
    #[oai(validator(max_length = 8))]
    pub local_time: String,
}

#[derive(Object)]
pub struct CancelSeries {
    pub scope: SeriesScope,
    pub from_appointment_id: Option<Uuid>,
    pub reason: Option<Reason>,
}

#[derive(ApiResponse)]
pub enum SeriesResponse {
    /// The series and its occurrences.
    #[oai(status = 200)]
    Ok(Json<SeriesOutcome>, #[oai(header = "ETag")] String),
    /// Created; occurrences that could not be booked are listed in `conflicts`.
    #[oai(status = 201)]
    Created(Json<SeriesOutcome>, #[oai(header = "ETag")] String),
}

fn scope(s: SeriesScope, from: Option<Uuid>) -> ApiResult<series::Scope> {
    match (s, from) {
        (SeriesScope::All, _) => Ok(series::Scope::All),
        (SeriesScope::Following, Some(id)) => Ok(series::Scope::Following(id)),
        (SeriesScope::Following, None) => Err(ApiError::invalid_field(
            "/from_appointment_id",
            "required with scope following",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Waitlist

#[derive(Object)]
pub struct JoinWaitlist {
    /// The client; omit when a client joins for themselves.
    pub client_id: Option<Uuid>,
    /// A particular provider, or any provider of the type.
    pub provider_id: Option<Uuid>,
    pub type_id: Uuid,
    pub window_from: DateTime<FixedOffset>,
    pub window_until: DateTime<FixedOffset>,
}

/// A freed slot offered to a waiting client; the first to accept books it.
#[derive(Object)]
pub struct WaitlistOffer {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// open, accepted, expired, taken (someone accepted first) or withdrawn.
    pub status: String,
    #[oai(skip_serializing_if_is_none)]
    pub appointment_id: Option<Uuid>,
}

#[derive(Object)]
pub struct WaitlistEntry {
    pub id: Uuid,
    pub client_id: Uuid,
    #[oai(skip_serializing_if_is_none)]
    pub provider_id: Option<Uuid>,
    pub type_id: Uuid,
    pub window_from: DateTime<Utc>,
    pub window_until: DateTime<Utc>,
    /// waiting, booked, cancelled or expired.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub offers: Vec<WaitlistOffer>,
}

impl From<waitlist::EntryWithOffers> for WaitlistEntry {
    fn from(e: waitlist::EntryWithOffers) -> Self {
        let now = Utc::now();
        WaitlistEntry {
            status: e.entry.effective_status(now).to_owned(),
            id: e.entry.id,
            client_id: e.entry.client_id,
            provider_id: e.entry.provider_id,
            type_id: e.entry.type_id,
            window_from: e.entry.window_from,
            window_until: e.entry.window_until,
            created_at: e.entry.created_at,
            offers: e
                .offers
                .into_iter()
                .map(|o| WaitlistOffer {
                    status: o.effective_status(now).to_owned(),
                    id: o.id,
                    provider_id: o.provider_id,
                    starts_at: o.starts_at,
                    ends_at: o.ends_at,
                    expires_at: o.expires_at,
                    appointment_id: o.appointment_id,
                })
                .collect(),
        }
    }
}

#[derive(ApiResponse)]
pub enum WaitlistCreated {
    /// Joined.
    #[oai(status = 201)]
    Created(Json<WaitlistEntry>),
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// The slot is booked.
    #[oai(status = 201)]
    Created(Json<Appointment>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done.
    #[oai(status = 204)]
    Done,
}

// ---------------------------------------------------------------------------------------------
// Calendar feeds

#[derive(Object)]
pub struct CalendarFeed {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Object)]
pub struct NewCalendarFeed {
    pub id: Uuid,
    /// Subscribe to this URL in a calendar app. Shown once: only its hash is stored.
    pub url: String,
}

#[derive(ApiResponse)]
pub enum FeedCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<NewCalendarFeed>),
}

pub struct AppointmentsApi;

#[OpenApi(tag = "Tag::Appointments")]
impl AppointmentsApi {
    /// List appointments the caller may see
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per query parameter"
    )]
    #[oai(
        path = "/appointments",
        method = "get",
        operation_id = "listAppointments"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        provider: Query<Option<Uuid>>,
        client: Query<Option<Uuid>>,
        /// Appointments ending after this instant.
        from: Query<Option<DateTime<FixedOffset>>>,
        /// Appointments starting before this instant.
        to: Query<Option<DateTime<FixedOffset>>>,
        /// Only these statuses (repeat the parameter).
        status: Query<Vec<AppointmentStatus>>,
        /// 1–200, default 50.
        limit: Query<Option<i64>>,
        after: Query<Option<Uuid>>,
    ) -> ApiResult<Json<AppointmentPage>> {
        let f = model::AppointmentFilter {
            provider_id: provider.0,
            client_id: client.0,
            from: from.0.map(|t| t.with_timezone(&Utc)),
            to: to.0.map(|t| t.with_timezone(&Utc)),
            statuses: status.0.iter().map(|s| s.to_domain()).collect(),
        };
        let p = booking::list(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            f,
            page(limit.0, after.0)?,
        )
        .await?;
        Ok(Json(AppointmentPage {
            items: p.items.into_iter().map(Into::into).collect(),
            page: PageInfo {
                next_after: p.next_after,
            },
        }))
    }

    /// Book an appointment (accepts `Idempotency-Key`)
    #[oai(
        path = "/appointments",
        method = "post",
        operation_id = "bookAppointment"
    )]
    async fn book(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// Repeating a request with the same key books once and answers the same.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
        body: Json<BookAppointment>,
    ) -> ApiResult<AppointmentCreated> {
        let key = idempotency_key(key.0, "bookAppointment", &body.0)?;
        let req = model::BookingRequest {
            provider_id: body.provider_id,
            client_id: body.client_id,
            type_id: body.type_id,
            starts_at: body.starts_at.with_timezone(&Utc),
            location_id: None,
        };
        let b = booking::book(&state.tenancy, &tenant, &auth.0.principal, req, key).await?;
        let a = b.appointment;
        let tag = etag(a.row.version);
        let location = format!("/api/v1/appointments/{}", a.row.id);
        Ok(AppointmentCreated::Created(
            Json(a.into()),
            tag,
            location,
            b.replayed.then(|| "true".to_owned()),
        ))
    }

    /// Get an appointment
    #[oai(
        path = "/appointments/:appointment_id",
        method = "get",
        operation_id = "getAppointment"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        appointment_id: Path<Uuid>,
    ) -> ApiResult<AppointmentResponse> {
        Ok(appointment_ok(
            booking::get(&state.tenancy, &tenant, &auth.0.principal, appointment_id.0).await?,
        ))
    }

    /// Change an appointment's status (requires `If-Match`)
    #[oai(
        path = "/appointments/:appointment_id/transitions",
        method = "post",
        operation_id = "transitionAppointment"
    )]
    async fn transition(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        appointment_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<TransitionRequest>,
    ) -> ApiResult<AppointmentResponse> {
        let version = if_match(if_match_header.0)?;
        let to = match body.action {
            Action::Approve => model::Transition::Approve,
            Action::Decline => model::Transition::Decline,
            Action::CheckIn => model::Transition::CheckIn,
            Action::Complete => model::Transition::Complete,
            Action::NoShow => model::Transition::NoShow,
            Action::Cancel => model::Transition::Cancel,
        };
        Ok(appointment_ok(
            booking::transition(
                &state.tenancy,
                &tenant,
                &auth.0.principal,
                appointment_id.0,
                version,
                to,
                body.reason.map(Reason::to_domain),
            )
            .await?,
        ))
    }

    /// Move an appointment to another time (requires `If-Match`; history is kept)
    #[oai(
        path = "/appointments/:appointment_id/reschedule",
        method = "post",
        operation_id = "rescheduleAppointment"
    )]
    async fn reschedule(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        appointment_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<RescheduleRequest>,
    ) -> ApiResult<AppointmentResponse> {
        let version = if_match(if_match_header.0)?;
        Ok(appointment_ok(
            booking::reschedule(
                &state.tenancy,
                &tenant,
                &auth.0.principal,
                appointment_id.0,
                version,
                body.starts_at.with_timezone(&Utc),
                body.reason.map(Reason::to_domain),
            )
            .await?,
        ))
    }

    /// An appointment's history: every transition, who made it and why
    #[oai(
        path = "/appointments/:appointment_id/history",
        method = "get",
        operation_id = "getAppointmentHistory"
    )]
    async fn history(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        appointment_id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<AppointmentEvent>>> {
        let events =
            booking::history(&state.tenancy, &tenant, &auth.0.principal, appointment_id.0).await?;
        Ok(Json(
            events
                .into_iter()
                .map(|e| AppointmentEvent {
                    at: e.at,
                    actor_account_id: e.actor_account,
                    action: e.action,
                    from_status: e.from_status,
                    to_status: e.to_status,
                    reason: e.reason_code,
                    late: e.late,
                    previous_start: e.previous_start,
                    previous_end: e.previous_end,
                })
                .collect(),
        ))
    }

    /// The reminder log of an appointment
    #[oai(
        path = "/appointments/:appointment_id/reminders",
        method = "get",
        operation_id = "listAppointmentReminders"
    )]
    async fn reminders(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        appointment_id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<ReminderDelivery>>> {
        let ds = domain::scheduling::reminders::deliveries(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            appointment_id.0,
        )
        .await?;
        Ok(Json(
            ds.into_iter()
                .map(|d| ReminderDelivery {
                    id: d.id,
                    offset_minutes: d.offset_minutes,
                    channel: d.channel,
                    scheduled_for: d.scheduled_for,
                    due_at: d.due_at,
                    status: d.status,
                    detail: d.detail,
                    sent_at: d.sent_at,
                })
                .collect(),
        ))
    }

    /// Book a recurring series (provider or front desk)
    #[oai(
        path = "/appointment-series",
        method = "post",
        operation_id = "createSeries"
    )]
    async fn create_series(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<CreateSeries>,
    ) -> ApiResult<SeriesResponse> {
        let new = series::NewSeries {
            provider_id: body.provider_id,
            client_id: body.client_id,
            type_id: body.type_id,
            first_local: body.first_start,
            rrule: body.rrule.clone(),
        };
        let o = series::create(&state.tenancy, &tenant, &auth.0.principal, new).await?;
        let tag = etag(o.series.version);
        Ok(SeriesResponse::Created(Json(o.into()), tag))
    }

    /// Get a series with all its occurrences
    #[oai(
        path = "/appointment-series/:series_id",
        method = "get",
        operation_id = "getSeries"
    )]
    async fn get_series(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        series_id: Path<Uuid>,
    ) -> ApiResult<SeriesResponse> {
        let o = series::get(&state.tenancy, &tenant, &auth.0.principal, series_id.0).await?;
        let tag = etag(o.series.version);
        Ok(SeriesResponse::Ok(Json(o.into()), tag))
    }

    /// Move all, or this and following, occurrences to a new local time (requires `If-Match`)
    #[oai(
        path = "/appointment-series/:series_id/retime",
        method = "post",
        operation_id = "retimeSeries"
    )]
    async fn retime_series(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        series_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<RetimeSeries>,
    ) -> ApiResult<SeriesResponse> {
        let version = if_match(if_match_header.0)?;
        let time =
            parse_time(&body.local_time).map_err(|m| ApiError::invalid_field("/local_time", m))?;
        let o = series::retime(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            series_id.0,
            version,
            scope(body.scope, body.from_appointment_id)?,
            time,
        )
        .await?;
        let tag = etag(o.series.version);
        Ok(SeriesResponse::Ok(Json(o.into()), tag))
    }

    /// Cancel all, or this and following, occurrences (requires `If-Match`)
    #[oai(
        path = "/appointment-series/:series_id/cancel",
        method = "post",
        operation_id = "cancelSeries"
    )]
    async fn cancel_series(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        series_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<CancelSeries>,
    ) -> ApiResult<SeriesResponse> {
        let version = if_match(if_match_header.0)?;
        let o = series::cancel(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            series_id.0,
            version,
            scope(body.scope, body.from_appointment_id)?,
            body.reason.map(Reason::to_domain),
        )
        .await?;
        let tag = etag(o.series.version);
        Ok(SeriesResponse::Ok(Json(o.into()), tag))
    }

    /// Waitlist entries the caller may see, with their offers
    #[oai(path = "/waitlist", method = "get", operation_id = "listWaitlist")]
    async fn list_waitlist(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<Vec<WaitlistEntry>>> {
        let es = waitlist::list(&state.tenancy, &tenant, &auth.0.principal).await?;
        Ok(Json(es.into_iter().map(Into::into).collect()))
    }

    /// Join the waitlist for a type (and optionally a provider) within a time window
    #[oai(path = "/waitlist", method = "post", operation_id = "joinWaitlist")]
    async fn join_waitlist(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<JoinWaitlist>,
    ) -> ApiResult<WaitlistCreated> {
        let new = waitlist::NewEntry {
            client_id: body.client_id,
            provider_id: body.provider_id,
            type_id: body.type_id,
            window_from: body.window_from.with_timezone(&Utc),
            window_until: body.window_until.with_timezone(&Utc),
        };
        let e = waitlist::join(&state.tenancy, &tenant, &auth.0.principal, new).await?;
        Ok(WaitlistCreated::Created(Json(e.into())))
    }

    /// Leave the waitlist
    #[oai(
        path = "/waitlist/:entry_id",
        method = "delete",
        operation_id = "leaveWaitlist"
    )]
    async fn leave_waitlist(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        entry_id: Path<Uuid>,
    ) -> ApiResult<Done> {
        waitlist::leave(&state.tenancy, &tenant, &auth.0.principal, entry_id.0).await?;
        Ok(Done::Done)
    }

    /// Accept a waitlist offer: books the slot if no one accepted it first
    #[oai(
        path = "/waitlist/offers/:offer_id/accept",
        method = "post",
        operation_id = "acceptWaitlistOffer"
    )]
    async fn accept_offer(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        offer_id: Path<Uuid>,
    ) -> ApiResult<Accepted> {
        let a = waitlist::accept(&state.tenancy, &tenant, &auth.0.principal, offer_id.0).await?;
        let tag = etag(a.row.version);
        Ok(Accepted::Created(Json(a.into()), tag))
    }

    /// The caller's calendar feeds (providers and clients)
    #[oai(
        path = "/calendar-feeds",
        method = "get",
        operation_id = "listCalendarFeeds"
    )]
    async fn list_feeds(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<Vec<CalendarFeed>>> {
        let fs = feeds::list(&state.tenancy, &tenant, &auth.0.principal).await?;
        Ok(Json(
            fs.into_iter()
                .map(|f| CalendarFeed {
                    id: f.id,
                    created_at: f.created_at,
                    revoked_at: f.revoked_at,
                })
                .collect(),
        ))
    }

    /// Create a calendar feed of the caller's appointments (the URL is shown once)
    #[oai(
        path = "/calendar-feeds",
        method = "post",
        operation_id = "createCalendarFeed"
    )]
    async fn create_feed(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<FeedCreated> {
        let f = feeds::create(&state.tenancy, &tenant, &auth.0.principal).await?;
        let url = format!(
            "{}/ical/{}/{}.ics",
            state.public_url.trim_end_matches('/'),
            tenant.slug,
            f.token
        );
        Ok(FeedCreated::Created(Json(NewCalendarFeed {
            id: f.feed.id,
            url,
        })))
    }

    /// Revoke a calendar feed (its URL stops working at once)
    #[oai(
        path = "/calendar-feeds/:feed_id",
        method = "delete",
        operation_id = "revokeCalendarFeed"
    )]
    async fn revoke_feed(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        feed_id: Path<Uuid>,
    ) -> ApiResult<Done> {
        feeds::revoke(&state.tenancy, &tenant, &auth.0.principal, feed_id.0).await?;
        Ok(Done::Done)
    }
}
