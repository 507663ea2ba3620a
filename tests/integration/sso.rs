//! Enterprise SSO against real identity providers (see `idp.rs`): full sign-ins through
//! oidc-provider and SimpleSAMLphp, JIT provisioning with group → role mapping, home-realm
//! discovery, password sign-in switched off, and the QUALITY T11 attacks — each rejected with a
//! problem and an audit record.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::idp::{Back, Browser, OIDC_SECRET, OidcIdp, PUBLIC, SamlIdp, free_port};
use crate::support::{TenantCtx, TestApp, body, problem};

pub async fn app() -> TestApp {
    TestApp::with(|s| s.public_url = PUBLIC.into()).await
}

pub async fn create_connection(app: &TestApp, t: &TenantCtx, spec: Value) -> Value {
    let r = app
        .post(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            "/api/v1/sso/connections",
            spec,
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    body(r).await
}

pub fn oidc_spec(issuer: &str, mappings: Value) -> Value {
    json!({
        "name": "Hospital IdP",
        "protocol": "oidc",
        "oidc": {"issuer": issuer, "client_id": "swiftacare", "client_secret": OIDC_SECRET},
        "domains": ["hospital.example"],
        "group_mappings": mappings,
    })
}

pub fn oidc_users() -> Value {
    json!({
        "alice@hospital.example": {"password": "alice-pass", "groups": ["therapists"]},
        "bob@hospital.example": {"password": "bob-pass", "groups": ["front-desk"]},
        "carol@hospital.example": {"password": "carol-pass", "groups": []},
    })
}

/// An OIDC connection for tenant `t` and a running IdP that knows its redirect URI.
pub async fn oidc_setup(app: &TestApp, t: &TenantCtx, mappings: Value) -> (Value, OidcIdp) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let conn = create_connection(app, t, oidc_spec(&issuer, mappings)).await;
    let redirect = conn["oidc_redirect_uri"]
        .as_str()
        .expect("redirect")
        .to_owned();
    let idp = OidcIdp::start(port, &[redirect], oidc_users()).await;
    (conn, idp)
}

fn path_of(url: &str) -> String {
    url.strip_prefix(PUBLIC)
        .expect("a Swiftacare URL")
        .to_owned()
}

/// `GET …/start` with no tenant header (as a browser would), → the IdP URL.
pub async fn start(app: &TestApp, conn: &Value) -> String {
    let r = app
        .client
        .get(path_of(conn["start_url"].as_str().expect("start")))
        .send()
        .await;
    r.assert_status(StatusCode::FOUND);
    r.0.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned()
}

/// Delivers what the IdP sent the browser back with; returns the response.
pub async fn deliver(app: &TestApp, back: Back) -> poem::test::TestResponse {
    match back {
        Back::Get(path) => app.client.get(path).send().await,
        Back::Post(path, fields) => {
            let body = fields
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        url::form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>(),
                        url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                    )
                })
                .collect::<Vec<_>>()
                .join("&");
            app.client
                .post(path)
                .content_type("application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
        }
    }
}

/// The landing redirect → the hand-off code → tokens → /auth/me.
pub async fn land(app: &TestApp, slug: &str, r: poem::test::TestResponse) -> (String, Value) {
    r.assert_status(StatusCode::FOUND);
    let loc =
        r.0.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("location")
            .to_owned();
    let fragment = loc
        .strip_prefix(&format!("{PUBLIC}/sso/complete#"))
        .expect("lands on the web app");
    let params: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(params["tenant"], slug);
    let r = app
        .post(
            slug,
            None,
            "/api/v1/auth/sso/exchange",
            json!({"code": params["code"]}),
        )
        .await;
    r.assert_status_is_ok();
    let tokens = body(r).await;
    let token = tokens["access_token"].as_str().expect("token").to_owned();
    // The code is single use.
    let again = app
        .post(
            slug,
            None,
            "/api/v1/auth/sso/exchange",
            json!({"code": params["code"]}),
        )
        .await;
    problem(again, 422).await;
    let me = body(app.get(slug, Some(&token), "/api/v1/auth/me").await).await;
    (token, me)
}

fn roles(me: &Value) -> Vec<String> {
    me["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r["role"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub async fn audit_reasons(app: &TestApp, t: &TenantCtx, action: &str) -> Vec<Value> {
    let r = app
        .get(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            &format!("/api/v1/audit-events?action={action}"),
        )
        .await;
    r.assert_status_is_ok();
    body(r).await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn oidc_sign_in_provisions_the_user_with_the_mapped_role() {
    let app = app().await;
    let t = app.tenant("a").await;
    let dept = app.department(&t, "Psychiatry", None).await;
    let (conn, idp) = oidc_setup(
        &app,
        &t,
        json!([{"group": "therapists", "role": "provider", "department_id": dept["id"]}]),
    )
    .await;
    assert_eq!(conn["oidc_issuer"], idp.issuer.as_str());

    // Home-realm discovery sends hospital.example to the IdP, others to the password form.
    let d = body(
        app.post(
            "a",
            None,
            "/api/v1/auth/sso/discover",
            json!({"email": "Alice@Hospital.example"}),
        )
        .await,
    )
    .await;
    assert_eq!(d["method"], "sso");
    assert_eq!(d["connection_id"], conn["id"]);
    assert_eq!(d["start_url"], conn["start_url"]);
    let d = body(
        app.post(
            "a",
            None,
            "/api/v1/auth/sso/discover",
            json!({"email": "x@elsewhere.example"}),
        )
        .await,
    )
    .await;
    assert_eq!(d["method"], "password");

    let idp_url = start(&app, &conn).await;
    assert!(idp_url.contains("code_challenge_method=S256"), "{idp_url}");
    assert!(idp_url.contains("nonce="), "{idp_url}");
    let back = Browser::new()
        .sign_in_at_idp(
            &idp_url,
            &[
                ("login", "alice@hospital.example"),
                ("password", "alice-pass"),
            ],
        )
        .await;
    let (token, me) = land(&app, "a", deliver(&app, back).await).await;
    assert_eq!(me["email"], "alice@hospital.example");
    assert_eq!(roles(&me), vec!["provider"]);
    // The directory entry is in the mapped department.
    let person = body(
        app.get(
            "a",
            Some(&t.admin_token),
            &format!(
                "/api/v1/people/{}",
                me["person_id"].as_str().expect("person")
            ),
        )
        .await,
    )
    .await;
    assert_eq!(person["department_id"], dept["id"]);
    assert_eq!(person["kind"], "provider");
    let ok = audit_reasons(&app, &t, "auth.sso_login").await;
    assert!(ok.iter().any(|e| e["outcome"] == "success"), "{ok:?}");

    // A second sign-in finds the same account.
    let idp_url = start(&app, &conn).await;
    let back = Browser::new()
        .sign_in_at_idp(
            &idp_url,
            &[
                ("login", "alice@hospital.example"),
                ("password", "alice-pass"),
            ],
        )
        .await;
    let (_, me2) = land(&app, "a", deliver(&app, back).await).await;
    assert_eq!(me2["account_id"], me["account_id"]);
    drop(token);
}

#[tokio::test]
async fn oidc_user_without_a_mapped_group_is_refused_and_audited() {
    let app = app().await;
    let t = app.tenant("a").await;
    let (conn, _idp) = oidc_setup(
        &app,
        &t,
        json!([{"group": "therapists", "role": "provider"}]),
    )
    .await;
    let idp_url = start(&app, &conn).await;
    let back = Browser::new()
        .sign_in_at_idp(
            &idp_url,
            &[
                ("login", "carol@hospital.example"),
                ("password", "carol-pass"),
            ],
        )
        .await;
    let p = problem(deliver(&app, back).await, 403).await;
    assert_eq!(p["type"], "urn:swiftacare:problem:sso-no-role-mapped");
    let events = audit_reasons(&app, &t, "auth.sso_login").await;
    assert!(
        events
            .iter()
            .any(|e| e["outcome"] == "denied" && e["details"]["reason"] == "no_role_mapped"),
        "{events:?}"
    );
}

pub fn saml_spec(metadata_xml: &str, mappings: Value) -> Value {
    json!({
        "name": "Clinic SAML IdP",
        "protocol": "saml",
        "saml": {"metadata_xml": metadata_xml},
        "domains": ["clinic.example"],
        "group_mappings": mappings,
    })
}

pub async fn idp_metadata(idp: &SamlIdp) -> String {
    reqwest::get(idp.metadata_url())
        .await
        .expect("metadata")
        .text()
        .await
        .expect("text")
}

/// A SAML connection for tenant `t` (metadata by URL) that the running IdP trusts.
pub async fn saml_setup(app: &TestApp, t: &TenantCtx, idp: &SamlIdp, mappings: Value) -> Value {
    let conn = create_connection(
        app,
        t,
        json!({
            "name": "Clinic SAML IdP",
            "protocol": "saml",
            "saml": {"metadata_url": idp.metadata_url()},
            "domains": ["clinic.example"],
            "group_mappings": mappings,
        }),
    )
    .await;
    idp.trust_sp(
        conn["saml_entity_id"].as_str().expect("entity id"),
        conn["saml_acs_url"].as_str().expect("acs"),
    );
    conn
}

pub const ALICE: [(&str, &str); 2] = [("username", "alice"), ("password", "alice-pass")];

#[tokio::test]
async fn saml_sign_in_provisions_the_user_with_the_mapped_role() {
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

    // The SP metadata names our entity id and ACS.
    let md = app
        .client
        .get(path_of(conn["saml_entity_id"].as_str().expect("md")))
        .send()
        .await;
    md.assert_status_is_ok();
    let xml = md.0.into_body().into_string().await.expect("xml");
    assert!(
        xml.contains(conn["saml_acs_url"].as_str().expect("acs")),
        "{xml}"
    );

    let idp_url = start(&app, &conn).await;
    assert!(idp_url.starts_with(&idp.base) && idp_url.contains("SAMLRequest="));
    let back = Browser::new().sign_in_at_idp(&idp_url, &ALICE).await;
    assert!(matches!(&back, Back::Post(..)), "{back:?}");
    let (_, me) = land(&app, "a", deliver(&app, back).await).await;
    assert_eq!(me["email"], "alice@clinic.example");
    assert_eq!(roles(&me), vec!["provider"]);

    let idp_url = start(&app, &conn).await;
    let back = Browser::new()
        .sign_in_at_idp(&idp_url, &[("username", "bob"), ("password", "bob-pass")])
        .await;
    let (_, me) = land(&app, "a", deliver(&app, back).await).await;
    assert_eq!(roles(&me), vec!["staff"]);
}

#[tokio::test]
async fn password_sign_in_can_be_switched_off_for_a_connections_domains() {
    let app = app().await;
    let t = app.tenant("a").await;
    let dept = app.department(&t, "Ward", None).await;
    // An existing password account in the IdP's domain.
    let p = app
        .person(
            &t,
            "staff",
            "Dana",
            "dana@hospital.example",
            dept["id"].as_str(),
        )
        .await;
    let grant = domain::identity::RoleGrant {
        role: domain::identity::Role::Staff,
        department_id: None,
    };
    app.account(
        &t,
        &json!({"id": p["id"], "email": "dana@hospital.example"}),
        &[grant],
    )
    .await;
    let mut spec = oidc_spec("http://127.0.0.1:9", json!([]));
    spec["password_login_allowed"] = json!(false);
    create_connection(&app, &t, spec).await;
    let d = body(
        app.post(
            "a",
            None,
            "/api/v1/auth/sso/discover",
            json!({"email": "dana@hospital.example"}),
        )
        .await,
    )
    .await;
    assert_eq!(d["password_login_allowed"], false);
    let r = app
        .post(
            "a",
            None,
            "/api/v1/auth/login",
            json!({"email": "dana@hospital.example", "password": crate::support::PASSWORD}),
        )
        .await;
    let p = problem(r, 403).await;
    assert_eq!(p["type"], "urn:swiftacare:problem:sso-required");
    // Other domains still sign in with a password.
    app.login("a", &t.admin_email, crate::support::PASSWORD)
        .await;
}

#[tokio::test]
async fn bad_connection_input_names_every_field() {
    let app = app().await;
    let t = app.tenant("a").await;
    let r = app
        .post(
            "a",
            Some(&t.admin_token),
            "/api/v1/sso/connections",
            json!({
                "name": " ", "protocol": "oidc",
                "oidc": {"issuer": "ftp://idp", "client_id": "", "client_secret": "s"},
                "domains": ["not a domain"],
                "group_mappings": [{"group": "g", "role": "wizard"}, {"group": "h", "role": "sub_admin"}],
            }),
        )
        .await;
    let p = problem(r, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default())
        .collect();
    for f in [
        "/name",
        "/oidc/issuer",
        "/oidc/client_id",
        "/domains/0",
        "/group_mappings/0/role",
        "/group_mappings/1/department_id",
    ] {
        assert!(fields.contains(&f), "{f} not named in {fields:?}");
    }
    // SAML metadata that is not metadata, or has no signing certificate.
    let r = app
        .post(
            "a",
            Some(&t.admin_token),
            "/api/v1/sso/connections",
            json!({"name": "x", "protocol": "saml", "saml": {"metadata_xml": "<hello/>"}}),
        )
        .await;
    assert_eq!(
        problem(r, 422).await["errors"][0]["field"],
        "/saml/metadata_xml"
    );
    let idp = SamlIdp::start().await;
    let md = idp_metadata(&idp).await;
    let a = md.find("<md:KeyDescriptor").expect("key");
    let b = md.rfind("</md:KeyDescriptor>").expect("end") + "</md:KeyDescriptor>".len();
    let unsigned = format!("{}{}", &md[..a], &md[b..]);
    let r = app
        .post(
            "a",
            Some(&t.admin_token),
            "/api/v1/sso/connections",
            saml_spec(&unsigned, json!([])),
        )
        .await;
    let p = problem(r, 422).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("signing certificate"),
        "{p}"
    );
    // Missing protocol block; unknown domain owner; nothing was created.
    let r = app
        .post(
            "a",
            Some(&t.admin_token),
            "/api/v1/sso/connections",
            json!({"name": "x", "protocol": "saml"}),
        )
        .await;
    assert_eq!(problem(r, 422).await["errors"][0]["field"], "/saml");
    let l = body(
        app.get("a", Some(&t.admin_token), "/api/v1/sso/connections")
            .await,
    )
    .await;
    assert_eq!(l["items"].as_array().map(Vec::len), Some(0));
    // Discovery with a bad email names it; an unknown connection is 404.
    let r = app
        .post(
            "a",
            None,
            "/api/v1/auth/sso/discover",
            json!({"email": "nope"}),
        )
        .await;
    assert_eq!(problem(r, 422).await["errors"][0]["field"], "/email");
    let r = app
        .client
        .get(format!("/api/v1/auth/sso/{}/start", uuid::Uuid::now_v7()))
        .send()
        .await;
    problem(r, 404).await;
    // A domain can route to one connection only.
    create_connection(&app, &t, oidc_spec("http://127.0.0.1:9", json!([]))).await;
    let r = app
        .post(
            "a",
            Some(&t.admin_token),
            "/api/v1/sso/connections",
            oidc_spec("http://127.0.0.1:9", json!([])),
        )
        .await;
    problem(r, 409).await;
}

#[tokio::test]
async fn sso_groups_never_remove_the_last_institution_admin() {
    let app = app().await;
    let t = app.tenant("a").await;
    let port = free_port();
    let mut spec = oidc_spec(
        &format!("http://127.0.0.1:{port}"),
        json!([{"group": "everyone", "role": "staff"}]),
    );
    spec["domains"] = json!(["a.test"]);
    let conn = create_connection(&app, &t, spec).await;
    let redirect = conn["oidc_redirect_uri"].as_str().expect("cb").to_owned();
    let users = json!({t.admin_email.clone(): {"password": "pw", "groups": ["everyone"]}});
    let _idp = OidcIdp::start(port, &[redirect], users).await;
    let back = Browser::new()
        .sign_in_at_idp(
            &start(&app, &conn).await,
            &[("login", t.admin_email.as_str()), ("password", "pw")],
        )
        .await;
    let (_, me) = land(&app, "a", deliver(&app, back).await).await;
    let mut r = roles(&me);
    r.sort();
    assert_eq!(r, vec!["institution_admin", "staff"]);
}

#[tokio::test]
async fn an_unverified_email_cannot_take_over_an_existing_account() {
    let app = app().await;
    let t = app.tenant("a").await;
    let p = app
        .person(&t, "staff", "Dana", "dana@hospital.example", None)
        .await;
    let grant = domain::identity::RoleGrant {
        role: domain::identity::Role::Staff,
        department_id: None,
    };
    app.account(
        &t,
        &json!({"id": p["id"], "email": "dana@hospital.example"}),
        &[grant],
    )
    .await;
    let port = free_port();
    let conn = create_connection(
        &app,
        &t,
        oidc_spec(
            &format!("http://127.0.0.1:{port}"),
            json!([{"group": "therapists", "role": "provider"}]),
        ),
    )
    .await;
    let users = json!({"dana@hospital.example": {"password": "pw", "groups": ["therapists"], "email_verified": false}});
    let _idp = OidcIdp::start(
        port,
        &[conn["oidc_redirect_uri"].as_str().expect("cb").to_owned()],
        users,
    )
    .await;
    let back = Browser::new()
        .sign_in_at_idp(
            &start(&app, &conn).await,
            &[("login", "dana@hospital.example"), ("password", "pw")],
        )
        .await;
    let p = problem(deliver(&app, back).await, 403).await;
    assert_eq!(p["type"], "urn:swiftacare:problem:sso-unverified-email");
    let events = audit_reasons(&app, &t, "auth.sso_login").await;
    assert!(
        events
            .iter()
            .any(|e| e["details"]["reason"] == "unverified_email"),
        "{events:?}"
    );
}
