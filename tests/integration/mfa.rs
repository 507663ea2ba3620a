//! TOTP MFA (QUALITY T10): enrolment with QR / otpauth URI, the sign-in challenge, single use
//! of codes, recovery codes, and disabling.

use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, body, enrol_totp, problem, totp_code};

async fn password_step(app: &TestApp, email: &str) -> Value {
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 202, "a second factor is required");
    let v = body(r).await;
    assert!(
        v.get("access_token").is_none(),
        "no session before the second factor: {v}"
    );
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn enrolment_challenge_recovery_and_disable() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;

    // Enrolment: an otpauth URI and a QR code; not active until confirmed.
    let r = app
        .post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/auth/mfa/totp",
            json!({}),
        )
        .await;
    r.assert_status_is_ok();
    let e = body(r).await;
    let uri = e["otpauth_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains("secret="),
        "{uri}"
    );
    assert!(e["qr_svg"].as_str().is_some_and(|s| s.contains("<svg")));
    let status = body(
        app.get("acme", Some(&a.admin_token), "/api/v1/auth/mfa")
            .await,
    )
    .await;
    assert_eq!(status["totp_enabled"], false);
    let p = problem(
        app.post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/auth/mfa/totp/confirm",
            json!({"code": "000000"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/code");
    let (secret, recovery) = {
        // Restart enrolment through the helper (replaces the unconfirmed secret).
        enrol_totp(&app, "acme", &a.admin_token).await
    };
    assert_eq!(recovery.len(), 10);
    let status = body(
        app.get("acme", Some(&a.admin_token), "/api/v1/auth/mfa")
            .await,
    )
    .await;
    assert_eq!(status["totp_enabled"], true);
    assert_eq!(status["recovery_codes_left"], 10);
    problem(
        app.post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/auth/mfa/totp",
            json!({}),
        )
        .await,
        409,
    )
    .await;

    // Sign-in now needs the second factor. A wrong code spends the challenge.
    let ch = password_step(&app, &a.admin_email).await;
    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": ch["mfa_token"], "code": "123456"}),
        )
        .await,
        401,
    )
    .await;
    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": ch["mfa_token"], "code": totp_code(&secret, 0)}),
        )
        .await,
        401,
    )
    .await;

    // The next step's code works (one step of clock skew), once.
    let next = totp_code(&secret, 1);
    let ch = password_step(&app, &a.admin_email).await;
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": ch["mfa_token"], "code": next}),
        )
        .await;
    r.assert_status_is_ok();
    let session = body(r).await;
    app.get("acme", session["access_token"].as_str(), "/api/v1/auth/me")
        .await
        .assert_status_is_ok();
    let ch = password_step(&app, &a.admin_email).await;
    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": ch["mfa_token"], "code": next}),
        )
        .await,
        401,
    )
    .await;

    // A recovery code works once; exactly one factor must be sent.
    let ch = password_step(&app, &a.admin_email).await;
    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": ch["mfa_token"]}),
        )
        .await,
        422,
    )
    .await;
    let ch = password_step(&app, &a.admin_email).await;
    app.post(
        "acme",
        None,
        "/api/v1/auth/mfa/verify",
        json!({"mfa_token": ch["mfa_token"], "recovery_code": recovery[0]}),
    )
    .await
    .assert_status_is_ok();
    let ch = password_step(&app, &a.admin_email).await;
    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": ch["mfa_token"], "recovery_code": recovery[0]}),
        )
        .await,
        401,
    )
    .await;
    let status = body(
        app.get("acme", Some(&a.admin_token), "/api/v1/auth/mfa")
            .await,
    )
    .await;
    assert_eq!(status["recovery_codes_left"], 9);

    // Audited, without codes.
    let events = body(
        app.get(
            "acme",
            Some(&a.admin_token),
            "/api/v1/audit-events?action=auth.mfa",
        )
        .await,
    )
    .await;
    let items = events["items"].as_array().expect("items");
    assert!(
        items.iter().any(|e| e["outcome"] == "failure")
            && items
                .iter()
                .any(|e| e["details"]["method"] == "recovery_code")
    );
    let text = events.to_string();
    assert!(!text.contains(&recovery[0]) && !text.contains(&secret));

    // Disabling needs a factor; afterwards the password alone signs in.
    problem(
        app.post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/auth/mfa/totp/disable",
            json!({"code": "000000"}),
        )
        .await,
        422,
    )
    .await;
    app.post(
        "acme",
        Some(&a.admin_token),
        "/api/v1/auth/mfa/totp/disable",
        json!({"recovery_code": recovery[1]}),
    )
    .await
    .assert_status(poem::http::StatusCode::NO_CONTENT);
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": a.admin_email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn five_wrong_codes_lock_code_entry() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let (secret, _) = enrol_totp(&app, "acme", &a.admin_token).await;
    for _ in 0..domain::identity::mfa::MAX_WRONG_FACTORS {
        let ch = password_step(&app, &a.admin_email).await;
        problem(
            app.post(
                "acme",
                None,
                "/api/v1/auth/mfa/verify",
                json!({"mfa_token": ch["mfa_token"], "code": "000000"}),
            )
            .await,
            401,
        )
        .await;
    }
    // Even the right code is refused now, with a retry time.
    let ch = password_step(&app, &a.admin_email).await;
    let r = app
        .post(
            "acme",
            None,
            "/api/v1/auth/mfa/verify",
            json!({"mfa_token": ch["mfa_token"], "code": totp_code(&secret, 1)}),
        )
        .await;
    assert!(r.0.headers().get("retry-after").is_some());
    let p = problem(r, 429).await;
    assert_eq!(p["type"], "urn:swiftacare:problem:too-many-attempts");
}
