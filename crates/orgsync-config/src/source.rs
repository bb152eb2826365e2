//! Reading one config file: YAML text to a JSON value tree.
//!
//! The rest of the loader works on `serde_json::Value`, the same type the
//! settings form will send, so YAML-only features are resolved here: anchors
//! and `<<` merge keys are applied, tags are dropped and scalar map keys
//! become strings.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::context::KeyPath;
use crate::error::ConfigError;

/// A config file, read and parsed.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// The path as the user gave it, used in diagnostics.
    pub(crate) name: String,
    /// The directory that `$file` paths in this file are relative to.
    pub(crate) dir: PathBuf,
    /// The file's top-level map.
    pub(crate) value: Map<String, Value>,
}

/// Reads and parses the config file at `path`.
pub(crate) fn read_source(path: &Path) -> Result<SourceFile, Box<ConfigError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        file: name.clone(),
        line: None,
        key_path: String::new(),
        value: None,
        problem: format!("the config file cannot be read: {error}"),
        fix: "check the path given with --config".to_string(),
    })?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let value = parse_source(&name, &text)?;
    Ok(SourceFile { name, dir, value })
}

/// Parses YAML text into its top-level map; an empty file is an empty map.
pub(crate) fn parse_source(name: &str, text: &str) -> Result<Map<String, Value>, Box<ConfigError>> {
    let mut yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|error| syntax_error(name, text, &error))?;
    yaml.apply_merge()
        .map_err(|error| syntax_error(name, text, &error))?;

    let value = to_json(&yaml, &KeyPath::root()).map_err(|(path, problem)| ConfigError {
        file: name.to_string(),
        line: None,
        key_path: path.to_string(),
        value: None,
        problem,
        fix: "use a plain string as the key".to_string(),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(Box::new(ConfigError {
            file: name.to_string(),
            line: None,
            key_path: String::new(),
            value: Some(crate::context::show(&other)),
            problem: "is not a YAML map at the top level".to_string(),
            fix: "start the file with a key such as `catalog:` or `backend:`".to_string(),
        })),
    }
}

/// Converts a YAML value to JSON, dropping tags and stringifying scalar keys.
fn to_json(yaml: &serde_yaml_ng::Value, path: &KeyPath) -> Result<Value, (KeyPath, String)> {
    use serde_yaml_ng::Value as Yaml;

    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(*flag),
        Yaml::Number(number) => number_to_json(number),
        Yaml::String(text) => Value::String(text.clone()),
        Yaml::Sequence(items) => {
            let mut list = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                list.push(to_json(item, &path.index(index))?);
            }
            Value::Array(list)
        }
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, item) in mapping {
                let key = key_to_string(key)
                    .ok_or_else(|| (path.clone(), "has a map key that is not a scalar".into()))?;
                let item = to_json(item, &path.key(&key))?;
                map.insert(key, item);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => to_json(&tagged.value, path)?,
    })
}

fn number_to_json(number: &serde_yaml_ng::Number) -> Value {
    if let Some(integer) = number.as_u64() {
        return Value::from(integer);
    }
    if let Some(integer) = number.as_i64() {
        return Value::from(integer);
    }
    // NaN and infinities have no JSON form; as strings they fail the
    // number checks later with a message that shows them.
    match number.as_f64().and_then(serde_json::Number::from_f64) {
        Some(float) => Value::Number(float),
        None => Value::String(number.to_string()),
    }
}

fn key_to_string(key: &serde_yaml_ng::Value) -> Option<String> {
    use serde_yaml_ng::Value as Yaml;

    match key {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Bool(flag) => Some(flag.to_string()),
        Yaml::Number(number) => Some(number.to_string()),
        Yaml::Null => Some("null".to_string()),
        Yaml::Tagged(tagged) => key_to_string(&tagged.value),
        Yaml::Sequence(_) | Yaml::Mapping(_) => None,
    }
}

/// Turns a YAML parse error into a diagnostic with its line and, for the
/// mistakes people make when pasting, a specific fix.
fn syntax_error(name: &str, text: &str, error: &serde_yaml_ng::Error) -> ConfigError {
    let line = error.location().map(|location| location.line());
    let message = error.to_string();
    // serde_yaml_ng appends " at line N column M"; the line is shown separately.
    let problem = match message.find(" at line ") {
        Some(position) => message[..position].to_string(),
        None => message.clone(),
    };
    if let Some(error) = duplicate_key_error(name, text, &problem, line) {
        return error;
    }
    let source_line = line
        .and_then(|line| text.lines().nth(line.saturating_sub(1)))
        .unwrap_or("");
    ConfigError {
        file: name.to_string(),
        line,
        key_path: String::new(),
        value: None,
        problem: format!("invalid YAML: {problem}"),
        fix: syntax_fix(&problem, source_line, text, line),
    }
}

/// Builds the error for a key written twice in one map, pointing at the
/// second entry. The parser reports a line of the map, not of the
/// duplicate, so the key's lines are looked up in the text. A duplicate is
/// two entries of the key at the same indentation with no less indented
/// line between them. The pair that starts nearest before the reported
/// line wins.
fn duplicate_key_error(
    name: &str,
    text: &str,
    problem: &str,
    reported: Option<usize>,
) -> Option<ConfigError> {
    // The message reads `<key path>: duplicate entry with key "<key>"`.
    const MARKER: &str = "duplicate entry with key ";
    let key = problem[problem.find(MARKER)? + MARKER.len()..]
        .trim_matches('"')
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    let entries: Vec<(usize, usize)> = lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| key_indent(line, &key).map(|indent| (index, indent)))
        .collect();

    let mut pairs = Vec::new();
    for (position, &(first, indent)) in entries.iter().enumerate() {
        let second = entries[position + 1..]
            .iter()
            .find(|(_, other)| *other == indent)
            .map(|(index, _)| *index);
        let Some(second) = second else { continue };
        let same_map = lines[first + 1..second].iter().all(|line| {
            let content = line.trim_start();
            content.is_empty() || content.starts_with('#') || line.len() - content.len() >= indent
        });
        if same_map {
            pairs.push((first + 1, second + 1));
        }
    }
    let before_reported = |(first, _): &&(usize, usize)| reported.is_none_or(|line| *first <= line);
    let (first, second) = pairs
        .iter()
        .filter(before_reported)
        .max_by_key(|(first, _)| *first)
        .or_else(|| pairs.first())
        .copied()?;

    Some(ConfigError {
        file: name.to_string(),
        line: Some(second),
        key_path: String::new(),
        value: None,
        problem: format!("invalid YAML: the key {key:?} is written twice in one map"),
        fix: format!(
            "remove this entry or the one on line {first}, or give one of them another key"
        ),
    })
}

/// Returns the indentation of `line` when it starts the map entry `key`
/// (`key:`, `"key":` or `- key:`).
fn key_indent(line: &str, key: &str) -> Option<usize> {
    let content = line.trim_start();
    let indent = line.len() - content.len();
    let (content, indent) = match content.strip_prefix("- ") {
        Some(rest) => (rest.trim_start(), indent + 2),
        None => (content, indent),
    };
    let rest = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ]
    .into_iter()
    .find_map(|start| content.strip_prefix(start.as_str()).map(str::len))?;
    let after = &content[content.len() - rest..];
    (after.is_empty() || after.starts_with([' ', '\t'])).then_some(indent)
}

fn syntax_fix(problem: &str, source_line: &str, text: &str, line: Option<usize>) -> String {
    if problem.contains("duplicate entry") {
        return "remove one of the two entries with the same key".to_string();
    }
    let near = |line: usize| text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let lines_around: Vec<&str> = match line {
        Some(line) => vec![source_line, near(line.saturating_sub(1))],
        None => vec![source_line],
    };
    if lines_around.iter().any(|line| line.contains('\t')) {
        return "indent with spaces; YAML does not allow tabs for indentation".to_string();
    }
    if lines_around.iter().any(|line| is_quoted_with_comma(line)) {
        return "remove the comma after the quoted value; a YAML list has one `- item` per line, or is written as [a, b]".to_string();
    }
    match line {
        Some(line) => format!("check the YAML syntax on line {line} and the line before it"),
        None => "check the YAML syntax".to_string(),
    }
}

/// Returns whether a line has a quoted scalar followed by a comma, as in
/// `- "platform-team",` or `names: "a", "b"` copied from a JSON or
/// JavaScript list. Flow lists (`[a, b]`) are valid YAML and excluded.
fn is_quoted_with_comma(line: &str) -> bool {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    let quoted_comma = compact.contains("\",") || compact.contains("',");
    quoted_comma && !compact.contains('[')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_empty_map() {
        let map = parse_source("a.yaml", "").unwrap();
        assert!(map.is_empty());
    }

    #[test]
    fn merge_keys_are_applied() {
        let text = "base: &base\n  a: 1\nother:\n  <<: *base\n  b: 2\n";
        let map = parse_source("a.yaml", text).unwrap();
        assert_eq!(map["other"]["a"], 1);
    }

    #[test]
    fn scalar_keys_become_strings() {
        let map = parse_source("a.yaml", "7007: port\n").unwrap();
        assert_eq!(map["7007"], "port");
    }

    #[test]
    fn syntax_error_has_line() {
        let error = parse_source("a.yaml", "a: 1\nb: [1, 2\n").unwrap_err();
        assert!(error.line.is_some());
    }

    #[test]
    fn quoted_comma_list_gets_specific_fix() {
        let text = "names:\n  - \"platform-team\",\n  - \"data-eng\"\n";
        let error = parse_source("a.yaml", text).unwrap_err();
        assert!(error.fix.contains("remove the comma"), "{error}");
    }

    #[test]
    fn tab_indentation_gets_specific_fix() {
        let text = "catalog:\n\tproviders: {}\n";
        let error = parse_source("a.yaml", text).unwrap_err();
        assert!(error.fix.contains("tabs"), "{error}");
    }

    #[test]
    fn duplicate_key_is_reported() {
        let error = parse_source("a.yaml", "a: 1\na: 2\n").unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
        assert!(error.fix.contains("line 1"), "{error}");
    }

    #[test]
    fn duplicate_provider_points_to_second_entry() {
        let text = "catalog:\n  providers:\n    okta:\n      main:\n        oktaUrl: https://a.okta.com\n        token: 00a\n      other:\n        oktaUrl: https://c.okta.com\n      main:\n        oktaUrl: https://b.okta.com\n";
        let error = parse_source("a.yaml", text).unwrap_err();
        assert_eq!(error.line, Some(9), "{error}");
        assert!(error.problem.contains("\"main\""), "{error}");
        assert!(error.fix.contains("line 4"), "{error}");
    }

    #[test]
    fn same_key_in_other_map_is_not_duplicate() {
        let text = "a:\n  token: 1\nb:\n  token: 2\n  token: 3\n";
        let error = parse_source("a.yaml", text).unwrap_err();
        assert_eq!(error.line, Some(5), "{error}");
        assert!(error.fix.contains("line 4"), "{error}");
    }

    #[test]
    fn top_level_list_is_rejected() {
        let error = parse_source("a.yaml", "- a\n- b\n").unwrap_err();
        assert!(error.problem.contains("not a YAML map"));
    }
}
