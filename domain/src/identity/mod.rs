//! Identity and access: accounts, the roles they hold, one-time tokens (first-admin setup,
//! invitations), sessions, and [`policy`] — the access rules every handler uses.
//!
//! Secrets never touch the database in clear: passwords are argon2id PHC strings, tokens are
//! stored as SHA-256 digests and compared by digest.

pub mod accounts;
pub mod clients;
pub mod invite;
pub mod mfa;
pub mod model;
pub mod policy;
pub mod repo;
pub mod secret;
pub mod security;
pub mod service;
pub mod tokens;

pub use model::{Principal, Role, RoleGrant};
