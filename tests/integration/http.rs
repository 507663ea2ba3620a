//! HTTP behaviour: bad input gets problem+json naming what is wrong and changes nothing; the
//! tenant router; sessions; If-Match; the access policy (404 for what the caller may not see).

use domain::identity::{Role, RoleGrant};
use poem::http::StatusCode;
use serde_json::json;
use tenancy::{Slug, TenantStatus, provision};

use crate::support::{PASSWORD, TestApp, body, problem};

async fn department_count(app: &TestApp, slug: &str, token: &str) -> usize {
    let r = app
        .get(slug, Some(token), "/api/v1/departments?limit=200")
        .await;
    body(r).await["items"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(usize::MAX)
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_clear_problem_and_changes_nothing() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let tok = a.admin_token.as_str();
    let before = department_count(&app, "acme", tok).await;

    // Tenant routing errors.
    let p = problem(app.get("nope", Some(tok), "/api/v1/departments").await, 404).await;
    assert_eq!(p["detail"], "no such tenant");
    let p = problem(
        app.get("Bad_Slug", Some(tok), "/api/v1/departments").await,
        400,
    )
    .await;
    assert_eq!(p["type"], "urn:swiftacare:problem:invalid-tenant");
    let p = problem(app.client.get("/api/v1/departments").send().await, 400).await;
    assert_eq!(p["type"], "urn:swiftacare:problem:tenant-required");

    // Invalid JSON, wrong types, unknown enum values, empty and too-long names.
    let r = app
        .client
        .post("/api/v1/departments")
        .header("X-Tenant", "acme")
        .header("Authorization", format!("Bearer {tok}"))
        .content_type("application/json")
        .body("{not json")
        .send()
        .await;
    problem(r, 400).await;
    let p = problem(
        app.post(
            "acme",
            Some(tok),
            "/api/v1/departments",
            json!({"name": "x", "kind": "galaxy"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/kind", "{p}");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .is_some_and(|d| d.contains("galaxy")),
        "{p}"
    );
    let p = problem(
        app.post(
            "acme",
            Some(tok),
            "/api/v1/departments",
            json!({"kind": "unit"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/name", "{p}");
    assert_eq!(p["errors"][0]["message"], "is required", "{p}");
    let p = problem(
        app.post(
            "acme",
            Some(tok),
            "/api/v1/departments",
            json!({"name": 7, "kind": "moon", "parent_id": "x"}),
        )
        .await,
        400,
    )
    .await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["/kind", "/name", "/parent_id"], "{p}");
    let p = problem(
        app.post(
            "acme",
            Some(tok),
            "/api/v1/departments",
            json!({"name": "   ", "kind": "unit"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/name");
    let p = problem(
        app.post(
            "acme",
            Some(tok),
            "/api/v1/departments",
            json!({"name": "x".repeat(201), "kind": "unit"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/name");
    let p = problem(
        app.post(
            "acme",
            Some(tok),
            "/api/v1/departments",
            json!({"name": "Orphan", "kind": "unit", "parent_id": uuid::Uuid::now_v7()}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/parent_id");
    let p = problem(
        app.post(
            "acme",
            Some(tok),
            "/api/v1/people",
            json!({"kind": "client", "given_name": "", "family_name": "", "email": "nope"}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        vec!["/given_name", "/family_name", "/email"],
        "every bad field is named"
    );
    problem(
        app.get("acme", Some(tok), "/api/v1/departments?limit=0")
            .await,
        422,
    )
    .await;
    problem(
        app.get("acme", Some(tok), "/api/v1/departments/not-a-uuid")
            .await,
        400,
    )
    .await;

    // Oversized body (the test app allows 64 KiB).
    let big = json!({"name": "x".repeat(70 * 1024), "kind": "unit"});
    problem(
        app.post("acme", Some(tok), "/api/v1/departments", big)
            .await,
        413,
    )
    .await;

    // Unknown route and wrong method are problems too.
    problem(app.get("acme", Some(tok), "/api/v1/nowhere").await, 404).await;
    problem(app.client.delete("/healthz").send().await, 405).await;

    assert_eq!(
        department_count(&app, "acme", tok).await,
        before,
        "a rejected request wrote something"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_by_host_and_suspension() {
    let app = TestApp::with(|s| s.base_domain = Some("swiftacare.test".into())).await;
    let a = app.tenant("north").await;
    let _b = app.tenant("south").await;
    let auth = format!("Bearer {}", a.admin_token);
    let r = app
        .client
        .get("/api/v1/tenant")
        .header("Host", "north.swiftacare.test")
        .header("Authorization", &auth)
        .send()
        .await;
    r.assert_status_is_ok();
    assert_eq!(body(r).await["slug"], "north");
    // Header and host disagree.
    let r = app
        .client
        .get("/api/v1/tenant")
        .header("Host", "north.swiftacare.test:8080")
        .header("X-Tenant", "south")
        .header("Authorization", &auth)
        .send()
        .await;
    let p = problem(r, 400).await;
    assert_eq!(p["type"], "urn:swiftacare:problem:tenant-mismatch");

    // Suspension answers 403 on the next request (cache TTL is 0 in tests), and reinstating works.
    let slug = Slug::parse("north").expect("slug");
    provision::set_status(&app.tenancy, &slug, TenantStatus::Suspended)
        .await
        .expect("suspend");
    let p = problem(
        app.get("north", Some(&a.admin_token), "/api/v1/tenant")
            .await,
        403,
    )
    .await;
    assert_eq!(p["type"], "urn:swiftacare:problem:tenant-suspended");
    provision::set_status(&app.tenancy, &slug, TenantStatus::Active)
        .await
        .expect("activate");
    app.get("north", Some(&a.admin_token), "/api/v1/tenant")
        .await
        .assert_status_is_ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_setup_tokens_and_logout() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;

    // Wrong password and unknown email get the same answer.
    let wrong = problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": a.admin_email, "password": "wrong password!!"}),
        )
        .await,
        401,
    )
    .await;
    let unknown = problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": "ghost@acme.test", "password": "wrong password!!"}),
        )
        .await,
        401,
    )
    .await;
    assert_eq!(wrong["detail"], unknown["detail"]);
    // Email is matched case-insensitively.
    app.login("acme", &a.admin_email.to_uppercase(), PASSWORD)
        .await;

    // No token, garbage token.
    problem(app.get("acme", None, "/api/v1/auth/me").await, 401).await;
    problem(
        app.get("acme", Some("sct_garbage"), "/api/v1/auth/me")
            .await,
        401,
    )
    .await;

    // Logout revokes exactly this session, on the next request.
    let second = app.login("acme", &a.admin_email, PASSWORD).await;
    let r = app
        .post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/auth/logout",
            json!({}),
        )
        .await;
    r.assert_status(StatusCode::NO_CONTENT);
    problem(
        app.get("acme", Some(&a.admin_token), "/api/v1/auth/me")
            .await,
        401,
    )
    .await;
    app.get("acme", Some(&second), "/api/v1/auth/me")
        .await
        .assert_status_is_ok();

    // A set-up token works once; a weak password does not spend it.
    let name = swiftacare_api::demo::person_name("Second", "Admin").expect("name");
    let issued = domain::identity::service::create_first_admin(
        &app.tenancy,
        &a.tenant,
        "second@acme.test",
        name,
    )
    .await
    .expect("issue");
    let p = problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/setup",
            json!({"token": issued.token, "password": "short"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/password");
    app.post(
        "acme",
        None,
        "/api/v1/auth/setup",
        json!({"token": issued.token, "password": PASSWORD}),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    let p = problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/setup",
            json!({"token": issued.token, "password": PASSWORD}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/token");
}

#[tokio::test(flavor = "multi_thread")]
async fn if_match_prevents_lost_updates() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let d = app.department(&a, "Intake", None).await;
    let path = format!("/api/v1/departments/{}", d["id"].as_str().expect("id"));
    let r = app.get("acme", Some(&a.admin_token), &path).await;
    assert_eq!(
        r.0.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some("\"1\"")
    );

    problem(
        app.patch("acme", &a.admin_token, &path, None, json!({"name": "X"}))
            .await,
        428,
    )
    .await;
    problem(
        app.patch(
            "acme",
            &a.admin_token,
            &path,
            Some("1"),
            json!({"name": "X"}),
        )
        .await,
        400,
    )
    .await;

    // Two writers with the same ETag: exactly one wins, the other gets 412.
    let (r1, r2) = tokio::join!(
        app.patch(
            "acme",
            &a.admin_token,
            &path,
            Some("\"1\""),
            json!({"name": "First"})
        ),
        app.patch(
            "acme",
            &a.admin_token,
            &path,
            Some("\"1\""),
            json!({"name": "Second"})
        ),
    );
    let mut statuses = [r1.0.status().as_u16(), r2.0.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    let now = body(app.get("acme", Some(&a.admin_token), &path).await).await;
    assert_eq!(now["version"], 2);

    // Moving a department under its own child is refused.
    let child = app.department(&a, "Child", d["id"].as_str()).await;
    let p = problem(
        app.patch(
            "acme",
            &a.admin_token,
            &path,
            Some("\"2\""),
            json!({"parent_id": child["id"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/parent_id");
    // Deleting a department that still has children is a conflict.
    let r = app
        .client
        .delete(&path)
        .header("X-Tenant", "acme")
        .header("Authorization", format!("Bearer {}", a.admin_token))
        .header("If-Match", "\"2\"")
        .send()
        .await;
    problem(r, 409).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn access_policy_by_role() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let site = app.department(&a, "Site", None).await;
    let ward = app.department(&a, "Ward", site["id"].as_str()).await;
    let other = app.department(&a, "Other site", None).await;

    let prov = app
        .person(&a, "provider", "Pat", "pat@acme.test", ward["id"].as_str())
        .await;
    let client = app
        .person(&a, "client", "Cleo", "cleo@acme.test", ward["id"].as_str())
        .await;
    let client2 = app
        .person(&a, "client", "Cody", "cody@acme.test", other["id"].as_str())
        .await;
    let sub = app
        .person(&a, "staff", "Sid", "sid@acme.test", site["id"].as_str())
        .await;

    let provider_tok = app
        .account(
            &a,
            &prov,
            &[RoleGrant {
                role: Role::Provider,
                department_id: None,
            }],
        )
        .await;
    let client_tok = app
        .account(
            &a,
            &client,
            &[RoleGrant {
                role: Role::Client,
                department_id: None,
            }],
        )
        .await;
    let sub_tok = app
        .account(
            &a,
            &sub,
            &[RoleGrant {
                role: Role::SubAdmin,
                department_id: site["id"].as_str().and_then(|s| s.parse().ok()),
            }],
        )
        .await;

    // Provider: reads the tree and colleagues, not clients (no care team yet), cannot administer.
    app.get("acme", Some(&provider_tok), "/api/v1/departments")
        .await
        .assert_status_is_ok();
    let people = body(app.get("acme", Some(&provider_tok), "/api/v1/people").await).await;
    let kinds: Vec<&str> = people["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["kind"].as_str())
        .collect();
    assert!(kinds.iter().all(|k| *k != "client"), "{kinds:?}");
    problem(
        app.get(
            "acme",
            Some(&provider_tok),
            &format!("/api/v1/people/{}", client["id"].as_str().expect("id")),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.post(
            "acme",
            Some(&provider_tok),
            "/api/v1/departments",
            json!({"name": "Mine", "kind": "unit"}),
        )
        .await,
        403,
    )
    .await;

    // Client: only their own entry; no department tree.
    let people = body(app.get("acme", Some(&client_tok), "/api/v1/people").await).await;
    let ids: Vec<&str> = people["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, vec![client["id"].as_str().expect("id")]);
    problem(
        app.get("acme", Some(&client_tok), "/api/v1/departments")
            .await,
        403,
    )
    .await;
    problem(
        app.get(
            "acme",
            Some(&client_tok),
            &format!("/api/v1/people/{}", prov["id"].as_str().expect("id")),
        )
        .await,
        404,
    )
    .await;

    // Sub-admin of "Site": administers inside the subtree only.
    let r = app
        .post(
            "acme",
            Some(&sub_tok),
            "/api/v1/departments",
            json!({"name": "New unit", "kind": "unit", "parent_id": ward["id"]}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    problem(
        app.post(
            "acme",
            Some(&sub_tok),
            "/api/v1/departments",
            json!({"name": "Rogue", "kind": "unit", "parent_id": other["id"]}),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.post(
            "acme",
            Some(&sub_tok),
            "/api/v1/departments",
            json!({"name": "Top", "kind": "site"}),
        )
        .await,
        403,
    )
    .await;
    app.get(
        "acme",
        Some(&sub_tok),
        &format!("/api/v1/people/{}", client["id"].as_str().expect("id")),
    )
    .await
    .assert_status_is_ok();
    problem(
        app.get(
            "acme",
            Some(&sub_tok),
            &format!("/api/v1/people/{}", client2["id"].as_str().expect("id")),
        )
        .await,
        404,
    )
    .await;

    // Role changes apply to the next request: revoke the provider's account roles.
    app.tenancy
        .tx(&a.tenant, async |c| {
            use diesel_async::RunQueryDsl;
            diesel::sql_query("DELETE FROM role_grants WHERE role = 'provider'")
                .execute(c)
                .await?;
            Ok::<_, domain::DomainError>(())
        })
        .await
        .expect("revoke");
    // With no role left, the provider falls to "only self" and no tree.
    problem(
        app.get("acme", Some(&provider_tok), "/api/v1/departments")
            .await,
        403,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn database_unreachable_is_503_with_retry_after() {
    // Nothing listens on port 1: every checkout fails fast.
    let mut opts = crate::support::options("postgres://postgres@127.0.0.1:1/none", 2);
    opts.pool_wait = std::time::Duration::from_millis(500);
    let tenancy = tenancy::Tenancy::new(opts).expect("tenancy");
    let client = crate::support::client_for(tenancy, &crate::support::rand_key());
    let r = client
        .get("/api/v1/tenant")
        .header("X-Tenant", "acme")
        .send()
        .await;
    assert_eq!(
        r.0.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let p = problem(r, 503).await;
    assert!(
        !p["detail"].as_str().unwrap_or("").contains("127.0.0.1"),
        "no internals in the problem: {p}"
    );
    let r = client.get("/readyz").send().await;
    assert_eq!(r.0.status().as_u16(), 503);
    client.get("/healthz").send().await.assert_status_is_ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_changes_by_another_process_are_visible_within_the_ttl() {
    // Servers share the token-signing key (SWIFTACARE_TOKEN_KEY), as in production.
    let key = crate::support::rand_key();
    let app = TestApp::with(|s| {
        s.signer =
            std::sync::Arc::new(domain::identity::tokens::TokenSigner::new(&key).expect("signer"))
    })
    .await;
    let a = app.tenant("acme").await;
    // A second "process": its own pools and a 1 s tenant cache, serving the same database.
    let url = app.db_url().to_owned();
    let mut opts = crate::support::options(&url, 2);
    opts.registry_ttl = std::time::Duration::from_secs(1);
    let other = tenancy::Tenancy::new(opts).expect("tenancy");
    let client = crate::support::client_for(other, &key);
    let get = || {
        client
            .get("/api/v1/tenant")
            .header("X-Tenant", "acme")
            .header("Authorization", format!("Bearer {}", a.admin_token))
            .send()
    };
    get().await.assert_status_is_ok(); // now cached as active in the other process
    provision::set_status(
        &app.tenancy,
        &Slug::parse("acme").expect("slug"),
        TenantStatus::Suspended,
    )
    .await
    .expect("suspend");
    let started = std::time::Instant::now();
    loop {
        let status = get().await.0.status().as_u16();
        if status == 403 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "suspension not visible after 5 s with a 1 s TTL"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A bulk scheduling upload may be larger than the general body limit (up to 10,000 rows),
/// and only that route; past its own limit it is a 413 too.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_uploads_have_their_own_body_limit() {
    let app = TestApp::new().await;
    let t = app.tenant("upl").await;
    let cal = crate::scheduling::calendar(&app, &t, "u", "UTC").await;
    let mut csv = String::from("client_email,provider_id,type_id,window_from,window_until\n");
    for i in 0..1000 {
        csv.push_str(&format!(
            "nobody{i}@upl.test,{},{},2027-01-10,2027-01-20\n",
            cal.provider, cal.type_id
        ));
    }
    assert!(csv.len() > 64 * 1024, "over the test app's general limit");
    let batch = uuid::Uuid::now_v7().to_string();
    let r = crate::bulk::post_csv(&app, "upl", &t.admin_token, &batch, csv).await;
    assert_eq!(r.0.status().as_u16(), 202);
    let too_big = "x".repeat(swiftacare_api::body_limit::UPLOAD_MAX + 1);
    let batch = uuid::Uuid::now_v7().to_string();
    problem(
        crate::bulk::post_csv(&app, "upl", &t.admin_token, &batch, too_big).await,
        413,
    )
    .await;
}
