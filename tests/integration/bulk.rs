//! Bulk scheduling for institutions (issue 6) against the real database, with the embedded
//! runner driven by hand (`Runner::poll_once`): a 500-row CSV end to end with its report and
//! one mail per reminder, resubmission as a no-op, per-row reasons for bad input, fair shares
//! between departments competing for one provider, and who may submit and see a batch.

use std::collections::HashMap;

use poem::http::Method;
use serde_json::{Value, json};

use crate::jobs::{all_due, runner, until_waited_on};
use crate::scheduling::{all_week, appointment_type, calendar, hours};
use crate::support::{TenantCtx, TestApp, body, problem, read_eml, sql, sql_count};

pub async fn post_csv(
    app: &TestApp,
    slug: &str,
    token: &str,
    batch: &str,
    csv: String,
) -> poem::test::TestResponse {
    app.client
        .request(
            Method::POST,
            format!("/api/v1/bulk-batches?batch_id={batch}"),
        )
        .header("X-Tenant", slug)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
}

/// Runs the embedded runner until no job is due.
pub async fn drain(app: &TestApp) {
    let r = runner(app);
    for _ in 0..10_000 {
        if r.poll_once(50).await.expect("poll") == 0 {
            return;
        }
    }
    panic!("the outbox did not drain");
}

async fn progress(app: &TestApp, t: &TenantCtx, batch: &str) -> Value {
    let r = app
        .get(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            &format!("/api/v1/bulk-batches/{batch}"),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    body(r).await
}

/// The report as (line, status, reason) rows, header skipped.
async fn report(app: &TestApp, t: &TenantCtx, batch: &str) -> Vec<HashMap<String, String>> {
    let r = app
        .get(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            &format!("/api/v1/bulk-batches/{batch}/report"),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let ct = r.0.headers()["content-type"]
        .to_str()
        .expect("ct")
        .to_owned();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let text = r.0.into_body().into_string().await.expect("body");
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    rd.records()
        .map(|r| {
            let r = r.expect("record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// `n` active clients made in one statement (the API would take a request each).
async fn many_clients(app: &TestApp, t: &TenantCtx, prefix: &str, n: usize, dept: Option<&str>) {
    let dept = dept.map_or("NULL".to_owned(), |d| format!("'{d}'"));
    sql(
        app.db_url(),
        &format!(
            "INSERT INTO {}.people (id, kind, given_name, family_name, email, department_id)
             SELECT gen_random_uuid(), 'client', 'Bulk', 'Client ' || i, '{prefix}' || i || '@bulk.test', {dept}
             FROM generate_series(1, {n}) AS i",
            t.tenant.schema.as_str()
        ),
    )
    .await;
}

fn day(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_row_csv_is_booked_reported_and_reminded_once_each() {
    let app = TestApp::new().await;
    let t = app.tenant("bulk").await;
    let cal = calendar(&app, &t, "b", "UTC").await;
    many_clients(&app, &t, "c", 500, None).await;
    let mut csv = String::from("client_email,provider_id,type_id,window_from,window_until\n");
    for i in 1..=500 {
        csv.push_str(&format!(
            "c{i}@bulk.test,{},{},{},{}\n",
            cal.provider,
            cal.type_id,
            day(3),
            day(20)
        ));
    }
    let batch = uuid::Uuid::now_v7().to_string();
    let r = post_csv(&app, "bulk", &t.admin_token, &batch, csv.clone()).await;
    assert_eq!(r.0.status().as_u16(), 202);
    assert!(r.0.headers().contains_key("location"));
    let b = body(r).await;
    assert_eq!(
        (b["total"].as_i64(), b["replayed"].as_bool()),
        (Some(500), Some(false))
    );
    let p = progress(&app, &t, &batch).await;
    assert_eq!(
        (p["pending"].as_i64(), p["percent"].as_i64()),
        (Some(500), Some(0))
    );
    assert_eq!(p["status"], "running");

    // The same batch id again: the same answer, nothing new written.
    let jobs = "SELECT count(*) FROM swiftacare_jobs.outbox";
    let before = sql_count(app.db_url(), jobs).await;
    let chunks = 500usize.div_ceil(domain::scheduling::bulk::input::CHUNK) as i64;
    assert_eq!(before, chunks, "one job per chunk of rows");
    let r = post_csv(&app, "bulk", &t.admin_token, &batch, csv).await;
    assert_eq!(r.0.status().as_u16(), 202);
    assert_eq!(body(r).await["replayed"], true);
    assert_eq!(sql_count(app.db_url(), jobs).await, before);

    drain(&app).await;
    let p = progress(&app, &t, &batch).await;
    assert_eq!(
        (
            p["booked"].as_i64(),
            p["failed"].as_i64(),
            p["percent"].as_i64()
        ),
        (Some(500), Some(0), Some(100)),
        "{p}"
    );
    assert_eq!(p["status"], "completed");
    let rows = report(&app, &t, &batch).await;
    assert_eq!(rows.len(), 500);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "booked" && !r["appointment_id"].is_empty())
    );
    assert_eq!(rows[0]["line"], "2");

    // Every booking scheduled its reminders (48 h and 2 h before): once each.
    let schema = t.tenant.schema.as_str();
    let appts = sql_count(
        app.db_url(),
        &format!("SELECT count(*) FROM {schema}.appointments WHERE status = 'booked'"),
    )
    .await;
    assert_eq!(appts, 500);
    let reminders = sql_count(
        app.db_url(),
        "SELECT count(*) FROM swiftacare_jobs.outbox WHERE kind = 'reminder.send'",
    )
    .await;
    assert_eq!(reminders, 1000);
    all_due(&app).await;
    drain(&app).await;
    drain(&app).await;
    let mails = read_eml(app.mail_dir.path());
    assert_eq!(mails.len(), 1000, "one mail per reminder");
    for i in [1, 250, 500] {
        let to = format!("To: c{i}@bulk.test");
        assert_eq!(mails.iter().filter(|m| m.contains(&to)).count(), 2, "{to}");
    }
    // Audited: submission, one record per chunk naming the clients, completion.
    let audit =
        |action: &str| format!("SELECT count(*) FROM {schema}.audit_log WHERE action = '{action}'");
    assert_eq!(
        sql_count(app.db_url(), &audit("bulk_batch.submit")).await,
        1
    );
    assert_eq!(
        sql_count(app.db_url(), &audit("appointment.bulk_create")).await,
        chunks
    );
    assert_eq!(
        sql_count(app.db_url(), &audit("bulk_batch.complete")).await,
        1
    );
    let named = sql_count(
        app.db_url(),
        &format!("SELECT max(cardinality(subjects)) FROM {schema}.audit_log WHERE action = 'bulk_batch.report.read'"),
    )
    .await;
    assert_eq!(named, 500, "the report read names the clients it shows");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_reason_per_row_and_malformed_csv_a_422() {
    let app = TestApp::new().await;
    let t = app.tenant("bulkbad").await;
    let slug = "bulkbad";
    let cal = calendar(&app, &t, "b", "UTC").await;
    // Mornings only.
    hours(&app, &t, &cal.provider, "UTC", all_week("09:00", "12:00")).await;
    many_clients(&app, &t, "x", 6, None).await;
    let batch = uuid::Uuid::now_v7().to_string();

    // Not CSV at all: 422 naming the line, nothing recorded.
    let bad = format!(
        "client_email,provider_id,type_id,window_from,window_until\nx1@bulk.test,{},{},{},{}\nx2@bulk.test,oops\n",
        cal.provider,
        cal.type_id,
        day(3),
        day(4)
    );
    let p = problem(post_csv(&app, slug, &t.admin_token, &batch, bad).await, 422).await;
    assert!(p.to_string().contains("line 3"), "{p}");
    let p = problem(
        post_csv(
            &app,
            slug,
            &t.admin_token,
            &batch,
            "client_email,window_from\n".into(),
        )
        .await,
        422,
    )
    .await;
    assert!(p.to_string().contains("line 1"), "{p}");
    let r = app
        .get(
            slug,
            Some(&t.admin_token),
            &format!("/api/v1/bulk-batches/{batch}"),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 404);

    let (prov, ty, from, until) = (&cal.provider, &cal.type_id, day(3), day(4));
    let unknown = uuid::Uuid::now_v7();
    let csv = format!(
        "client_email,provider_id,type_id,window_from,window_until,preferred_times\n\
         x1@bulk.test,{prov},{ty},{from},{until},09:00-12:00\n\
         x2@bulk.test,{unknown},{ty},{from},{until},\n\
         nobody@bulk.test,{prov},{ty},{from},{until},\n\
         x3@bulk.test,{prov},{ty},{from},{until},14:00-16:00\n\
         x4@bulk.test,{prov},{ty},next week,{until},\n\
         x5@bulk.test,{prov},{ty},{from},{until},\n"
    );
    let r = post_csv(&app, slug, &t.admin_token, &batch, csv).await;
    assert_eq!(r.0.status().as_u16(), 202);
    let p = progress(&app, &t, &batch).await;
    assert_eq!(
        p["failed"].as_i64(),
        Some(3),
        "unparseable and unknown fail at once: {p}"
    );
    drain(&app).await;
    let p = progress(&app, &t, &batch).await;
    assert_eq!(
        (p["booked"].as_i64(), p["failed"].as_i64()),
        (Some(2), Some(4))
    );
    assert_eq!(p["percent"].as_i64(), Some(100));
    let rows = report(&app, &t, &batch).await;
    let reason = |line: &str| {
        let r = rows.iter().find(|r| r["line"] == line).expect("line");
        (r["status"].clone(), r["reason"].clone())
    };
    assert_eq!(reason("2").0, "booked");
    assert!(reason("3").1.contains("not an active provider you manage"));
    assert!(reason("4").1.contains("not an active client"));
    assert!(
        reason("5").1.contains("preferred times"),
        "{:?}",
        reason("5")
    );
    assert!(reason("6").1.contains("window_from must be"));
    assert_eq!(reason("7").0, "booked");
    // Nothing half-applied: exactly the booked rows have appointments and reminders.
    let schema = t.tenant.schema.as_str();
    let n = sql_count(
        app.db_url(),
        &format!("SELECT count(*) FROM {schema}.appointments WHERE client_id IN (SELECT id FROM {schema}.people WHERE email LIKE 'x%@bulk.test')"),
    )
    .await;
    assert_eq!(n, 2);
    let outside = sql_count(
        app.db_url(),
        &format!("SELECT count(*) FROM {schema}.appointments WHERE extract(hour FROM starts_at) NOT BETWEEN 9 AND 11"),
    )
    .await;
    assert_eq!(outside, 0, "only within working hours");
}

#[tokio::test(flavor = "multi_thread")]
async fn departments_competing_for_one_provider_get_fair_shares() {
    let app = TestApp::new().await;
    let t = app.tenant("bulkfair").await;
    let d1 = body_id(app.department(&t, "North", None).await);
    let d2 = body_id(app.department(&t, "South", None).await);
    let cal = calendar(&app, &t, "f", "UTC").await;
    // One morning of six 30-minute slots for twelve clients.
    hours(&app, &t, &cal.provider, "UTC", all_week("09:00", "12:00")).await;
    many_clients(&app, &t, "n", 6, Some(&d1)).await;
    many_clients(&app, &t, "s", 6, Some(&d2)).await;
    let mut csv = String::from("client_email,provider_id,type,window_from,window_until\n");
    // North's rows all come first in the file.
    for p in ["n", "s"] {
        for i in 1..=6 {
            csv.push_str(&format!(
                "{p}{i}@bulk.test,{},Session f,{},{}\n",
                cal.provider,
                day(5),
                day(5)
            ));
        }
    }
    let batch = uuid::Uuid::now_v7().to_string();
    let r = post_csv(&app, "bulkfair", &t.admin_token, &batch, csv).await;
    assert_eq!(r.0.status().as_u16(), 202);
    drain(&app).await;
    let rows = report(&app, &t, &batch).await;
    let booked = |lines: std::ops::RangeInclusive<i32>| {
        rows.iter()
            .filter(|r| lines.contains(&r["line"].parse::<i32>().expect("line")))
            .filter(|r| r["status"] == "booked")
            .count()
    };
    assert_eq!((booked(2..=7), booked(8..=13)), (3, 3), "{rows:?}");
    assert!(
        rows.iter()
            .filter(|r| r["status"] == "failed")
            .all(|r| r["reason"].contains("no free time"))
    );
}

fn body_id(v: Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn sub_admins_submit_for_their_subtree_and_see_only_their_batches() {
    use domain::identity::{Role, RoleGrant};
    let app = TestApp::new().await;
    let t = app.tenant("bulkrole").await;
    let slug = "bulkrole";
    let site = body_id(app.department(&t, "Site", None).await);
    let other = body_id(app.department(&t, "Other", None).await);
    let inside = app
        .person(&t, "provider", "In", "in@bulkrole.test", Some(&site))
        .await;
    let outside = app
        .person(&t, "provider", "Out", "out@bulkrole.test", Some(&other))
        .await;
    for p in [&inside, &outside] {
        hours(
            &app,
            &t,
            p["id"].as_str().expect("id"),
            "UTC",
            all_week("08:00", "18:00"),
        )
        .await;
    }
    let ty = appointment_type(&app, &t, "Check-in", json!({})).await;
    many_clients(&app, &t, "r", 2, Some(&site)).await;
    let staff = app
        .person(&t, "staff", "Sub", "sub@bulkrole.test", Some(&site))
        .await;
    let sub = app
        .account(
            &t,
            &staff,
            &[RoleGrant {
                role: Role::SubAdmin,
                department_id: Some(site.parse().expect("uuid")),
            }],
        )
        .await;
    let csv = format!(
        "client_email,provider_id,type_id,window_from,window_until\n\
         r1@bulk.test,{},{ty},{},{}\n\
         r2@bulk.test,{},{ty},{},{}\n",
        inside["id"].as_str().expect("id"),
        day(3),
        day(6),
        outside["id"].as_str().expect("id"),
        day(3),
        day(6),
    );
    let mine = uuid::Uuid::now_v7().to_string();
    let r = post_csv(&app, slug, &sub, &mine, csv.clone()).await;
    assert_eq!(r.0.status().as_u16(), 202);
    drain(&app).await;
    let rows = report(&app, &t, &mine).await;
    assert_eq!(rows[0]["status"], "booked");
    assert!(rows[1]["reason"].contains("not an active provider you manage"));
    // The admin's batch is not the sub-admin's to see; the id is taken for them too.
    let admins = uuid::Uuid::now_v7().to_string();
    let r = post_csv(&app, slug, &t.admin_token, &admins, csv.clone()).await;
    assert_eq!(r.0.status().as_u16(), 202);
    let r = app
        .get(slug, Some(&sub), &format!("/api/v1/bulk-batches/{admins}"))
        .await;
    problem(r, 404).await;
    problem(post_csv(&app, slug, &sub, &admins, csv).await, 409).await;
}

/// A provider working 09:00–`until` UTC every day, with a 30-minute type on a 30-minute grid.
async fn small_calendar(app: &TestApp, t: &TenantCtx, tag: &str, until: &str) -> (String, String) {
    let slug = t.tenant.slug.as_str();
    let p = app
        .person(t, "provider", "Prov", &format!("{tag}@{slug}.test"), None)
        .await;
    let provider = p["id"].as_str().expect("id").to_owned();
    hours(app, t, &provider, "UTC", all_week("09:00", until)).await;
    let ty = appointment_type(
        app,
        t,
        &format!("Edge {tag}"),
        json!({"slot_interval_minutes": 30}),
    )
    .await;
    (provider, ty)
}

/// The instant `hh:mm` UTC, `days` from today.
fn at_utc(days: i64, hh: u32, mm: u32) -> chrono::DateTime<chrono::Utc> {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .and_hms_opt(hh, mm, 0)
        .expect("time")
        .and_utc()
}

/// Rows of the report by client e-mail prefix: (status, starts_at, reason).
async fn outcome(app: &TestApp, t: &TenantCtx, batch: &str, line: i32) -> (String, String, String) {
    let rows = report(app, t, batch).await;
    let r = rows
        .iter()
        .find(|r| r["line"] == line.to_string())
        .expect("line");
    (
        r["status"].clone(),
        r["starts_at"].clone(),
        r["reason"].clone(),
    )
}

/// No two live appointments of one provider overlap (with buffers), nor of one client.
async fn assert_no_overlaps(app: &TestApp, schema: &str) {
    let n = sql_count(
        app.db_url(),
        &format!(
            "SELECT count(*) FROM {schema}.appointments a JOIN {schema}.appointments b
               ON a.id < b.id AND a.status <> 'cancelled' AND b.status <> 'cancelled'
              AND ((a.provider_id = b.provider_id
                    AND tstzrange(a.busy_from, a.busy_until) && tstzrange(b.busy_from, b.busy_until))
                OR (a.client_id = b.client_id
                    AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)))"
        ),
    )
    .await;
    assert_eq!(n, 0, "overlapping appointments");
}

/// Reminder jobs written per booked row of the batch: exactly two each (48 h and 2 h), none
/// for failed rows.
async fn assert_reminders_once(app: &TestApp, schema: &str, batch: &str) {
    let per_row = |status: &str| {
        format!(
            "SELECT count(*) FROM {schema}.bulk_rows r
               LEFT JOIN swiftacare_jobs.outbox o ON o.kind = 'reminder.send'
                    AND (o.payload->>'appointment_id')::uuid = r.appointment_id
              WHERE r.batch_id = '{batch}' AND r.status = '{status}'
              GROUP BY r.line HAVING count(o.id) <> {}",
            if status == "booked" { 2 } else { 0 }
        )
    };
    for status in ["booked", "failed"] {
        let bad = sql_count(
            app.db_url(),
            &format!("SELECT count(*) FROM ({}) x", per_row(status)),
        )
        .await;
        assert_eq!(
            bad, 0,
            "{status} rows with the wrong number of reminder jobs"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_of_one_chunk_competing_for_the_only_slot_get_it_once() {
    let app = TestApp::new().await;
    let t = app.tenant("bulkone").await;
    let (provider, ty) = small_calendar(&app, &t, "one", "09:30").await;
    many_clients(&app, &t, "o", 2, None).await;
    let csv = format!(
        "client_email,provider_id,type_id,window_from,window_until\n\
         o1@bulk.test,{provider},{ty},{d},{d}\n\
         o2@bulk.test,{provider},{ty},{d},{d}\n",
        d = day(5)
    );
    let batch = uuid::Uuid::now_v7().to_string();
    let r = post_csv(&app, "bulkone", &t.admin_token, &batch, csv).await;
    assert_eq!(r.0.status().as_u16(), 202);
    drain(&app).await;
    let (first, second) = (
        outcome(&app, &t, &batch, 2).await,
        outcome(&app, &t, &batch, 3).await,
    );
    assert_eq!(first.0, "booked", "{first:?}");
    assert_eq!(
        first.1.parse::<chrono::DateTime<chrono::Utc>>().ok(),
        Some(at_utc(5, 9, 0))
    );
    assert_eq!(second.0, "failed", "{second:?}");
    assert!(
        second.2.contains("no free time in the window"),
        "{second:?}"
    );
    let schema = t.tenant.schema.as_str();
    assert_eq!(
        sql_count(
            app.db_url(),
            &format!("SELECT count(*) FROM {schema}.appointments")
        )
        .await,
        1
    );
    // The booked row looks like any booking: the event row, booked by the submitter.
    let events = sql_count(
        app.db_url(),
        &format!(
            "SELECT count(*) FROM {schema}.appointment_events e
               JOIN {schema}.appointments a ON a.id = e.appointment_id
              WHERE e.action = 'booked' AND e.to_status = 'booked' AND e.from_status IS NULL
                AND e.actor_account = a.booked_by AND a.booked_by IS NOT NULL
                AND a.timezone = 'UTC' AND a.status = 'booked'"
        ),
    )
    .await;
    assert_eq!(events, 1);
    assert_reminders_once(&app, schema, &batch).await;
    let p = progress(&app, &t, &batch).await;
    assert_eq!(
        (
            p["booked"].as_i64(),
            p["failed"].as_i64(),
            p["status"].as_str()
        ),
        (Some(1), Some(1), Some("completed"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clients_own_appointments_and_earlier_rows_are_avoided() {
    let app = TestApp::new().await;
    let t = app.tenant("bulkmine").await;
    let slug = "bulkmine";
    let (p1, ty) = small_calendar(&app, &t, "m1", "11:00").await;
    let p2 = app
        .person(&t, "provider", "Two", "m2@bulkmine.test", None)
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    hours(&app, &t, &p2, "UTC", all_week("09:00", "11:00")).await;
    let p3 = app
        .person(&t, "provider", "Three", "m3@bulkmine.test", None)
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    hours(&app, &t, &p3, "UTC", all_week("09:00", "11:00")).await;
    many_clients(&app, &t, "k", 1, None).await;
    let k1: String = {
        let out = tokio::process::Command::new("psql")
            .args([
                "-X",
                "-tA",
                app.db_url(),
                "-c",
                &format!(
                    "SELECT id FROM {}.people WHERE email = 'k1@bulk.test'",
                    t.tenant.schema.as_str()
                ),
            ])
            .output()
            .await
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    // The client already sees a third provider at 09:00.
    let r = crate::scheduling::book_as(
        &app,
        slug,
        &t.admin_token,
        &p3,
        Some(&k1),
        &ty,
        at_utc(5, 9, 0),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);
    // Two rows for that client, same day, two free providers.
    let csv = format!(
        "client_email,provider_id,type_id,window_from,window_until\n\
         k1@bulk.test,{p1},{ty},{d},{d}\n\
         k1@bulk.test,{p2},{ty},{d},{d}\n",
        d = day(5)
    );
    let batch = uuid::Uuid::now_v7().to_string();
    let r = post_csv(&app, slug, &t.admin_token, &batch, csv).await;
    assert_eq!(r.0.status().as_u16(), 202);
    drain(&app).await;
    let starts = |o: &(String, String, String)| {
        assert_eq!(o.0, "booked", "{o:?}");
        o.1.parse::<chrono::DateTime<chrono::Utc>>()
            .expect("starts_at")
    };
    let first = starts(&outcome(&app, &t, &batch, 2).await);
    let second = starts(&outcome(&app, &t, &batch, 3).await);
    assert_eq!(first, at_utc(5, 9, 30), "not on top of their own 09:00");
    assert_eq!(
        second,
        at_utc(5, 10, 0),
        "not on top of the row before either"
    );
    assert_no_overlaps(&app, t.tenant.schema.as_str()).await;
}

/// A transaction of its own that books `provider` at `start` (30 minutes) for a client outside
/// the batch and stays open: a person booking by hand while a chunk is being placed.
#[expect(
    clippy::disallowed_methods,
    reason = "a second session outside the app, holding its transaction open on purpose"
)]
async fn held_booking(
    url: &str,
    schema: &str,
    provider: &str,
    client: &str,
    ty: &str,
    start: chrono::DateTime<chrono::Utc>,
) -> (tokio_postgres::Client, String) {
    let (db, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let end = start + chrono::Duration::minutes(30);
    let (s, e) = (start.to_rfc3339(), end.to_rfc3339());
    db.batch_execute(&format!(
        "BEGIN; INSERT INTO {schema}.appointments (id, provider_id, client_id, type_id, starts_at,
           ends_at, busy_from, busy_until, timezone, status)
         VALUES (gen_random_uuid(), '{provider}', '{client}', '{ty}', '{s}', '{e}', '{s}', '{e}',
           'UTC', 'booked')"
    ))
    .await
    .expect("held insert");
    let xid: String = db
        .query_one("SELECT pg_current_xact_id()::text", &[])
        .await
        .expect("xid")
        .get(0);
    (db, xid)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slot_taken_by_a_concurrent_booking_is_placed_again_or_failed_never_double_booked() {
    let app = TestApp::new().await;
    let t = app.tenant("bulkrace").await;
    let slug = "bulkrace";
    let schema = t.tenant.schema.as_str().to_owned();
    // Three slots a day: 09:00, 09:30, 10:00.
    let (provider, ty) = small_calendar(&app, &t, "race", "10:30").await;
    let walk_in = crate::scheduling::client(&app, &t, "walkin").await;
    many_clients(&app, &t, "r", 2, None).await;
    let row = |client: &str, days: i64| {
        format!(
            "client_email,provider_id,type_id,window_from,window_until\n\
             {client}@bulk.test,{provider},{ty},{d},{d}\n",
            d = day(days)
        )
    };

    // 1. Someone books 09:00 by hand after the chunk loaded the calendar, before its insert
    // lands: the row is placed again against fresh spans and gets 09:30.
    let (held, xid) = held_booking(
        app.db_url(),
        &schema,
        &provider,
        &walk_in,
        &ty,
        at_utc(5, 9, 0),
    )
    .await;
    let batch = uuid::Uuid::now_v7().to_string();
    let r = post_csv(&app, slug, &t.admin_token, &batch, row("r1", 5)).await;
    assert_eq!(r.0.status().as_u16(), 202);
    tokio::join!(drain(&app), async {
        until_waited_on(app.db_url(), &xid).await;
        held.batch_execute("COMMIT").await.expect("commit");
    });
    let o = outcome(&app, &t, &batch, 2).await;
    assert_eq!(o.0, "booked", "{o:?}");
    assert_eq!(
        o.1.parse::<chrono::DateTime<chrono::Utc>>().ok(),
        Some(at_utc(5, 9, 30)),
        "the next free slot"
    );
    assert_reminders_once(&app, &schema, &batch).await;

    // 2. Every slot of the day is taken by hand, one after another, each just as the chunk
    // tries it: after the bounded rounds the row fails with the reason.
    let mut held = Vec::new();
    for (hh, mm) in [(9, 0), (9, 30), (10, 0)] {
        held.push(
            held_booking(
                app.db_url(),
                &schema,
                &provider,
                &walk_in,
                &ty,
                at_utc(6, hh, mm),
            )
            .await,
        );
    }
    let batch = uuid::Uuid::now_v7().to_string();
    let r = post_csv(&app, slug, &t.admin_token, &batch, row("r2", 6)).await;
    assert_eq!(r.0.status().as_u16(), 202);
    tokio::join!(drain(&app), async {
        for (db, xid) in &held {
            until_waited_on(app.db_url(), xid).await;
            db.batch_execute("COMMIT").await.expect("commit");
        }
    });
    let o = outcome(&app, &t, &batch, 2).await;
    assert_eq!(o.0, "failed", "{o:?}");
    assert!(o.2.contains("taken by other bookings"), "{o:?}");
    assert_reminders_once(&app, &schema, &batch).await;
    let p = progress(&app, &t, &batch).await;
    assert_eq!(p["status"], "completed");

    // The walk-in bookings all stand; nothing overlaps.
    let walk_ins = sql_count(
        app.db_url(),
        &format!("SELECT count(*) FROM {schema}.appointments WHERE client_id = '{walk_in}'"),
    )
    .await;
    assert_eq!(walk_ins, 4);
    assert_no_overlaps(&app, &schema).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_are_listed_newest_first_and_a_sub_admin_sees_only_theirs() {
    use domain::identity::{Role, RoleGrant};
    let app = TestApp::new().await;
    let t = app.tenant("bulklist").await;
    let slug = "bulklist";
    let site = body_id(app.department(&t, "Site", None).await);
    let staff_person = app
        .person(&t, "staff", "Sub", "sub@bulklist.test", Some(&site))
        .await;
    let sub = app
        .account(
            &t,
            &staff_person,
            &[RoleGrant {
                role: Role::SubAdmin,
                department_id: Some(site.parse().expect("uuid")),
            }],
        )
        .await;
    let desk_person = app
        .person(&t, "staff", "Desk", "desk@bulklist.test", Some(&site))
        .await;
    let desk = app
        .account(
            &t,
            &desk_person,
            &[RoleGrant {
                role: Role::Staff,
                department_id: None,
            }],
        )
        .await;
    // Rows that fail on submit (unknown clients): each batch completes at once, no jobs needed.
    let csv = |n: usize| {
        let mut s = String::from("client_email,provider_id,type,window_from,window_until\n");
        for i in 0..n {
            s.push_str(&format!(
                "nobody{i}@bulklist.test,{},T,{},{}\n",
                uuid::Uuid::now_v7(),
                day(3),
                day(4)
            ));
        }
        s
    };
    // Ids chosen by the browser need not sort by time: v4 ids, submitted in this order.
    let mut admins = Vec::new();
    for n in 1..=3 {
        let batch = uuid::Uuid::new_v4().to_string();
        let r = post_csv(&app, slug, &t.admin_token, &batch, csv(n)).await;
        assert_eq!(r.0.status().as_u16(), 202);
        admins.push(batch);
    }
    let subs = uuid::Uuid::new_v4().to_string();
    let r = post_csv(&app, slug, &sub, &subs, csv(4)).await;
    assert_eq!(r.0.status().as_u16(), 202);

    let list = |token: String, query: String| {
        let app = &app;
        async move {
            let r = app
                .get(slug, Some(&token), &format!("/api/v1/bulk-batches{query}"))
                .await;
            assert_eq!(r.0.status().as_u16(), 200);
            body(r).await
        }
    };
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|b| b["batch_id"].as_str().expect("id").to_owned())
            .collect()
    };
    let all = list(t.admin_token.clone(), String::new()).await;
    let newest_first = vec![
        subs.clone(),
        admins[2].clone(),
        admins[1].clone(),
        admins[0].clone(),
    ];
    assert_eq!(ids(&all), newest_first);
    let first = &all["items"][0];
    assert_eq!(
        (
            first["total"].as_i64(),
            first["failed"].as_i64(),
            first["percent"].as_i64(),
            first["status"].as_str()
        ),
        (Some(4), Some(4), Some(100), Some("completed"))
    );
    // Two pages of two, the cursor being the last batch shown.
    let p1 = list(t.admin_token.clone(), "?limit=2".into()).await;
    assert_eq!(ids(&p1), newest_first[..2]);
    let after = p1["page"]["next_after"].as_str().expect("next_after");
    let p2 = list(t.admin_token.clone(), format!("?limit=2&after={after}")).await;
    assert_eq!(ids(&p2), newest_first[2..]);
    assert!(p2["page"].get("next_after").is_none());

    // The sub-admin sees their own batch only, and cannot page from someone else's.
    assert_eq!(ids(&list(sub.clone(), String::new()).await), vec![subs]);
    let r = app
        .get(
            slug,
            Some(&sub),
            &format!("/api/v1/bulk-batches?after={}", admins[0]),
        )
        .await;
    assert_eq!(problem(r, 422).await["errors"][0]["field"], "after");
    // Front desk staff do not bulk-schedule.
    problem(
        app.get(slug, Some(&desk), "/api/v1/bulk-batches").await,
        403,
    )
    .await;
}

/// Rows on disjoint calendars are split into lanes placed side by side (the runner handles
/// jobs concurrently), a lane's chunks run one after another in the fair order, and a second
/// batch on the same provider, placed at the same time, never collides with the first.
#[tokio::test(flavor = "multi_thread")]
async fn lanes_run_side_by_side_in_order_and_overlapping_batches_never_collide() {
    use crate::scheduling::appointment_type;
    let app = TestApp::new().await;
    let t = app.tenant("lanes").await;
    let schema = t.tenant.schema.as_str();
    let a = calendar(&app, &t, "la", "UTC").await;
    let b = calendar(&app, &t, "lb", "UTC").await;
    let quarter = appointment_type(
        &app,
        &t,
        "Quarter",
        json!({"duration_minutes": 15, "slot_interval_minutes": 15}),
    )
    .await;
    many_clients(&app, &t, "l", 1000, None).await;
    many_clients(&app, &t, "m", 200, None).await;
    let rows = |prefix: &str,
                range: std::ops::RangeInclusive<usize>,
                pick: &dyn Fn(usize) -> String| {
        let mut csv = String::from("client_email,provider_id,type_id,window_from,window_until\n");
        for i in range {
            csv.push_str(&format!(
                "{prefix}{i}@bulk.test,{},{quarter},{},{}\n",
                pick(i),
                day(3),
                day(20)
            ));
        }
        csv
    };
    // Batch 1: rows 1–700 with provider A (a lane of two chunks), 701–1000 with B (one chunk).
    let first = uuid::Uuid::now_v7().to_string();
    let csv = rows("l", 1..=1000, &|i| {
        if i <= 700 {
            a.provider.clone()
        } else {
            b.provider.clone()
        }
    });
    let r = post_csv(&app, "lanes", &t.admin_token, &first, csv).await;
    assert_eq!(r.0.status().as_u16(), 202);
    let lane_jobs = "SELECT count(*) FROM swiftacare_jobs.outbox WHERE kind = 'bulk.place'";
    assert_eq!(
        sql_count(app.db_url(), lane_jobs).await,
        2,
        "one job per lane on submit; the lane's next chunk is enqueued by the one before"
    );
    let chunks =
        format!("SELECT count(DISTINCT chunk) FROM {schema}.bulk_rows WHERE batch_id = '{first}'");
    assert_eq!(sql_count(app.db_url(), &chunks).await, 3);
    // Batch 2: 200 more rows with provider A, placed at the same time as batch 1.
    let second = uuid::Uuid::now_v7().to_string();
    let csv = rows("m", 1..=200, &|_| a.provider.clone());
    let r = post_csv(&app, "lanes", &t.admin_token, &second, csv).await;
    assert_eq!(r.0.status().as_u16(), 202);

    drain(&app).await;
    for (batch, n) in [(&first, 1000), (&second, 200)] {
        let p = progress(&app, &t, batch).await;
        assert_eq!(
            (
                p["booked"].as_i64(),
                p["failed"].as_i64(),
                p["status"].as_str()
            ),
            (Some(n), Some(0), Some("completed")),
            "{p}"
        );
        assert_reminders_once(&app, schema, batch).await;
    }
    assert_no_overlaps(&app, schema).await;
    assert_eq!(
        sql_count(
            app.db_url(),
            &format!("SELECT count(*) FROM {schema}.processed_jobs WHERE kind = 'bulk.place'")
        )
        .await,
        4,
        "each chunk placed once: three of batch 1, one of batch 2"
    );
    // Lane A of batch 1 kept its order across its two chunks: each row's time is later than
    // the row before it (a second chunk run first would have taken the earlier times).
    let out_of_order = sql_count(
        app.db_url(),
        &format!(
            "SELECT count(*) FROM (SELECT starts_at, lag(starts_at) OVER (ORDER BY seq) AS prev
               FROM {schema}.bulk_rows WHERE batch_id = '{first}' AND provider_id = '{}') x
              WHERE prev >= starts_at",
            a.provider
        ),
    )
    .await;
    assert_eq!(out_of_order, 0, "lane A placed out of order");
}
