//! Invitations and password reset, delivered through a real SMTP server (aiosmtpd).

use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use serde_json::json;

use crate::support::{PASSWORD, SmtpSink, TestApp, body, problem, read_eml, token_in};

async fn wait_for_messages(sink: &SmtpSink, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let m = sink.messages();
        if m.len() >= n || started.elapsed() > Duration::from_secs(10) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn message_to<'a>(messages: &'a [String], to: &str) -> &'a String {
    messages
        .iter()
        .rev()
        .find(|m| m.starts_with(&format!("X-Sink-Rcpt-To: {to}")))
        .unwrap_or_else(|| panic!("no mail to {to}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_invites_a_provider_and_a_client_who_sign_in_from_the_email() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::with(|s| {
        s.mailer = Arc::new(
            swiftacare_api::mail::Mailer::new(
                Some(&url),
                "Clinic <no-reply@clinic.test>",
                "/nonexistent".into(),
            )
            .expect("smtp"),
        );
    })
    .await;
    let a = app.tenant("acme").await;
    let dept = app.department(&a, "Outpatients", None).await;
    let prov = app
        .person(
            &a,
            "provider",
            "Priya",
            "priya@clinic.test",
            dept["id"].as_str(),
        )
        .await;
    let client = app
        .person(
            &a,
            "client",
            "Carl",
            "carl@patients.test",
            dept["id"].as_str(),
        )
        .await;

    for (person, role) in [(&prov, "provider"), (&client, "client")] {
        let r = app
            .post(
                "acme",
                Some(&a.admin_token),
                "/api/v1/invitations",
                json!({"person_id": person["id"], "roles": [{"role": role}]}),
            )
            .await;
        r.assert_status(StatusCode::CREATED);
        let v = body(r).await;
        assert_eq!(v["email_sent"], true, "{v}");
        assert!(
            v.get("token").is_none(),
            "the secret never comes back in the API"
        );
    }
    let mails = wait_for_messages(&sink, 2).await;
    assert_eq!(mails.len(), 2);
    for (email, role) in [
        ("priya@clinic.test", "provider"),
        ("carl@patients.test", "client"),
    ] {
        let m = message_to(&mails, email);
        assert!(
            m.contains("Subject: You're invited to Tenant acme on Swiftacare"),
            "{m}"
        );
        assert!(
            m.contains("http://test/accept-invite?tenant=acme#token=sco_"),
            "{m}"
        );
        let token = token_in(m).expect("token in mail");
        app.post(
            "acme",
            None,
            "/api/v1/auth/setup",
            json!({"token": token, "password": PASSWORD}),
        )
        .await
        .assert_status(StatusCode::NO_CONTENT);
        let session = app.login("acme", email, PASSWORD).await;
        let me = body(app.get("acme", Some(&session), "/api/v1/auth/me").await).await;
        assert_eq!(me["roles"][0]["role"], role, "{me}");
        // The link works once.
        problem(
            app.post(
                "acme",
                None,
                "/api/v1/auth/setup",
                json!({"token": token, "password": PASSWORD}),
            )
            .await,
            422,
        )
        .await;
    }

    // An accepted invitation cannot be repeated; bad requests name what is wrong.
    let p = problem(
        app.post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/invitations",
            json!({"person_id": prov["id"], "roles": [{"role": "provider"}]}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("already has an account"))
    );
    let other = app
        .person(&a, "client", "Cora", "cora@patients.test", None)
        .await;
    let p = problem(
        app.post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/invitations",
            json!({"person_id": other["id"], "roles": [{"role": "provider"}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/roles/0");
    let p = problem(
        app.post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/invitations",
            json!({"person_id": other["id"], "roles": [{"role": "sub_admin"}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/roles/0");
    problem(
        app.post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/invitations",
            json!({"person_id": uuid::Uuid::now_v7(), "roles": [{"role": "client"}]}),
        )
        .await,
        404,
    )
    .await;
    // Only administrators invite.
    let provider_session = app.login("acme", "priya@clinic.test", PASSWORD).await;
    problem(
        app.post(
            "acme",
            Some(&provider_session),
            "/api/v1/invitations",
            json!({"person_id": other["id"], "roles": [{"role": "client"}]}),
        )
        .await,
        403,
    )
    .await;

    // Re-inviting before acceptance replaces the link.
    for _ in 0..2 {
        app.post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/invitations",
            json!({"person_id": other["id"], "roles": [{"role": "client"}]}),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let mails = wait_for_messages(&sink, 4).await;
    let to_cora: Vec<&String> = mails
        .iter()
        .filter(|m| m.starts_with("X-Sink-Rcpt-To: cora@"))
        .collect();
    assert_eq!(to_cora.len(), 2);
    let first = token_in(to_cora[0]).expect("token");
    let second = token_in(to_cora[1]).expect("token");
    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/setup",
            json!({"token": first, "password": PASSWORD}),
        )
        .await,
        422,
    )
    .await;
    app.post(
        "acme",
        None,
        "/api/v1/auth/setup",
        json!({"token": second, "password": PASSWORD}),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread")]
async fn password_reset_by_email_ends_every_session() {
    let sink = SmtpSink::start();
    let url = sink.url();
    let app = TestApp::with(|s| {
        s.mailer = Arc::new(
            swiftacare_api::mail::Mailer::new(
                Some(&url),
                "Clinic <no-reply@clinic.test>",
                "/nonexistent".into(),
            )
            .expect("smtp"),
        );
    })
    .await;
    let a = app.tenant("acme").await;
    let other_session = app.login("acme", &a.admin_email, PASSWORD).await;

    // Unknown and known addresses get the same answer; only the known one gets mail.
    for email in ["ghost@acme.test", a.admin_email.as_str()] {
        let r = app
            .post(
                "acme",
                None,
                "/api/v1/auth/password-reset",
                json!({"email": email}),
            )
            .await;
        r.assert_status(StatusCode::ACCEPTED);
    }
    let mails = wait_for_messages(&sink, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = if mails.len() == 1 {
        sink.messages()
    } else {
        mails
    };
    assert_eq!(mails.len(), 1, "exactly one reset mail");
    let m = message_to(&mails, &a.admin_email);
    let token = token_in(m).expect("token");

    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/password-reset/complete",
            json!({"token": token, "password": "short"}),
        )
        .await,
        422,
    )
    .await;
    let new_password = "an entirely new passphrase";
    app.post(
        "acme",
        None,
        "/api/v1/auth/password-reset/complete",
        json!({"token": token, "password": new_password}),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    // Every earlier session ended; the old password no longer works; the new one does.
    problem(
        app.get("acme", Some(&a.admin_token), "/api/v1/auth/me")
            .await,
        401,
    )
    .await;
    problem(
        app.get("acme", Some(&other_session), "/api/v1/auth/me")
            .await,
        401,
    )
    .await;
    problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/login",
            json!({"email": a.admin_email, "password": PASSWORD}),
        )
        .await,
        401,
    )
    .await;
    app.login("acme", &a.admin_email, new_password).await;
    // Single use.
    let p = problem(
        app.post(
            "acme",
            None,
            "/api/v1/auth/password-reset/complete",
            json!({"token": token, "password": "yet another passphrase"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/token");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_smtp_mail_is_written_as_eml_files() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let person = app.person(&a, "staff", "Sol", "sol@acme.test", None).await;
    let r = app
        .post(
            "acme",
            Some(&a.admin_token),
            "/api/v1/invitations",
            json!({"person_id": person["id"], "roles": [{"role": "staff"}]}),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let mails = read_eml(app.mail_dir.path());
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("To: sol@acme.test") && token_in(&mails[0]).is_some(),
        "{}",
        mails[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_requests_cannot_flood_a_mailbox() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let limit = crate::support::fast_policy().account_lock_at as usize;
    for _ in 0..limit + 5 {
        let r = app
            .post(
                "acme",
                None,
                "/api/v1/auth/password-reset",
                json!({"email": a.admin_email}),
            )
            .await;
        r.assert_status(StatusCode::ACCEPTED);
    }
    // Mail goes out in the background: wait until it settles, then count.
    let started = Instant::now();
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let n = read_eml(app.mail_dir.path()).len();
        if (n == last && n > 0) || started.elapsed() > Duration::from_secs(10) {
            break;
        }
        last = n;
    }
    let sent = read_eml(app.mail_dir.path()).len();
    assert_eq!(sent, limit, "only the first {limit} requests send mail");
}

#[tokio::test(flavor = "multi_thread")]
async fn common_passwords_are_refused() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let person = app.person(&a, "staff", "Sol", "sol@acme.test", None).await;
    app.post(
        "acme",
        Some(&a.admin_token),
        "/api/v1/invitations",
        json!({"person_id": person["id"], "roles": [{"role": "staff"}]}),
    )
    .await
    .assert_status(StatusCode::CREATED);
    let token = token_in(&read_eml(app.mail_dir.path())[0]).expect("token");
    for weak in ["password1234", "qwertyuiop123", "sol@acme.test1"] {
        let p = problem(
            app.post(
                "acme",
                None,
                "/api/v1/auth/setup",
                json!({"token": token, "password": weak}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "/password", "{weak}");
    }
    // A refused password does not spend the link.
    app.post(
        "acme",
        None,
        "/api/v1/auth/setup",
        json!({"token": token, "password": PASSWORD}),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
}
