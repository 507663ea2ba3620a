//! Platform operators: sign-in to the control plane, tenant creation with the first admin's
//! set-up link by email, suspension — and no way into any tenant's data (T3: 401 across planes).

use serde_json::json;

use crate::support::{PASSWORD, TestApp, body, problem, read_eml, token_in};

async fn operator_token(app: &TestApp) -> String {
    domain::platform::create_operator(&app.tenancy, "ops@platform.test", PASSWORD)
        .await
        .expect("operator");
    let r = app
        .client
        .post("/platform/v1/auth/login")
        .body_json(&json!({"email": "ops@platform.test", "password": PASSWORD}))
        .send()
        .await;
    r.assert_status_is_ok();
    body(r).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_create_and_suspend_tenants_but_cannot_enter_them() {
    let app = TestApp::new().await;
    let existing = app.tenant("acme").await;
    let op = operator_token(&app).await;
    let auth = format!("Bearer {op}");

    let r = app
        .client
        .post("/platform/v1/tenants")
        .header("Authorization", &auth)
        .body_json(&json!({"slug": "north-clinic", "name": "North Clinic", "kind": "clinic", "admin_email": "head@north.test"}))
        .send()
        .await;
    r.assert_status(poem::http::StatusCode::CREATED);
    let t = body(r).await;
    assert_eq!(t["status"], "active");
    assert!(t["schema"].as_str().is_some_and(|s| s.starts_with("t_")));
    // The first admin gets the set-up link by email and completes set-up in the tenant.
    let mails = read_eml(app.mail_dir.path());
    let mail = mails
        .iter()
        .find(|m| m.contains("To: head@north.test"))
        .expect("set-up mail");
    let token = token_in(mail).expect("token");
    app.post(
        "north-clinic",
        None,
        "/api/v1/auth/setup",
        json!({"token": token, "password": PASSWORD}),
    )
    .await
    .assert_status(poem::http::StatusCode::NO_CONTENT);
    let admin = app.login("north-clinic", "head@north.test", PASSWORD).await;

    let list = body(
        app.client
            .get("/platform/v1/tenants")
            .header("Authorization", &auth)
            .send()
            .await,
    )
    .await;
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    assert!(
        slugs.contains(&"acme") && slugs.contains(&"north-clinic"),
        "{slugs:?}"
    );

    // Bad input and duplicates.
    let r = app
        .client
        .post("/platform/v1/tenants")
        .header("Authorization", &auth)
        .body_json(
            &json!({"slug": "Bad Slug", "name": "x", "kind": "clinic", "admin_email": "a@b.test"}),
        )
        .send()
        .await;
    assert_eq!(problem(r, 422).await["errors"][0]["field"], "/slug");
    let r = app
        .client
        .post("/platform/v1/tenants")
        .header("Authorization", &auth)
        .body_json(
            &json!({"slug": "acme", "name": "Again", "kind": "clinic", "admin_email": "a@b.test"}),
        )
        .send()
        .await;
    problem(r, 409).await;

    // Suspension reaches the tenant's API; reinstating restores it.
    let r = app
        .client
        .post("/platform/v1/tenants/north-clinic/suspend")
        .header("Authorization", &auth)
        .send()
        .await;
    assert_eq!(body(r).await["status"], "suspended");
    problem(
        app.get("north-clinic", Some(&admin), "/api/v1/auth/me")
            .await,
        403,
    )
    .await;
    app.client
        .post("/platform/v1/tenants/north-clinic/activate")
        .header("Authorization", &auth)
        .send()
        .await
        .assert_status_is_ok();
    app.get("north-clinic", Some(&admin), "/api/v1/auth/me")
        .await
        .assert_status_is_ok();
    problem(
        app.client
            .post("/platform/v1/tenants/nope/suspend")
            .header("Authorization", &auth)
            .send()
            .await,
        404,
    )
    .await;

    // Neither plane accepts the other's tokens.
    problem(app.get("acme", Some(&op), "/api/v1/people").await, 401).await;
    problem(app.get("acme", Some(&op), "/api/v1/auth/me").await, 401).await;
    problem(
        app.client
            .get("/platform/v1/tenants")
            .header("Authorization", format!("Bearer {}", existing.admin_token))
            .send()
            .await,
        401,
    )
    .await;
    problem(app.client.get("/platform/v1/tenants").send().await, 401).await;

    // Sign-out ends the operator session at once; wrong passwords are refused.
    app.client
        .post("/platform/v1/auth/logout")
        .header("Authorization", &auth)
        .send()
        .await
        .assert_status(poem::http::StatusCode::NO_CONTENT);
    problem(
        app.client
            .get("/platform/v1/tenants")
            .header("Authorization", &auth)
            .send()
            .await,
        401,
    )
    .await;
    let r = app
        .client
        .post("/platform/v1/auth/login")
        .body_json(&json!({"email": "ops@platform.test", "password": "wrong password!"}))
        .send()
        .await;
    problem(r, 401).await;
}
