//! SCIM 2.0 endpoints (`/scim/v2/Users`, `/scim/v2/Groups`), outside the tenant router: the
//! bearer token names the connection and so the tenant. Errors use the SCIM error schema
//! (RFC 7644 §3.12), not problem+json, because SCIM clients parse that. Not in the OpenAPI spec
//! (SCIM has its own schema, served by no one here); `tests/integration/scim.rs` covers them,
//! including tenant isolation.

use domain::sso::scim::{self, ScimCaller, ScimError, ScimResult};
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Body, EndpointExt, FromRequest, Request, Response, Route, get, handler};
use serde::Deserialize;
use serde_json::{Value, json};
use tenancy::{Slug, TenantRef, TenantStatus};
use uuid::Uuid;

use crate::app::AppState;
use crate::telemetry::RouteLabel;

pub const SCIM_PREFIX: &str = "/scim/v2";
const CONTENT_TYPE: &str = "application/scim+json";

fn respond(status: StatusCode, body: &Value) -> Response {
    let mut r = Response::builder()
        .status(status)
        .content_type(CONTENT_TYPE)
        .body(body.to_string());
    r.set_data(RouteLabel("scim"));
    r
}

fn error(e: ScimError) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": e.status.to_string(),
        "detail": e.detail,
    });
    if let Some(t) = e.scim_type {
        body["scimType"] = json!(t);
    }
    respond(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &body,
    )
}

fn done(r: ScimResult<Value>, status: StatusCode) -> Response {
    match r {
        Ok(v) => respond(status, &v),
        Err(e) => error(e),
    }
}

async fn caller(state: &AppState, req: &Request) -> ScimResult<(ScimCaller, TenantRef)> {
    let unauthorized = || ScimError::new(401, None, "a valid SCIM bearer token is required");
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or_else(unauthorized)?;
    let caller = scim::authenticate(&state.tenancy, token)
        .await?
        .ok_or_else(unauthorized)?;
    let slug = Slug::parse(&caller.tenant_slug).map_err(|_| unauthorized())?;
    let tenant = match state.tenancy.resolve(&slug).await {
        Ok(Some(t)) if t.status == TenantStatus::Active => t,
        Ok(_) => return Err(ScimError::new(403, None, "the organisation is not active")),
        Err(e) if e.is_unavailable() => return Err(ScimError::new(503, None, "retry shortly")),
        Err(e) => {
            tracing::error!(error = %e, "scim tenant lookup failed");
            return Err(ScimError::new(500, None, "unexpected error"));
        }
    };
    tracing::Span::current().record("tenant_id", tenant.id);
    Ok((caller, tenant))
}

fn base(state: &AppState) -> String {
    format!("{}{SCIM_PREFIX}", state.public_url.trim_end_matches('/'))
}

async fn json_body(body: Body) -> ScimResult<Value> {
    let bytes = body
        .into_bytes()
        .await
        .map_err(|_| ScimError::new(400, Some("invalidSyntax"), "unreadable body"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ScimError::new(400, Some("invalidSyntax"), format!("body is not JSON: {e}")))
}

#[derive(Deserialize)]
struct ListQuery {
    filter: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<i64>,
    count: Option<i64>,
}

fn id_of(raw: &str, what: &'static str) -> ScimResult<Uuid> {
    raw.parse()
        .map_err(|_| ScimError::new(404, None, format!("{what} not found")))
}

#[handler]
async fn users(state: Data<&AppState>, req: &Request, body: Body) -> Response {
    let r = async {
        let (c, t) = caller(&state, req).await?;
        if req.method() == poem::http::Method::POST {
            let b = json_body(body).await?;
            return scim::create_user(&state.tenancy, &t, &c, &base(&state), &b)
                .await
                .map(|v| (v, StatusCode::CREATED));
        }
        let q = Query::<ListQuery>::from_request_without_body(req)
            .await
            .map_err(|_| ScimError::new(400, Some("invalidValue"), "bad query parameters"))?;
        scim::list_users(
            &state.tenancy,
            &t,
            &c,
            &base(&state),
            q.filter.as_deref(),
            q.start_index,
            q.count,
        )
        .await
        .map(|v| (v, StatusCode::OK))
    }
    .await;
    match r {
        Ok((v, s)) => respond(s, &v),
        Err(e) => error(e),
    }
}

#[handler]
async fn user(state: Data<&AppState>, req: &Request, id: Path<String>, body: Body) -> Response {
    let r = async {
        let (c, t) = caller(&state, req).await?;
        let id = id_of(&id, "user")?;
        let b = base(&state);
        match *req.method() {
            poem::http::Method::GET => scim::get_user(&state.tenancy, &t, &c, &b, id).await,
            poem::http::Method::PATCH => {
                let body = json_body(body).await?;
                scim::patch_user(&state.tenancy, &t, &c, &b, id, &body).await
            }
            poem::http::Method::PUT => {
                let body = json_body(body).await?;
                scim::replace_user(&state.tenancy, &t, &c, &b, id, &body).await
            }
            _ => scim::delete_user(&state.tenancy, &t, &c, id)
                .await
                .map(|()| Value::Null),
        }
    }
    .await;
    match r {
        Ok(Value::Null) => {
            let mut r = Response::builder().status(StatusCode::NO_CONTENT).finish();
            r.set_data(RouteLabel("scim"));
            r
        }
        other => done(other, StatusCode::OK),
    }
}

#[handler]
async fn groups(state: Data<&AppState>, req: &Request, body: Body) -> Response {
    let r = async {
        let (c, t) = caller(&state, req).await?;
        if req.method() == poem::http::Method::POST {
            let b = json_body(body).await?;
            return scim::create_group(&state.tenancy, &t, &c, &base(&state), &b)
                .await
                .map(|v| (v, StatusCode::CREATED));
        }
        let q = Query::<ListQuery>::from_request_without_body(req)
            .await
            .map_err(|_| ScimError::new(400, Some("invalidValue"), "bad query parameters"))?;
        scim::list_groups(
            &state.tenancy,
            &t,
            &c,
            &base(&state),
            q.filter.as_deref(),
            q.start_index,
            q.count,
        )
        .await
        .map(|v| (v, StatusCode::OK))
    }
    .await;
    match r {
        Ok((v, s)) => respond(s, &v),
        Err(e) => error(e),
    }
}

#[handler]
async fn group(state: Data<&AppState>, req: &Request, id: Path<String>, body: Body) -> Response {
    let r = async {
        let (c, t) = caller(&state, req).await?;
        let id = id_of(&id, "group")?;
        let b = base(&state);
        match *req.method() {
            poem::http::Method::GET => scim::get_group(&state.tenancy, &t, &c, &b, id).await,
            poem::http::Method::PATCH => {
                let body = json_body(body).await?;
                scim::patch_group(&state.tenancy, &t, &c, &b, id, &body).await
            }
            _ => scim::delete_group(&state.tenancy, &t, &c, id)
                .await
                .map(|()| Value::Null),
        }
    }
    .await;
    match r {
        Ok(Value::Null) => {
            let mut r = Response::builder().status(StatusCode::NO_CONTENT).finish();
            r.set_data(RouteLabel("scim"));
            r
        }
        other => done(other, StatusCode::OK),
    }
}

pub fn routes() -> impl poem::Endpoint {
    Route::new()
        .at("/Users", get(users).post(users))
        .at("/Users/:id", get(user).patch(user).put(user).delete(user))
        .at("/Groups", get(groups).post(groups))
        .at("/Groups/:id", get(group).patch(group).delete(group))
        .map_to_response()
}
