//! The app's read access: its admin role, and what the role's resource set
//! hides.
//!
//! An app reads the Management API only with an admin role; without one,
//! every request gets `403 E0000006`. A role limited to a *resource set*
//! (some groups and their members) makes Okta leave the rest out of every
//! listing without an error. Okta never lists the built-in Everyone group
//! to such a role (Okta's OpenAPI spec states it for `GET /api/v1/groups`),
//! so a missing Everyone group shows the limit. Members hidden from a
//! visible group show as a member list shorter than the group's
//! `usersCount`, or as an error for the list.

use orgsync_okta::{Endpoint, GroupWithStats, OktaError, MEMBERS_PAGE_SIZE};

use crate::filters::SelectedGroups;
use crate::report::{CheckId, Status};
use crate::run::Run;

/// The Okta type of the Everyone group.
pub(crate) const BUILT_IN: &str = "BUILT_IN";

const FULL_ROLE_FIX: &str = "assign the Read-only Administrator role to the app (the app's \
    Admin roles tab), or a custom role whose resource set contains every group and user to sync";

/// Records `app.role` (and `app.api-token` or `app.token-scopes` when the
/// first API calls show those problems), and looks up the Everyone group.
pub(crate) async fn check_role(run: &mut Run<'_>) -> Result<(), CheckId> {
    let users = run
        .get(Endpoint::Users, &["api", "v1", "users"], &[("limit", "1")])
        .await;
    if let Err(error) = users {
        return Err(record_api_error(run, &error, "list users"));
    }

    let query = [
        ("search", r#"type eq "BUILT_IN""#),
        ("expand", "stats"),
        ("limit", "20"),
    ];
    let built_in = match run
        .get(Endpoint::Groups, &["api", "v1", "groups"], &query)
        .await
    {
        Ok(response) => response.body,
        Err(error) => return Err(record_api_error(run, &error, "list groups")),
    };
    run.everyone = everyone(&built_in);

    if run.uses_api_token() {
        run.checks.pass(
            CheckId::ApiToken,
            "Okta accepts the API token; it acts with every permission of the admin who \
             created it, and Okta revokes it after 30 days without use",
        );
    }
    run.checks.pass(
        CheckId::AppRole,
        "the app may list users and groups (GET /api/v1/users, GET /api/v1/groups)",
    );
    Ok(())
}

/// Returns the Everyone group from a `BUILT_IN` group search.
fn everyone(body: &serde_json::Value) -> Option<GroupWithStats> {
    body.as_array()?.iter().find_map(|item| {
        let group: orgsync_model::OktaGroup = serde_json::from_value(item.clone()).ok()?;
        let is_everyone =
            group.group_type == BUILT_IN && group.profile_str("name") == Some("Everyone");
        let users_count = item
            .pointer("/_embedded/stats/usersCount")
            .and_then(serde_json::Value::as_u64);
        is_everyone.then_some(GroupWithStats { group, users_count })
    })
}

/// Records the failure of the first API calls at the check it concerns.
fn record_api_error(run: &mut Run<'_>, error: &OktaError, action: &str) -> CheckId {
    let api_token = run.uses_api_token();
    let (check, fix) = match error {
        OktaError::InsufficientScope { scope, .. } if !api_token => {
            let scope = scope.as_deref().unwrap_or("okta.users.read and okta.groups.read");
            (
                CheckId::TokenScopes,
                format!("grant {scope} on the app's Okta API Scopes tab and list it in `scopes`"),
            )
        }
        OktaError::Unauthorized { .. } if api_token => (
            CheckId::ApiToken,
            "create a new token under Security > API > Tokens (as an admin with the Read-only \
             Administrator role) and set `token`; or use an API Services app instead"
                .to_owned(),
        ),
        OktaError::Unauthorized { .. } => (
            CheckId::AppToken,
            "check that the app is active (Applications > Applications) and that oktaUrl is its org"
                .to_owned(),
        ),
        OktaError::Api { body, .. } if body.error_code() == Some("E0000006") => (
            CheckId::AppRole,
            if api_token {
                "create `token` as an admin with the Read-only Administrator role".to_owned()
            } else {
                FULL_ROLE_FIX.to_owned()
            },
        ),
        _ => (
            CheckId::AppRole,
            "fix what the message names, then run doctor again".to_owned(),
        ),
    };
    let detail = format!("Okta refused to {action}: {error}");
    run.checks.fail(check, detail, fix);
    check
}

/// The outcome of comparing one group's member list with its member count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemberSample {
    /// Okta listed every member it counts.
    Complete,
    /// Okta listed `listed` of `counted` members.
    Short { listed: u64, counted: u64 },
    /// Okta refused the member list.
    Refused { error: String },
}

/// Records `app.resources` from the Everyone lookup and a comparison of a
/// few selected groups' member lists with their member counts.
pub(crate) async fn check_resources(run: &mut Run<'_>, groups: Option<&SelectedGroups>) {
    let mut samples = Vec::new();
    for group in groups
        .map(|groups| sample_groups(&groups.groups, run.options.member_samples))
        .unwrap_or_default()
    {
        let sample = sample_members(run, &group).await;
        let name = group
            .group
            .profile_str("name")
            .unwrap_or(&group.group.id)
            .to_owned();
        samples.push((name, sample));
    }
    let visible_groups = groups.and_then(|groups| groups.all_visible);
    let (status, detail, fix) = resources_verdict(run.everyone.as_ref(), visible_groups, &samples);
    run.checks
        .record(CheckId::AppResources, status, detail, fix);
}

/// Returns up to `count` groups with one page of members at most, smallest
/// first, so the comparison costs one request per group.
fn sample_groups(groups: &[GroupWithStats], count: usize) -> Vec<GroupWithStats> {
    let mut candidates: Vec<&GroupWithStats> = groups
        .iter()
        .filter(|group| {
            group
                .users_count
                .is_some_and(|users| users > 0 && users <= u64::from(MEMBERS_PAGE_SIZE))
        })
        .collect();
    candidates.sort_by_key(|group| group.users_count);
    candidates.into_iter().take(count).cloned().collect()
}

async fn sample_members(run: &mut Run<'_>, group: &GroupWithStats) -> MemberSample {
    let limit = MEMBERS_PAGE_SIZE.to_string();
    let segments = ["api", "v1", "groups", group.group.id.as_str(), "users"];
    let response = run
        .get(
            Endpoint::GroupMembers,
            &segments,
            &[("limit", limit.as_str())],
        )
        .await;
    let counted = group.users_count.unwrap_or_default();
    match response {
        Ok(response) => {
            let listed = response.body.as_array().map_or(0, Vec::len) as u64;
            if listed < counted && response.next_page.is_none() {
                MemberSample::Short { listed, counted }
            } else {
                MemberSample::Complete
            }
        }
        Err(error) => MemberSample::Refused {
            error: error.to_string(),
        },
    }
}

/// Decides `app.resources`. `visible_groups` is the number of groups Okta
/// listed, when known.
pub(crate) fn resources_verdict(
    everyone: Option<&GroupWithStats>,
    visible_groups: Option<usize>,
    samples: &[(String, MemberSample)],
) -> Verdict {
    sample_verdict(samples).unwrap_or_else(|| match everyone {
        Some(everyone) => whole_org(everyone, samples.len()),
        None => limited_role(visible_groups),
    })
}

/// A check's status, detail and fix.
pub(crate) type Verdict = (Status, String, Option<String>);

/// Returns the verdict of member lists that Okta refused or cut short.
fn sample_verdict(samples: &[(String, MemberSample)]) -> Option<Verdict> {
    let refused: Vec<String> = samples
        .iter()
        .filter_map(|(name, sample)| match sample {
            MemberSample::Refused { error } => Some(format!("{name:?} ({error})")),
            _ => None,
        })
        .collect();
    if !refused.is_empty() {
        let detail = format!(
            "Okta lists these groups but refuses their members to the app: {}",
            refused.join("; ")
        );
        let fix = format!(
            "give the app's admin role permission to view these groups' members; {FULL_ROLE_FIX}"
        );
        return Some((Status::Fail, detail, Some(fix)));
    }

    let short: Vec<String> = samples
        .iter()
        .filter_map(|(name, sample)| match sample {
            MemberSample::Short { listed, counted } => {
                Some(format!("{name:?} ({listed} of {counted} members listed)"))
            }
            _ => None,
        })
        .collect();
    if short.is_empty() {
        return None;
    }
    let detail = format!(
        "the admin role's resource set hides members of these groups: {}",
        short.join(", ")
    );
    let fix = format!("add the hidden users to the role's resource set; {FULL_ROLE_FIX}");
    Some((Status::Warn, detail, Some(fix)))
}

fn whole_org(everyone: &GroupWithStats, sampled: usize) -> Verdict {
    let users = everyone.users_count.map_or_else(
        || "an unknown number of".to_owned(),
        |count| count.to_string(),
    );
    let samples = if sampled == 0 {
        String::new()
    } else {
        format!("; the member lists of {sampled} sampled groups are complete")
    };
    let detail = format!(
        "Okta shows the app the Everyone group ({users} users), so its role covers the whole \
         org{samples}"
    );
    (Status::Pass, detail, None)
}

fn limited_role(visible_groups: Option<usize>) -> Verdict {
    let seen = visible_groups
        .map(|count| format!("the {count} groups it can see"))
        .unwrap_or_else(|| "the groups it can see".to_owned());
    let detail = format!(
        "the app's admin role is limited to a resource set: Okta hides the Everyone group from \
         it, every group outside the set, and every user who is in none of {seen}; a sync reads \
         only what the set contains"
    );
    let fix = format!(
        "to sync the whole org, {FULL_ROLE_FIX}; to keep the limit, make sure groupFilter \
         selects only groups in the set"
    );
    (Status::Warn, detail, Some(fix))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn group(id: &str, name: &str, count: Option<u64>) -> GroupWithStats {
        let group = serde_json::from_value(
            json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": name}}),
        )
        .expect("group");
        GroupWithStats {
            group,
            users_count: count,
        }
    }

    #[test]
    fn everyone_is_found_with_count() {
        let body = json!([{"id": "00g0", "type": "BUILT_IN", "profile": {"name": "Everyone"},
            "_embedded": {"stats": {"usersCount": 12}}}]);
        let found = everyone(&body).expect("Everyone");
        assert_eq!(found.users_count, Some(12));
    }

    #[test]
    fn hidden_everyone_warns_with_count() {
        let (status, detail, fix) = resources_verdict(None, Some(3), &[]);
        assert_eq!(status, Status::Warn);
        assert!(detail.contains("the 3 groups it can see"), "{detail}");
        assert!(fix.is_some());
    }

    #[test]
    fn short_member_list_names_group() {
        let everyone = group("00g0", "Everyone", Some(10));
        let samples = vec![(
            "Platform".to_owned(),
            MemberSample::Short {
                listed: 2,
                counted: 5,
            },
        )];
        let (status, detail, _) = resources_verdict(Some(&everyone), Some(4), &samples);
        assert_eq!(status, Status::Warn);
        assert!(
            detail.contains("\"Platform\" (2 of 5 members listed)"),
            "{detail}"
        );
    }

    #[test]
    fn refused_member_list_fails() {
        let samples = vec![(
            "Ops".to_owned(),
            MemberSample::Refused {
                error: "E0000006".to_owned(),
            },
        )];
        let (status, detail, _) = resources_verdict(None, Some(1), &samples);
        assert_eq!(status, Status::Fail);
        assert!(detail.contains("\"Ops\""), "{detail}");
    }

    #[test]
    fn samples_prefer_small_groups() {
        let groups = vec![
            group("1", "big", Some(900)),
            group("2", "empty", Some(0)),
            group("3", "small", Some(3)),
            group("4", "huge", Some(5000)),
            group("5", "unknown", None),
        ];
        let ids: Vec<String> = sample_groups(&groups, 3)
            .into_iter()
            .map(|g| g.group.id)
            .collect();
        assert_eq!(ids, ["3", "1"]);
    }
}
