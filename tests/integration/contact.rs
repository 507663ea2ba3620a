//! A client's own contact preferences (`GET/PATCH /me/contact`): the phone number and consent
//! to text-message reminders on their directory entry, with the directory's rules and error
//! shapes, only for clients, audited; and a withdrawal that stops texts not yet sent.

use std::sync::Arc;

use domain::identity::{Role, RoleGrant};
use serde_json::{Value, json};

use crate::jobs::{all_due, field_errors, reminder_log, runner, sms_gateway};
use crate::scheduling::{at, book_as, calendar, etag_of};
use crate::support::{TestApp, body, problem};

const ME: &str = "/api/v1/me/contact";
const SECRET: &str = "a-gateway-secret-of-at-least-32-chars";

#[tokio::test(flavor = "multi_thread")]
async fn a_client_reads_and_changes_their_own_phone_and_consent() {
    let app = TestApp::new().await;
    let t = app.tenant("contact").await;
    let slug = "contact";
    let cal = calendar(&app, &t, "c", "UTC").await;
    let client = cal.client_token.clone();

    let r = app.get(slug, Some(&client), ME).await;
    assert_eq!(r.0.status().as_u16(), 200);
    let tag = etag_of(&r);
    let c = body(r).await;
    assert_eq!(c["sms_reminders"], false);
    assert!(c.get("phone").is_none(), "{c}");
    assert_eq!(tag, format!("\"{}\"", c["version"]));

    // If-Match is required; bad input names its field and changes nothing.
    problem(
        app.patch(slug, &client, ME, None, json!({"sms_reminders": false}))
            .await,
        428,
    )
    .await;
    for (patch, field) in [
        (json!({"phone": "416 555 0123"}), "/phone"),
        (json!({"phone": "+1 416"}), "/phone"),
        (json!({"sms_reminders": true}), "/sms_reminders"),
        (
            json!({"phone": null, "sms_reminders": true}),
            "/sms_reminders",
        ),
    ] {
        let r = app
            .patch(slug, &client, ME, Some(&tag), patch.clone())
            .await;
        assert_eq!(field_errors(r).await, vec![field.to_owned()], "{patch}");
    }
    let r = app
        .patch(slug, &client, ME, Some(&tag), json!({"phone": 416}))
        .await;
    assert_eq!(
        field_errors(r).await,
        vec!["/phone".to_owned()],
        "not a string"
    );
    let unchanged = app.get(slug, Some(&client), ME).await;
    assert_eq!(etag_of(&unchanged), tag, "nothing written");

    // Number and consent together; kept in E.164 on the directory entry staff read.
    let r = app
        .patch(
            slug,
            &client,
            ME,
            Some(&tag),
            json!({"phone": "+1 (416) 555-0123", "sms_reminders": true}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let tag2 = etag_of(&r);
    assert_ne!(tag2, tag);
    let c = body(r).await;
    assert_eq!(
        (c["phone"].as_str(), c["sms_reminders"].as_bool()),
        (Some("+14165550123"), Some(true))
    );
    let entry = body(
        app.get(
            slug,
            Some(&t.admin_token),
            &format!("/api/v1/people/{}", cal.client),
        )
        .await,
    )
    .await;
    assert_eq!(entry["phone"], "+14165550123");
    assert_eq!(entry["sms_reminders"], true);

    // A stale version is refused; removing the number while consent stands is refused.
    problem(
        app.patch(
            slug,
            &client,
            ME,
            Some(&tag),
            json!({"sms_reminders": false}),
        )
        .await,
        412,
    )
    .await;
    let r = app
        .patch(slug, &client, ME, Some(&tag2), json!({"phone": null}))
        .await;
    assert_eq!(field_errors(r).await, vec!["/sms_reminders".to_owned()]);
    // Withdrawing and removing in one request is fine.
    let r = app
        .patch(
            slug,
            &client,
            ME,
            Some(&tag2),
            json!({"phone": null, "sms_reminders": false}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let c = body(r).await;
    assert!(
        c.get("phone").is_none() && c["sms_reminders"] == false,
        "{c}"
    );

    // Only clients: everyone else is refused, whatever they send.
    let staff_person = app
        .person(&t, "staff", "Desk", "desk@contact.test", None)
        .await;
    let staff = app
        .account(
            &t,
            &staff_person,
            &[RoleGrant {
                role: Role::Staff,
                department_id: None,
            }],
        )
        .await;
    for token in [&t.admin_token, &cal.provider_token, &staff] {
        problem(app.get(slug, Some(token), ME).await, 403).await;
        problem(
            app.patch(
                slug,
                token,
                ME,
                Some("\"1\""),
                json!({"phone": "+1 416 555 0199"}),
            )
            .await,
            403,
        )
        .await;
        problem(app.get(slug, None, ME).await, 401).await;
    }

    // Audited: reads and changes name the client; refusals are denied; never the number.
    let audit = body(
        app.get(
            slug,
            Some(&t.admin_token),
            "/api/v1/audit-events?action=contact.",
        )
        .await,
    )
    .await;
    let events: Vec<&Value> = audit["items"].as_array().expect("items").iter().collect();
    let of = |action: &str, outcome: &str| {
        events
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .count()
    };
    assert_eq!(of("contact.read", "success"), 2, "{audit}");
    assert_eq!(of("contact.update", "success"), 2, "{audit}");
    assert_eq!(of("contact.read", "denied"), 3, "{audit}");
    assert_eq!(of("contact.update", "denied"), 3, "{audit}");
    let granted = events
        .iter()
        .find(|e| e["action"] == "contact.update" && e["details"]["sms_reminders"] == true)
        .expect("consent given");
    assert_eq!(granted["subjects"], json!([cal.client]));
    assert_eq!(granted["details"]["phone_changed"], true);
    for number in ["+14165550123", "(416) 555"] {
        assert!(
            !audit.to_string().contains(number),
            "{number} in the audit log"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_consent_stops_texts_not_yet_sent() {
    use swiftacare_api::jobs::sms::WebhookSms;
    let signer = Arc::new(domain::identity::tokens::TokenSigner::new(&[7u8; 32]).expect("signer"));
    let app = TestApp::with(|s| s.signer = signer.clone()).await;
    let t = app.tenant("optout").await;
    let slug = "optout";
    let cal = calendar(&app, &t, "o", "UTC").await;
    let (url, seen) = sms_gateway().await;
    let policy = "/api/v1/scheduling/policy";
    let tag = etag_of(&app.get(slug, Some(&t.admin_token), policy).await);
    let r = app
        .patch(
            slug,
            &t.admin_token,
            policy,
            Some(&tag),
            json!({"reminder_channels": ["email", "sms"], "reminder_offsets_minutes": [120],
                   "sms_webhook_url": url, "sms_webhook_secret": SECRET}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);

    // The client agrees, and is booked while they agree: the reminders are queued.
    let client = cal.client_token.clone();
    let tag = etag_of(&app.get(slug, Some(&client), ME).await);
    let r = app
        .patch(
            slug,
            &client,
            ME,
            Some(&tag),
            json!({"phone": "+44 7911 123456", "sms_reminders": true}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let tag = etag_of(&r);
    let book = async |days: i64| {
        let r = book_as(
            &app,
            slug,
            &t.admin_token,
            &cal.provider,
            Some(&cal.client),
            &cal.type_id,
            at(days, 600),
        )
        .await;
        assert_eq!(r.0.status().as_u16(), 201);
        body(r).await["id"].as_str().expect("id").to_owned()
    };
    let first = book(4).await;

    // They withdraw before the reminder is due: no text leaves, the e-mail still does.
    let r = app
        .patch(
            slug,
            &client,
            ME,
            Some(&tag),
            json!({"sms_reminders": false}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let tag = etag_of(&r);
    all_due(&app).await;
    let texting = runner(&app).with_sms(Arc::new(WebhookSms::new(signer.clone(), true)));
    assert_eq!(texting.poll_once(100).await.expect("poll"), 2);
    assert!(
        seen.lock().expect("lock").is_empty(),
        "no text after withdrawal"
    );
    let log = reminder_log(&app, &t, &first).await;
    assert!(
        log.contains(&("skipped".into(), Some("no_consent".into()))),
        "{log:?}"
    );
    assert_eq!(
        log.iter().filter(|(s, _)| s == "sent").count(),
        1,
        "{log:?}"
    );

    // Given again: the next reminder is texted (so the silence above was the withdrawal).
    let r = app
        .patch(
            slug,
            &client,
            ME,
            Some(&tag),
            json!({"sms_reminders": true}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let second = book(5).await;
    all_due(&app).await;
    assert_eq!(texting.poll_once(100).await.expect("poll"), 2);
    let got = seen.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "one text");
    assert_eq!(got[0].2["to"], "+447911123456");
    let log = reminder_log(&app, &t, &second).await;
    assert_eq!(
        log.iter().filter(|(s, _)| s == "sent").count(),
        2,
        "{log:?}"
    );
}
