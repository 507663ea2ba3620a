//! The tenant's security policy: session timeouts and roles that must use MFA (identity issue).

use domain::identity::{Role, RoleGrant};
use serde_json::json;

use crate::support::{PASSWORD, TestApp, body, enrol_totp, problem};

async fn patch_policy(
    app: &TestApp,
    token: &str,
    version: &str,
    b: serde_json::Value,
) -> poem::test::TestResponse {
    app.patch("acme", token, "/api/v1/security-policy", Some(version), b)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_that_must_use_mfa_get_an_enrolment_only_session_until_they_enrol() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let r = app
        .get("acme", Some(&a.admin_token), "/api/v1/security-policy")
        .await;
    assert_eq!(
        r.0.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some("\"1\"")
    );
    let p = body(r).await;
    assert_eq!(
        (
            p["session_idle_minutes"].as_i64(),
            p["session_max_hours"].as_i64()
        ),
        (Some(30), Some(12))
    );

    // Validation, If-Match, and only institution admins.
    problem(
        app.patch(
            "acme",
            &a.admin_token,
            "/api/v1/security-policy",
            None,
            json!({"session_idle_minutes": 10}),
        )
        .await,
        428,
    )
    .await;
    let e = problem(
        patch_policy(
            &app,
            &a.admin_token,
            "\"1\"",
            json!({"session_idle_minutes": 2}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(e["errors"][0]["field"], "/session_idle_minutes");
    let prov = app.person(&a, "provider", "Mo", "mo@acme.test", None).await;
    let mo = app
        .account(
            &a,
            &prov,
            &[RoleGrant {
                role: Role::Provider,
                department_id: None,
            }],
        )
        .await;
    problem(
        app.get("acme", Some(&mo), "/api/v1/security-policy").await,
        403,
    )
    .await;

    let r = patch_policy(
        &app,
        &a.admin_token,
        "\"1\"",
        json!({"mfa_required_roles": ["provider"]}),
    )
    .await;
    r.assert_status_is_ok();
    problem(
        patch_policy(
            &app,
            &a.admin_token,
            "\"1\"",
            json!({"session_idle_minutes": 20}),
        )
        .await,
        412,
    )
    .await;

    // The provider signs in: an enrolment-only session.
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": "mo@acme.test", "password": PASSWORD}),
        )
        .await;
    r.assert_status_is_ok();
    let s = body(r).await;
    assert_eq!(s["mfa_enrolment_required"], true);
    let t = s["access_token"].as_str().expect("token").to_owned();
    let p = problem(app.get("acme", Some(&t), "/api/v1/people").await, 403).await;
    assert_eq!(p["type"], "urn:swiftacare:problem:mfa-enrolment-required");
    app.get("acme", Some(&t), "/api/v1/auth/me")
        .await
        .assert_status_is_ok();
    // Enrolling lifts the restriction at once; from then on sign-in asks for the code.
    enrol_totp(&app, "acme", &t).await;
    app.get("acme", Some(&t), "/api/v1/people")
        .await
        .assert_status_is_ok();
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": "mo@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 202);
    // Roles not named are unaffected.
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": a.admin_email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(body(r).await["mfa_enrolment_required"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn session_timeouts_follow_the_tenant_policy() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    patch_policy(
        &app,
        &a.admin_token,
        "\"1\"",
        json!({"session_idle_minutes": 5, "session_max_hours": 1}),
    )
    .await
    .assert_status_is_ok();
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": a.admin_email, "password": PASSWORD}),
        )
        .await;
    let s = body(r).await;
    let ends: chrono::DateTime<chrono::Utc> = s["session_expires_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("time");
    let hours = (ends - chrono::Utc::now()).num_minutes();
    assert!(
        (55..=60).contains(&hours),
        "session ends in {hours} minutes"
    );
    // Idle for six minutes: past this tenant's 5-minute limit (the default 30 would allow it).
    let sid: uuid::Uuid = s["session_id"]
        .as_str()
        .and_then(|x| x.parse().ok())
        .expect("sid");
    app.tenancy
        .tx(&a.tenant, async |c| {
            use diesel_async::RunQueryDsl;
            diesel::sql_query(
                "UPDATE sessions SET last_seen_at = now() - interval '6 minutes' WHERE id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(sid)
            .execute(c)
            .await?;
            Ok::<_, domain::DomainError>(())
        })
        .await
        .expect("age");
    problem(
        app.get("acme", s["access_token"].as_str(), "/api/v1/auth/me")
            .await,
        401,
    )
    .await;
}
