//! Scheduling: appointment types and locations, providers' availability, slot search,
//! booking without double-booking, the appointment lifecycle, recurring series, the waitlist
//! and iCalendar feeds. See `docs/SCHEDULING.md`.
//!
//! * [`calendar`] — pure wall-clock → instant expansion and slot generation (tz database).
//! * [`setup`] — policy, locations, appointment types.
//! * [`availability`] — weekly hours and date overrides.
//! * [`slots`] — slot search, in pages; [`busy`] — the busy time it reads.
//! * [`booking`] — booking, lifecycle, reschedule, history, Idempotency-Key.
//! * [`caseload`] — a provider's clients ("My clients") with their next and last appointment.
//! * [`series`] — recurring series and their edits.
//! * [`waitlist`] — waiting clients, offers, first-accept-wins.
//! * [`feeds`] — iCalendar feeds.
//! * [`reminders`] — reminder jobs through the outbox, and their delivery log.
//! * [`bulk`] — institutions' bulk batches, placed by outbox jobs in chunks.

pub mod availability;
pub mod booking;
pub mod bulk;
pub mod busy;
pub mod calendar;
pub mod caseload;
pub mod feeds;
pub mod model;
pub mod reach;
pub mod reminders;
pub mod schema;
pub mod series;
pub mod setup;
pub mod slots;
pub mod waitlist;
