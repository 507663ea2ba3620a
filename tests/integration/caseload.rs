//! A provider's caseload (`GET /providers/{id}/clients`, "My clients" in the web app): the
//! care-team clients with each one's next and last appointment with that provider, who may
//! read it, paging, and the audit entry naming the clients on the page.

use domain::identity::{Role, RoleGrant};
use poem::http::Method;
use serde_json::{Value, json};

use crate::scheduling::{at, book_as, calendar, client, send};
use crate::support::{TestApp, body, problem, sql};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_lists_their_clients_with_next_and_last_appointments() {
    let app = TestApp::new().await;
    let t = app.tenant("case").await;
    let slug = "case";
    let admin = t.admin_token.clone();
    let cal = calendar(&app, &t, "a", "UTC").await;
    let quiet = client(&app, &t, "quiet").await;
    let stranger = client(&app, &t, "stranger").await;
    for c in [&cal.client, &quiet] {
        let r = app
            .post(
                slug,
                Some(&admin),
                &format!("/api/v1/people/{c}/care-team"),
                json!({"provider_id": cal.provider}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 204);
    }
    let book = |days: i64| {
        let (app, admin, cal) = (&app, &admin, &cal);
        async move {
            let r = book_as(
                app,
                slug,
                admin,
                &cal.provider,
                Some(&cal.client),
                &cal.type_id,
                at(days, 600),
            )
            .await;
            assert_eq!(r.0.status().as_u16(), 201);
            body(r).await
        }
    };
    // Cancelled: never the next one.
    let cancelled = book(2).await;
    let r = send(
        &app,
        Method::POST,
        slug,
        &admin,
        &format!("/api/v1/appointments/{}/transitions", id(&cancelled)),
        Some("\"1\""),
        Some(json!({"action": "cancel", "reason": "scheduling_error"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let next = book(3).await;
    book(5).await;
    // Two in the past (moved there behind the API's back: booking in the past is refused).
    let recent = book(6).await;
    let older = book(7).await;
    let schema = t.tenant.schema.as_str();
    for (a, days) in [(&recent, 12), (&older, 20)] {
        sql(
            app.db_url(),
            &format!(
                "UPDATE {schema}.appointments SET starts_at = starts_at - interval '{days} days',
                 ends_at = ends_at - interval '{days} days', busy_from = busy_from - interval '{days} days',
                 busy_until = busy_until - interval '{days} days' WHERE id = '{}'",
                id(a)
            ),
        )
        .await;
    }
    // Not on the care team: not listed, whatever their appointments.
    let r = book_as(
        &app,
        slug,
        &admin,
        &cal.provider,
        Some(&stranger),
        &cal.type_id,
        at(4, 600),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);

    let path = format!("/api/v1/providers/{}/clients", cal.provider);
    let list = body(app.get(slug, Some(&cal.provider_token), &path).await).await;
    let items = list["items"].as_array().expect("items");
    let mut expected = vec![cal.client.clone(), quiet.clone()];
    expected.sort();
    let got: Vec<String> = items.iter().map(|x| id(&x["client"])).collect();
    assert_eq!(got, expected);
    let busy = items
        .iter()
        .find(|x| x["client"]["id"] == json!(cal.client))
        .expect("client");
    assert_eq!(busy["next_appointment"]["id"], next["id"]);
    assert_eq!(busy["next_appointment"]["client_name"], json!("Cli Test"));
    assert_eq!(busy["last_appointment"]["id"], recent["id"]);
    let idle = items
        .iter()
        .find(|x| x["client"]["id"] == json!(quiet))
        .expect("quiet");
    assert!(idle.get("next_appointment").is_none() && idle.get("last_appointment").is_none());
    assert!(list["page"].get("next_after").is_none());

    // Paged by client id.
    let first = body(
        app.get(slug, Some(&cal.provider_token), &format!("{path}?limit=1"))
            .await,
    )
    .await;
    assert_eq!(first["items"][0]["client"]["id"], json!(expected[0]));
    let after = first["page"]["next_after"].as_str().expect("next_after");
    let second = body(
        app.get(
            slug,
            Some(&cal.provider_token),
            &format!("{path}?limit=1&after={after}"),
        )
        .await,
    )
    .await;
    assert_eq!(second["items"][0]["client"]["id"], json!(expected[1]));
    assert!(second["page"].get("next_after").is_none());
    let bad = problem(
        app.get(slug, Some(&cal.provider_token), &format!("{path}?limit=0"))
            .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "limit");

    // Each read names the clients on its page (and only them) in the audit log.
    let audit = body(
        app.get(
            slug,
            Some(&admin),
            "/api/v1/audit-events?action=care_team.list",
        )
        .await,
    )
    .await;
    let events = audit["items"].as_array().expect("items");
    assert_eq!(events.len(), 3, "{audit}");
    assert!(
        events
            .iter()
            .all(|e| e["resource_id"] == json!(cal.provider))
    );
    let mut subjects: Vec<String> = events
        .iter()
        .find(|e| e["subjects"].as_array().is_some_and(|s| s.len() == 2))
        .expect("full page")["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .map(|s| s.as_str().expect("id").to_owned())
        .collect();
    subjects.sort();
    assert_eq!(subjects, expected);
    assert!(!audit.to_string().contains(&stranger));

    // Institution admins read any provider's; the client is refused; another provider does not
    // learn this one's caseload; an unknown or non-provider id is not found.
    app.get(slug, Some(&admin), &path)
        .await
        .assert_status_is_ok();
    problem(app.get(slug, Some(&cal.client_token), &path).await, 403).await;
    let other = calendar(&app, &t, "b", "UTC").await;
    problem(app.get(slug, Some(&other.provider_token), &path).await, 404).await;
    for missing in [uuid::Uuid::now_v7().to_string(), quiet.clone()] {
        problem(
            app.get(
                slug,
                Some(&admin),
                &format!("/api/v1/providers/{missing}/clients"),
            )
            .await,
            404,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sub_admin_reads_caseloads_only_in_their_subtree() {
    let app = TestApp::new().await;
    let t = app.tenant("casesub").await;
    let slug = "casesub";
    let site = id(&app.department(&t, "Site", None).await);
    let other = id(&app.department(&t, "Other", None).await);
    let inside = app
        .person(&t, "provider", "In", "in@casesub.test", Some(&site))
        .await;
    let outside = app
        .person(&t, "provider", "Out", "out@casesub.test", Some(&other))
        .await;
    let staff = app
        .person(&t, "staff", "Sub", "sub@casesub.test", Some(&site))
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
    let clients = |p: &Value| format!("/api/v1/providers/{}/clients", id(p));
    app.get(slug, Some(&sub), &clients(&inside))
        .await
        .assert_status_is_ok();
    problem(app.get(slug, Some(&sub), &clients(&outside)).await, 404).await;
}
