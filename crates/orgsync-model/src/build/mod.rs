//! Building Backstage entities from what a sync read from Okta.
//!
//! The steps, each in its own module:
//! 1. `select`: drop duplicate records, built-in groups, deprovisioned
//!    users and non-members as the [`SelectionOptions`] say, and resolve
//!    memberships to ingested users;
//! 2. `hierarchy`: resolve each group's parent from a profile attribute
//!    and break cycles;
//! 3. drop empty groups when `keep_empty_groups` is off;
//! 4. `entities`: name every record and build its `User` or `Group`
//!    entity.
//!
//! Nothing here logs above debug level: problems with single records are
//! returned as [`BuildWarning`]s for the caller to report once.

mod entities;
mod hierarchy;
mod report;
mod select;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};
use tracing::debug;

use crate::okta::{OktaGroup, OktaUser};
use crate::options::{SelectionOptions, TransformOptions};
use crate::Entity;

use report::Report;

/// What a sync read from Okta.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OktaSnapshot {
    pub users: Vec<OktaUser>,
    pub groups: Vec<OktaGroup>,
    /// Group id to member user ids, as listed by `/groups/{id}/users`.
    #[serde(default)]
    pub members: HashMap<String, Vec<String>>,
}

/// The entities built from a snapshot, with what was left out and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildOutput {
    /// `User` and `Group` entities, sorted by entity ref.
    pub entities: Vec<Entity>,
    /// Problems with single records or options, sorted by Okta id.
    pub warnings: Vec<BuildWarning>,
    /// Users in the snapshot that were not ingested (deprovisioned,
    /// not a member of an ingested group, duplicate or without an id).
    pub skipped_users: usize,
    /// Groups in the snapshot that were not ingested (built-in, empty,
    /// duplicate or without an id).
    pub skipped_groups: usize,
    /// Memberships of ingested groups left out because the user exists in
    /// the snapshot but was not ingested.
    pub dropped_memberships: usize,
    /// Member ids listed for ingested groups that are not users in the
    /// snapshot.
    pub unknown_members: usize,
}

/// A problem with one Okta record, or with the options when `okta_id` is
/// empty. The entities are still built; the record or value at fault is
/// left out or replaced as the message says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BuildWarning {
    /// The Okta id of the user or group at fault; empty for a problem with
    /// the options.
    pub okta_id: String,
    pub message: String,
}

impl fmt::Display for BuildWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.okta_id.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "Okta record {}: {}", self.okta_id, self.message)
        }
    }
}

/// Builds the `User` and `Group` entities for a snapshot.
///
/// Pure and deterministic: the same records in any order give the same
/// output, except that of two records with the same Okta id the first one
/// listed is kept.
pub fn build_entities(
    snapshot: &OktaSnapshot,
    selection: &SelectionOptions,
    options: &TransformOptions,
) -> BuildOutput {
    let mut report = Report::default();

    let mut selected = select::select(snapshot, selection, &mut report);
    let mut parents = hierarchy::resolve_parents(
        &selected.groups,
        options.parent_group_attribute.as_deref(),
        &mut report,
    );
    if !options.keep_empty_groups {
        drop_empty_groups(&mut selected, &mut parents, &mut report);
    }

    let mut entities = entities::build(&selected, &parents, options, &mut report);
    entities.sort_by_cached_key(|entity| entity.entity_ref().key());

    debug!(
        entities = entities.len(),
        warnings = report.warnings.len(),
        "built entities from the Okta snapshot"
    );
    report.finish(entities)
}

/// Drops groups with no ingested member in them or in any group below
/// them; a group that only holds non-empty child groups is kept, so the
/// hierarchy stays whole.
fn drop_empty_groups(
    selected: &mut select::Selection<'_>,
    parents: &mut hierarchy::Parents,
    report: &mut Report,
) {
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for group in &selected.groups {
        let has_members = selected
            .members
            .get(group.id.as_str())
            .is_some_and(|members| !members.is_empty());
        if !has_members {
            continue;
        }
        // The parent map is acyclic, so the walk ends at a root.
        let mut current = Some(group.id.clone());
        while let Some(id) = current {
            if !keep.insert(id.clone()) {
                break;
            }
            current = parents.get(&id).cloned();
        }
    }

    let before = selected.groups.len();
    selected.groups.retain(|group| keep.contains(&group.id));
    parents.retain(|child, _| keep.contains(child));
    report.skipped_groups += before - selected.groups.len();
    debug!(
        dropped = before - selected.groups.len(),
        "dropped empty groups"
    );
}
