use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::identity::RoleGrant;
use domain::identity::accounts::{self, AccountView};

use super::Tag;
use super::invitations::RoleRequest;
use super::types::{PageInfo, page};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::ApiResult;

#[derive(Object)]
pub struct AccountRole {
    pub role: String,
    #[oai(skip_serializing_if_is_none)]
    pub department_id: Option<Uuid>,
}

/// A sign-in account and the roles it holds.
#[derive(Object)]
pub struct Account {
    pub id: Uuid,
    #[oai(skip_serializing_if_is_none)]
    pub person_id: Option<Uuid>,
    pub email: String,
    /// invited, active or disabled.
    pub status: String,
    pub roles: Vec<AccountRole>,
    pub created_at: DateTime<Utc>,
}

impl From<AccountView> for Account {
    fn from(a: AccountView) -> Self {
        Account {
            id: a.id,
            person_id: a.person_id,
            email: a.email,
            status: a.status,
            roles: a
                .roles
                .into_iter()
                .map(|g| AccountRole {
                    role: g.role.as_str().to_owned(),
                    department_id: g.department_id,
                })
                .collect(),
            created_at: a.created_at,
        }
    }
}

#[derive(Object)]
pub struct AccountPage {
    pub items: Vec<Account>,
    pub page: PageInfo,
}

#[derive(Object)]
pub struct SetRoles {
    /// The complete new set of roles (may be empty: the account then sees only itself).
    #[oai(validator(max_items = 10))]
    pub roles: Vec<RoleRequest>,
}

pub struct AccountsApi;

#[OpenApi(prefix_path = "/accounts", tag = "Tag::Auth")]
impl AccountsApi {
    /// List accounts with their roles (administrators; sub-admins see their subtree)
    #[oai(path = "/", method = "get", operation_id = "listAccounts")]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        limit: Query<Option<i64>>,
        after: Query<Option<Uuid>>,
    ) -> ApiResult<Json<AccountPage>> {
        let p = accounts::list(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            page(limit.0, after.0)?,
        )
        .await?;
        Ok(Json(AccountPage {
            items: p.items.into_iter().map(Into::into).collect(),
            page: PageInfo {
                next_after: p.next_after,
            },
        }))
    }

    /// Replace an account's roles (applies to its next request)
    #[oai(
        path = "/:account_id/roles",
        method = "put",
        operation_id = "setAccountRoles"
    )]
    async fn set_roles(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        account_id: Path<Uuid>,
        body: Json<SetRoles>,
    ) -> ApiResult<Json<Account>> {
        let grants = body
            .0
            .roles
            .into_iter()
            .map(|r| RoleGrant {
                role: r.role.into(),
                department_id: r.department_id,
            })
            .collect();
        Ok(Json(
            accounts::set_roles(
                &state.tenancy,
                &tenant,
                &auth.0.principal,
                account_id.0,
                grants,
            )
            .await?
            .into(),
        ))
    }

    /// Disable an account (ends all its sessions at once)
    #[oai(
        path = "/:account_id/disable",
        method = "post",
        operation_id = "disableAccount"
    )]
    async fn disable(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        account_id: Path<Uuid>,
    ) -> ApiResult<Json<Account>> {
        Ok(Json(
            accounts::set_enabled(
                &state.tenancy,
                &tenant,
                &auth.0.principal,
                account_id.0,
                false,
            )
            .await?
            .into(),
        ))
    }

    /// Re-enable a disabled account
    #[oai(
        path = "/:account_id/enable",
        method = "post",
        operation_id = "enableAccount"
    )]
    async fn enable(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        account_id: Path<Uuid>,
    ) -> ApiResult<Json<Account>> {
        Ok(Json(
            accounts::set_enabled(
                &state.tenancy,
                &tenant,
                &auth.0.principal,
                account_id.0,
                true,
            )
            .await?
            .into(),
        ))
    }
}
