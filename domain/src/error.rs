//! Errors shared by every domain context. Each variant says which HTTP status the API maps it
//! to (see `docs/ERRORS.md`); context-specific detail goes in the variant's fields.

use tenancy::DoorError;

/// One invalid input field, named as the API names it (JSON pointer style, e.g. `/name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// 422 — the request is well-formed but a field's value is not acceptable.
    #[error("invalid input: {}", .0.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// 404 — the resource does not exist *or the caller may not know it exists*.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 403 — the caller is known and may see the collection, but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 401 — no valid credentials (wrong password, unknown or expired session).
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// 409 — the change conflicts with the current state (duplicate, still referenced).
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412 — `If-Match` named a version that is no longer current.
    #[error("the resource changed since version {expected}; current version is {current}")]
    PreconditionFailed { expected: i32, current: i32 },
    /// 429 — too many wrong attempts; retry after the duration.
    #[error("too many attempts; retry in {} s", .0.num_seconds())]
    TooManyAttempts(chrono::Duration),
    /// 401 (403 for `no_role_mapped` / `account_disabled`) — an SSO sign-in was refused; the
    /// reason is audited and named in the problem (`docs/SSO.md`).
    #[error("single sign-on refused: {}", .0.code())]
    SsoRejected(crate::sso::Rejection),
    /// 403 — this email's organisation signs in through its identity provider only.
    #[error("password sign-in is disabled for this organisation")]
    SsoRequired { connection_id: uuid::Uuid },
    /// 502 — an upstream service (the organisation's identity provider) failed.
    #[error("upstream failure: {0}")]
    Upstream(&'static str),
    /// 503 — the database is unreachable; retry later.
    #[error("service unavailable")]
    Unavailable(#[source] DoorError),
    /// 500 — anything else; never shown to the caller beyond a request id.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}

impl From<DoorError> for DomainError {
    fn from(e: DoorError) -> Self {
        if e.is_unavailable() {
            return DomainError::Unavailable(e);
        }
        match e {
            DoorError::Database(db) => DomainError::from(db),
            other => DomainError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for DomainError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        if tenancy::migrate_support::is_connection_loss(&e) {
            return DomainError::Unavailable(DoorError::Database(e));
        }
        match &e {
            Error::NotFound => DomainError::NotFound("resource"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DomainError::Conflict(match info.constraint_name() {
                    Some("people_email") | Some("accounts_email") => {
                        "a person with this email already exists".to_owned()
                    }
                    Some("departments_sibling_name") => {
                        "a department with this name already exists under the same parent"
                            .to_owned()
                    }
                    Some("locations_name") => "a location with this name already exists".to_owned(),
                    Some("appointment_types_name") => {
                        "an appointment type with this name already exists".to_owned()
                    }
                    Some("appointments_series_occurrence") => {
                        "this occurrence of the series is already booked".to_owned()
                    }
                    _ => "the resource already exists".to_owned(),
                })
            }
            // The scheduling exclusion constraints: the database refusing a double booking.
            Error::DatabaseError(DatabaseErrorKind::ExclusionViolation, info) => {
                DomainError::Conflict(match info.constraint_name() {
                    Some("appointments_provider_no_overlap") => {
                        "the provider is not free at that time (another appointment or its buffer overlaps)"
                            .to_owned()
                    }
                    Some("appointments_client_no_overlap") => {
                        "the client already has an appointment at that time".to_owned()
                    }
                    _ => "the time overlaps another booking".to_owned(),
                })
            }
            // Two transactions collided (serialization failure or a deadlock PostgreSQL broke):
            // nothing was written; the caller may simply retry.
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                DomainError::Conflict(
                    "a concurrent change collided with this one; nothing was changed, try again"
                        .to_owned(),
                )
            }
            Error::DatabaseError(_, info) if info.message().starts_with("deadlock detected") => {
                DomainError::Conflict(
                    "a concurrent change collided with this one; nothing was changed, try again"
                        .to_owned(),
                )
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                DomainError::Conflict(
                    "the resource is still referenced or refers to a missing one".to_owned(),
                )
            }
            _ => DomainError::Internal(e.to_string()),
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
