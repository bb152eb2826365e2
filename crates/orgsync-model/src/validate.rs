//! Backstage's validation rules for `User` and `Group` entities.
//!
//! The checks mirror `@backstage/catalog-model` 1.10: the field formats of
//! `FieldFormatEntityPolicy` (apiVersion, kind, name, namespace, label and
//! annotation keys and values), the envelope schema of
//! `SchemaValidEntityPolicy` (`Entity.schema.json`, `EntityMeta.schema.json`),
//! the root fields allowed by `NoForeignRootFieldsEntityPolicy`, and the kind
//! schemas `User.v1alpha1.schema.json` and `Group.v1alpha1.schema.json`.
//! One check is orgsync's own: the `backstage.io/managed-by-location`
//! annotations must be location refs (`type:target`), as the catalog parses
//! them.

use serde_json::{Map, Value};
use thiserror::Error;

use crate::annotations::{MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN_LOCATION};
use crate::names::MAX_NAME_LEN;
use crate::Entity;

/// The `apiVersion` values Backstage accepts for `User` and `Group`.
const API_VERSIONS: [&str; 2] = ["backstage.io/v1alpha1", "backstage.io/v1beta1"];

/// The maximum length of a DNS subdomain (annotation and label key prefix).
const MAX_SUBDOMAIN_LEN: usize = 253;

/// One way an entity breaks Backstage's rules. Each variant names the field
/// and the value at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// The kind is neither `User` nor `Group`.
    #[error("kind {kind:?} is not supported: orgsync writes only \"User\" and \"Group\" entities")]
    UnsupportedKind { kind: String },

    /// The apiVersion is not one Backstage accepts for the kind.
    #[error(
        "apiVersion {value:?} is invalid for kind {kind}: use \"backstage.io/v1alpha1\" or \"backstage.io/v1beta1\""
    )]
    ApiVersion { kind: String, value: String },

    /// The name breaks Backstage's name rules.
    #[error(
        "metadata.name {value:?} is invalid: use 1-63 characters of [a-zA-Z0-9] separated by single [-_.]"
    )]
    Name { value: String },

    /// The namespace is not a DNS label.
    #[error(
        "metadata.namespace {value:?} is invalid: use 1-63 characters of [a-z0-9] separated by single dashes"
    )]
    Namespace { value: String },

    /// An annotation key is not `[prefix/]name`.
    #[error(
        "annotation key {key:?} is invalid: use an optional DNS subdomain and '/' followed by 1-63 characters of [a-zA-Z0-9] separated by [-_.]"
    )]
    AnnotationKey { key: String },

    /// A label key is not `[prefix/]name`.
    #[error(
        "label key {key:?} is invalid: use an optional DNS subdomain and '/' followed by 1-63 characters of [a-zA-Z0-9] separated by [-_.]"
    )]
    LabelKey { key: String },

    /// A label value is neither empty nor a valid name.
    #[error(
        "label {key:?} has invalid value {value:?}: use an empty string or 1-63 characters of [a-zA-Z0-9] separated by [-_.]"
    )]
    LabelValue { key: String, value: String },

    /// A `backstage.io/managed-by-*` annotation is not a location ref.
    #[error("annotation {key:?} has value {value:?}, which is not a location ref: use \"<type>:<target>\", such as \"okta:<provider id>\"")]
    LocationRef { key: String, value: String },

    /// A required field is absent.
    #[error("{field} is missing: Backstage requires it on {kind} entities")]
    Missing { kind: String, field: String },

    /// A field has the wrong JSON type.
    #[error("{field} is {found}, expected {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },

    /// A string field that must not be empty is empty.
    #[error("{field} is an empty string: set a value or leave the field out")]
    Empty { field: String },

    /// The entity carries relations, which only the catalog may derive.
    #[error("relations are set ({count} of them): they are derived by the catalog, remove them before storing")]
    Relations { count: usize },
}

/// Checks an entity against Backstage's rules for `User` and `Group`.
/// Returns every problem found, not only the first.
pub fn validate_entity(entity: &Entity) -> Result<(), Vec<ValidationError>> {
    let mut errors = Vec::new();

    let kind = entity.kind.as_str();
    if kind != "User" && kind != "Group" {
        errors.push(ValidationError::UnsupportedKind {
            kind: kind.to_string(),
        });
    } else if !API_VERSIONS.contains(&entity.api_version.as_str()) {
        errors.push(ValidationError::ApiVersion {
            kind: kind.to_string(),
            value: entity.api_version.clone(),
        });
    }

    if !entity.relations.is_empty() {
        errors.push(ValidationError::Relations {
            count: entity.relations.len(),
        });
    }

    check_metadata(entity, &mut errors);
    match kind {
        "User" => check_user_spec(&entity.spec, &mut errors),
        "Group" => check_group_spec(&entity.spec, &mut errors),
        _ => {}
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Returns whether `name` is a valid `metadata.name` (Backstage's
/// `isValidObjectName`).
pub fn is_valid_entity_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    bytes.len() <= MAX_NAME_LEN
        && first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Returns whether `key` is a valid annotation or label key: a name,
/// optionally after a DNS subdomain and `/`.
pub fn is_valid_annotation_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        [name] => is_valid_entity_name(name),
        [prefix, name] => is_valid_dns_subdomain(prefix) && is_valid_entity_name(name),
        _ => false,
    }
}

/// Returns whether `value` is a DNS label: 1-63 characters, `[a-z0-9]`
/// runs joined by single dashes.
pub fn is_valid_dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value.split('-').all(|run| {
            !run.is_empty()
                && run
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn is_valid_dns_subdomain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_SUBDOMAIN_LEN
        && value.split('.').all(is_valid_dns_label)
}

fn check_metadata(entity: &Entity, errors: &mut Vec<ValidationError>) {
    let metadata = &entity.metadata;
    if !is_valid_entity_name(&metadata.name) {
        errors.push(ValidationError::Name {
            value: metadata.name.clone(),
        });
    }
    if !is_valid_dns_label(&metadata.namespace) {
        errors.push(ValidationError::Namespace {
            value: metadata.namespace.clone(),
        });
    }

    let optional_strings = [
        ("metadata.title", &metadata.title),
        ("metadata.uid", &metadata.uid),
        ("metadata.etag", &metadata.etag),
    ];
    for (field, value) in optional_strings {
        if value.as_deref() == Some("") {
            errors.push(ValidationError::Empty {
                field: field.to_string(),
            });
        }
    }

    check_annotations(entity, errors);
    check_labels(entity, errors);
}

fn check_annotations(entity: &Entity, errors: &mut Vec<ValidationError>) {
    for (key, value) in &entity.metadata.annotations {
        if !is_valid_annotation_key(key) {
            errors.push(ValidationError::AnnotationKey { key: key.clone() });
        }
        let is_location = key == MANAGED_BY_LOCATION || key == MANAGED_BY_ORIGIN_LOCATION;
        if is_location && !is_location_ref(value) {
            errors.push(ValidationError::LocationRef {
                key: key.clone(),
                value: value.clone(),
            });
        }
    }
}

fn check_labels(entity: &Entity, errors: &mut Vec<ValidationError>) {
    for (key, value) in &entity.metadata.labels {
        if !is_valid_annotation_key(key) {
            errors.push(ValidationError::LabelKey { key: key.clone() });
        }
        if !value.is_empty() && !is_valid_entity_name(value) {
            errors.push(ValidationError::LabelValue {
                key: key.clone(),
                value: value.clone(),
            });
        }
    }
}

/// Returns whether `value` is `type:target` with both parts non-blank, as
/// Backstage's `parseLocationRef` requires.
fn is_location_ref(value: &str) -> bool {
    match value.split_once(':') {
        Some((kind, target)) => !kind.trim().is_empty() && !target.trim().is_empty(),
        None => false,
    }
}

fn check_user_spec(spec: &Value, errors: &mut Vec<ValidationError>) {
    let Some(spec) = spec_object("User", spec, errors) else {
        return;
    };
    check_profile(spec, errors);
    check_ref_list(spec, "memberOf", Some("User"), errors);
    check_ref_list(spec, "leaderOf", None, errors);
}

fn check_group_spec(spec: &Value, errors: &mut Vec<ValidationError>) {
    let Some(spec) = spec_object("Group", spec, errors) else {
        return;
    };
    match spec.get("type") {
        None => errors.push(missing("Group", "spec.type")),
        Some(value) => check_non_empty_string("spec.type", value, errors),
    }
    check_profile(spec, errors);
    check_ref_list(spec, "children", Some("Group"), errors);
    check_ref_list(spec, "members", None, errors);
    for field in ["parent", "leader"] {
        if let Some(value) = spec.get(field) {
            check_non_empty_string(&format!("spec.{field}"), value, errors);
        }
    }
}

/// Returns `spec` as an object, or records why it is not one.
fn spec_object<'a>(
    kind: &str,
    spec: &'a Value,
    errors: &mut Vec<ValidationError>,
) -> Option<&'a Map<String, Value>> {
    match spec {
        Value::Object(map) => Some(map),
        Value::Null => {
            errors.push(missing(kind, "spec"));
            None
        }
        other => {
            errors.push(wrong_type("spec", "an object", other));
            None
        }
    }
}

fn check_profile(spec: &Map<String, Value>, errors: &mut Vec<ValidationError>) {
    let Some(profile) = spec.get("profile") else {
        return;
    };
    let Value::Object(profile) = profile else {
        errors.push(wrong_type("spec.profile", "an object", profile));
        return;
    };
    for field in ["displayName", "email", "picture"] {
        if let Some(value) = profile.get(field) {
            check_non_empty_string(&format!("spec.profile.{field}"), value, errors);
        }
    }
}

/// Checks an array of entity refs. `required_by` names the kind that
/// requires the field, when one does.
fn check_ref_list(
    spec: &Map<String, Value>,
    field: &str,
    required_by: Option<&str>,
    errors: &mut Vec<ValidationError>,
) {
    let path = format!("spec.{field}");
    let items = match spec.get(field) {
        None => {
            if let Some(kind) = required_by {
                errors.push(missing(kind, &path));
            }
            return;
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            errors.push(wrong_type(&path, "an array of strings", other));
            return;
        }
    };
    for (index, item) in items.iter().enumerate() {
        check_non_empty_string(&format!("{path}[{index}]"), item, errors);
    }
}

fn check_non_empty_string(field: &str, value: &Value, errors: &mut Vec<ValidationError>) {
    match value {
        Value::String(text) if text.is_empty() => errors.push(ValidationError::Empty {
            field: field.to_string(),
        }),
        Value::String(_) => {}
        other => errors.push(wrong_type(field, "a string", other)),
    }
}

fn missing(kind: &str, field: &str) -> ValidationError {
    ValidationError::Missing {
        kind: kind.to_string(),
        field: field.to_string(),
    }
}

fn wrong_type(field: &str, expected: &'static str, found: &Value) -> ValidationError {
    ValidationError::WrongType {
        field: field.to_string(),
        expected,
        found: json_type(found),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{EntityMetadata, Relation};

    fn user() -> Entity {
        Entity {
            api_version: "backstage.io/v1alpha1".into(),
            kind: "User".into(),
            metadata: EntityMetadata {
                name: "jane".into(),
                namespace: "default".into(),
                ..EntityMetadata::default()
            },
            spec: json!({ "profile": { "displayName": "Jane" }, "memberOf": [] }),
            relations: Vec::new(),
        }
    }

    fn group() -> Entity {
        Entity {
            kind: "Group".into(),
            spec: json!({ "type": "team", "children": [], "members": ["user:default/jane"] }),
            ..user()
        }
    }

    fn errors(entity: &Entity) -> Vec<ValidationError> {
        validate_entity(entity).err().unwrap_or_default()
    }

    #[test]
    fn valid_user_passes() {
        assert_eq!(validate_entity(&user()), Ok(()));
    }

    #[test]
    fn valid_group_passes() {
        assert_eq!(validate_entity(&group()), Ok(()));
    }

    #[test]
    fn names_follow_backstage_rules() {
        let cases = [
            ("a", true),
            ("Jane.Doe_2-x", true),
            (&"a".repeat(63) as &str, true),
            (&"a".repeat(64), false),
            ("", false),
            ("-jane", false),
            ("jane.", false),
            ("ja ne", false),
            ("josé", false),
            ("a--b", true),
        ];
        for (name, valid) in cases {
            assert_eq!(is_valid_entity_name(name), valid, "{name:?}");
        }
    }

    #[test]
    fn annotation_keys_follow_backstage_rules() {
        let cases = [
            ("okta.com/user-id", true),
            ("okta.com/costCenter", true),
            ("plain", true),
            ("Okta.com/x", false),
            ("a/b/c", false),
            ("okta.com/", false),
            ("/x", false),
            ("-okta.com/x", false),
            ("okta..com/x", false),
        ];
        for (key, valid) in cases {
            assert_eq!(is_valid_annotation_key(key), valid, "{key:?}");
        }
    }

    #[test]
    fn namespaces_are_dns_labels() {
        let cases = [
            ("default", true),
            ("team-a", true),
            ("Default", false),
            ("a--b", false),
        ];
        for (namespace, valid) in cases {
            assert_eq!(is_valid_dns_label(namespace), valid, "{namespace:?}");
        }
    }

    #[test]
    fn other_kind_is_rejected() {
        let entity = Entity {
            kind: "Component".into(),
            ..user()
        };
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::UnsupportedKind { .. }]
        ));
    }

    #[test]
    fn lowercase_kind_is_rejected() {
        let entity = Entity {
            kind: "user".into(),
            ..user()
        };
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::UnsupportedKind { .. }]
        ));
    }

    #[test]
    fn wrong_api_version_is_rejected() {
        let entity = Entity {
            api_version: "backstage.io/v2".into(),
            ..user()
        };
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::ApiVersion { .. }]
        ));
    }

    #[test]
    fn beta_api_version_passes() {
        let entity = Entity {
            api_version: "backstage.io/v1beta1".into(),
            ..user()
        };
        assert_eq!(validate_entity(&entity), Ok(()));
    }

    #[test]
    fn bad_name_is_rejected() {
        let mut entity = user();
        entity.metadata.name = "Jane Doe".into();
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Name { .. }]
        ));
    }

    #[test]
    fn bad_namespace_is_rejected() {
        let mut entity = user();
        entity.metadata.namespace = "Default".into();
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Namespace { .. }]
        ));
    }

    #[test]
    fn empty_title_is_rejected() {
        let mut entity = user();
        entity.metadata.title = Some(String::new());
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Empty { .. }]
        ));
    }

    #[test]
    fn bad_annotation_key_is_rejected() {
        let mut entity = user();
        entity
            .metadata
            .annotations
            .insert("okta.com/cost center".into(), "1".into());
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::AnnotationKey { .. }]
        ));
    }

    #[test]
    fn bad_label_value_is_rejected() {
        let mut entity = user();
        entity
            .metadata
            .labels
            .insert("tier".into(), "gold plated".into());
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::LabelValue { .. }]
        ));
    }

    #[test]
    fn empty_label_value_passes() {
        let mut entity = user();
        entity.metadata.labels.insert("tier".into(), String::new());
        assert_eq!(validate_entity(&entity), Ok(()));
    }

    #[test]
    fn location_without_target_is_rejected() {
        let mut entity = user();
        entity
            .metadata
            .annotations
            .insert(MANAGED_BY_LOCATION.into(), "okta:".into());
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::LocationRef { .. }]
        ));
    }

    #[test]
    fn relations_are_rejected() {
        let mut entity = user();
        entity.relations.push(Relation {
            relation_type: "memberOf".into(),
            target_ref: "group:default/a".into(),
        });
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Relations { count: 1 }]
        ));
    }

    #[test]
    fn user_without_member_of_is_rejected() {
        let mut entity = user();
        entity.spec = json!({ "profile": {} });
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Missing { .. }]
        ));
    }

    #[test]
    fn user_without_spec_is_rejected() {
        let mut entity = user();
        entity.spec = Value::Null;
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Missing { .. }]
        ));
    }

    #[test]
    fn empty_display_name_is_rejected() {
        let mut entity = user();
        entity.spec = json!({ "profile": { "displayName": "" }, "memberOf": [] });
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Empty { .. }]
        ));
    }

    #[test]
    fn numeric_member_is_rejected() {
        let mut entity = group();
        entity.spec["members"] = json!([7]);
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::WrongType { .. }]
        ));
    }

    #[test]
    fn group_without_children_is_rejected() {
        let mut entity = group();
        entity.spec = json!({ "type": "team" });
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Missing { .. }]
        ));
    }

    #[test]
    fn group_without_type_is_rejected() {
        let mut entity = group();
        entity.spec = json!({ "children": [] });
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Missing { .. }]
        ));
    }

    #[test]
    fn group_with_empty_type_is_rejected() {
        let mut entity = group();
        entity.spec["type"] = json!("");
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::Empty { .. }]
        ));
    }

    #[test]
    fn group_parent_must_be_string() {
        let mut entity = group();
        entity.spec["parent"] = json!(["group:default/a"]);
        assert!(matches!(
            errors(&entity)[..],
            [ValidationError::WrongType { .. }]
        ));
    }

    #[test]
    fn every_problem_is_reported() {
        let mut entity = group();
        entity.metadata.name = "-".into();
        entity.spec = json!({ "children": "none" });
        assert_eq!(errors(&entity).len(), 3);
    }

    #[test]
    fn messages_name_the_value() {
        let message = ValidationError::Name {
            value: "Jane Doe".into(),
        }
        .to_string();
        assert!(message.contains("\"Jane Doe\""), "{message}");
    }
}
