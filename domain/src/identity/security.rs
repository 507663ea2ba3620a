//! The tenant's security policy: session idle and absolute timeouts, and the roles that must
//! sign in with a second factor. Read inside every session check, so a change applies to the
//! next request.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};

use super::model::{Principal, Role};
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::schema::security_policy;

#[derive(Clone, Debug)]
pub struct SecurityPolicy {
    pub session_idle_minutes: i32,
    pub session_max_hours: i32,
    pub mfa_required_roles: Vec<Role>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl SecurityPolicy {
    pub fn idle(&self) -> Duration {
        Duration::minutes(self.session_idle_minutes as i64)
    }
    pub fn max_age(&self) -> Duration {
        Duration::hours(self.session_max_hours as i64)
    }
    pub fn requires_mfa(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.mfa_required_roles.contains(r))
    }
}

pub async fn load(c: &mut AsyncPgConnection) -> QueryResult<SecurityPolicy> {
    let (idle, max, roles, updated_at, version): (i32, i32, Vec<String>, DateTime<Utc>, i32) =
        security_policy::table
            .select((
                security_policy::session_idle_minutes,
                security_policy::session_max_hours,
                security_policy::mfa_required_roles,
                security_policy::updated_at,
                security_policy::version,
            ))
            .first(c)
            .await?;
    Ok(SecurityPolicy {
        session_idle_minutes: idle,
        session_max_hours: max,
        mfa_required_roles: roles.iter().filter_map(|r| Role::parse(r)).collect(),
        updated_at,
        version,
    })
}

fn require_admin(p: &Principal) -> DomainResult<()> {
    if p.has(Role::InstitutionAdmin) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only institution admins manage the security policy",
        ))
    }
}

pub async fn get(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
) -> DomainResult<SecurityPolicy> {
    require_admin(p)?;
    tenancy
        .tx(tenant, async |c| Ok::<_, DomainError>(load(c).await?))
        .await
}

#[derive(Clone, Debug, Default)]
pub struct PolicyPatch {
    pub session_idle_minutes: Option<i32>,
    pub session_max_hours: Option<i32>,
    pub mfa_required_roles: Option<Vec<Role>>,
}

pub async fn update(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    expected_version: i32,
    patch: PolicyPatch,
) -> DomainResult<SecurityPolicy> {
    require_admin(p)?;
    if let Some(m) = patch.session_idle_minutes
        && !(5..=480).contains(&m)
    {
        return Err(DomainError::invalid(
            "/session_idle_minutes",
            "must be between 5 and 480",
        ));
    }
    if let Some(h) = patch.session_max_hours
        && !(1..=168).contains(&h)
    {
        return Err(DomainError::invalid(
            "/session_max_hours",
            "must be between 1 and 168",
        ));
    }
    tenancy
        .tx(tenant, async |c| {
            let current = load(c).await?;
            if current.version != expected_version {
                return Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                });
            }
            let roles: Option<Vec<String>> = patch
                .mfa_required_roles
                .as_ref()
                .map(|r| r.iter().map(|x| x.as_str().to_owned()).collect());
            diesel::update(security_policy::table)
                .set((
                    patch
                        .session_idle_minutes
                        .map(|m| security_policy::session_idle_minutes.eq(m)),
                    patch
                        .session_max_hours
                        .map(|h| security_policy::session_max_hours.eq(h)),
                    roles.map(|r| security_policy::mfa_required_roles.eq(r)),
                    security_policy::version.eq(security_policy::version + 1),
                    security_policy::updated_at.eq(diesel::dsl::now),
                ))
                .execute(c)
                .await?;
            let updated = load(c).await?;
            let event = Event::new("security_policy.update")
                .detail("session_idle_minutes", updated.session_idle_minutes)
                .detail("session_max_hours", updated.session_max_hours)
                .detail(
                    "mfa_required_roles",
                    updated
                        .mfa_required_roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>(),
                );
            audit::record(c, &Actor::from(p), event).await?;
            Ok(updated)
        })
        .await
}
