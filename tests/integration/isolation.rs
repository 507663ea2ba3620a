//! QUALITY T3: for every operation in the OpenAPI spec, tenant A's credentials with tenant B's
//! ids answer 404 and return none of B's data; B's token sent to A is 401. The operation list
//! comes from the spec, so a new endpoint is swept automatically — and an endpoint with a path
//! parameter this test does not know fails the test until the parameter is mapped here.

use std::collections::HashMap;

use poem::http::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, body};

/// A plausible body for each operation, so the request reaches the handler (a cross-tenant
/// leak behind body validation would otherwise go unseen).
fn body_for(operation_id: &str, ids: &HashMap<&str, String>, b_refresh: &str) -> Option<Value> {
    let b_department = ids["department_id"].as_str();
    match operation_id {
        "assignCareTeam" => Some(json!({"provider_id": ids["provider_id"]})),
        "setAccountRoles" => Some(json!({"roles": [{"role": "staff"}]})),
        "openBreakGlass" => Some(
            json!({"client_id": ids["person_id"], "reason_code": "emergency", "reason": "isolation sweep, cross-tenant"}),
        ),
        "refreshTokens" => Some(json!({"refresh_token": b_refresh})),
        "submitBulkBatch" => Some(json!({"rows": [{
            "client_id": ids["person_id"], "provider_id": ids["sched_provider"],
            "type_id": ids["type_id"], "window_from": "2030-01-07", "window_until": "2030-01-08"}]})),
        "createDepartment" => {
            Some(json!({"name": "Sweep", "kind": "unit", "parent_id": b_department}))
        }
        "updateDepartment" => Some(json!({"name": "Renamed by A"})),
        "createPerson" => Some(
            json!({"kind": "client", "given_name": "Sweep", "family_name": "Test", "department_id": b_department}),
        ),
        "updatePerson" => Some(json!({"given_name": "Renamed by A"})),
        "login" => Some(json!({"email": "admin@b.test", "password": crate::support::PASSWORD})),
        "createSsoConnection" => Some(json!({
            "name": "Sweep", "protocol": "oidc",
            "oidc": {"issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s"}
        })),
        "discoverSignIn" => Some(json!({"email": "someone@b.example"})),
        "exchangeSsoCode" => Some(json!({"code": "sso_not_a_real_code"})),
        "completeSetup" => {
            Some(json!({"token": "sco_not_a_real_token", "password": "a long enough password"}))
        }
        "updateLocation" | "updateAppointmentType" => Some(json!({"name": "Renamed by A"})),
        "createLocation" => Some(json!({"name": "Sweep", "timezone": "UTC"})),
        "createAppointmentType" => {
            Some(json!({"name": "Sweep", "duration_minutes": 30, "modality": "video"}))
        }
        "setTypeOffering" => {
            Some(json!({"all_providers": false, "provider_ids": [ids["sched_provider"]]}))
        }
        "putAvailability" => Some(json!({"timezone": "UTC", "rules": []})),
        "createAvailabilityOverride" => Some(json!({"date": "2030-01-07", "kind": "time_off"})),
        "transitionAppointment" => Some(json!({"action": "cancel"})),
        "rescheduleAppointment" => Some(json!({"starts_at": "2030-01-07T10:00:00Z"})),
        "retimeSeries" => Some(json!({"scope": "all", "local_time": "11:00"})),
        "cancelSeries" => Some(json!({"scope": "all"})),
        "bookAppointment" => Some(
            json!({"provider_id": ids["sched_provider"], "client_id": ids["person_id"],
            "type_id": ids["type_id"], "starts_at": "2030-01-07T10:00:00Z"}),
        ),
        "createSeries" => Some(
            json!({"provider_id": ids["sched_provider"], "client_id": ids["person_id"],
            "type_id": ids["type_id"], "first_start": "2030-01-07T10:00:00", "rrule": "FREQ=WEEKLY;COUNT=2"}),
        ),
        "joinWaitlist" => Some(
            json!({"client_id": ids["person_id"], "type_id": ids["type_id"],
            "window_from": "2030-01-07T00:00:00Z", "window_until": "2030-01-08T00:00:00Z"}),
        ),
        "createReferral" => {
            Some(json!({"client_id": ids["person_id"], "reason": "isolation sweep"}))
        }
        "assignReferral" => Some(json!({"provider_id": ids["provider_id"]})),
        "declineReferral" | "withdrawReferral" => Some(json!({"reason": "isolation sweep"})),
        "updateMyContact" => Some(json!({"phone": "+1 416 555 0123"})),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_is_tenant_isolated() {
    let app = TestApp::new().await;
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    // Identical data shapes in both tenants.
    let mut ids: HashMap<&str, HashMap<&str, String>> = HashMap::new();
    for t in [&a, &b] {
        let d = app.department(t, "Shared Name", None).await;
        let p = app
            .person(
                t,
                "client",
                "Samename",
                &format!("client@{}.test", t.tenant.slug),
                d["id"].as_str(),
            )
            .await;
        ids.insert(
            t.tenant.slug.as_str(),
            HashMap::from([
                (
                    "department_id",
                    d["id"].as_str().unwrap_or_default().to_owned(),
                ),
                ("person_id", p["id"].as_str().unwrap_or_default().to_owned()),
            ]),
        );
    }
    // A session of B's (for operations on sessions) and a refresh token of B's.
    let b_login = app
        .post(
            "b",
            None,
            "/api/v1/auth/login",
            json!({"email": b.admin_email, "password": crate::support::PASSWORD}),
        )
        .await;
    let b_login = body(b_login).await;
    let b_session = b_login["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    let b_refresh = b_login["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    ids.get_mut("b").expect("b").insert("session_id", b_session);
    // A provider and a break-glass grant in each tenant (for care-team and break-glass operations).
    for t in [&a, &b] {
        let slug = t.tenant.slug.as_str();
        let p = app
            .person(t, "provider", "Prov", &format!("prov@{slug}.test"), None)
            .await;
        let client = ids[slug]["person_id"].clone();
        let r = app
            .post(slug, Some(&t.admin_token), "/api/v1/break-glass", json!({"client_id": client, "reason_code": "emergency", "reason": "set up the isolation sweep"}))
            .await;
        let grant = body(r).await["id"].as_str().expect("grant").to_owned();
        let entry = ids.get_mut(slug).expect("tenant");
        entry.insert("provider_id", p["id"].as_str().expect("id").to_owned());
        let me = body(app.get(slug, Some(&t.admin_token), "/api/v1/auth/me").await).await;
        entry.insert(
            "account_id",
            me["account_id"].as_str().expect("account").to_owned(),
        );
        entry.insert("grant_id", grant);
        let r = app
            .post(
                slug,
                Some(&t.admin_token),
                "/api/v1/oauth-clients",
                json!({"name": "Sweep", "scopes": ["directory:read"]}),
            )
            .await;
        let client = body(r).await["client"]["id"]
            .as_str()
            .expect("client")
            .to_owned();
        ids.get_mut(slug)
            .expect("tenant")
            .insert("client_id", client);
        // An SSO connection (its IdP is never contacted: every request names the other tenant).
        let r = app
            .post(
                slug,
                Some(&t.admin_token),
                "/api/v1/sso/connections",
                json!({"name": "Sweep", "protocol": "oidc", "domains": [format!("{slug}.example")],
                       "oidc": {"issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s"}}),
            )
            .await;
        let conn = body(r).await["id"].as_str().expect("connection").to_owned();
        ids.get_mut(slug)
            .expect("tenant")
            .insert("connection_id", conn);
    }
    // Scheduling in each tenant: a location, a type, a provider with hours, an override, an
    // appointment, a series, a waitlist entry with an offer, a calendar feed.
    for t in [&a, &b] {
        let slug = t.tenant.slug.as_str();
        let fx = crate::scheduling::fixture(&app, t).await;
        let entry = ids.get_mut(slug).expect("tenant");
        for (k, v) in fx {
            entry.insert(k, v);
        }
    }
    // A referral in each tenant, assigned to its provider.
    for t in [&a, &b] {
        let slug = t.tenant.slug.as_str();
        let entry = ids.get_mut(slug).expect("tenant");
        let r = app
            .post(
                slug,
                Some(&t.admin_token),
                "/api/v1/referrals",
                json!({"client_id": entry["person_id"], "reason": "isolation sweep",
                       "assigned_provider_id": entry["provider_id"]}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201, "referral");
        let referral = body(r).await["id"].as_str().expect("id").to_owned();
        entry.insert("referral_id", referral);
    }
    let a_login = app
        .post(
            "a",
            None,
            "/api/v1/auth/login",
            json!({"email": a.admin_email, "password": crate::support::PASSWORD}),
        )
        .await;
    let a_session = body(a_login).await["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();
    ids.get_mut("a").expect("a").insert("session_id", a_session);
    let b_ids = &ids["b"];
    let a_ids = &ids["a"];

    let spec: Value = serde_json::from_str(&swiftacare_api::openapi::spec_json()).expect("spec");
    let mut swept = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let op_id = op["operationId"].as_str().expect("operationId");
            let mut uri = format!("/api/v1{path}");
            let mut has_ids = false;
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    let name = param["name"].as_str().expect("name");
                    let id = b_ids.get(name).unwrap_or_else(|| {
                        panic!("{op_id}: path parameter `{name}` is not mapped in the isolation sweep; add tenant B's id for it")
                    });
                    uri = uri.replace(&format!("{{{name}}}"), id);
                    has_ids = true;
                }
            }
            if op_id == "submitBulkBatch" {
                // A new batch in A whose rows name B's people: they must fail as unknown.
                uri.push_str(&format!("?batch_id={}", uuid::Uuid::now_v7()));
            }
            let method =
                Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
            // A's session (a fresh one: the sweep includes logout), A's tenant header, B's ids.
            let a_session = app
                .login("a", &a.admin_email, crate::support::PASSWORD)
                .await;
            let mut req = app
                .client
                .request(method.clone(), &uri)
                .header("X-Tenant", "a")
                .header("Authorization", format!("Bearer {a_session}"))
                .header("If-Match", "\"1\"");
            if let Some(body) = body_for(op_id, b_ids, &b_refresh) {
                req = req.body_json(&body);
            }
            if op_id == "finishSamlSignIn" {
                req = req
                    .content_type("application/x-www-form-urlencoded")
                    .body("SAMLResponse=PHg%2BPC94Pg%3D%3D&RelayState=rs_x");
            }
            let resp = req.send().await;
            let status = resp.0.status().as_u16();
            let text = body(resp).await.to_string();
            for b_value in b_ids.values() {
                assert!(
                    !text.contains(b_value.as_str()),
                    "{op_id} returned tenant B's id: {text}"
                );
            }
            assert!(
                !text.contains("client@b.test") && !text.contains("admin@b.test"),
                "{op_id} leaked B's email"
            );
            if has_ids {
                assert_eq!(
                    status, 404,
                    "{op_id} with B's ids must be 404, got {status}: {text}"
                );
            } else {
                assert!(status < 500, "{op_id}: {status} {text}");
            }

            // B's session presented to tenant A: not a session there.
            let mut req = app
                .client
                .request(
                    method,
                    uri.replace(&b_ids["department_id"], &a_ids["department_id"])
                        .replace(&b_ids["person_id"], &a_ids["person_id"])
                        .replace(&b_ids["connection_id"], &a_ids["connection_id"])
                        .replace(&b_ids["batch_id"], &a_ids["batch_id"]),
                )
                .header("X-Tenant", "a")
                .header("Authorization", format!("Bearer {}", b.admin_token))
                .header("If-Match", "\"1\"");
            if let Some(body) = body_for(op_id, a_ids, "scr_none") {
                req = req.body_json(&body);
            }
            let resp = req.send().await;
            let status = resp.0.status().as_u16();
            if op["security"].is_array() {
                assert_eq!(
                    status, 401,
                    "{op_id} accepted tenant B's session in tenant A"
                );
            }
            swept += 1;
        }
    }
    assert!(swept >= 12, "the sweep covered only {swept} operations");

    // Nothing of B changed: its department and person are still at version 1 with their names.
    let r = app
        .get(
            "b",
            Some(&b.admin_token),
            &format!("/api/v1/departments/{}", b_ids["department_id"]),
        )
        .await;
    let d = body(r).await;
    assert_eq!(d["version"], 1, "{d}");
    assert_eq!(d["name"], "Shared Name");
    let r = app
        .get(
            "b",
            Some(&b.admin_token),
            &format!("/api/v1/people/{}", b_ids["person_id"]),
        )
        .await;
    let p = body(r).await;
    assert_eq!(p["version"], 1, "{p}");
    let r = app
        .get("b", Some(&b.admin_token), "/api/v1/departments")
        .await;
    assert_eq!(
        body(r).await["items"].as_array().map(Vec::len),
        Some(1),
        "A created a department in B"
    );
    // B's appointment and series are untouched.
    let r = app
        .get(
            "b",
            Some(&b.admin_token),
            &format!("/api/v1/appointments/{}", b_ids["appointment_id"]),
        )
        .await;
    let appt = body(r).await;
    assert_eq!(appt["version"], 1, "{appt}");
    assert_eq!(appt["status"], "booked");
    let r = app
        .get(
            "b",
            Some(&b.admin_token),
            &format!("/api/v1/appointment-series/{}", b_ids["series_id"]),
        )
        .await;
    assert_eq!(body(r).await["series"]["version"], 1);
    // B's referral too.
    let r = app
        .get(
            "b",
            Some(&b.admin_token),
            &format!("/api/v1/referrals/{}", b_ids["referral_id"]),
        )
        .await;
    let referral = body(r).await;
    assert_eq!(referral["version"], 1, "{referral}");
    assert_eq!(referral["status"], "assigned");
    assert_eq!(referral["history"].as_array().map(Vec::len), Some(1));
}

/// `/me/contact` names no id: a client reaches only their own entry, in their own tenant.
#[tokio::test(flavor = "multi_thread")]
async fn a_clients_own_contact_stays_in_their_tenant() {
    use domain::identity::{Role, RoleGrant};
    let app = TestApp::new().await;
    let mut tokens = Vec::new();
    for (slug, phone) in [("ca", "+1 416 555 0101"), ("cb", "+44 7911 123456")] {
        let t = app.tenant(slug).await;
        // The same address in both tenants.
        let p = app
            .person(&t, "client", "Samename", "same@client.test", None)
            .await;
        let token = app
            .account(
                &t,
                &p,
                &[RoleGrant {
                    role: Role::Client,
                    department_id: None,
                }],
            )
            .await;
        let r = app
            .patch(
                slug,
                &token,
                "/api/v1/me/contact",
                Some("\"1\""),
                json!({"phone": phone, "sms_reminders": true}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 200);
        tokens.push(token);
    }
    let (a, b) = (&tokens[0], &tokens[1]);
    let mine = body(app.get("ca", Some(a), "/api/v1/me/contact").await).await;
    assert_eq!(mine["phone"], "+14165550101", "{mine}");
    // B's client in A: not a session there, for reading and for writing.
    let r = app.get("ca", Some(b), "/api/v1/me/contact").await;
    assert_eq!(r.0.status().as_u16(), 401);
    let r = app
        .patch(
            "ca",
            b,
            "/api/v1/me/contact",
            Some("\"2\""),
            json!({"phone": null, "sms_reminders": false}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 401);
    let theirs = body(app.get("cb", Some(b), "/api/v1/me/contact").await).await;
    assert_eq!(theirs["phone"], "+447911123456", "{theirs}");
    let mine = body(app.get("ca", Some(a), "/api/v1/me/contact").await).await;
    assert_eq!(
        (mine["phone"].as_str(), mine["version"].as_i64()),
        (Some("+14165550101"), Some(2))
    );
}

/// `GET /break-glass?all=true` names no id: an admin lists their own tenant's grants only.
#[tokio::test(flavor = "multi_thread")]
async fn break_glass_lists_stay_in_their_tenant() {
    let app = TestApp::new().await;
    let mut grants = Vec::new();
    let mut admins = Vec::new();
    for slug in ["ga", "gb"] {
        let t = app.tenant(slug).await;
        let c = app
            .person(&t, "client", "Samename", "same@grant.test", None)
            .await;
        let r = app
            .post(
                slug,
                Some(&t.admin_token),
                "/api/v1/break-glass",
                json!({"client_id": c["id"], "reason_code": "emergency", "reason": "isolation: a stated reason"}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201);
        grants.push(body(r).await["id"].as_str().expect("id").to_owned());
        admins.push(t.admin_token.clone());
    }
    for (i, slug) in ["ga", "gb"].into_iter().enumerate() {
        let r = app
            .get(slug, Some(&admins[i]), "/api/v1/break-glass?all=true")
            .await;
        let text = body(r).await.to_string();
        assert!(text.contains(&grants[i]), "{text}");
        assert!(
            !text.contains(&grants[1 - i]),
            "{slug} listed the other tenant's grant"
        );
        // The other tenant's admin here: not a session.
        let r = app
            .get(slug, Some(&admins[1 - i]), "/api/v1/break-glass?all=true")
            .await;
        assert_eq!(r.0.status().as_u16(), 401);
    }
}
