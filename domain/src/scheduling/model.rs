//! Scheduling types. Inputs are validated at the edge (API) or in the service before they
//! reach a query; rows map into these.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::*;

text_enum! {
    Modality { InPerson => "in_person", Video => "video" }
}

text_enum! {
    /// requested → booked → checked_in → completed | no_show; requested | booked → cancelled.
    Status {
        Requested => "requested",
        Booked => "booked",
        CheckedIn => "checked_in",
        Completed => "completed",
        NoShow => "no_show",
        Cancelled => "cancelled",
    }
}

text_enum! {
    CancelledBy { Client => "client", Provider => "provider", Staff => "staff" }
}

text_enum! {
    /// Why an appointment was cancelled, declined or moved. Codes only: free text about a
    /// client's reasons is health information and is not collected here.
    ReasonCode {
        ClientRequest => "client_request",
        ProviderUnavailable => "provider_unavailable",
        Illness => "illness",
        Scheduling => "scheduling_error",
        Weather => "weather",
        Other => "other",
    }
}

impl Status {
    /// Holds time on the provider's and the client's calendars.
    pub fn is_active(self) -> bool {
        self != Status::Cancelled
    }
    /// Not yet happened: may still be moved or cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Requested | Status::Booked)
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = scheduling_policy)]
pub struct Policy {
    pub clients_may_self_book: bool,
    pub max_open_bookings_per_client: i32,
    pub max_bookings_per_client_per_day: i32,
    pub max_waitlist_entries_per_client: i32,
    pub waitlist_offer_minutes: i32,
    pub waitlist_offer_batch: i32,
    pub ical_show_client_names: bool,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub reminders_enabled: bool,
    pub reminder_offsets_minutes: Vec<i32>,
    pub reminder_channels: Vec<String>,
    pub sms_webhook_url: Option<String>,
    pub reminder_template: String,
    /// Sealed with the server key ([`crate::identity::mfa::Sealer`]); never returned.
    pub sms_webhook_secret: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default, AsChangeset)]
#[diesel(table_name = scheduling_policy)]
pub struct PolicyPatch {
    pub clients_may_self_book: Option<bool>,
    pub max_open_bookings_per_client: Option<i32>,
    pub max_bookings_per_client_per_day: Option<i32>,
    pub max_waitlist_entries_per_client: Option<i32>,
    pub waitlist_offer_minutes: Option<i32>,
    pub waitlist_offer_batch: Option<i32>,
    pub ical_show_client_names: Option<bool>,
    pub reminders_enabled: Option<bool>,
    pub reminder_offsets_minutes: Option<Vec<i32>>,
    pub reminder_channels: Option<Vec<String>>,
    pub sms_webhook_url: Option<Option<String>>,
    pub reminder_template: Option<String>,
    /// Sealed by the caller ([`crate::identity::mfa::Sealer::seal`]).
    pub sms_webhook_secret: Option<Option<Vec<u8>>>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = locations)]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub timezone: String,
    pub department_id: Option<Uuid>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = locations)]
pub struct NewLocation {
    pub id: Uuid,
    pub name: String,
    pub address: Option<String>,
    pub timezone: String,
    pub department_id: Option<Uuid>,
}

#[derive(Clone, Debug, Default, AsChangeset)]
#[diesel(table_name = locations)]
pub struct LocationPatch {
    pub name: Option<String>,
    pub address: Option<Option<String>>,
    pub timezone: Option<String>,
    pub department_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = appointment_types)]
pub struct AppointmentType {
    pub id: Uuid,
    pub name: String,
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub slot_interval_minutes: i32,
    pub min_notice_minutes: i32,
    pub max_advance_days: i32,
    pub cancellation_window_minutes: i32,
    pub modality: String,
    pub location_id: Option<Uuid>,
    pub client_bookable: bool,
    pub requires_approval: bool,
    pub department_id: Option<Uuid>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// Every active provider offers it; otherwise only those in `appointment_type_providers`.
    pub offered_by_all: bool,
}

impl AppointmentType {
    pub fn duration(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.duration_minutes.into())
    }
    pub fn buffer_before(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.buffer_before_minutes.into())
    }
    pub fn buffer_after(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.buffer_after_minutes.into())
    }
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = appointment_types)]
pub struct NewAppointmentType {
    pub id: Uuid,
    pub name: String,
    pub duration_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub slot_interval_minutes: i32,
    pub min_notice_minutes: i32,
    pub max_advance_days: i32,
    pub cancellation_window_minutes: i32,
    pub modality: String,
    pub location_id: Option<Uuid>,
    pub client_bookable: bool,
    pub requires_approval: bool,
    pub department_id: Option<Uuid>,
}

#[derive(Clone, Debug, Default, AsChangeset)]
#[diesel(table_name = appointment_types)]
pub struct AppointmentTypePatch {
    pub name: Option<String>,
    pub duration_minutes: Option<i32>,
    pub buffer_before_minutes: Option<i32>,
    pub buffer_after_minutes: Option<i32>,
    pub slot_interval_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub max_advance_days: Option<i32>,
    pub cancellation_window_minutes: Option<i32>,
    pub modality: Option<String>,
    pub location_id: Option<Option<Uuid>>,
    pub client_bookable: Option<bool>,
    pub requires_approval: Option<bool>,
    pub department_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = appointments)]
pub struct AppointmentRow {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub type_id: Uuid,
    pub location_id: Option<Uuid>,
    pub series_id: Option<Uuid>,
    pub occurrence_local: Option<NaiveDateTime>,
    pub series_exception: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub busy_from: DateTime<Utc>,
    pub busy_until: DateTime<Utc>,
    pub timezone: String,
    pub status: String,
    pub cancelled_by: Option<String>,
    pub late_cancellation: bool,
    pub booked_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl AppointmentRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Cancelled)
    }
}

/// An appointment as shown to a caller, with the names they may see.
#[derive(Clone, Debug)]
pub struct Appointment {
    pub row: AppointmentRow,
    pub type_name: String,
    pub provider_name: String,
    /// Present for callers who may know who the client is.
    pub client_name: Option<String>,
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = appointments)]
pub struct NewAppointmentRow {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub type_id: Uuid,
    pub location_id: Option<Uuid>,
    pub series_id: Option<Uuid>,
    pub occurrence_local: Option<NaiveDateTime>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub busy_from: DateTime<Utc>,
    pub busy_until: DateTime<Utc>,
    pub timezone: String,
    pub status: String,
    pub booked_by: Option<Uuid>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = appointment_events)]
pub struct AppointmentEvent {
    pub id: Uuid,
    pub appointment_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_account: Option<Uuid>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason_code: Option<String>,
    pub late: bool,
    pub previous_start: Option<DateTime<Utc>>,
    pub previous_end: Option<DateTime<Utc>>,
}

/// What a caller asks to book.
#[derive(Clone, Debug)]
pub struct BookingRequest {
    pub provider_id: Uuid,
    /// Omitted by a client booking for themselves.
    pub client_id: Option<Uuid>,
    pub type_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub location_id: Option<Uuid>,
}

#[derive(Clone, Debug, Default)]
pub struct AppointmentFilter {
    pub provider_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub statuses: Vec<Status>,
}

/// A status change asked for by a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Approve,
    Decline,
    CheckIn,
    Complete,
    NoShow,
    Cancel,
}
