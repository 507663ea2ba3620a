//! Schema migrations for both universes: the control schema (once per primary cluster) and
//! every tenant schema (once per tenant, on the tenant's shard).
//!
//! * Control first, then tenants with bounded concurrency.
//! * Each tenant is migrated in **one transaction** (all of its pending migrations or none),
//!   with the search_path set transaction-locally to its schema, exactly like every other
//!   tenant transaction. Diesel's `__diesel_schema_migrations` therefore lives inside each
//!   tenant schema and is that tenant's schema version; the latest version is mirrored into
//!   `control.tenants.schema_version` so a rerun skips tenants that are up to date.
//! * One tenant's failure does not stop the others: it is recorded in
//!   `control.tenants.migration_error` and reported; a rerun retries exactly the tenants that
//!   are behind or failed.

use std::time::Instant;

use diesel::Connection as _;
use diesel::RunQueryDsl as _;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::sql_types::Text;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures::StreamExt;

use crate::door::Tenancy;
use crate::error::DoorError;
use crate::pool;
use crate::registry::{ShardId, TenantRecord, TenantRef, repo};

/// Control-plane migrations (`migrations/control`).
pub const CONTROL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/control");
/// Tenant-plane migrations (`migrations/tenant`), applied inside each tenant schema.
pub const TENANT_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/tenant");

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Door(#[from] DoorError),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("migration task failed: {0}")]
    Task(String),
}

/// What happened to one tenant in a `migrate` run.
#[derive(Debug, Clone)]
pub struct TenantOutcome {
    pub slug: String,
    pub schema: String,
    pub shard: String,
    pub from_version: Option<String>,
    /// Versions applied in this run (empty when already up to date).
    pub applied: Vec<String>,
    pub error: Option<String>,
    pub millis: u128,
}

/// The whole run, for the CLI summary.
#[derive(Debug, Clone, Default)]
pub struct MigrationReport {
    pub control_applied: Vec<String>,
    pub latest_tenant_version: String,
    pub tenants: Vec<TenantOutcome>,
    /// Tenants already at the latest version and not touched.
    pub up_to_date: usize,
}

impl MigrationReport {
    pub fn failed(&self) -> impl Iterator<Item = &TenantOutcome> {
        self.tenants.iter().filter(|t| t.error.is_some())
    }
}

/// The newest version a source holds (the version every tenant should end at).
pub fn latest_version<S: MigrationSource<Pg>>(source: &S) -> Result<String, MigrateError> {
    source
        .migrations()
        .map_err(|e| MigrateError::Migration(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
        .ok_or_else(|| MigrateError::Migration("no migrations found".into()))
}

/// Runs pending migrations over an owned connection on a blocking thread, inside one
/// transaction whose first statements create the schema (if missing) and scope the
/// search_path to it. Returns the versions applied.
async fn run_in_schema<S>(
    conn: AsyncPgConnection,
    schema: String,
    create_schema: bool,
    source: S,
) -> Result<Vec<String>, MigrateError>
where
    S: MigrationSource<Pg> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> =
            AsyncConnectionWrapper::from(conn);
        conn.transaction::<_, MigrateError, _>(|c| {
            if create_schema {
                diesel::sql_query(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                    .execute(c)?;
            }
            diesel::sql_query("SELECT set_config('search_path', $1, true)")
                .bind::<Text, _>(&schema)
                .execute(c)?;
            if schema != "control" {
                prepare_app_role(c, &schema)?;
            }
            let applied = c
                .run_pending_migrations(source)
                .map_err(|e| MigrateError::Migration(e.to_string()))?
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<String>>();
            if schema != "control" {
                seal_migrations_table(c, &schema)?;
            }
            Ok(applied)
        })
    })
    .await
    .map_err(|e| MigrateError::Task(e.to_string()))?
}

/// The per-shard job outbox (idempotent DDL, run on every `migrate`). Rows carry their tenant's
/// registry id; `status` goes pending → published (broker mode) → done, or dead after the
/// bounded retries. No personal data: payloads hold ids only.
const JOBS_SCHEMA: &[&str] = &[
    "CREATE SCHEMA IF NOT EXISTS swiftacare_jobs",
    "REVOKE ALL ON SCHEMA swiftacare_jobs FROM PUBLIC",
    "CREATE TABLE IF NOT EXISTS swiftacare_jobs.outbox (
        id           uuid PRIMARY KEY,
        tenant_id    bigint NOT NULL,
        kind         text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
        payload      jsonb NOT NULL,
        available_at timestamptz NOT NULL DEFAULT now(),
        status       text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'published', 'done', 'dead')),
        attempts     integer NOT NULL DEFAULT 0,
        last_error   text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        done_at      timestamptz
    )",
    "CREATE INDEX IF NOT EXISTS outbox_due ON swiftacare_jobs.outbox (available_at) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS outbox_tenant ON swiftacare_jobs.outbox (tenant_id, created_at)",
    "GRANT USAGE ON SCHEMA swiftacare_jobs TO swiftacare_app",
    "GRANT SELECT, INSERT, UPDATE ON swiftacare_jobs.outbox TO swiftacare_app",
];

/// The application role's privileges in a tenant schema, set up before its migrations run:
/// usage of the schema, and — by default privileges — read/write on every table and sequence a
/// migration creates. Nothing here scans the catalog, so the cost per tenant does not grow with
/// the number of tenants (QUALITY B6). Append-only tables revoke in their own migration.
fn prepare_app_role(
    c: &mut AsyncConnectionWrapper<AsyncPgConnection>,
    schema: &str,
) -> diesel::QueryResult<()> {
    let role = pool::APP_ROLE;
    for stmt in [
        format!("GRANT USAGE ON SCHEMA \"{schema}\" TO {role}"),
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA \"{schema}\" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
        ),
        format!(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA \"{schema}\" GRANT USAGE, SELECT ON SEQUENCES TO {role}"
        ),
    ] {
        diesel::sql_query(stmt).execute(c)?;
    }
    Ok(())
}

/// After the migrations: the application role reads but never writes the migrations table.
fn seal_migrations_table(
    c: &mut AsyncConnectionWrapper<AsyncPgConnection>,
    schema: &str,
) -> diesel::QueryResult<()> {
    diesel::sql_query(format!(
        "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON \"{schema}\".__diesel_schema_migrations FROM {}",
        pool::APP_ROLE
    ))
    .execute(c)
    .map(|_| ())
}

async fn own_connection(
    tenancy: &Tenancy,
    shard: &ShardId,
) -> Result<AsyncPgConnection, MigrateError> {
    let url = tenancy.url(shard)?;
    pool::connect_as_owner(url).await.map_err(|e| {
        MigrateError::Door(DoorError::Unavailable {
            shard: shard.to_string(),
            reason: e.to_string(),
        })
    })
}

/// Applies the control migrations on the primary shard and creates every shard's empty schema.
pub async fn migrate_control(tenancy: &Tenancy) -> Result<Vec<String>, MigrateError> {
    // The empty schema must exist on every shard before pooled connections use it.
    for shard in tenancy.shards().cloned().collect::<Vec<_>>() {
        let conn = own_connection(tenancy, &shard).await?;
        let create_only = tokio::task::spawn_blocking(move || {
            let mut conn: AsyncConnectionWrapper<AsyncPgConnection> =
                AsyncConnectionWrapper::from(conn);
            diesel::sql_query(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                pool::EMPTY_SCHEMA
            ))
            .execute(&mut conn)?;
            diesel::sql_query(format!(
                "REVOKE ALL ON SCHEMA {} FROM PUBLIC",
                pool::EMPTY_SCHEMA
            ))
            .execute(&mut conn)?;
            // btree_gist backs the scheduling exclusion constraints (no provider or client
            // is ever double-booked). Extensions are per database, so each shard gets it once,
            // here, in a schema of its own that no tenant owns (dropping a tenant cannot
            // take it away). Constraints hold its operator classes by OID, so tenant
            // transactions never need it on their search_path.
            diesel::sql_query(format!("CREATE SCHEMA IF NOT EXISTS {}", pool::EXT_SCHEMA))
                .execute(&mut conn)?;
            diesel::sql_query(format!(
                "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA {}",
                pool::EXT_SCHEMA
            ))
            .execute(&mut conn)
        });
        create_only
            .await
            .map_err(|e| MigrateError::Task(e.to_string()))??;
    }
    let conn = own_connection(tenancy, &ShardId::primary()).await?;
    let applied = run_in_schema(conn, "control".into(), true, CONTROL_MIGRATIONS).await?;
    // The job outbox lives beside the tenant schemas on every shard, so a job is written in
    // the same transaction as the change that causes it (after the control migrations: the
    // application role must exist for the grants).
    for shard in tenancy.shards().cloned().collect::<Vec<_>>() {
        let conn = own_connection(tenancy, &shard).await?;
        tokio::task::spawn_blocking(move || {
            let mut conn: AsyncConnectionWrapper<AsyncPgConnection> =
                AsyncConnectionWrapper::from(conn);
            for stmt in JOBS_SCHEMA {
                diesel::sql_query(*stmt).execute(&mut conn)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .await
        .map_err(|e| MigrateError::Task(e.to_string()))??;
    }
    // Every configured shard is registered, so tenants can be placed on it.
    let shards: Vec<ShardId> = tenancy.shards().cloned().collect();
    tenancy
        .control_tx(async |c| {
            for shard in &shards {
                repo::register_shard(c, shard).await?;
            }
            Ok::<_, DoorError>(())
        })
        .await?;
    Ok(applied)
}

/// Migrates one tenant's schema (creating it when missing) and records the outcome in the
/// registry. Never returns early on the tenant's own failure: the outcome says what happened.
pub async fn migrate_tenant<S>(tenancy: &Tenancy, record: &TenantRecord, source: S) -> TenantOutcome
where
    S: MigrationSource<Pg> + Send + 'static,
{
    let started = Instant::now();
    let t: &TenantRef = &record.tenant;
    let result = async {
        let conn = own_connection(tenancy, &t.shard).await?;
        run_in_schema(conn, t.schema.as_str().to_owned(), true, source).await
    }
    .await;
    let (applied, error) = match result {
        Ok(applied) => (applied, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let new_version = applied
        .iter()
        .max()
        .cloned()
        .or_else(|| record.schema_version.clone());
    let id = t.id;
    let recorded = tenancy
        .control_tx(async |c| {
            repo::record_migration(c, id, new_version.as_deref(), error.as_deref())
                .await
                .map_err(DoorError::from)
        })
        .await;
    let error = match (error, recorded) {
        (Some(e), _) => Some(e),
        (None, Err(e)) => Some(format!("migrated, but recording the version failed: {e}")),
        (None, Ok(())) => None,
    };
    if let Some(e) = &error {
        tracing::warn!(tenant_id = t.id, schema = %t.schema, error = %e, "tenant migration failed");
    }
    TenantOutcome {
        slug: t.slug.to_string(),
        schema: t.schema.to_string(),
        shard: t.shard.to_string(),
        from_version: record.schema_version.clone(),
        applied,
        error,
        millis: started.elapsed().as_millis(),
    }
}

/// A migration source shared by the concurrent tenant tasks (diesel's sources are not `Clone`).
pub struct Shared<S>(std::sync::Arc<S>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<S: MigrationSource<Pg>> MigrationSource<Pg> for Shared<S> {
    fn migrations(
        &self,
    ) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<Pg>>>> {
        self.0.migrations()
    }
}

/// Control first, then every tenant that is behind, `concurrency` at a time.
pub async fn migrate_all<S>(
    tenancy: &Tenancy,
    source: S,
    concurrency: usize,
) -> Result<MigrationReport, MigrateError>
where
    S: MigrationSource<Pg> + Send + Sync + 'static,
{
    let source = Shared(std::sync::Arc::new(source));
    let control_applied = migrate_control(tenancy).await?;
    let latest = latest_version(&source)?;
    let (all, behind) = tenancy
        .control_tx(async |c| {
            let all = repo::list(c).await?.len();
            let behind = repo::list_behind(c, &latest).await?;
            Ok::<_, DoorError>((all, behind))
        })
        .await?;
    let tenants: Vec<TenantOutcome> = futures::stream::iter(behind)
        .map(|record| {
            let source = source.clone();
            async move { migrate_tenant(tenancy, &record, source).await }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut tenants = tenants;
    tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(MigrationReport {
        control_applied,
        latest_tenant_version: latest,
        up_to_date: all - tenants.len(),
        tenants,
    })
}
