//! The OpenAPI 3.1 document of every route orgsync serves, at
//! `/api/openapi.json`.
//!
//! The document is written by hand in `openapi.json` beside this file. A
//! test checks that its operations and the router's routes are the same
//! set, so that a new route cannot ship undocumented.

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::DOCUMENT;
    use crate::testing::memory_parts;

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).unwrap()
    }

    /// `(METHOD, path)` of every operation in the document.
    fn documented() -> BTreeSet<(String, String)> {
        let mut operations = BTreeSet::new();
        for (path, item) in document()["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
        operations
    }

    #[test]
    fn document_is_openapi_3_1() {
        assert_eq!(document()["openapi"], "3.1.0");
    }

    #[tokio::test]
    async fn every_route_is_documented() {
        let parts = memory_parts(Vec::new(), Default::default()).await;
        let (_, routes) = crate::app::build_router(&parts);
        let documented = documented();
        for route in &routes {
            let key = (route.method.to_string(), route.path.to_string());
            assert!(
                documented.contains(&key),
                "{key:?} is missing from openapi.json"
            );
        }
    }

    #[tokio::test]
    async fn every_documented_operation_is_routed() {
        let parts = memory_parts(Vec::new(), Default::default()).await;
        let (_, routes) = crate::app::build_router(&parts);
        let routed: BTreeSet<(String, String)> = routes
            .iter()
            .map(|route| (route.method.to_string(), route.path.to_string()))
            .collect();
        for operation in documented() {
            assert!(
                routed.contains(&operation),
                "{operation:?} is documented but not routed"
            );
        }
    }

    #[test]
    fn every_reference_resolves() {
        let document = document();
        let mut references = Vec::new();
        collect_references(&document, &mut references);
        for reference in references {
            let pointer = reference.trim_start_matches('#');
            assert!(
                document.pointer(pointer).is_some(),
                "{reference} does not resolve"
            );
        }
    }

    fn collect_references(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, item) in object {
                    if key == "$ref" {
                        out.push(item.as_str().unwrap().to_string());
                    } else {
                        collect_references(item, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect_references(item, out)),
            _ => {}
        }
    }
}
