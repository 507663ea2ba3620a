//! OAuth2 client-credentials clients (RFC 6749 §4.4): integrations that call the API as
//! themselves with scopes (`directory:read`, `directory:write`), never as a person.
//!
//! Institution admins create clients (the secret is shown once and stored as argon2id), list
//! and revoke them. A client exchanges its id and secret for a 10-minute access token; each
//! request re-checks that the client is not revoked and grants only the scopes both the client
//! and the token hold. The API admits integrations only to an allowlist of operations.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::{Me, Principal, Role};
use super::secret;
use super::tokens::{Claims, TokenSigner};
use crate::audit::{self, Actor, ActorType, Event, Outcome};
use crate::error::{DomainError, DomainResult};
use crate::schema::oauth_clients;

pub const SCOPES: [&str; 2] = ["directory:read", "directory:write"];

#[derive(Clone, Debug)]
pub struct ClientView {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

fn require_admin(p: &Principal) -> DomainResult<()> {
    if p.has(Role::InstitutionAdmin) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only institution admins manage API clients",
        ))
    }
}

fn parse_scopes(raw: &[String], field: &str) -> DomainResult<Vec<String>> {
    if raw.is_empty() {
        return Err(DomainError::invalid(field, "name at least one scope"));
    }
    let mut out: Vec<String> = Vec::new();
    for s in raw {
        if !SCOPES.contains(&s.as_str()) {
            return Err(DomainError::invalid(
                field,
                format!("unknown scope {s:?}; known: {}", SCOPES.join(", ")),
            ));
        }
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// Creates a client; returns it and its secret (shown once).
pub async fn create(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    name: &str,
    scopes: &[String],
) -> DomainResult<(ClientView, String)> {
    require_admin(p)?;
    let name =
        crate::org::model::Name::parse(name, 200).map_err(|m| DomainError::invalid("/name", m))?;
    let scopes = parse_scopes(scopes, "/scopes")?;
    let client_secret = secret::new_token("scs")?;
    let phc = secret::hash_password(client_secret.clone()).await?;
    let id = Uuid::now_v7();
    let view = tenancy
        .tx(tenant, async |c| {
            let created_at: DateTime<Utc> = diesel::insert_into(oauth_clients::table)
                .values((
                    oauth_clients::id.eq(id),
                    oauth_clients::name.eq(name.as_str()),
                    oauth_clients::secret_hash.eq(&phc),
                    oauth_clients::scopes.eq(&scopes),
                    oauth_clients::created_by.eq(p.account_id),
                ))
                .returning(oauth_clients::created_at)
                .get_result(c)
                .await?;
            let event = Event::new("oauth_client.create")
                .on("oauth_client", id)
                .detail("scopes", scopes.clone());
            audit::record(c, &Actor::from(p), event).await?;
            Ok::<_, DomainError>(ClientView {
                id,
                name: name.as_str().to_owned(),
                scopes: scopes.clone(),
                created_at,
                revoked: false,
            })
        })
        .await?;
    Ok((view, client_secret))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oauth_clients)]
struct ClientRow {
    id: Uuid,
    name: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

pub async fn list(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
) -> DomainResult<Vec<ClientView>> {
    require_admin(p)?;
    tenancy
        .tx(tenant, async |c| {
            let rows: Vec<ClientRow> = oauth_clients::table
                .order(oauth_clients::created_at)
                .select(ClientRow::as_select())
                .load(c)
                .await?;
            Ok::<_, DomainError>(
                rows.into_iter()
                    .map(|r| ClientView {
                        id: r.id,
                        name: r.name,
                        scopes: r.scopes,
                        created_at: r.created_at,
                        revoked: r.revoked_at.is_some(),
                    })
                    .collect(),
            )
        })
        .await
}

pub async fn revoke(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<()> {
    require_admin(p)?;
    tenancy
        .tx(tenant, async |c| {
            let n = diesel::update(
                oauth_clients::table
                    .find(id)
                    .filter(oauth_clients::revoked_at.is_null()),
            )
            .set(oauth_clients::revoked_at.eq(diesel::dsl::now))
            .execute(c)
            .await?;
            if n == 0 {
                return Err(DomainError::NotFound("API client"));
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("oauth_client.revoke").on("oauth_client", id),
            )
            .await?;
            Ok(())
        })
        .await
}

/// The client-credentials grant: a token carrying the requested scopes (all of the client's
/// when none are asked for). `None` when the client is unknown, revoked or the secret is wrong.
pub async fn issue_token(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    signer: &TokenSigner,
    client_id: Uuid,
    client_secret: &str,
    requested: Option<&str>,
    request_id: Option<String>,
) -> DomainResult<Option<(String, DateTime<Utc>, Vec<String>)>> {
    let row: Option<(String, Vec<String>)> = tenancy
        .tx(tenant, async |c| {
            Ok::<_, DomainError>(
                oauth_clients::table
                    .find(client_id)
                    .filter(oauth_clients::revoked_at.is_null())
                    .select((oauth_clients::secret_hash, oauth_clients::scopes))
                    .first(c)
                    .await
                    .optional()?,
            )
        })
        .await?;
    let actor = Actor {
        kind: ActorType::Integration,
        id: Some(client_id),
        request_id,
    };
    let ok = secret::verify_password(
        client_secret.to_owned(),
        row.as_ref().map(|(h, _)| h.clone()),
    )
    .await;
    let Some((_, allowed)) = row.filter(|_| ok) else {
        let event = Event::new("auth.client_credentials")
            .outcome(Outcome::Failure)
            .detail("reason", "invalid_client");
        audit::record_alone(
            tenancy,
            tenant,
            &Actor {
                id: None,
                kind: ActorType::Anonymous,
                ..actor
            },
            event,
        )
        .await?;
        return Ok(None);
    };
    let scopes: Vec<String> = match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => allowed.clone(),
        Some(r) => {
            let wanted: Vec<String> = r.split_whitespace().map(str::to_owned).collect();
            if wanted.iter().any(|w| !allowed.contains(w)) {
                return Err(DomainError::invalid(
                    "scope",
                    "asks for a scope this client does not have",
                ));
            }
            wanted
        }
    };
    let (token, expires_at) = signer
        .issue_client(tenant.id, client_id, &scopes, Utc::now())
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    let event = Event::new("auth.client_credentials")
        .on("oauth_client", client_id)
        .detail("scopes", scopes.clone());
    audit::record_alone(tenancy, tenant, &actor, event).await?;
    Ok(Some((token, expires_at, scopes)))
}

/// A verified client token → the integration principal (scopes both the token and the client
/// still hold), if the client is not revoked.
pub async fn authenticate(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    claims: &Claims,
    request_id: Option<String>,
) -> DomainResult<(Principal, Me)> {
    let client_id = claims.sub;
    let row: Option<Vec<String>> = tenancy
        .tx(tenant, async |c| {
            Ok::<_, DomainError>(
                oauth_clients::table
                    .find(client_id)
                    .filter(oauth_clients::revoked_at.is_null())
                    .select(oauth_clients::scopes)
                    .first(c)
                    .await
                    .optional()?,
            )
        })
        .await?;
    let allowed = row.ok_or(DomainError::Unauthenticated(
        "the API client is revoked or unknown",
    ))?;
    let scopes: Vec<String> = claims
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .filter(|s| allowed.iter().any(|a| a == s))
        .map(str::to_owned)
        .collect();
    let principal = Principal {
        account_id: client_id,
        person_id: None,
        session_id: client_id,
        grants: Vec::new(),
        request_id,
        mfa_enrolment_required: false,
        scopes: Some(scopes),
    };
    let me = Me {
        account_id: client_id,
        person_id: None,
        email: String::new(),
        roles: Vec::new(),
        session_expires_at: DateTime::<Utc>::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now),
    };
    Ok((principal, me))
}
