//! Referrals (`/referrals`): the whole triage flow (create → assign → decline → reassign →
//! accept, the client joining the provider's caseload, the history in order), a client's
//! self-referral and what a client sees, every illegal transition (409) and bad input (422,
//! nothing changed), who sees what (404), stale and missing `If-Match`, and the audit entries.

use domain::identity::{Role, RoleGrant};
use poem::http::Method;
use serde_json::{Value, json};

use crate::scheduling::{etag_of, send};
use crate::support::{TenantCtx, TestApp, body, problem, sql_count};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// A directory entry with a signed-in account holding `role` (scoped to `scope` for a
/// sub-admin); returns (person id, token).
async fn member(
    app: &TestApp,
    t: &TenantCtx,
    kind: &str,
    tag: &str,
    department: Option<&str>,
    role: Role,
    scope: Option<&str>,
) -> (String, String) {
    let slug = t.tenant.slug.as_str();
    let p = app
        .person(t, kind, tag, &format!("{tag}@{slug}.test"), department)
        .await;
    let token = app
        .account(
            t,
            &p,
            &[RoleGrant {
                role,
                department_id: scope.map(|s| s.parse().expect("uuid")),
            }],
        )
        .await;
    (id(&p), token)
}

/// Sends one lifecycle step; returns the response.
async fn step(
    app: &TestApp,
    slug: &str,
    token: &str,
    referral: &str,
    action: &str,
    etag: &str,
    b: Option<Value>,
) -> poem::test::TestResponse {
    send(
        app,
        Method::POST,
        slug,
        token,
        &format!("/api/v1/referrals/{referral}/{action}"),
        Some(etag),
        b,
    )
    .await
}

async fn audit(app: &TestApp, t: &TenantCtx, action: &str) -> Vec<Value> {
    let v = body(
        app.get(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            &format!("/api/v1/audit-events?action={action}"),
        )
        .await,
    )
    .await;
    v["items"].as_array().expect("items").clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_triage_a_referral_until_a_provider_accepts_it() {
    let app = TestApp::new().await;
    let t = app.tenant("refer").await;
    let slug = "refer";
    let site = id(&app.department(&t, "Site", None).await);
    let (_, staff) = member(&app, &t, "staff", "desk", Some(&site), Role::Staff, None).await;
    let (prov_a, token_a) = member(
        &app,
        &t,
        "provider",
        "pa",
        Some(&site),
        Role::Provider,
        None,
    )
    .await;
    let (prov_b, token_b) = member(
        &app,
        &t,
        "provider",
        "pb",
        Some(&site),
        Role::Provider,
        None,
    )
    .await;
    let (client, client_token) =
        member(&app, &t, "client", "cl", Some(&site), Role::Client, None).await;

    let r = app
        .post(
            slug,
            Some(&staff),
            "/api/v1/referrals",
            json!({"client_id": client, "reason": "Low mood for six weeks; GP asks for CBT.",
                   "urgency": "urgent", "department_id": site, "referrer_name": "Dr Grey (GP)"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    assert_eq!(etag_of(&r), "\"1\"");
    let location = r.0.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let created = body(r).await;
    let rid = id(&created);
    assert_eq!(location, format!("/api/v1/referrals/{rid}"));
    assert_eq!(created["status"], "new");
    assert_eq!(created["source"], "organisation");
    assert_eq!(created["client_name"], "cl Test");
    assert_eq!(created["history"].as_array().map(Vec::len), Some(1));

    // The triage queue (new and declined) holds it; an older routine one comes after it.
    let routine = body(
        app.post(
            slug,
            Some(&staff),
            "/api/v1/referrals",
            json!({"client_id": client, "reason": "Routine review"}),
        )
        .await,
    )
    .await;
    let queue = body(
        app.get(
            slug,
            Some(&staff),
            "/api/v1/referrals?status=new&status=declined",
        )
        .await,
    )
    .await;
    let ids: Vec<String> = queue["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, [rid.clone(), id(&routine)], "urgent first");

    // Assign to A; A declines with a reason: back in the queue, unassigned.
    let r = step(
        &app,
        slug,
        &staff,
        &rid,
        "assign",
        "\"1\"",
        Some(json!({"provider_id": prov_a})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    assert_eq!(etag_of(&r), "\"2\"");
    let assigned = body(r).await;
    assert_eq!(assigned["status"], "assigned");
    assert_eq!(assigned["assigned_provider_id"], json!(prov_a));
    // A's "My referrals".
    let mine = body(
        app.get(
            slug,
            Some(&token_a),
            &format!("/api/v1/referrals?assigned_provider_id={prov_a}"),
        )
        .await,
    )
    .await;
    assert_eq!(mine["items"][0]["id"], json!(rid));
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let r = step(
        &app,
        slug,
        &token_a,
        &rid,
        "decline",
        "\"2\"",
        Some(json!({"reason": "My caseload is full"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let declined = body(r).await;
    assert_eq!(declined["status"], "declined");
    assert_eq!(declined["status_reason"], "My caseload is full");
    assert!(declined.get("assigned_provider_id").is_none());
    let queue = body(
        app.get(slug, Some(&staff), "/api/v1/referrals?status=declined")
            .await,
    )
    .await;
    assert_eq!(queue["items"][0]["id"], json!(rid));

    // Reassigned to B, who accepts: the client joins B's caseload.
    let r = step(
        &app,
        slug,
        &staff,
        &rid,
        "assign",
        "\"3\"",
        Some(json!({"provider_id": prov_b})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let r = step(&app, slug, &token_b, &rid, "accept", "\"4\"", None).await;
    assert_eq!(r.0.status().as_u16(), 200);
    assert_eq!(etag_of(&r), "\"5\"");
    assert_eq!(body(r).await["status"], "accepted");
    let caseload = body(
        app.get(
            slug,
            Some(&token_b),
            &format!("/api/v1/providers/{prov_b}/clients"),
        )
        .await,
    )
    .await;
    assert_eq!(caseload["items"][0]["client"]["id"], json!(client));

    // The history, in order, with who was assigned and why it was declined.
    let r = app
        .get(slug, Some(&staff), &format!("/api/v1/referrals/{rid}"))
        .await;
    assert_eq!(etag_of(&r), "\"5\"");
    let got = body(r).await;
    let h = got["history"].as_array().expect("history");
    let steps: Vec<(Value, Value, Value)> = h
        .iter()
        .map(|e| {
            (
                e.get("from_status").cloned().unwrap_or(Value::Null),
                e["to_status"].clone(),
                e.get("provider_id").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("new"), Value::Null),
            (json!("new"), json!("assigned"), json!(prov_a)),
            (json!("assigned"), json!("declined"), json!(prov_a)),
            (json!("declined"), json!("assigned"), json!(prov_b)),
            (json!("assigned"), json!("accepted"), json!(prov_b)),
        ]
    );
    assert_eq!(h[2]["reason"], "My caseload is full");
    assert_eq!(h[2]["actor_name"], "pa Test");

    // What the client sees of it: status and provider, not what others wrote.
    let seen = body(
        app.get(
            slug,
            Some(&client_token),
            &format!("/api/v1/referrals/{rid}"),
        )
        .await,
    )
    .await;
    assert_eq!(seen["status"], "accepted");
    assert_eq!(seen["assigned_provider_name"], "pb Test");
    for hidden in ["reason", "status_reason", "referrer_name", "referred_by"] {
        assert!(seen.get(hidden).is_none(), "{hidden}: {seen}");
    }
    assert!(!seen.to_string().contains("caseload is full"), "{seen}");

    // Every step is audited against the client, with no free text.
    for (action, n) in [
        ("referral.create", 2),
        ("referral.assign", 2),
        ("referral.decline", 1),
        ("referral.accept", 1),
    ] {
        let events = audit(&app, &t, action).await;
        assert_eq!(events.len(), n, "{action}: {events:?}");
        assert!(events.iter().all(|e| e["subjects"] == json!([client])));
    }
    let accepted = &audit(&app, &t, "referral.accept").await[0];
    assert_eq!(accepted["resource_id"], json!(rid));
    assert_eq!(accepted["details"]["from"], "assigned");
    assert!(!audit(&app, &t, "referral.list").await.is_empty());
    let all = body(
        app.get(slug, Some(&t.admin_token), "/api/v1/audit-events?limit=500")
            .await,
    )
    .await;
    let all = all.to_string();
    assert!(
        !all.contains("Low mood") && !all.contains("caseload is full") && !all.contains("Dr Grey")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_refers_themselves_and_may_withdraw() {
    let app = TestApp::new().await;
    let t = app.tenant("selfref").await;
    let slug = "selfref";
    let (me, token) = member(&app, &t, "client", "me", None, Role::Client, None).await;
    let (other, _) = member(&app, &t, "client", "other", None, Role::Client, None).await;
    let (prov, _) = member(&app, &t, "provider", "pr", None, Role::Provider, None).await;

    // Only themselves, and no provider of their choosing.
    for (b, field) in [
        (
            json!({"client_id": other, "reason": "Anxiety"}),
            "/client_id",
        ),
        (
            json!({"reason": "Anxiety", "assigned_provider_id": prov}),
            "/assigned_provider_id",
        ),
    ] {
        let p = problem(
            app.post(slug, Some(&token), "/api/v1/referrals", b).await,
            422,
        )
        .await;
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
    let q = format!(
        "SELECT count(*) FROM {}.referrals",
        t.tenant.schema.as_str()
    );
    assert_eq!(sql_count(app.db_url(), &q).await, 0);

    let r = app
        .post(
            slug,
            Some(&token),
            "/api/v1/referrals",
            json!({"reason": "Anxiety at work"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let mine = body(r).await;
    assert_eq!(mine["client_id"], json!(me));
    assert_eq!(mine["source"], "self");
    assert_eq!(mine["status"], "new");
    // They wrote the reason, so they see it.
    assert_eq!(mine["reason"], "Anxiety at work");
    let list = body(app.get(slug, Some(&token), "/api/v1/referrals").await).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    // A referral staff made about them: no reason shown. Not listed for anyone else.
    let r = app
        .post(
            slug,
            Some(&t.admin_token),
            "/api/v1/referrals",
            json!({"client_id": me, "reason": "Staff note"}),
        )
        .await;
    let staffs = body(r).await;
    let seen = body(
        app.get(
            slug,
            Some(&token),
            &format!("/api/v1/referrals/{}", id(&staffs)),
        )
        .await,
    )
    .await;
    assert!(seen.get("reason").is_none(), "{seen}");
    let list = body(app.get(slug, Some(&token), "/api/v1/referrals").await).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));

    // The referrer withdraws their own; not someone else's action (staff's referral is theirs
    // to withdraw, but the client may see it: 403).
    let r = step(
        &app,
        slug,
        &token,
        &id(&mine),
        "withdraw",
        "\"1\"",
        Some(json!({"reason": "Feeling better"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    assert_eq!(body(r).await["status"], "withdrawn");
    problem(
        step(
            &app,
            slug,
            &token,
            &id(&staffs),
            "withdraw",
            "\"1\"",
            Some(json!({"reason": "No"})),
        )
        .await,
        403,
    )
    .await;
    problem(
        step(
            &app,
            slug,
            &token,
            &id(&staffs),
            "assign",
            "\"1\"",
            Some(json!({"provider_id": prov})),
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn illegal_steps_are_conflicts_and_bad_input_changes_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant("refbad").await;
    let slug = "refbad";
    let admin = t.admin_token.clone();
    let schema = t.tenant.schema.as_str().to_owned();
    let (prov, ptoken) = member(&app, &t, "provider", "pv", None, Role::Provider, None).await;
    let (client, _) = member(&app, &t, "client", "cc", None, Role::Client, None).await;
    let count = |table: &str| format!("SELECT count(*) FROM {schema}.{table}");

    // Every bad field named at once; nothing made.
    let missing = uuid::Uuid::now_v7();
    let p = problem(
        app.post(
            slug,
            Some(&admin),
            "/api/v1/referrals",
            json!({"client_id": prov, "reason": "  ", "department_id": missing,
                   "type_id": missing, "assigned_provider_id": client, "referrer_name": ""}),
        )
        .await,
        422,
    )
    .await;
    let mut fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "/assigned_provider_id",
            "/client_id",
            "/department_id",
            "/reason",
            "/referrer_name",
            "/type_id"
        ]
    );
    let p = problem(
        app.post(
            slug,
            Some(&admin),
            "/api/v1/referrals",
            json!({"reason": "x".repeat(4001), "client_id": client}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/reason");
    let p = problem(
        app.post(
            slug,
            Some(&admin),
            "/api/v1/referrals",
            json!({"reason": "No client"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/client_id");
    // A provider refers only a client on their care team.
    let p = problem(
        app.post(
            slug,
            Some(&ptoken),
            "/api/v1/referrals",
            json!({"client_id": client, "reason": "Onward"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/client_id");
    assert_eq!(sql_count(app.db_url(), &count("referrals")).await, 0);
    assert_eq!(sql_count(app.db_url(), &count("referral_events")).await, 0);

    let r = app
        .post(
            slug,
            Some(&admin),
            "/api/v1/referrals",
            json!({"client_id": client, "reason": "Assess"}),
        )
        .await;
    let rid = id(&body(r).await);
    let unchanged = async |version: i64, events: i64| {
        let v = sql_count(
            app.db_url(),
            &format!("SELECT version FROM {schema}.referrals WHERE id = '{rid}'"),
        )
        .await;
        assert_eq!(v, version, "version");
        assert_eq!(
            sql_count(app.db_url(), &count("referral_events")).await,
            events
        );
    };
    // new: cannot be accepted or declined (by anyone); assigning a non-provider is bad input.
    problem(
        step(&app, slug, &admin, &rid, "accept", "\"1\"", None).await,
        403,
    )
    .await;
    let p = problem(
        step(
            &app,
            slug,
            &admin,
            &rid,
            "assign",
            "\"1\"",
            Some(json!({"provider_id": client})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/provider_id");
    unchanged(1, 1).await;
    // If-Match: missing 428, stale 412.
    let r = send(
        &app,
        Method::POST,
        slug,
        &admin,
        &format!("/api/v1/referrals/{rid}/assign"),
        None,
        Some(json!({"provider_id": prov})),
    )
    .await;
    problem(r, 428).await;
    let p = problem(
        step(
            &app,
            slug,
            &admin,
            &rid,
            "assign",
            "\"7\"",
            Some(json!({"provider_id": prov})),
        )
        .await,
        412,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("current version is 1")),
        "{p}"
    );
    unchanged(1, 1).await;

    let r = step(
        &app,
        slug,
        &admin,
        &rid,
        "assign",
        "\"1\"",
        Some(json!({"provider_id": prov})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    // assigned: not again; the decline needs a reason; staff do not accept for the provider.
    let p = problem(
        step(
            &app,
            slug,
            &admin,
            &rid,
            "assign",
            "\"2\"",
            Some(json!({"provider_id": prov})),
        )
        .await,
        409,
    )
    .await;
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("assigned")),
        "{p}"
    );
    let p = problem(
        step(
            &app,
            slug,
            &ptoken,
            &rid,
            "decline",
            "\"2\"",
            Some(json!({"reason": ""})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/reason");
    let p = problem(
        step(
            &app,
            slug,
            &ptoken,
            &rid,
            "decline",
            "\"2\"",
            Some(json!({"reason": "x".repeat(1001)})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/reason");
    let p = problem(
        step(
            &app,
            slug,
            &admin,
            &rid,
            "withdraw",
            "\"2\"",
            Some(json!({"reason": " \n "})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "/reason");
    problem(
        step(&app, slug, &admin, &rid, "accept", "\"2\"", None).await,
        403,
    )
    .await;
    unchanged(2, 2).await;

    let r = step(&app, slug, &ptoken, &rid, "accept", "\"2\"", None).await;
    assert_eq!(r.0.status().as_u16(), 200);
    // accepted: closed to every step.
    for (who, action, b) in [
        (&ptoken, "accept", None),
        (
            &ptoken,
            "decline",
            Some(json!({"reason": "Changed my mind"})),
        ),
        (&admin, "assign", Some(json!({"provider_id": prov}))),
        (&admin, "withdraw", Some(json!({"reason": "Too late"}))),
    ] {
        let p = problem(step(&app, slug, who, &rid, action, "\"3\"", b).await, 409).await;
        assert!(
            p["detail"].as_str().is_some_and(|d| d.contains("accepted")),
            "{action}: {p}"
        );
    }
    unchanged(3, 3).await;

    // withdrawn: closed too.
    let r = app
        .post(
            slug,
            Some(&admin),
            "/api/v1/referrals",
            json!({"client_id": client, "reason": "Second"}),
        )
        .await;
    let second = id(&body(r).await);
    let r = step(
        &app,
        slug,
        &admin,
        &second,
        "withdraw",
        "\"1\"",
        Some(json!({"reason": "Duplicate"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    for (action, b) in [
        ("withdraw", json!({"reason": "Again"})),
        ("assign", json!({"provider_id": prov})),
    ] {
        problem(
            step(&app, slug, &admin, &second, action, "\"2\"", Some(b)).await,
            409,
        )
        .await;
    }
    // A provider may refer their own client onward once on the care team.
    let r = app
        .post(
            slug,
            Some(&ptoken),
            "/api/v1/referrals",
            json!({"client_id": client, "reason": "Needs a psychiatrist"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    assert_eq!(body(r).await["source"], "provider");
    // Paging input.
    let p = problem(
        app.get(slug, Some(&admin), "/api/v1/referrals?limit=0")
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "limit");
    let p = problem(
        app.get(
            slug,
            Some(&admin),
            &format!("/api/v1/referrals?after={missing}"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "after");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_those_who_may_see_a_referral_find_it() {
    let app = TestApp::new().await;
    let t = app.tenant("refvis").await;
    let slug = "refvis";
    let site = id(&app.department(&t, "Site", None).await);
    let other = id(&app.department(&t, "Other", None).await);
    let (_, sub_in) = member(
        &app,
        &t,
        "staff",
        "subin",
        Some(&site),
        Role::SubAdmin,
        Some(&site),
    )
    .await;
    let (_, sub_out) = member(
        &app,
        &t,
        "staff",
        "subout",
        Some(&other),
        Role::SubAdmin,
        Some(&other),
    )
    .await;
    let (prov_a, token_a) = member(
        &app,
        &t,
        "provider",
        "va",
        Some(&site),
        Role::Provider,
        None,
    )
    .await;
    let (_, token_b) = member(
        &app,
        &t,
        "provider",
        "vb",
        Some(&site),
        Role::Provider,
        None,
    )
    .await;
    let (client, _) = member(&app, &t, "client", "vc", Some(&site), Role::Client, None).await;
    let (_, other_client) =
        member(&app, &t, "client", "vo", Some(&other), Role::Client, None).await;

    let r = app
        .post(slug, Some(&sub_in), "/api/v1/referrals",
              json!({"client_id": client, "reason": "Assess", "department_id": site, "assigned_provider_id": prov_a}))
        .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let created = body(r).await;
    assert_eq!(created["status"], "assigned");
    let rid = id(&created);
    let path = format!("/api/v1/referrals/{rid}");
    for token in [&sub_in, &token_a, &t.admin_token] {
        app.get(slug, Some(token), &path)
            .await
            .assert_status_is_ok();
    }
    for token in [&sub_out, &token_b, &other_client] {
        problem(app.get(slug, Some(token), &path).await, 404).await;
        let list = body(app.get(slug, Some(token), "/api/v1/referrals").await).await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    }
    // Another provider cannot act on it; a sub-admin outside cannot reassign it.
    problem(
        step(&app, slug, &token_b, &rid, "accept", "\"1\"", None).await,
        404,
    )
    .await;
    problem(
        step(
            &app,
            slug,
            &sub_out,
            &rid,
            "withdraw",
            "\"1\"",
            Some(json!({"reason": "Mine now"})),
        )
        .await,
        404,
    )
    .await;
    // A sub-admin cannot refer a client outside their subtree into a department outside it.
    let outside_client = app
        .person(&t, "client", "Far", "far@refvis.test", Some(&other))
        .await;
    problem(
        app.post(
            slug,
            Some(&sub_in),
            "/api/v1/referrals",
            json!({"client_id": id(&outside_client), "reason": "Far away"}),
        )
        .await,
        403,
    )
    .await;
    assert!(
        audit(&app, &t, "referral.create")
            .await
            .iter()
            .any(|e| e["outcome"] == "denied"),
        "the refused create is audited"
    );
    // Unknown ids are simply not found; refusals are audited.
    problem(
        app.get(
            slug,
            Some(&t.admin_token),
            &format!("/api/v1/referrals/{}", uuid::Uuid::now_v7()),
        )
        .await,
        404,
    )
    .await;
    let denied = audit(&app, &t, "referral.read").await;
    assert!(
        denied.iter().filter(|e| e["outcome"] == "denied").count() >= 3,
        "{denied:?}"
    );
    // The filters.
    let list = body(
        app.get(slug, Some(&t.admin_token), &format!("/api/v1/referrals?assigned_provider_id={prov_a}&urgency=routine&department_id={site}&status=assigned"))
            .await,
    )
    .await;
    assert_eq!(list["items"][0]["id"], json!(rid));
    let list = body(
        app.get(
            slug,
            Some(&t.admin_token),
            "/api/v1/referrals?urgency=urgent",
        )
        .await,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_pages_urgent_first_then_oldest() {
    let app = TestApp::new().await;
    let t = app.tenant("refpage").await;
    let slug = "refpage";
    let (client, _) = member(&app, &t, "client", "pc", None, Role::Client, None).await;
    let mut urgent = Vec::new();
    let mut routine = Vec::new();
    for i in 0..5 {
        let u = if i % 2 == 0 { "routine" } else { "urgent" };
        let r = app
            .post(
                slug,
                Some(&t.admin_token),
                "/api/v1/referrals",
                json!({"client_id": client, "reason": format!("R{i}"), "urgency": u}),
            )
            .await;
        let v = id(&body(r).await);
        if u == "urgent" {
            urgent.push(v)
        } else {
            routine.push(v)
        }
    }
    let expected: Vec<String> = urgent.into_iter().chain(routine).collect();
    let mut got = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = match &after {
            Some(a) => format!("/api/v1/referrals?limit=2&after={a}"),
            None => "/api/v1/referrals?limit=2".to_owned(),
        };
        let page = body(app.get(slug, Some(&t.admin_token), &q).await).await;
        got.extend(page["items"].as_array().expect("items").iter().map(id));
        match page["page"]["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(got, expected);
}

/// `Idempotency-Key` on `POST /referrals`: a retried request makes one referral and answers
/// with it (`Idempotent-Replayed: true`); the same key with another request is a 422 naming
/// the header and makes nothing; keys are per account.
#[tokio::test(flavor = "multi_thread")]
async fn a_retried_referral_is_made_once() {
    let app = TestApp::new().await;
    let t = app.tenant("refidem").await;
    let slug = "refidem";
    let (client, _) = member(&app, &t, "client", "cl", None, Role::Client, None).await;
    let (_, desk) = member(&app, &t, "staff", "desk", None, Role::Staff, None).await;
    let count = format!(
        "SELECT count(*) FROM {}.referrals",
        t.tenant.schema.as_str()
    );
    let post = |token: String, key: &'static str, reason: &'static str| {
        let app = &app;
        let client = client.clone();
        async move {
            app.client
                .post("/api/v1/referrals")
                .header("X-Tenant", slug)
                .header("Authorization", format!("Bearer {token}"))
                .header("Idempotency-Key", key)
                .body_json(&json!({"client_id": client, "reason": reason}))
                .send()
                .await
        }
    };
    let first = post(t.admin_token.clone(), "k-1", "Low mood").await;
    assert_eq!(first.0.status().as_u16(), 201);
    assert!(!first.0.headers().contains_key("idempotent-replayed"));
    let made = body(first).await;

    let again = post(t.admin_token.clone(), "k-1", "Low mood").await;
    assert_eq!(again.0.status().as_u16(), 201);
    assert_eq!(
        again
            .0
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().ok()),
        Some(Some("true"))
    );
    assert_eq!(id(&body(again).await), id(&made));
    assert_eq!(sql_count(app.db_url(), &count).await, 1);

    // The same key with another request: refused, nothing made.
    let p = problem(post(t.admin_token.clone(), "k-1", "Poor sleep").await, 422).await;
    assert_eq!(p["errors"][0]["field"], "Idempotency-Key", "{p}");
    assert_eq!(sql_count(app.db_url(), &count).await, 1);

    // Another account's key of the same name is its own.
    let other = post(desk, "k-1", "Low mood").await;
    assert_eq!(other.0.status().as_u16(), 201);
    assert!(!other.0.headers().contains_key("idempotent-replayed"));
    assert_ne!(id(&body(other).await), id(&made));
    assert_eq!(sql_count(app.db_url(), &count).await, 2);
}
