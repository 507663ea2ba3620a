//! SCIM 2.0 provisioning (`/scim/v2`): create, filter, group → role mapping, deactivation
//! cutting access on the next request, SCIM error format, and tenant isolation of tokens.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::idp::{Browser, SamlIdp};
use crate::sso::{ALICE, app, deliver, land, saml_setup, start};
use crate::support::{TenantCtx, TestApp, body};

async fn scim_token(app: &TestApp, t: &TenantCtx, conn: &Value) -> String {
    let r = app
        .post(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            &format!(
                "/api/v1/sso/connections/{}/scim-token",
                conn["id"].as_str().expect("id")
            ),
            json!({}),
        )
        .await;
    r.assert_status_is_ok();
    let v = body(r).await;
    assert_eq!(v["base_url"], "http://sso.test/scim/v2");
    v["token"].as_str().expect("token").to_owned()
}

async fn scim(
    app: &TestApp,
    token: Option<&str>,
    method: &str,
    path: &str,
    b: Option<Value>,
) -> (StatusCode, Value) {
    let url = format!("/scim/v2{path}");
    let mut req = match method {
        "GET" => app.client.get(url),
        "POST" => app.client.post(url),
        "PATCH" => app.client.patch(url),
        "PUT" => app.client.put(url),
        _ => app.client.delete(url),
    };
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(b) = b {
        req = req
            .content_type("application/scim+json")
            .body(b.to_string());
    }
    let r = req.send().await;
    let status = r.0.status();
    let text = r.0.into_body().into_string().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, v)
}

fn assert_scim_error(v: &Value, status: &str) {
    assert_eq!(
        v["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{v}"
    );
    assert_eq!(v["status"], status, "{v}");
}

async fn roles_of(app: &TestApp, t: &TenantCtx, account: &str) -> Vec<String> {
    let v = body(
        app.get(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            "/api/v1/accounts",
        )
        .await,
    )
    .await;
    let a = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["id"] == account)
        .cloned()
        .expect("account listed");
    a["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r["role"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn scim_provisions_filters_maps_groups_and_deactivation_cuts_access() {
    let app = app().await;
    let t = app.tenant("a").await;
    let idp = SamlIdp::start().await;
    let conn = saml_setup(
        &app,
        &t,
        &idp,
        json!([{"group": "therapists", "role": "provider"}, {"group": "front-desk", "role": "staff"}]),
    )
    .await;
    let token = scim_token(&app, &t, &conn).await;

    // Create.
    let (s, alice) = scim(
        &app,
        Some(&token),
        "POST",
        "/Users",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "alice@clinic.example",
            "externalId": "alice@clinic.example",
            "name": {"givenName": "Alice", "familyName": "Liddell"},
            "active": true,
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{alice}");
    let id = alice["id"].as_str().expect("id").to_owned();
    assert_eq!(alice["active"], true);
    let (s, dup) = scim(
        &app,
        Some(&token),
        "POST",
        "/Users",
        Some(json!({"userName": "alice@clinic.example"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_scim_error(&dup, "409");
    assert_eq!(dup["scimType"], "uniqueness");

    // Filter.
    let (s, l) = scim(
        &app,
        Some(&token),
        "GET",
        "/Users?filter=userName%20eq%20%22Alice%40clinic.example%22",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(l["totalResults"], 1, "{l}");
    assert_eq!(l["Resources"][0]["id"], id.as_str());
    let (_, l) = scim(
        &app,
        Some(&token),
        "GET",
        "/Users?filter=userName%20eq%20%22nobody%40clinic.example%22",
        None,
    )
    .await;
    assert_eq!(l["totalResults"], 0);
    let (s, e) = scim(
        &app,
        Some(&token),
        "GET",
        "/Users?filter=name%20co%20%22x%22",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_scim_error(&e, "400");
    assert_eq!(e["scimType"], "invalidFilter");

    // A group maps to a role; removing the member takes the role away.
    let (s, g) = scim(
        &app,
        Some(&token),
        "POST",
        "/Groups",
        Some(json!({"displayName": "front-desk", "members": [{"value": id}]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    assert_eq!(roles_of(&app, &t, &id).await, vec!["staff"]);
    let gid = g["id"].as_str().expect("gid").to_owned();
    let (s, _) = scim(
        &app,
        Some(&token),
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(roles_of(&app, &t, &id).await.is_empty());
    let (_, gl) = scim(
        &app,
        Some(&token),
        "GET",
        "/Groups?filter=displayName%20eq%20%22front-desk%22",
        None,
    )
    .await;
    assert_eq!(gl["totalResults"], 1);

    // Alice signs in through the IdP: the same account, with the role her IdP groups map to.
    let idp_url = start(&app, &conn).await;
    let back = Browser::new().sign_in_at_idp(&idp_url, &ALICE).await;
    let (access, me) = land(&app, "a", deliver(&app, back).await).await;
    assert_eq!(me["account_id"], id.as_str());
    app.get("a", Some(&access), "/api/v1/auth/me")
        .await
        .assert_status_is_ok();

    // Deactivation: the very next request with her token is refused.
    let (s, u) = scim(
        &app,
        Some(&token),
        "PATCH",
        &format!("/Users/{id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "value": {"active": false}}]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["active"], false);
    app.get("a", Some(&access), "/api/v1/auth/me")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    // And signing in again through the IdP is refused.
    let idp_url = start(&app, &conn).await;
    let back = Browser::new().sign_in_at_idp(&idp_url, &ALICE).await;
    let p = crate::support::problem(deliver(&app, back).await, 403).await;
    assert_eq!(p["type"], "urn:swiftacare:problem:sso-account-disabled");
}

#[tokio::test]
async fn scim_tokens_are_per_tenant_and_errors_use_the_scim_schema() {
    let app = app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let idp = SamlIdp::start().await;
    let conn_a = saml_setup(&app, &a, &idp, json!([])).await;
    let conn_b = crate::sso::create_connection(
        &app,
        &b,
        json!({"name": "B", "protocol": "saml", "saml": {"metadata_url": idp.metadata_url()}}),
    )
    .await;
    let ta = scim_token(&app, &a, &conn_a).await;
    let tb = scim_token(&app, &b, &conn_b).await;
    let (_, u) = scim(
        &app,
        Some(&ta),
        "POST",
        "/Users",
        Some(json!({"userName": "dora@clinic.example"})),
    )
    .await;
    let id = u["id"].as_str().expect("id");
    for (method, path) in [
        ("GET", format!("/Users/{id}")),
        ("PATCH", format!("/Users/{id}")),
        ("DELETE", format!("/Users/{id}")),
    ] {
        let body = (method == "PATCH")
            .then(|| json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}));
        let (s, e) = scim(&app, Some(&tb), method, &path, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}");
        assert_scim_error(&e, "404");
    }
    let (_, l) = scim(&app, Some(&tb), "GET", "/Users", None).await;
    assert_eq!(l["totalResults"], 0, "B sees none of A's users");
    let (s, e) = scim(&app, None, "GET", "/Users", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_scim_error(&e, "401");
    let (s, _) = scim(&app, Some("scim_wrong"), "GET", "/Users", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, e) = scim(
        &app,
        Some(&ta),
        "POST",
        "/Users",
        Some(json!({"userName": "not-an-email"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        e["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("userName"),
        "{e}"
    );
    // PUT replaces active and names; DELETE deactivates; groups can be deleted.
    let (s, u) = scim(
        &app,
        Some(&ta),
        "PUT",
        &format!("/Users/{id}"),
        Some(json!({"userName": "dora@clinic.example", "name": {"givenName": "Dora", "familyName": "Explorer"}, "active": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["name"]["familyName"], "Explorer");
    let (s, _) = scim(&app, Some(&ta), "DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, u) = scim(&app, Some(&ta), "GET", &format!("/Users/{id}"), None).await;
    assert_eq!(u["active"], false);
    let (_, g) = scim(
        &app,
        Some(&ta),
        "POST",
        "/Groups",
        Some(json!({"displayName": "temp"})),
    )
    .await;
    let gid = g["id"].as_str().expect("gid");
    let (s, _) = scim(&app, Some(&ta), "DELETE", &format!("/Groups/{gid}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = scim(&app, Some(&ta), "GET", &format!("/Groups/{gid}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // SCIM's changes are in A's audit log, by the connection as an integration.
    let events = crate::sso::audit_reasons(&app, &a, "account.disable").await;
    assert!(
        events
            .iter()
            .any(|e| e["actor_type"] == "integration" && e["details"]["source"] == "scim"),
        "{events:?}"
    );
    // Rotating the token retires the old one.
    let ta2 = scim_token(&app, &a, &conn_a).await;
    assert_ne!(ta, ta2);
    let (s, _) = scim(&app, Some(&ta), "GET", "/Users", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, l) = scim(&app, Some(&ta2), "GET", "/Users", None).await;
    assert_eq!(l["totalResults"], 1);
}
