//! The committed spec is the code's spec. `SWIFTACARE_UPDATE_OPENAPI=1 cargo nextest run spec`
//! rewrites it (then commit it, and regenerate the web client).

use std::path::PathBuf;

#[test]
fn committed_openapi_matches_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(swiftacare_api::openapi::COMMITTED_PATH);
    let generated = swiftacare_api::openapi::spec_json();
    if std::env::var("SWIFTACARE_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write spec");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/swiftacare.json differs from the code's spec; rerun with SWIFTACARE_UPDATE_OPENAPI=1 and commit it"
    );
}

#[test]
fn committed_platform_openapi_matches_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(swiftacare_api::openapi::COMMITTED_PLATFORM_PATH);
    let generated = swiftacare_api::openapi::platform_spec_json();
    if std::env::var("SWIFTACARE_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write spec");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/platform.json differs from the code's spec; rerun with SWIFTACARE_UPDATE_OPENAPI=1"
    );
}

#[test]
fn every_operation_has_an_id_and_problem_responses() {
    let spec: serde_json::Value =
        serde_json::from_str(&swiftacare_api::openapi::spec_json()).expect("json");
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("ops") {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            // The OAuth2 token endpoint answers RFC 6749 errors, which OAuth clients expect.
            if op["operationId"] == "issueClientToken" {
                continue;
            }
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses
                    .get("500")
                    .is_some_and(|r| r["content"]["application/problem+json"].is_object()),
                "{method} {path} does not document problem+json errors"
            );
        }
    }
}
