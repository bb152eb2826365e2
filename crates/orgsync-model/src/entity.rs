//! The Backstage entity envelope, as Backstage's catalog stores and serves it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The `apiVersion` of every entity orgsync writes.
pub const API_VERSION: &str = "backstage.io/v1alpha1";

/// The namespace orgsync puts its entities in.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A Backstage catalog entity (`apiVersion`, `kind`, `metadata`, `spec`).
///
/// `relations` are derived by the store from `spec` and are not part of what
/// a provider emits; they are filled in when an entity is read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub api_version: String,
    pub kind: String,
    pub metadata: EntityMetadata,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub spec: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<Relation>,
}

/// The `metadata` block of an entity.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityMetadata {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Assigned by the store when the entity is first written; stable after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Assigned by the store; changes whenever the stored entity changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

fn default_namespace() -> String {
    DEFAULT_NAMESPACE.to_string()
}

/// A relation between two entities, in Backstage's shape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    /// `memberOf`, `hasMember`, `parentOf` or `childOf`.
    #[serde(rename = "type")]
    pub relation_type: String,
    /// The ref of the other entity, lower-cased (`group:default/platform`).
    pub target_ref: String,
}

/// A parsed entity ref: `kind:namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl EntityRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        EntityRef {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// Parses `kind:namespace/name`, `kind:name` (default namespace), or a
    /// bare `name` when `default_kind` is given, as Backstage's `parseEntityRef` does.
    pub fn parse(text: &str, default_kind: Option<&str>) -> Option<EntityRef> {
        let (kind, rest) = match text.split_once(':') {
            Some((kind, rest)) => (kind, rest),
            None => (default_kind?, text),
        };
        let (namespace, name) = match rest.split_once('/') {
            Some((namespace, name)) => (namespace, name),
            None => (DEFAULT_NAMESPACE, rest),
        };
        if kind.is_empty() || namespace.is_empty() || name.is_empty() {
            return None;
        }
        Some(EntityRef::new(kind, namespace, name))
    }

    /// The comparison key: the ref lower-cased, as Backstage compares refs.
    pub fn key(&self) -> String {
        self.to_string().to_lowercase()
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

impl Entity {
    pub fn entity_ref(&self) -> EntityRef {
        EntityRef::new(&self.kind, &self.metadata.namespace, &self.metadata.name)
    }
}
