//! Connection pools, one per shard. Every connection is opened with
//! `search_path = swiftacare_empty` (an empty schema nobody may write to), so any query that
//! does not go through [`crate::Tenancy::tx`] fails closed.

use std::str::FromStr;
use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use futures::FutureExt;

/// The schema every application connection starts in. Created by the first control migration.
pub const EMPTY_SCHEMA: &str = "swiftacare_empty";
/// Per-shard schema holding the extensions tenant schemas rely on (btree_gist).
pub const EXT_SCHEMA: &str = "swiftacare_ext";

/// The role pooled connections act as (created by the control migrations). It may read and
/// write tenant tables but not change their structure, nor UPDATE/DELETE append-only tables.
/// In production, log in as a non-superuser member of this role: a superuser session could
/// `SET ROLE` back.
pub const APP_ROLE: &str = "swiftacare_app";

pub type PgPool = Pool<AsyncPgConnection>;

/// Opens one application connection: the fail-closed search_path, the application role and a
/// 30 s statement timeout. What the pools hand out.
pub async fn connect(url: &str) -> Result<AsyncPgConnection, ConnectionError> {
    open(url, 30_000, Some(APP_ROLE)).await
}

/// Opens a connection as the configured (owner) user, for migrations: no statement timeout,
/// no role switch (DDL needs the owner).
pub async fn connect_as_owner(url: &str) -> Result<AsyncPgConnection, ConnectionError> {
    open(url, 0, None).await
}

async fn open(
    url: &str,
    statement_timeout_ms: u64,
    role: Option<&str>,
) -> Result<AsyncPgConnection, ConnectionError> {
    let mut config = tokio_postgres::Config::from_str(url)
        .map_err(|e| ConnectionError::BadConnection(format!("invalid database URL: {e}")))?;
    // Statement timeout bounds a runaway query; search_path fails closed (see module docs).
    let role = role.map(|r| format!(" -c role={r}")).unwrap_or_default();
    config.options(format!(
        "-c search_path={EMPTY_SCHEMA} -c statement_timeout={statement_timeout_ms}{role}"
    ));
    config.application_name("swiftacare");
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// Builds a pool for one shard. Connections are created lazily, so building never fails on
/// an unreachable server; `/readyz` and the first request tell.
pub fn build(
    url: &str,
    max_size: usize,
    wait_timeout: Duration,
) -> Result<PgPool, diesel_async::pooled_connection::deadpool::BuildError> {
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    manager_config.custom_setup = Box::new(|url| connect(url).boxed());
    // Verified recycling runs `SELECT 1` before handing out a pooled connection, so a
    // connection killed by a server restart is replaced instead of failing a request.
    manager_config.recycling_method = RecyclingMethod::Verified;
    let manager = AsyncDieselConnectionManager::new_with_config(url, manager_config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(wait_timeout))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
}
