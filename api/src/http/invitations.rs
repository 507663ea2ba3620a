use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::identity::invite;
use domain::identity::{Role, RoleGrant};

use super::Tag;
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::ApiResult;

#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum RoleName {
    InstitutionAdmin,
    SubAdmin,
    Provider,
    Staff,
    Client,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Role {
        match r {
            RoleName::InstitutionAdmin => Role::InstitutionAdmin,
            RoleName::SubAdmin => Role::SubAdmin,
            RoleName::Provider => Role::Provider,
            RoleName::Staff => Role::Staff,
            RoleName::Client => Role::Client,
        }
    }
}

#[derive(Object)]
pub struct RoleRequest {
    pub role: RoleName,
    /// Required for sub_admin (the root of the subtree); optional for staff.
    pub department_id: Option<Uuid>,
}

#[derive(Object)]
pub struct CreateInvitation {
    /// The directory entry to invite; its email address receives the link.
    pub person_id: Uuid,
    #[oai(validator(min_items = 1, max_items = 10))]
    pub roles: Vec<RoleRequest>,
}

#[derive(Object)]
pub struct InvitationCreated {
    pub account_id: Uuid,
    pub expires_at: DateTime<Utc>,
    /// False when the mail could not be handed over; invite again to resend.
    pub email_sent: bool,
}

#[derive(ApiResponse)]
pub enum InvitationResponse {
    /// Invited; the link was emailed to the person.
    #[oai(status = 201)]
    Created(Json<InvitationCreated>),
}

pub struct InvitationsApi;

#[OpenApi(prefix_path = "/invitations", tag = "Tag::Auth")]
impl InvitationsApi {
    /// Invite a person to sign in (emails a single-use link)
    ///
    /// Re-inviting someone who has not accepted yet replaces their earlier link.
    #[oai(path = "/", method = "post", operation_id = "createInvitation")]
    async fn create(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<CreateInvitation>,
    ) -> ApiResult<InvitationResponse> {
        let grants = body
            .0
            .roles
            .into_iter()
            .map(|r| RoleGrant {
                role: r.role.into(),
                department_id: r.department_id,
            })
            .collect();
        let inv = invite::invite(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            body.0.person_id,
            grants,
        )
        .await?;
        let link = format!(
            "{}/accept-invite?tenant={}#token={}",
            state.public_url, tenant.slug, inv.token
        );
        let text = format!(
            "{org} has invited you to sign in to Swiftacare.\n\n\
             Choose your password here (the link works once, until {until} UTC):\n{link}\n\n\
             Or with the API: POST {base}/api/v1/auth/setup with the header X-Tenant: {slug}\n\
             and the body {{\"token\": \"{token}\", \"password\": \"<12 characters or more>\"}}\n\n\
             If you did not expect this message, you can ignore it.\n",
            org = tenant.name,
            until = inv.expires_at.format("%Y-%m-%d %H:%M"),
            base = state.public_url,
            slug = tenant.slug,
            token = inv.token,
        );
        let sent = state
            .mailer
            .send(
                &inv.email,
                &format!("You're invited to {} on Swiftacare", tenant.name),
                text,
            )
            .await
            .is_ok();
        Ok(InvitationResponse::Created(Json(InvitationCreated {
            account_id: inv.account_id,
            expires_at: inv.expires_at,
            email_sent: sent,
        })))
    }
}
