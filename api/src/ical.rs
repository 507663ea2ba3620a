//! The public iCalendar feed: `GET /ical/{tenant}/{token}.ics`.
//!
//! Calendar apps cannot send `X-Tenant` or a bearer token, so the URL carries the tenant's
//! slug and an unguessable token (only its SHA-256 is stored). Unknown tenant, unknown or
//! revoked token, and a token of another tenant all answer the same 404.

use poem::http::{StatusCode, header};
use poem::web::{Data, Path};
use poem::{Response, handler};
use tenancy::{Slug, TenantStatus};

use crate::app::AppState;
use crate::problem::ApiError;

fn not_found() -> poem::Error {
    ApiError::not_found("no such calendar feed").into_poem()
}

#[handler]
pub async fn feed(
    state: Data<&AppState>,
    Path((tenant, file)): Path<(String, String)>,
) -> poem::Result<Response> {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    let slug = Slug::parse(&tenant).map_err(|_| not_found())?;
    let t = match state.tenancy.resolve(&slug).await {
        Ok(Some(t)) if t.status == TenantStatus::Active => t,
        Ok(_) => return Err(not_found()),
        Err(e) if e.is_unavailable() => {
            return Err(ApiError::unavailable().into_poem());
        }
        Err(e) => return Err(ApiError::internal(&e).into_poem()),
    };
    let body = domain::scheduling::feeds::render(&state.tenancy, &t, token)
        .await
        .map_err(|e| ApiError::from(e).into_poem())?;
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("text/calendar; charset=utf-8")
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::REFERRER_POLICY, "no-referrer")
        .body(body))
}
