//! Bearer-session authentication for tenant operations. The token is resolved against the
//! tenant the router picked, so a token of tenant A is simply unknown in tenant B (401).

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use tenancy::TenantRef;

use domain::identity::model::Me;
use domain::identity::{Principal, service};

use crate::app::AppState;
use crate::problem::{ApiError, current_request_id};

/// The authenticated caller of an operation.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub me: Me,
}

/// An access token from `POST /auth/login` or `POST /auth/refresh`, sent as
/// `Authorization: Bearer <token>`. Valid for 10 minutes, in the tenant it was issued in.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_session")]
pub struct SessionAuth(pub Caller);

/// The operations an OAuth2 client-credentials integration may call: the department tree and
/// the directory (its scopes decide read or write). Everything else — accounts, audit, MFA,
/// care teams, break-glass, policy — is refused by default, so a new operation is closed to
/// integrations until it is added here.
fn integration_may_call(method: &poem::http::Method, path: &str) -> bool {
    use poem::http::Method;
    let rest = path.strip_prefix(crate::app::API_PREFIX).unwrap_or(path);
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["tenant"] => method == Method::GET,
        ["departments"] | ["people"] => method == Method::GET || method == Method::POST,
        ["departments", _] => {
            method == Method::GET || method == Method::PATCH || method == Method::DELETE
        }
        ["people", _] => method == Method::GET || method == Method::PATCH,
        _ => false,
    }
}

/// What a session restricted to MFA enrolment may still do.
const ENROLMENT_PATHS: [&str; 6] = [
    "/auth/mfa",
    "/auth/mfa/totp",
    "/auth/mfa/totp/confirm",
    "/auth/me",
    "/auth/logout",
    "/auth/logout-all",
];

async fn check_session(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::internal(&"application state missing").into_poem())?;
    let tenant = req.extensions().get::<TenantRef>().ok_or_else(|| {
        ApiError::internal(&"tenant not resolved before authentication").into_poem()
    })?;
    let (principal, me) = service::authenticate(
        &state.tenancy,
        tenant,
        &state.signer,
        &bearer.token,
        current_request_id(),
    )
    .await
    .map_err(|e| ApiError::from(e).into_poem())?;
    tracing::Span::current().record("account_id", tracing::field::display(principal.account_id));
    if principal.is_integration() && !integration_may_call(req.method(), req.uri().path()) {
        return Err(ApiError::forbidden(
            "not-for-integrations",
            "API clients may use only the department and directory operations",
        )
        .into_poem());
    }
    if principal.mfa_enrolment_required
        && !ENROLMENT_PATHS
            .iter()
            .any(|p| req.uri().path().ends_with(p))
    {
        return Err(ApiError::forbidden(
            "mfa-enrolment-required",
            "this organisation requires an authenticator for your role: enrol one at /api/v1/auth/mfa/totp first",
        )
        .into_poem());
    }
    Ok(Caller { principal, me })
}
