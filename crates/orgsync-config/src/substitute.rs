//! Substitution of environment variables and files into config values.
//!
//! Three forms, as in Backstage's app-config:
//! - `${VAR}` anywhere inside a string is replaced by the variable's value;
//!   `$${` stands for a literal `${`.
//! - `{ $env: VAR }` is replaced by the variable's value.
//! - `{ $file: path }` is replaced by the file's text, without its trailing
//!   line break. The path is relative to the directory of the config file
//!   that contains it.
//!
//! Substituted values are plain strings; they are not expanded again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::context::{show, Context, KeyPath};
use crate::merge::is_directive;

/// Looks up an environment variable; `std::env::var` in production.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The sources of substituted values.
pub(crate) struct Substituter<'a> {
    pub(crate) env: EnvLookup<'a>,
    /// The directory of each config file, by the name used in origins.
    pub(crate) dirs: &'a HashMap<String, PathBuf>,
}

/// A failure to expand `${…}` in one string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ExpandError {
    Unset(String),
    Unclosed,
    InvalidName(String),
}

impl Substituter<'_> {
    /// Substitutes every value in `map`; failures are recorded in `context`
    /// and their paths marked failed.
    pub(crate) fn substitute_map(
        &self,
        context: &mut Context,
        map: &mut Map<String, Value>,
        path: &KeyPath,
    ) {
        for (key, value) in map.iter_mut() {
            self.substitute_value(context, value, &path.key(key));
        }
    }

    fn substitute_value(&self, context: &mut Context, value: &mut Value, path: &KeyPath) {
        match value {
            Value::String(text) if text.contains('$') => {
                let replacement = self.expand_string(context, text, path);
                *value = replacement;
            }
            Value::Array(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    self.substitute_value(context, item, &path.index(index));
                }
            }
            Value::Object(map) if is_directive(map) => {
                let replacement = self.resolve_directive(context, map, path);
                *value = replacement;
            }
            Value::Object(map) => self.substitute_map(context, map, path),
            _ => {}
        }
    }

    /// Expands `${VAR}` in a string, or records why it cannot be.
    fn expand_string(&self, context: &mut Context, text: &str, path: &KeyPath) -> Value {
        match expand(text, self.env) {
            Ok(expanded) => Value::String(expanded),
            Err(errors) => {
                let displayed = show(&Value::String(text.to_string()));
                for error in errors {
                    let (problem, fix) = expand_error_text(&error);
                    context.error(path, Some(displayed.clone()), problem, fix);
                }
                context.mark_failed(path);
                Value::Null
            }
        }
    }

    /// Resolves `{ $env: VAR }` or `{ $file: path }`.
    fn resolve_directive(
        &self,
        context: &mut Context,
        map: &Map<String, Value>,
        path: &KeyPath,
    ) -> Value {
        match self.try_directive(context, map, path) {
            Ok(text) => Value::String(text),
            Err((problem, fix)) => {
                let displayed = show(&Value::Object(map.clone()));
                context.error(path, Some(displayed), problem, fix);
                context.mark_failed(path);
                Value::Null
            }
        }
    }

    fn try_directive(
        &self,
        context: &Context,
        map: &Map<String, Value>,
        path: &KeyPath,
    ) -> Result<String, (String, String)> {
        let mut entries = map.iter();
        let (Some((key, argument)), None) = (entries.next(), entries.next()) else {
            return Err((
                "mixes a substitution with other keys".to_string(),
                "write `$env` or `$file` as the only key of the map".to_string(),
            ));
        };
        let Value::String(argument) = argument else {
            return Err((
                format!("has a {key} value that is not a string"),
                format!("write {{ {key}: NAME }} with a plain string"),
            ));
        };
        match key.as_str() {
            "$env" => self.read_env(argument),
            "$file" => self.read_file(context, argument, path),
            "$include" => Err((
                "uses $include, which orgsync does not support".to_string(),
                "use { $file: path } for a text value, or pass the other file with a second --config".to_string(),
            )),
            other => Err((
                format!("uses the unknown substitution `{other}`"),
                "use `$env` for an environment variable or `$file` for a file's text".to_string(),
            )),
        }
    }

    fn read_env(&self, name: &str) -> Result<String, (String, String)> {
        (self.env)(name).ok_or_else(|| {
            (
                format!("names the environment variable {name}, which is not set"),
                format!("set {name} in the environment orgsync runs in"),
            )
        })
    }

    fn read_file(
        &self,
        context: &Context,
        relative: &str,
        path: &KeyPath,
    ) -> Result<String, (String, String)> {
        let config_file = context.origins.file_of(path);
        let dir = self
            .dirs
            .get(config_file)
            .map(PathBuf::as_path)
            .unwrap_or(Path::new("."));
        let full_path = dir.join(relative);
        match std::fs::read_to_string(&full_path) {
            Ok(text) => Ok(strip_final_newline(text)),
            Err(error) => Err((
                format!("names the file {}, which cannot be read: {error}", full_path.display()),
                format!(
                    "check that the file exists; $file paths are relative to the directory of {config_file}"
                ),
            )),
        }
    }
}

/// Removes one trailing line break, which editors add and which would
/// otherwise end up inside tokens and ids.
fn strip_final_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// Expands `${VAR}` and `$${` in `text`, returning every problem found.
fn expand(text: &str, env: EnvLookup<'_>) -> Result<String, Vec<ExpandError>> {
    let mut output = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut rest = text;

    while let Some(position) = rest.find('$') {
        output.push_str(&rest[..position]);
        rest = &rest[position..];
        if let Some(after) = rest.strip_prefix("$${") {
            output.push_str("${");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                errors.push(ExpandError::Unclosed);
                return Err(errors);
            };
            let name = &after[..end];
            match lookup(name, env) {
                Ok(value) => output.push_str(&value),
                Err(error) => errors.push(error),
            }
            rest = &after[end + 1..];
        } else {
            output.push('$');
            rest = &rest[1..];
        }
    }
    output.push_str(rest);

    if errors.is_empty() {
        Ok(output)
    } else {
        Err(errors)
    }
}

fn lookup(name: &str, env: EnvLookup<'_>) -> Result<String, ExpandError> {
    let name = name.trim();
    let mut chars = name.chars();
    let valid_start = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
    let valid_rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !(valid_start && valid_rest) {
        return Err(ExpandError::InvalidName(name.to_string()));
    }
    env(name).ok_or_else(|| ExpandError::Unset(name.to_string()))
}

fn expand_error_text(error: &ExpandError) -> (String, String) {
    match error {
        ExpandError::Unset(name) => (
            format!("uses the environment variable {name}, which is not set"),
            format!("set {name} in the environment orgsync runs in, or write $${{ for a literal ${{"),
        ),
        ExpandError::Unclosed => (
            "has a `${` without a closing `}`".to_string(),
            "close the variable name with `}`, or write $${ for a literal ${".to_string(),
        ),
        ExpandError::InvalidName(name) => (
            format!("uses `${{{name}}}`, which is not a valid environment variable name"),
            "use letters, digits and underscores, not starting with a digit, or write $${ for a literal ${"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("acme.okta.com".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variable_inside_string_is_expanded() {
        let expanded = expand("https://${HOST}/", &env).unwrap();
        assert_eq!(expanded, "https://acme.okta.com/");
    }

    #[test]
    fn double_dollar_escapes() {
        let expanded = expand("cost $${HOST}", &env).unwrap();
        assert_eq!(expanded, "cost ${HOST}");
    }

    #[test]
    fn lone_dollar_is_kept() {
        let expanded = expand("a $ b $x", &env).unwrap();
        assert_eq!(expanded, "a $ b $x");
    }

    #[test]
    fn empty_variable_is_set() {
        let expanded = expand("[${EMPTY}]", &env).unwrap();
        assert_eq!(expanded, "[]");
    }

    #[test]
    fn every_unset_variable_is_reported() {
        let errors = expand("${A}-${B}", &env).unwrap_err();
        assert_eq!(
            errors,
            vec![
                ExpandError::Unset("A".to_string()),
                ExpandError::Unset("B".to_string())
            ]
        );
    }

    #[test]
    fn unclosed_variable_is_reported() {
        let errors = expand("${HOST", &env).unwrap_err();
        assert_eq!(errors, vec![ExpandError::Unclosed]);
    }

    #[test]
    fn invalid_name_is_reported() {
        let errors = expand("${1X}", &env).unwrap_err();
        assert_eq!(errors, vec![ExpandError::InvalidName("1X".to_string())]);
    }

    #[test]
    fn final_newline_is_stripped_once() {
        assert_eq!(strip_final_newline("tok\r\n".to_string()), "tok");
    }
}
