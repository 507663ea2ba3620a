//! RFC 9457 problem details: the one error shape of the API.
//!
//! [`ApiError`] is the error half of every operation's `Result`, so each status it can return is
//! in the spec. Its `bad_request_handler` also turns poem-openapi's own parse and auth failures
//! into problem+json, and [`render_poem_error`] does the same for errors raised outside the
//! OpenAPI service (unknown route, body too large, panics). A 500 carries only the request id.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use domain::DomainError;

tokio::task_local! {
    /// The current request's id, set by the request middleware for the whole request.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// One invalid field.
#[derive(Object, Clone, Debug, PartialEq, Eq)]
pub struct ProblemField {
    /// JSON pointer (body) or parameter name of the offending input.
    pub field: String,
    pub message: String,
}

/// RFC 9457 problem details.
#[derive(Object, Clone, Debug)]
pub struct Problem {
    /// A URI identifying the problem type (`urn:swiftacare:problem:<kind>`).
    #[oai(rename = "type")]
    pub problem_type: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in words meant for the caller.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// The request id; quote it when reporting a problem.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
    /// Field-level errors, when the request named invalid values.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<ProblemField>>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<Option<String>>) -> Problem {
        Problem {
            problem_type: format!("urn:swiftacare:problem:{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            request_id: current_request_id(),
            errors: None,
        }
    }
}

/// Every error an operation can answer with.
#[derive(ApiResponse, Debug)]
#[oai(bad_request_handler = "from_poem_error")]
pub enum ApiError {
    /// The request is malformed (bad JSON, wrong types, missing or malformed tenant header).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No valid credentials.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// Authenticated, but not allowed to do this (or the tenant is suspended).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such resource, or one the caller may not know exists.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The change conflicts with the current state.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// `If-Match` names a version that is no longer current.
    #[oai(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Json<Problem>),
    /// The body is larger than allowed.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// Well-formed, but a field's value is not acceptable; `errors` names the fields.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Too many failed attempts; retry after the indicated seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] String),
    /// The update needs `If-Match`.
    #[oai(status = 428, content_type = "application/problem+json")]
    PreconditionRequired(Json<Problem>),
    /// Unexpected failure; `request_id` identifies it in the logs.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// A dependency (the database) is unavailable; retry after the indicated seconds.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>, #[oai(header = "Retry-After")] String),
}

impl ApiError {
    pub fn bad_request(kind: &str, detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest(Json(Problem::new(
            StatusCode::BAD_REQUEST,
            kind,
            detail.into(),
        )))
    }
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::Unauthorized(
            Json(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                detail.into(),
            )),
            "Bearer".to_owned(),
        )
    }
    pub fn forbidden(kind: &str, detail: impl Into<String>) -> ApiError {
        ApiError::Forbidden(Json(Problem::new(
            StatusCode::FORBIDDEN,
            kind,
            detail.into(),
        )))
    }
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::NotFound(Json(Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            detail.into(),
        )))
    }
    pub fn precondition_required() -> ApiError {
        ApiError::PreconditionRequired(Json(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "send If-Match with the ETag from your last read of this resource".to_owned(),
        )))
    }
    pub fn invalid(fields: Vec<ProblemField>) -> ApiError {
        let detail = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail);
        p.errors = Some(fields);
        ApiError::Unprocessable(Json(p))
    }
    pub fn invalid_field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::invalid(vec![ProblemField {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
    pub fn too_many_attempts(retry_after: std::time::Duration) -> ApiError {
        ApiError::TooManyRequests(
            Json(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-attempts",
                "too many failed sign-in attempts; wait and try again, or reset your password"
                    .to_owned(),
            )),
            retry_after.as_secs().max(1).to_string(),
        )
    }
    pub fn unavailable() -> ApiError {
        ApiError::Unavailable(
            Json(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service is temporarily unavailable; retry shortly".to_owned(),
            )),
            "2".to_owned(),
        )
    }
    /// A 500: logs the cause with the request id, answers with the request id only.
    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal(Json(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            None,
        )))
    }

    pub fn problem(&self) -> &Problem {
        match self {
            ApiError::BadRequest(p)
            | ApiError::Unauthorized(p, _)
            | ApiError::Forbidden(p)
            | ApiError::NotFound(p)
            | ApiError::Conflict(p)
            | ApiError::PreconditionFailed(p)
            | ApiError::PayloadTooLarge(p)
            | ApiError::Unprocessable(p)
            | ApiError::PreconditionRequired(p)
            | ApiError::Internal(p)
            | ApiError::TooManyRequests(p, _)
            | ApiError::Unavailable(p, _) => &p.0,
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(fields) => ApiError::invalid(
                fields
                    .into_iter()
                    .map(|f| ProblemField {
                        field: f.field,
                        message: f.message,
                    })
                    .collect(),
            ),
            DomainError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            DomainError::Forbidden(why) => ApiError::forbidden("forbidden", why),
            DomainError::Unauthenticated(why) => ApiError::unauthorized(why),
            DomainError::Conflict(why) => {
                ApiError::Conflict(Json(Problem::new(StatusCode::CONFLICT, "conflict", why)))
            }
            e @ DomainError::PreconditionFailed { .. } => {
                ApiError::PreconditionFailed(Json(Problem::new(
                    StatusCode::PRECONDITION_FAILED,
                    "precondition-failed",
                    e.to_string(),
                )))
            }
            DomainError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::unavailable()
            }
            DomainError::Internal(cause) => ApiError::internal(&cause),
            DomainError::SsoRejected(why) => {
                use domain::sso::Rejection;
                let kind = format!("sso-{}", why.code().replace('_', "-"));
                match why {
                    Rejection::NoRole | Rejection::AccountDisabled | Rejection::UnverifiedEmail => {
                        ApiError::forbidden(&kind, why.message())
                    }
                    _ => ApiError::Unauthorized(
                        Json(Problem::new(
                            StatusCode::UNAUTHORIZED,
                            &kind,
                            why.message().to_owned(),
                        )),
                        "Bearer".to_owned(),
                    ),
                }
            }
            DomainError::SsoRequired { .. } => ApiError::forbidden(
                "sso-required",
                "your organisation signs in through its identity provider; use single sign-on",
            ),
            DomainError::Upstream(why) => ApiError::Unavailable(
                Json(Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream-unavailable",
                    why.to_owned(),
                )),
                "5".to_owned(),
            ),
            DomainError::TooManyAttempts(left) => {
                ApiError::too_many_attempts(left.to_std().unwrap_or_default())
            }
        }
    }
}

/// Maps errors raised by poem / poem-openapi (parsing, auth, routing, size limits) to problems.
pub fn from_poem_error(err: poem::Error) -> ApiError {
    if let Some(api) = err.downcast_ref::<ApiErrorCarrier>() {
        return api.0.clone_error();
    }
    let status = err.status();
    let detail = err.to_string();
    match status {
        StatusCode::UNAUTHORIZED => ApiError::unauthorized(
            "send Authorization: Bearer <session token from POST /api/v1/auth/login>",
        ),
        StatusCode::NOT_FOUND => ApiError::not_found("no such route or resource"),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(Json(Problem::new(
            status,
            "payload-too-large",
            "the request body is larger than allowed".to_owned(),
        ))),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::unavailable(),
        s if s.is_server_error() => ApiError::internal(&detail),
        _ => ApiError::bad_request("bad-request", detail),
    }
}

impl ApiError {
    fn clone_error(&self) -> ApiError {
        let p = Json(self.problem().clone());
        match self {
            ApiError::BadRequest(_) => ApiError::BadRequest(p),
            ApiError::Unauthorized(_, h) => ApiError::Unauthorized(p, h.clone()),
            ApiError::Forbidden(_) => ApiError::Forbidden(p),
            ApiError::NotFound(_) => ApiError::NotFound(p),
            ApiError::Conflict(_) => ApiError::Conflict(p),
            ApiError::PreconditionFailed(_) => ApiError::PreconditionFailed(p),
            ApiError::PayloadTooLarge(_) => ApiError::PayloadTooLarge(p),
            ApiError::Unprocessable(_) => ApiError::Unprocessable(p),
            ApiError::PreconditionRequired(_) => ApiError::PreconditionRequired(p),
            ApiError::Internal(_) => ApiError::Internal(p),
            ApiError::Unavailable(_, h) => ApiError::Unavailable(p, h.clone()),
            ApiError::TooManyRequests(_, h) => ApiError::TooManyRequests(p, h.clone()),
        }
    }
}

/// Lets middleware and extractors raise a fully formed [`ApiError`] through `poem::Error`.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.problem().detail.clone().unwrap_or_default())]
pub struct ApiErrorCarrier(pub ApiError);

impl ApiError {
    /// For extractors (the session checker): poem-openapi hands extractor errors to
    /// [`from_poem_error`], which recovers this exact problem from the carrier.
    pub fn into_poem(self) -> poem::Error {
        let status = StatusCode::from_u16(self.problem().status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        poem::Error::new(ApiErrorCarrier(self), status)
    }
}

/// Renders any error reaching the top of the stack as problem+json, keeping its status.
pub fn render_poem_error(err: poem::Error) -> poem::Response {
    use poem::IntoResponse;
    let status = err.status();
    if err.is_from_response() {
        // Already a rendered ApiError (middleware raised it with `.into()`).
        return err.into_response();
    }
    if err.is::<ApiErrorCarrier>() {
        return from_poem_error(err).into_response();
    }
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let p = Problem::new(
                status,
                "method-not-allowed",
                "this route does not accept that method".to_owned(),
            );
            poem::Response::builder()
                .status(status)
                .content_type("application/problem+json")
                .body(serde_json::to_vec(&problem_json(&p)).unwrap_or_default())
        }
        _ => from_poem_error(err).into_response(),
    }
}

fn problem_json(p: &Problem) -> serde_json::Value {
    use poem_openapi::types::ToJSON;
    p.to_json().unwrap_or(serde_json::Value::Null)
}

pub type ApiResult<T> = Result<T, ApiError>;
