//! Administering accounts: listing them with their roles, replacing an account's roles, and
//! disabling or re-enabling it. Changes apply to the account's very next request (roles and
//! status are read on every request; disabling also ends every session).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::{Principal, Role, RoleGrant};
use super::policy::{self, AdminScope};
use super::repo;
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::org::repo as org_repo;
use crate::page::{Page, PageRequest};
use crate::schema::{accounts, role_grants};

#[derive(Clone, Debug)]
pub struct AccountView {
    pub id: Uuid,
    pub person_id: Option<Uuid>,
    pub email: String,
    pub status: String,
    pub roles: Vec<RoleGrant>,
    pub created_at: DateTime<Utc>,
}

/// The account ids a caller may administer: `None` = all (institution admin).
async fn administrable(
    c: &mut AsyncPgConnection,
    p: &Principal,
) -> DomainResult<Option<Vec<Uuid>>> {
    match policy::org_admin_scope(p) {
        AdminScope::Everything => Ok(None),
        AdminScope::Subtrees(roots) => {
            let depts = org_repo::subtree_ids(c, &roots).await?;
            let people: Vec<Uuid> = crate::schema::people::table
                .filter(crate::schema::people::department_id.eq_any(depts))
                .select(crate::schema::people::id)
                .load(c)
                .await?;
            let ids: Vec<Uuid> = accounts::table
                .filter(accounts::person_id.eq_any(people))
                .select(accounts::id)
                .load(c)
                .await?;
            Ok(Some(ids))
        }
        AdminScope::Nothing => Err(DomainError::Forbidden(
            "only administrators manage accounts",
        )),
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    id: Uuid,
    person_id: Option<Uuid>,
    email: String,
    status: String,
    created_at: DateTime<Utc>,
}

async fn view(c: &mut AsyncPgConnection, id: Uuid) -> DomainResult<Option<AccountView>> {
    let Some(a) = accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(c)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let roles = repo::grants_of(c, a.id).await?;
    Ok(Some(AccountView {
        id: a.id,
        person_id: a.person_id,
        email: a.email,
        status: a.status,
        roles,
        created_at: a.created_at,
    }))
}

pub async fn list(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    page: PageRequest,
) -> DomainResult<Page<AccountView>> {
    tenancy
        .tx(tenant, async |c| {
            let scope = administrable(c, p).await?;
            let mut q = accounts::table
                .select(accounts::id)
                .order(accounts::id)
                .into_boxed();
            if let Some(ids) = &scope {
                q = q.filter(accounts::id.eq_any(ids.clone()));
            }
            if let Some(after) = page.after {
                q = q.filter(accounts::id.gt(after));
            }
            let ids: Vec<Uuid> = q.limit(page.limit + 1).load(c).await?;
            let mut out = Vec::new();
            for id in ids {
                if let Some(v) = view(c, id).await? {
                    out.push(v);
                }
            }
            // Listing shows email addresses: the clients among them are audited as read.
            let person_ids: Vec<Uuid> = out.iter().filter_map(|a| a.person_id).collect();
            let clients: Vec<Uuid> = crate::schema::people::table
                .filter(crate::schema::people::id.eq_any(person_ids))
                .filter(crate::schema::people::kind.eq("client"))
                .select(crate::schema::people::id)
                .load(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("account.list").subjects(clients),
            )
            .await?;
            Ok(Page::from_overfetch(out, page.limit, |a| a.id))
        })
        .await
}

pub(crate) async fn active_institution_admins(c: &mut AsyncPgConnection) -> QueryResult<i64> {
    let admins: Vec<Uuid> = role_grants::table
        .filter(role_grants::role.eq(Role::InstitutionAdmin.as_str()))
        .select(role_grants::account_id)
        .load(c)
        .await?;
    accounts::table
        .filter(accounts::id.eq_any(admins))
        .filter(accounts::status.eq("active"))
        .count()
        .get_result(c)
        .await
}

/// Serialises the transactions that can remove an institution admin, per tenant, so two
/// concurrent demotions cannot both pass the "at least one admin stays" check.
pub(crate) async fn lock_admin_changes(c: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtext('swiftacare.admins.' || current_schema()))",
    )
    .execute(c)
    .await
    .map(|_| ())
}

async fn target(c: &mut AsyncPgConnection, p: &Principal, id: Uuid) -> DomainResult<AccountView> {
    let scope = administrable(c, p).await?;
    if scope.as_ref().is_some_and(|ids| !ids.contains(&id)) {
        return Err(DomainError::NotFound("account"));
    }
    view(c, id).await?.ok_or(DomainError::NotFound("account"))
}

/// Replaces an account's roles. Sub-admins may not grant or remove administrator roles; nobody
/// may leave the tenant without an active institution admin.
pub async fn set_roles(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    grants: Vec<RoleGrant>,
) -> DomainResult<AccountView> {
    let scope = policy::org_admin_scope(p);
    policy::check_grant_scopes(&grants)?;
    let is_admin_role = |r: Role| matches!(r, Role::InstitutionAdmin | Role::SubAdmin);
    tenancy
        .tx(tenant, async |c| {
            lock_admin_changes(c).await?;
            let current = target(c, p, id).await?;
            if matches!(scope, AdminScope::Subtrees(_))
                && (grants.iter().any(|g| is_admin_role(g.role))
                    || current.roles.iter().any(|g| is_admin_role(g.role)))
            {
                return Err(DomainError::Forbidden(
                    "sub-admins may not change administrator roles",
                ));
            }
            if let Some(pid) = current.person_id {
                let person = org_repo::get_person(c, pid)
                    .await?
                    .ok_or(DomainError::NotFound("person"))?;
                for (i, g) in grants.iter().enumerate() {
                    if !policy::role_fits(person.kind, g.role) {
                        return Err(DomainError::invalid(
                            &format!("/roles/{i}"),
                            format!("a {} cannot hold the {} role", person.kind.as_str(), g.role),
                        ));
                    }
                }
            }
            for g in &grants {
                if let Some(d) = g.department_id
                    && org_repo::get_department(c, d).await?.is_none()
                {
                    return Err(DomainError::invalid("/roles", "no such department"));
                }
            }
            diesel::delete(role_grants::table.filter(role_grants::account_id.eq(id)))
                .execute(c)
                .await?;
            for g in &grants {
                repo::grant(c, id, g).await?;
            }
            if active_institution_admins(c).await? == 0 {
                return Err(DomainError::Conflict(
                    "the organisation must keep at least one active institution admin".into(),
                ));
            }
            let actor = Actor::from(p);
            for g in current.roles.iter().filter(|g| !grants.contains(g)) {
                audit::record(
                    c,
                    &actor,
                    Event::new("role.revoke")
                        .on("account", id)
                        .detail("role", g.role.as_str()),
                )
                .await?;
            }
            for g in grants.iter().filter(|g| !current.roles.contains(g)) {
                audit::record(
                    c,
                    &actor,
                    Event::new("role.grant")
                        .on("account", id)
                        .detail("role", g.role.as_str()),
                )
                .await?;
            }
            view(c, id).await?.ok_or(DomainError::NotFound("account"))
        })
        .await
}

/// Disables (ending every session) or re-enables an account.
pub async fn set_enabled(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    enabled: bool,
) -> DomainResult<AccountView> {
    tenancy
        .tx(tenant, async |c| {
            lock_admin_changes(c).await?;
            let current = target(c, p, id).await?;
            if id == p.account_id && !enabled {
                return Err(DomainError::Conflict(
                    "you cannot disable your own account".into(),
                ));
            }
            if matches!(policy::org_admin_scope(p), AdminScope::Subtrees(_))
                && current
                    .roles
                    .iter()
                    .any(|g| matches!(g.role, Role::InstitutionAdmin | Role::SubAdmin))
            {
                return Err(DomainError::Forbidden(
                    "sub-admins may not disable administrators",
                ));
            }
            let (status, action) = if enabled {
                ("active", "account.enable")
            } else {
                ("disabled", "account.disable")
            };
            if enabled && current.status == "invited" {
                return Err(DomainError::Conflict(
                    "the account has not accepted its invitation yet".into(),
                ));
            }
            diesel::update(accounts::table.find(id))
                .set((
                    accounts::status.eq(status),
                    accounts::updated_at.eq(diesel::dsl::now),
                ))
                .execute(c)
                .await?;
            let ended = if enabled {
                0
            } else {
                repo::revoke_all_sessions(c, id).await?
            };
            if active_institution_admins(c).await? == 0 {
                return Err(DomainError::Conflict(
                    "the organisation must keep at least one active institution admin".into(),
                ));
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new(action)
                    .on("account", id)
                    .detail("sessions_ended", ended as u64),
            )
            .await?;
            view(c, id).await?.ok_or(DomainError::NotFound("account"))
        })
        .await
}
