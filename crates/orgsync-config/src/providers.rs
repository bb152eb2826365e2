//! The `catalog.providers.okta` section, in either of its two forms:
//!
//! - a map of provider id to settings: `okta: { default: { oktaUrl: … } }`;
//! - a list of settings, each with an `id`: `okta: [ { id: default, … } ]`,
//!   the form of the Roadie Okta module.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::context::{show, Context, KeyPath};
use crate::provider::{read_provider, ProviderConfig, LEGACY_KEYS, PROVIDER_KEYS};

/// The provider id used for a single list entry without `id`.
pub(crate) const DEFAULT_PROVIDER_ID: &str = "default";

/// Reads every provider in `catalog.providers.okta`.
pub(crate) fn read_providers(
    context: &mut Context,
    path: &KeyPath,
    value: &Value,
) -> Vec<ProviderConfig> {
    match value {
        Value::Object(map) if has_provider_settings(map) => {
            context.error(
                path,
                None,
                "has provider settings directly under it, without a provider id",
                "indent the settings under an id, as in okta: { default: { oktaUrl: ... } }",
            );
            Vec::new()
        }
        Value::Object(map) => read_map_form(context, path, map),
        Value::Array(items) => read_list_form(context, path, items),
        other => {
            context.error(
                path,
                Some(show(other)),
                "is neither a map of providers nor a list",
                "write okta: { default: { oktaUrl: ..., clientId: ..., privateKey: ... } }",
            );
            Vec::new()
        }
    }
}

/// Returns whether a map looks like one provider's settings rather than a
/// map of providers, because some of its keys are provider keys with plain values.
fn has_provider_settings(map: &Map<String, Value>) -> bool {
    map.iter().any(|(key, value)| {
        let is_setting =
            PROVIDER_KEYS.contains(&key.as_str()) || LEGACY_KEYS.contains(&key.as_str());
        is_setting && !value.is_object()
    })
}

fn read_map_form(
    context: &mut Context,
    path: &KeyPath,
    map: &Map<String, Value>,
) -> Vec<ProviderConfig> {
    let mut providers = Vec::new();
    for (id, settings) in map {
        let entry_path = path.key(id);
        let Some(settings) = provider_map(context, &entry_path, settings) else {
            continue;
        };
        // A provider with an invalid id is still read, to report every
        // other error in it too; the id error makes the load fail.
        check_provider_id(context, &entry_path, id);
        if let Some(Value::String(inner)) = settings.get("id") {
            if inner != id {
                context.error(
                    &entry_path.key("id"),
                    Some(show(&Value::String(inner.clone()))),
                    format!("differs from the provider's key `{id}`"),
                    "remove id; in the map form the key is the id",
                );
            }
        }
        providers.extend(read_provider(context, &entry_path, id, settings));
    }
    providers
}

fn read_list_form(context: &mut Context, path: &KeyPath, items: &[Value]) -> Vec<ProviderConfig> {
    let mut providers = Vec::new();
    let mut seen: HashMap<String, KeyPath> = HashMap::new();

    for (index, item) in items.iter().enumerate() {
        let entry_path = path.index(index);
        let Some(settings) = provider_map(context, &entry_path, item) else {
            continue;
        };
        let Some(id) = list_entry_id(context, &entry_path, settings, items.len()) else {
            continue;
        };
        if let Some(first) = seen.get(&id) {
            context.error(
                &entry_path.key("id"),
                Some(show(&Value::String(id.clone()))),
                format!("is also the id of {first}"),
                "give every provider a different id",
            );
        } else {
            seen.insert(id.clone(), entry_path.clone());
        }
        providers.extend(read_provider(context, &entry_path, &id, settings));
    }
    providers
}

fn provider_map<'a>(
    context: &mut Context,
    path: &KeyPath,
    value: &'a Value,
) -> Option<&'a Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            context.error(
                path,
                Some(show(other)),
                "is not a map of provider settings",
                "write the provider's settings as a map, starting with oktaUrl",
            );
            None
        }
    }
}

/// Returns the id of a list entry. One entry without an id, as in Roadie's
/// examples, gets [`DEFAULT_PROVIDER_ID`] with a warning.
fn list_entry_id(
    context: &mut Context,
    path: &KeyPath,
    settings: &Map<String, Value>,
    entries: usize,
) -> Option<String> {
    let id_path = path.key("id");
    match settings.get("id") {
        Some(Value::String(id)) => {
            check_provider_id(context, &id_path, id);
            Some(id.clone())
        }
        None | Some(Value::Null) if entries == 1 && !context.has_failed(&id_path) => {
            context.warn(
                path,
                None,
                format!("has no id, so it gets the id `{DEFAULT_PROVIDER_ID}`"),
                format!("add id: {DEFAULT_PROVIDER_ID}, because entities are tied to their provider's id"),
            );
            Some(DEFAULT_PROVIDER_ID.to_string())
        }
        None | Some(Value::Null) => {
            if !context.has_failed(&id_path) {
                context.error(
                    path,
                    None,
                    "has no id",
                    "add id: with a name for this provider, such as id: production",
                );
            }
            None
        }
        Some(other) => {
            context.error(
                &id_path,
                Some(show(other)),
                "is not a string",
                "write an id such as production",
            );
            None
        }
    }
}

/// Checks that a provider id matches `[a-z0-9][a-z0-9-_]*`, the form that
/// is safe in entity annotations and URLs.
fn check_provider_id(context: &mut Context, path: &KeyPath, id: &str) {
    let mut chars = id.chars();
    let valid_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid_rest =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid_start && valid_rest {
        return;
    }
    context.error(
        path,
        Some(show(&Value::String(id.to_string()))),
        "is not a valid provider id",
        format!(
            "use lower-case letters, digits, - and _, starting with a letter or digit, such as `{}`",
            suggest_id(id)
        ),
    );
}

/// Returns a valid id close to `id`: lower-cased, other characters replaced by `-`.
fn suggest_id(id: &str) -> String {
    let mut suggestion = String::new();
    for c in id.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            suggestion.push(c);
        } else if !suggestion.is_empty() && !suggestion.ends_with('-') {
            suggestion.push('-');
        }
    }
    let suggestion = suggestion
        .trim_matches(|c| c == '-' || c == '_')
        .to_string();
    if suggestion.is_empty() {
        DEFAULT_PROVIDER_ID.to_string()
    } else {
        suggestion
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_id_is_lower_case() {
        assert_eq!(suggest_id("My Okta!"), "my-okta");
    }

    #[test]
    fn suggested_id_for_symbols_is_default() {
        assert_eq!(suggest_id("!!"), "default");
    }
}
