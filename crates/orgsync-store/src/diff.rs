//! Compares a provider's desired entities with what is stored and decides
//! which to insert, update, delete or leave alone.
//!
//! An entity is *changed* when its body hash differs from the stored one. An
//! entity whose ref another provider already owns is a *conflict*: it is left
//! with its owner and reported. This module does no I/O, so `plan` and
//! `replace_provider_entities` of every backend share it and always agree.

use std::collections::{HashMap, HashSet};

use crate::prepare::PreparedEntity;
use crate::{ChangeSet, Conflict};

/// The stored fields of one entity that diffing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredDigest {
    pub provider: String,
    pub uid: String,
    pub hash: String,
}

/// The rows to write for one provider, with the uid each keeps or gets.
#[derive(Debug, Default)]
pub(crate) struct Diff<'a> {
    /// New entities, to be written with a fresh uid.
    pub inserts: Vec<&'a PreparedEntity>,
    /// Changed entities with the uid they already have.
    pub updates: Vec<(&'a PreparedEntity, String)>,
    /// Refs this provider owns and no longer emits.
    pub deletes: Vec<String>,
    pub unchanged: usize,
    pub conflicts: Vec<Conflict>,
}

impl Diff<'_> {
    /// Summarizes the diff; every list is sorted by ref.
    pub(crate) fn change_set(&self) -> ChangeSet {
        let mut added: Vec<String> = self.inserts.iter().map(|e| e.entity_ref.clone()).collect();
        let mut updated: Vec<String> = self
            .updates
            .iter()
            .map(|(e, _)| e.entity_ref.clone())
            .collect();
        let mut removed = self.deletes.clone();
        let mut conflicts = self.conflicts.clone();
        added.sort();
        updated.sort();
        removed.sort();
        conflicts.sort_by(|a, b| a.entity_ref.cmp(&b.entity_ref));
        ChangeSet {
            added,
            updated,
            removed,
            unchanged: self.unchanged,
            conflicts,
        }
    }

    /// Returns whether applying the diff writes nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.updates.is_empty() && self.deletes.is_empty()
    }
}

/// Diffs `desired` (for `provider`) against `stored`, which contains every
/// stored entity of every provider, keyed by ref.
///
/// When `desired` contains the same ref twice, the first is kept and the rest
/// are dropped with a warning, since one ref can name only one entity.
pub(crate) fn diff<'a>(
    provider: &str,
    desired: &'a [PreparedEntity],
    stored: &HashMap<String, StoredDigest>,
) -> Diff<'a> {
    let mut result = Diff::default();
    let mut seen: HashSet<&str> = HashSet::with_capacity(desired.len());

    for entity in desired {
        if !seen.insert(entity.entity_ref.as_str()) {
            tracing::warn!(
                provider,
                entity_ref = %entity.entity_ref,
                "dropping a second entity with the same ref; the first one is kept"
            );
            continue;
        }
        match stored.get(&entity.entity_ref) {
            None => result.inserts.push(entity),
            Some(digest) if digest.provider != provider => {
                tracing::debug!(
                    provider,
                    owner = %digest.provider,
                    entity_ref = %entity.entity_ref,
                    "leaving an entity with the provider that owns it"
                );
                result.conflicts.push(Conflict {
                    entity_ref: entity.entity_ref.clone(),
                    owner: digest.provider.clone(),
                });
            }
            Some(digest) if digest.hash == entity.hash => result.unchanged += 1,
            Some(digest) => result.updates.push((entity, digest.uid.clone())),
        }
    }

    for (entity_ref, digest) in stored {
        if digest.provider == provider && !seen.contains(entity_ref.as_str()) {
            result.deletes.push(entity_ref.clone());
        }
    }
    result.deletes.sort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::prepare_entity;
    use orgsync_model::{Entity, EntityMetadata};
    use serde_json::json;

    fn prepared(name: &str, title: &str) -> PreparedEntity {
        let entity = Entity {
            api_version: "backstage.io/v1alpha1".to_string(),
            kind: "User".to_string(),
            metadata: EntityMetadata {
                name: name.to_string(),
                namespace: "default".to_string(),
                title: Some(title.to_string()),
                ..EntityMetadata::default()
            },
            spec: json!({}),
            relations: Vec::new(),
        };
        prepare_entity(&entity).unwrap()
    }

    fn stored_from(provider: &str, entities: &[PreparedEntity]) -> HashMap<String, StoredDigest> {
        entities
            .iter()
            .map(|e| {
                let digest = StoredDigest {
                    provider: provider.to_string(),
                    uid: format!("uid-{}", e.entity_ref),
                    hash: e.hash.clone(),
                };
                (e.entity_ref.clone(), digest)
            })
            .collect()
    }

    #[test]
    fn sorts_into_added_updated_removed() {
        let before = [
            prepared("keep", "K"),
            prepared("edit", "E1"),
            prepared("gone", "G"),
        ];
        let after = [
            prepared("keep", "K"),
            prepared("edit", "E2"),
            prepared("new", "N"),
        ];
        let stored = stored_from("okta", &before);
        let changes = diff("okta", &after, &stored).change_set();
        assert_eq!(changes.added, vec!["user:default/new"]);
        assert_eq!(changes.updated, vec!["user:default/edit"]);
        assert_eq!(changes.removed, vec!["user:default/gone"]);
        assert_eq!(changes.unchanged, 1);
    }

    #[test]
    fn update_keeps_stored_uid() {
        let stored = stored_from("okta", &[prepared("edit", "E1")]);
        let after = [prepared("edit", "E2")];
        let result = diff("okta", &after, &stored);
        assert_eq!(result.updates[0].1, "uid-user:default/edit");
    }

    #[test]
    fn other_providers_entity_is_conflict() {
        let stored = stored_from("first", &[prepared("shared", "S")]);
        let after = [prepared("shared", "S2")];
        let changes = diff("second", &after, &stored).change_set();
        assert_eq!(
            changes.conflicts,
            vec![Conflict {
                entity_ref: "user:default/shared".to_string(),
                owner: "first".to_string()
            }]
        );
        assert!(changes.updated.is_empty());
    }

    #[test]
    fn other_providers_entity_is_not_removed() {
        let stored = stored_from("first", &[prepared("theirs", "T")]);
        let changes = diff("second", &[], &stored).change_set();
        assert!(changes.removed.is_empty());
    }

    #[test]
    fn duplicate_ref_keeps_first() {
        let after = [prepared("dup", "First"), prepared("DUP", "Second")];
        let result = diff("okta", &after, &HashMap::new());
        assert_eq!(result.inserts.len(), 1);
        assert_eq!(result.inserts[0].name, "dup");
    }

    #[test]
    fn unchanged_only_diff_is_empty() {
        let before = [prepared("keep", "K")];
        let stored = stored_from("okta", &before);
        assert!(diff("okta", &before, &stored).is_empty());
    }
}
