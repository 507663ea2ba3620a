//! [`Tenancy`]: the pools and the transaction helper every tenant query goes through.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::error::DoorError;
use crate::pool::{self, PgPool};
use crate::registry::{Registry, ShardId, TenantRef};

/// The bound diesel-async puts on transaction closures (its own `AsyncFunc` is private):
/// an async closure over the connection whose future is `Send`, so handlers stay `Send`.
pub trait TxFn<T, R>: AsyncFnOnce(T) -> R + FnOnce(T) -> <Self as TxFn<T, R>>::Fut {
    type Fut: Future<Output = R>;
}

impl<F, T, Fut, R> TxFn<T, R> for F
where
    F: AsyncFnOnce(T) -> R + FnOnce(T) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

/// `SELECT set_config('search_path', $1, true)` with a static query id, so diesel-async
/// prepares it once per connection and reuses it. As a `sql_query` it was prepared again in
/// every transaction (diesel never caches those): one more round trip per transaction.
struct SetSearchPath<'a>(&'a str);

impl QueryId for SetSearchPath<'_> {
    type QueryId = SetSearchPath<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for SetSearchPath<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql("SELECT set_config('search_path', ");
        out.push_bind_param::<Text, _>(self.0)?;
        out.push_sql(", true)");
        Ok(())
    }
}

/// How to reach the shards. `urls` must contain `primary` (the cluster holding `control`).
#[derive(Clone, Debug)]
pub struct TenancyOptions {
    pub urls: HashMap<ShardId, String>,
    /// Connections per shard pool.
    pub pool_size: usize,
    /// How long a request waits for a pooled connection before answering 503.
    pub pool_wait: Duration,
    /// How long a resolved tenant is cached; registry changes are visible after at most this.
    pub registry_ttl: Duration,
}

impl TenancyOptions {
    pub fn single(url: impl Into<String>) -> Self {
        TenancyOptions {
            urls: HashMap::from([(ShardId::primary(), url.into())]),
            pool_size: 16,
            pool_wait: Duration::from_secs(5),
            registry_ttl: Duration::from_secs(5),
        }
    }
}

struct Inner {
    pools: HashMap<ShardId, PgPool>,
    urls: HashMap<ShardId, String>,
    registry: Registry,
}

/// Cheap to clone; shared by every request and job.
#[derive(Clone)]
pub struct Tenancy {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Tenancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenancy")
            .field("shards", &self.inner.pools.keys())
            .finish()
    }
}

impl Tenancy {
    /// Builds one lazy pool per shard. Fails only on a malformed configuration.
    pub fn new(options: TenancyOptions) -> Result<Self, DoorError> {
        if !options.urls.contains_key(&ShardId::primary()) {
            return Err(DoorError::UnknownShard(ShardId::PRIMARY.to_string()));
        }
        let mut pools = HashMap::new();
        for (shard, url) in &options.urls {
            let pool = pool::build(url, options.pool_size, options.pool_wait).map_err(|e| {
                DoorError::Unavailable {
                    shard: shard.to_string(),
                    reason: e.to_string(),
                }
            })?;
            pools.insert(shard.clone(), pool);
        }
        Ok(Tenancy {
            inner: Arc::new(Inner {
                pools,
                urls: options.urls,
                registry: Registry::new(options.registry_ttl),
            }),
        })
    }

    /// Runs `f` inside a transaction scoped to `tenant`'s schema and nothing else.
    ///
    /// The first statement is `SELECT set_config('search_path', $schema, true)`: local to this
    /// transaction, so it ends with the commit or rollback and the pooled connection returns to
    /// the empty schema. If `f` errors (or panics), the transaction rolls back and the connection
    /// is either clean or discarded by the pool.
    pub async fn tx<R, E, F>(&self, tenant: &TenantRef, f: F) -> Result<R, E>
    where
        F: for<'r> TxFn<&'r mut AsyncPgConnection, Result<R, E>, Fut: Send> + Send,
        E: From<diesel::result::Error> + From<DoorError> + Send,
        R: Send,
    {
        let mut pooled = self.checkout(&tenant.shard).await?;
        let conn: &mut AsyncPgConnection = &mut pooled;
        let schema = tenant.schema.as_str();
        conn.transaction(async move |c: &mut AsyncPgConnection| {
            SetSearchPath(schema).execute(c).await?;
            f(c).await
        })
        .await
    }

    /// Runs `f` in a transaction on the primary shard, against the schema-qualified control
    /// tables. The search_path stays empty: tenant tables are unreachable from here.
    pub async fn control_tx<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: for<'r> TxFn<&'r mut AsyncPgConnection, Result<R, E>, Fut: Send> + Send,
        E: From<diesel::result::Error> + From<DoorError> + Send,
        R: Send,
    {
        let mut pooled = self.checkout(&ShardId::primary()).await?;
        let conn: &mut AsyncPgConnection = &mut pooled;
        conn.transaction(async move |c: &mut AsyncPgConnection| f(c).await)
            .await
    }

    /// Runs `f` in a transaction on `shard`, for the per-shard job outbox
    /// (`swiftacare_jobs.outbox`, schema-qualified). The search_path stays empty: no tenant
    /// table is reachable from here; a job re-enters its tenant through [`Tenancy::tx`].
    pub async fn jobs_tx<R, E, F>(&self, shard: &ShardId, f: F) -> Result<R, E>
    where
        F: for<'r> TxFn<&'r mut AsyncPgConnection, Result<R, E>, Fut: Send> + Send,
        E: From<diesel::result::Error> + From<DoorError> + Send,
        R: Send,
    {
        let mut pooled = self.checkout(shard).await?;
        let conn: &mut AsyncPgConnection = &mut pooled;
        conn.transaction(async move |c: &mut AsyncPgConnection| f(c).await)
            .await
    }

    /// The configured shards.
    pub fn shard_ids(&self) -> Vec<ShardId> {
        self.inner.pools.keys().cloned().collect()
    }

    /// A tenant by its registry id (jobs carry the id), straight from the registry.
    pub async fn resolve_id(&self, id: i64) -> Result<Option<TenantRef>, DoorError> {
        self.control_tx(async |c| {
            crate::registry::repo::find_id(c, id)
                .await
                .map(|r| r.map(|r| r.tenant))
                .map_err(DoorError::from)
        })
        .await
    }

    /// Resolves a tenant by slug through the cache (see [`crate::registry`]).
    pub async fn resolve(&self, slug: &crate::Slug) -> Result<Option<TenantRef>, DoorError> {
        self.inner.registry.resolve(self, slug).await
    }

    /// Drops one tenant from this process's cache (after a registry change made here).
    pub async fn invalidate(&self, slug: &crate::Slug) {
        self.inner.registry.invalidate(slug).await;
    }

    /// `SELECT 1` on every shard: what `/readyz` reports.
    pub async fn ping(&self) -> Result<(), DoorError> {
        for shard in self.inner.pools.keys() {
            let mut conn = self.checkout(shard).await?;
            diesel::sql_query("SELECT 1").execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Pool state per shard, for the metrics gauges: (shard, size, available, waiting).
    pub fn pool_status(&self) -> Vec<(String, usize, usize, usize)> {
        self.inner
            .pools
            .iter()
            .map(|(shard, pool)| {
                let s = pool.status();
                (shard.to_string(), s.size, s.available, s.waiting)
            })
            .collect()
    }

    pub(crate) fn url(&self, shard: &ShardId) -> Result<&str, DoorError> {
        self.inner
            .urls
            .get(shard)
            .map(String::as_str)
            .ok_or_else(|| DoorError::UnknownShard(shard.to_string()))
    }

    pub(crate) fn shards(&self) -> impl Iterator<Item = &ShardId> {
        self.inner.pools.keys()
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "the door itself checks connections out"
    )]
    async fn checkout(
        &self,
        shard: &ShardId,
    ) -> Result<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, DoorError>
    {
        let pool = self
            .inner
            .pools
            .get(shard)
            .ok_or_else(|| DoorError::UnknownShard(shard.to_string()))?;
        pool.get().await.map_err(|e| DoorError::Unavailable {
            shard: shard.to_string(),
            reason: e.to_string(),
        })
    }
}
