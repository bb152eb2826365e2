//! The Okta records a sync reads: users and groups as the Management API
//! returns them, keeping the whole profile so that any attribute can be mapped.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An Okta user (`GET /api/v1/users`), with only the fields orgsync reads
/// typed; the profile keeps every attribute, custom ones included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaUser {
    pub id: String,
    /// `STAGED`, `PROVISIONED`, `ACTIVE`, `RECOVERY`, `PASSWORD_EXPIRED`,
    /// `LOCKED_OUT`, `SUSPENDED` or `DEPROVISIONED`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub profile: Map<String, Value>,
}

/// An Okta group (`GET /api/v1/groups`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaGroup {
    pub id: String,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`.
    #[serde(rename = "type", default)]
    pub group_type: String,
    #[serde(default)]
    pub profile: Map<String, Value>,
}

impl OktaUser {
    /// A string profile attribute, when present and a string.
    pub fn profile_str(&self, attribute: &str) -> Option<&str> {
        self.profile.get(attribute).and_then(Value::as_str)
    }

    /// Drops every profile attribute not in `attributes`. The profile is
    /// rebuilt, not filtered in place, so the dropped capacity is freed.
    pub fn keep_profile_attributes(&mut self, attributes: &BTreeSet<String>) {
        self.profile = std::mem::take(&mut self.profile)
            .into_iter()
            .filter(|(attribute, _)| attributes.contains(attribute))
            .collect();
    }
}

impl OktaGroup {
    /// A string profile attribute, when present and a string.
    pub fn profile_str(&self, attribute: &str) -> Option<&str> {
        self.profile.get(attribute).and_then(Value::as_str)
    }
}
