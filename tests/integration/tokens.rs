//! Access and refresh tokens, sessions (QUALITY T10): rotation, reuse detection revoking the
//! whole session, expiry, `alg: none`, idle timeout, revocation and "sign out everywhere" —
//! each taking effect on the next request.

use std::sync::Arc;

use domain::identity::tokens::TokenSigner;
use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, body, problem};

async fn login(app: &TestApp, email: &str) -> Value {
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    r.assert_status_is_ok();
    body(r).await
}

async fn refresh(app: &TestApp, token: &Value) -> (u16, Value) {
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/refresh",
            json!({"refresh_token": token}),
        )
        .await;
    (r.0.status().as_u16(), body(r).await)
}

async fn me_status(app: &TestApp, access: &Value) -> u16 {
    app.get("acme", access.as_str(), "/api/v1/auth/me")
        .await
        .0
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_and_reuse_ends_the_whole_session() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let first = login(&app, &a.admin_email).await;
    assert_eq!(first["token_type"], "Bearer");
    assert!(
        first["expires_in"]
            .as_i64()
            .is_some_and(|s| (590..=600).contains(&s)),
        "{first}"
    );
    assert!(
        first["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "a JWT"
    );

    let (status, second) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["session_id"], first["session_id"]);
    let (status, third) = refresh(&app, &second["refresh_token"]).await;
    assert_eq!(status, 200);
    assert_eq!(me_status(&app, &third["access_token"]).await, 200);

    // The first refresh token again: stolen. The session ends for everyone holding it.
    let (status, p) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(status, 401, "{p}");
    assert_eq!(
        me_status(&app, &third["access_token"]).await,
        401,
        "the rotated access token died with its session"
    );
    assert_eq!(
        refresh(&app, &third["refresh_token"]).await.0,
        401,
        "so did the newest refresh token"
    );
    // Other sessions of the account are untouched.
    assert_eq!(me_status(&app, &json!(a.admin_token)).await, 200);
    // Audited.
    let events = body(
        app.get(
            "acme",
            Some(&a.admin_token),
            "/api/v1/audit-events?action=auth.refresh_reuse",
        )
        .await,
    )
    .await;
    assert_eq!(
        events["items"].as_array().map(Vec::len),
        Some(1),
        "{events}"
    );
    assert_eq!(events["items"][0]["resource_id"], first["session_id"]);

    // Garbage refresh tokens are simply unauthenticated.
    assert_eq!(refresh(&app, &json!("scr_nonsense")).await.0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_foreign_and_unsigned_access_tokens_are_refused() {
    let key = crate::support::rand_key();
    let signer = TokenSigner::new(&key).expect("signer");
    let app = TestApp::with(|s| s.signer = Arc::new(TokenSigner::new(&key).expect("signer"))).await;
    let a = app.tenant("acme").await;
    let b = app.tenant("bravo").await;
    let me = body(
        app.get("acme", Some(&a.admin_token), "/api/v1/auth/me")
            .await,
    )
    .await;
    let account: uuid::Uuid = me["account_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("account");
    let session = login(&app, &a.admin_email).await;
    let sid: uuid::Uuid = session["session_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("sid");

    // Same key, right session, but expired eleven minutes ago.
    let (expired, _) = signer
        .issue(
            a.tenant.id,
            account,
            sid,
            chrono::Utc::now() - chrono::Duration::minutes(11),
        )
        .expect("issue");
    problem(
        app.get("acme", Some(&expired), "/api/v1/auth/me").await,
        401,
    )
    .await;
    // A valid token of tenant acme presented to tenant bravo (audience mismatch).
    let (fresh, _) = signer
        .issue(a.tenant.id, account, sid, chrono::Utc::now())
        .expect("issue");
    app.get("acme", Some(&fresh), "/api/v1/auth/me")
        .await
        .assert_status_is_ok();
    problem(app.get("bravo", Some(&fresh), "/api/v1/auth/me").await, 401).await;
    // Signed for bravo's audience but naming acme's session: no such session there.
    let (forged, _) = signer
        .issue(b.tenant.id, account, sid, chrono::Utc::now())
        .expect("issue");
    problem(
        app.get("bravo", Some(&forged), "/api/v1/auth/me").await,
        401,
    )
    .await;
    // alg: none.
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let claims = format!(
        r#"{{"iss":"swiftacare","aud":"tenant:{}","sub":"{account}","sid":"{sid}","iat":0,"exp":{}}}"#,
        a.tenant.id,
        chrono::Utc::now().timestamp() + 600
    );
    let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims));
    problem(app.get("acme", Some(&none), "/api/v1/auth/me").await, 401).await;
    // A different key.
    let (other_key, _) = TokenSigner::new(&[9u8; 32])
        .expect("signer")
        .issue(a.tenant.id, account, sid, chrono::Utc::now())
        .expect("issue");
    problem(
        app.get("acme", Some(&other_key), "/api/v1/auth/me").await,
        401,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_sessions_die_and_sessions_can_be_listed_and_ended() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let s1 = login(&app, &a.admin_email).await;
    let s2 = login(&app, &a.admin_email).await;

    // The list shows every live session and marks the current one.
    let list = body(
        app.get("acme", s1["access_token"].as_str(), "/api/v1/auth/sessions")
            .await,
    )
    .await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{list}");
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], s1["session_id"]);

    // End s2 from s1: s2's tokens stop working at once.
    let r = app
        .client
        .delete(format!(
            "/api/v1/auth/sessions/{}",
            s2["session_id"].as_str().expect("id")
        ))
        .header("X-Tenant", "acme")
        .header(
            "Authorization",
            format!("Bearer {}", s1["access_token"].as_str().expect("t")),
        )
        .send()
        .await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    assert_eq!(me_status(&app, &s2["access_token"]).await, 401);
    assert_eq!(refresh(&app, &s2["refresh_token"]).await.0, 401);

    // Idle for longer than the timeout (30 minutes): the session is dead, refresh included.
    let sid: uuid::Uuid = s1["session_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("sid");
    app.tenancy
        .tx(&a.tenant, async |c| {
            use diesel_async::RunQueryDsl;
            diesel::sql_query(
                "UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(sid)
            .execute(c)
            .await?;
            Ok::<_, domain::DomainError>(())
        })
        .await
        .expect("age the session");
    assert_eq!(me_status(&app, &s1["access_token"]).await, 401);
    assert_eq!(refresh(&app, &s1["refresh_token"]).await.0, 401);

    // Sign out everywhere ends the rest.
    let s3 = login(&app, &a.admin_email).await;
    let r = app
        .post(
            "acme",
            s3["access_token"].as_str(),
            "/api/v1/auth/logout-all",
            json!({}),
        )
        .await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    assert_eq!(me_status(&app, &s3["access_token"]).await, 401);
    assert_eq!(me_status(&app, &json!(a.admin_token)).await, 401);
}
