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

/// `GET /break-glass`: the caller's own grants, open first with their expiry, then ended ones;
/// every grant only for institution admins (`all=true`); names only while a grant is open.
#[tokio::test(flavor = "multi_thread")]
async fn holders_list_their_own_break_glass_grants_open_first() {
    let app = TestApp::new().await;
    let a = app.tenant("bgl").await;
    let signed_in = async |kind: &str, name: &str, role: Role| {
        let person = app
            .person(
                &a,
                kind,
                name,
                &format!("{}@bgl.test", name.to_lowercase()),
                None,
            )
            .await;
        let token = app
            .account(
                &a,
                &person,
                &[RoleGrant {
                    role,
                    department_id: None,
                }],
            )
            .await;
        (person["id"].as_str().expect("id").to_owned(), token)
    };
    let (_, st) = signed_in("staff", "Sky", Role::Staff).await;
    let (_, pv) = signed_in("provider", "Pat", Role::Provider).await;
    let (me_client, cl) = signed_in("client", "Cleo", Role::Client).await;
    let mut clients = Vec::new();
    for name in ["Ana", "Ben", "Cal", "Dee"] {
        let c = app
            .person(&a, "client", name, &format!("{name}@bgl.test"), None)
            .await;
        clients.push(c["id"].as_str().expect("id").to_owned());
    }
    let reason = "Client called in crisis; need contact details to dispatch help";
    let open = async |token: &str, client: &str, minutes: i64| {
        let r = app
            .post(
                "bgl",
                Some(token),
                "/api/v1/break-glass",
                json!({"client_id": client, "reason_code": "emergency", "reason": reason, "minutes": minutes}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201);
        body(r).await["id"].as_str().expect("id").to_owned()
    };
    let g_long = open(&st, &clients[0], 60).await;
    let g_short = open(&st, &clients[1], 30).await;
    let g_closed = open(&st, &clients[2], 90).await;
    let g_expired = open(&st, &clients[3], 120).await;
    let g_other = open(&pv, &clients[0], 45).await;
    let r = app
        .client
        .delete(format!("/api/v1/break-glass/{g_closed}"))
        .header("X-Tenant", "bgl")
        .header("Authorization", format!("Bearer {st}"))
        .send()
        .await;
    r.assert_status(poem::http::StatusCode::NO_CONTENT);
    let expired = g_expired.clone();
    app.tenancy
        .tx(&a.tenant, async |c| {
            use diesel_async::RunQueryDsl;
            diesel::sql_query(format!(
                "UPDATE break_glass_grants SET expires_at = now() - interval '1 second', starts_at = now() - interval '1 minute' WHERE id = '{expired}'"
            ))
            .execute(c)
            .await?;
            Ok::<_, domain::DomainError>(())
        })
        .await
        .expect("expire");

    let list = |token: String, query: &'static str| {
        let app = &app;
        async move {
            app.get("bgl", Some(&token), &format!("/api/v1/break-glass{query}"))
                .await
        }
    };
    let r = list(st.clone(), "").await;
    assert_eq!(r.0.status().as_u16(), 200);
    let mine = body(r).await;
    let items = mine["items"].as_array().expect("items");
    let ids: Vec<&str> = items
        .iter()
        .map(|g| g["id"].as_str().expect("id"))
        .collect();
    // Open first, soonest expiry first; then ended, latest opened first. Not the provider's.
    assert_eq!(ids, [&g_short, &g_long, &g_closed, &g_expired], "{mine}");
    let states: Vec<&str> = items
        .iter()
        .map(|g| g["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, ["open", "open", "closed", "expired"]);
    assert_eq!(items[0]["client_given_name"], "Ben");
    assert_eq!(items[0]["client_id"], json!(clients[1]));
    assert!(items[0]["expires_at"].as_str().is_some() && items[0].get("closed_at").is_none());
    assert!(items[2]["closed_at"].as_str().is_some() && items[3].get("closed_at").is_none());
    for ended in &items[2..] {
        assert!(
            ended.get("client_given_name").is_none(),
            "no name once ended: {ended}"
        );
    }
    assert!(
        !mine.to_string().contains("crisis"),
        "never the written reason"
    );

    // The limit cuts the list after the open ones first.
    let r = list(st.clone(), "?limit=1").await;
    let one = body(r).await;
    assert_eq!(one["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["items"][0]["id"], json!(g_short));
    let p = problem(list(st.clone(), "?limit=0").await, 422).await;
    assert_eq!(p["errors"][0]["field"], "limit");

    // Every grant: institution admins only. Clients list nothing.
    problem(list(st.clone(), "?all=true").await, 403).await;
    problem(list(cl.clone(), "").await, 403).await;
    let r = list(pv.clone(), "").await;
    let theirs = body(r).await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(theirs["items"][0]["id"], json!(g_other));
    let r = list(a.admin_token.clone(), "").await;
    assert_eq!(body(r).await["items"], json!([]), "the admin opened none");
    let r = list(a.admin_token.clone(), "?all=true").await;
    let every = body(r).await;
    let ids: Vec<&str> = every["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|g| g["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [&g_short, &g_other, &g_long, &g_closed, &g_expired],
        "{every}"
    );
    assert!(!every.to_string().contains(&me_client));

    // Audited: the clients listed, the count, whether it was every grant.
    let audit = body(
        app.get(
            "bgl",
            Some(&a.admin_token),
            "/api/v1/audit-events?action=break_glass.list",
        )
        .await,
    )
    .await;
    let events = audit["items"].as_array().expect("items");
    let all_read = events
        .iter()
        .find(|e| e["details"]["all"] == true)
        .expect("the admin's list");
    assert_eq!(all_read["details"]["rows"], 5);
    assert_eq!(all_read["subjects"].as_array().map(Vec::len), Some(4));
}
