//! Referrals: create, the triage queue and other lists, one referral with its history, and
//! its lifecycle (assign, accept, decline, withdraw; each needs `If-Match`). Rules live in
//! `domain::referrals::service`.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::referrals::model;
use domain::referrals::service;

use super::Tag;
use super::types::{PageInfo, etag, idempotency_key, if_match, page};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::ApiResult;

/// Where a referral came from.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ReferralSource {
    /// A provider referred their client onward.
    Provider,
    /// Triage staff, often on behalf of an outside referrer (`referrer_name`).
    Organisation,
    /// The client referred themselves.
    #[oai(rename = "self")]
    OwnSelf,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ReferralUrgency {
    Routine,
    Urgent,
}

/// new → assigned → accepted; assigned → declined (back to triage); new | assigned |
/// declined → withdrawn.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ReferralStatus {
    New,
    Assigned,
    Accepted,
    Declined,
    Withdrawn,
}

impl ReferralStatus {
    fn to_domain(self) -> model::Status {
        match self {
            ReferralStatus::New => model::Status::New,
            ReferralStatus::Assigned => model::Status::Assigned,
            ReferralStatus::Accepted => model::Status::Accepted,
            ReferralStatus::Declined => model::Status::Declined,
            ReferralStatus::Withdrawn => model::Status::Withdrawn,
        }
    }
    fn from_domain(s: model::Status) -> Self {
        match s {
            model::Status::New => ReferralStatus::New,
            model::Status::Assigned => ReferralStatus::Assigned,
            model::Status::Accepted => ReferralStatus::Accepted,
            model::Status::Declined => ReferralStatus::Declined,
            model::Status::Withdrawn => ReferralStatus::Withdrawn,
        }
    }
}

impl ReferralUrgency {
    fn to_domain(self) -> model::Urgency {
        match self {
            ReferralUrgency::Routine => model::Urgency::Routine,
            ReferralUrgency::Urgent => model::Urgency::Urgent,
        }
    }
    fn from_domain(u: model::Urgency) -> Self {
        match u {
            model::Urgency::Routine => ReferralUrgency::Routine,
            model::Urgency::Urgent => ReferralUrgency::Urgent,
        }
    }
}

impl ReferralSource {
    fn from_domain(s: model::Source) -> Self {
        match s {
            model::Source::Provider => ReferralSource::Provider,
            model::Source::Organisation => ReferralSource::Organisation,
            model::Source::OwnSelf => ReferralSource::OwnSelf,
        }
    }
}

/// One step of a referral's history.
#[derive(Object)]
pub struct ReferralEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who made the change (absent in a client's view).
    #[oai(skip_serializing_if_is_none)]
    pub actor_account_id: Option<Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub actor_name: Option<String>,
    /// Absent on the first step (the referral was made).
    #[oai(skip_serializing_if_is_none)]
    pub from_status: Option<ReferralStatus>,
    pub to_status: ReferralStatus,
    /// The provider assigned, accepting or declining.
    #[oai(skip_serializing_if_is_none)]
    pub provider_id: Option<Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub provider_name: Option<String>,
    /// The decline or withdrawal reason (absent in a client's view).
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
}

/// A referral. A client's view leaves out what others wrote about them: the reason (unless
/// they referred themselves), `status_reason`, `referred_by` and `referrer_name`.
#[derive(Object)]
pub struct Referral {
    pub id: Uuid,
    pub client_id: Uuid,
    #[oai(skip_serializing_if_is_none)]
    pub client_name: Option<String>,
    pub source: ReferralSource,
    /// The account that made the referral.
    #[oai(skip_serializing_if_is_none)]
    pub referred_by: Option<Uuid>,
    /// An outside referrer (a GP, a school), as written by staff.
    #[oai(skip_serializing_if_is_none)]
    pub referrer_name: Option<String>,
    /// The clinical question.
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    pub urgency: ReferralUrgency,
    #[oai(skip_serializing_if_is_none)]
    pub department_id: Option<Uuid>,
    /// The appointment type asked for.
    #[oai(skip_serializing_if_is_none)]
    pub type_id: Option<Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub assigned_provider_id: Option<Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub assigned_provider_name: Option<String>,
    pub status: ReferralStatus,
    /// Why it was declined or withdrawn.
    #[oai(skip_serializing_if_is_none)]
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// Every status change, oldest first (on single-referral answers, not in lists).
    #[oai(skip_serializing_if_is_none)]
    pub history: Option<Vec<ReferralEvent>>,
}

impl From<model::Referral> for Referral {
    fn from(r: model::Referral) -> Self {
        Referral {
            id: r.id,
            client_id: r.client_id,
            client_name: r.client_name,
            source: ReferralSource::from_domain(r.source),
            referred_by: r.referred_by,
            referrer_name: r.referrer_name,
            reason: r.reason,
            urgency: ReferralUrgency::from_domain(r.urgency),
            department_id: r.department_id,
            type_id: r.type_id,
            assigned_provider_id: r.assigned_provider_id,
            assigned_provider_name: r.assigned_provider_name,
            status: ReferralStatus::from_domain(r.status),
            status_reason: r.status_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
            history: None,
        }
    }
}

impl From<model::ReferralView> for Referral {
    fn from(v: model::ReferralView) -> Self {
        let mut r = Referral::from(v.referral);
        r.history = Some(
            v.history
                .into_iter()
                .map(|e| ReferralEvent {
                    id: e.id,
                    at: e.at,
                    actor_account_id: e.actor_account,
                    actor_name: e.actor_name,
                    from_status: e.from_status.map(ReferralStatus::from_domain),
                    to_status: ReferralStatus::from_domain(e.to_status),
                    provider_id: e.provider_id,
                    provider_name: e.provider_name,
                    reason: e.reason,
                })
                .collect(),
        );
        r
    }
}

#[derive(Object)]
pub struct ReferralPage {
    pub items: Vec<Referral>,
    pub page: PageInfo,
}

/// A new referral. Staff refer any client they reach (and may assign a provider at once); a
/// provider refers a client on their care team; a client refers themselves.
#[derive(Object)]
pub struct CreateReferral {
    /// Required unless the caller is a client referring themselves.
    pub client_id: Option<Uuid>,
    /// The clinical question, 1–4000 characters.
    #[oai(validator(max_length = 8000))]
    pub reason: String,
    /// Default `routine`.
    pub urgency: Option<ReferralUrgency>,
    pub department_id: Option<Uuid>,
    /// The appointment type asked for.
    pub type_id: Option<Uuid>,
    /// Triage staff only: assign at once (the referral starts `assigned`).
    pub assigned_provider_id: Option<Uuid>,
    /// An outside referrer (a GP, a school), 1–200 characters.
    #[oai(validator(max_length = 400))]
    pub referrer_name: Option<String>,
}

#[derive(Object)]
pub struct AssignReferral {
    /// An active provider of the organisation (in any department).
    pub provider_id: Uuid,
}

#[derive(Object)]
pub struct ReferralReason {
    /// 1–1000 characters.
    #[oai(validator(max_length = 2000))]
    pub reason: String,
}

#[derive(ApiResponse)]
pub enum ReferralCreated {
    /// Made (with its history). A repeat of a request with the same `Idempotency-Key` answers
    /// the same, with `Idempotent-Replayed: true`.
    #[oai(status = 201)]
    Created(
        Json<Referral>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Location")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

#[derive(ApiResponse)]
pub enum ReferralResponse {
    /// The referral with its history.
    #[oai(status = 200)]
    Ok(Json<Referral>, #[oai(header = "ETag")] String),
}

fn ok(v: model::ReferralView) -> ReferralResponse {
    let tag = etag(v.referral.version);
    ReferralResponse::Ok(Json(v.into()), tag)
}

pub struct ReferralsApi;

#[OpenApi(prefix_path = "/referrals", tag = "Tag::Referrals")]
impl ReferralsApi {
    /// List referrals the caller may see: urgent first, then oldest first
    ///
    /// The triage queue is `status=new&status=declined`; a provider's "My referrals" is
    /// `assigned_provider_id=<their person id>`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per query parameter"
    )]
    #[oai(path = "/", method = "get", operation_id = "listReferrals")]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// Only these statuses (repeat the parameter).
        status: Query<Vec<ReferralStatus>>,
        assigned_provider_id: Query<Option<Uuid>>,
        department_id: Query<Option<Uuid>>,
        urgency: Query<Option<ReferralUrgency>>,
        /// 1–200, default 50.
        limit: Query<Option<i64>>,
        /// `page.next_after` of the previous page.
        after: Query<Option<Uuid>>,
    ) -> ApiResult<Json<ReferralPage>> {
        let f = model::ReferralFilter {
            statuses: status.0.iter().map(|s| s.to_domain()).collect(),
            assigned_provider_id: assigned_provider_id.0,
            department_id: department_id.0,
            urgency: urgency.0.map(ReferralUrgency::to_domain),
        };
        let p = service::list(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            f,
            page(limit.0, after.0)?,
        )
        .await?;
        Ok(Json(ReferralPage {
            items: p.items.into_iter().map(Into::into).collect(),
            page: PageInfo {
                next_after: p.next_after,
            },
        }))
    }

    /// Make a referral (accepts `Idempotency-Key`)
    #[oai(path = "/", method = "post", operation_id = "createReferral")]
    async fn create(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// Repeating a request with the same key makes one referral and answers the same.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<String>>,
        body: Json<CreateReferral>,
    ) -> ApiResult<ReferralCreated> {
        let key = idempotency_key(key.0, "createReferral", &body.0)?;
        let b = body.0;
        let new = model::NewReferral {
            client_id: b.client_id,
            reason: b.reason,
            urgency: b.urgency.map(ReferralUrgency::to_domain),
            department_id: b.department_id,
            type_id: b.type_id,
            assigned_provider_id: b.assigned_provider_id,
            referrer_name: b.referrer_name,
        };
        let made = service::create(&state.tenancy, &tenant, &auth.0.principal, new, key).await?;
        let v = made.referral;
        let tag = etag(v.referral.version);
        let location = format!("/api/v1/referrals/{}", v.referral.id);
        Ok(ReferralCreated::Created(
            Json(v.into()),
            tag,
            location,
            made.replayed.then(|| "true".to_owned()),
        ))
    }

    /// Get a referral with its history
    #[oai(path = "/:referral_id", method = "get", operation_id = "getReferral")]
    async fn get(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        referral_id: Path<Uuid>,
    ) -> ApiResult<ReferralResponse> {
        Ok(ok(service::get(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            referral_id.0,
        )
        .await?))
    }

    /// Assign a referral to a provider (triage staff; new or declined; requires `If-Match`)
    #[oai(
        path = "/:referral_id/assign",
        method = "post",
        operation_id = "assignReferral"
    )]
    async fn assign(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        referral_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<AssignReferral>,
    ) -> ApiResult<ReferralResponse> {
        let version = if_match(if_match_header.0)?;
        let t = model::Transition::Assign {
            provider_id: body.0.provider_id,
        };
        transition(&state, &tenant, &auth, referral_id.0, version, t).await
    }

    /// Accept a referral (the assigned provider; the client joins their care team; requires
    /// `If-Match`)
    #[oai(
        path = "/:referral_id/accept",
        method = "post",
        operation_id = "acceptReferral"
    )]
    async fn accept(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        referral_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
    ) -> ApiResult<ReferralResponse> {
        let version = if_match(if_match_header.0)?;
        let t = model::Transition::Accept;
        transition(&state, &tenant, &auth, referral_id.0, version, t).await
    }

    /// Decline a referral with a reason (the assigned provider; it goes back to triage;
    /// requires `If-Match`)
    #[oai(
        path = "/:referral_id/decline",
        method = "post",
        operation_id = "declineReferral"
    )]
    async fn decline(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        referral_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<ReferralReason>,
    ) -> ApiResult<ReferralResponse> {
        let version = if_match(if_match_header.0)?;
        let t = model::Transition::Decline {
            reason: body.0.reason,
        };
        transition(&state, &tenant, &auth, referral_id.0, version, t).await
    }

    /// Withdraw a referral with a reason (triage staff or the referrer; requires `If-Match`)
    #[oai(
        path = "/:referral_id/withdraw",
        method = "post",
        operation_id = "withdrawReferral"
    )]
    async fn withdraw(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        referral_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
        body: Json<ReferralReason>,
    ) -> ApiResult<ReferralResponse> {
        let version = if_match(if_match_header.0)?;
        let t = model::Transition::Withdraw {
            reason: body.0.reason,
        };
        transition(&state, &tenant, &auth, referral_id.0, version, t).await
    }
}

async fn transition(
    state: &AppState,
    tenant: &TenantRef,
    auth: &SessionAuth,
    id: Uuid,
    version: i32,
    t: model::Transition,
) -> ApiResult<ReferralResponse> {
    Ok(ok(service::transition(
        &state.tenancy,
        tenant,
        &auth.0.principal,
        id,
        version,
        t,
    )
    .await?))
}
