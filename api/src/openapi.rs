//! The spec as an artifact: generated from the code, committed under `openapi/`, checked by a
//! test (`SWIFTACARE_UPDATE_OPENAPI=1` rewrites it). The web app's client and the SDKs are
//! generated from the committed file.

use serde_json::{Value, json};

use crate::app::{API_PREFIX, api_service};

/// Where the committed spec lives, relative to the workspace root.
pub const COMMITTED_PATH: &str = "openapi/swiftacare.json";
/// The platform operators' spec (`/platform/v1`).
pub const COMMITTED_PLATFORM_PATH: &str = "openapi/platform.json";

/// The platform operators' spec as JSON text.
pub fn platform_spec_json() -> String {
    let raw = crate::platform::platform_service().spec();
    match serde_json::from_str::<Value>(&raw) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or(raw) + "\n",
        Err(_) => raw,
    }
}

/// The spec as JSON text, with the tenant header declared on every operation.
///
/// poem-openapi has no notion of a parameter added by middleware, so the `X-Tenant` header
/// (read by the tenant router for every `/api/v1` request) is added here, as a shared
/// component referenced by each operation. SDK generators then expose it.
pub fn spec_json() -> String {
    let raw = api_service(API_PREFIX).spec();
    let mut spec: Value = match serde_json::from_str(&raw) {
        Ok(v) => v,
        Err(_) => return raw,
    };
    spec["components"]["parameters"]["XTenant"] = json!({
        "name": "X-Tenant",
        "in": "header",
        "required": false,
        "description": "The tenant (organisation) slug. Required unless the host is <slug>.<base domain>.",
        "schema": { "type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" }
    });
    if let Some(paths) = spec["paths"].as_object_mut() {
        for item in paths.values_mut() {
            if let Some(ops) = item.as_object_mut() {
                for op in ops.values_mut() {
                    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                        params.insert(0, json!({ "$ref": "#/components/parameters/XTenant" }));
                    } else if op.is_object() {
                        op["parameters"] = json!([{ "$ref": "#/components/parameters/XTenant" }]);
                    }
                }
            }
        }
    }
    serde_json::to_string_pretty(&spec).unwrap_or(raw) + "\n"
}
