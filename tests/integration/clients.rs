//! OAuth2 client credentials: integrations get scoped, revocable, tenant-bound tokens and reach
//! only the department and directory operations.

use serde_json::{Value, json};

use crate::support::{TestApp, body, problem};

async fn create_client(
    app: &TestApp,
    slug: &str,
    admin: &str,
    scopes: &[&str],
) -> (String, String) {
    let r = app
        .post(
            slug,
            Some(admin),
            "/api/v1/oauth-clients",
            json!({"name": "HR sync", "scopes": scopes}),
        )
        .await;
    r.assert_status(poem::http::StatusCode::CREATED);
    let v = body(r).await;
    (
        v["client"]["id"].as_str().expect("id").to_owned(),
        v["client_secret"].as_str().expect("secret").to_owned(),
    )
}

async fn token_request(app: &TestApp, slug: &str, form: &str) -> (u16, Value) {
    let r = app
        .client
        .post("/api/v1/oauth/token")
        .header("X-Tenant", slug)
        .content_type("application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await;
    (r.0.status().as_u16(), body(r).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn integrations_get_scoped_revocable_tenant_bound_tokens() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    app.tenant("bravo").await;
    let client_person = app
        .person(&a, "client", "Cleo", "cleo@acme.test", None)
        .await;
    let (id, secret) = create_client(&app, "acme", &a.admin_token, &["directory:read"]).await;

    // RFC 6749 errors.
    let (s, e) = token_request(
        &app,
        "acme",
        &format!("grant_type=client_credentials&client_id={id}&client_secret=wrong"),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (401, Some("invalid_client")),
        "{e}"
    );
    let (s, e) = token_request(
        &app,
        "acme",
        &format!("grant_type=password&client_id={id}&client_secret={secret}"),
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, e) = token_request(&app, "acme", &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=directory:write")).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_scope")));
    // The client of tenant acme is unknown in bravo.
    let (s, _) = token_request(
        &app,
        "bravo",
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
    )
    .await;
    assert_eq!(s, 401);

    let (s, t) = token_request(
        &app,
        "acme",
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["scope"], "directory:read");
    let token = t["access_token"].as_str().expect("token").to_owned();

    // Read scope: the directory (everyone in it), not writes, not anything else.
    let people = body(
        app.get("acme", Some(&token), "/api/v1/people?kind=client")
            .await,
    )
    .await;
    assert!(
        people["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|p| p["id"] == client_person["id"])
    );
    app.get("acme", Some(&token), "/api/v1/departments")
        .await
        .assert_status_is_ok();
    problem(
        app.post(
            "acme",
            Some(&token),
            "/api/v1/departments",
            json!({"name": "Sync", "kind": "unit"}),
        )
        .await,
        403,
    )
    .await;
    for path in [
        "/api/v1/accounts",
        "/api/v1/audit-events",
        "/api/v1/auth/me",
        "/api/v1/security-policy",
        "/api/v1/oauth-clients",
    ] {
        let p = problem(app.get("acme", Some(&token), path).await, 403).await;
        assert_eq!(
            p["type"], "urn:swiftacare:problem:not-for-integrations",
            "{path}"
        );
    }
    let cid = client_person["id"].as_str().expect("id");
    problem(
        app.post(
            "acme",
            Some(&token),
            "/api/v1/break-glass",
            json!({"client_id": cid, "reason_code": "emergency", "reason": "an integration tries"}),
        )
        .await,
        403,
    )
    .await;
    problem(app.get("bravo", Some(&token), "/api/v1/people").await, 401).await;

    // Write scope creates, and the audit log names the integration.
    let (wid, wsecret) = create_client(
        &app,
        "acme",
        &a.admin_token,
        &["directory:read", "directory:write"],
    )
    .await;
    let (_, wt) = token_request(
        &app,
        "acme",
        &format!("grant_type=client_credentials&client_id={wid}&client_secret={wsecret}"),
    )
    .await;
    let wtoken = wt["access_token"].as_str().expect("token").to_owned();
    let r = app
        .post(
            "acme",
            Some(&wtoken),
            "/api/v1/departments",
            json!({"name": "Synced unit", "kind": "unit"}),
        )
        .await;
    r.assert_status(poem::http::StatusCode::CREATED);
    let events = body(
        app.get(
            "acme",
            Some(&a.admin_token),
            "/api/v1/audit-events?action=department.create",
        )
        .await,
    )
    .await;
    assert_eq!(events["items"][0]["actor_type"], "integration");
    assert_eq!(events["items"][0]["actor_id"], wid.as_str());

    // Revocation applies to the next request; only admins manage clients.
    let list = body(
        app.get("acme", Some(&a.admin_token), "/api/v1/oauth-clients")
            .await,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    assert!(
        !list.to_string().contains(&secret),
        "secrets are never listed"
    );
    let r = app
        .client
        .delete(format!("/api/v1/oauth-clients/{wid}"))
        .header("X-Tenant", "acme")
        .header("Authorization", format!("Bearer {}", a.admin_token))
        .send()
        .await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    problem(app.get("acme", Some(&wtoken), "/api/v1/people").await, 401).await;
}
