//! Scheduling (issue 5) against the real database: the client's journey end to end, QUALITY
//! T1 (double-booking race), T2 (If-Match), T6 (Idempotency-Key), T20 (hoarding limits),
//! daylight-saving behaviour of slots and series, series edits, the waitlist, iCal feeds, and
//! bad input that changes nothing.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use poem::http::Method;
use serde_json::{Value, json};

use crate::support::{TenantCtx, TestApp, body, problem};

/// Sends any request with optional token, If-Match and Idempotency-Key.
pub async fn send(
    app: &TestApp,
    method: Method,
    slug: &str,
    token: &str,
    path: &str,
    if_match: Option<&str>,
    body_json: Option<Value>,
) -> poem::test::TestResponse {
    let mut req = app
        .client
        .request(method, path)
        .header("X-Tenant", slug)
        .header("Authorization", format!("Bearer {token}"));
    if let Some(m) = if_match {
        req = req.header("If-Match", m);
    }
    if let Some(b) = body_json {
        req = req.body_json(&b);
    }
    req.send().await
}

pub fn etag_of(r: &poem::test::TestResponse) -> String {
    r.0.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("ETag")
        .to_owned()
}

/// Midnight UTC `days` from today, plus `minutes`.
pub fn at(days: i64, minutes: i64) -> DateTime<Utc> {
    (Utc::now().date_naive() + Duration::days(days))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        + Duration::minutes(minutes)
}

/// A provider, a client (both with accounts), a video type (30 min) and working hours every
/// day 00:00–23:55 in `zone`.
pub struct Calendar {
    pub provider: String,
    pub provider_token: String,
    pub client: String,
    pub client_token: String,
    pub type_id: String,
}

pub async fn appointment_type(app: &TestApp, t: &TenantCtx, name: &str, extra: Value) -> String {
    let mut b = json!({"name": name, "duration_minutes": 30, "modality": "video"});
    if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    let r = app
        .post(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            "/api/v1/appointment-types",
            b,
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201, "create type");
    body(r).await["id"].as_str().expect("id").to_owned()
}

pub async fn hours(app: &TestApp, t: &TenantCtx, provider: &str, zone: &str, rules: Value) {
    let path = format!("/api/v1/providers/{provider}/availability");
    let slug = t.tenant.slug.as_str();
    let current = app.get(slug, Some(&t.admin_token), &path).await;
    let tag = etag_of(&current);
    let r = send(
        app,
        Method::PUT,
        slug,
        &t.admin_token,
        &path,
        Some(&tag),
        Some(json!({"timezone": zone, "rules": rules})),
    )
    .await;
    assert_eq!(
        r.0.status().as_u16(),
        200,
        "put availability: {}",
        body(r).await
    );
}

pub fn all_week(start: &str, end: &str) -> Value {
    Value::Array(
        (1..=7)
            .map(|d| json!({"weekday": d, "start": start, "end": end}))
            .collect(),
    )
}

pub async fn calendar(app: &TestApp, t: &TenantCtx, tag: &str, zone: &str) -> Calendar {
    use domain::identity::{Role, RoleGrant};
    let slug = t.tenant.slug.as_str();
    let p = app
        .person(
            t,
            "provider",
            "Prov",
            &format!("prov-{tag}@{slug}.test"),
            None,
        )
        .await;
    let provider = p["id"].as_str().expect("id").to_owned();
    let provider_token = app
        .account(
            t,
            &p,
            &[RoleGrant {
                role: Role::Provider,
                department_id: None,
            }],
        )
        .await;
    let c = app
        .person(t, "client", "Cli", &format!("cli-{tag}@{slug}.test"), None)
        .await;
    let client = c["id"].as_str().expect("id").to_owned();
    let client_token = app
        .account(
            t,
            &c,
            &[RoleGrant {
                role: Role::Client,
                department_id: None,
            }],
        )
        .await;
    hours(app, t, &provider, zone, all_week("00:00", "23:55")).await;
    let type_id = appointment_type(app, t, &format!("Session {tag}"), json!({})).await;
    Calendar {
        provider,
        provider_token,
        client,
        client_token,
        type_id,
    }
}

/// A client with an account who joins the waitlist for `cal`'s provider and type in the
/// window; returns the client's token.
pub async fn waiting_client(
    app: &TestApp,
    t: &TenantCtx,
    cal: &Calendar,
    email: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> String {
    use domain::identity::{Role, RoleGrant};
    let p = app.person(t, "client", "Wait", email, None).await;
    let token = app
        .account(
            t,
            &p,
            &[RoleGrant {
                role: Role::Client,
                department_id: None,
            }],
        )
        .await;
    let r = app
        .post(
            t.tenant.slug.as_str(),
            Some(&token),
            "/api/v1/waitlist",
            json!({"provider_id": cal.provider, "type_id": cal.type_id,
                   "window_from": from.to_rfc3339(), "window_until": until.to_rfc3339()}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    token
}

pub async fn client(app: &TestApp, t: &TenantCtx, tag: &str) -> String {
    let slug = t.tenant.slug.as_str();
    app.person(t, "client", "Extra", &format!("{tag}@{slug}.test"), None)
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Staff books `client` with the calendar's provider at `start`.
pub async fn book_as(
    app: &TestApp,
    slug: &str,
    token: &str,
    provider: &str,
    client: Option<&str>,
    type_id: &str,
    start: DateTime<Utc>,
) -> poem::test::TestResponse {
    let mut b =
        json!({"provider_id": provider, "type_id": type_id, "starts_at": start.to_rfc3339()});
    if let Some(c) = client {
        b["client_id"] = json!(c);
    }
    app.post(slug, Some(token), "/api/v1/appointments", b).await
}

/// One of every scheduling resource in tenant `t`, by the path-parameter name the spec uses
/// (plus `sched_provider`, a provider with hours): for the cross-tenant sweep and the role matrix.
pub async fn fixture(app: &TestApp, t: &TenantCtx) -> Vec<(&'static str, String)> {
    let slug = t.tenant.slug.as_str();
    let cal = calendar(app, t, "fx", "UTC").await;
    let r = app
        .post(
            slug,
            Some(&t.admin_token),
            "/api/v1/locations",
            json!({"name": "Main clinic", "timezone": "UTC"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let location = body(r).await["id"].as_str().expect("id").to_owned();
    let r = app
        .post(
            slug,
            Some(&t.admin_token),
            &format!("/api/v1/providers/{}/availability/overrides", cal.provider),
            json!({"date": "2030-01-01", "kind": "time_off"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let override_id = body(r).await["id"].as_str().expect("id").to_owned();
    let r = book_as(
        app,
        slug,
        &t.admin_token,
        &cal.provider,
        Some(&cal.client),
        &cal.type_id,
        at(8, 600),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let appointment = body(r).await["id"].as_str().expect("id").to_owned();
    let first = (Utc::now() + Duration::days(20)).date_naive();
    let r = app
        .post(
            slug,
            Some(&t.admin_token),
            "/api/v1/appointment-series",
            json!({"provider_id": cal.provider, "client_id": cal.client, "type_id": cal.type_id,
                   "first_start": format!("{first}T09:00:00"), "rrule": "FREQ=WEEKLY;COUNT=3"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let series = body(r).await["series"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A waiting client and a freed slot: an offer.
    let r = app
        .post(
            slug,
            Some(&cal.client_token),
            "/api/v1/waitlist",
            json!({"provider_id": cal.provider, "type_id": cal.type_id,
                   "window_from": at(9, 0).to_rfc3339(), "window_until": at(10, 0).to_rfc3339()}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let entry = body(r).await["id"].as_str().expect("id").to_owned();
    let other = client(app, t, "fx-other").await;
    let r = book_as(
        app,
        slug,
        &t.admin_token,
        &cal.provider,
        Some(&other),
        &cal.type_id,
        at(9, 600),
    )
    .await;
    let tag = etag_of(&r);
    let freed = body(r).await["id"].as_str().expect("id").to_owned();
    let r = send(
        app,
        Method::POST,
        slug,
        &t.admin_token,
        &format!("/api/v1/appointments/{freed}/transitions"),
        Some(&tag),
        Some(json!({"action": "cancel"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let w = body(
        app.get(slug, Some(&cal.client_token), "/api/v1/waitlist")
            .await,
    )
    .await;
    let offer = w[0]["offers"][0]["id"].as_str().expect("offer").to_owned();
    let r = app
        .post(
            slug,
            Some(&cal.provider_token),
            "/api/v1/calendar-feeds",
            json!({}),
        )
        .await;
    let feed = body(r).await["id"].as_str().expect("id").to_owned();
    let batch = uuid::Uuid::now_v7().to_string();
    let r = app
        .post(
            slug,
            Some(&t.admin_token),
            &format!("/api/v1/bulk-batches?batch_id={batch}"),
            json!({"rows": [{"client_id": cal.client, "provider_id": cal.provider,
                             "type_id": cal.type_id, "window_from": at(30, 0).to_rfc3339(),
                             "window_until": at(31, 0).to_rfc3339()}]}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 202);
    vec![
        ("location_id", location),
        ("type_id", cal.type_id),
        ("sched_provider", cal.provider),
        ("override_id", override_id),
        ("appointment_id", appointment),
        ("series_id", series),
        ("entry_id", entry),
        ("offer_id", offer),
        ("feed_id", feed),
        ("batch_id", batch),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_finds_books_reschedules_and_cancels() {
    let app = TestApp::new().await;
    let t = app.tenant("sched").await;
    let cal = calendar(&app, &t, "j", "America/Toronto").await;
    let day = (Utc::now() + Duration::days(3)).date_naive();
    // The client searches in their own zone (Vancouver) …
    let r = app
        .get(
            "sched",
            Some(&cal.client_token),
            &format!(
                "/api/v1/slots?type={}&provider={}&from={day}&to={day}&tz=America/Vancouver",
                cal.type_id, cal.provider
            ),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let slots = body(r).await;
    assert_eq!(slots["timezone"], "America/Vancouver");
    let list = slots["slots"].as_array().expect("slots");
    assert!(list.len() > 20, "{slots}");
    let first = list[10]["starts_at"].as_str().expect("start").to_owned();
    assert!(
        first.ends_with("-08:00") || first.ends_with("-07:00"),
        "{first}"
    );
    // … books one for themselves …
    let r = app
        .post(
            "sched",
            Some(&cal.client_token),
            "/api/v1/appointments",
            json!({"provider_id": cal.provider, "type_id": cal.type_id, "starts_at": first}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let tag = etag_of(&r);
    let a = body(r).await;
    assert_eq!(a["status"], "booked");
    assert_eq!(a["timezone"], "America/Toronto");
    let id = a["id"].as_str().expect("id").to_owned();
    let start: DateTime<Utc> = first.parse().expect("rfc3339");
    assert_eq!(
        a["starts_at"]
            .as_str()
            .map(|s| s.parse::<DateTime<Utc>>().ok()),
        Some(Some(start))
    );
    // … the slot is gone from the search …
    let r = app
        .get(
            "sched",
            Some(&cal.client_token),
            &format!(
                "/api/v1/slots?type={}&provider={}&from={day}&to={day}&tz=America/Toronto",
                cal.type_id, cal.provider
            ),
        )
        .await;
    let after = body(r).await;
    assert!(
        !after["slots"]
            .as_array()
            .expect("slots")
            .iter()
            .any(|s| s["starts_at"]
                .as_str()
                .and_then(|x| x.parse::<DateTime<Utc>>().ok())
                == Some(start)),
        "booked slot still offered"
    );
    // … the provider sees it on their calendar, with the client's name …
    let r = app
        .get("sched", Some(&cal.provider_token), "/api/v1/appointments")
        .await;
    let mine = body(r).await;
    assert_eq!(mine["items"][0]["id"], json!(id));
    assert_eq!(mine["items"][0]["client_name"], "Cli Test");
    // … and in their iCal feed, titled "Appointment" with no name.
    let r = app
        .post(
            "sched",
            Some(&cal.provider_token),
            "/api/v1/calendar-feeds",
            json!({}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let url = body(r).await["url"].as_str().expect("url").to_owned();
    let path = url.trim_start_matches("http://test");
    let ics = app.client.get(path).send().await;
    assert_eq!(ics.0.status().as_u16(), 200);
    assert_eq!(
        ics.0
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/calendar; charset=utf-8")
    );
    let text = ics.0.into_body().into_string().await.expect("ics");
    assert!(text.contains("BEGIN:VCALENDAR"), "{text}");
    assert!(text.contains(&format!("UID:{id}@swiftacare")), "{text}");
    assert!(text.contains("SUMMARY:Appointment"), "{text}");
    assert!(
        !text.contains("Cli"),
        "client name leaked into the feed: {text}"
    );
    // The client reschedules by an hour (If-Match) …
    let new_start = start + Duration::hours(1);
    let r = send(
        &app,
        Method::POST,
        "sched",
        &cal.client_token,
        &format!("/api/v1/appointments/{id}/reschedule"),
        Some(&tag),
        Some(json!({"starts_at": new_start.to_rfc3339(), "reason": "client_request"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let tag = etag_of(&r);
    assert_eq!(body(r).await["version"], 2);
    // … then cancels it; well ahead of the window, so not late.
    let r = send(
        &app,
        Method::POST,
        "sched",
        &cal.client_token,
        &format!("/api/v1/appointments/{id}/transitions"),
        Some(&tag),
        Some(json!({"action": "cancel", "reason": "client_request"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let a = body(r).await;
    assert_eq!(a["status"], "cancelled");
    assert_eq!(a["cancelled_by"], "client");
    assert_eq!(a["late_cancellation"], false);
    let r = app
        .get(
            "sched",
            Some(&cal.provider_token),
            &format!("/api/v1/appointments/{id}/history"),
        )
        .await;
    let h = body(r).await;
    let actions: Vec<&str> = h
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["booked", "rescheduled", "cancelled"]);
    assert_eq!(
        h[1]["previous_start"]
            .as_str()
            .and_then(|s| s.parse::<DateTime<Utc>>().ok()),
        Some(start)
    );
    // The feed now carries the cancellation.
    let text = app
        .client
        .get(path)
        .send()
        .await
        .0
        .into_body()
        .into_string()
        .await
        .expect("ics");
    assert!(text.contains("STATUS:CANCELLED"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn t1_sixty_four_concurrent_overlapping_bookings_one_wins() {
    let app = TestApp::new().await;
    let t = app.tenant("race").await;
    let cal = calendar(&app, &t, "r", "UTC").await;
    let mut clients = Vec::new();
    for i in 0..64 {
        clients.push(client(&app, &t, &format!("c{i}")).await);
    }
    let base = at(5, 9 * 60);
    let app = &app;
    let cal = &cal;
    let t = &t;
    let results = futures::future::join_all(clients.iter().enumerate().map(|(i, c)| async move {
        // Overlapping starts: every 5 minutes within one 30-minute window (and some identical).
        let start = base + Duration::minutes(((i % 6) * 5) as i64);
        let r = book_as(
            app,
            "race",
            &t.admin_token,
            &cal.provider,
            Some(c),
            &cal.type_id,
            start,
        )
        .await;
        r.0.status().as_u16()
    }))
    .await;
    let won = results.iter().filter(|s| **s == 201).count();
    let conflicts = results.iter().filter(|s| **s == 409).count();
    assert_eq!(won, 1, "{results:?}");
    assert_eq!(conflicts, 63, "{results:?}");
    let r = app
        .get(
            "race",
            Some(&t.admin_token),
            &format!("/api/v1/appointments?provider={}&limit=200", cal.provider),
        )
        .await;
    let items = body(r).await["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1, "exactly one row");
}

#[tokio::test(flavor = "multi_thread")]
async fn t2_stale_if_match_gets_412_and_loses_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant("ifm").await;
    let cal = calendar(&app, &t, "m", "UTC").await;
    let r = book_as(
        &app,
        "ifm",
        &t.admin_token,
        &cal.provider,
        Some(&cal.client),
        &cal.type_id,
        at(4, 600),
    )
    .await;
    let tag = etag_of(&r);
    let id = body(r).await["id"].as_str().expect("id").to_owned();
    let app = &app;
    let (t, id, tag) = (&t, &id, &tag);
    let results = futures::future::join_all((0..8).map(|i| async move {
        let r = send(
            app,
            Method::POST,
            "ifm",
            &t.admin_token,
            &format!("/api/v1/appointments/{id}/reschedule"),
            Some(tag),
            Some(json!({"starts_at": at(6, 60 * (i + 1)).to_rfc3339()})),
        )
        .await;
        r.0.status().as_u16()
    }))
    .await;
    assert_eq!(
        results.iter().filter(|s| **s == 200).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|s| **s == 412).count(),
        7,
        "{results:?}"
    );
    let r = app
        .get(
            "ifm",
            Some(&t.admin_token),
            &format!("/api/v1/appointments/{id}"),
        )
        .await;
    assert_eq!(body(r).await["version"], 2);
    // Missing If-Match: 428.
    let r = send(
        app,
        Method::POST,
        "ifm",
        &t.admin_token,
        &format!("/api/v1/appointments/{id}/transitions"),
        None,
        Some(json!({"action": "cancel"})),
    )
    .await;
    problem(r, 428).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn t6_idempotency_key_books_once_and_replays() {
    let app = TestApp::new().await;
    let t = app.tenant("idem").await;
    let cal = calendar(&app, &t, "i", "UTC").await;
    let start = at(3, 14 * 60);
    let req = json!({"provider_id": cal.provider, "type_id": cal.type_id, "starts_at": start.to_rfc3339()});
    let app = &app;
    let (cal, req) = (&cal, &req);
    let replies = futures::future::join_all((0..100).map(|_| async move {
        let r = app
            .client
            .post("/api/v1/appointments")
            .header("X-Tenant", "idem")
            .header("Authorization", format!("Bearer {}", cal.client_token))
            .header("Idempotency-Key", "book-once-7f3a")
            .body_json(req)
            .send()
            .await;
        let status = r.0.status().as_u16();
        (status, body(r).await)
    }))
    .await;
    assert!(
        replies.iter().all(|(s, _)| *s == 201),
        "{:?}",
        replies.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let ids: HashSet<String> = replies
        .iter()
        .map(|(_, b)| b["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one effect");
    assert!(
        replies.iter().all(|(_, b)| *b == replies[0].1),
        "identical replies"
    );
    let r = app
        .get("idem", Some(&cal.client_token), "/api/v1/appointments")
        .await;
    assert_eq!(body(r).await["items"].as_array().map(Vec::len), Some(1));
    // Same key, another body: 422 naming the key; nothing booked.
    let r = app
        .client
        .post("/api/v1/appointments")
        .header("X-Tenant", "idem")
        .header("Authorization", format!("Bearer {}", cal.client_token))
        .header("Idempotency-Key", "book-once-7f3a")
        .body_json(&json!({"provider_id": cal.provider, "type_id": cal.type_id, "starts_at": (start + Duration::hours(2)).to_rfc3339()}))
        .send()
        .await;
    let p = problem(r, 422).await;
    assert_eq!(p["errors"][0]["field"], "Idempotency-Key", "{p}");
    let r = app
        .get("idem", Some(&cal.client_token), "/api/v1/appointments")
        .await;
    assert_eq!(body(r).await["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn t20_hoarding_limits_per_client_and_per_day() {
    let app = TestApp::new().await;
    let t = app.tenant("hoard").await;
    let cal = calendar(&app, &t, "h", "UTC").await;
    let r = app
        .get("hoard", Some(&t.admin_token), "/api/v1/scheduling/policy")
        .await;
    let tag = etag_of(&r);
    let r = app
        .patch(
            "hoard",
            &t.admin_token,
            "/api/v1/scheduling/policy",
            Some(&tag),
            json!({"max_open_bookings_per_client": 3, "max_bookings_per_client_per_day": 2}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let mine = |start| {
        book_as(
            &app,
            "hoard",
            &cal.client_token,
            &cal.provider,
            None,
            &cal.type_id,
            start,
        )
    };
    assert_eq!(mine(at(2, 600)).await.0.status().as_u16(), 201);
    assert_eq!(mine(at(2, 720)).await.0.status().as_u16(), 201);
    // A third the same day: the per-day limit.
    let p = problem(mine(at(2, 840)).await, 409).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("that day"),
        "{p}"
    );
    assert_eq!(mine(at(3, 600)).await.0.status().as_u16(), 201);
    // A fourth open booking: the per-client limit.
    let p = problem(mine(at(4, 600)).await, 409).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("upcoming"),
        "{p}"
    );
    let r = app
        .get("hoard", Some(&cal.client_token), "/api/v1/appointments")
        .await;
    assert_eq!(body(r).await["items"].as_array().map(Vec::len), Some(3));
    // Staff may still book for the client (the limits are against self-service hoarding).
    let r = book_as(
        &app,
        "hoard",
        &t.admin_token,
        &cal.provider,
        Some(&cal.client),
        &cal.type_id,
        at(5, 600),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_named_and_changes_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant("bad").await;
    let cal = calendar(&app, &t, "b", "UTC").await;
    let slots = |q: String| {
        let path = format!(
            "/api/v1/slots?type={}&provider={}&{q}",
            cal.type_id, cal.provider
        );
        let token = cal.client_token.clone();
        let app = &app;
        async move { app.get("bad", Some(&token), &path).await }
    };
    // End before start.
    let p = problem(
        slots("from=2027-01-10&to=2027-01-09&tz=UTC".into()).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "to", "{p}");
    // Unknown zone.
    let p = problem(
        slots("from=2027-01-10&to=2027-01-10&tz=Mars/Olympus".into()).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "tz", "{p}");
    // Too long a window.
    let p = problem(
        slots("from=2027-01-01&to=2027-06-01&tz=UTC".into()).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "to", "{p}");
    // Dates far outside any calendar.
    let p = problem(
        slots("from=+200000-01-01&to=+200000-01-02&tz=UTC".into()).await,
        400,
    )
    .await;
    assert!(p.to_string().contains("from"), "names the parameter: {p}");
    let p = problem(
        slots("from=1900-01-01&to=1900-01-02&tz=UTC".into()).await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "from", "{p}");
    // A series starting in the far future.
    let r = app
        .post(
            "bad",
            Some(&t.admin_token),
            "/api/v1/appointment-series",
            json!({"provider_id": cal.provider, "client_id": cal.client, "type_id": cal.type_id,
                   "first_start": "9999-01-04T10:00:00", "rrule": "FREQ=WEEKLY;COUNT=2"}),
        )
        .await;
    let p = problem(r, 422).await;
    assert_eq!(p["errors"][0]["field"], "/first_start", "{p}");
    // Unknown availability zone and inverted hours.
    let path = format!("/api/v1/providers/{}/availability", cal.provider);
    let tag = etag_of(&app.get("bad", Some(&t.admin_token), &path).await);
    let r = send(
        &app,
        Method::PUT,
        "bad",
        &t.admin_token,
        &path,
        Some(&tag),
        Some(json!({"timezone": "Nowhere/Else", "rules": [{"weekday": 1, "start": "17:00", "end": "09:00"}]})),
    )
    .await;
    let p = problem(r, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"/timezone") && fields.contains(&"/rules/0/end"),
        "{p}"
    );
    // Booking in the past, and outside working hours (a provider who works 09:00–10:00 only).
    let p = problem(
        book_as(
            &app,
            "bad",
            &cal.client_token,
            &cal.provider,
            None,
            &cal.type_id,
            Utc::now() - Duration::hours(2),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/starts_at", "{p}");
    hours(&app, &t, &cal.provider, "UTC", all_week("09:00", "10:00")).await;
    let p = problem(
        book_as(
            &app,
            "bad",
            &cal.client_token,
            &cal.provider,
            None,
            &cal.type_id,
            at(2, 12 * 60),
        )
        .await,
        422,
    )
    .await;
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("working hours"),
        "{p}"
    );
    // Unknown type and provider.
    let p = problem(
        book_as(
            &app,
            "bad",
            &cal.client_token,
            &cal.client,
            None,
            &cal.type_id,
            at(2, 9 * 60),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/provider_id", "{p}");
    // Nothing was written.
    let r = app
        .get("bad", Some(&t.admin_token), "/api/v1/appointments")
        .await;
    assert_eq!(body(r).await["items"].as_array().map(Vec::len), Some(0));
}

fn local_times(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|a| {
            a["local_start"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.format("%H:%M").to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn weekly_series_keep_local_time_across_daylight_saving() {
    let app = TestApp::new().await;
    let t = app.tenant("dst").await;
    for (zone, first, tag) in [
        ("America/Toronto", "2027-02-22T10:00:00", "to-spring"),
        ("Europe/London", "2027-03-08T10:00:00", "lo-spring"),
        ("America/Toronto", "2027-10-18T10:00:00", "to-fall"),
        ("Europe/London", "2027-10-11T10:00:00", "lo-fall"),
    ] {
        let cal = calendar(&app, &t, tag, zone).await;
        let r = app
            .post(
                "dst",
                Some(&cal.provider_token),
                "/api/v1/appointment-series",
                json!({"provider_id": cal.provider, "client_id": cal.client, "type_id": cal.type_id, "first_start": first, "rrule": "FREQ=WEEKLY;COUNT=6"}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201, "{zone}");
        let s = body(r).await;
        let items = s["appointments"].as_array().expect("appointments");
        assert_eq!(items.len(), 6, "{zone}: {s}");
        assert!(s["conflicts"].as_array().is_some_and(Vec::is_empty));
        assert!(
            local_times(items).iter().all(|l| l == "10:00"),
            "{zone}: {:?}",
            local_times(items)
        );
        // The UTC instants shift by the hour the clocks change.
        let utc: Vec<i64> = items
            .iter()
            .filter_map(|a| a["starts_at"].as_str()?.parse::<DateTime<Utc>>().ok())
            .map(|d| d.timestamp())
            .collect();
        let gaps: HashSet<i64> = utc.windows(2).map(|w| w[1] - w[0]).collect();
        // Every gap is a week, or a week an hour shorter or longer.
        assert!(
            gaps.is_subset(&HashSet::from([
                7 * 86400,
                7 * 86400 - 3600,
                7 * 86400 + 3600
            ])),
            "{zone}: {gaps:?}"
        );
        assert_eq!(
            gaps.len(),
            2,
            "{zone}: one week is an hour shorter or longer: {gaps:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slots_on_transition_days_have_no_missing_or_duplicated_hour() {
    let app = TestApp::new().await;
    let t = app.tenant("trans").await;
    let cal = calendar(&app, &t, "t", "America/Toronto").await;
    // One-hour slots over 00:00–05:00 local.
    let hourly = appointment_type(&app, &t, "Hourly", json!({"duration_minutes": 60})).await;
    hours(
        &app,
        &t,
        &cal.provider,
        "America/Toronto",
        all_week("00:00", "05:00"),
    )
    .await;
    let search = |day: &str, tz: &str| {
        let path = format!(
            "/api/v1/slots?type={hourly}&provider={}&from={day}&to={day}&tz={tz}",
            cal.provider
        );
        let token = t.admin_token.clone();
        let app = &app;
        async move { body(app.get("trans", Some(&token), &path).await).await }
    };
    let instants = |v: &Value| -> Vec<DateTime<Utc>> {
        v["slots"]
            .as_array()
            .expect("slots")
            .iter()
            .filter_map(|s| s["starts_at"].as_str()?.parse().ok())
            .collect()
    };
    let spring = search("2027-03-14", "America/Toronto").await;
    let s = instants(&spring);
    assert_eq!(s.len(), 4, "spring forward: 4 real hours: {spring}");
    let fall = search("2027-11-07", "America/Toronto").await;
    let f = instants(&fall);
    assert_eq!(f.len(), 6, "fall back: 6 real hours: {fall}");
    for xs in [&s, &f] {
        assert!(
            xs.windows(2).all(|w| w[1] - w[0] == Duration::hours(1)),
            "{xs:?}"
        );
    }
    // A client in Vancouver sees the same instants (asking for the Vancouver dates they span).
    let van = search("2027-11-06", "America/Vancouver").await;
    let v: HashSet<DateTime<Utc>> = instants(&van).into_iter().collect();
    let van2 = search("2027-11-07", "America/Vancouver").await;
    let v2: HashSet<DateTime<Utc>> = instants(&van2).into_iter().collect();
    let all: HashSet<DateTime<Utc>> = v.union(&v2).copied().collect();
    assert!(
        f.iter().all(|x| all.contains(x)),
        "Vancouver misses a Toronto slot"
    );
    assert!(
        van2["slots"][0]["starts_at"]
            .as_str()
            .is_some_and(|x| x.ends_with("-08:00") || x.ends_with("-07:00")),
        "{van2}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn series_edits_exceptions_and_conflicts() {
    let app = TestApp::new().await;
    let t = app.tenant("series").await;
    let cal = calendar(&app, &t, "s", "Europe/London").await;
    let monday = {
        let mut d = Utc::now().date_naive() + Duration::days(7);
        while chrono::Datelike::weekday(&d) != chrono::Weekday::Mon {
            d += Duration::days(1);
        }
        d
    };
    // Another client already holds the provider's second Monday at 10:00.
    let other = client(&app, &t, "other").await;
    let clash = crate::support::at_local(monday + Duration::days(7), 10, "Europe/London");
    let r = book_as(
        &app,
        "series",
        &t.admin_token,
        &cal.provider,
        Some(&other),
        &cal.type_id,
        clash,
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let r = app
        .post(
            "series",
            Some(&t.admin_token),
            "/api/v1/appointment-series",
            json!({"provider_id": cal.provider, "client_id": cal.client, "type_id": cal.type_id,
                   "first_start": format!("{monday}T10:00:00"), "rrule": "FREQ=WEEKLY;COUNT=5"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let tag = etag_of(&r);
    let s = body(r).await;
    assert_eq!(s["appointments"].as_array().map(Vec::len), Some(4), "{s}");
    let conflicts = s["conflicts"].as_array().expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert!(
        conflicts[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("not free"),
        "{s}"
    );
    let series_id = s["series"]["id"].as_str().expect("id").to_owned();
    let occ: Vec<String> = s["appointments"]
        .as_array()
        .expect("appointments")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    // "This occurrence": move the first on its own; it becomes an exception.
    let r = app
        .get(
            "series",
            Some(&t.admin_token),
            &format!("/api/v1/appointments/{}", occ[0]),
        )
        .await;
    let atag = etag_of(&r);
    let r = send(
        &app,
        Method::POST,
        "series",
        &t.admin_token,
        &format!("/api/v1/appointments/{}/reschedule", occ[0]),
        Some(&atag),
        Some(json!({"starts_at": crate::support::at_local(monday, 15, "Europe/London").to_rfc3339()})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    assert_eq!(body(r).await["series_exception"], true);
    // "This and following" from the third occurrence (occ[2]): to 11:00, split into a new series.
    let r = send(
        &app,
        Method::POST,
        "series",
        &t.admin_token,
        &format!("/api/v1/appointment-series/{series_id}/retime"),
        Some(&tag),
        Some(json!({"scope": "following", "from_appointment_id": occ[2], "local_time": "11:00"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let tail = body(r).await;
    assert_eq!(tail["series"]["parent_id"], json!(series_id));
    assert_eq!(
        local_times(tail["appointments"].as_array().expect("moved")),
        ["11:00", "11:00"]
    );
    // "All" of the original series now touches nothing moved already; the exception stays.
    let r = app
        .get(
            "series",
            Some(&t.admin_token),
            &format!("/api/v1/appointment-series/{series_id}"),
        )
        .await;
    let tag = etag_of(&r);
    let original = body(r).await;
    assert_eq!(original["series"]["status"], "ended");
    let times: Vec<String> = local_times(original["appointments"].as_array().expect("occ"));
    assert_eq!(times, ["15:00", "10:00"], "{original}");
    // Cancel all of the tail series.
    let tail_id = tail["series"]["id"].as_str().expect("id").to_owned();
    let r = app
        .get(
            "series",
            Some(&t.admin_token),
            &format!("/api/v1/appointment-series/{tail_id}"),
        )
        .await;
    let ttag = etag_of(&r);
    let r = send(
        &app,
        Method::POST,
        "series",
        &t.admin_token,
        &format!("/api/v1/appointment-series/{tail_id}/cancel"),
        Some(&ttag),
        Some(json!({"scope": "all", "reason": "provider_unavailable"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let c = body(r).await;
    assert_eq!(c["series"]["status"], "cancelled");
    assert!(
        c["appointments"]
            .as_array()
            .expect("cancelled")
            .iter()
            .all(|a| a["status"] == "cancelled")
    );
    // A stale series version is refused.
    let r = send(
        &app,
        Method::POST,
        "series",
        &t.admin_token,
        &format!("/api/v1/appointment-series/{series_id}/cancel"),
        Some("\"1\""),
        Some(json!({"scope": "all"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 412, "{tag}");
}

#[tokio::test(flavor = "multi_thread")]
async fn waitlist_offers_expire_and_the_first_accept_wins() {
    let app = TestApp::new().await;
    let t = app.tenant("wait").await;
    let cal = calendar(&app, &t, "w", "UTC").await;
    let slot = at(6, 10 * 60);
    // Someone holds the slot; three clients with accounts wait for that provider and day.
    let holder = client(&app, &t, "holder").await;
    let r = book_as(
        &app,
        "wait",
        &t.admin_token,
        &cal.provider,
        Some(&holder),
        &cal.type_id,
        slot,
    )
    .await;
    let held_tag = etag_of(&r);
    let held = body(r).await["id"].as_str().expect("id").to_owned();
    let mut waiting = Vec::new();
    for i in 0..4 {
        waiting.push(
            waiting_client(
                &app,
                &t,
                &cal,
                &format!("w{i}@wait.test"),
                at(6, 0),
                at(7, 0),
            )
            .await,
        );
    }
    // The holder cancels: the first three (the default batch) are offered the slot.
    let r = send(
        &app,
        Method::POST,
        "wait",
        &t.admin_token,
        &format!("/api/v1/appointments/{held}/transitions"),
        Some(&held_tag),
        Some(json!({"action": "cancel"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let offer_of = |token: String| {
        let app = &app;
        async move {
            let v = body(app.get("wait", Some(&token), "/api/v1/waitlist").await).await;
            v[0]["offers"]
                .as_array()
                .and_then(|o| o.iter().find(|o| o["status"] == "open"))
                .and_then(|o| o["id"].as_str())
                .map(str::to_owned)
        }
    };
    let mut offers = Vec::new();
    for w in &waiting {
        offers.push(offer_of(w.clone()).await);
    }
    assert!(offers[..3].iter().all(Option::is_some), "{offers:?}");
    assert!(offers[3].is_none(), "the fourth waits for the next round");
    // Two accept at the same moment: exactly one books.
    let app_ref = &app;
    let results = futures::future::join_all((0..2).map(|i| {
        let token = waiting[i].clone();
        let offer = offers[i].clone().expect("offer");
        async move {
            app_ref
                .post(
                    "wait",
                    Some(&token),
                    &format!("/api/v1/waitlist/offers/{offer}/accept"),
                    json!({}),
                )
                .await
                .0
                .status()
                .as_u16()
        }
    }))
    .await;
    let mut sorted = results.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [201, 409], "{results:?}");
    // The third's offer is now taken.
    let r = app
        .post(
            "wait",
            Some(&waiting[2]),
            &format!(
                "/api/v1/waitlist/offers/{}/accept",
                offers[2].clone().expect("offer")
            ),
            json!({}),
        )
        .await;
    let p = problem(r, 409).await;
    assert!(
        p["detail"].as_str().unwrap_or_default().contains("first"),
        "{p}"
    );
    // Expiry: one offer at a time now; free another slot, let its offer lapse, and the sweep
    // offers it to the next client in line.
    let r = app
        .get("wait", Some(&t.admin_token), "/api/v1/scheduling/policy")
        .await;
    let ptag = etag_of(&r);
    let r = app
        .patch(
            "wait",
            &t.admin_token,
            "/api/v1/scheduling/policy",
            Some(&ptag),
            json!({"waitlist_offer_batch": 1}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let loser = if results[0] == 201 { 1 } else { 0 };
    let slot2 = at(6, 12 * 60);
    let r = book_as(
        &app,
        "wait",
        &t.admin_token,
        &cal.provider,
        Some(&holder),
        &cal.type_id,
        slot2,
    )
    .await;
    let tag2 = etag_of(&r);
    let id2 = body(r).await["id"].as_str().expect("id").to_owned();
    let r = send(
        &app,
        Method::POST,
        "wait",
        &t.admin_token,
        &format!("/api/v1/appointments/{id2}/transitions"),
        Some(&tag2),
        Some(json!({"action": "cancel"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    assert!(
        offer_of(waiting[loser].clone()).await.is_some(),
        "the first in line is offered it"
    );
    assert!(offer_of(waiting[2].clone()).await.is_none());
    crate::support::sql(
        app.db_url(),
        &format!(
            "UPDATE {}.waitlist_offers SET expires_at = now() - interval '1 minute' WHERE status = 'open'",
            t.tenant.schema
        ),
    )
    .await;
    assert!(
        offer_of(waiting[loser].clone()).await.is_none(),
        "an expired offer is not open"
    );
    // Making the offers wrote the job that passes them on when they expire.
    let expiry_jobs = crate::support::sql_count(
        app.db_url(),
        "SELECT count(*) FROM swiftacare_jobs.outbox WHERE kind = 'waitlist.expire' AND status = 'pending'",
    )
    .await;
    assert!(expiry_jobs >= 1, "no waitlist.expire job was scheduled");
    let made = domain::scheduling::waitlist::sweep(&app.tenancy, &t.tenant)
        .await
        .expect("sweep");
    assert_eq!(made, 1, "the next client is offered the slot");
    let next = offer_of(waiting[2].clone())
        .await
        .expect("offer for the next in line");
    let r = app
        .post(
            "wait",
            Some(&waiting[2]),
            &format!("/api/v1/waitlist/offers/{next}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    // The expiry jobs themselves run through the job runner without failing.
    crate::support::sql(
        app.db_url(),
        "UPDATE swiftacare_jobs.outbox SET available_at = now() WHERE kind = 'waitlist.expire' AND status = 'pending'",
    )
    .await;
    let handled = crate::jobs::runner(&app)
        .poll_once(100)
        .await
        .expect("poll");
    assert!(handled >= 1, "the expiry jobs ran");
    let failed = crate::support::sql_count(
        app.db_url(),
        "SELECT count(*) FROM swiftacare_jobs.outbox WHERE kind = 'waitlist.expire' AND status <> 'done'",
    )
    .await;
    assert_eq!(failed, 0, "every expiry job is done");
}

#[tokio::test(flavor = "multi_thread")]
async fn calendar_feeds_are_per_tenant_and_revocable() {
    let app = TestApp::new().await;
    let a = app.tenant("fa").await;
    app.tenant("fb").await;
    let cal = calendar(&app, &a, "f", "UTC").await;
    let r = app
        .post(
            "fa",
            Some(&cal.client_token),
            "/api/v1/calendar-feeds",
            json!({}),
        )
        .await;
    let feed = body(r).await;
    let url = feed["url"].as_str().expect("url").to_owned();
    let path = url.trim_start_matches("http://test").to_owned();
    assert_eq!(app.client.get(&path).send().await.0.status().as_u16(), 200);
    // The same token under another tenant's slug: 404.
    let other = path.replace("/ical/fa/", "/ical/fb/");
    assert_eq!(app.client.get(&other).send().await.0.status().as_u16(), 404);
    assert_eq!(
        app.client
            .get("/ical/fa/not-a-token.ics")
            .send()
            .await
            .0
            .status()
            .as_u16(),
        404
    );
    // Staff have no feeds of their own.
    let r = app
        .post(
            "fa",
            Some(&a.admin_token),
            "/api/v1/calendar-feeds",
            json!({}),
        )
        .await;
    problem(r, 403).await;
    // Revoked: gone at once.
    let id = feed["id"].as_str().expect("id");
    let r = send(
        &app,
        Method::DELETE,
        "fa",
        &cal.client_token,
        &format!("/api/v1/calendar-feeds/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 204);
    assert_eq!(app.client.get(&path).send().await.0.status().as_u16(), 404);
}
