//! The state shared by every step of loading: key paths, which file each
//! value came from (its *origin*), and the errors and warnings found so far.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::error::{ConfigError, ConfigWarning};

/// One step of a key path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// The location of a value in the merged config tree, displayed as
/// `catalog.providers.okta[0].oktaUrl`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct KeyPath(Vec<Segment>);

impl KeyPath {
    pub(crate) fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    /// Returns the path of `key` inside the map at this path.
    pub(crate) fn key(&self, key: &str) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_string()));
        KeyPath(segments)
    }

    /// Returns the path of item `index` inside the list at this path.
    pub(crate) fn index(&self, index: usize) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        KeyPath(segments)
    }

    pub(crate) fn parent(&self) -> Option<KeyPath> {
        let (_, rest) = self.0.split_last()?;
        Some(KeyPath(rest.to_vec()))
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// What kind of secret a value is, which decides how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secret {
    PrivateKey,
    ApiToken,
    /// A bearer token of orgsync's own HTTP API.
    AccessToken,
}

/// Renders a config value for a diagnostic: strings JSON-quoted, other
/// values as compact JSON, long values shortened.
pub(crate) fn show(value: &Value) -> String {
    const MAX_CHARS: usize = 120;

    let text = value.to_string();
    if text.chars().count() <= MAX_CHARS {
        return text;
    }
    let shortened: String = text.chars().take(MAX_CHARS).collect();
    format!("{shortened}…")
}

/// Renders a secret as a placeholder with its kind and length, so that a
/// user can tell an empty or truncated secret from a full one.
pub(crate) fn show_secret(secret: Secret, value: &Value) -> String {
    let what = match secret {
        Secret::PrivateKey => "private key",
        Secret::ApiToken => "API token",
        Secret::AccessToken => "access token",
    };
    match value {
        Value::String(text) => format!("<{what}, {} characters>", text.chars().count()),
        Value::Object(_) => format!("<{what}, a map>"),
        Value::Array(_) => format!("<{what}, a list>"),
        _ => format!("<{what}, redacted>"),
    }
}

/// The file each part of the merged tree came from.
///
/// A path is looked up by walking up to the nearest recorded ancestor, so
/// only the values a file set (and maps it created) need an entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origins {
    by_path: HashMap<String, String>,
    root: String,
}

impl Origins {
    /// Origins for a tree that came from `files`; paths no file claims are
    /// attributed to all of them.
    pub(crate) fn new(files: &[String]) -> Origins {
        Origins {
            by_path: HashMap::new(),
            root: files.join(", "),
        }
    }

    pub(crate) fn set(&mut self, path: &KeyPath, file: &str) {
        self.by_path.insert(path.to_string(), file.to_string());
    }

    pub(crate) fn set_if_absent(&mut self, path: &KeyPath, file: &str) {
        self.by_path
            .entry(path.to_string())
            .or_insert_with(|| file.to_string());
    }

    /// Returns the file that set the value at `path`, or its nearest ancestor.
    pub(crate) fn file_of(&self, path: &KeyPath) -> &str {
        let mut current = Some(path.clone());
        while let Some(path) = current {
            if let Some(file) = self.by_path.get(&path.to_string()) {
                return file;
            }
            current = path.parent();
        }
        &self.root
    }
}

/// Collects the diagnostics of one load.
#[derive(Debug, Default)]
pub(crate) struct Context {
    pub(crate) origins: Origins,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) warnings: Vec<ConfigWarning>,
    /// Paths whose value could not be substituted; they already have an
    /// error, so later steps treat them as set and report nothing more.
    failed: HashSet<String>,
}

impl Context {
    pub(crate) fn new(origins: Origins) -> Context {
        Context {
            origins,
            ..Context::default()
        }
    }

    /// Records an error at `path`. `value` is the already rendered value.
    pub(crate) fn error(
        &mut self,
        path: &KeyPath,
        value: Option<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            file: self.origins.file_of(path).to_string(),
            line: None,
            key_path: path.to_string(),
            value,
            problem: problem.into(),
            fix: fix.into(),
        });
    }

    /// Records a warning at `path`.
    pub(crate) fn warn(
        &mut self,
        path: &KeyPath,
        value: Option<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.warnings.push(ConfigWarning {
            file: self.origins.file_of(path).to_string(),
            key_path: path.to_string(),
            value,
            problem: problem.into(),
            fix: fix.into(),
        });
    }

    pub(crate) fn mark_failed(&mut self, path: &KeyPath) {
        self.failed.insert(path.to_string());
    }

    pub(crate) fn has_failed(&self, path: &KeyPath) -> bool {
        self.failed.contains(&path.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_displays_keys_and_indexes() {
        let path = KeyPath::root()
            .key("catalog")
            .key("okta")
            .index(0)
            .key("oktaUrl");
        assert_eq!(path.to_string(), "catalog.okta[0].oktaUrl");
    }

    #[test]
    fn origin_falls_back_to_nearest_ancestor() {
        let mut origins = Origins::new(&["a.yaml".into(), "b.yaml".into()]);
        let provider = KeyPath::root().key("catalog").key("default");
        origins.set(&provider, "b.yaml");
        assert_eq!(origins.file_of(&provider.key("clientId")), "b.yaml");
    }

    #[test]
    fn origin_of_unclaimed_path_names_all_files() {
        let origins = Origins::new(&["a.yaml".into(), "b.yaml".into()]);
        assert_eq!(origins.file_of(&KeyPath::root()), "a.yaml, b.yaml");
    }

    #[test]
    fn secret_placeholder_counts_characters() {
        let value = Value::String("x".repeat(1679));
        assert_eq!(
            show_secret(Secret::PrivateKey, &value),
            "<private key, 1679 characters>"
        );
    }

    #[test]
    fn long_value_is_shortened() {
        let value = Value::String("a".repeat(500));
        assert!(show(&value).chars().count() < 200);
    }
}
