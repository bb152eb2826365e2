//! The `fields` parameter: keeping only some dotted paths of each entity.
//!
//! A path part may itself contain dots, as annotation keys often do
//! (`metadata.annotations.okta.com/id`), so the path is matched against the
//! entity: parts are joined until they name a key that exists, as
//! Backstage's catalog does. Paths that name nothing are left out.

use serde_json::{Map, Value};

/// Returns `entity` with only `fields` kept.
pub fn project(entity: &Value, fields: &[String]) -> Value {
    let mut output = Value::Object(Map::new());
    for field in fields {
        let Some((path, value)) = resolve(entity, field) else {
            continue;
        };
        insert(&mut output, &path, value.clone());
    }
    output
}

/// Finds the keys that `field` names in `entity`, and the value there.
fn resolve<'a>(entity: &'a Value, field: &str) -> Option<(Vec<String>, &'a Value)> {
    let mut path = Vec::new();
    let mut current = entity;
    let mut pending = String::new();
    for part in field.split('.') {
        if !pending.is_empty() {
            pending.push('.');
        }
        pending.push_str(part);
        if let Some(next) = current.as_object().and_then(|object| object.get(&pending)) {
            current = next;
            path.push(std::mem::take(&mut pending));
        }
    }
    (pending.is_empty() && !path.is_empty()).then_some((path, current))
}

fn insert(output: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = output;
    for key in parents {
        let Value::Object(object) = current else {
            return;
        };
        current = object
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(object) = current {
        object.insert(last.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity() -> Value {
        json!({
            "kind": "User",
            "metadata": {
                "name": "ann",
                "annotations": {"okta.com/id": "00u1", "other": "x"}
            },
            "spec": {"profile": {"email": "ann@example.com"}, "memberOf": ["team-a"]}
        })
    }

    fn fields(list: &[&str]) -> Vec<String> {
        list.iter().map(|field| field.to_string()).collect()
    }

    #[test]
    fn keeps_named_leaves() {
        let projected = project(&entity(), &fields(&["kind", "metadata.name"]));
        assert_eq!(
            projected,
            json!({"kind": "User", "metadata": {"name": "ann"}})
        );
    }

    #[test]
    fn keeps_whole_subtrees() {
        let projected = project(&entity(), &fields(&["spec.profile"]));
        assert_eq!(
            projected,
            json!({"spec": {"profile": {"email": "ann@example.com"}}})
        );
    }

    #[test]
    fn dotted_annotation_key_is_found() {
        let projected = project(&entity(), &fields(&["metadata.annotations.okta.com/id"]));
        assert_eq!(
            projected,
            json!({"metadata": {"annotations": {"okta.com/id": "00u1"}}})
        );
    }

    #[test]
    fn missing_paths_are_left_out() {
        let projected = project(&entity(), &fields(&["spec.children", "metadata.title"]));
        assert_eq!(projected, json!({}));
    }
}
