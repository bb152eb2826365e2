//! Evaluates expressions against groups and users from HTTP exchanges that
//! the Okta Python SDK recorded against real Okta orgs.
//!
//! The recordings are not part of the repository. They are read at run time
//! from the Okta reference data checked out beside it, three levels above
//! this crate's manifest.

use std::path::PathBuf;

use okta_search::{any_equal, parse, quote, Expression};
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

/// One recorded request and the JSON body of its response.
struct Exchange {
    method: String,
    uri: String,
    body: Json,
}

fn recording_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/okta-reference/recorded")
        .join(name)
}

/// Loads the exchanges of a recording that have a JSON response body.
fn load_exchanges(name: &str) -> Vec<Exchange> {
    let path = recording_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let recording: Yaml = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not YAML: {error}", path.display()));

    let interactions = recording["interactions"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{} has no interactions", path.display()));
    interactions
        .iter()
        .filter_map(|interaction| {
            let body = interaction["response"]["body"]["string"].as_str()?;
            Some(Exchange {
                method: interaction["request"]["method"].as_str()?.to_owned(),
                uri: interaction["request"]["uri"].as_str()?.to_owned(),
                body: serde_json::from_str(body).ok()?,
            })
        })
        .collect()
}

fn parsed(text: &str) -> Expression {
    parse(text).unwrap_or_else(|error| panic!("{text:?} failed to parse: {error}"))
}

/// Returns the `q` value and the groups of the recorded group search.
fn recorded_group_search() -> (String, Vec<Json>) {
    let exchanges = load_exchanges("TestGroupsResource.test_search_group.yaml");
    let search = exchanges
        .iter()
        .find(|exchange| exchange.method == "GET" && exchange.uri.contains("/api/v1/groups?"))
        .expect("the recording contains a group search");

    let url = url::Url::parse(&search.uri).expect("the recorded URI is a URL");
    let (_, query) = url
        .query_pairs()
        .find(|(name, _)| name == "q")
        .expect("the recorded search has a q parameter");
    let groups = search
        .body
        .as_array()
        .expect("the search returned an array")
        .clone();
    (query.into_owned(), groups)
}

/// The recorded request uses `q`, not `search`. Okta's reference describes
/// `q` as a `startsWith` match for users and as a name match for groups, so
/// `profile.name sw` with the `q` value must select every group returned.
#[test]
fn recorded_query_matches_returned_groups() {
    let (query, groups) = recorded_group_search();
    let expression = parsed(&format!("profile.name sw {}", quote(&query)));

    assert!(!groups.is_empty());
    for group in &groups {
        assert!(expression.matches(group), "{expression} rejects {group}");
    }
}

#[test]
fn longer_prefix_rejects_recorded_groups() {
    let (query, groups) = recorded_group_search();
    let expression = parsed(&format!("profile.name sw {}", quote(&format!("{query}-"))));

    for group in &groups {
        assert!(!expression.matches(group), "{expression} accepts {group}");
    }
}

#[test]
fn recorded_group_matches_name_in_other_case() {
    let (query, groups) = recorded_group_search();
    let lowered = query.to_lowercase();
    let expression = parsed(&any_equal("profile.name", &["Unrelated", &lowered]));

    assert!(groups.iter().all(|group| expression.matches(group)));
}

#[test]
fn recorded_group_matches_type_and_timestamps() {
    let (_, groups) = recorded_group_search();
    let expression = parsed(concat!(
        r#"type eq "OKTA_GROUP" and lastMembershipUpdated ge "2020-08-27T18:15:51Z""#,
        r#" and created lt "2020-08-27T18:15:52.000Z" and profile.description eq null"#,
    ));

    assert!(groups.iter().all(|group| expression.matches(group)));
}

#[test]
fn recorded_group_fails_app_group_search() {
    let (_, groups) = recorded_group_search();
    let expression = parsed(r#"type eq "APP_GROUP""#);

    assert!(groups.iter().all(|group| !expression.matches(group)));
}

fn recorded_user() -> Json {
    let exchanges = load_exchanges("TestUsersResource.test_create_get_user.yaml");
    exchanges
        .into_iter()
        .find(|exchange| exchange.method == "POST" && exchange.uri.contains("/api/v1/users?"))
        .expect("the recording creates a user")
        .body
}

#[test]
fn recorded_user_matches_staged_search() {
    let expression = parsed(concat!(
        r#"status eq "staged" and type.id pr and lastLogin eq null"#,
        r#" and profile.email co "@EXAMPLE.com" and not profile.mobilePhone pr"#,
    ));
    assert!(expression.matches(&recorded_user()));
}

/// Okta's documented stand-in for the missing `ne` operator excludes the
/// status it brackets.
#[test]
fn recorded_user_fails_not_staged_search() {
    let expression = parsed(r#"(status lt "STAGED" or status gt "STAGED")"#);
    assert!(!expression.matches(&recorded_user()));
}

#[test]
fn recorded_user_fails_documented_filter() {
    let expression = parsed(concat!(
        r#"lastUpdated gt "2013-06-01T00:00:00.000Z""#,
        r#" and (status eq "LOCKED_OUT" or status eq "RECOVERY")"#,
    ));
    assert!(!expression.matches(&recorded_user()));
}
