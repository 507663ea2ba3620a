use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::DomainError;
use domain::audit::{self, Actor, Event, Outcome};
use domain::identity::service::LoginOutcome;
use domain::identity::{invite, service};

use crate::throttle::{Decision, Keys};

use super::Tag;
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult, current_request_id};

/// The caller's address for throttling: the first `X-Forwarded-For` entry behind a trusted
/// proxy, otherwise the TCP peer. Used only as a hashed key, never logged.
fn client_address(req: &poem::Request, trust_forwarded_for: bool) -> Option<String> {
    if trust_forwarded_for
        && let Some(first) = req
            .header("x-forwarded-for")
            .and_then(|v| v.split(',').next())
    {
        return Some(first.trim().to_owned());
    }
    req.remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string())
}

#[derive(Object)]
pub struct LoginRequest {
    #[oai(validator(max_length = 254))]
    pub email: String,
    #[oai(validator(max_length = 1024))]
    pub password: String,
}

/// The tokens of a session. Shown once.
#[derive(Object)]
pub struct SessionCreated {
    /// Send as `Authorization: Bearer <access_token>`; valid for 10 minutes.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until `access_token` expires.
    pub expires_in: i64,
    pub expires_at: DateTime<Utc>,
    /// Single-use: exchange it at `POST /auth/refresh` for the next pair. Reusing an old one
    /// ends the session.
    pub refresh_token: String,
    pub session_id: Uuid,
    /// The session's absolute end; after it, sign in again.
    pub session_expires_at: DateTime<Utc>,
    /// True when the organisation requires an authenticator for your role and you have none:
    /// until you enrol one (`POST /auth/mfa/totp`), other operations answer 403.
    pub mfa_enrolment_required: bool,
}

impl From<domain::identity::model::IssuedSession> for SessionCreated {
    fn from(s: domain::identity::model::IssuedSession) -> Self {
        SessionCreated {
            access_token: s.access_token,
            token_type: "Bearer".into(),
            expires_in: (s.access_expires_at - Utc::now()).num_seconds().max(0),
            expires_at: s.access_expires_at,
            refresh_token: s.refresh_token,
            session_id: s.session_id,
            session_expires_at: s.session_expires_at,
            mfa_enrolment_required: s.mfa_enrolment_required,
        }
    }
}

/// The password was right; a second factor is needed (`POST /auth/mfa/verify`).
#[derive(Object)]
pub struct MfaChallenge {
    /// Single use, valid for 5 minutes.
    pub mfa_token: String,
    pub expires_at: DateTime<Utc>,
    /// The factors accepted: `totp` (a code from the authenticator app) or `recovery_code`.
    pub methods: Vec<String>,
}

#[derive(ApiResponse)]
pub enum LoginResponse {
    /// Signed in.
    #[oai(status = 200)]
    Session(Json<SessionCreated>),
    /// Password accepted; complete sign-in with a second factor.
    #[oai(status = 202)]
    MfaRequired(Json<MfaChallenge>),
}

#[derive(Object)]
pub struct RefreshRequest {
    #[oai(validator(max_length = 256))]
    pub refresh_token: String,
}

/// One of the caller's sessions.
#[derive(Object)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// True for the session making this request.
    pub current: bool,
}

#[derive(Object)]
pub struct SessionList {
    pub items: Vec<SessionInfo>,
}

#[derive(Object)]
pub struct CompleteSetupRequest {
    /// The one-time secret from the set-up link (or invitation).
    #[oai(validator(max_length = 256))]
    pub token: String,
    /// The new password: 12 to 128 characters.
    #[oai(validator(max_length = 1024))]
    pub password: String,
}

#[derive(Object)]
pub struct RoleGrant {
    /// institution_admin, sub_admin, provider, staff or client.
    pub role: String,
    /// For sub-admins: the root of the department subtree they administer.
    #[oai(skip_serializing_if_is_none)]
    pub department_id: Option<Uuid>,
}

#[derive(Object)]
pub struct Me {
    pub account_id: Uuid,
    #[oai(skip_serializing_if_is_none)]
    pub person_id: Option<Uuid>,
    pub email: String,
    pub roles: Vec<RoleGrant>,
    pub session_expires_at: DateTime<Utc>,
}

#[derive(Object)]
pub struct PasswordResetRequest {
    #[oai(validator(max_length = 254))]
    pub email: String,
}

#[derive(Object)]
pub struct PasswordResetComplete {
    #[oai(validator(max_length = 256))]
    pub token: String,
    /// The new password: 12 to 128 characters.
    #[oai(validator(max_length = 1024))]
    pub password: String,
}

#[derive(ApiResponse)]
pub enum Accepted {
    /// Accepted. If the address belongs to an active account, a reset link is on its way.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

pub struct AuthApi;

#[OpenApi(prefix_path = "/auth", tag = "Tag::Auth")]
impl AuthApi {
    /// Sign in with email and password
    ///
    /// Answers 401 without saying whether the email exists.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        req: &poem::Request,
        body: Json<LoginRequest>,
    ) -> ApiResult<LoginResponse> {
        let address = client_address(req, state.trust_forwarded_for);
        let keys = Keys::new(tenant.id, &body.email, address.as_deref());
        match state.throttle.check(&keys).await {
            Decision::Locked(left) => {
                let event = Event::new("auth.login")
                    .outcome(Outcome::Denied)
                    .detail("reason", "throttled");
                audit::record_alone(
                    &state.tenancy,
                    &tenant,
                    &Actor::anonymous(current_request_id()),
                    event,
                )
                .await?;
                return Err(ApiError::too_many_attempts(left));
            }
            Decision::Delay(d) => tokio::time::sleep(d).await,
            Decision::Allow => {}
        }
        match service::login(
            &state.tenancy,
            &tenant,
            &state.signer,
            &body.email,
            &body.password,
            current_request_id(),
        )
        .await
        {
            Ok(LoginOutcome::Session(s)) => {
                state.throttle.success(&keys).await;
                Ok(LoginResponse::Session(Json(s.into())))
            }
            Ok(LoginOutcome::MfaRequired {
                challenge,
                expires_at,
            }) => {
                state.throttle.success(&keys).await;
                Ok(LoginResponse::MfaRequired(Json(MfaChallenge {
                    mfa_token: challenge,
                    expires_at,
                    methods: vec!["totp".into(), "recovery_code".into()],
                })))
            }
            Err(e @ DomainError::Unauthenticated(_)) => {
                state.throttle.failure(&keys).await;
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Exchange a refresh token for a new access and refresh token
    ///
    /// Each refresh token works once; presenting a used one ends its session.
    #[oai(path = "/refresh", method = "post", operation_id = "refreshTokens")]
    async fn refresh(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        body: Json<RefreshRequest>,
    ) -> ApiResult<Json<SessionCreated>> {
        let s = service::refresh(
            &state.tenancy,
            &tenant,
            &state.signer,
            &body.refresh_token,
            current_request_id(),
        )
        .await?;
        Ok(Json(s.into()))
    }

    /// List my live sessions
    #[oai(path = "/sessions", method = "get", operation_id = "listSessions")]
    async fn sessions(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<SessionList>> {
        let current = auth.0.principal.session_id;
        let items = service::sessions(&state.tenancy, &tenant, &auth.0.principal)
            .await?
            .into_iter()
            .map(|s| SessionInfo {
                id: s.id,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                current: s.id == current,
            })
            .collect();
        Ok(Json(SessionList { items }))
    }

    /// End one of my sessions
    #[oai(
        path = "/sessions/:session_id",
        method = "delete",
        operation_id = "revokeSession"
    )]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        session_id: poem_openapi::param::Path<Uuid>,
    ) -> ApiResult<NoContent> {
        service::revoke_own_session(&state.tenancy, &tenant, &auth.0.principal, session_id.0)
            .await?;
        Ok(NoContent::Done)
    }

    /// Sign out everywhere (ends every session of my account)
    #[oai(
        path = "/logout-all",
        method = "post",
        operation_id = "logoutEverywhere"
    )]
    async fn logout_all(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<NoContent> {
        service::logout_everywhere(&state.tenancy, &tenant, &auth.0.principal).await?;
        Ok(NoContent::Done)
    }

    /// Complete set-up: redeem a one-time link and choose a password
    #[oai(path = "/setup", method = "post", operation_id = "completeSetup")]
    async fn setup(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        body: Json<CompleteSetupRequest>,
    ) -> ApiResult<NoContent> {
        service::complete_setup(
            &state.tenancy,
            &tenant,
            &body.token,
            &body.password,
            current_request_id(),
        )
        .await?;
        Ok(NoContent::Done)
    }

    /// Sign out (revokes this session)
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<NoContent> {
        service::logout(&state.tenancy, &tenant, &auth.0.principal).await?;
        Ok(NoContent::Done)
    }

    /// Ask for a password-reset link by email
    ///
    /// Always 202, whether or not the address is known.
    #[oai(
        path = "/password-reset",
        method = "post",
        operation_id = "requestPasswordReset"
    )]
    async fn request_reset(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        req: &poem::Request,
        body: Json<PasswordResetRequest>,
    ) -> ApiResult<Accepted> {
        // Each request counts against the address and the email (a mailbox cannot be flooded);
        // once locked, the answer stays 202 and nothing is sent.
        let address = client_address(req, state.trust_forwarded_for);
        let keys = Keys::new(
            tenant.id,
            &format!("reset|{}", body.email),
            address.as_deref(),
        );
        if matches!(state.throttle.check(&keys).await, Decision::Locked(_)) {
            return Ok(Accepted::Accepted);
        }
        state.throttle.failure(&keys).await;
        if let Some((token, email)) = invite::request_password_reset(
            &state.tenancy,
            &tenant,
            &body.email,
            current_request_id(),
        )
        .await?
        {
            let link = format!(
                "{}/reset-password?tenant={}#token={}",
                state.public_url, tenant.slug, token
            );
            let text = format!(
                "Someone asked to reset your Swiftacare password for {org}.\n\n\
                 Choose a new password here (the link works once, for one hour):\n{link}\n\n\
                 Or with the API: POST {base}/api/v1/auth/password-reset/complete with the header X-Tenant: {slug}\n\
                 and the body {{\"token\": \"{token}\", \"password\": \"<12 characters or more>\"}}\n\n\
                 If it was not you, ignore this message: your password stays as it is.\n",
                org = tenant.name,
                base = state.public_url,
                slug = tenant.slug,
            );
            // Sent in the background so the answer takes as long for unknown addresses.
            let mailer = state.mailer.clone();
            tokio::spawn(async move {
                let _ = mailer
                    .send(&email, "Reset your Swiftacare password", text)
                    .await;
            });
        }
        Ok(Accepted::Accepted)
    }

    /// Choose a new password with a reset link (ends every session)
    #[oai(
        path = "/password-reset/complete",
        method = "post",
        operation_id = "completePasswordReset"
    )]
    async fn complete_reset(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        body: Json<PasswordResetComplete>,
    ) -> ApiResult<NoContent> {
        invite::complete_password_reset(
            &state.tenancy,
            &tenant,
            &body.token,
            &body.password,
            current_request_id(),
        )
        .await?;
        Ok(NoContent::Done)
    }

    /// Who am I
    #[oai(path = "/me", method = "get", operation_id = "getMe")]
    async fn me(&self, auth: SessionAuth) -> ApiResult<Json<Me>> {
        let me = auth.0.me;
        Ok(Json(Me {
            account_id: me.account_id,
            person_id: me.person_id,
            email: me.email,
            roles: me
                .roles
                .into_iter()
                .map(|g| RoleGrant {
                    role: g.role.as_str().to_owned(),
                    department_id: g.department_id,
                })
                .collect(),
            session_expires_at: me.session_expires_at,
        }))
    }
}
