//! Slot search in pages (`limit`, `after` / `next_after`): the pages of a search, followed to
//! the end, hold exactly the slots of the whole window — across a daylight-saving day, with
//! ties between providers split at page boundaries, and when a page ends early because it read
//! as many appointments as a page may — and bad paging input is a problem naming the field.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel_async::RunQueryDsl;
use domain::scheduling::{availability, busy, calendar, setup, slots};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::scheduling::{all_week, appointment_type, book_as, client, hours};
use crate::support::{TenantCtx, TestApp, body, problem};

type Key = (String, DateTime<Utc>);

fn keys(page: &Value) -> Vec<Key> {
    page["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| {
            (
                s["provider_id"].as_str().expect("provider").to_owned(),
                s["starts_at"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .expect("starts_at")
                    .with_timezone(&Utc),
            )
        })
        .collect()
}

/// Follows `next_after` from the first page; returns every page.
async fn walk(app: &TestApp, t: &TenantCtx, path: &str) -> Vec<Value> {
    let slug = t.tenant.slug.as_str();
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let p = match &after {
            Some(a) => format!("{path}&after={a}"),
            None => path.to_owned(),
        };
        let r = app.get(slug, Some(&t.admin_token), &p).await;
        assert_eq!(r.0.status().as_u16(), 200, "{p}");
        let page = body(r).await;
        after = page["next_after"].as_str().map(str::to_owned);
        pages.push(page);
        if after.is_none() {
            return pages;
        }
        assert!(pages.len() < 500, "the cursor does not end");
    }
}

async fn provider_in(app: &TestApp, t: &TenantCtx, tag: &str, dept: &str) -> String {
    let slug = t.tenant.slug.as_str();
    app.person(
        t,
        "provider",
        "Prov",
        &format!("{tag}@{slug}.test"),
        Some(dept),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_continue_exactly_where_they_stopped_across_daylight_saving() {
    let app = TestApp::new().await;
    let t = app.tenant("pages").await;
    let dept = app.department(&t, "Team", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let zone = "America/Toronto";
    let a = provider_in(&app, &t, "pa", &dept).await;
    let b = provider_in(&app, &t, "pb", &dept).await;
    for p in [&a, &b] {
        hours(&app, &t, p, zone, all_week("00:00", "23:55")).await;
    }
    let ty = appointment_type(&app, &t, "Paged", json!({"slot_interval_minutes": 15})).await;
    // Some busy time on the spring-forward day (2027-03-14, 02:00 EST → 03:00 EDT).
    let c = client(&app, &t, "pc").await;
    let at = "2027-03-14T10:00:00-04:00"
        .parse::<DateTime<Utc>>()
        .expect("instant");
    let r = book_as(&app, "pages", &t.admin_token, &a, Some(&c), &ty, at).await;
    assert_eq!(r.0.status().as_u16(), 201, "{}", body(r).await);

    let path = format!(
        "/api/v1/slots?type={ty}&department={dept}&from=2027-03-13&to=2027-03-14&tz={zone}"
    );
    let whole = body(
        app.get("pages", Some(&t.admin_token), &format!("{path}&limit=500"))
            .await,
    )
    .await;
    assert!(
        whole.get("next_after").is_none(),
        "one page of 500 holds the window"
    );
    let all = keys(&whole);
    // 30 minutes within 00:00–23:55, starts every 15 minutes: 00:00 … 23:15, 94 starts; 90 on
    // the 23-hour 03-14. Two providers, less the 3 starts the 10:00–10:30 appointment blocks
    // (09:45, 10:00, 10:15).
    assert_eq!(all.len(), 2 * (94 + 90) - 3);
    // An odd page size splits the two providers' equal starts across page boundaries.
    let pages = walk(&app, &t, &format!("{path}&limit=7")).await;
    let walked: Vec<Key> = pages.iter().flat_map(keys).collect();
    assert!(pages.iter().all(|p| keys(p).len() <= 7));
    assert!(pages[..pages.len() - 1].iter().all(|p| keys(p).len() == 7));
    assert_eq!(walked.len(), all.len(), "no slot missing or repeated");
    assert_eq!(
        walked.iter().collect::<HashSet<_>>().len(),
        walked.len(),
        "no slot repeated"
    );
    assert_eq!(walked, all, "the pages, in order, are the window's slots");
    assert!(
        pages
            .windows(2)
            .any(|w| keys(&w[0]).last().map(|k| k.1) == keys(&w[1]).into_iter().next().map(|k| k.1)),
        "some page boundary falls between two providers' equal starts"
    );
    // Provider b's transition day: 90 starts 15 minutes apart in real time, none repeated.
    let tz: chrono_tz::Tz = zone.parse().expect("zone");
    let day = NaiveDate::from_ymd_opt(2027, 3, 14).expect("date");
    let b_day: Vec<DateTime<Utc>> = walked
        .iter()
        .filter(|(p, s)| *p == b && s.with_timezone(&tz).date_naive() == day)
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(b_day.len(), 90);
    assert!(
        b_day
            .windows(2)
            .all(|w| w[1] - w[0] == chrono::Duration::minutes(15))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_reads_its_fill_of_appointments_ends_early_and_loses_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant("full").await;
    let dept = app.department(&t, "Busy", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let p = provider_in(&app, &t, "busy", &dept).await;
    hours(&app, &t, &p, "UTC", all_week("00:00", "23:55")).await;
    let ty = appointment_type(
        &app,
        &t,
        "Five",
        json!({"duration_minutes": 5, "slot_interval_minutes": 5}),
    )
    .await;
    let c = client(&app, &t, "bc").await;
    // More appointments than one page reads: back-to-back 5-minute appointments from the
    // window's first day on, with a free 5 minutes after every 47 (~37 days, ~220 free slots in
    // them), then free time. The first page reads its fill of them, holds the ~210 free slots
    // among those and ends there with a cursor. Inserted with SQL: this test is about reading.
    let first = (Utc::now() + chrono::Duration::days(2)).date_naive();
    let last = first + chrono::Duration::days(59);
    let start = first.and_time(NaiveTime::MIN).and_utc();
    let n = slots::PAGE_ROWS + 500;
    let sql = format!(
        "INSERT INTO appointments (id, provider_id, client_id, type_id, starts_at, ends_at, \
         busy_from, busy_until, timezone, status) \
         SELECT gen_random_uuid(), '{p}', '{c}', '{ty}', s, s + interval '5 minutes', \
                s, s + interval '5 minutes', 'UTC', 'booked' \
         FROM (SELECT '{start}'::timestamptz + (k + k / 47) * interval '5 minutes' AS s \
               FROM generate_series(0, {n} - 1) AS k) AS cells",
        start = start.to_rfc3339(),
    );
    app.tenancy
        .tx(&t.tenant, async |conn| {
            Ok::<_, domain::error::DomainError>(
                diesel::sql_query(sql.as_str()).execute(conn).await?,
            )
        })
        .await
        .expect("insert appointments");

    let path =
        format!("/api/v1/slots?type={ty}&provider={p}&from={first}&to={last}&tz=UTC&limit=500");
    let pages = walk(&app, &t, &path).await;
    let walked: Vec<Key> = pages.iter().flat_map(keys).collect();
    assert!(
        pages
            .iter()
            .any(|pg| keys(pg).len() < 500 && pg.get("next_after").is_some()),
        "some page ended early, at the end of the appointments it read"
    );
    // The same window computed at once, from every busy span of it.
    let (pid, tid) = (
        Uuid::parse_str(&p).expect("uuid"),
        Uuid::parse_str(&ty).expect("uuid"),
    );
    let from = calendar::local_start(chrono_tz::UTC, start.naive_utc());
    let to = calendar::local_start(
        chrono_tz::UTC,
        (last + chrono::Duration::days(1)).and_time(NaiveTime::MIN),
    );
    let expected: Vec<Key> = app
        .tenancy
        .tx(&t.tenant, async |conn| {
            let ty = setup::get_type_row(conn, tid)
                .await?
                .ok_or(domain::error::DomainError::NotFound("type"))?;
            let schedules = availability::load_schedules(
                conn,
                &[pid],
                first - chrono::Duration::days(2),
                last + chrono::Duration::days(2),
            )
            .await?;
            let busy = busy::busy_spans(conn, &[pid], from, to).await?;
            let rules = slots::rules_for(&ty, false, Utc::now(), from, to);
            Ok::<_, domain::error::DomainError>(slots::compute(
                &ty,
                &[pid],
                &schedules,
                &busy,
                &rules,
                first,
                last,
            ))
        })
        .await
        .expect("whole window")
        .into_iter()
        .map(|s| (s.provider_id.to_string(), s.starts_at))
        .collect();
    assert!(expected.len() > 5_000, "{}", expected.len());
    assert_eq!(walked.len(), expected.len(), "no slot missing or repeated");
    assert_eq!(walked, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_paging_input_is_a_problem_naming_the_parameter() {
    let app = TestApp::new().await;
    let t = app.tenant("badpage").await;
    let dept = app.department(&t, "Team", None).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let p = provider_in(&app, &t, "bp", &dept).await;
    hours(&app, &t, &p, "UTC", all_week("09:00", "17:00")).await;
    let ty = appointment_type(&app, &t, "Bad", json!({})).await;
    let path = |q: &str| {
        format!("/api/v1/slots?type={ty}&provider={p}&from=2027-05-03&to=2027-05-09&tz=UTC&{q}")
    };
    let get = |q: String| {
        let app = &app;
        let token = t.admin_token.clone();
        async move { app.get("badpage", Some(&token), &q).await }
    };
    for q in ["limit=0", "limit=501", "limit=-3", "limit=ten"] {
        let v = problem(get(path(q)).await, 400).await;
        assert!(v.to_string().contains("limit"), "{q}: {v}");
    }
    let v = problem(get(path("after=not-a-cursor")).await, 400).await;
    assert!(v.to_string().contains("after"), "{v}");
    // A real cursor, used with another window, is refused and named.
    let first = body(get(path("limit=3")).await).await;
    let cursor = first["next_after"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let other = format!(
        "/api/v1/slots?type={ty}&provider={p}&from=2027-06-07&to=2027-06-08&tz=UTC&after={cursor}"
    );
    let v = problem(get(other).await, 422).await;
    assert_eq!(v["errors"][0]["field"], "after", "{v}");
    // The same cursor with its own search continues it.
    let next = body(get(path(&format!("limit=3&after={cursor}"))).await).await;
    assert_eq!(keys(&next).len(), 3);
    assert!(keys(&next)[0].1 > keys(&first)[2].1);
}
