//! Reading the audit log: institution admins only, and every read is itself audited.

use tenancy::{Tenancy, TenantRef};

use super::model::{Actor, AuditEntry, AuditFilter, Event};
use super::{chain, repo};
use crate::error::{DomainError, DomainResult};
use crate::identity::{Principal, Role};

pub const MAX_PAGE: i64 = 500;
pub const MAX_EXPORT: i64 = 100_000;

fn require_admin(p: &Principal) -> DomainResult<()> {
    if p.has(Role::InstitutionAdmin) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only institution administrators may read the audit log",
        ))
    }
}

pub async fn search(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    filter: AuditFilter,
) -> DomainResult<Vec<AuditEntry>> {
    read_log(tenancy, tenant, p, filter, "audit.search").await
}

pub async fn export(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    filter: AuditFilter,
) -> DomainResult<Vec<AuditEntry>> {
    read_log(tenancy, tenant, p, filter, "audit.export").await
}

/// Reads matching entries and records the read itself (as `action`) in the same transaction.
async fn read_log(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    filter: AuditFilter,
    action: &'static str,
) -> DomainResult<Vec<AuditEntry>> {
    require_admin(p)?;
    tenancy
        .tx(tenant, async |c| {
            let entries = repo::query(c, &filter).await?;
            repo::record(
                c,
                &Actor::from(p),
                Event::new(action).detail("rows", entries.len() as u64),
            )
            .await?;
            Ok(entries)
        })
        .await
}

/// Walks the tenant's chain (operators' `swiftacare audit verify`).
pub async fn verify_tenant(
    tenancy: &Tenancy,
    tenant: &TenantRef,
) -> DomainResult<chain::VerifyReport> {
    tenancy
        .tx(tenant, async |c| {
            Ok::<_, DomainError>(chain::verify(c).await?)
        })
        .await
}
