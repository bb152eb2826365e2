//! Orgs rebuilt from recorded Okta exchanges.
//!
//! The recordings are VCR cassettes, as Okta's Python SDK writes them: YAML
//! with `interactions`, each a `request` (`method`, `uri`, `headers`) and a
//! `response` (`status.code`, `headers`, `body.string`). Headers are either a
//! string or a list of strings per name.
//!
//! The org contains every user and group found in a successful response body
//! of `/api/v1/users…` and `/api/v1/groups…` (lists, single objects and
//! creates alike), in the state of its first appearance. Memberships come
//! from `/groups/{id}/users` and `/users/{id}/groups` responses. Deletions are
//! not applied, so the org contains everything the recording ever showed. When
//! several files disagree (two users with one login), the first file in path
//! order wins and the other object is skipped with a warning.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

use super::fixture::LoadError;
use crate::org::{complete_group, complete_user, is_everyone, Org};

/// One recorded request and its response.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedExchange {
    /// The request method, such as `GET`.
    pub method: String,
    /// The full request URL.
    pub uri: String,
    /// The request headers by name, as recorded.
    pub request_headers: BTreeMap<String, Vec<String>>,
    /// The response status code.
    pub status: u16,
    /// The response headers by name, as recorded.
    pub response_headers: BTreeMap<String, Vec<String>>,
    /// The response body, if any.
    pub body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Cassette {
    interactions: Vec<Interaction>,
}

#[derive(Debug, Deserialize)]
struct Interaction {
    request: RawRequest,
    response: RawResponse,
}

#[derive(Debug, Deserialize)]
struct RawRequest {
    method: String,
    uri: String,
    #[serde(default)]
    headers: BTreeMap<String, HeaderValues>,
}

#[derive(Debug, Deserialize)]
struct RawResponse {
    status: RawStatus,
    #[serde(default)]
    headers: BTreeMap<String, HeaderValues>,
    #[serde(default)]
    body: Option<RawBody>,
}

#[derive(Debug, Deserialize)]
struct RawStatus {
    code: u16,
}

#[derive(Debug, Deserialize)]
struct RawBody {
    #[serde(default)]
    string: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum HeaderValues {
    One(String),
    Many(Vec<String>),
}

impl HeaderValues {
    fn into_vec(self) -> Vec<String> {
        match self {
            HeaderValues::One(value) => vec![value],
            HeaderValues::Many(values) => values,
        }
    }
}

fn header_map(raw: BTreeMap<String, HeaderValues>) -> BTreeMap<String, Vec<String>> {
    raw.into_iter()
        .map(|(name, values)| (name.to_ascii_lowercase(), values.into_vec()))
        .collect()
}

/// Reads the exchanges of one cassette file, in recorded order. Header
/// names are lower-cased.
pub fn read_cassette(path: &Path) -> Result<Vec<RecordedExchange>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let cassette: Cassette = serde_yaml_ng::from_str(&text).map_err(|source| LoadError::Yaml {
        path: path.to_owned(),
        source,
    })?;
    let exchanges = cassette
        .interactions
        .into_iter()
        .map(|interaction| RecordedExchange {
            method: interaction.request.method.to_ascii_uppercase(),
            uri: interaction.request.uri,
            request_headers: header_map(interaction.request.headers),
            status: interaction.response.status.code,
            response_headers: header_map(interaction.response.headers),
            body: interaction.response.body.and_then(|body| body.string),
        })
        .collect();
    Ok(exchanges)
}

/// Lists the `.yaml` files under `dir`, subdirectories included, in path order.
pub fn cassette_paths(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|source| LoadError::Read {
            path: current.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| LoadError::Read {
                    path: current.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
            {
                paths.push(path);
            }
        }
    }
    paths.sort();
    Ok(paths)
}

/// Builds an org from every cassette under `dir` (see the module docs).
pub fn from_recorded(dir: &Path) -> Result<Org, LoadError> {
    from_recorded_files(&cassette_paths(dir)?)
}

/// Builds an org from the given cassette files (see the module docs).
pub fn from_recorded_files(paths: &[PathBuf]) -> Result<Org, LoadError> {
    let mut found = Found::default();
    for path in paths {
        for exchange in read_cassette(path)? {
            found.collect(&exchange);
        }
    }
    Ok(found.into_org())
}

/// Objects and memberships gathered from the exchanges, in order of appearance.
#[derive(Default)]
struct Found {
    users: Vec<Value>,
    groups: Vec<Value>,
    seen: HashSet<String>,
    /// (group id, user id or login).
    memberships: Vec<(String, String)>,
}

impl Found {
    fn collect(&mut self, exchange: &RecordedExchange) {
        if !(200..300).contains(&exchange.status) {
            return;
        }
        let Some(body) = exchange
            .body
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
        else {
            return;
        };
        let Ok(url) = url::Url::parse(&exchange.uri) else {
            return;
        };
        let segments: Vec<&str> = url.path().trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["api", "v1", "users"] | ["api", "v1", "users", _] => {
                self.add_all(&body, Kind::User);
            }
            ["api", "v1", "groups"] | ["api", "v1", "groups", _] => {
                self.add_all(&body, Kind::Group);
            }
            ["api", "v1", "users", user, "groups"] => {
                for group in self.add_all(&body, Kind::Group) {
                    self.memberships.push((group, (*user).to_owned()));
                }
            }
            ["api", "v1", "groups", group, "users"] => {
                for user in self.add_all(&body, Kind::User) {
                    self.memberships.push(((*group).to_owned(), user));
                }
            }
            _ => {}
        }
    }

    /// Adds the objects of a body (one object or an array); returns their ids.
    fn add_all(&mut self, body: &Value, kind: Kind) -> Vec<String> {
        let objects = match body {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![body],
            _ => Vec::new(),
        };
        let mut ids = Vec::new();
        for object in objects {
            let Some(id) = object["id"].as_str() else {
                continue;
            };
            ids.push(id.to_owned());
            if self.seen.insert(id.to_owned()) {
                match kind {
                    Kind::User => self.users.push(object.clone()),
                    Kind::Group => self.groups.push(object.clone()),
                }
            }
        }
        ids
    }

    fn into_org(self) -> Org {
        let now = Utc::now();
        let mut org = if self.groups.iter().any(is_everyone) {
            Org::without_everyone(0)
        } else {
            Org::new(0, now)
        };
        for user in self.users {
            let result = complete_user(&mut org, user, now).and_then(|user| org.insert_user(user));
            if let Err(error) = result {
                tracing::warn!(%error, "skipped a recorded user");
            }
        }
        for group in self.groups {
            let result =
                complete_group(&mut org, group, now).and_then(|group| org.insert_group(group));
            if let Err(error) = result {
                tracing::warn!(%error, "skipped a recorded group");
            }
        }
        for (group, user) in self.memberships {
            let Some(user_id) = org.user(&user).map(|user| user.id().to_owned()) else {
                continue;
            };
            if org
                .everyone()
                .is_some_and(|everyone| everyone.id() == group)
            {
                continue;
            }
            if let Err(error) = org.add_member(&group, &user_id, now) {
                tracing::warn!(%error, "skipped a recorded membership");
            }
        }
        org
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    User,
    Group,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/okta-reference/recorded")
    }

    #[test]
    fn cassette_parses() {
        let path = reference_dir().join("TestUsersResource.test_user_pagination.yaml");
        let exchanges = read_cassette(&path).unwrap();
        assert!(exchanges.iter().any(|exchange| exchange.method == "GET"));
    }

    #[test]
    fn pagination_users_loaded() {
        let path = reference_dir().join("TestUsersResource.test_user_pagination.yaml");
        let org = from_recorded_files(&[path]).unwrap();
        assert!(org.user("00usfdsyqnIjEmHNm4x6").is_some());
        assert!(org.user("00usfgmn9xhwtA6f74x6").is_some());
    }

    #[test]
    fn recorded_everyone_kept() {
        let path = reference_dir().join("TestGroupsResource.test_list_groups.yaml");
        let org = from_recorded_files(&[path]).unwrap();
        assert_eq!(
            org.everyone().map(|group| group.id()),
            Some("00gc04qatkiyWnGoq4x6")
        );
    }

    #[test]
    fn recorded_membership_loaded() {
        let path = reference_dir().join("TestGroupsResource.test_group_users_operations.yaml");
        let org = from_recorded_files(&[path]).unwrap();
        assert!(org.is_member("00gsf7bj3rH2d9PvL4x6", "00usfbpcapvcITLwi4x6"));
    }

    #[test]
    fn whole_directory_loads() {
        let org = from_recorded(&reference_dir()).unwrap();
        assert!(org.user_count() >= 5);
        assert!(org.group_count() >= 5);
    }
}
