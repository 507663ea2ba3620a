use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenancy::TenantRef;

use domain::identity::security::{self, PolicyPatch};

use super::Tag;
use super::invitations::RoleName;
use super::types::{etag, if_match};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::ApiResult;

/// The organisation's sign-in rules.
#[derive(Object)]
pub struct SecurityPolicy {
    /// A session unused for this long ends (5–480).
    pub session_idle_minutes: i32,
    /// A session ends this long after sign-in whatever happens (1–168).
    pub session_max_hours: i32,
    /// Holders of these roles must sign in with an authenticator; without one, their session
    /// may only enrol one.
    pub mfa_required_roles: Vec<String>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<security::SecurityPolicy> for SecurityPolicy {
    fn from(p: security::SecurityPolicy) -> Self {
        SecurityPolicy {
            session_idle_minutes: p.session_idle_minutes,
            session_max_hours: p.session_max_hours,
            mfa_required_roles: p
                .mfa_required_roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

#[derive(Object)]
pub struct UpdateSecurityPolicy {
    pub session_idle_minutes: Option<i32>,
    pub session_max_hours: Option<i32>,
    #[oai(validator(max_items = 5))]
    pub mfa_required_roles: Option<Vec<RoleName>>,
}

#[derive(ApiResponse)]
pub enum PolicyResponse {
    /// The policy.
    #[oai(status = 200)]
    Ok(Json<SecurityPolicy>, #[oai(header = "ETag")] String),
}

fn ok(p: security::SecurityPolicy) -> PolicyResponse {
    let tag = etag(p.version);
    PolicyResponse::Ok(Json(p.into()), tag)
}

pub struct SecurityApi;

#[OpenApi(prefix_path = "/security-policy", tag = "Tag::Auth")]
impl SecurityApi {
    /// The organisation's security policy (institution admins)
    #[oai(path = "/", method = "get", operation_id = "getSecurityPolicy")]
    async fn get(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<PolicyResponse> {
        Ok(ok(security::get(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
        )
        .await?))
    }

    /// Change the security policy (institution admins; requires `If-Match`)
    #[oai(path = "/", method = "patch", operation_id = "updateSecurityPolicy")]
    async fn update(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<UpdateSecurityPolicy>,
    ) -> ApiResult<PolicyResponse> {
        let version = if_match(if_match_header.0)?;
        let b = body.0;
        let patch = PolicyPatch {
            session_idle_minutes: b.session_idle_minutes,
            session_max_hours: b.session_max_hours,
            mfa_required_roles: b
                .mfa_required_roles
                .map(|r| r.into_iter().map(Into::into).collect()),
        };
        Ok(ok(security::update(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            version,
            patch,
        )
        .await?))
    }
}
