//! User and group bodies checked against the `User` and `Group` schemas of
//! Okta's OpenAPI spec, loaded at run time.
//!
//! The checker covers what the bodies can get wrong: `$ref`, `allOf`,
//! `anyOf`/`oneOf`, `type` (with `nullable`), `required`, `properties`,
//! `additionalProperties: false`, `items`, `enum`, `minLength`/`maxLength`
//! and the `date-time` format.
//!
//! One deviation is allowed: the spec types a group's `profile.description`
//! as a non-nullable string, but Okta's recorded responses send `null` for a
//! group without a description, and the fake does the same.

mod common;

use std::sync::OnceLock;

use common::{reference_dir, Harness};
use fake_okta::generate::{generate_org, GenerateOptions};
use serde_json::Value;

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = reference_dir().join("openapi/management-minimal.yaml");
        let text = std::fs::read_to_string(&path).expect("OpenAPI spec readable");
        serde_yaml_ng::from_str(&text).expect("OpenAPI spec is YAML")
    })
}

fn schema(name: &str) -> &'static Value {
    &spec()["components"]["schemas"][name]
}

/// Resolves a local `$ref` such as `#/components/schemas/User`.
fn resolve(reference: &str) -> &'static Value {
    let pointer = reference.trim_start_matches('#');
    spec()
        .pointer(pointer)
        .unwrap_or_else(|| panic!("unresolved $ref {reference}"))
}

/// Checks `value` against `schema`, collecting `path: problem` lines.
fn check(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        return check(resolve(reference), value, path, problems);
    }
    if value.is_null() && (schema["nullable"] == true || is_recorded_null(path)) {
        return;
    }
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            check(part, value, path, problems);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits = options.iter().any(|option| {
                let mut scratch = Vec::new();
                check(option, value, path, &mut scratch);
                scratch.is_empty()
            });
            if !fits {
                problems.push(format!("{path}: matches none of {key}"));
            }
        }
    }
    check_type(schema, value, path, problems);
    check_enum_and_length(schema, value, path, problems);
    match value {
        Value::Object(object) => check_object(schema, object, path, problems),
        Value::Array(items) if !schema["items"].is_null() => {
            for (index, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{index}]");
                check(&schema["items"], item, &item_path, problems);
            }
        }
        _ => {}
    }
}

/// Returns whether Okta's recorded responses send `null` at this path although the
/// spec does not allow it (see the module docs).
fn is_recorded_null(path: &str) -> bool {
    path.ends_with(".profile.description")
}

fn check_type(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(expected) = schema["type"].as_str() else {
        return;
    };
    let fits = match expected {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !fits {
        problems.push(format!("{path}: {value} is not of type {expected}"));
    }
    if schema["format"] == "date-time" {
        if let Some(text) = value.as_str() {
            if chrono::DateTime::parse_from_rfc3339(text).is_err() {
                problems.push(format!("{path}: {text:?} is not a date-time"));
            }
        }
    }
}

fn check_enum_and_length(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            problems.push(format!("{path}: {value} is not one of {allowed:?}"));
        }
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|min| length < min) {
            problems.push(format!("{path}: {text:?} is shorter than minLength"));
        }
        if schema["maxLength"].as_u64().is_some_and(|max| length > max) {
            problems.push(format!("{path}: {text:?} is longer than maxLength"));
        }
    }
}

fn check_object(
    schema: &Value,
    object: &serde_json::Map<String, Value>,
    path: &str,
    problems: &mut Vec<String>,
) {
    if let Some(required) = schema["required"].as_array() {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                problems.push(format!("{path}: required {name} is missing"));
            }
        }
    }
    let properties = schema["properties"].as_object();
    for (name, field) in object {
        match properties.and_then(|properties| properties.get(name)) {
            Some(property) => check(property, field, &format!("{path}.{name}"), problems),
            None if schema["additionalProperties"] == false => {
                problems.push(format!("{path}: {name} is not allowed"));
            }
            None => {}
        }
    }
}

fn problems_of(schema_name: &str, bodies: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, body) in bodies.iter().enumerate() {
        check(
            schema(schema_name),
            body,
            &format!("{schema_name}[{index}]"),
            &mut problems,
        );
    }
    problems
}

async fn harness() -> Harness {
    Harness::with_org(generate_org(&GenerateOptions::new(400, 80, 31))).await
}

fn array(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn listed_users_fit_user_schema() {
    let harness = harness().await;
    let users = array(
        &harness
            .get("/api/v1/users?search=id%20pr&limit=200")
            .await
            .body,
    );
    assert_eq!(users.len(), 200);
    let problems = problems_of("User", &users);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn single_users_fit_user_schema() {
    let harness = harness().await;
    let ids: Vec<String> = {
        let org = harness.fake.org_handle();
        let org = org.read();
        let mut seen = std::collections::HashSet::new();
        org.users_after(None)
            .filter(|user| seen.insert(user.status().to_owned()))
            .map(|user| user.id().to_owned())
            .collect()
    };
    assert!(ids.len() >= 6, "one user per status");
    let mut bodies = Vec::new();
    for id in ids {
        bodies.push(harness.get(&format!("/api/v1/users/{id}")).await.body);
    }
    let problems = problems_of("UserGetSingleton", &bodies);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn groups_fit_group_schema() {
    let harness = harness().await;
    let groups = array(&harness.get("/api/v1/groups?expand=stats").await.body);
    assert!(groups.iter().any(|group| group["type"] == "APP_GROUP"));
    assert!(groups.iter().any(|group| group["type"] == "BUILT_IN"));
    let problems = problems_of("Group", &groups);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn checker_finds_wrong_types() {
    let bad = serde_json::json!({"id": 5, "status": "HAPPY", "created": "yesterday"});
    let problems = problems_of("User", &[bad]);
    assert_eq!(problems.len(), 3, "{problems:?}");
}
