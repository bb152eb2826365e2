//! The fields of the provider settings form, and their translation into
//! the config-file form that `orgsync_config::parse_provider` validates, so
//! the form reports the same messages as `orgsync check`.

use orgsync_config::ConfigErrors;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The choice of groups a saved provider reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupFilterKind {
    /// Every group.
    #[default]
    All,
    /// The groups named in [`ProviderInput::group_names`].
    Names,
    /// The groups matching [`ProviderInput::group_search`].
    Search,
}

/// A provider's settings as entered in the form. Text fields are as typed;
/// empty means not set.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProviderInput {
    pub id: String,
    pub okta_url: String,
    pub client_id: String,
    /// The private key; empty keeps the stored one.
    pub private_key: String,
    pub key_id: String,
    /// An ISO 8601 duration (`PT30M`) or a cron expression (`*/30 * * * *`).
    pub frequency: String,
    /// An ISO 8601 duration (`PT10M`).
    pub timeout: String,
    pub user_search_filter: String,
    pub group_filter: GroupFilterKind,
    /// Group names, one per line or separated by commas.
    pub group_names: String,
    pub group_search: String,
}

/// Debug leaves out the private key.
impl std::fmt::Debug for ProviderInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderInput")
            .field("id", &self.id)
            .field("okta_url", &self.okta_url)
            .field("client_id", &self.client_id)
            .field("private_key_set", &!self.private_key.trim().is_empty())
            .field("key_id", &self.key_id)
            .field("frequency", &self.frequency)
            .field("timeout", &self.timeout)
            .field("user_search_filter", &self.user_search_filter)
            .field("group_filter", &self.group_filter)
            .finish_non_exhaustive()
    }
}

/// The form fields, as named in the HTML form and in [`FieldErrors`].
pub const FIELDS: [&str; 10] = [
    "id",
    "okta_url",
    "client_id",
    "private_key",
    "key_id",
    "frequency",
    "timeout",
    "user_search_filter",
    "group_names",
    "group_search",
];

/// Validation messages by form field. `general` contains those that belong
/// to no single field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    pub by_field: Vec<(&'static str, String)>,
    pub general: Vec<String>,
}

impl FieldErrors {
    /// Records `message` at `field`.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.by_field.push((field, message.into()));
    }

    /// Returns the messages of `field`.
    pub fn of(&self, field: &str) -> Vec<&str> {
        self.by_field
            .iter()
            .filter(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_empty()
    }

    /// Sorts config errors (key paths relative to the provider) into
    /// fields. Each message is the config error's problem and fix.
    pub fn from_config(errors: &ConfigErrors) -> FieldErrors {
        let mut sorted = FieldErrors::default();
        for error in &errors.0 {
            let value = error
                .value
                .as_deref()
                .map(|value| format!("{value} "))
                .unwrap_or_default();
            let message = format!("{value}{}; {}", error.problem, error.fix);
            match field_of(&error.key_path) {
                Some(field) => sorted.add(field, message),
                None => sorted.general.push(message),
            }
        }
        sorted
    }
}

/// Maps a key path relative to the provider to its form field.
fn field_of(key_path: &str) -> Option<&'static str> {
    let first = key_path.split(['.', '[']).next().unwrap_or_default();
    let field = match first {
        "id" => "id",
        "oktaUrl" => "okta_url",
        "clientId" => "client_id",
        "privateKey" => "private_key",
        "keyId" => "key_id",
        "userSearchFilter" => "user_search_filter",
        "schedule" if key_path.starts_with("schedule.timeout") => "timeout",
        "schedule" => "frequency",
        "groupFilter" if key_path.contains("searchExpression") => "group_search",
        "groupFilter" => "group_names",
        _ => return None,
    };
    Some(field)
}

impl ProviderInput {
    /// Splits the group names field at commas and line breaks.
    pub fn group_name_list(&self) -> Vec<String> {
        self.group_names
            .split([',', '\n'])
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Builds the `schedule` map in config-file form. Unset fields are left
    /// out so that the defaults apply.
    pub fn schedule_value(&self) -> Value {
        let mut schedule = Map::new();
        let frequency = self.frequency.trim();
        if !frequency.is_empty() {
            // ISO 8601 durations have no spaces and cron expressions do.
            let value = if frequency.contains(' ') {
                json!({ "cron": frequency })
            } else {
                json!(frequency)
            };
            schedule.insert("frequency".to_string(), value);
        }
        let timeout = self.timeout.trim();
        if !timeout.is_empty() {
            schedule.insert("timeout".to_string(), json!(timeout));
        }
        Value::Object(schedule)
    }

    /// Builds the `groupFilter` map in config-file form, or `None` for all
    /// groups.
    pub fn group_filter_value(&self) -> Option<Value> {
        match self.group_filter {
            GroupFilterKind::All => None,
            GroupFilterKind::Names => Some(json!({ "groupNames": self.group_name_list() })),
            GroupFilterKind::Search => {
                Some(json!({ "searchExpression": self.group_search.trim() }))
            }
        }
    }

    /// Builds the provider's settings in config-file form with `private_key`
    /// as its key, for `orgsync_config::parse_provider`.
    pub fn to_config_value(&self, private_key: &str) -> Value {
        let mut provider = Map::new();
        provider.insert("id".to_string(), json!(self.id.trim()));
        provider.insert("oktaUrl".to_string(), json!(self.okta_url.trim()));
        provider.insert("clientId".to_string(), json!(self.client_id));
        provider.insert("privateKey".to_string(), json!(private_key));
        let key_id = self.key_id.trim();
        if !key_id.is_empty() {
            provider.insert("keyId".to_string(), json!(key_id));
        }
        provider.insert("schedule".to_string(), self.schedule_value());
        let user_filter = self.user_search_filter.trim();
        if !user_filter.is_empty() {
            provider.insert("userSearchFilter".to_string(), json!(user_filter));
        }
        if let Some(group_filter) = self.group_filter_value() {
            provider.insert("groupFilter".to_string(), group_filter);
        }
        Value::Object(provider)
    }
}

/// Checks the provider id as a form field: the config reader accepts any
/// map key, but a saved id also names the provider in URLs and metrics.
pub fn check_id(id: &str, errors: &mut FieldErrors) {
    let id = id.trim();
    let valid_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if id.is_empty() {
        errors.add(
            "id",
            "is missing; enter a name for this provider, such as production",
        );
    } else if id.len() > 63 || !valid_chars {
        errors.add(
            "id",
            format!("\"{id}\" is not a valid id; use at most 63 letters, digits, - and _"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_frequency_becomes_cron_map() {
        let input = ProviderInput {
            frequency: "*/5 * * * *".to_string(),
            ..ProviderInput::default()
        };
        assert_eq!(
            input.schedule_value(),
            json!({ "frequency": { "cron": "*/5 * * * *" } })
        );
    }

    #[test]
    fn duration_frequency_stays_text() {
        let input = ProviderInput {
            frequency: " PT30M ".to_string(),
            timeout: "PT5M".to_string(),
            ..ProviderInput::default()
        };
        assert_eq!(
            input.schedule_value(),
            json!({ "frequency": "PT30M", "timeout": "PT5M" })
        );
    }

    #[test]
    fn group_names_split_at_commas_and_lines() {
        let input = ProviderInput {
            group_filter: GroupFilterKind::Names,
            group_names: "platform, data\n\n ops \n".to_string(),
            ..ProviderInput::default()
        };
        assert_eq!(
            input.group_filter_value(),
            Some(json!({ "groupNames": ["platform", "data", "ops"] }))
        );
    }

    #[test]
    fn all_groups_has_no_filter() {
        let input = ProviderInput {
            group_names: "ignored".to_string(),
            ..ProviderInput::default()
        };
        assert_eq!(input.group_filter_value(), None);
    }

    #[test]
    fn key_paths_map_to_fields() {
        assert_eq!(field_of("oktaUrl"), Some("okta_url"));
        assert_eq!(field_of("schedule.timeout"), Some("timeout"));
        assert_eq!(field_of("schedule.frequency.cron"), Some("frequency"));
        assert_eq!(
            field_of("groupFilter.searchExpression"),
            Some("group_search")
        );
        assert_eq!(field_of("groupFilter.groupNames[1]"), Some("group_names"));
        assert_eq!(field_of(""), None);
    }

    #[test]
    fn invalid_ids_are_reported() {
        for id in ["", "has space", "ünïcode", &"x".repeat(64)] {
            let mut errors = FieldErrors::default();
            check_id(id, &mut errors);
            assert_eq!(errors.of("id").len(), 1, "{id:?}");
        }
        let mut errors = FieldErrors::default();
        check_id("prod_eu-1", &mut errors);
        assert!(errors.is_empty());
    }

    #[test]
    fn debug_hides_private_key() {
        let input = ProviderInput {
            private_key: "-----BEGIN PRIVATE KEY-----secret".to_string(),
            ..ProviderInput::default()
        };
        assert!(!format!("{input:?}").contains("secret"));
    }
}
