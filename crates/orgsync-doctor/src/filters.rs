//! The filter checks: `userSearchFilter` and `groupFilter` as Okta runs
//! them.
//!
//! The config loader already parsed both expressions, but Okta rejects some
//! that parse (such as `co` on an attribute it does not support) with
//! `400 E0000031` and a cause. Groups are selected exactly as a sync selects
//! them: by search, by configured names resolved with the sync engine's own
//! rules, and without built-in groups unless `includeBuiltInGroups` is set.

use std::collections::HashSet;

use orgsync_config::GroupFilter;
use orgsync_okta::{Endpoint, GroupWithStats, OktaError, GROUPS_PAGE_SIZE};
use orgsync_sync::{match_group_names, name_batches};

use crate::access::BUILT_IN;
use crate::report::CheckId;
use crate::run::Run;

/// The groups a sync would read.
#[derive(Debug, Clone, Default)]
pub(crate) struct SelectedGroups {
    /// The selected groups with their member counts.
    pub(crate) groups: Vec<GroupWithStats>,
    /// The group listing requests a sync sends (pages of every search).
    pub(crate) requests: u64,
    /// Every group Okta listed to the app, when the filter lists them all.
    pub(crate) all_visible: Option<usize>,
    /// Configured group names that match no group.
    pub(crate) unmatched_names: Vec<String>,
    /// Notes about names that match only when case is ignored.
    pub(crate) name_warnings: Vec<String>,
}

/// The users a sync would read, as a one-record probe shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SelectedUsers {
    /// Whether Okta returned at least one user.
    pub(crate) any: bool,
}

/// Records `filters.users`: one request with the filter and `limit=1`.
pub(crate) async fn check_users(run: &mut Run<'_>) -> Result<SelectedUsers, CheckId> {
    let filter = run.provider.user_search_filter.clone();
    let mut query = vec![("limit", "1")];
    if let Some(filter) = &filter {
        query.push(("search", filter.as_str()));
    }
    let response = match run
        .get(Endpoint::Users, &["api", "v1", "users"], &query)
        .await
    {
        Ok(response) => response,
        Err(error) => {
            let (detail, fix) = rejected_text(&error, "userSearchFilter");
            run.checks.fail(CheckId::UserFilter, detail, fix);
            return Err(CheckId::UserFilter);
        }
    };
    let any = response
        .body
        .as_array()
        .is_some_and(|users| !users.is_empty());
    record_users(run, filter.as_deref(), any)?;
    Ok(SelectedUsers { any })
}

fn record_users(run: &mut Run<'_>, filter: Option<&str>, any: bool) -> Result<(), CheckId> {
    match (filter, any) {
        (Some(filter), true) => run.checks.pass(
            CheckId::UserFilter,
            format!("Okta accepts `{filter}` and it selects users"),
        ),
        (Some(filter), false) => {
            run.checks.fail(
                CheckId::UserFilter,
                format!(
                    "`{filter}` selects no user, so a sync would remove every user from the \
                     catalog"
                ),
                "check the attribute names and values against a user in Okta (Directory > \
                 People > the user > Profile); values compare case-insensitively",
            );
            return Err(CheckId::UserFilter);
        }
        (None, true) => run.checks.pass(
            CheckId::UserFilter,
            "no userSearchFilter: a sync reads every user except DEPROVISIONED ones",
        ),
        (None, false) => run.checks.warn(
            CheckId::UserFilter,
            "Okta lists no user to the app",
            "add users in Okta, or check the app's admin role (app.resources)",
        ),
    }
    Ok(())
}

/// Records `filters.groups` and returns the groups a sync would read.
pub(crate) async fn check_groups(run: &mut Run<'_>) -> Result<SelectedGroups, CheckId> {
    let filter = run.provider.group_filter.clone();
    let listed = match &filter {
        None => list(run, None).await,
        Some(GroupFilter::Search(expression)) => list(run, Some(expression)).await,
        Some(GroupFilter::Names(names)) => list_names(run, names).await,
    };
    let mut selected = match listed {
        Ok(selected) => selected,
        Err(error) => {
            let (detail, fix) = rejected_text(&error, "groupFilter.searchExpression");
            run.checks.fail(CheckId::GroupFilter, detail, fix);
            return Err(CheckId::GroupFilter);
        }
    };
    if filter.is_none() {
        selected.all_visible = Some(selected.groups.len());
    }
    let built_in = drop_built_in(run, &mut selected.groups);

    match &filter {
        Some(GroupFilter::Names(names)) => record_names(run, names.len(), &selected, &built_in),
        Some(GroupFilter::Search(expression)) => {
            record_count(run, &format!("`{expression}`"), &selected)
        }
        None => record_all(run, &selected),
    }
    .map(|()| selected)
}

async fn list(run: &mut Run<'_>, search: Option<&str>) -> Result<SelectedGroups, OktaError> {
    let groups = run.client.list_groups_with_stats(search).await?;
    Ok(SelectedGroups {
        requests: pages(groups.len()),
        groups,
        ..SelectedGroups::default()
    })
}

/// Lists the groups of every name batch, as the sync engine does.
async fn list_names(run: &mut Run<'_>, names: &[String]) -> Result<SelectedGroups, OktaError> {
    let mut found: Vec<GroupWithStats> = Vec::new();
    let mut seen = HashSet::new();
    let mut requests = 0;
    for batch in name_batches(names) {
        let groups = run.client.list_groups_with_stats(Some(&batch)).await?;
        requests += pages(groups.len());
        found.extend(
            groups
                .into_iter()
                .filter(|group| seen.insert(group.group.id.clone())),
        );
    }

    let matched = match_group_names(
        names,
        found.iter().map(|group| group.group.clone()).collect(),
    );
    let selected_ids: HashSet<&str> = matched
        .selected
        .iter()
        .map(|group| group.id.as_str())
        .collect();
    let groups = found
        .iter()
        .filter(|group| selected_ids.contains(group.group.id.as_str()))
        .cloned()
        .collect();
    Ok(SelectedGroups {
        groups,
        requests,
        all_visible: None,
        unmatched_names: matched.unmatched,
        name_warnings: matched.warnings,
    })
}

/// Returns the listing requests for `count` groups: one per page.
fn pages(count: usize) -> u64 {
    (count as u64).div_ceil(u64::from(GROUPS_PAGE_SIZE)).max(1)
}

/// Removes built-in groups unless the provider ingests them, as a sync
/// does, and returns their names.
fn drop_built_in(run: &Run<'_>, groups: &mut Vec<GroupWithStats>) -> Vec<String> {
    if run.provider.selection.include_built_in_groups {
        return Vec::new();
    }
    let mut dropped = Vec::new();
    groups.retain(|group| {
        let built_in = group.group.group_type == BUILT_IN;
        if built_in {
            dropped.push(
                group
                    .group
                    .profile_str("name")
                    .unwrap_or(&group.group.id)
                    .to_owned(),
            );
        }
        !built_in
    });
    dropped
}

fn record_all(run: &mut Run<'_>, selected: &SelectedGroups) -> Result<(), CheckId> {
    if selected.groups.is_empty() {
        run.checks.warn(
            CheckId::GroupFilter,
            "no groupFilter, and Okta lists no group to the app besides built-in ones",
            "create groups in Okta, or check the app's admin role (app.resources)",
        );
    } else {
        let detail = format!(
            "no groupFilter: a sync reads all {} groups (built-in groups left out)",
            selected.groups.len()
        );
        run.checks.pass(CheckId::GroupFilter, detail);
    }
    Ok(())
}

fn record_count(run: &mut Run<'_>, what: &str, selected: &SelectedGroups) -> Result<(), CheckId> {
    if selected.groups.is_empty() {
        run.checks.fail(
            CheckId::GroupFilter,
            format!("{what} selects no group, so a sync would remove every group from the catalog"),
            "check the expression against a group in Okta (Directory > Groups); values compare case-insensitively",
        );
        return Err(CheckId::GroupFilter);
    }
    let detail = format!(
        "Okta accepts {what} and it selects {} groups",
        selected.groups.len()
    );
    run.checks.pass(CheckId::GroupFilter, detail);
    Ok(())
}

fn record_names(
    run: &mut Run<'_>,
    name_count: usize,
    selected: &SelectedGroups,
    built_in: &[String],
) -> Result<(), CheckId> {
    if !selected.unmatched_names.is_empty() {
        let (detail, fix) = unmatched_text(&selected.unmatched_names, run.everyone.is_none());
        run.checks.fail(CheckId::GroupFilter, detail, fix);
        return Err(CheckId::GroupFilter);
    }
    let mut notes = selected.name_warnings.clone();
    if !built_in.is_empty() {
        notes.push(format!(
            "{} is a built-in group, which a sync leaves out unless includeBuiltInGroups is true",
            built_in.join(", ")
        ));
    }
    if notes.is_empty() {
        let detail = format!("all {name_count} group names match a group");
        run.checks.pass(CheckId::GroupFilter, detail);
    } else {
        run.checks.warn(
            CheckId::GroupFilter,
            notes.join("; "),
            "write each name exactly as Okta shows it under Directory > Groups",
        );
    }
    Ok(())
}

/// Returns the detail and fix for group names that match no group.
pub(crate) fn unmatched_text(unmatched: &[String], role_limited: bool) -> (String, String) {
    let quoted: Vec<String> = unmatched.iter().map(|name| format!("{name:?}")).collect();
    let mut detail = format!("groupNames {} match no Okta group", quoted.join(", "));
    let mut fix =
        "check each name against Directory > Groups in Okta, or remove it from groupNames"
            .to_owned();
    if role_limited {
        detail.push_str(
            "; the app's admin role is limited to a resource set, so these groups may exist \
             outside it",
        );
        fix.push_str("; if they exist, add them to the resource set of the app's admin role");
    }
    (detail, fix)
}

/// Returns the detail and fix for a listing Okta rejected; `setting` is
/// the config key of the expression.
fn rejected_text(error: &OktaError, setting: &str) -> (String, String) {
    match error {
        OktaError::Api { body, search, .. }
            if matches!(body.error_code(), Some("E0000031") | Some("E0000033")) =>
        {
            let expression = search.as_deref().unwrap_or_default();
            (
                format!("Okta rejects `{expression}`:{body}"),
                format!(
                    "change {setting} so that Okta accepts it; the cause above names the problem"
                ),
            )
        }
        other => (
            other.to_string(),
            "fix what the message names, then run doctor again".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_holds_ten_thousand_groups() {
        assert_eq!(pages(0), 1);
        assert_eq!(pages(10_000), 1);
        assert_eq!(pages(10_001), 2);
    }

    #[test]
    fn unmatched_names_are_quoted() {
        let (detail, _) = unmatched_text(&["ghost".to_owned(), "Ops team".to_owned()], false);
        assert_eq!(
            detail,
            "groupNames \"ghost\", \"Ops team\" match no Okta group"
        );
    }

    #[test]
    fn limited_role_is_named_for_unmatched() {
        let (detail, fix) = unmatched_text(&["ghost".to_owned()], true);
        assert!(detail.contains("resource set"), "{detail}");
        assert!(fix.contains("resource set"), "{fix}");
    }
}
