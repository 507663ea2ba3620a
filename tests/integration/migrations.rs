//! Tenant migrations: one tenant's failure leaves the others migrated, is recorded and
//! reported, and a rerun completes exactly the tenants that are behind.

use std::path::Path;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use diesel_migrations::FileBasedMigrations;
use tenancy::migrate::{self, TENANT_MIGRATIONS};
use tenancy::{DoorError, ShardId, Slug, Tenancy, TenantKind, TenantRef, provision};

use crate::support::{TestDb, options};

#[derive(Debug, thiserror::Error)]
enum E {
    #[error(transparent)]
    Door(#[from] DoorError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn owner_sql(db: &TestDb, sql: &str) {
    let out = std::process::Command::new("psql")
        .arg(&db.url)
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

async fn table_exists(tenancy: &Tenancy, t: &TenantRef, table: &str) -> bool {
    tenancy
        .tx(t, async |c| {
            let rows: Vec<Count> = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1",
            )
            .bind::<Text, _>(table)
            .load(c)
            .await?;
            Ok::<_, E>(rows.into_iter().next().is_some_and(|r| r.n == 1))
        })
        .await
        .expect("query")
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_tenant_does_not_stop_the_others_and_a_rerun_resumes() {
    let db = TestDb::new();
    let tenancy = Tenancy::new(options(&db.url, 4)).expect("tenancy");
    migrate::migrate_all(&tenancy, TENANT_MIGRATIONS, 2)
        .await
        .expect("migrate");
    let mut tenants = Vec::new();
    for slug in ["one", "two", "three"] {
        let s = Slug::parse(slug).expect("slug");
        let r = provision::create(&tenancy, &s, slug, TenantKind::Clinic, &ShardId::primary())
            .await
            .expect("create");
        provision::activate(&tenancy, &s).await.expect("activate");
        tenants.push(r.tenant);
    }

    // A new release: the real migrations plus one more, in two steps.
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/tenant"),
        dir.path(),
    );
    let m1 = dir.path().join("2099-01-01-000001_add_notes");
    std::fs::create_dir_all(&m1).expect("mkdir");
    std::fs::write(
        m1.join("up.sql"),
        "CREATE TABLE notes (id uuid PRIMARY KEY);",
    )
    .expect("write");
    std::fs::write(m1.join("down.sql"), "DROP TABLE notes;").expect("write");
    let m2 = dir.path().join("2099-01-01-000002_add_tags");
    std::fs::create_dir_all(&m2).expect("mkdir");
    std::fs::write(
        m2.join("up.sql"),
        "CREATE TABLE tags (id uuid PRIMARY KEY);",
    )
    .expect("write");
    std::fs::write(m2.join("down.sql"), "DROP TABLE tags;").expect("write");

    // Sabotage tenant "two": the second new migration will collide with this table.
    // As the owner: the application role may not run DDL.
    owner_sql(
        &db,
        &format!("CREATE TABLE \"{}\".tags (x int)", tenants[1].schema),
    );

    let source = FileBasedMigrations::from_path(dir.path()).expect("migrations dir");
    let report = migrate::migrate_all(&tenancy, source, 3)
        .await
        .expect("run");
    assert_eq!(report.latest_tenant_version, "20990101000002");
    let failed: Vec<_> = report.failed().map(|t| t.slug.clone()).collect();
    assert_eq!(failed, vec!["two".to_owned()], "{report:?}");
    let two = report
        .tenants
        .iter()
        .find(|t| t.slug == "two")
        .expect("two reported");
    assert!(
        two.error.as_deref().is_some_and(|e| e.contains("tags")),
        "{:?}",
        two.error
    );
    for t in report.tenants.iter().filter(|t| t.slug != "two") {
        assert_eq!(
            t.applied,
            vec!["20990101000001".to_owned(), "20990101000002".to_owned()],
            "{t:?}"
        );
    }
    assert!(table_exists(&tenancy, &tenants[0], "notes").await);
    assert!(table_exists(&tenancy, &tenants[2], "notes").await);
    // All-or-nothing per tenant: "two" did not keep the first of the two new migrations.
    assert!(
        !table_exists(&tenancy, &tenants[1], "notes").await,
        "tenant two was half-migrated"
    );

    // The failure is recorded in the registry.
    let list = provision::list(&tenancy).await.expect("list");
    let rec = list
        .iter()
        .find(|r| r.tenant.slug.as_str() == "two")
        .expect("two");
    assert!(rec.migration_error.is_some());
    let released = migrate::latest_version(&TENANT_MIGRATIONS).expect("latest");
    assert_eq!(rec.schema_version.as_deref(), Some(released.as_str()));

    // Fix the cause; the rerun touches only "two" and completes.
    owner_sql(&db, &format!("DROP TABLE \"{}\".tags", tenants[1].schema));
    let source = FileBasedMigrations::from_path(dir.path()).expect("migrations dir");
    let report = migrate::migrate_all(&tenancy, source, 3)
        .await
        .expect("rerun");
    assert_eq!(report.tenants.len(), 1, "{report:?}");
    assert_eq!(report.tenants[0].slug, "two");
    assert!(report.tenants[0].error.is_none(), "{report:?}");
    assert_eq!(report.up_to_date, 2);
    assert!(table_exists(&tenancy, &tenants[1], "tags").await);
    let list = provision::list(&tenancy).await.expect("list");
    assert!(
        list.iter().all(|r| r.migration_error.is_none()
            && r.schema_version.as_deref() == Some("20990101000002"))
    );

    // And a third run has nothing to do.
    let source = FileBasedMigrations::from_path(dir.path()).expect("migrations dir");
    let report = migrate::migrate_all(&tenancy, source, 3)
        .await
        .expect("third run");
    assert!(report.tenants.is_empty());
    assert_eq!(report.up_to_date, 3);
}
