//! Selection: which users and groups of a snapshot are ingested, and which
//! memberships between them remain.
//!
//! A user or group is *ingested* when an entity is built for it. A
//! membership is kept only when both its group and its user are ingested.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use tracing::debug;

use super::report::Report;
use super::OktaSnapshot;
use crate::okta::{OktaGroup, OktaUser};
use crate::options::SelectionOptions;

/// The Okta group type of groups Okta manages itself, such as Everyone.
const BUILT_IN: &str = "BUILT_IN";

/// The Okta status of users who were deactivated.
const DEPROVISIONED: &str = "DEPROVISIONED";

/// The ingested records, each list sorted by Okta id.
#[derive(Debug)]
pub(super) struct Selection<'a> {
    pub users: Vec<&'a OktaUser>,
    pub groups: Vec<&'a OktaGroup>,
    /// Ingested group id to the ids of its ingested members.
    pub members: BTreeMap<&'a str, BTreeSet<&'a str>>,
}

pub(super) fn select<'a>(
    snapshot: &'a OktaSnapshot,
    options: &SelectionOptions,
    report: &mut Report,
) -> Selection<'a> {
    let users = unique_by_id(&snapshot.users, |user| &user.id, "user", report);
    report.skipped_users += snapshot.users.len() - users.len();
    let groups = unique_by_id(&snapshot.groups, |group| &group.id, "group", report);
    report.skipped_groups += snapshot.groups.len() - groups.len();

    let groups = select_groups(groups, options, report);
    let known_users: HashSet<&str> = users.iter().map(|user| user.id.as_str()).collect();
    let listed = listed_members(snapshot, &groups, &known_users, report);

    let users = select_users(users, &listed, options, report);
    let ingested: HashSet<&str> = users.iter().map(|user| user.id.as_str()).collect();
    let members = keep_ingested_members(listed, &ingested, report);

    Selection {
        users,
        groups,
        members,
    }
}

/// Keeps the first record for each Okta id, sorted by id, warning about
/// later duplicates and records without an id.
fn unique_by_id<'a, T>(
    records: &'a [T],
    id_of: impl Fn(&T) -> &String,
    what: &str,
    report: &mut Report,
) -> Vec<&'a T> {
    let mut seen = HashSet::new();
    let mut unique = Vec::with_capacity(records.len());
    for record in records {
        let id = id_of(record);
        if id.trim().is_empty() {
            report.warn("", format!("a {what} without an Okta id was left out"));
        } else if !seen.insert(id.as_str()) {
            report.warn(
                id,
                format!("the {what} is listed more than once; the first record was kept"),
            );
        } else {
            unique.push(record);
        }
    }
    unique.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    unique
}

fn select_groups<'a>(
    groups: Vec<&'a OktaGroup>,
    options: &SelectionOptions,
    report: &mut Report,
) -> Vec<&'a OktaGroup> {
    if options.include_built_in_groups {
        return groups;
    }
    let before = groups.len();
    let groups: Vec<&OktaGroup> = groups
        .into_iter()
        .filter(|group| !group.group_type.eq_ignore_ascii_case(BUILT_IN))
        .collect();
    report.skipped_groups += before - groups.len();
    debug!(skipped = before - groups.len(), "left out built-in groups");
    groups
}

/// Collects the members listed for each selected group that are users in
/// the snapshot, counting those that are not.
fn listed_members<'a>(
    snapshot: &'a OktaSnapshot,
    groups: &[&'a OktaGroup],
    known_users: &HashSet<&str>,
    report: &mut Report,
) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let mut listed = BTreeMap::new();
    for group in groups {
        let member_ids = snapshot.members.get(&group.id).map(Vec::as_slice);
        let mut members = BTreeSet::new();
        for member_id in member_ids.unwrap_or_default() {
            if known_users.contains(member_id.as_str()) {
                members.insert(member_id.as_str());
            } else {
                report.unknown_members += 1;
            }
        }
        listed.insert(group.id.as_str(), members);
    }
    listed
}

fn select_users<'a>(
    users: Vec<&'a OktaUser>,
    listed: &BTreeMap<&str, BTreeSet<&str>>,
    options: &SelectionOptions,
    report: &mut Report,
) -> Vec<&'a OktaUser> {
    let in_some_group: HashSet<&str> = listed.values().flatten().copied().collect();
    let before = users.len();
    let users: Vec<&OktaUser> = users
        .into_iter()
        .filter(|user| {
            options.include_deprovisioned || !user.status.eq_ignore_ascii_case(DEPROVISIONED)
        })
        .filter(|user| !options.only_group_members || in_some_group.contains(user.id.as_str()))
        .collect();
    report.skipped_users += before - users.len();
    debug!(
        skipped = before - users.len(),
        "left out users by status and membership"
    );
    users
}

/// Removes memberships of users that were not ingested, counting them.
fn keep_ingested_members<'a>(
    mut listed: BTreeMap<&'a str, BTreeSet<&'a str>>,
    ingested: &HashSet<&str>,
    report: &mut Report,
) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    for members in listed.values_mut() {
        let before = members.len();
        members.retain(|member_id| ingested.contains(member_id));
        report.dropped_memberships += before - members.len();
    }
    listed
}
