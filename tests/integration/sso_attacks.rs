//! QUALITY T11: attacks on SSO sign-ins, each rejected with a problem naming the reason and an
//! audit record (`auth.sso_login`, outcome failure, `details.reason`). The responses and tokens
//! attacked are real ones, issued by the real IdPs of `idp.rs`, then tampered with.

use std::io::{Read, Write};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::idp::{Back, Browser, OIDC_SECRET, OidcIdp, PUBLIC, SamlIdp, free_port};
use crate::sso::{
    ALICE, app, audit_reasons, create_connection, deliver, land, oidc_setup, saml_setup, start,
};
use crate::support::{TenantCtx, TestApp, problem};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn mapping() -> Value {
    json!([{"group": "therapists", "role": "provider"}])
}

/// Signs Alice in at the IdP and returns the HTTP-POST form, undelivered.
async fn captured(app: &TestApp, conn: &Value) -> (String, String, String) {
    let idp_url = start(app, conn).await;
    match Browser::new().sign_in_at_idp(&idp_url, &ALICE).await {
        Back::Post(path, fields) => {
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .expect(k)
            };
            (path, get("SAMLResponse"), get("RelayState"))
        }
        other => panic!("expected the POST binding, got {other:?}"),
    }
}

fn decode(saml_response: &str) -> String {
    String::from_utf8(B64.decode(saml_response).expect("base64")).expect("utf8")
}

async fn post_acs(
    app: &TestApp,
    path: &str,
    xml: &str,
    relay_state: &str,
) -> poem::test::TestResponse {
    let fields = vec![
        ("SAMLResponse".to_owned(), B64.encode(xml)),
        ("RelayState".to_owned(), relay_state.to_owned()),
    ];
    deliver(app, Back::Post(path.to_owned(), fields)).await
}

async fn assert_rejected(app: &TestApp, t: &TenantCtx, r: poem::test::TestResponse, reason: &str) {
    let p = problem(r, 401).await;
    assert_eq!(
        p["type"],
        format!("urn:swiftacare:problem:sso-{}", reason.replace('_', "-")),
        "{p}"
    );
    let events = audit_reasons(app, t, "auth.sso_login").await;
    assert!(
        events
            .iter()
            .any(|e| e["outcome"] == "failure" && e["details"]["reason"] == reason),
        "no audit record for {reason}: {events:?}"
    );
}

#[tokio::test]
async fn saml_tampered_assertion_fails_the_signature() {
    let app = app().await;
    let t = app.tenant("a").await;
    let idp = SamlIdp::start().await;
    let conn = saml_setup(&app, &t, &idp, mapping()).await;
    let (path, resp, rs) = captured(&app, &conn).await;
    let xml = decode(&resp);
    assert!(xml.contains("alice@clinic.example"));
    let forged = xml.replace("alice@clinic.example", "mallory@clinic.example");
    assert_rejected(
        &app,
        &t,
        post_acs(&app, &path, &forged, &rs).await,
        "bad_signature",
    )
    .await;
}

#[tokio::test]
async fn saml_untrusted_signing_key_fails_the_signature() {
    let app = app().await;
    let t = app.tenant("a").await;
    let idp = SamlIdp::start().await;
    let other = SamlIdp::start().await;
    // The connection trusts `other`'s certificate, but the assertion is signed by `idp`.
    let md = crate::sso::idp_metadata(&idp).await;
    let other_md = crate::sso::idp_metadata(&other).await;
    let cert = |m: &str| {
        let a = m.find("<ds:X509Certificate>").expect("cert") + "<ds:X509Certificate>".len();
        let b = m.find("</ds:X509Certificate>").expect("cert end");
        m[a..b].to_owned()
    };
    let swapped = md.replace(&cert(&md), &cert(&other_md));
    let conn = create_connection(&app, &t, crate::sso::saml_spec(&swapped, mapping())).await;
    idp.trust_sp(
        conn["saml_entity_id"].as_str().expect("entity"),
        conn["saml_acs_url"].as_str().expect("acs"),
    );
    let (path, resp, rs) = captured(&app, &conn).await;
    assert_rejected(
        &app,
        &t,
        post_acs(&app, &path, &decode(&resp), &rs).await,
        "bad_signature",
    )
    .await;
}

#[tokio::test]
async fn saml_signature_wrapping_is_refused() {
    let app = app().await;
    let t = app.tenant("a").await;
    let idp = SamlIdp::start().await;
    let conn = saml_setup(&app, &t, &idp, mapping()).await;
    let (path, resp, rs) = captured(&app, &conn).await;
    let xml = decode(&resp);
    // XSW: an unsigned, forged assertion for Mallory placed before the signed original.
    let start = xml.find("<saml:Assertion").expect("assertion");
    let end = xml.find("</saml:Assertion>").expect("end") + "</saml:Assertion>".len();
    let original = &xml[start..end];
    let sig_a = original.find("<ds:Signature").expect("signature");
    let sig_b = original.find("</ds:Signature>").expect("sig end") + "</ds:Signature>".len();
    let forged = format!("{}{}", &original[..sig_a], &original[sig_b..])
        .replace("alice@clinic.example", "mallory@clinic.example")
        .replacen(" ID=\"", " ID=\"forged", 1);
    let wrapped = format!("{}{}{}", &xml[..start], forged, &xml[start..]);
    assert_rejected(
        &app,
        &t,
        post_acs(&app, &path, &wrapped, &rs).await,
        "signature_wrapping",
    )
    .await;
    // The real response still works (nothing was spent by the attempt but the RelayState).
    let (path, resp, rs) = captured(&app, &conn).await;
    land(&app, "a", post_acs(&app, &path, &decode(&resp), &rs).await).await;
}

#[tokio::test]
async fn saml_replayed_assertion_and_unknown_relay_state_are_refused() {
    let app = app().await;
    let t = app.tenant("a").await;
    let idp = SamlIdp::start().await;
    let conn = saml_setup(&app, &t, &idp, mapping()).await;
    let (path, resp, rs) = captured(&app, &conn).await;
    let xml = decode(&resp);
    land(&app, "a", post_acs(&app, &path, &xml, &rs).await).await;
    assert_rejected(&app, &t, post_acs(&app, &path, &xml, &rs).await, "replayed").await;
    // A fresh response with a RelayState we never issued.
    let (path, resp, _) = captured(&app, &conn).await;
    assert_rejected(
        &app,
        &t,
        post_acs(&app, &path, &decode(&resp), "rs_forged").await,
        "bad_state",
    )
    .await;
}

#[tokio::test]
async fn saml_unknown_issuer_is_refused() {
    let app = app().await;
    let t = app.tenant("a").await;
    let idp = SamlIdp::start().await;
    let md = crate::sso::idp_metadata(&idp).await.replace(
        &format!("entityID=\"{}", idp.metadata_url()),
        "entityID=\"https://evil.example/idp",
    );
    assert!(md.contains("https://evil.example/idp"));
    let conn = create_connection(&app, &t, crate::sso::saml_spec(&md, mapping())).await;
    idp.trust_sp(
        conn["saml_entity_id"].as_str().expect("entity"),
        conn["saml_acs_url"].as_str().expect("acs"),
    );
    let (path, resp, rs) = captured(&app, &conn).await;
    assert_rejected(
        &app,
        &t,
        post_acs(&app, &path, &decode(&resp), &rs).await,
        "wrong_issuer",
    )
    .await;
}

#[tokio::test]
async fn saml_expired_assertion_is_refused() {
    let app = app().await;
    let t = app.tenant("a").await;
    // A real IdP whose clock is two hours behind: a genuinely signed, long-expired assertion.
    let idp = SamlIdp::start_with(Some("-2h")).await;
    let conn = saml_setup(&app, &t, &idp, mapping()).await;
    let (path, resp, rs) = captured(&app, &conn).await;
    assert_rejected(
        &app,
        &t,
        post_acs(&app, &path, &decode(&resp), &rs).await,
        "expired",
    )
    .await;
}

fn inflate(b64: &str) -> String {
    let raw = B64.decode(b64).expect("b64");
    let mut s = String::new();
    flate2::read::DeflateDecoder::new(&raw[..])
        .read_to_string(&mut s)
        .expect("inflate");
    s
}

fn deflate(xml: &str) -> String {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(xml.as_bytes()).expect("deflate");
    B64.encode(e.finish().expect("finish"))
}

#[tokio::test]
async fn saml_assertion_for_another_audience_is_refused() {
    let app = app().await;
    let t = app.tenant("a").await;
    let idp = SamlIdp::start().await;
    let ours = saml_setup(&app, &t, &idp, mapping()).await;
    // The IdP knows a second SP whose assertions are delivered to our ACS.
    let stranger = "https://stranger.example/sp";
    idp.trust_sp(stranger, ours["saml_acs_url"].as_str().expect("acs"));
    // Our AuthnRequest (its ID is what we expect back), re-issued under the stranger's name.
    let mut url = url::Url::parse(&start(&app, &ours).await).expect("url");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let req = pairs
        .iter()
        .find(|(k, _)| k == "SAMLRequest")
        .expect("request")
        .1
        .clone();
    let rs = pairs
        .iter()
        .find(|(k, _)| k == "RelayState")
        .expect("rs")
        .1
        .clone();
    let ours_entity = ours["saml_entity_id"].as_str().expect("entity");
    let xml = inflate(&req).replace(&format!(">{ours_entity}<"), &format!(">{stranger}<"));
    url.query_pairs_mut()
        .clear()
        .append_pair("SAMLRequest", &deflate(&xml))
        .append_pair("RelayState", &rs);
    let (path, resp) = match Browser::new().sign_in_at_idp(url.as_str(), &ALICE).await {
        Back::Post(path, f) => (
            path,
            f.into_iter()
                .find(|(k, _)| k == "SAMLResponse")
                .expect("r")
                .1,
        ),
        other => panic!("{other:?}"),
    };
    let xml = decode(&resp);
    assert!(
        xml.contains(stranger),
        "the IdP addressed it to the stranger"
    );
    assert_rejected(
        &app,
        &t,
        post_acs(&app, &path, &xml, &rs).await,
        "wrong_audience",
    )
    .await;
}

#[tokio::test]
async fn saml_assertion_for_tenant_a_posted_to_tenant_b_is_refused() {
    let app = app().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    let idp = SamlIdp::start().await;
    let conn_a = saml_setup(&app, &a, &idp, mapping()).await;
    let conn_b = saml_setup(&app, &b, &idp, mapping()).await;
    let (_, resp, rs_a) = captured(&app, &conn_a).await;
    let xml = decode(&resp);
    let acs_b = conn_b["saml_acs_url"]
        .as_str()
        .expect("acs")
        .strip_prefix(PUBLIC)
        .expect("path")
        .to_owned();
    // With A's RelayState: unknown to B's connection.
    assert_rejected(
        &app,
        &b,
        post_acs(&app, &acs_b, &xml, &rs_a).await,
        "bad_state",
    )
    .await;
    // With a RelayState B really issued: the response is addressed to A's endpoint.
    let b_url = url::Url::parse(&start(&app, &conn_b).await).expect("url");
    let rs_b = b_url
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .expect("rs")
        .1
        .into_owned();
    assert_rejected(
        &app,
        &b,
        post_acs(&app, &acs_b, &xml, &rs_b).await,
        "wrong_recipient",
    )
    .await;
    // Nothing was provisioned in B.
    let accounts =
        crate::support::body(app.get("b", Some(&b.admin_token), "/api/v1/accounts").await).await;
    assert_eq!(
        accounts["items"].as_array().map(Vec::len),
        Some(1),
        "only B's admin"
    );
}

// ---- OIDC ----

#[tokio::test]
async fn oidc_callback_with_unknown_state_or_idp_error_is_refused() {
    let app = app().await;
    let t = app.tenant("a").await;
    let (conn, _idp) = oidc_setup(&app, &t, mapping()).await;
    let cb = conn["oidc_redirect_uri"]
        .as_str()
        .expect("cb")
        .strip_prefix(PUBLIC)
        .expect("path")
        .to_owned();
    let r = app
        .client
        .get(format!("{cb}?code=abc&state=forged"))
        .send()
        .await;
    assert_rejected(&app, &t, r, "bad_state").await;
    let r = app.client.get(format!("{cb}?code=abc")).send().await;
    assert_rejected(&app, &t, r, "bad_state").await;
    // A real state, but the IdP reports an error.
    let idp_url = url::Url::parse(&start(&app, &conn).await).expect("url");
    let state = idp_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .expect("state")
        .1
        .into_owned();
    let r = app
        .client
        .get(format!("{cb}?error=access_denied&state={state}"))
        .send()
        .await;
    assert_rejected(&app, &t, r, "idp_error").await;
    // The state is single use: replaying it after a real sign-in fails.
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
    let Back::Get(path) = back else {
        panic!("redirect expected")
    };
    land(&app, "a", app.client.get(&path).send().await).await;
    assert_rejected(&app, &t, app.client.get(&path).send().await, "bad_state").await;
}

#[tokio::test]
async fn oidc_sign_in_follows_a_rotated_signing_key() {
    let app = app().await;
    let t = app.tenant("a").await;
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let conn = create_connection(&app, &t, crate::sso::oidc_spec(&issuer, mapping())).await;
    let redirect = vec![conn["oidc_redirect_uri"].as_str().expect("cb").to_owned()];
    let login = [
        ("login", "alice@hospital.example"),
        ("password", "alice-pass"),
    ];
    for _ in 0..2 {
        // Every start of server.mjs makes a new signing key (new kid).
        let _idp = OidcIdp::start(port, &redirect, crate::sso::oidc_users()).await;
        let back = Browser::new()
            .sign_in_at_idp(&start(&app, &conn).await, &login)
            .await;
        land(&app, "a", deliver(&app, back).await).await;
    }
}

/// A real ID token from the real IdP, obtained as a client would (code flow with PKCE).
async fn real_id_token(idp: &OidcIdp, redirect: &str, nonce: &str) -> String {
    use sha2::Digest as _;
    let verifier = "x".repeat(50);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut auth = url::Url::parse(&format!("{}/auth", idp.issuer)).expect("url");
    auth.query_pairs_mut()
        .append_pair("client_id", "swiftacare")
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email groups")
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "s")
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = Browser::new()
        .sign_in_at_idp(
            auth.as_str(),
            &[
                ("login", "alice@hospital.example"),
                ("password", "alice-pass"),
            ],
        )
        .await;
    let Back::Get(path) = back else {
        panic!("redirect")
    };
    let code = url::Url::parse(&format!("{PUBLIC}{path}"))
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let v: Value = reqwest::Client::new()
        .post(format!("{}/token", idp.issuer))
        .basic_auth("swiftacare", Some(OIDC_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    v["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned()
}

#[tokio::test]
async fn oidc_id_token_attacks_are_rejected() {
    use domain::sso::Rejection;
    use domain::sso::oidc::{check_id_token, verifier_for};
    let port = free_port();
    let redirect = format!("{PUBLIC}/client-cb");
    let idp = OidcIdp::start(
        port,
        std::slice::from_ref(&redirect),
        crate::sso::oidc_users(),
    )
    .await;
    let token = real_id_token(&idp, &redirect, "n-123").await;
    let verifier = verifier_for(&idp.issuer, "swiftacare")
        .await
        .expect("verifier");
    let claims = check_id_token(&token, &verifier, "n-123").expect("the genuine token verifies");
    assert_eq!(claims.subject().as_str(), "alice@hospital.example");

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    // alg: none, same claims, no signature.
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    assert_eq!(
        check_id_token(&none, &verifier, "n-123").err(),
        Some(Rejection::BadSignature)
    );
    // HS256 "signed" with the public client secret.
    let hs = format!(
        "{}.{}.{}",
        b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    assert!(check_id_token(&hs, &verifier, "n-123").is_err());
    // Claims changed under the signature.
    let mut payload: Value =
        serde_json::from_slice(&b64.decode(parts[1]).expect("b64")).expect("json");
    payload["sub"] = json!("mallory@hospital.example");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(payload.to_string()),
        parts[2]
    );
    assert_eq!(
        check_id_token(&forged, &verifier, "n-123").err(),
        Some(Rejection::BadSignature)
    );
    // Wrong nonce (another sign-in's token).
    assert_eq!(
        check_id_token(&token, &verifier, "n-other").err(),
        Some(Rejection::BadNonce)
    );
    // Another client's token (audience).
    let other_client = verifier_for(&idp.issuer, "another-client")
        .await
        .expect("verifier");
    assert_eq!(
        check_id_token(&token, &other_client, "n-123").err(),
        Some(Rejection::WrongAudience)
    );
    // An issuer this connection does not trust: another real IdP's keys and issuer.
    let port2 = free_port();
    let idp2 = OidcIdp::start(
        port2,
        std::slice::from_ref(&redirect),
        crate::sso::oidc_users(),
    )
    .await;
    let stranger = verifier_for(&idp2.issuer, "swiftacare")
        .await
        .expect("verifier");
    assert_eq!(
        check_id_token(&token, &stranger, "n-123").err(),
        Some(Rejection::WrongIssuer)
    );
    // Expired: the same token two hours later.
    let later = verifier
        .clone()
        .set_time_fn(|| chrono::Utc::now() + chrono::Duration::hours(2));
    assert_eq!(
        check_id_token(&token, &later, "n-123").err(),
        Some(Rejection::Expired)
    );
}

/// An HS256 ID token (signed with the client secret, which the client itself knows) reaches the
/// real callback from a real oidc-provider told to sign so: refused with a named problem and an
/// audit record. (oidc-provider 9 refuses to issue `alg: none` ID tokens at all, so that case is
/// tested on the verifier with a real token stripped of its signature, above.)
#[tokio::test]
async fn oidc_callback_refuses_symmetric_id_tokens() {
    let app = app().await;
    let t = app.tenant("a").await;
    {
        let alg = "HS256";
        let port = free_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let conn = create_connection(&app, &t, crate::sso::oidc_spec(&issuer, mapping())).await;
        let redirect = vec![conn["oidc_redirect_uri"].as_str().expect("cb").to_owned()];
        let _idp =
            OidcIdp::start_signing_with(port, &redirect, crate::sso::oidc_users(), Some(alg)).await;
        let back = Browser::new()
            .sign_in_at_idp(
                &start(&app, &conn).await,
                &[
                    ("login", "alice@hospital.example"),
                    ("password", "alice-pass"),
                ],
            )
            .await;
        let r = deliver(&app, back).await;
        assert_rejected(&app, &t, r, "bad_signature").await;
    }
}

/// The authorization request is tampered with on its way to the real IdP (another nonce): the
/// ID token the IdP issues does not belong to this sign-in, and the callback refuses it.
#[tokio::test]
async fn oidc_callback_refuses_an_id_token_with_another_nonce() {
    let app = app().await;
    let t = app.tenant("a").await;
    let (conn, _idp) = oidc_setup(&app, &t, mapping()).await;
    let mut url = url::Url::parse(&start(&app, &conn).await).expect("url");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "attacker-nonce".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let back = Browser::new()
        .sign_in_at_idp(
            url.as_str(),
            &[
                ("login", "alice@hospital.example"),
                ("password", "alice-pass"),
            ],
        )
        .await;
    let r = deliver(&app, back).await;
    assert_rejected(&app, &t, r, "bad_nonce").await;
}
