//! QUALITY T4 and fail-closed: the search_path never outlives its transaction.
//!
//! Two tenants hammer a pool of two connections with interleaved transactions, a third of which
//! end in an error, a database error or a panic after they scoped the search_path; every row any
//! transaction reads must belong to its own tenant, and afterwards an unscoped query still fails.

use std::sync::Arc;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use tenancy::migrate::{self, TENANT_MIGRATIONS};
use tenancy::{DoorError, ShardId, Slug, Tenancy, TenantKind, TenantRef, provision};

use crate::support::{TestDb, options};

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(Debug, thiserror::Error)]
enum TestError {
    #[error(transparent)]
    Door(#[from] DoorError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error("deliberate failure")]
    Deliberate,
}

async fn setup(pool_size: usize) -> (TestDb, Tenancy, TenantRef, TenantRef) {
    let db = TestDb::new();
    let tenancy = Tenancy::new(options(&db.url, pool_size)).expect("tenancy");
    migrate::migrate_all(&tenancy, TENANT_MIGRATIONS, 2)
        .await
        .expect("migrate");
    let mut tenants = Vec::new();
    for slug in ["alpha", "bravo"] {
        let s = Slug::parse(slug).expect("slug");
        let r = provision::create(&tenancy, &s, slug, TenantKind::Clinic, &ShardId::primary())
            .await
            .expect("create");
        provision::activate(&tenancy, &s).await.expect("activate");
        // Rows whose names carry the owner's slug.
        for i in 0..5 {
            let name = format!("{slug}-dept-{i}");
            tenancy
                .tx(&r.tenant, async |c| {
                    diesel::sql_query("INSERT INTO departments (id, name, kind) VALUES (gen_random_uuid(), $1, 'unit')")
                        .bind::<Text, _>(&name)
                        .execute(c)
                        .await?;
                    Ok::<_, TestError>(())
                })
                .await
                .expect("seed");
        }
        tenants.push(r.tenant);
    }
    let b = tenants.pop().expect("bravo");
    let a = tenants.pop().expect("alpha");
    (db, tenancy, a, b)
}

async fn read_names(tenancy: &Tenancy, t: &TenantRef) -> Result<Vec<String>, TestError> {
    tenancy
        .tx(t, async |c| {
            let rows: Vec<NameRow> = diesel::sql_query("SELECT name FROM departments")
                .load(c)
                .await?;
            Ok::<_, TestError>(rows.into_iter().map(|r| r.name).collect())
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_path_never_leaks_between_tenants() {
    let (_db, tenancy, a, b) = setup(2).await;
    let tenancy = Arc::new(tenancy);
    let mut tasks = Vec::new();
    for i in 0..240 {
        let tenancy = tenancy.clone();
        let t = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let own = format!("{}-", t.slug);
            match i % 6 {
                // Scope, write, then fail: the write must roll back and the scope must end.
                1 => {
                    let r = tenancy
                        .tx(&t, async |c| {
                            diesel::sql_query("INSERT INTO departments (id, name, kind) VALUES (gen_random_uuid(), 'ghost', 'unit')")
                                .execute(c)
                                .await?;
                            Err::<(), _>(TestError::Deliberate)
                        })
                        .await;
                    assert!(matches!(r, Err(TestError::Deliberate)));
                }
                // Scope, then a database error mid-transaction.
                3 => {
                    let r = tenancy
                        .tx(&t, async |c| {
                            diesel::sql_query("SELECT no_such_column FROM departments").execute(c).await?;
                            Ok::<_, TestError>(())
                        })
                        .await;
                    assert!(matches!(r, Err(TestError::Db(_))));
                }
                // Scope, then panic while holding the connection.
                5 => {
                    let inner = tokio::spawn({
                        let tenancy = tenancy.clone();
                        let t = t.clone();
                        async move {
                            let _ = tenancy
                                .tx(&t, async |c| {
                                    diesel::sql_query("SELECT 1").execute(c).await?;
                                    if t.slug.as_str() != "never" {
                                        panic!("deliberate panic inside a tenant transaction");
                                    }
                                    Ok::<_, TestError>(())
                                })
                                .await;
                        }
                    });
                    assert!(inner.await.is_err(), "the inner task panicked");
                }
                _ => {
                    let names = read_names(&tenancy, &t).await.expect("read");
                    assert_eq!(names.len(), 5, "{} saw {names:?}", t.slug);
                    for n in names {
                        assert!(n.starts_with(&own), "{} read another tenant's row {n}", t.slug);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    // No ghost rows survived, and the pool's connections are back in the empty schema.
    for t in [&a, &b] {
        let names = read_names(&tenancy, t).await.expect("read");
        assert!(
            names.iter().all(|n| n != "ghost"),
            "a rolled-back write survived in {}",
            t.slug
        );
    }
    for _ in 0..4 {
        assert_unscoped_query_fails(&tenancy).await;
    }
}

async fn assert_unscoped_query_fails(tenancy: &Tenancy) {
    let r = tenancy
        .control_tx(async |c| {
            let rows: Vec<NameRow> = diesel::sql_query("SELECT name FROM departments")
                .load(c)
                .await?;
            Ok::<_, TestError>(rows)
        })
        .await;
    match r {
        Err(TestError::Db(e)) => assert!(e.to_string().contains("does not exist"), "{e}"),
        other => panic!(
            "an unscoped query must fail closed, got {:?}",
            other.map(|r| r.len())
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_outside_the_door_fails_closed() {
    let (_db, tenancy, a, _b) = setup(1).await;
    // Even right after a scoped transaction on the only connection.
    read_names(&tenancy, &a).await.expect("scoped read works");
    assert_unscoped_query_fails(&tenancy).await;
    // The empty schema holds nothing an unscoped query could find.
    let n = tenancy
        .control_tx(async |c| {
            #[derive(QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let rows: Vec<Count> = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace \
                 WHERE s.nspname = 'swiftacare_empty'",
            )
            .load(c)
            .await?;
            Ok::<_, TestError>(rows.into_iter().next().map(|r| r.n).unwrap_or(-1))
        })
        .await
        .expect("count");
    assert_eq!(n, 0, "swiftacare_empty must stay empty");
}
