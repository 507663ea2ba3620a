//! Swiftacare's business rules, one module per bounded context.
//!
//! Each context has `model` (types), `repo` (diesel queries, always handed a connection that
//! is already inside [`tenancy::Tenancy::tx`]), `service` (rules and transactions) and `error`.
//! Nothing here knows about HTTP or the broker.
//!
//! * [`org`] — the organisation: the department tree and the people directory.
//! * [`identity`] — accounts, roles, one-time tokens, sessions, and the access policy.
//! * [`sso`] — enterprise single sign-on (OIDC, SAML 2.0), JIT provisioning, SCIM 2.0.
//! * [`referrals`] — referrals: triage queue, assign, accept, decline, withdraw, history.

/// A closed set of values stored as text: `as_str`, `parse` and `ALL`. Defined before the
/// modules so every context uses this one.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(raw: &str) -> Option<$name> { match raw { $($text => Some($name::$variant),)+ _ => None } }
        }
    };
}

pub mod access;
pub mod audit;
pub mod error;
pub mod idempotency;
pub mod identity;
pub mod jobs;
pub mod org;
pub mod page;
pub mod platform;
pub mod referrals;
pub mod scheduling;
pub mod schema;
pub mod sso;

pub use error::{DomainError, DomainResult, FieldError};
pub use identity::policy;
