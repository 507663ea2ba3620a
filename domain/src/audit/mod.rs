//! The audit log: who did what to which resource, when (UTC), from which request — for every
//! sign-in, role change and read or write of a client's records. Append-only and hash-chained.
//!
//! * [`record`] appends inside the caller's transaction, so the entry commits (or rolls back)
//!   with the change it describes; call it last, because it locks the chain head until commit.
//! * [`record_alone`] appends in a transaction of its own — for failures and denials, whose
//!   own transaction rolls back.
//! * [`verify`] walks the chain and names the first row that does not match.
//!
//! Entries never carry health data, names, emails or free text: ids, actions, outcomes and a
//! small `details` map of enumerated values.

mod chain;
mod model;
mod repo;
pub mod service;

pub use chain::{VerifyReport, verify};
pub use model::{Actor, ActorType, AuditEntry, AuditFilter, Event, Outcome};
pub use repo::{query, record, record_alone};
