//! Which providers offer an appointment type: by default all; narrowed to a list, slot
//! search, booking, series and the waitlist keep to it, and what is refused writes nothing.

use poem::http::Method;
use serde_json::json;

use crate::scheduling::{at, book_as, calendar, etag_of, send};
use crate::support::{TestApp, body, problem, sql_count};

#[tokio::test(flavor = "multi_thread")]
async fn a_type_offered_by_some_providers_is_booked_only_with_them() {
    let app = TestApp::new().await;
    let t = app.tenant("offer").await;
    let (a, b) = (
        calendar(&app, &t, "a", "UTC").await,
        calendar(&app, &t, "b", "UTC").await,
    );
    let path = format!("/api/v1/appointment-types/{}/providers", a.type_id);
    let put = |tag: String, offering: serde_json::Value| {
        let (app, t, path) = (&app, &t, &path);
        async move {
            send(
                app,
                Method::PUT,
                "offer",
                &t.admin_token,
                path,
                Some(&tag),
                Some(offering),
            )
            .await
        }
    };
    let book =
        |provider: &str, client: &str, type_id: &str, start: chrono::DateTime<chrono::Utc>| {
            let (app, t) = (&app, &t);
            let (provider, client, type_id) =
                (provider.to_owned(), client.to_owned(), type_id.to_owned());
            async move {
                book_as(
                    app,
                    "offer",
                    &t.admin_token,
                    &provider,
                    Some(&client),
                    &type_id,
                    start,
                )
                .await
            }
        };
    let r = app.get("offer", Some(&t.admin_token), &path).await;
    assert_eq!(r.0.status().as_u16(), 200);
    let tag = etag_of(&r);
    assert_eq!(
        body(r).await,
        json!({"all_providers": true, "provider_ids": []})
    );

    // Refused, naming the field, nothing changed: an empty list, a client in the list,
    // "all" with a list; a stale version.
    for bad in [
        json!({"all_providers": false, "provider_ids": []}),
        json!({"all_providers": false, "provider_ids": [a.client]}),
        json!({"all_providers": true, "provider_ids": [a.provider]}),
    ] {
        let r = put(tag.clone(), bad.clone()).await;
        let p = problem(r, 422).await;
        assert_eq!(p["errors"][0]["field"], "/provider_ids", "{bad}");
    }
    let r = put(
        "\"999\"".into(),
        json!({"all_providers": false, "provider_ids": [a.provider]}),
    )
    .await;
    problem(r, 412).await;
    let r = put(
        tag.clone(),
        json!({"all_providers": false, "provider_ids": [a.provider, a.provider]}),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    assert_eq!(body(r).await["provider_ids"], json!([a.provider]));
    let ty = body(
        app.get(
            "offer",
            Some(&t.admin_token),
            &format!("/api/v1/appointment-types/{}", a.type_id),
        )
        .await,
    )
    .await;
    assert_eq!(ty["offered_by_all"], false);

    // Provider B does not offer it: booking, a series and a waitlist entry with B are refused;
    // with A they work.
    let r = book(&b.provider, &b.client, &a.type_id, at(3, 600)).await;
    let p = problem(r, 422).await;
    assert_eq!(p["errors"][0]["field"], "/provider_id");
    let r = app
        .post("offer", Some(&t.admin_token), "/api/v1/appointment-series", json!({
            "provider_id": b.provider, "client_id": b.client, "type_id": a.type_id,
            "first_start": at(3, 600).format("%Y-%m-%dT%H:%M:%S").to_string(), "rrule": "FREQ=WEEKLY;COUNT=3"}))
        .await;
    assert_eq!(problem(r, 422).await["errors"][0]["field"], "/provider_id");
    let r = app
        .post(
            "offer",
            Some(&t.admin_token),
            "/api/v1/waitlist",
            json!({
            "client_id": b.client, "provider_id": b.provider, "type_id": a.type_id,
            "window_from": at(3, 0).to_rfc3339(), "window_until": at(4, 0).to_rfc3339()}),
        )
        .await;
    assert_eq!(problem(r, 422).await["errors"][0]["field"], "/provider_id");
    assert_eq!(
        sql_count(
            app.db_url(),
            &format!(
                "SELECT count(*) FROM {}.appointments WHERE provider_id = '{}'",
                t.tenant.schema, b.provider
            )
        )
        .await,
        0
    );
    // Slot search: B alone is refused, naming the parameter; a department holding both
    // finds only A's times.
    let day = at(3, 0).date_naive();
    let q = |who: &str| {
        format!(
            "/api/v1/slots?{who}&type={}&from={day}&to={day}&tz=UTC",
            a.type_id
        )
    };
    let r = app
        .get(
            "offer",
            Some(&t.admin_token),
            &q(&format!("provider={}", b.provider)),
        )
        .await;
    assert_eq!(problem(r, 422).await["errors"][0]["field"], "provider");
    let dept = app.department(&t, "Both", None).await;
    let dept = dept["id"].as_str().expect("id");
    for who in [&a.provider, &b.provider] {
        let r = app
            .get(
                "offer",
                Some(&t.admin_token),
                &format!("/api/v1/people/{who}"),
            )
            .await;
        let tag = etag_of(&r);
        let r = app
            .patch(
                "offer",
                &t.admin_token,
                &format!("/api/v1/people/{who}"),
                Some(&tag),
                json!({"department_id": dept}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 200);
    }
    let r = app
        .get(
            "offer",
            Some(&t.admin_token),
            &q(&format!("department={dept}")),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let found = body(r).await.to_string();
    assert!(
        found.contains(&a.provider) && !found.contains(&b.provider),
        "{found}"
    );
    let r = book(&a.provider, &a.client, &a.type_id, at(3, 600)).await;
    assert_eq!(r.0.status().as_u16(), 201);
    // B's own type is still offered by everyone, A included.
    let r = book(&a.provider, &b.client, &b.type_id, at(3, 720)).await;
    assert_eq!(r.0.status().as_u16(), 201);

    // Back to all providers: B may be booked again.
    let tag = etag_of(&app.get("offer", Some(&t.admin_token), &path).await);
    let r = put(
        tag.clone(),
        json!({"all_providers": true, "provider_ids": []}),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let r = book(&b.provider, &b.client, &a.type_id, at(3, 600)).await;
    assert_eq!(r.0.status().as_u16(), 201);
}
