//! JSON fixtures: small hand-written orgs for tests and demos.
//!
//! The format is described in the crate documentation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

use crate::org::{complete_group, complete_user, is_everyone, Org, OrgError};

/// A failure to build an org from a file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file or directory could not be read.
    #[error("{path}: could not read: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The fixture is not valid JSON of the fixture format.
    #[error(
        "{path}: invalid fixture JSON: {source}; see the fixture format in the fake-okta docs"
    )]
    Json {
        /// The fixture file.
        path: PathBuf,
        /// The parse error, with line and column.
        source: serde_json::Error,
    },
    /// A recorded exchange file is not valid YAML of the cassette format.
    #[error("{path}: invalid recorded exchange YAML: {source}")]
    Yaml {
        /// The recording.
        path: PathBuf,
        /// The parse error, with line and column.
        source: serde_yaml_ng::Error,
    },
    /// A user, group or membership was rejected.
    #[error("{path}: {item}: {source}")]
    Object {
        /// The file it came from.
        path: PathBuf,
        /// Which entry, such as `users[3]` or `memberships["Ops"]`.
        item: String,
        /// Why it was rejected.
        source: OrgError,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    users: Vec<Value>,
    #[serde(default)]
    groups: Vec<Value>,
    #[serde(default)]
    memberships: BTreeMap<String, Vec<String>>,
}

/// Loads an org from a JSON fixture file (format in the crate docs).
pub fn load_fixture(path: &Path) -> Result<Org, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|source| LoadError::Json {
        path: path.to_owned(),
        source,
    })?;
    org_from_fixture(value, path)
}

/// Builds an org from fixture JSON already in memory; `path` names the
/// source in errors.
pub fn org_from_fixture(value: Value, path: &Path) -> Result<Org, LoadError> {
    let fixture: Fixture = serde_json::from_value(value).map_err(|source| LoadError::Json {
        path: path.to_owned(),
        source,
    })?;
    let now = Utc::now();
    let at = |item: String| {
        move |source: OrgError| LoadError::Object {
            path: path.to_owned(),
            item,
            source,
        }
    };

    let mut org = if fixture.groups.iter().any(is_everyone) {
        Org::without_everyone(fixture.seed)
    } else {
        Org::new(fixture.seed, now)
    };
    for (index, partial) in fixture.users.into_iter().enumerate() {
        let user = complete_user(&mut org, partial, now).map_err(at(format!("users[{index}]")))?;
        org.insert_user(user)
            .map_err(at(format!("users[{index}]")))?;
    }
    for (index, partial) in fixture.groups.into_iter().enumerate() {
        let group =
            complete_group(&mut org, partial, now).map_err(at(format!("groups[{index}]")))?;
        org.insert_group(group)
            .map_err(at(format!("groups[{index}]")))?;
    }
    for (group, users) in &fixture.memberships {
        let item = format!("memberships[{group:?}]");
        let group_id = group_id_or_name(&org, group).map_err(at(item.clone()))?;
        for user in users {
            let user_id = org
                .user(user)
                .map(|found| found.id().to_owned())
                .ok_or_else(|| OrgError::UserNotFound(user.clone()))
                .map_err(at(item.clone()))?;
            org.add_member(&group_id, &user_id, now)
                .map_err(at(item.clone()))?;
        }
    }
    Ok(org)
}

fn group_id_or_name(org: &Org, key: &str) -> Result<String, OrgError> {
    if let Some(group) = org.group(key) {
        return Ok(group.id().to_owned());
    }
    org.groups_after(None)
        .find(|group| group.name() == key)
        .map(|group| group.id().to_owned())
        .ok_or_else(|| OrgError::GroupNotFound(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(value: Value) -> Result<Org, LoadError> {
        org_from_fixture(value, Path::new("test.json"))
    }

    #[test]
    fn fixture_fills_defaults() {
        let org = load(json!({"users": [{"profile": {"login": "ana@a.example"}}]})).unwrap();
        let user = org.user("ana@a.example").unwrap();
        assert_eq!(user.status(), "ACTIVE");
        assert_eq!(user.id().len(), 20);
    }

    #[test]
    fn memberships_accept_names_and_logins() {
        let org = load(json!({
            "users": [{"profile": {"login": "ana@a.example"}}],
            "groups": [{"profile": {"name": "Ops"}}],
            "memberships": {"Ops": ["ana@a.example"]},
        }))
        .unwrap();
        assert_eq!(org.membership_count(), 1);
    }

    #[test]
    fn unknown_member_named_in_error() {
        let error = load(json!({
            "groups": [{"profile": {"name": "Ops"}}],
            "memberships": {"Ops": ["nobody@a.example"]},
        }))
        .unwrap_err();
        assert!(error.to_string().contains("nobody@a.example"), "{error}");
    }

    #[test]
    fn unknown_field_rejected() {
        let error = load(json!({"user": []})).unwrap_err();
        assert!(matches!(error, LoadError::Json { .. }));
    }

    #[test]
    fn fixture_everyone_replaces_default() {
        let everyone = json!({
            "id": "00geveryone000000001",
            "type": "BUILT_IN",
            "profile": {"name": "Everyone"},
        });
        let org = load(json!({ "groups": [everyone] })).unwrap();
        assert_eq!(
            org.everyone().map(|group| group.id()),
            Some("00geveryone000000001")
        );
        assert_eq!(org.group_count(), 1);
    }
}
