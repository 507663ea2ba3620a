//! The one door to tenant data.
//!
//! Every tenant lives in its own PostgreSQL schema (`t_<id>`) on one of several shards
//! (PostgreSQL clusters). This crate is the only code that holds connection pools:
//!
//! * [`Tenancy::tx`] runs a closure inside a transaction whose **first statement** is
//!   `SELECT set_config('search_path', <tenant schema>, true)` — transaction-local, so a pooled
//!   connection can never carry one tenant into another request.
//! * [`Tenancy::control_tx`] runs against the control schema (tenant registry, shards).
//!   Its search_path stays the empty `swiftacare_empty` schema, so only schema-qualified
//!   control tables are reachable from it.
//! * Application connections start with `search_path = swiftacare_empty`, an empty schema:
//!   a query that escaped the door fails instead of reading somebody's rows (fail closed).
//!
//! Use [`registry`] to resolve a tenant by slug (cached), [`migrate`] to bring the control
//! schema and every tenant schema up to date, and [`provision`] to create a tenant.
//!
//! Raw pool access outside this crate is banned by clippy `disallowed-methods` (see
//! `clippy.toml` at the workspace root).

mod door;
mod error;
pub mod migrate_support {
    //! Error classification shared with `domain`.
    pub use crate::error::is_connection_loss;
}
pub mod migrate;
mod pool;
pub mod provision;
pub mod registry;
pub mod schema;

pub use diesel_async::AsyncPgConnection;
pub use door::{Tenancy, TenancyOptions, TxFn};
pub use error::DoorError;
pub use registry::{SchemaName, ShardId, Slug, SlugError, TenantKind, TenantRef, TenantStatus};
