use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenancy::TenantRef;

use domain::identity::mfa::{self, Factor};
use domain::identity::service;

use super::Tag;
use super::auth::{NoContent, SessionCreated};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult, current_request_id};

#[derive(Object)]
pub struct MfaStatus {
    pub totp_enabled: bool,
    pub recovery_codes_left: i64,
}

/// Add this to an authenticator app, then confirm with a code.
#[derive(Object)]
pub struct TotpEnrolment {
    /// The shared secret, base32 (for typing in by hand).
    pub secret: String,
    /// `otpauth://totp/…` — what the QR code encodes.
    pub otpauth_uri: String,
    /// The QR code as an SVG image.
    pub qr_svg: String,
}

#[derive(Object)]
pub struct CodeRequest {
    /// The 6-digit code currently shown by the authenticator app.
    #[oai(validator(max_length = 16))]
    pub code: String,
}

#[derive(Object)]
pub struct RecoveryCodes {
    /// Ten single-use codes for when the authenticator is lost. Shown once: store them safely.
    pub recovery_codes: Vec<String>,
}

/// Exactly one of `code` and `recovery_code`.
#[derive(Object)]
pub struct FactorRequest {
    #[oai(validator(max_length = 16))]
    pub code: Option<String>,
    #[oai(validator(max_length = 32))]
    pub recovery_code: Option<String>,
}

#[derive(Object)]
pub struct MfaVerifyRequest {
    /// From the 202 answer of `POST /auth/login`.
    #[oai(validator(max_length = 256))]
    pub mfa_token: String,
    #[oai(validator(max_length = 16))]
    pub code: Option<String>,
    #[oai(validator(max_length = 32))]
    pub recovery_code: Option<String>,
}

fn factor(code: Option<String>, recovery: Option<String>) -> ApiResult<Factor> {
    match (code, recovery) {
        (Some(c), None) => Ok(Factor::Code(c)),
        (None, Some(r)) => Ok(Factor::RecoveryCode(r)),
        _ => Err(ApiError::invalid_field(
            "/code",
            "send exactly one of code and recovery_code",
        )),
    }
}

pub struct MfaApi;

#[OpenApi(prefix_path = "/auth/mfa", tag = "Tag::Auth")]
impl MfaApi {
    /// My second-factor status
    #[oai(path = "/", method = "get", operation_id = "getMfaStatus")]
    async fn status(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<MfaStatus>> {
        let s = mfa::status(&state.tenancy, &tenant, &auth.0.principal).await?;
        Ok(Json(MfaStatus {
            totp_enabled: s.totp_enabled,
            recovery_codes_left: s.recovery_codes_left,
        }))
    }

    /// Start enrolling an authenticator app (TOTP)
    #[oai(path = "/totp", method = "post", operation_id = "beginTotpEnrolment")]
    async fn begin(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<TotpEnrolment>> {
        let e = mfa::begin_enrolment(
            &state.tenancy,
            &tenant,
            state.signer.sealer(),
            &auth.0.principal,
            &auth.0.me.email,
        )
        .await?;
        Ok(Json(TotpEnrolment {
            secret: e.secret_base32,
            otpauth_uri: e.otpauth_uri,
            qr_svg: e.qr_svg,
        }))
    }

    /// Confirm the authenticator with a code; returns recovery codes (once)
    #[oai(
        path = "/totp/confirm",
        method = "post",
        operation_id = "confirmTotpEnrolment"
    )]
    async fn confirm(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<CodeRequest>,
    ) -> ApiResult<Json<RecoveryCodes>> {
        let codes = mfa::confirm_enrolment(
            &state.tenancy,
            &tenant,
            state.signer.sealer(),
            &auth.0.principal,
            &body.code,
        )
        .await?;
        Ok(Json(RecoveryCodes {
            recovery_codes: codes,
        }))
    }

    /// Remove the authenticator (needs a current code or a recovery code)
    #[oai(path = "/totp/disable", method = "post", operation_id = "disableTotp")]
    async fn disable(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<FactorRequest>,
    ) -> ApiResult<NoContent> {
        let f = factor(body.0.code, body.0.recovery_code)?;
        mfa::disable(
            &state.tenancy,
            &tenant,
            state.signer.sealer(),
            &auth.0.principal,
            &f,
        )
        .await?;
        Ok(NoContent::Done)
    }

    /// Complete sign-in with a second factor
    #[oai(path = "/verify", method = "post", operation_id = "verifyMfa")]
    async fn verify(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        body: Json<MfaVerifyRequest>,
    ) -> ApiResult<Json<SessionCreated>> {
        let body = body.0;
        let f = factor(body.code, body.recovery_code)?;
        let s = service::complete_mfa(
            &state.tenancy,
            &tenant,
            &state.signer,
            &body.mfa_token,
            &f,
            current_request_id(),
        )
        .await?;
        Ok(Json(s.into()))
    }
}
