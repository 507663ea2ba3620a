//! What OIDC and SAML sign-ins share: the pending state (single use, minutes long, server
//! side), just-in-time provisioning with the group → role mapping, the hand-off code, and the
//! audit of every success and rejection.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::schema::{sso_handoffs, sso_pending};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::*;
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::{DomainError, DomainResult};
use crate::identity::model::{IssuedSession, Role, RoleGrant};
use crate::identity::tokens::TokenSigner;
use crate::identity::{repo as id_repo, secret};
use crate::org::model::{Email, PersonName};
use crate::schema::{accounts, role_grants, sso_identities};

/// How long a user may take at the IdP.
pub const PENDING_TTL: Duration = Duration::minutes(10);
/// How long the web app has to exchange the hand-off code.
pub const HANDOFF_TTL: Duration = Duration::seconds(60);

/// What was stored when the sign-in started.
pub(crate) struct Pending {
    pub nonce: Option<String>,
    pub pkce_verifier: Option<Vec<u8>>,
    pub saml_request_id: Option<String>,
}

pub(crate) async fn store_pending(
    tenancy: &Tenancy,
    connection_id: Uuid,
    state: &str,
    p: Pending,
) -> DomainResult<()> {
    let digest = secret::token_digest(state);
    tenancy
        .control_tx(async |c| {
            // Expired ones are garbage; sweep a few on each start.
            diesel::delete(sso_pending::table.filter(sso_pending::expires_at.lt(Utc::now())))
                .execute(c)
                .await?;
            diesel::insert_into(sso_pending::table)
                .values((
                    sso_pending::state_hash.eq(&digest),
                    sso_pending::connection_id.eq(connection_id),
                    sso_pending::nonce.eq(&p.nonce),
                    sso_pending::pkce_verifier.eq(&p.pkce_verifier),
                    sso_pending::saml_request_id.eq(&p.saml_request_id),
                    sso_pending::expires_at.eq(Utc::now() + PENDING_TTL),
                ))
                .execute(c)
                .await?;
            Ok::<_, DomainError>(())
        })
        .await
}

/// Spends the pending state: only once, only before it expires, only for this connection.
pub(crate) async fn take_pending(
    tenancy: &Tenancy,
    connection_id: Uuid,
    state: &str,
) -> DomainResult<Option<Pending>> {
    let digest = secret::token_digest(state);
    tenancy
        .control_tx(async |c| {
            let row = diesel::update(
                sso_pending::table
                    .filter(sso_pending::state_hash.eq(&digest))
                    .filter(sso_pending::connection_id.eq(connection_id))
                    .filter(sso_pending::used_at.is_null())
                    .filter(sso_pending::expires_at.gt(Utc::now())),
            )
            .set(sso_pending::used_at.eq(Utc::now()))
            .returning((
                sso_pending::nonce,
                sso_pending::pkce_verifier,
                sso_pending::saml_request_id,
            ))
            .get_result::<(Option<String>, Option<Vec<u8>>, Option<String>)>(c)
            .await
            .optional()?;
            Ok::<_, DomainError>(row.map(|(nonce, pkce_verifier, saml_request_id)| Pending {
                nonce,
                pkce_verifier,
                saml_request_id,
            }))
        })
        .await
}

/// Records a refused sign-in in the tenant's audit log and returns the error to answer with.
pub(crate) async fn reject(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    connection_id: Uuid,
    protocol: Protocol,
    why: Rejection,
    request_id: Option<String>,
) -> DomainError {
    tracing::info!(connection_id = %connection_id, reason = why.code(), "sso sign-in rejected");
    let event = Event::new("auth.sso_login")
        .on("sso_connection", connection_id)
        .outcome(
            if matches!(why, Rejection::NoRole | Rejection::AccountDisabled) {
                Outcome::Denied
            } else {
                Outcome::Failure
            },
        )
        .detail("protocol", protocol.as_str())
        .detail("reason", why.code());
    if let Err(e) = audit::record_alone(tenancy, tenant, &Actor::anonymous(request_id), event).await
    {
        return e;
    }
    DomainError::SsoRejected(why)
}

pub(crate) fn mapped_grants(
    connection: &SsoConnection,
    groups: &[String],
) -> (Vec<RoleGrant>, Option<Uuid>) {
    let mut grants: Vec<RoleGrant> = Vec::new();
    let mut department = None;
    for m in &connection.mappings {
        if !groups
            .iter()
            .any(|g| g.eq_ignore_ascii_case(m.group.trim()))
        {
            continue;
        }
        let Some(role) = m.role() else { continue };
        let g = RoleGrant {
            role,
            department_id: if role == Role::SubAdmin {
                m.department_id
            } else {
                None
            },
        };
        department = department.or(m.department_id);
        if !grants.contains(&g) {
            grants.push(g);
        }
    }
    (grants, department)
}

/// Replaces an SSO-managed account's roles with what its groups map to (audited per change).
pub(crate) async fn apply_grants(
    c: &mut AsyncPgConnection,
    actor: &Actor,
    account_id: Uuid,
    grants: &[RoleGrant],
) -> DomainResult<()> {
    let current = id_repo::grants_of(c, account_id).await?;
    let mut grants = grants.to_vec();
    let admin = RoleGrant {
        role: Role::InstitutionAdmin,
        department_id: None,
    };
    if current.contains(&admin) && !grants.contains(&admin) {
        // The IdP's groups never remove the organisation's last active institution admin
        // (the accounts API refuses the same): it would lock everyone out of administration.
        crate::identity::accounts::lock_admin_changes(c).await?;
        if crate::identity::accounts::active_institution_admins(c).await? <= 1 {
            grants.push(admin);
        }
    }
    let grants = grants.as_slice();
    for g in current.iter().filter(|g| !grants.contains(g)) {
        diesel::delete(
            role_grants::table
                .filter(role_grants::account_id.eq(account_id))
                .filter(role_grants::role.eq(g.role.as_str()))
                .filter(role_grants::department_id.is_not_distinct_from(g.department_id)),
        )
        .execute(c)
        .await?;
        let e = Event::new("role.revoke")
            .on("account", account_id)
            .detail("role", g.role.as_str())
            .detail("source", "sso");
        audit::record(c, actor, e).await?;
    }
    for g in grants.iter().filter(|g| !current.contains(g)) {
        id_repo::grant(c, account_id, g).await?;
        let e = Event::new("role.grant")
            .on("account", account_id)
            .detail("role", g.role.as_str())
            .detail("source", "sso");
        audit::record(c, actor, e).await?;
    }
    Ok(())
}

fn person_kind(grants: &[RoleGrant]) -> &'static str {
    if grants.iter().any(|g| g.role == Role::Provider) {
        "provider"
    } else if grants.iter().all(|g| g.role == Role::Client) {
        "client"
    } else {
        "staff"
    }
}

pub(crate) fn person_name(id: &ExternalIdentity) -> DomainResult<PersonName> {
    let local = id.email.split('@').next().unwrap_or("user");
    let given = id.given_name.clone().unwrap_or_else(|| local.to_owned());
    let family = id.family_name.clone().unwrap_or_else(|| "-".to_owned());
    let parse = |s: &str| {
        crate::org::model::Name::parse(s, 100)
            .or_else(|_| crate::org::model::Name::parse("-", 100))
            .map_err(DomainError::Internal)
    };
    Ok(PersonName {
        given: parse(&given)?,
        family: parse(&family)?,
    })
}

/// Finds or creates the account for a verified identity, applies the role mapping, and
/// returns its id. Inside one tenant transaction.
pub(crate) async fn provision(
    c: &mut AsyncPgConnection,
    connection: &SsoConnection,
    identity: &ExternalIdentity,
    actor: &Actor,
) -> DomainResult<Result<Uuid, Rejection>> {
    let (grants, department) = mapped_grants(connection, &identity.groups);
    let email = Email::parse(&identity.email)
        .map_err(|_| DomainError::SsoRejected(Rejection::Malformed))?;
    let linked: Option<Uuid> = sso_identities::table
        .filter(sso_identities::connection_id.eq(connection.id))
        .filter(sso_identities::subject.eq(&identity.subject))
        .select(sso_identities::account_id)
        .first(c)
        .await
        .optional()?;
    let account_id = match linked {
        Some(a) => a,
        None => {
            if grants.is_empty() {
                return Ok(Err(Rejection::NoRole));
            }
            let account_id = match id_repo::find_account_by_email(c, email.as_str()).await? {
                // The tenant routed this email domain to this IdP, which vouches for it, but only
                // a verified address may take over an existing account.
                Some(_) if !identity.email_verified => return Ok(Err(Rejection::UnverifiedEmail)),
                Some(a) => a.id,
                None => {
                    let person_id = Uuid::now_v7();
                    let name = person_name(identity)?;
                    crate::org::repo::insert_person_row(
                        c,
                        person_id,
                        person_kind(&grants),
                        &name,
                        Some(&email),
                        department,
                    )
                    .await?;
                    let id = Uuid::now_v7();
                    id_repo::insert_account(c, id, Some(person_id), email.as_str()).await?;
                    diesel::update(accounts::table.find(id))
                        .set(accounts::status.eq("active"))
                        .execute(c)
                        .await?;
                    audit::record(
                        c,
                        actor,
                        Event::new("account.create")
                            .on("account", id)
                            .detail("source", "sso"),
                    )
                    .await?;
                    id
                }
            };
            diesel::insert_into(sso_identities::table)
                .values((
                    sso_identities::connection_id.eq(connection.id),
                    sso_identities::subject.eq(&identity.subject),
                    sso_identities::account_id.eq(account_id),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            account_id
        }
    };
    let account = id_repo::find_account(c, account_id)
        .await?
        .ok_or(DomainError::NotFound("account"))?;
    if account.status == "disabled" {
        return Ok(Err(Rejection::AccountDisabled));
    }
    if grants.is_empty() {
        return Ok(Err(Rejection::NoRole));
    }
    diesel::update(
        sso_identities::table
            .filter(sso_identities::connection_id.eq(connection.id))
            .filter(sso_identities::subject.eq(&identity.subject)),
    )
    .set(sso_identities::groups.eq(&identity.groups))
    .execute(c)
    .await?;
    apply_grants(c, actor, account_id, &grants).await?;
    Ok(Ok(account_id))
}

/// After the protocol checks: provision, audit, and hand back a single-use code for the web
/// app (the browser never sees tokens in a URL).
pub(crate) async fn complete(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    connection: &SsoConnection,
    identity: ExternalIdentity,
    request_id: Option<String>,
) -> DomainResult<String> {
    let code = secret::new_token("sso")?;
    let digest = secret::token_digest(&code);
    let system = Actor::system();
    let outcome = tenancy
        .tx(tenant, async |c| {
            let r = provision(c, connection, &identity, &system).await?;
            if let Ok(account_id) = r {
                let event = Event::new("auth.sso_login")
                    .on("sso_connection", connection.id)
                    .subjects([account_id])
                    .detail("protocol", connection.protocol.as_str());
                audit::record(c, &Actor::account(account_id, request_id.clone()), event).await?;
            }
            Ok::<_, DomainError>(r)
        })
        .await?;
    let account_id = match outcome {
        Ok(a) => a,
        Err(why) => {
            return Err(reject(
                tenancy,
                tenant,
                connection.id,
                connection.protocol,
                why,
                request_id,
            )
            .await);
        }
    };
    let tid = tenant.id;
    tenancy
        .control_tx(async |c| {
            diesel::delete(sso_handoffs::table.filter(sso_handoffs::expires_at.lt(Utc::now())))
                .execute(c)
                .await?;
            diesel::insert_into(sso_handoffs::table)
                .values((
                    sso_handoffs::code_hash.eq(&digest),
                    sso_handoffs::tenant_id.eq(tid),
                    sso_handoffs::account_id.eq(account_id),
                    sso_handoffs::expires_at.eq(Utc::now() + HANDOFF_TTL),
                ))
                .execute(c)
                .await?;
            Ok::<_, DomainError>(())
        })
        .await?;
    Ok(code)
}

/// The web app exchanges the hand-off code for the same tokens a password sign-in gives.
pub async fn exchange(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    signer: &TokenSigner,
    code: &str,
    request_id: Option<String>,
) -> DomainResult<IssuedSession> {
    let digest = secret::token_digest(code);
    let tid = tenant.id;
    let account = tenancy
        .control_tx(async |c| {
            Ok::<_, DomainError>(
                diesel::update(
                    sso_handoffs::table
                        .filter(sso_handoffs::code_hash.eq(&digest))
                        .filter(sso_handoffs::tenant_id.eq(tid))
                        .filter(sso_handoffs::used_at.is_null())
                        .filter(sso_handoffs::expires_at.gt(Utc::now())),
                )
                .set(sso_handoffs::used_at.eq(Utc::now()))
                .returning(sso_handoffs::account_id)
                .get_result::<Uuid>(c)
                .await
                .optional()?,
            )
        })
        .await?;
    let Some(account_id) = account else {
        let event = Event::new("auth.sso_exchange")
            .outcome(Outcome::Failure)
            .detail("reason", "invalid_code");
        audit::record_alone(tenancy, tenant, &Actor::anonymous(request_id), event).await?;
        return Err(DomainError::invalid(
            "/code",
            "is invalid, already used or expired",
        ));
    };
    crate::identity::service::start_session(tenancy, tenant, signer, account_id, request_id).await
}
