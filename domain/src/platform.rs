//! The platform operators' control plane: operator accounts and sign-in, and the tenant
//! registry (create, list, suspend, reinstate). Operators never enter a tenant's schema: their
//! tokens carry the `platform` audience, which no tenant operation accepts.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tenancy::provision::{self, ProvisionError};
use tenancy::registry::TenantRecord;
use tenancy::schema::{operator_events, operator_sessions, operators};
use tenancy::{DoorError, ShardId, Slug, Tenancy, TenantKind, TenantStatus};
use uuid::Uuid;

use crate::error::{DomainError, DomainResult};
use crate::identity::model::IssuedOneTimeToken;
use crate::identity::secret;
use crate::identity::tokens::TokenSigner;
use crate::org::model::{Email, Name, PersonName};

pub const OPERATOR_SESSION_TTL: Duration = Duration::hours(8);

#[derive(Clone, Debug)]
pub struct Operator {
    pub id: Uuid,
    pub email: String,
    pub session_id: Uuid,
    pub request_id: Option<String>,
}

impl From<ProvisionError> for DomainError {
    fn from(e: ProvisionError) -> Self {
        match e {
            ProvisionError::SlugTaken(s) => {
                DomainError::Conflict(format!("a tenant with slug {s} already exists"))
            }
            ProvisionError::UnknownShard(s) => {
                DomainError::invalid("/shard", format!("shard {s} is not configured"))
            }
            ProvisionError::InvalidName => {
                DomainError::invalid("/name", "must be 1 to 200 characters")
            }
            ProvisionError::NotFound(_) => DomainError::NotFound("tenant"),
            ProvisionError::Migration(m) => {
                DomainError::Internal(format!("migrating the new tenant failed: {m}"))
            }
            ProvisionError::Door(d) => d.into(),
        }
    }
}

async fn event(
    tenancy: &Tenancy,
    operator: Option<Uuid>,
    action: &str,
    slug: Option<&str>,
    outcome: &str,
    request_id: Option<&str>,
) -> DomainResult<()> {
    tenancy
        .control_tx(async |c| {
            diesel::insert_into(operator_events::table)
                .values((
                    operator_events::operator_id.eq(operator),
                    operator_events::action.eq(action),
                    operator_events::tenant_slug.eq(slug),
                    operator_events::outcome.eq(outcome),
                    operator_events::request_id.eq(request_id),
                ))
                .execute(c)
                .await
                .map_err(DoorError::from)?;
            Ok::<_, DomainError>(())
        })
        .await
}

/// Creates an operator (from the CLI). Returns the operator's id.
pub async fn create_operator(tenancy: &Tenancy, email: &str, password: &str) -> DomainResult<Uuid> {
    let email = Email::parse(email).map_err(|m| DomainError::invalid("/email", m))?;
    secret::check_password_rules(password, Some(email.as_str()))?;
    let phc = secret::hash_password(password.to_owned()).await?;
    let id = Uuid::now_v7();
    tenancy
        .control_tx(async |c| {
            diesel::insert_into(operators::table)
                .values((
                    operators::id.eq(id),
                    operators::email.eq(email.as_str()),
                    operators::password_hash.eq(&phc),
                ))
                .execute(c)
                .await
                .map_err(DoorError::from)?;
            Ok::<_, DomainError>(())
        })
        .await?;
    event(tenancy, None, "operator.create", None, "success", None).await?;
    Ok(id)
}

pub async fn login(
    tenancy: &Tenancy,
    signer: &TokenSigner,
    email: &str,
    password: &str,
    request_id: Option<String>,
) -> DomainResult<(String, DateTime<Utc>)> {
    let found: Option<(Uuid, String, String)> = tenancy
        .control_tx(async |c| {
            operators::table
                .filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = lower(")
                        .bind::<diesel::sql_types::Text, _>(email)
                        .sql(")"),
                )
                .select((operators::id, operators::password_hash, operators::status))
                .first(c)
                .await
                .optional()
                .map_err(DoorError::from)
        })
        .await?;
    let active = found.as_ref().filter(|(_, _, status)| status == "active");
    if !secret::verify_password(password.to_owned(), active.map(|(_, h, _)| h.clone())).await {
        event(
            tenancy,
            found.map(|(id, _, _)| id),
            "operator.login",
            None,
            "failure",
            request_id.as_deref(),
        )
        .await?;
        return Err(DomainError::Unauthenticated(
            "email or password is incorrect",
        ));
    }
    let operator_id = active
        .map(|(id, _, _)| *id)
        .ok_or(DomainError::Unauthenticated(
            "email or password is incorrect",
        ))?;
    let session_id = Uuid::now_v7();
    let now = Utc::now();
    tenancy
        .control_tx(async |c| {
            diesel::insert_into(operator_sessions::table)
                .values((
                    operator_sessions::id.eq(session_id),
                    operator_sessions::operator_id.eq(operator_id),
                    operator_sessions::expires_at.eq(now + OPERATOR_SESSION_TTL),
                ))
                .execute(c)
                .await
                .map_err(DoorError::from)?;
            Ok::<_, DomainError>(())
        })
        .await?;
    event(
        tenancy,
        Some(operator_id),
        "operator.login",
        None,
        "success",
        request_id.as_deref(),
    )
    .await?;
    signer
        .issue_platform(operator_id, session_id, now)
        .map_err(|e| DomainError::Internal(e.to_string()))
}

/// A platform token → the operator, if the session and account are still live.
pub async fn authenticate(
    tenancy: &Tenancy,
    signer: &TokenSigner,
    token: &str,
    request_id: Option<String>,
) -> DomainResult<Operator> {
    let claims = signer
        .verify_platform(token)
        .map_err(|_| DomainError::Unauthenticated("operator token is invalid or expired"))?;
    let found: Option<String> = tenancy
        .control_tx(async |c| {
            operator_sessions::table
                .inner_join(operators::table)
                .filter(operator_sessions::id.eq(claims.sid))
                .filter(operator_sessions::operator_id.eq(claims.sub))
                .filter(operator_sessions::revoked_at.is_null())
                .filter(operator_sessions::expires_at.gt(diesel::dsl::now))
                .filter(operators::status.eq("active"))
                .select(operators::email)
                .first(c)
                .await
                .optional()
                .map_err(DoorError::from)
        })
        .await?;
    let email = found.ok_or(DomainError::Unauthenticated(
        "operator session is invalid, expired or revoked",
    ))?;
    Ok(Operator {
        id: claims.sub,
        email,
        session_id: claims.sid,
        request_id,
    })
}

pub async fn logout(tenancy: &Tenancy, op: &Operator) -> DomainResult<()> {
    tenancy
        .control_tx(async |c| {
            diesel::update(operator_sessions::table.find(op.session_id))
                .set(operator_sessions::revoked_at.eq(diesel::dsl::now))
                .execute(c)
                .await
                .map_err(DoorError::from)?;
            Ok::<_, DomainError>(())
        })
        .await?;
    event(
        tenancy,
        Some(op.id),
        "operator.logout",
        None,
        "success",
        op.request_id.as_deref(),
    )
    .await
}

pub async fn list_tenants(tenancy: &Tenancy, op: &Operator) -> DomainResult<Vec<TenantRecord>> {
    let list = provision::list(tenancy).await?;
    event(
        tenancy,
        Some(op.id),
        "tenant.list",
        None,
        "success",
        op.request_id.as_deref(),
    )
    .await?;
    Ok(list)
}

/// Registers a tenant, migrates its schema, creates its first institution admin and activates
/// it. Returns the record and the admin's one-time set-up secret (to be emailed, never shown).
pub async fn create_tenant(
    tenancy: &Tenancy,
    op: &Operator,
    slug: &str,
    name: &str,
    kind: TenantKind,
    admin_email: &str,
    shard: &str,
) -> DomainResult<(TenantRecord, IssuedOneTimeToken)> {
    let slug = Slug::parse(slug).map_err(|e| DomainError::invalid("/slug", e.to_string()))?;
    let shard = ShardId::parse(shard)
        .ok_or_else(|| DomainError::invalid("/shard", "is not a shard name"))?;
    Email::parse(admin_email).map_err(|m| DomainError::invalid("/admin_email", m))?;
    let record = provision::create(tenancy, &slug, name, kind, &shard).await?;
    let admin = PersonName {
        given: Name::parse("Institution", 100).map_err(DomainError::Internal)?,
        family: Name::parse("Administrator", 100).map_err(DomainError::Internal)?,
    };
    let issued =
        crate::identity::service::create_first_admin(tenancy, &record.tenant, admin_email, admin)
            .await?;
    provision::activate(tenancy, &slug).await?;
    event(
        tenancy,
        Some(op.id),
        "tenant.create",
        Some(slug.as_str()),
        "success",
        op.request_id.as_deref(),
    )
    .await?;
    let refreshed = provision::list(tenancy)
        .await?
        .into_iter()
        .find(|r| r.tenant.slug == slug)
        .ok_or(DomainError::NotFound("tenant"))?;
    Ok((refreshed, issued))
}

pub async fn set_status(
    tenancy: &Tenancy,
    op: &Operator,
    slug: &str,
    status: TenantStatus,
) -> DomainResult<TenantRecord> {
    let slug = Slug::parse(slug).map_err(|_| DomainError::NotFound("tenant"))?;
    let current = provision::list(tenancy)
        .await?
        .into_iter()
        .find(|r| r.tenant.slug == slug)
        .ok_or(DomainError::NotFound("tenant"))?;
    if current.tenant.status == TenantStatus::Provisioning {
        return Err(DomainError::Conflict(
            "the tenant is still being provisioned".into(),
        ));
    }
    provision::set_status(tenancy, &slug, status).await?;
    let action = if status == TenantStatus::Suspended {
        "tenant.suspend"
    } else {
        "tenant.activate"
    };
    event(
        tenancy,
        Some(op.id),
        action,
        Some(slug.as_str()),
        "success",
        op.request_id.as_deref(),
    )
    .await?;
    provision::list(tenancy)
        .await?
        .into_iter()
        .find(|r| r.tenant.slug == slug)
        .ok_or(DomainError::NotFound("tenant"))
}
