//! Merging several config files into one tree.
//!
//! Later files win. Maps are merged key by key, all the way down. Lists,
//! scalars, substitution directives (`{ $env: … }`, `{ $file: … }`) and the
//! maps under [`WHOLE_VALUE_KEYS`] are replaced whole. Every value set is
//! recorded in [`Origins`], so that a diagnostic can name the file a value
//! came from.

use serde_json::{Map, Value};

use crate::context::{KeyPath, Origins};
use crate::source::SourceFile;

/// Keys whose map value is one setting, which a later file replaces whole.
/// Merging `{ minutes: 15 }` with `{ seconds: 3 }` would otherwise give a
/// duration of 15 minutes and 3 seconds, and merging `groupNames` with
/// `searchExpression` would set both kinds of group filter.
const WHOLE_VALUE_KEYS: &[&str] = &[
    "frequency",
    "timeout",
    "initialDelay",
    "requestTimeout",
    "groupFilter",
];

/// Merges `files` in order into one tree, with the origin of every value.
pub(crate) fn merge_files(files: &[SourceFile]) -> (Map<String, Value>, Origins) {
    let names: Vec<String> = files.iter().map(|file| file.name.clone()).collect();
    let mut origins = Origins::new(&names);
    let mut merged = Map::new();

    for file in files {
        merge_map(
            &mut merged,
            &file.value,
            &KeyPath::root(),
            &file.name,
            &mut origins,
        );
    }
    (merged, origins)
}

fn merge_map(
    base: &mut Map<String, Value>,
    overlay: &Map<String, Value>,
    path: &KeyPath,
    file: &str,
    origins: &mut Origins,
) {
    for (key, value) in overlay {
        let path = path.key(key);
        match (base.get_mut(key), value) {
            (Some(Value::Object(base_map)), Value::Object(overlay_map))
                if !is_directive(base_map)
                    && !is_directive(overlay_map)
                    && !WHOLE_VALUE_KEYS.contains(&key.as_str()) =>
            {
                origins.set_if_absent(&path, file);
                merge_map(base_map, overlay_map, &path, file, origins);
            }
            _ => {
                origins.set(&path, file);
                record_nested(value, &path, file, origins);
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Claims every path under a value that replaced what was there, so that an
/// earlier file's origin for a deeper path is not reused.
fn record_nested(value: &Value, path: &KeyPath, file: &str, origins: &mut Origins) {
    if let Value::Object(map) = value {
        for (key, item) in map {
            let path = path.key(key);
            origins.set(&path, file);
            record_nested(item, &path, file, origins);
        }
    }
}

/// Returns whether a map is a substitution directive, which merges as a leaf.
pub(crate) fn is_directive(map: &Map<String, Value>) -> bool {
    map.keys().any(|key| key.starts_with('$'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn file(name: &str, value: Value) -> SourceFile {
        let Value::Object(map) = value else {
            panic!("test input must be a map");
        };
        SourceFile {
            name: name.to_string(),
            dir: PathBuf::from("."),
            value: map,
        }
    }

    #[test]
    fn later_scalar_wins() {
        let files = [
            file("a.yaml", json!({"x": {"y": 1}})),
            file("b.yaml", json!({"x": {"y": 2}})),
        ];
        let (merged, _) = merge_files(&files);
        assert_eq!(merged["x"]["y"], 2);
    }

    #[test]
    fn maps_merge_deeply() {
        let files = [
            file("a.yaml", json!({"x": {"y": 1}})),
            file("b.yaml", json!({"x": {"z": 2}})),
        ];
        let (merged, _) = merge_files(&files);
        assert_eq!(merged["x"], json!({"y": 1, "z": 2}));
    }

    #[test]
    fn lists_are_replaced() {
        let files = [
            file("a.yaml", json!({"x": [1, 2, 3]})),
            file("b.yaml", json!({"x": [4]})),
        ];
        let (merged, _) = merge_files(&files);
        assert_eq!(merged["x"], json!([4]));
    }

    #[test]
    fn directives_are_replaced_whole() {
        let files = [
            file("a.yaml", json!({"key": {"$env": "A"}})),
            file("b.yaml", json!({"key": {"$file": "k.pem"}})),
        ];
        let (merged, _) = merge_files(&files);
        assert_eq!(merged["key"], json!({"$file": "k.pem"}));
    }

    #[test]
    fn origin_names_file_that_set_value() {
        let files = [
            file("a.yaml", json!({"x": {"y": 1, "z": 1}})),
            file("b.yaml", json!({"x": {"z": 2}})),
        ];
        let (_, origins) = merge_files(&files);
        let x = KeyPath::root().key("x");
        assert_eq!(origins.file_of(&x.key("y")), "a.yaml");
        assert_eq!(origins.file_of(&x.key("z")), "b.yaml");
    }
}
