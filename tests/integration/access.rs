//! Care teams and break-glass (QUALITY T17): a provider sees only their care-team clients;
//! break-glass works, is time-boxed, audited without its free text, and alerts the admins.

use domain::identity::{Role, RoleGrant};
use serde_json::json;

use crate::support::{TestApp, body, problem, read_eml};

#[tokio::test(flavor = "multi_thread")]
async fn providers_see_their_care_team_clients_only() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let dept = app.department(&a, "Outpatients", None).await;
    let prov = app
        .person(&a, "provider", "Pia", "pia@acme.test", dept["id"].as_str())
        .await;
    let client = app
        .person(&a, "client", "Cal", "cal@acme.test", dept["id"].as_str())
        .await;
    let other = app
        .person(&a, "client", "Oli", "oli@acme.test", dept["id"].as_str())
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
    let cid = client["id"].as_str().expect("id");

    problem(
        app.get("acme", Some(&pt), &format!("/api/v1/people/{cid}"))
            .await,
        404,
    )
    .await;
    let r = app
        .post(
            "acme",
            Some(&a.admin_token),
            &format!("/api/v1/people/{cid}/care-team"),
            json!({"provider_id": prov["id"]}),
        )
        .await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    // Now visible, by id and in the list; the other client is not.
    app.get("acme", Some(&pt), &format!("/api/v1/people/{cid}"))
        .await
        .assert_status_is_ok();
    let list = body(
        app.get("acme", Some(&pt), "/api/v1/people?kind=client")
            .await,
    )
    .await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, vec![cid]);
    problem(
        app.get(
            "acme",
            Some(&pt),
            &format!("/api/v1/people/{}", other["id"].as_str().expect("id")),
        )
        .await,
        404,
    )
    .await;
    let team = body(
        app.get(
            "acme",
            Some(&a.admin_token),
            &format!("/api/v1/people/{cid}/care-team"),
        )
        .await,
    )
    .await;
    assert_eq!(team["providers"][0]["id"], prov["id"]);

    // Only administrators manage care teams; the provider must be a provider.
    problem(
        app.post(
            "acme",
            Some(&pt),
            &format!("/api/v1/people/{cid}/care-team"),
            json!({"provider_id": prov["id"]}),
        )
        .await,
        403,
    )
    .await;
    let p = problem(
        app.post(
            "acme",
            Some(&a.admin_token),
            &format!("/api/v1/people/{cid}/care-team"),
            json!({"provider_id": other["id"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/provider_id");

    // Off the team: invisible again at once.
    let r = app
        .client
        .delete(format!(
            "/api/v1/people/{cid}/care-team/{}",
            prov["id"].as_str().expect("id")
        ))
        .header("X-Tenant", "acme")
        .header("Authorization", format!("Bearer {}", a.admin_token))
        .send()
        .await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    problem(
        app.get("acme", Some(&pt), &format!("/api/v1/people/{cid}"))
            .await,
        404,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn break_glass_is_time_boxed_audited_and_alerted() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let client = app.person(&a, "client", "Bea", "bea@acme.test", None).await;
    let cid = client["id"].as_str().expect("id").to_owned();
    let staff = app.person(&a, "staff", "Sky", "sky@acme.test", None).await;
    let st = app
        .account(
            &a,
            &staff,
            &[RoleGrant {
                role: Role::Staff,
                department_id: None,
            }],
        )
        .await;
    let cl = app
        .account(
            &a,
            &client,
            &[RoleGrant {
                role: Role::Client,
                department_id: None,
            }],
        )
        .await;
    let reason = "Client called in crisis; need contact details to dispatch help";

    problem(
        app.get("acme", Some(&st), &format!("/api/v1/people/{cid}"))
            .await,
        404,
    )
    .await;
    // Bad input names the field and opens nothing.
    for (body_, field) in [
        (
            json!({"client_id": cid, "reason_code": "curiosity", "reason": reason}),
            "/reason_code",
        ),
        (
            json!({"client_id": cid, "reason_code": "emergency", "reason": "because"}),
            "/reason",
        ),
        (
            json!({"client_id": cid, "reason_code": "emergency", "reason": reason, "minutes": 1000}),
            "/minutes",
        ),
    ] {
        let p = problem(
            app.post("acme", Some(&st), "/api/v1/break-glass", body_)
                .await,
            422,
        )
        .await;
        assert_eq!(p["errors"][0]["field"], field);
    }
    problem(
        app.get("acme", Some(&st), &format!("/api/v1/people/{cid}"))
            .await,
        404,
    )
    .await;
    problem(app.post("acme", Some(&st), "/api/v1/break-glass", json!({"client_id": uuid::Uuid::now_v7(), "reason_code": "emergency", "reason": reason})).await, 404).await;
    problem(
        app.post(
            "acme",
            Some(&cl),
            "/api/v1/break-glass",
            json!({"client_id": cid, "reason_code": "emergency", "reason": reason}),
        )
        .await,
        403,
    )
    .await;

    let r = app
        .post(
            "acme",
            Some(&st),
            "/api/v1/break-glass",
            json!({"client_id": cid, "reason_code": "emergency", "reason": reason, "minutes": 30}),
        )
        .await;
    r.assert_status(poem::http::StatusCode::CREATED);
    let grant = body(r).await;
    app.get("acme", Some(&st), &format!("/api/v1/people/{cid}"))
        .await
        .assert_status_is_ok();

    // Audited: who, which client, the reason code — never the free text; reads are marked.
    let events = body(
        app.get(
            "acme",
            Some(&a.admin_token),
            &format!("/api/v1/audit-events?subject_id={cid}"),
        )
        .await,
    )
    .await;
    let items = events["items"].as_array().expect("items");
    let open = items
        .iter()
        .find(|e| e["action"] == "break_glass.open")
        .expect("break_glass.open");
    assert_eq!(open["details"]["reason_code"], "emergency");
    assert!(
        items
            .iter()
            .any(|e| e["action"] == "person.read" && e["details"]["access"] == "break_glass")
    );
    assert!(
        !events.to_string().contains("crisis"),
        "the free-text reason is not in the audit log"
    );
    // The institution admin was alerted by email.
    let mails = read_eml(app.mail_dir.path());
    let alert = mails
        .iter()
        .find(|m| m.contains("Subject: Break-glass access opened"))
        .expect("alert mail");
    assert!(
        alert.contains(&a.admin_email)
            && alert.contains("emergency")
            && !alert.contains("crisis")
            && !alert.contains("Bea"),
        "{alert}"
    );

    // Closing (or expiry) ends the access at once.
    let r = app
        .client
        .delete(format!(
            "/api/v1/break-glass/{}",
            grant["id"].as_str().expect("id")
        ))
        .header("X-Tenant", "acme")
        .header("Authorization", format!("Bearer {st}"))
        .send()
        .await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    problem(
        app.get("acme", Some(&st), &format!("/api/v1/people/{cid}"))
            .await,
        404,
    )
    .await;
    let r = app.post("acme", Some(&st), "/api/v1/break-glass", json!({"client_id": cid, "reason_code": "patient_safety", "reason": reason, "minutes": 5})).await;
    r.assert_status(poem::http::StatusCode::CREATED);
    app.get("acme", Some(&st), &format!("/api/v1/people/{cid}"))
        .await
        .assert_status_is_ok();
    app.tenancy
        .tx(&a.tenant, async |c| {
            use diesel_async::RunQueryDsl;
            diesel::sql_query("UPDATE break_glass_grants SET expires_at = now() - interval '1 second', starts_at = now() - interval '1 minute'")
                .execute(c)
                .await?;
            Ok::<_, domain::DomainError>(())
        })
        .await
        .expect("expire");
    problem(
        app.get("acme", Some(&st), &format!("/api/v1/people/{cid}"))
            .await,
        404,
    )
    .await;
}

/// A client reads their own care team (the providers they can book with, in the web app), and
/// no one else's.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_reads_their_own_care_team_only() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let dept = app.department(&a, "Outpatients", None).await;
    let prov = app
        .person(&a, "provider", "Pia", "pia@acme.test", dept["id"].as_str())
        .await;
    let client = app
        .person(&a, "client", "Cal", "cal@acme.test", dept["id"].as_str())
        .await;
    let other = app
        .person(&a, "client", "Oli", "oli@acme.test", dept["id"].as_str())
        .await;
    let cid = client["id"].as_str().expect("id");
    let ct = app
        .account(
            &a,
            &client,
            &[RoleGrant {
                role: Role::Client,
                department_id: None,
            }],
        )
        .await;
    let r = app
        .post(
            "acme",
            Some(&a.admin_token),
            &format!("/api/v1/people/{cid}/care-team"),
            json!({"provider_id": prov["id"]}),
        )
        .await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    let team = body(
        app.get(
            "acme",
            Some(&ct),
            &format!("/api/v1/people/{cid}/care-team"),
        )
        .await,
    )
    .await;
    assert_eq!(team["providers"][0]["id"], prov["id"]);
    assert!(
        !team.to_string().contains("pia@acme.test"),
        "a client does not get the provider's work address: {team}"
    );
    problem(
        app.get(
            "acme",
            Some(&ct),
            &format!(
                "/api/v1/people/{}/care-team",
                other["id"].as_str().expect("id")
            ),
        )
        .await,
        403,
    )
    .await;
    // Reading is all: a client still cannot change a care team, not even their own.
    problem(
        app.post(
            "acme",
            Some(&ct),
            &format!("/api/v1/people/{cid}/care-team"),
            json!({"provider_id": prov["id"]}),
        )
        .await,
        403,
    )
    .await;
}
