//! Names the fields of a JSON body that poem-openapi could not parse.
//!
//! poem-openapi reports the first failure without the field's name ("Expected input type
//! "string", found null"). When an operation answers such a 400, this middleware checks the
//! body it kept against the operation's request schema in our own spec and lists every
//! offending field (missing, wrong type, unknown enum value, malformed UUID, too long) in the
//! problem's `errors`, so callers see what to fix without reading our source.

use std::collections::HashMap;
use std::sync::OnceLock;

use poem::http::StatusCode;
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response};
use serde_json::{Value, json};

pub struct JsonDiagnostics;

impl<E: Endpoint> Middleware<E> for JsonDiagnostics {
    type Output = JsonDiagnosticsEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        JsonDiagnosticsEndpoint(ep)
    }
}

pub struct JsonDiagnosticsEndpoint<E>(E);

/// Request body schema per operation id, resolved once from the generated spec.
fn schemas() -> &'static (HashMap<String, Value>, Value) {
    static SCHEMAS: OnceLock<(HashMap<String, Value>, Value)> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let spec: Value = serde_json::from_str(&crate::openapi::spec_json()).unwrap_or(Value::Null);
        let mut by_op = HashMap::new();
        for item in spec["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
        {
            for op in item.as_object().into_iter().flat_map(|o| o.values()) {
                let schema =
                    &op["requestBody"]["content"]["application/json; charset=utf-8"]["schema"];
                let schema = if schema.is_null() {
                    &op["requestBody"]["content"]["application/json"]["schema"]
                } else {
                    schema
                };
                if let (Some(id), false) = (op["operationId"].as_str(), schema.is_null()) {
                    by_op.insert(id.to_owned(), schema.clone());
                }
            }
        }
        (by_op, spec["components"]["schemas"].clone())
    })
}

fn resolve<'a>(schema: &'a Value, components: &'a Value) -> &'a Value {
    match schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        Some(name) => &components[name],
        None => match schema["allOf"].as_array().and_then(|a| a.first()) {
            Some(first) => resolve(first, components),
            None => schema,
        },
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Field-level problems of `body` against an object schema, as (JSON pointer, message).
pub fn field_errors(body: &Value, schema: &Value, components: &Value) -> Vec<(String, String)> {
    let schema = resolve(schema, components);
    let Some(obj) = body.as_object() else {
        return vec![(
            "/".into(),
            format!("must be a JSON object, found {}", type_name(body)),
        )];
    };
    let mut errors = Vec::new();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
        let pointer = format!("/{name}");
        let value = obj.get(name);
        let prop = resolve(prop, components);
        match value {
            None | Some(Value::Null) if required.contains(&name.as_str()) => {
                errors.push((pointer, "is required".into()))
            }
            None | Some(Value::Null) => {}
            Some(v) => {
                if let Some(allowed) = prop["enum"].as_array() {
                    if !allowed.contains(v) {
                        let names: Vec<String> = allowed
                            .iter()
                            .filter_map(|a| a.as_str().map(str::to_owned))
                            .collect();
                        errors.push((
                            pointer,
                            format!("must be one of: {} (got {v})", names.join(", ")),
                        ));
                    }
                    continue;
                }
                let expected = prop["type"].as_str().unwrap_or("");
                let actual = type_name(v);
                let type_ok = expected.is_empty()
                    || expected == actual
                    || (expected == "number" && actual == "integer");
                if !type_ok {
                    errors.push((pointer, format!("must be {expected}, found {actual}")));
                    continue;
                }
                if let Value::String(s) = v {
                    if prop["format"] == "uuid" && uuid::Uuid::parse_str(s).is_err() {
                        errors.push((pointer, "must be a UUID".into()));
                    } else if let Some(max) = prop["maxLength"].as_u64()
                        && s.chars().count() as u64 > max
                    {
                        errors.push((pointer, format!("must be at most {max} characters")));
                    }
                }
            }
        }
    }
    errors
}

impl<E: Endpoint> Endpoint for JsonDiagnosticsEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let is_json = req
            .content_type()
            .is_some_and(|c| c.starts_with("application/json"));
        let kept = if is_json {
            let bytes = req.take_body().into_bytes().await?;
            req.set_body(Body::from(bytes.clone()));
            Some(bytes)
        } else {
            None
        };
        // poem-openapi returns its parse failures as an error carrying the rendered response.
        let (resp, op) = match self.0.call(req).await {
            Ok(r) => {
                let r = r.into_response();
                let op = r.data::<poem_openapi::OperationId>().map(|o| o.0);
                (r, op)
            }
            Err(e) if is_json && e.status() == StatusCode::BAD_REQUEST => {
                let op = e.data::<poem_openapi::OperationId>().map(|o| o.0);
                (crate::problem::render_poem_error(e), op)
            }
            Err(e) => return Err(e),
        };
        let Some(bytes) = kept.filter(|_| resp.status() == StatusCode::BAD_REQUEST) else {
            return Ok(resp);
        };
        let Some(op) = op else {
            return Ok(resp);
        };
        let (by_op, components) = schemas();
        let (Some(schema), Ok(body)) = (by_op.get(op), serde_json::from_slice::<Value>(&bytes))
        else {
            return Ok(resp);
        };
        let errors = field_errors(&body, schema, components);
        if errors.is_empty() {
            return Ok(resp);
        }
        let (parts, old_body) = resp.into_parts();
        let mut problem: Value =
            serde_json::from_slice(&old_body.into_bytes().await?).unwrap_or_else(|_| json!({}));
        problem["detail"] = json!(
            errors
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
        problem["errors"] = json!(
            errors
                .iter()
                .map(|(f, m)| json!({"field": f, "message": m}))
                .collect::<Vec<_>>()
        );
        let mut resp = Response::from_parts(
            parts,
            Body::from(serde_json::to_vec(&problem).unwrap_or_default()),
        );
        resp.headers_mut().remove("content-length");
        resp.set_data(poem_openapi::OperationId(op));
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_bad_field() {
        let (by_op, components) = schemas();
        let schema = by_op.get("createPerson").expect("createPerson has a body");
        let errs = field_errors(
            &json!({"kind": "alien", "given_name": 3, "email": null, "department_id": "x"}),
            schema,
            components,
        );
        let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            vec!["/department_id", "/family_name", "/given_name", "/kind"],
            "{errs:?}"
        );
        assert!(
            field_errors(&json!([1]), schema, components)[0]
                .1
                .contains("JSON object")
        );
    }
}
