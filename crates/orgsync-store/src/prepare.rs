//! Turns the entities a provider emits into the values a store writes.
//!
//! Terms:
//! - *body*: the entity JSON as the provider emitted it, minus `relations`,
//!   `metadata.uid` and `metadata.etag`, which the store owns.
//! - *hash*: SHA-256 (hex) of the body's canonical JSON, which has object keys
//!   sorted at every level and no whitespace. Two bodies with the same content
//!   have the same hash whatever order their keys were built in, so comparing
//!   hashes shows whether an entity changed.
//! - *etag*: a version tag that changes whenever the stored body changes.
//!
//! This module does no I/O, so every backend shares it.

use std::fmt::Write as _;

use orgsync_model::Entity;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// One desired entity, ready to be compared with what is stored and written.
#[derive(Debug, Clone)]
pub(crate) struct PreparedEntity {
    /// The lower-cased `kind:namespace/name`, the primary key.
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// The body serialized in the provider's key order, as stored.
    pub body_text: String,
    pub hash: String,
    /// Lower-cased name, title, display name and email, one per line.
    pub search_text: String,
}

/// A provider's desired entities, serialized and hashed once so that
/// planning and applying the same run share the work.
#[derive(Debug, Clone, Default)]
pub struct PreparedEntities {
    entities: Vec<PreparedEntity>,
}

impl PreparedEntities {
    /// Prepares `desired`, dropping each entity once it is prepared.
    ///
    /// Fails on the first entity with an empty kind, namespace or name,
    /// because such an entity has no usable ref.
    pub fn prepare(desired: Vec<Entity>) -> Result<PreparedEntities, StoreError> {
        let mut entities = Vec::with_capacity(desired.len());
        for entity in desired {
            entities.push(prepare_entity(&entity)?);
        }
        Ok(PreparedEntities { entities })
    }

    /// Prepares borrowed entities, for callers that keep them.
    pub fn prepare_slice(desired: &[Entity]) -> Result<PreparedEntities, StoreError> {
        let entities = desired
            .iter()
            .map(prepare_entity)
            .collect::<Result<_, _>>()?;
        Ok(PreparedEntities { entities })
    }

    /// Returns the number of entities.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    pub(crate) fn entities(&self) -> &[PreparedEntity] {
        &self.entities
    }
}

/// Prepares one entity for storing.
///
/// Fails when the entity has an empty kind, namespace or name, because such
/// an entity has no usable ref.
pub(crate) fn prepare_entity(entity: &Entity) -> Result<PreparedEntity, StoreError> {
    let entity_ref = entity.entity_ref();
    let key = entity_ref.key();
    check_ref_part(&key, "kind", &entity_ref.kind)?;
    check_ref_part(&key, "metadata.namespace", &entity_ref.namespace)?;
    check_ref_part(&key, "metadata.name", &entity_ref.name)?;

    let mut body = serde_json::to_value(entity).map_err(|source| StoreError::Encode {
        entity_ref: key.clone(),
        source,
    })?;
    strip_store_fields(&mut body);

    let body_text = body.to_string();
    let hash = sha256_hex(canonical_json(&body).as_bytes());
    let search_text = search_text(&body);
    Ok(PreparedEntity {
        entity_ref: key,
        kind: entity_ref.kind,
        namespace: entity_ref.namespace,
        name: entity_ref.name,
        body_text,
        hash,
        search_text,
    })
}

impl PreparedEntity {
    /// Parses the body back from its text, to derive relation and search
    /// rows. Only the text is kept between planning and writing, because a
    /// parsed body takes several times its memory.
    pub(crate) fn body(&self) -> Result<Value, StoreError> {
        serde_json::from_str(&self.body_text).map_err(|source| StoreError::Decode {
            entity_ref: self.entity_ref.clone(),
            source,
        })
    }
}

fn check_ref_part(entity_ref: &str, field: &str, value: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        return Err(StoreError::InvalidEntity {
            entity_ref: entity_ref.to_string(),
            reason: format!("{field} is empty; every entity needs a kind, namespace and name"),
        });
    }
    Ok(())
}

/// Removes the fields the store assigns, so that what a caller passes in for
/// them (for example an entity read back from the store) does not count as
/// content.
fn strip_store_fields(body: &mut Value) {
    if let Some(object) = body.as_object_mut() {
        object.remove("relations");
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("uid");
            metadata.remove("etag");
        }
    }
}

/// Serializes `value` with object keys sorted at every level.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(object) => {
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Computes the etag of a stored entity from its uid and body hash.
///
/// Mixing in the uid keeps etags distinct between entities with equal
/// bodies. The etag covers the body only: a relation that appears because
/// another entity changed leaves it as it is.
pub(crate) fn etag(uid: &str, hash: &str) -> String {
    let mut digest = sha256_hex(format!("{uid}\n{hash}").as_bytes());
    digest.truncate(32);
    digest
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest.iter() {
        // `fmt::Write` for `String` never returns an error.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Collects the fields that `EntityQuery::text` matches, lower-cased.
fn search_text(body: &Value) -> String {
    let pointers = [
        "/metadata/name",
        "/metadata/title",
        "/spec/profile/displayName",
        "/spec/profile/email",
    ];
    let mut parts = Vec::with_capacity(pointers.len());
    for pointer in pointers {
        if let Some(text) = body.pointer(pointer).and_then(Value::as_str) {
            parts.push(text.to_lowercase());
        }
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsync_model::EntityMetadata;
    use serde_json::json;

    fn user(name: &str, spec: Value) -> Entity {
        Entity {
            api_version: "backstage.io/v1alpha1".to_string(),
            kind: "User".to_string(),
            metadata: EntityMetadata {
                name: name.to_string(),
                namespace: "default".to_string(),
                ..EntityMetadata::default()
            },
            spec,
            relations: Vec::new(),
        }
    }

    #[test]
    fn ref_is_lower_cased() {
        let prepared = prepare_entity(&user("Alice", json!({}))).unwrap();
        assert_eq!(prepared.entity_ref, "user:default/alice");
    }

    #[test]
    fn hash_ignores_key_order() {
        let first = user(
            "a",
            json!({"profile": {"email": "a@x", "displayName": "A"}}),
        );
        let second = user(
            "a",
            json!({"profile": {"displayName": "A", "email": "a@x"}}),
        );
        let first = prepare_entity(&first).unwrap();
        let second = prepare_entity(&second).unwrap();
        assert_eq!(first.hash, second.hash);
    }

    #[test]
    fn hash_changes_with_content() {
        let first = prepare_entity(&user("a", json!({"memberOf": ["x"]}))).unwrap();
        let second = prepare_entity(&user("a", json!({"memberOf": ["y"]}))).unwrap();
        assert_ne!(first.hash, second.hash);
    }

    #[test]
    fn hash_ignores_store_fields() {
        let plain = user("a", json!({}));
        let mut stamped = plain.clone();
        stamped.metadata.uid = Some("some-uid".to_string());
        stamped.metadata.etag = Some("some-etag".to_string());
        stamped.relations.push(orgsync_model::Relation {
            relation_type: "memberOf".to_string(),
            target_ref: "group:default/x".to_string(),
        });
        let plain = prepare_entity(&plain).unwrap();
        let stamped = prepare_entity(&stamped).unwrap();
        assert_eq!(plain.hash, stamped.hash);
        assert_eq!(plain.body_text, stamped.body_text);
    }

    #[test]
    fn body_keeps_provider_key_order() {
        let prepared = prepare_entity(&user("a", json!({"z": 1, "a": 2}))).unwrap();
        assert!(prepared.body_text.contains(r#"{"z":1,"a":2}"#));
    }

    #[test]
    fn body_parses_back_from_text() {
        let entity = user("a", json!({"profile": {"email": "a@x"}, "memberOf": ["g"]}));
        let prepared = prepare_entity(&entity).unwrap();
        let mut expected = serde_json::to_value(&entity).unwrap();
        strip_store_fields(&mut expected);
        assert_eq!(prepared.body().unwrap(), expected);
    }

    #[test]
    fn canonical_json_sorts_nested_keys() {
        let value = json!({"b": [{"y": 1, "x": "é"}], "a": null});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":null,"b":[{"x":"é","y":1}]}"#
        );
    }

    #[test]
    fn empty_name_is_rejected() {
        let result = prepare_entity(&user("", json!({})));
        assert!(matches!(result, Err(StoreError::InvalidEntity { .. })));
    }

    #[test]
    fn search_text_collects_profile_fields() {
        let mut entity = user(
            "alice",
            json!({"profile": {"displayName": "Alice Ämmä", "email": "Alice@Example.com"}}),
        );
        entity.metadata.title = Some("Dr Alice".to_string());
        let prepared = prepare_entity(&entity).unwrap();
        assert_eq!(
            prepared.search_text,
            "alice\ndr alice\nalice ämmä\nalice@example.com"
        );
    }

    #[test]
    fn etag_differs_between_uids() {
        assert_ne!(etag("uid-1", "hash"), etag("uid-2", "hash"));
    }

    #[test]
    fn etag_changes_with_hash() {
        assert_ne!(etag("uid", "hash-1"), etag("uid", "hash-2"));
    }
}
