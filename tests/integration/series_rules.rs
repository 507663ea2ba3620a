//! Recurring series beyond "weekly with a count" (what the web's series form writes now):
//! monthly by weekday, every N months, and ending on a date (`UNTIL`, a UTC instant: the end of
//! the last day in the provider's zone). Rules that would make an empty or surprising series
//! are refused with a 422 naming the field, and book nothing.

use serde_json::json;

use crate::scheduling::calendar;
use crate::support::{TestApp, body, problem};

#[tokio::test(flavor = "multi_thread")]
async fn monthly_and_until_series_book_in_the_providers_zone_and_bad_rules_book_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant("rules").await;
    let cal = calendar(&app, &t, "r", "America/Toronto").await;
    let create = async |first: &str, rrule: &str| {
        app.post(
            "rules",
            Some(&cal.provider_token),
            "/api/v1/appointment-series",
            json!({"provider_id": cal.provider, "client_id": cal.client, "type_id": cal.type_id,
                   "first_start": first, "rrule": rrule}),
        )
        .await
    };
    let booked = async || {
        let r = app
            .get(
                "rules",
                Some(&t.admin_token),
                &format!("/api/v1/appointments?provider={}&limit=200", cal.provider),
            )
            .await;
        body(r).await["items"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(99)
    };

    // Refused, naming the field; nothing booked.
    for (first, rrule, field, says) in [
        (
            "2027-03-01T10:00:00",
            "FREQ=WEEKLY;INTERVAL=0;COUNT=3",
            "/rrule",
            "INTERVAL",
        ),
        (
            "2027-03-01T10:00:00",
            "FREQ=WEEKLY;COUNT=3;UNTIL=20270330T035959Z",
            "/rrule",
            "not both",
        ),
        (
            "2027-03-01T10:00:00",
            "FREQ=WEEKLY;UNTIL=20270329T235959",
            "/rrule",
            "UTC",
        ),
        (
            "2027-03-01T10:00:00",
            "FREQ=WEEKLY;UNTIL=20270329",
            "/rrule",
            "UTC",
        ),
        (
            "2027-03-01T10:00:00",
            "FREQ=WEEKLY;UNTIL=20270201T000000Z",
            "/rrule",
            "before the first start",
        ),
        (
            "2027-03-01T10:00:00",
            "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270305T000000Z",
            "/rrule",
            "no occurrence",
        ),
        (
            "2027-03-01T10:00:00",
            "FREQ=MONTHLY;COUNT=3",
            "/rrule",
            "by weekday",
        ),
        // 1 March 2027 is a Monday, not a second Tuesday.
        (
            "2027-03-01T10:00:00",
            "FREQ=MONTHLY;BYDAY=2TU;COUNT=3",
            "/first_start",
            "2027-03-09 10:00",
        ),
    ] {
        let p = problem(create(first, rrule).await, 422).await;
        assert_eq!(p["errors"][0]["field"], field, "{rrule}: {p}");
        let message = p["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{rrule}: {message}");
    }
    assert_eq!(booked().await, 0, "a refused rule books nothing");

    // Every other month on the second Tuesday, three times, at 10:00 Toronto time.
    let r = create(
        "2027-03-09T10:00:00",
        "FREQ=MONTHLY;BYDAY=2TU;INTERVAL=2;COUNT=3",
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let s = body(r).await;
    let starts: Vec<&str> = s["appointments"]
        .as_array()
        .expect("appointments")
        .iter()
        .map(|a| a["starts_at"].as_str().unwrap_or_default())
        .collect();
    // EST (−5) in March, EDT (−4) from mid-March: 10:00 local each time.
    assert_eq!(
        starts.iter().map(|x| &x[..16]).collect::<Vec<_>>(),
        ["2027-03-09T15:00", "2027-05-11T14:00", "2027-07-13T14:00"],
        "{s}"
    );
    assert_eq!(
        s["series"]["rrule"],
        "FREQ=MONTHLY;BYDAY=2TU;INTERVAL=2;COUNT=3"
    );

    // Weekly until the end of Monday 29 March in Toronto (03:59:59 UTC on the 30th, EDT):
    // the 29th is the last occurrence; a day earlier would have ended on the 22nd.
    let r = create("2027-03-01T11:00:00", "FREQ=WEEKLY;UNTIL=20270330T035959Z").await;
    assert_eq!(r.0.status().as_u16(), 201);
    let s = body(r).await;
    let starts: Vec<&str> = s["appointments"]
        .as_array()
        .expect("appointments")
        .iter()
        .map(|a| a["starts_at"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(starts.len(), 5, "{s}");
    assert!(starts[4].starts_with("2027-03-29T15:00"), "{starts:?}");
    assert_eq!(booked().await, 8);
}
