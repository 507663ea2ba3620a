//! The platform operators' API (`/platform/v1`): operator sign-in and the tenant registry.
//! A separate OpenAPI service with its own committed spec (`openapi/platform.json`): it is not
//! behind the tenant router, and its tokens (audience `platform`) are refused by every tenant
//! operation — operators cannot read tenant data.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::auth::Bearer;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService, SecurityScheme, Tags};
use tenancy::TenantStatus;

use domain::platform::{self, Operator};

use crate::app::AppState;
use crate::http::tenant::TenantKind;
use crate::problem::{ApiError, ApiResult, current_request_id};
use crate::throttle::{Decision, Keys};

pub const PLATFORM_PREFIX: &str = "/platform/v1";

#[derive(Tags)]
enum PlatformTag {
    /// Operator sign-in.
    OperatorAuth,
    /// The tenant registry.
    Tenants,
}

/// An operator token from `POST /platform/v1/auth/login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_operator")]
pub struct OperatorAuth(pub Operator);

async fn check_operator(req: &Request, bearer: Bearer) -> poem::Result<Operator> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::internal(&"application state missing").into_poem())?;
    platform::authenticate(
        &state.tenancy,
        &state.signer,
        &bearer.token,
        current_request_id(),
    )
    .await
    .map_err(|e| ApiError::from(e).into_poem())
}

#[derive(Object)]
pub struct OperatorLogin {
    #[oai(validator(max_length = 254))]
    pub email: String,
    #[oai(validator(max_length = 1024))]
    pub password: String,
}

#[derive(Object)]
pub struct OperatorToken {
    /// Send as `Authorization: Bearer <access_token>` to `/platform/v1`; valid for 10 minutes.
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A tenant as the registry knows it (no tenant data).
#[derive(Object)]
pub struct PlatformTenant {
    pub slug: String,
    pub name: String,
    pub kind: TenantKind,
    /// provisioning, active or suspended.
    pub status: String,
    pub schema: String,
    pub shard: String,
    #[oai(skip_serializing_if_is_none)]
    pub schema_version: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub migration_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<tenancy::registry::TenantRecord> for PlatformTenant {
    fn from(r: tenancy::registry::TenantRecord) -> Self {
        PlatformTenant {
            slug: r.tenant.slug.to_string(),
            name: r.tenant.name.clone(),
            kind: r.tenant.kind.into(),
            status: r.tenant.status.as_str().to_owned(),
            schema: r.tenant.schema.to_string(),
            shard: r.tenant.shard.to_string(),
            schema_version: r.schema_version,
            migration_error: r.migration_error,
            created_at: r.created_at,
        }
    }
}

#[derive(Object)]
pub struct TenantList {
    pub items: Vec<PlatformTenant>,
}

#[derive(Object)]
pub struct CreateTenant {
    /// 1–63 of a-z, 0-9 and '-', not starting or ending with '-'.
    #[oai(validator(max_length = 100))]
    pub slug: String,
    #[oai(validator(max_length = 1000))]
    pub name: String,
    pub kind: TenantKind,
    /// The first institution admin; receives a single-use set-up link by email.
    #[oai(validator(max_length = 254))]
    pub admin_email: String,
    /// Defaults to `primary`.
    #[oai(validator(max_length = 40))]
    pub shard: Option<String>,
}

#[derive(ApiResponse)]
pub enum TenantCreated {
    /// Created and active; the set-up link was emailed to the first admin.
    #[oai(status = 201)]
    Created(Json<PlatformTenant>),
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done.
    #[oai(status = 204)]
    Done,
}

pub struct PlatformApi;

#[OpenApi]
impl PlatformApi {
    /// Operator sign-in
    #[oai(
        path = "/auth/login",
        method = "post",
        operation_id = "operatorLogin",
        tag = "PlatformTag::OperatorAuth"
    )]
    async fn login(
        &self,
        state: Data<&AppState>,
        req: &Request,
        body: Json<OperatorLogin>,
    ) -> ApiResult<Json<OperatorToken>> {
        let address = req
            .remote_addr()
            .as_socket_addr()
            .map(|a| a.ip().to_string());
        let keys = Keys::new(0, &body.email, address.as_deref());
        match state.throttle.check(&keys).await {
            Decision::Locked(left) => return Err(ApiError::too_many_attempts(left)),
            Decision::Delay(d) => tokio::time::sleep(d).await,
            Decision::Allow => {}
        }
        match platform::login(
            &state.tenancy,
            &state.signer,
            &body.email,
            &body.password,
            current_request_id(),
        )
        .await
        {
            Ok((access_token, expires_at)) => {
                state.throttle.success(&keys).await;
                Ok(Json(OperatorToken {
                    access_token,
                    expires_at,
                }))
            }
            Err(e) => {
                state.throttle.failure(&keys).await;
                Err(e.into())
            }
        }
    }

    /// Operator sign-out
    #[oai(
        path = "/auth/logout",
        method = "post",
        operation_id = "operatorLogout",
        tag = "PlatformTag::OperatorAuth"
    )]
    async fn logout(&self, state: Data<&AppState>, auth: OperatorAuth) -> ApiResult<Done> {
        platform::logout(&state.tenancy, &auth.0).await?;
        Ok(Done::Done)
    }

    /// List tenants
    #[oai(
        path = "/tenants",
        method = "get",
        operation_id = "listTenants",
        tag = "PlatformTag::Tenants"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
    ) -> ApiResult<Json<TenantList>> {
        let items = platform::list_tenants(&state.tenancy, &auth.0)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Json(TenantList { items }))
    }

    /// Create a tenant (its schema, first admin, and a set-up link by email)
    #[oai(
        path = "/tenants",
        method = "post",
        operation_id = "createTenant",
        tag = "PlatformTag::Tenants"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        body: Json<CreateTenant>,
    ) -> ApiResult<TenantCreated> {
        let b = body.0;
        let (record, issued) = platform::create_tenant(
            &state.tenancy,
            &auth.0,
            &b.slug,
            &b.name,
            b.kind.into(),
            &b.admin_email,
            b.shard.as_deref().unwrap_or(tenancy::ShardId::PRIMARY),
        )
        .await?;
        let link = format!(
            "{}/setup?tenant={}#token={}",
            state.public_url, record.tenant.slug, issued.token
        );
        let text = format!(
            "Swiftacare is ready for {org}. You are its first administrator.\n\n\
             Choose your password here (the link works once, until {until} UTC):\n{link}\n\n\
             Or with the API: POST {base}/api/v1/auth/setup with the header X-Tenant: {slug}\n\
             and the body {{\"token\": \"{token}\", \"password\": \"<12 characters or more>\"}}\n",
            org = record.tenant.name,
            until = issued.expires_at.format("%Y-%m-%d %H:%M"),
            base = state.public_url,
            slug = record.tenant.slug,
            token = issued.token,
        );
        let _ = state
            .mailer
            .send(
                &b.admin_email,
                &format!(
                    "Your Swiftacare organisation {} is ready",
                    record.tenant.name
                ),
                text,
            )
            .await;
        Ok(TenantCreated::Created(Json(record.into())))
    }

    /// Suspend a tenant (its API answers 403 within the tenant cache TTL)
    #[oai(
        path = "/tenants/:slug/suspend",
        method = "post",
        operation_id = "suspendTenant",
        tag = "PlatformTag::Tenants"
    )]
    async fn suspend(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        slug: Path<String>,
    ) -> ApiResult<Json<PlatformTenant>> {
        Ok(Json(
            platform::set_status(&state.tenancy, &auth.0, &slug.0, TenantStatus::Suspended)
                .await?
                .into(),
        ))
    }

    /// Reinstate a suspended tenant
    #[oai(
        path = "/tenants/:slug/activate",
        method = "post",
        operation_id = "activateTenant",
        tag = "PlatformTag::Tenants"
    )]
    async fn activate(
        &self,
        state: Data<&AppState>,
        auth: OperatorAuth,
        slug: Path<String>,
    ) -> ApiResult<Json<PlatformTenant>> {
        Ok(Json(
            platform::set_status(&state.tenancy, &auth.0, &slug.0, TenantStatus::Active)
                .await?
                .into(),
        ))
    }
}

pub fn platform_service() -> OpenApiService<PlatformApi, ()> {
    OpenApiService::new(PlatformApi, "Swiftacare Platform API", env!("CARGO_PKG_VERSION"))
        .description("For platform operators: sign-in and the tenant registry. No tenant data is reachable here.")
        .server(PLATFORM_PREFIX)
}
