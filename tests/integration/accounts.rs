//! Account administration: role changes and disabling apply to the next request (QUALITY T10);
//! the organisation always keeps an active institution admin.

use domain::identity::{Role, RoleGrant};
use serde_json::json;

use crate::support::{PASSWORD, TestApp, body, problem};

#[tokio::test(flavor = "multi_thread")]
async fn role_changes_and_disabling_apply_on_the_next_request() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let prov = app
        .person(&a, "provider", "Pat", "pat@acme.test", None)
        .await;
    let pt = app
        .account(
            &a,
            &prov,
            &[RoleGrant {
                role: Role::Provider,
                department_id: None,
            }],
        )
        .await;
    let me = body(app.get("acme", Some(&pt), "/api/v1/auth/me").await).await;
    let account = me["account_id"].as_str().expect("account").to_owned();

    let list = body(
        app.get("acme", Some(&a.admin_token), "/api/v1/accounts")
            .await,
    )
    .await;
    let row = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|x| x["id"] == account.as_str())
        .expect("listed")
        .clone();
    assert_eq!(row["roles"][0]["role"], "provider");
    assert_eq!(row["status"], "active");
    problem(app.get("acme", Some(&pt), "/api/v1/accounts").await, 403).await;

    // New roles on the very next request.
    let r = app
        .client
        .put(format!("/api/v1/accounts/{account}/roles"))
        .header("X-Tenant", "acme")
        .header("Authorization", format!("Bearer {}", a.admin_token))
        .body_json(&json!({"roles": [{"role": "provider"}, {"role": "staff"}]}))
        .send()
        .await;
    r.assert_status_is_ok();
    let me = body(app.get("acme", Some(&pt), "/api/v1/auth/me").await).await;
    let roles: Vec<&str> = me["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["role"].as_str())
        .collect();
    assert_eq!(roles, vec!["provider", "staff"]);
    // A provider cannot hold the client role.
    let r = app
        .client
        .put(format!("/api/v1/accounts/{account}/roles"))
        .header("X-Tenant", "acme")
        .header("Authorization", format!("Bearer {}", a.admin_token))
        .body_json(&json!({"roles": [{"role": "client"}]}))
        .send()
        .await;
    assert_eq!(problem(r, 422).await["errors"][0]["field"], "/roles/0");

    // Disabling ends every session at once and stops sign-in; enabling restores sign-in.
    let admin = |path: String| {
        app.client
            .post(path)
            .header("X-Tenant", "acme")
            .header("Authorization", format!("Bearer {}", a.admin_token))
            .send()
    };
    admin(format!("/api/v1/accounts/{account}/disable"))
        .await
        .assert_status_is_ok();
    problem(app.get("acme", Some(&pt), "/api/v1/auth/me").await, 401).await;
    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": "pat@acme.test", "password": PASSWORD}),
        )
        .await,
        401,
    )
    .await;
    admin(format!("/api/v1/accounts/{account}/enable"))
        .await
        .assert_status_is_ok();
    app.login("acme", "pat@acme.test", PASSWORD).await;

    // The last institution admin cannot be removed or disabled.
    let admin_id = body(
        app.get("acme", Some(&a.admin_token), "/api/v1/auth/me")
            .await,
    )
    .await["account_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = app
        .client
        .put(format!("/api/v1/accounts/{admin_id}/roles"))
        .header("X-Tenant", "acme")
        .header("Authorization", format!("Bearer {}", a.admin_token))
        .body_json(&json!({"roles": [{"role": "staff"}]}))
        .send()
        .await;
    problem(r, 409).await;
    problem(
        admin(format!("/api/v1/accounts/{admin_id}/disable")).await,
        409,
    )
    .await;
    problem(
        admin(format!("/api/v1/accounts/{}/disable", uuid::Uuid::now_v7())).await,
        404,
    )
    .await;
    // The audit log has the changes.
    let events = body(
        app.get(
            "acme",
            Some(&a.admin_token),
            "/api/v1/audit-events?action=account.",
        )
        .await,
    )
    .await;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"account.disable") && actions.contains(&"account.enable"),
        "{actions:?}"
    );
}
