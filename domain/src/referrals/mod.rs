//! Referrals: a request that a client be seen (FHIR ServiceRequest semantics), from a
//! provider, the organisation or the client; triaged by staff, assigned to a provider who
//! accepts (the client joins their care team) or declines (back to the triage queue), or
//! withdrawn. Every step is kept in `referral_events`. See `docs/REFERRALS.md`.
//!
//! * [`model`] — types and free-text rules; [`repo`] — queries; [`service`] — the rules.

pub mod model;
pub mod repo;
pub mod schema;
pub mod service;
