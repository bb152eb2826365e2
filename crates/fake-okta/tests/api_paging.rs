//! Paging of the list endpoints over a real loopback connection: every item
//! exactly once, Okta's `Link` format, limit clamping and opaque cursors.

mod common;

use std::collections::{BTreeSet, HashSet};

use common::Harness;
use reqwest::Method;

fn count_duplicates(ids: &[String]) -> usize {
    let unique: HashSet<&String> = ids.iter().collect();
    ids.len() - unique.len()
}

#[tokio::test]
async fn users_visited_exactly_once() {
    let harness = Harness::generated(1_000, 20, 11).await;
    let pages = harness.all_pages("/api/v1/users?limit=37").await;
    let ids: Vec<String> = pages.iter().flat_map(|page| page.ids()).collect();

    let expected: BTreeSet<String> = {
        let org = harness.fake.org_handle();
        let org = org.read();
        org.users_after(None)
            .filter(|user| user.status() != "DEPROVISIONED")
            .map(|user| user.id().to_owned())
            .collect()
    };
    assert_eq!(count_duplicates(&ids), 0);
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(pages.iter().all(|page| page.status == 200));
    assert!(pages
        .iter()
        .rev()
        .skip(1)
        .all(|page| page.ids().len() == 37));
}

#[tokio::test]
async fn last_page_has_no_next() {
    let harness = Harness::generated(100, 5, 2).await;
    let pages = harness.all_pages("/api/v1/users?limit=30").await;
    let last = pages.last().expect("at least one page");
    assert_eq!(last.next_url(), None);
    assert_eq!(last.links().len(), 1);
    assert!(!last.ids().is_empty());
}

#[tokio::test]
async fn links_have_okta_format() {
    let harness = Harness::generated(50, 5, 3).await;
    let reply = harness.get("/api/v1/users?limit=10").await;
    let links = reply.links();
    let base = &harness.fake.base_url;
    assert_eq!(links.len(), 2);
    assert_eq!(
        links[0],
        format!("<{base}/api/v1/users?limit=10>; rel=\"self\"")
    );
    let next = reply.next_url().expect("next link");
    assert!(next.starts_with(&format!("{base}/api/v1/users?after=")));
    assert!(next.ends_with("&limit=10"));
}

#[tokio::test]
async fn self_link_names_default_limit() {
    let harness = Harness::generated(10, 3, 3).await;
    let base = harness.fake.base_url.clone();
    let users = harness.get("/api/v1/users").await;
    let groups = harness.get("/api/v1/groups").await;
    assert_eq!(
        users.links(),
        [format!("<{base}/api/v1/users?limit=200>; rel=\"self\"")]
    );
    assert_eq!(
        groups.links(),
        [format!("<{base}/api/v1/groups?limit=10000>; rel=\"self\"")]
    );
}

#[tokio::test]
async fn users_limit_clamped_to_max() {
    let harness = Harness::generated(500, 5, 4).await;
    let reply = harness.get("/api/v1/users?limit=5000").await;
    let base = &harness.fake.base_url;
    assert_eq!(reply.ids().len(), 200);
    assert_eq!(
        reply.links()[0],
        format!("<{base}/api/v1/users?limit=200>; rel=\"self\"")
    );
}

#[tokio::test]
async fn group_members_limit_clamped_to_max() {
    let harness = Harness::generated(1_500, 3, 4).await;
    let everyone = {
        let org = harness.fake.org_handle();
        let id = org.read().everyone().map(|group| group.id().to_owned());
        id.expect("Everyone exists")
    };
    let reply = harness
        .get(&format!("/api/v1/groups/{everyone}/users?limit=5000"))
        .await;
    assert_eq!(reply.ids().len(), 1_000);
    assert!(reply.next_url().is_some());
}

#[tokio::test]
async fn group_members_visited_exactly_once() {
    let harness = Harness::generated(800, 30, 5).await;
    let (group_id, expected) = {
        let org = harness.fake.org_handle();
        let org = org.read();
        let largest = org
            .groups_after(None)
            .filter(|group| group.group_type() != "BUILT_IN")
            .max_by_key(|group| org.member_count(group.id()))
            .map(|group| group.id().to_owned())
            .expect("groups exist");
        let members: BTreeSet<String> = org
            .members_after(&largest, None)
            .expect("group exists")
            .map(|user| user.id().to_owned())
            .collect();
        (largest, members)
    };
    let pages = harness
        .all_pages(&format!("/api/v1/groups/{group_id}/users?limit=25"))
        .await;
    let ids: Vec<String> = pages.iter().flat_map(|page| page.ids()).collect();
    assert!(expected.len() > 25, "the largest group spans pages");
    assert_eq!(count_duplicates(&ids), 0);
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);
}

#[tokio::test]
async fn groups_paged_in_name_order() {
    let harness = Harness::generated(200, 120, 6).await;
    let pages = harness.all_pages("/api/v1/groups?limit=7").await;
    let names: Vec<String> = pages
        .iter()
        .flat_map(|page| page.body.as_array().cloned().unwrap_or_default())
        .filter_map(|group| group["profile"]["name"].as_str().map(str::to_owned))
        .collect();
    let folded: Vec<String> = names.iter().map(|name| name.to_lowercase()).collect();
    let mut sorted = folded.clone();
    sorted.sort();
    assert_eq!(names.len(), 121);
    assert_eq!(folded, sorted);
    let ids: Vec<String> = pages.iter().flat_map(|page| page.ids()).collect();
    assert_eq!(count_duplicates(&ids), 0);
}

#[tokio::test]
async fn user_cursor_is_not_an_id() {
    let harness = Harness::generated(30, 3, 7).await;
    let reply = harness.get("/api/v1/users?limit=5").await;
    let next = reply.next_url().expect("next link");
    let last_id = reply.ids().last().cloned().expect("a user");
    let cursor = next
        .split("after=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("cursor");
    assert_ne!(cursor, last_id);
}

#[tokio::test]
async fn group_cursor_is_opaque() {
    let harness = Harness::generated(30, 30, 7).await;
    let reply = harness.get("/api/v1/groups?limit=5").await;
    let next = reply.next_url().expect("next link");
    let ids = reply.ids();
    assert!(ids.iter().all(|id| !next.contains(id.as_str())));
}

#[tokio::test]
async fn invalid_group_cursor_rejected() {
    let harness = Harness::generated(10, 5, 7).await;
    let reply = harness.get("/api/v1/groups?after=not-a-cursor").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["errorCode"], "E0000001");
}

#[tokio::test]
async fn paging_survives_removed_cursor_user() {
    let harness = Harness::generated(60, 3, 8).await;
    let first = harness.get("/api/v1/users?limit=10").await;
    let last_id = first.ids().last().cloned().expect("a user");
    let removed = harness
        .control(Method::DELETE, &format!("/_fake/users/{last_id}"), None)
        .await;
    assert_eq!(removed.status, 204);

    let second = harness.get_url(&first.next_url().expect("next link")).await;
    let expected: Vec<String> = {
        let org = harness.fake.org_handle();
        let org = org.read();
        org.users_after(Some(&last_id))
            .filter(|user| user.status() != "DEPROVISIONED")
            .take(10)
            .map(|user| user.id().to_owned())
            .collect()
    };
    assert_eq!(second.ids(), expected);
}

#[tokio::test]
async fn query_not_paged() {
    let harness = Harness::generated(300, 5, 9).await;
    let reply = harness.get("/api/v1/users?q=a").await;
    assert!(reply.links().is_empty());
    assert_eq!(reply.ids().len(), 10);
}

#[tokio::test]
async fn search_pages_keep_expression() {
    let harness = Harness::generated(300, 5, 9).await;
    let first = harness
        .get("/api/v1/users?search=status%20eq%20%22ACTIVE%22&limit=20")
        .await;
    let next = first.next_url().expect("next link");
    assert!(
        next.contains("search=status+eq+%22ACTIVE%22&after="),
        "{next}"
    );
    let pages = harness
        .all_pages("/api/v1/users?search=status%20eq%20%22ACTIVE%22&limit=50")
        .await;
    let statuses: HashSet<String> = pages
        .iter()
        .flat_map(|page| page.body.as_array().cloned().unwrap_or_default())
        .filter_map(|user| user["status"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(statuses, HashSet::from(["ACTIVE".to_owned()]));
}
