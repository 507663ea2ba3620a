use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::access;

use super::Tag;
use super::auth::NoContent;
use super::people::Person;
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult};

#[derive(Object)]
pub struct CareTeam {
    /// The providers who may see this client's records.
    pub providers: Vec<Person>,
}

#[derive(Object)]
pub struct AssignProvider {
    pub provider_id: Uuid,
}

#[derive(Object)]
pub struct OpenBreakGlass {
    /// The client whose records you need.
    pub client_id: Uuid,
    /// emergency, patient_safety, continuity_of_care or legal_request.
    #[oai(validator(max_length = 40))]
    pub reason_code: String,
    /// Why, in 10 to 1000 characters. Kept for reviewers; never copied into the audit log.
    #[oai(validator(max_length = 4000))]
    pub reason: String,
    /// How long, 5 to 240 minutes (default 60).
    pub minutes: Option<i64>,
}

#[derive(Object)]
pub struct BreakGlassGrant {
    pub id: Uuid,
    pub client_id: Uuid,
    pub reason_code: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum GrantState {
    /// Access is open until `expires_at`.
    Open,
    /// Ended early, at `closed_at`.
    Closed,
    /// Ran out at `expires_at`.
    Expired,
}

/// A break-glass grant as listed.
#[derive(Object)]
pub struct ListedBreakGlassGrant {
    pub id: Uuid,
    /// The account that opened it.
    pub holder_account_id: Uuid,
    pub client_id: Uuid,
    /// The client's name, only while the grant is open.
    #[oai(skip_serializing_if_is_none)]
    pub client_given_name: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub client_family_name: Option<String>,
    pub reason_code: String,
    pub state: GrantState,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Object)]
pub struct BreakGlassGrantList {
    /// Open grants first (soonest expiry first), then ended ones (latest opened first).
    pub items: Vec<ListedBreakGlassGrant>,
}

#[derive(ApiResponse)]
pub enum BreakGlassOpened {
    /// Access opened; the institution admins have been alerted.
    #[oai(status = 201)]
    Created(Json<BreakGlassGrant>),
}

pub struct AccessApi;

#[OpenApi(tag = "Tag::People")]
impl AccessApi {
    /// The providers on a client's care team (administrators; a client reads their own, without the providers' email addresses)
    #[oai(
        path = "/people/:person_id/care-team",
        method = "get",
        operation_id = "getCareTeam"
    )]
    async fn care_team(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        person_id: Path<Uuid>,
    ) -> ApiResult<Json<CareTeam>> {
        let providers =
            access::care_team(&state.tenancy, &tenant, &auth.0.principal, person_id.0).await?;
        Ok(Json(CareTeam {
            providers: providers.into_iter().map(Into::into).collect(),
        }))
    }

    /// Put a provider on a client's care team (administrators)
    #[oai(
        path = "/people/:person_id/care-team",
        method = "post",
        operation_id = "assignCareTeam"
    )]
    async fn assign(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        person_id: Path<Uuid>,
        body: Json<AssignProvider>,
    ) -> ApiResult<NoContent> {
        access::assign(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            person_id.0,
            body.provider_id,
        )
        .await?;
        Ok(NoContent::Done)
    }

    /// Take a provider off a client's care team (administrators)
    #[oai(
        path = "/people/:person_id/care-team/:provider_id",
        method = "delete",
        operation_id = "unassignCareTeam"
    )]
    async fn unassign(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        person_id: Path<Uuid>,
        provider_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        access::unassign(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            person_id.0,
            provider_id.0,
        )
        .await?;
        Ok(NoContent::Done)
    }

    /// Break the glass: time-boxed access to one client's records, with a stated reason
    ///
    /// Audited, and every institution admin of the tenant is alerted by email.
    #[oai(
        path = "/break-glass",
        method = "post",
        operation_id = "openBreakGlass"
    )]
    async fn open(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<OpenBreakGlass>,
    ) -> ApiResult<BreakGlassOpened> {
        let minutes = body.minutes.unwrap_or(60);
        let (grant, admins) = access::open_break_glass(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            body.client_id,
            &body.reason_code,
            &body.reason,
            minutes,
        )
        .await?;
        metrics::counter!("swiftacare_break_glass_opened_total").increment(1);
        tracing::warn!(grant_id = %grant.id, reason_code = %grant.reason_code, "break-glass access opened");
        let text = format!(
            "Break-glass access was opened in {org}.\n\n\
             Who:    {who} (account {account})\n\
             Why:    {code}\n\
             Until:  {until} UTC\n\
             Grant:  {grant}\n\n\
             Review it in the audit log: {base}/api/v1/audit-events?action=break_glass.\n",
            org = tenant.name,
            who = auth.0.me.email,
            account = auth.0.principal.account_id,
            code = grant.reason_code,
            until = grant.expires_at.format("%Y-%m-%d %H:%M"),
            grant = grant.id,
            base = state.public_url,
        );
        for admin in admins {
            // A failed alert is logged by the mailer; access stays open and audited.
            let _ = state
                .mailer
                .send(
                    &admin,
                    &format!("Break-glass access opened in {}", tenant.name),
                    text.clone(),
                )
                .await;
        }
        Ok(BreakGlassOpened::Created(Json(BreakGlassGrant {
            id: grant.id,
            client_id: grant.client_id,
            reason_code: grant.reason_code,
            expires_at: grant.expires_at,
        })))
    }

    /// Break-glass grants: your own, or every grant in the organisation (`all=true`, institution admins)
    ///
    /// Open grants first, soonest expiry first, then the ones that ended (closed early or
    /// expired), latest opened first; at most `limit` (1–200, default 50) in all: older ones are
    /// in the audit log. For the organisation's staff, as opening is; clients are refused (403),
    /// and so is `all=true` from anyone but an institution admin.
    #[oai(path = "/break-glass", method = "get", operation_id = "listBreakGlass")]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// Every holder's grants (institution admins only).
        all: Query<Option<bool>>,
        /// 1–200, default 50.
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<BreakGlassGrantList>> {
        let limit = domain::page::PageRequest::new(limit.0, None)
            .map_err(|e| ApiError::invalid_field("limit", e.to_string()))?
            .limit;
        let grants = access::list_break_glass(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            all.0.unwrap_or(false),
            limit,
        )
        .await?;
        Ok(Json(BreakGlassGrantList {
            items: grants
                .into_iter()
                .map(|g| {
                    let (given, family) = g.client_name.unzip();
                    ListedBreakGlassGrant {
                        id: g.id,
                        holder_account_id: g.holder_account_id,
                        client_id: g.client_id,
                        client_given_name: given,
                        client_family_name: family,
                        reason_code: g.reason_code,
                        state: match g.state {
                            access::GrantState::Open => GrantState::Open,
                            access::GrantState::Closed => GrantState::Closed,
                            access::GrantState::Expired => GrantState::Expired,
                        },
                        starts_at: g.starts_at,
                        expires_at: g.expires_at,
                        closed_at: g.closed_at,
                    }
                })
                .collect(),
        }))
    }

    /// End break-glass access early (its holder or an institution admin)
    #[oai(
        path = "/break-glass/:grant_id",
        method = "delete",
        operation_id = "closeBreakGlass"
    )]
    async fn close(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        grant_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        access::close_break_glass(&state.tenancy, &tenant, &auth.0.principal, grant_id.0).await?;
        Ok(NoContent::Done)
    }
}
