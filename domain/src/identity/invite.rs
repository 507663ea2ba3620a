//! Invitations and password reset: single-use secrets that travel by email.
//!
//! The API never returns these secrets; they reach their owner only through the mailbox of the
//! address on file, and only their SHA-256 digest is stored.

use chrono::{Duration, Utc};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::{Principal, Role, RoleGrant};
use super::policy::{self, AdminScope};
use super::{repo, secret};
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::{DomainError, DomainResult};
use crate::org::model::PersonKind;
use crate::org::repo as org_repo;

pub const INVITE_TTL: Duration = Duration::days(7);
pub const RESET_TTL: Duration = Duration::hours(1);

/// An invitation to deliver: the secret goes into the email, nowhere else.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub account_id: Uuid,
    pub email: String,
    pub token: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// Invites the directory entry `person_id` to sign in with `grants`. Re-inviting someone who
/// has not accepted yet replaces their earlier link; an active account is a conflict.
pub async fn invite(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    person_id: Uuid,
    grants: Vec<RoleGrant>,
) -> DomainResult<Invitation> {
    let scope = policy::org_admin_scope(p);
    if scope == AdminScope::Nothing {
        return Err(DomainError::Forbidden(
            "only administrators may invite people",
        ));
    }
    if grants.is_empty() {
        return Err(DomainError::invalid("/roles", "name at least one role"));
    }
    policy::check_grant_scopes(&grants)?;
    for g in &grants {
        if matches!(scope, AdminScope::Subtrees(_))
            && matches!(g.role, Role::InstitutionAdmin | Role::SubAdmin)
        {
            return Err(DomainError::Forbidden(
                "sub-admins may not grant administrator roles",
            ));
        }
    }
    let token = secret::new_token("sco")?;
    let digest = secret::token_digest(&token);
    let expires_at = Utc::now() + INVITE_TTL;
    let actor = Actor::from(p);
    tenancy
        .tx(tenant, async |c| {
            let person = org_repo::get_person(c, person_id)
                .await?
                .ok_or(DomainError::NotFound("person"))?;
            if let AdminScope::Subtrees(roots) = &scope {
                let mine = org_repo::subtree_ids(c, roots).await?;
                if !person.department_id.is_some_and(|d| mine.contains(&d)) {
                    return Err(DomainError::NotFound("person"));
                }
            }
            let email = person.email.clone().ok_or_else(|| {
                DomainError::invalid("/person_id", "this person has no email address")
            })?;
            for (i, g) in grants.iter().enumerate() {
                if !policy::role_fits(person.kind, g.role) {
                    return Err(DomainError::invalid(
                        &format!("/roles/{i}"),
                        format!("a {} cannot hold the {} role", person.kind.as_str(), g.role),
                    ));
                }
                if let Some(d) = g.department_id
                    && org_repo::get_department(c, d).await?.is_none()
                {
                    return Err(DomainError::invalid(
                        &format!("/roles/{i}/department_id"),
                        "no such department",
                    ));
                }
            }
            let account_id = match repo::find_account_by_person(c, person_id).await? {
                Some(a) if a.status == "invited" => a.id,
                Some(_) => {
                    return Err(DomainError::Conflict(
                        "this person already has an account".into(),
                    ));
                }
                None => {
                    if repo::find_account_by_email(c, &email).await?.is_some() {
                        return Err(DomainError::Conflict(
                            "another account uses this person's email address".into(),
                        ));
                    }
                    let id = Uuid::now_v7();
                    repo::insert_account(c, id, Some(person_id), &email).await?;
                    id
                }
            };
            for g in &grants {
                repo::grant(c, account_id, g).await?;
            }
            repo::expire_tokens(c, account_id, "invite").await?;
            repo::insert_one_time_token(c, &digest, account_id, "invite", expires_at).await?;
            let subjects = if person.kind == PersonKind::Client {
                vec![person_id]
            } else {
                vec![]
            };
            audit::record(
                c,
                &actor,
                Event::new("account.invite")
                    .on("account", account_id)
                    .subjects(subjects),
            )
            .await?;
            for g in &grants {
                audit::record(
                    c,
                    &actor,
                    Event::new("role.grant")
                        .on("account", account_id)
                        .detail("role", g.role.as_str()),
                )
                .await?;
            }
            Ok(Invitation {
                account_id,
                email,
                token,
                expires_at,
            })
        })
        .await
}

/// Issues a reset secret for an active account with this email, or `None` — the caller answers
/// the same either way, so the response never reveals whether the address is known.
pub async fn request_password_reset(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    email: &str,
    request_id: Option<String>,
) -> DomainResult<Option<(String, String)>> {
    let token = secret::new_token("sco")?;
    let digest = secret::token_digest(&token);
    let expires_at = Utc::now() + RESET_TTL;
    tenancy
        .tx(tenant, async |c| {
            let Some(account) = repo::find_account_by_email(c, email)
                .await?
                .filter(|a| a.status == "active")
            else {
                let event = Event::new("auth.password_reset_request")
                    .outcome(Outcome::Failure)
                    .detail("reason", "unknown_account");
                audit::record(c, &Actor::anonymous(request_id.clone()), event).await?;
                return Ok(None);
            };
            repo::expire_tokens(c, account.id, "reset").await?;
            repo::insert_one_time_token(c, &digest, account.id, "reset", expires_at).await?;
            let actor = Actor::account(account.id, request_id.clone());
            audit::record(
                c,
                &actor,
                Event::new("auth.password_reset_request").on("account", account.id),
            )
            .await?;
            Ok(Some((token, account.email)))
        })
        .await
}

/// Redeems a reset secret: new password, and every session of the account ends.
pub async fn complete_password_reset(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    token: &str,
    password: &str,
    request_id: Option<String>,
) -> DomainResult<()> {
    secret::check_password_rules(password, None)?;
    let phc = secret::hash_password(password.to_owned()).await?;
    let digest = secret::token_digest(token);
    let result = tenancy
        .tx(tenant, async |c| {
            let account_id = repo::redeem_one_time_token(c, &digest, &["reset"])
                .await?
                .ok_or_else(|| {
                    DomainError::invalid("/token", "is invalid, already used or expired")
                })?;
            let account = repo::find_account(c, account_id)
                .await?
                .ok_or(DomainError::NotFound("account"))?;
            if account.status != "active" {
                return Err(DomainError::invalid(
                    "/token",
                    "is invalid, already used or expired",
                ));
            }
            // Again with the account's email known (rolling back keeps the link unspent).
            secret::check_password_rules(password, Some(&account.email))?;
            repo::set_password(c, account_id, &phc).await?;
            let ended = repo::revoke_all_sessions(c, account_id).await?;
            let actor = Actor::account(account_id, request_id.clone());
            audit::record(
                c,
                &actor,
                Event::new("auth.password_reset")
                    .on("account", account_id)
                    .detail("sessions_ended", ended as u64),
            )
            .await?;
            Ok(())
        })
        .await;
    if let Err(DomainError::Invalid(_)) = &result {
        let event = Event::new("auth.password_reset")
            .outcome(Outcome::Failure)
            .detail("reason", "invalid_token_or_password");
        audit::record_alone(tenancy, tenant, &Actor::anonymous(request_id), event).await?;
    }
    result
}
