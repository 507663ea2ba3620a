//! Creating a tenant: register it in `control.tenants` (status `provisioning`), create and
//! migrate its schema on its shard, and — once the caller has created the first admin —
//! mark it `active`. Every step is resumable: running `tenant create` again for a tenant
//! stuck in `provisioning` picks up where it stopped.

use crate::door::Tenancy;
use crate::error::DoorError;
use crate::migrate::{self, TENANT_MIGRATIONS};
use crate::registry::{ShardId, Slug, TenantKind, TenantRecord, TenantStatus, repo};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("a tenant with slug {0} already exists")]
    SlugTaken(String),
    #[error("shard {0} is not configured")]
    UnknownShard(String),
    #[error("tenant name must be 1 to 200 characters")]
    InvalidName,
    #[error("migrating the new tenant's schema failed: {0}")]
    Migration(String),
    #[error("no tenant with slug {0}")]
    NotFound(String),
    #[error(transparent)]
    Door(#[from] DoorError),
}

impl From<diesel::result::Error> for ProvisionError {
    fn from(e: diesel::result::Error) -> Self {
        ProvisionError::Door(DoorError::Database(e))
    }
}

/// Registers (or resumes) a tenant and brings its schema to the latest version.
/// The tenant stays `provisioning` until [`activate`] is called.
pub async fn create(
    tenancy: &Tenancy,
    slug: &Slug,
    name: &str,
    kind: TenantKind,
    shard: &ShardId,
) -> Result<TenantRecord, ProvisionError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ProvisionError::InvalidName);
    }
    if tenancy.url(shard).is_err() {
        return Err(ProvisionError::UnknownShard(shard.to_string()));
    }
    let record = tenancy
        .control_tx(async |c| match repo::find(c, slug).await? {
            Some(existing) if existing.tenant.status == TenantStatus::Provisioning => Ok(existing),
            Some(_) => Err(ProvisionError::SlugTaken(slug.to_string())),
            None => Ok(repo::insert(c, slug, name, kind, shard).await?),
        })
        .await?;
    let outcome = migrate::migrate_tenant(tenancy, &record, TENANT_MIGRATIONS).await;
    if let Some(e) = outcome.error {
        return Err(ProvisionError::Migration(e));
    }
    Ok(record)
}

/// Sets a tenant's status (activate after provisioning, suspend, reinstate) and drops it from
/// this process's cache so the change applies to the next request here.
pub async fn set_status(
    tenancy: &Tenancy,
    slug: &Slug,
    status: TenantStatus,
) -> Result<(), ProvisionError> {
    let found = tenancy
        .control_tx(async |c| {
            repo::set_status(c, slug, status)
                .await
                .map_err(DoorError::from)
        })
        .await?;
    tenancy.invalidate(slug).await;
    if found {
        Ok(())
    } else {
        Err(ProvisionError::NotFound(slug.to_string()))
    }
}

pub async fn activate(tenancy: &Tenancy, slug: &Slug) -> Result<(), ProvisionError> {
    set_status(tenancy, slug, TenantStatus::Active).await
}

pub async fn list(tenancy: &Tenancy) -> Result<Vec<TenantRecord>, ProvisionError> {
    Ok(tenancy
        .control_tx(async |c| repo::list(c).await.map_err(DoorError::from))
        .await?)
}
