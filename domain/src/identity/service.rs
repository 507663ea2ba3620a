//! Identity rules: first admin, completing a setup link, sign-in, session checks, sign-out.

use chrono::{Duration, Utc};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::{IssuedOneTimeToken, IssuedSession, Me, Principal, Role, RoleGrant};
use super::tokens::TokenSigner;
use super::{repo, secret};
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::{DomainError, DomainResult};
use crate::org::model::{Email, PersonName};
use crate::org::repo as org_repo;

/// How long a first-admin setup link stays valid.
pub const SETUP_TOKEN_TTL: Duration = Duration::hours(72);
/// Absolute session lifetime.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// A session unused for this long is dead (HIPAA automatic logoff).
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// `last_seen_at` is written at most this often, so reads stay cheap.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// Creates the tenant's first institution admin (a staff directory entry, an invited account,
/// the institution-admin role) and returns a one-time setup secret. Idempotent for a tenant
/// being provisioned again: an existing, not yet activated admin gets a fresh secret (older
/// ones stop working); an already active account is a conflict.
pub async fn create_first_admin(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    email: &str,
    name: PersonName,
) -> DomainResult<IssuedOneTimeToken> {
    let email = Email::parse(email).map_err(|m| DomainError::invalid("/admin_email", m))?;
    let token = secret::new_token("sco")?;
    let digest = secret::token_digest(&token);
    let expires_at = Utc::now() + SETUP_TOKEN_TTL;
    let account_id = tenancy
        .tx(tenant, async |c| {
            let account_id = match repo::find_account_by_email(c, email.as_str()).await? {
                Some(a) if a.status == "active" => {
                    return Err(DomainError::Conflict(
                        "this administrator has already completed set-up".into(),
                    ));
                }
                Some(a) => a.id,
                None => {
                    let person_id = Uuid::now_v7();
                    org_repo::insert_person_row(c, person_id, "staff", &name, Some(&email), None)
                        .await?;
                    let account_id = Uuid::now_v7();
                    repo::insert_account(c, account_id, Some(person_id), email.as_str()).await?;
                    account_id
                }
            };
            repo::grant(
                c,
                account_id,
                &RoleGrant {
                    role: Role::InstitutionAdmin,
                    department_id: None,
                },
            )
            .await?;
            repo::expire_tokens(c, account_id, "setup").await?;
            repo::insert_one_time_token(c, &digest, account_id, "setup", expires_at).await?;
            let system = Actor::system();
            audit::record(
                c,
                &system,
                Event::new("account.setup_issued").on("account", account_id),
            )
            .await?;
            audit::record(
                c,
                &system,
                Event::new("role.grant")
                    .on("account", account_id)
                    .detail("role", Role::InstitutionAdmin.as_str()),
            )
            .await?;
            Ok::<_, DomainError>(account_id)
        })
        .await?;
    Ok(IssuedOneTimeToken {
        token,
        account_id,
        expires_at,
    })
}

/// Redeems a setup (or invitation) secret and sets the account's password.
pub async fn complete_setup(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    token: &str,
    password: &str,
    request_id: Option<String>,
) -> DomainResult<()> {
    // The rules are checked before the token is spent, so a rejected password does not burn it.
    secret::check_password_rules(password, None)?;
    let phc = secret::hash_password(password.to_owned()).await?;
    let digest = secret::token_digest(token);
    let result = tenancy
        .tx(tenant, async |c| {
            let account_id = repo::redeem_one_time_token(c, &digest, &["setup", "invite"])
                .await?
                .ok_or_else(|| {
                    DomainError::invalid("/token", "is invalid, already used or expired")
                })?;
            let account = repo::find_account(c, account_id)
                .await?
                .ok_or(DomainError::NotFound("account"))?;
            // A disabled account's old link must not re-activate it.
            if account.status == "disabled" {
                return Err(DomainError::invalid(
                    "/token",
                    "is invalid, already used or expired",
                ));
            }
            // Again with the account's email known (rolling back keeps the link unspent).
            secret::check_password_rules(password, Some(&account.email))?;
            repo::activate_with_password(c, account_id, &phc).await?;
            let actor = Actor::account(account_id, request_id.clone());
            audit::record(
                c,
                &actor,
                Event::new("auth.setup").on("account", account_id),
            )
            .await?;
            Ok(())
        })
        .await;
    if let Err(DomainError::Invalid(_)) = &result {
        let event = Event::new("auth.setup")
            .outcome(Outcome::Failure)
            .detail("reason", "invalid_token_or_password");
        audit::record_alone(tenancy, tenant, &Actor::anonymous(request_id), event).await?;
    }
    result
}

/// Starts a session: its row, the first refresh token and the first access token. The tenant's
/// policy sets its lifetime, and restricts it to enrolling an authenticator when one of the
/// account's roles must use MFA and none is enrolled yet.
pub(crate) async fn start_session(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    signer: &TokenSigner,
    account_id: Uuid,
    request_id: Option<String>,
) -> DomainResult<IssuedSession> {
    let refresh_token = secret::new_token("scr")?;
    let digest = secret::token_digest(&refresh_token);
    let session_id = Uuid::now_v7();
    let now = Utc::now();
    let (access_token, access_expires_at) = signer
        .issue(tenant.id, account_id, session_id, now)
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    let (session_expires_at, restricted) = tenancy
        .tx(tenant, async |c| {
            let policy = super::security::load(c).await?;
            let roles: Vec<Role> = repo::grants_of(c, account_id)
                .await?
                .into_iter()
                .map(|g| g.role)
                .collect();
            let restricted =
                policy.requires_mfa(&roles) && !super::mfa::required(c, account_id).await?;
            let expires_at = now + policy.max_age();
            repo::insert_session(c, session_id, account_id, expires_at, restricted).await?;
            repo::insert_refresh(c, &digest, session_id).await?;
            let actor = Actor::account(account_id, request_id.clone());
            let mut event = Event::new("auth.login").on("session", session_id);
            if restricted {
                event = event.detail("restricted", "mfa_enrolment_required");
            }
            audit::record(c, &actor, event).await?;
            Ok::<_, DomainError>((expires_at, restricted))
        })
        .await?;
    Ok(IssuedSession {
        access_token,
        access_expires_at,
        refresh_token,
        session_id,
        session_expires_at,
        mfa_enrolment_required: restricted,
    })
}

/// What a correct password leads to.
#[derive(Clone, Debug)]
pub enum LoginOutcome {
    Session(IssuedSession),
    /// The account has an authenticator: present a code with this challenge.
    MfaRequired {
        challenge: String,
        expires_at: chrono::DateTime<Utc>,
    },
}

/// Email + password sign-in. The answer never tells whether the email exists, and costs the
/// same time either way. Successes and failures are audited (by account id, never by email).
pub async fn login(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    signer: &TokenSigner,
    email: &str,
    password: &str,
    request_id: Option<String>,
) -> DomainResult<LoginOutcome> {
    // An organisation that routes this email domain to its IdP may forbid passwords.
    if let crate::sso::Realm::Sso {
        connection_id,
        password_login_allowed: false,
        ..
    } = crate::sso::connections::discover(tenancy, tenant, email)
        .await
        .unwrap_or(crate::sso::Realm::Password)
    {
        let event = Event::new("auth.login")
            .outcome(Outcome::Denied)
            .detail("reason", "sso_required");
        audit::record_alone(tenancy, tenant, &Actor::anonymous(request_id), event).await?;
        return Err(DomainError::SsoRequired { connection_id });
    }
    let account = tenancy
        .tx(tenant, async |c| {
            Ok::<_, DomainError>(repo::find_account_by_email(c, email).await?)
        })
        .await?;
    let active = account.as_ref().filter(|a| a.status == "active");
    let phc = active.and_then(|a| a.password_hash.clone());
    if !secret::verify_password(password.to_owned(), phc).await {
        let (actor, reason) = match &account {
            Some(a) if a.status == "active" => {
                (Actor::account(a.id, request_id.clone()), "bad_password")
            }
            Some(a) => (
                Actor::account(a.id, request_id.clone()),
                "account_not_active",
            ),
            None => (Actor::anonymous(request_id.clone()), "unknown_account"),
        };
        let event = Event::new("auth.login")
            .outcome(Outcome::Failure)
            .detail("reason", reason);
        audit::record_alone(tenancy, tenant, &actor, event).await?;
        return Err(DomainError::Unauthenticated(
            "email or password is incorrect",
        ));
    }
    let account_id = active.map(|a| a.id).ok_or(DomainError::Unauthenticated(
        "email or password is incorrect",
    ))?;
    let challenge = tenancy
        .tx(tenant, async |c| {
            if super::mfa::required(c, account_id).await? {
                let (token, expires_at) = super::mfa::issue_challenge(c, account_id).await?;
                let event = Event::new("auth.password")
                    .on("account", account_id)
                    .detail("next", "mfa");
                audit::record(c, &Actor::account(account_id, request_id.clone()), event).await?;
                return Ok::<_, DomainError>(Some((token, expires_at)));
            }
            Ok(None)
        })
        .await?;
    match challenge {
        Some((challenge, expires_at)) => Ok(LoginOutcome::MfaRequired {
            challenge,
            expires_at,
        }),
        None => Ok(LoginOutcome::Session(
            start_session(tenancy, tenant, signer, account_id, request_id).await?,
        )),
    }
}

/// The second step of an MFA sign-in.
pub async fn complete_mfa(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    signer: &TokenSigner,
    challenge: &str,
    factor: &super::mfa::Factor,
    request_id: Option<String>,
) -> DomainResult<IssuedSession> {
    let account_id = super::mfa::redeem_challenge(
        tenancy,
        tenant,
        signer.sealer(),
        challenge,
        factor,
        request_id.clone(),
    )
    .await?;
    start_session(tenancy, tenant, signer, account_id, request_id).await
}

enum RefreshOutcome {
    Rotated {
        account_id: Uuid,
        session_id: Uuid,
        session_expires_at: chrono::DateTime<Utc>,
        restricted: bool,
    },
    Reused {
        session_id: Uuid,
    },
    Dead,
}

/// Exchanges a refresh token for a new pair. A token used before is evidence of theft: the
/// whole session is revoked (and audited), so neither the thief nor the owner can continue.
pub async fn refresh(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    signer: &TokenSigner,
    refresh_token: &str,
    request_id: Option<String>,
) -> DomainResult<IssuedSession> {
    let digest = secret::token_digest(refresh_token);
    let next = secret::new_token("scr")?;
    let next_digest = secret::token_digest(&next);
    let now = Utc::now();
    let outcome = tenancy
        .tx(tenant, async |c| {
            let Some(session_id) = repo::find_refresh(c, &digest).await? else {
                return Ok::<_, DomainError>(RefreshOutcome::Dead);
            };
            if !repo::use_refresh(c, &digest).await? {
                repo::revoke_session(c, session_id).await?;
                let event = Event::new("auth.refresh_reuse")
                    .on("session", session_id)
                    .outcome(Outcome::Denied);
                audit::record(c, &Actor::anonymous(request_id.clone()), event).await?;
                return Ok(RefreshOutcome::Reused { session_id });
            }
            let idle = super::security::load(c).await?.idle();
            let Some(s) = repo::find_live_session(c, session_id, now - idle).await? else {
                return Ok(RefreshOutcome::Dead);
            };
            repo::insert_refresh(c, &next_digest, session_id).await?;
            repo::touch_session(c, session_id).await?;
            Ok(RefreshOutcome::Rotated {
                account_id: s.account_id,
                session_id,
                session_expires_at: s.expires_at,
                restricted: s.mfa_enrolment_required,
            })
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated {
            account_id,
            session_id,
            session_expires_at,
            restricted,
        } => {
            let (access_token, access_expires_at) = signer
                .issue(tenant.id, account_id, session_id, now)
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            Ok(IssuedSession {
                access_token,
                access_expires_at,
                refresh_token: next,
                session_id,
                session_expires_at,
                mfa_enrolment_required: restricted,
            })
        }
        RefreshOutcome::Reused { session_id } => {
            tracing::warn!(session_id = %session_id, "refresh token reused; session revoked");
            Err(DomainError::Unauthenticated(
                "refresh token already used; the session has been ended",
            ))
        }
        RefreshOutcome::Dead => Err(DomainError::Unauthenticated(
            "refresh token is invalid, or its session has ended",
        )),
    }
}

/// Resolves an access token to the caller: signature, audience (this tenant) and expiry, then
/// the session must be live in the database and the roles are read fresh — so sign-out,
/// revocation and role changes apply to the very next request.
pub async fn authenticate(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    signer: &TokenSigner,
    token: &str,
    request_id: Option<String>,
) -> DomainResult<(Principal, Me)> {
    let claims = signer.verify(token, tenant.id).map_err(|_| {
        DomainError::Unauthenticated("access token is invalid or expired; refresh or sign in again")
    })?;
    if claims.typ.as_deref() == Some("client") {
        return super::clients::authenticate(tenancy, tenant, &claims, request_id).await;
    }
    let now = Utc::now();
    tenancy
        .tx(tenant, async |c| {
            let idle = super::security::load(c).await?.idle();
            let s = repo::find_live_session(c, claims.sid, now - idle)
                .await?
                .filter(|s| s.account_id == claims.sub)
                .ok_or(DomainError::Unauthenticated(
                    "session is invalid, expired or revoked",
                ))?;
            if now - s.last_seen_at > TOUCH_EVERY {
                repo::touch_session(c, s.session_id).await?;
            }
            let grants = repo::grants_of(c, s.account_id).await?;
            let principal = Principal {
                account_id: s.account_id,
                person_id: s.person_id,
                session_id: s.session_id,
                grants: grants.clone(),
                request_id: request_id.clone(),
                mfa_enrolment_required: s.mfa_enrolment_required,
                scopes: None,
            };
            let me = Me {
                account_id: s.account_id,
                person_id: s.person_id,
                email: s.email,
                roles: grants,
                session_expires_at: s.expires_at,
            };
            Ok((principal, me))
        })
        .await
}

pub async fn logout(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    principal: &Principal,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            repo::revoke_session(c, principal.session_id).await?;
            audit::record(
                c,
                &Actor::from(principal),
                Event::new("auth.logout").on("session", principal.session_id),
            )
            .await?;
            Ok::<_, DomainError>(())
        })
        .await
}

/// Ends every session of the caller's account ("sign out everywhere").
pub async fn logout_everywhere(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    principal: &Principal,
) -> DomainResult<usize> {
    tenancy
        .tx(tenant, async |c| {
            let n = repo::revoke_all_sessions(c, principal.account_id).await?;
            let event = Event::new("auth.logout_all")
                .on("account", principal.account_id)
                .detail("sessions_ended", n as u64);
            audit::record(c, &Actor::from(principal), event).await?;
            Ok::<_, DomainError>(n)
        })
        .await
}

/// The caller's live sessions (newest first).
pub async fn sessions(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    principal: &Principal,
) -> DomainResult<Vec<repo::SessionInfo>> {
    tenancy
        .tx(tenant, async |c| {
            let cutoff = Utc::now() - super::security::load(c).await?.idle();
            Ok::<_, DomainError>(repo::live_sessions(c, principal.account_id, cutoff).await?)
        })
        .await
}

/// Ends one of the caller's own sessions; another account's session is "not found".
pub async fn revoke_own_session(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    principal: &Principal,
    id: Uuid,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            if !repo::revoke_session_of(c, principal.account_id, id).await? {
                return Err(DomainError::NotFound("session"));
            }
            audit::record(
                c,
                &Actor::from(principal),
                Event::new("auth.session_revoke").on("session", id),
            )
            .await?;
            Ok(())
        })
        .await
}

/// Creates a signed-in account for a directory entry with the given roles and password
/// (used by the demo seed; invitations by email arrive with the identity issue).
pub async fn create_account_with_password(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    person_id: Uuid,
    email: &str,
    password: &str,
    grants: &[RoleGrant],
) -> DomainResult<Uuid> {
    let email = Email::parse(email).map_err(|m| DomainError::invalid("/email", m))?;
    secret::check_password_rules(password, Some(email.as_str()))?;
    let phc = secret::hash_password(password.to_owned()).await?;
    tenancy
        .tx(tenant, async |c| {
            let id = Uuid::now_v7();
            repo::insert_account(c, id, Some(person_id), email.as_str()).await?;
            repo::activate_with_password(c, id, &phc).await?;
            let system = Actor::system();
            audit::record(c, &system, Event::new("account.create").on("account", id)).await?;
            for g in grants {
                repo::grant(c, id, g).await?;
                audit::record(
                    c,
                    &system,
                    Event::new("role.grant")
                        .on("account", id)
                        .detail("role", g.role.as_str()),
                )
                .await?;
            }
            Ok::<_, DomainError>(id)
        })
        .await
}
