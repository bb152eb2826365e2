//! Flattens an entity into the key/value rows of the `search` table, which
//! serves Backstage-style filters such as `kind=user` or
//! `spec.profile.email=alice@example.com`.
//!
//! Each leaf of the entity JSON becomes one row whose key is its dotted path
//! (`spec.profile.email`) and whose value is the leaf as text. Both are
//! lower-cased, so filters compare case-insensitively, and the value as
//! written is kept beside it. A list of strings yields one row per item under
//! the list's path, plus a row `path.item` with value `true`, so that a filter
//! can require several items at once. `null` leaves are stored as SQL `NULL`.
//!
//! Values longer than [`MAX_VALUE_CHARS`] are stored as `NULL` and keys longer
//! than [`MAX_KEY_CHARS`] are skipped, because the columns are indexed. This
//! follows Backstage's catalog, which applies the same bounds. Relations are
//! not flattened here: the `relations` table serves `relations.<type>`
//! filters, because another entity's change can alter them.

use serde_json::Value;

/// The maximum length of a key that gets a row, in characters.
pub(crate) const MAX_KEY_CHARS: usize = 200;

/// The maximum length of a value that is stored as text, in characters.
pub(crate) const MAX_VALUE_CHARS: usize = 200;

/// Paths that the generic walk leaves out: `relations` as explained above,
/// `status` and `attachments` because orgsync never writes them, and the
/// store-assigned `metadata.uid` and `metadata.etag`.
const SKIPPED_PATHS: &[&str] = &[
    "attachments",
    "relations",
    "status",
    "metadata.uid",
    "metadata.etag",
];

/// One row of the `search` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchRow {
    pub key: String,
    /// The lower-cased value, or `None` for `null` and over-long values.
    pub value: Option<String>,
    pub original_value: Option<String>,
}

/// Builds the search rows for an entity body, plus the `metadata.uid` row
/// that filters by uid use, sorted by key and value without duplicates.
pub(crate) fn search_rows(body: &Value, uid: &str) -> Vec<SearchRow> {
    let mut leaves = Vec::new();
    visit("", body, &mut leaves);
    leaves.push(("metadata.uid".to_string(), Some(uid.to_string())));

    let mut rows: Vec<SearchRow> = leaves
        .into_iter()
        .filter(|(path, _)| path.chars().count() <= MAX_KEY_CHARS)
        .map(|(path, original)| {
            let original = original.filter(|text| text.chars().count() <= MAX_VALUE_CHARS);
            SearchRow {
                key: path.to_lowercase(),
                value: original.as_deref().map(str::to_lowercase),
                original_value: original,
            }
        })
        .collect();

    // The stable sort keeps the first of equal rows first, so dedup keeps it.
    rows.sort_by(|a, b| (&a.key, &a.value).cmp(&(&b.key, &b.value)));
    rows.dedup_by(|later, earlier| later.key == earlier.key && later.value == earlier.value);
    rows
}

fn visit(path: &str, value: &Value, out: &mut Vec<(String, Option<String>)>) {
    if SKIPPED_PATHS.contains(&path) {
        return;
    }
    match value {
        Value::Null => out.push((path.to_string(), None)),
        Value::Bool(flag) => out.push((path.to_string(), Some(flag.to_string()))),
        Value::Number(number) => out.push((path.to_string(), Some(number.to_string()))),
        Value::String(text) => out.push((path.to_string(), Some(text.clone()))),
        Value::Array(items) => {
            for item in items {
                visit(path, item, out);
                if let Value::String(text) = item {
                    out.push((format!("{path}.{text}"), Some("true".to_string())));
                }
            }
        }
        Value::Object(object) => {
            for (key, item) in object {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                visit(&child, item, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find<'a>(rows: &'a [SearchRow], key: &str) -> Vec<&'a SearchRow> {
        rows.iter().filter(|row| row.key == key).collect()
    }

    #[test]
    fn leaves_get_lower_cased_paths() {
        let rows = search_rows(&json!({"spec": {"profile": {"Email": "A@X.io"}}}), "u");
        let found = find(&rows, "spec.profile.email");
        assert_eq!(found[0].value.as_deref(), Some("a@x.io"));
        assert_eq!(found[0].original_value.as_deref(), Some("A@X.io"));
    }

    #[test]
    fn string_lists_yield_item_flags() {
        let rows = search_rows(&json!({"spec": {"memberOf": ["group:default/a"]}}), "u");
        assert_eq!(find(&rows, "spec.memberof").len(), 1);
        let flag = find(&rows, "spec.memberof.group:default/a");
        assert_eq!(flag[0].value.as_deref(), Some("true"));
    }

    #[test]
    fn null_is_stored_as_none() {
        let rows = search_rows(&json!({"spec": {"parent": null}}), "u");
        assert_eq!(find(&rows, "spec.parent")[0].value, None);
    }

    #[test]
    fn numbers_and_bools_become_text() {
        let rows = search_rows(&json!({"spec": {"n": 3, "b": false}}), "u");
        assert_eq!(find(&rows, "spec.n")[0].value.as_deref(), Some("3"));
        assert_eq!(find(&rows, "spec.b")[0].value.as_deref(), Some("false"));
    }

    #[test]
    fn long_values_are_stored_as_none() {
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        let rows = search_rows(&json!({"metadata": {"description": long}}), "u");
        assert_eq!(find(&rows, "metadata.description")[0].value, None);
    }

    #[test]
    fn long_keys_are_skipped() {
        let long = "k".repeat(MAX_KEY_CHARS);
        let rows = search_rows(&json!({"spec": {long.clone(): 1}}), "u");
        assert!(find(&rows, &format!("spec.{long}")).is_empty());
    }

    #[test]
    fn uid_row_is_added() {
        let rows = search_rows(&json!({"metadata": {"uid": "stale"}}), "Fresh-Uid");
        let found = find(&rows, "metadata.uid");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].value.as_deref(), Some("fresh-uid"));
    }

    #[test]
    fn duplicates_are_dropped() {
        let rows = search_rows(&json!({"spec": {"memberOf": ["a", "A"]}}), "u");
        assert_eq!(find(&rows, "spec.memberof").len(), 1);
    }
}
