//! Derives an entity's relations from its `spec`, as Backstage's built-in
//! kinds processor does.
//!
//! Terms:
//! - *originating entity*: the entity whose `spec` names the relation. Each
//!   stored relation row records it, so that rewriting or deleting that entity
//!   replaces exactly the rows it produced.
//! - Every relation is stored in both directions: a `User` whose
//!   `spec.memberOf` lists a group yields `user memberOf group` and
//!   `group hasMember user`. Relations to entities that are not in the catalog
//!   are kept too, because Backstage derives them the same way.
//!
//! Targets are lower-cased refs. A target written without a kind gets the
//! kind the field implies (`group` for `memberOf`, `parent` and `children`,
//! `user` for `members`), and one without a namespace gets the namespace of
//! the originating entity.

use std::collections::BTreeSet;

use orgsync_model::EntityRef;
use serde_json::Value;

pub(crate) const MEMBER_OF: &str = "memberOf";
pub(crate) const HAS_MEMBER: &str = "hasMember";
pub(crate) const PARENT_OF: &str = "parentOf";
pub(crate) const CHILD_OF: &str = "childOf";

/// One directed relation as stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RelationRow {
    pub source_ref: String,
    pub relation_type: &'static str,
    pub target_ref: String,
}

/// A `spec` field that names other entities, and the relations it yields.
struct RelationField {
    pointer: &'static str,
    default_kind: &'static str,
    /// From the originating entity to the target.
    forward: &'static str,
    /// From the target back to the originating entity.
    reverse: &'static str,
}

const USER_FIELDS: &[RelationField] = &[RelationField {
    pointer: "/spec/memberOf",
    default_kind: "group",
    forward: MEMBER_OF,
    reverse: HAS_MEMBER,
}];

const GROUP_FIELDS: &[RelationField] = &[
    RelationField {
        pointer: "/spec/members",
        default_kind: "user",
        forward: HAS_MEMBER,
        reverse: MEMBER_OF,
    },
    RelationField {
        pointer: "/spec/parent",
        default_kind: "group",
        forward: CHILD_OF,
        reverse: PARENT_OF,
    },
    RelationField {
        pointer: "/spec/children",
        default_kind: "group",
        forward: PARENT_OF,
        reverse: CHILD_OF,
    },
];

/// Derives the relation rows that the entity with ref `entity_ref` (already
/// lower-cased) originates, sorted and without duplicates.
///
/// Kinds other than `User` and `Group` yield none.
pub(crate) fn derive_relations(entity_ref: &str, body: &Value) -> Vec<RelationRow> {
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    let fields = if kind.eq_ignore_ascii_case("user") {
        USER_FIELDS
    } else if kind.eq_ignore_ascii_case("group") {
        GROUP_FIELDS
    } else {
        return Vec::new();
    };
    let namespace = body
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(orgsync_model::entity::DEFAULT_NAMESPACE);

    let mut rows = BTreeSet::new();
    for field in fields {
        for target in field_targets(body.pointer(field.pointer)) {
            let Some(target_ref) = target_key(target, field.default_kind, namespace) else {
                tracing::debug!(entity_ref, target, "skipping relation to an unparsable ref");
                continue;
            };
            rows.insert(RelationRow {
                source_ref: entity_ref.to_string(),
                relation_type: field.forward,
                target_ref: target_ref.clone(),
            });
            rows.insert(RelationRow {
                source_ref: target_ref,
                relation_type: field.reverse,
                target_ref: entity_ref.to_string(),
            });
        }
    }
    rows.into_iter().collect()
}

/// Returns the strings in a relation field, one for `spec.parent` and a list
/// for the others. Values of other types are ignored, because entity
/// validation rejects them before they reach the store.
fn field_targets(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(target)) => vec![target.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn target_key(target: &str, default_kind: &str, namespace: &str) -> Option<String> {
    let mut parsed = EntityRef::parse(target.trim(), Some(default_kind))?;
    let name_part = target.split_once(':').map_or(target, |(_, rest)| rest);
    if !name_part.contains('/') {
        parsed.namespace = namespace.to_string();
    }
    Some(parsed.key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(source: &str, relation_type: &'static str, target: &str) -> RelationRow {
        RelationRow {
            source_ref: source.to_string(),
            relation_type,
            target_ref: target.to_string(),
        }
    }

    #[test]
    fn user_member_of_yields_both_directions() {
        let body = json!({"kind": "User", "metadata": {"name": "a"},
            "spec": {"memberOf": ["group:default/Team"]}});
        let rows = derive_relations("user:default/a", &body);
        assert_eq!(
            rows,
            vec![
                row("group:default/team", HAS_MEMBER, "user:default/a"),
                row("user:default/a", MEMBER_OF, "group:default/team"),
            ]
        );
    }

    #[test]
    fn group_fields_yield_all_relations() {
        let body = json!({"kind": "Group", "metadata": {"name": "g"},
            "spec": {"members": ["bob"], "parent": "top", "children": ["sub"]}});
        let rows = derive_relations("group:default/g", &body);
        assert_eq!(
            rows,
            vec![
                row("group:default/g", CHILD_OF, "group:default/top"),
                row("group:default/g", HAS_MEMBER, "user:default/bob"),
                row("group:default/g", PARENT_OF, "group:default/sub"),
                row("group:default/sub", CHILD_OF, "group:default/g"),
                row("group:default/top", PARENT_OF, "group:default/g"),
                row("user:default/bob", MEMBER_OF, "group:default/g"),
            ]
        );
    }

    #[test]
    fn short_target_takes_own_namespace() {
        let body = json!({"kind": "User", "metadata": {"name": "a", "namespace": "ops"},
            "spec": {"memberOf": ["team"]}});
        let rows = derive_relations("user:ops/a", &body);
        assert_eq!(rows[0].source_ref, "group:ops/team");
    }

    #[test]
    fn explicit_namespace_is_kept() {
        let body = json!({"kind": "User", "metadata": {"name": "a", "namespace": "ops"},
            "spec": {"memberOf": ["group:default/team"]}});
        let rows = derive_relations("user:ops/a", &body);
        assert_eq!(rows[0].source_ref, "group:default/team");
    }

    #[test]
    fn duplicate_targets_yield_one_row() {
        let body = json!({"kind": "User", "metadata": {"name": "a"},
            "spec": {"memberOf": ["team", "group:default/TEAM"]}});
        assert_eq!(derive_relations("user:default/a", &body).len(), 2);
    }

    #[test]
    fn unparsable_targets_are_skipped() {
        let body = json!({"kind": "User", "metadata": {"name": "a"},
            "spec": {"memberOf": ["", "group:/x", 7]}});
        assert!(derive_relations("user:default/a", &body).is_empty());
    }

    #[test]
    fn other_kinds_yield_none() {
        let body = json!({"kind": "Component", "metadata": {"name": "c"},
            "spec": {"memberOf": ["team"]}});
        assert!(derive_relations("component:default/c", &body).is_empty());
    }
}
