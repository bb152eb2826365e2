//! Typed reads of config values, reporting wrong types and unknown keys.
//!
//! Every reader returns `None` after recording an error, so a caller can
//! fall back to a default and go on looking for more errors. The load still
//! fails because the error was recorded. Like Backstage's config reader,
//! numbers and `true`/`false` written as strings are accepted, because values
//! substituted from environment variables are always strings.

use serde_json::{Map, Value};

use crate::context::{show, show_secret, Context, KeyPath, Secret};
use crate::suggest::closest;

/// One value in the config and its key path.
#[derive(Debug, Clone)]
pub(crate) struct Field<'a> {
    pub(crate) path: KeyPath,
    pub(crate) value: &'a Value,
}

/// The keys of one map in the config, read by name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub(crate) path: &'a KeyPath,
    pub(crate) map: &'a Map<String, Value>,
}

/// The strictness of the unknown-key check of one map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Every unknown key is an error (sections that only orgsync reads).
    Strict,
    /// Unknown keys are ignored unless they look like a misspelled known
    /// key (sections shared with a Backstage app-config, such as `backend`).
    Shared,
}

impl<'a> Field<'a> {
    /// Reads a string. Numbers are accepted and turned into strings.
    pub(crate) fn string(&self, context: &mut Context) -> Option<String> {
        read_string(context, &self.path, self.value, None)
    }

    /// Reads a secret string; diagnostics show a placeholder, not the value.
    pub(crate) fn secret(&self, context: &mut Context, secret: Secret) -> Option<String> {
        read_string(context, &self.path, self.value, Some(secret))
    }

    pub(crate) fn bool(&self, context: &mut Context) -> Option<bool> {
        match self.value {
            Value::Bool(flag) => Some(*flag),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
            Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
            other => {
                context.error(
                    &self.path,
                    Some(show(other)),
                    format!("is {}, but true or false is expected", describe(other)),
                    "write true or false without quotes",
                );
                None
            }
        }
    }

    /// Reads a whole number between `min` and `max`.
    pub(crate) fn integer(&self, context: &mut Context, min: u64, max: u64) -> Option<u64> {
        let Some(number) = as_number(self.value) else {
            context.error(
                &self.path,
                Some(show(self.value)),
                format!(
                    "is {}, but a whole number is expected",
                    describe(self.value)
                ),
                format!("write a whole number from {min} to {max}, without quotes"),
            );
            return None;
        };
        if number.fract() != 0.0 || number < min as f64 || number > max as f64 {
            context.error(
                &self.path,
                Some(show(self.value)),
                format!("is not a whole number from {min} to {max}"),
                format!("write a whole number from {min} to {max}"),
            );
            return None;
        }
        Some(number as u64)
    }

    /// Reads a list of strings. A single string with commas, a common
    /// paste from a comma-separated example, gets a fix that shows the list.
    pub(crate) fn string_list(&self, context: &mut Context) -> Option<Vec<String>> {
        match self.value {
            Value::Array(items) => read_string_items(context, &self.path, items),
            Value::String(text) => {
                context.error(
                    &self.path,
                    Some(show(self.value)),
                    "is a string, but a list is expected",
                    format!("write it as a YAML list: {}", suggest_list(text)),
                );
                None
            }
            other => {
                context.error(
                    &self.path,
                    Some(show(other)),
                    format!("is {}, but a list of strings is expected", describe(other)),
                    "write a YAML list such as [a, b]",
                );
                None
            }
        }
    }

    /// Reads a map; `fix` shows the expected shape.
    pub(crate) fn map(&self, context: &mut Context, fix: &str) -> Option<&'a Map<String, Value>> {
        match self.value {
            Value::Object(map) => Some(map),
            other => {
                context.error(
                    &self.path,
                    Some(show(other)),
                    format!("is {}, but a map is expected", describe(other)),
                    fix,
                );
                None
            }
        }
    }
}

impl<'a> Fields<'a> {
    pub(crate) fn new(path: &'a KeyPath, map: &'a Map<String, Value>) -> Fields<'a> {
        Fields { path, map }
    }

    /// Returns the value of `key`, or `None` when it is absent or null.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// Returns the value of `key` with its path, or `None` when it is absent or null.
    pub(crate) fn field(&self, key: &str) -> Option<Field<'a>> {
        let value = self.raw(key)?;
        Some(Field {
            path: self.path.key(key),
            value,
        })
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// Returns whether `key` is absent and did not fail substitution. Only
    /// then is a "missing" error news to the user.
    pub(crate) fn is_missing(&self, context: &Context, key: &str) -> bool {
        !self.has(key) && !context.has_failed(&self.path.key(key))
    }

    pub(crate) fn string(&self, context: &mut Context, key: &str) -> Option<String> {
        self.field(key)?.string(context)
    }

    pub(crate) fn bool(&self, context: &mut Context, key: &str) -> Option<bool> {
        self.field(key)?.bool(context)
    }

    pub(crate) fn integer(
        &self,
        context: &mut Context,
        key: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        self.field(key)?.integer(context, min, max)
    }

    pub(crate) fn map(
        &self,
        context: &mut Context,
        key: &str,
        fix: &str,
    ) -> Option<&'a Map<String, Value>> {
        self.field(key)?.map(context, fix)
    }

    /// Reports every key that is not in `known`. `misplaced` names keys
    /// that belong in a nested section (`("frequency", "schedule")`).
    pub(crate) fn check_keys(
        &self,
        context: &mut Context,
        known: &[&str],
        misplaced: &[(&str, &str)],
        strictness: Strictness,
    ) {
        for key in self.map.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let path = self.path.key(key);
            if let Some((_, section)) = misplaced.iter().find(|(name, _)| name == key) {
                context.error(
                    &path,
                    None,
                    format!("belongs under `{section}:`, not beside it"),
                    format!("move it under {section}:"),
                );
            } else if let Some(suggestion) = closest(key, known) {
                context.error(
                    &path,
                    None,
                    "is not a known key",
                    format!("did you mean `{suggestion}`?"),
                );
            } else if let Some((name, section)) = closest_misplaced(key, misplaced) {
                context.error(
                    &path,
                    None,
                    "is not a known key",
                    format!("did you mean `{name}`, under {section}:?"),
                );
            } else if strictness == Strictness::Strict {
                context.error(
                    &path,
                    None,
                    "is not a known key",
                    format!("remove it; the keys allowed here are {}", known.join(", ")),
                );
            } else {
                tracing::debug!(key = %path, "ignoring a key orgsync does not read");
            }
        }
    }
}

/// Returns the misplaced key closest to `key`, with its section.
fn closest_misplaced<'m>(
    key: &str,
    misplaced: &[(&'m str, &'m str)],
) -> Option<(&'m str, &'m str)> {
    let names: Vec<&str> = misplaced.iter().map(|(name, _)| *name).collect();
    let name = closest(key, &names)?;
    misplaced
        .iter()
        .find(|(candidate, _)| *candidate == name)
        .copied()
}

fn read_string(
    context: &mut Context,
    path: &KeyPath,
    value: &Value,
    secret: Option<Secret>,
) -> Option<String> {
    let displayed = || match secret {
        Some(secret) => show_secret(secret, value),
        None => show(value),
    };
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => {
            context.error(
                path,
                Some(displayed()),
                format!("is {}, but a string is expected", describe(other)),
                "write a single value; quote it if it contains special characters",
            );
            return None;
        }
    };
    if text.trim_end().ends_with(',') {
        context.error(
            path,
            Some(displayed()),
            "ends with a comma, which looks copied from a list or JSON example",
            "remove the trailing comma",
        );
        return None;
    }
    Some(text)
}

fn read_string_items(
    context: &mut Context,
    path: &KeyPath,
    items: &[Value],
) -> Option<Vec<String>> {
    let mut strings = Vec::with_capacity(items.len());
    let mut valid = true;
    for (index, item) in items.iter().enumerate() {
        match read_string(context, &path.index(index), item, None) {
            Some(text) => strings.push(text),
            None => valid = false,
        }
    }
    valid.then_some(strings)
}

/// Builds a YAML flow list from a comma-separated string, dropping quotes
/// the user typed around the items.
fn suggest_list(text: &str) -> String {
    let items: Vec<&str> = text
        .split(',')
        .map(|item| item.trim().trim_matches(|c| c == '"' || c == '\''))
        .filter(|item| !item.is_empty())
        .collect();
    format!("[{}]", items.join(", "))
}

/// Returns the number, or the string parsed as a number.
pub(crate) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

/// Names the type of a value for messages ("a number", "a list").
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields_of(value: &Value) -> &Map<String, Value> {
        value.as_object().unwrap()
    }

    #[test]
    fn trailing_comma_is_an_error() {
        let value = json!({"clientId": "0oa123abc,"});
        let path = KeyPath::root();
        let mut context = Context::default();
        let read = Fields::new(&path, fields_of(&value)).string(&mut context, "clientId");
        assert_eq!(read, None);
        assert_eq!(context.errors[0].fix, "remove the trailing comma");
    }

    #[test]
    fn number_is_read_as_string() {
        let value = json!({"keyId": 12345});
        let path = KeyPath::root();
        let mut context = Context::default();
        let read = Fields::new(&path, fields_of(&value)).string(&mut context, "keyId");
        assert_eq!(read.as_deref(), Some("12345"));
    }

    #[test]
    fn comma_string_suggests_list() {
        let value = json!({"names": "\"platform-team\", \"data-eng\""});
        let path = KeyPath::root();
        let mut context = Context::default();
        let fields = Fields::new(&path, fields_of(&value));
        fields.field("names").unwrap().string_list(&mut context);
        assert_eq!(
            context.errors[0].fix,
            "write it as a YAML list: [platform-team, data-eng]"
        );
    }

    #[test]
    fn secret_is_redacted_in_type_error() {
        let value = json!({"token": ["00abc"]});
        let path = KeyPath::root();
        let mut context = Context::default();
        let fields = Fields::new(&path, fields_of(&value));
        fields
            .field("token")
            .unwrap()
            .secret(&mut context, Secret::ApiToken);
        assert_eq!(
            context.errors[0].value.as_deref(),
            Some("<API token, a list>")
        );
    }

    #[test]
    fn string_true_is_a_bool() {
        let value = json!({"flag": "TRUE"});
        let path = KeyPath::root();
        let mut context = Context::default();
        let read = Fields::new(&path, fields_of(&value)).bool(&mut context, "flag");
        assert_eq!(read, Some(true));
    }

    #[test]
    fn fraction_is_not_an_integer() {
        let value = json!({"count": 2.5});
        let path = KeyPath::root();
        let mut context = Context::default();
        let read = Fields::new(&path, fields_of(&value)).integer(&mut context, "count", 1, 10);
        assert_eq!(read, None);
    }

    #[test]
    fn misplaced_key_says_where_it_belongs() {
        let value = json!({"frequency": "PT30M"});
        let path = KeyPath::root();
        let mut context = Context::default();
        Fields::new(&path, fields_of(&value)).check_keys(
            &mut context,
            &["schedule"],
            &[("frequency", "schedule")],
            Strictness::Strict,
        );
        assert_eq!(context.errors[0].fix, "move it under schedule:");
    }

    #[test]
    fn misspelled_misplaced_key_names_section() {
        let value = json!({"frequncy": "PT30M"});
        let path = KeyPath::root();
        let mut context = Context::default();
        Fields::new(&path, fields_of(&value)).check_keys(
            &mut context,
            &["schedule"],
            &[("frequency", "schedule")],
            Strictness::Strict,
        );
        assert_eq!(
            context.errors[0].fix,
            "did you mean `frequency`, under schedule:?"
        );
    }

    #[test]
    fn shared_section_ignores_unrelated_key() {
        let value = json!({"cors": {}});
        let path = KeyPath::root();
        let mut context = Context::default();
        Fields::new(&path, fields_of(&value)).check_keys(
            &mut context,
            &["database", "listen"],
            &[],
            Strictness::Shared,
        );
        assert!(context.errors.is_empty());
    }
}
