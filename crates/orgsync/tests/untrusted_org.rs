//! Odd records in an Okta org, synced by the real `orgsync` binary: a
//! display name of 1 MiB, control characters, profile attributes of the
//! wrong JSON type, users with nothing but an id and a login, and a record
//! whose `status` is a number.
//!
//! A run either skips or cleans an odd record and stores only entities that
//! pass Backstage's validation, or fails with an error that names the
//! request and leaves the catalog unchanged. It never panics (exit code 101)
//! and never hangs.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::{annotation, by_okta_id, TestOrg};
use fake_okta::server::FakeOkta;
use orgsync_model::{validate_entity, Entity};
use serde_json::{json, Value};

const USER_ID: &str = "okta.com/user-id";
const GROUP_ID: &str = "okta.com/group-id";

/// A group that every odd user is a member of, so that member listings
/// carry the odd records too.
const ODD_GROUP: &str = "00g00000000000oddgrp";

/// The maximum time a run of the small org may take, far above what it
/// needs, so that a run that hangs fails the test.
const RUN_BOUND: Duration = Duration::from_secs(60);

/// Returns users whose profiles are odd in one way each.
fn odd_users() -> Vec<Value> {
    let huge = "A".repeat(1 << 20);
    vec![
        json!({
            "id": "00u0000000000000huge",
            "status": "ACTIVE",
            "profile": {"login": "huge@a.example", "email": "huge@a.example",
                        "displayName": huge, "firstName": huge, "lastName": "Huge"}
        }),
        json!({
            "id": "00u0000000000000ctrl",
            "status": "ACTIVE",
            "profile": {"login": "ctrl@a.example", "email": "ctrl\u{0}\u{7}@a.example",
                        "displayName": "Ana\u{0}\u{1b}[31m Lima\r\n", "firstName": "\u{7f}\u{1}",
                        "lastName": "Lima\t"}
        }),
        json!({
            "id": "00u000000000000types",
            "status": "ACTIVE",
            "profile": {"login": "types@a.example", "email": 12345,
                        "displayName": ["Ana", "Lima"], "firstName": {"text": "Ana"},
                        "lastName": null, "department": 7.5}
        }),
        json!({
            "id": "00u0000000000000bare",
            "profile": {"login": "bare@a.example"}
        }),
    ]
}

/// Returns groups whose profiles are odd in one way each.
fn odd_groups() -> Vec<Value> {
    vec![
        json!({
            "id": ODD_GROUP,
            "type": "OKTA_GROUP",
            "profile": {"name": "odd\u{0}group\u{1b}[2m", "description": {"text": "not a string"}}
        }),
        json!({
            "id": "00g0000000000000huge",
            "type": "OKTA_GROUP",
            "profile": {"name": "G".repeat(1 << 20), "description": "G".repeat(1 << 20)}
        }),
        json!({
            "id": "00g0000000000000bare",
            "profile": {"name": "bare"}
        }),
    ]
}

async fn start_odd_org() -> TestOrg {
    let org = TestOrg::start(FakeOkta::builder().generated(40, 4, 13), "").await;
    let handle = org.fake.org_handle();
    let mut okta = handle.write();
    let mut user_ids = Vec::new();
    for user in odd_users() {
        user_ids.push(okta.insert_user(user).expect("user added"));
    }
    for group in odd_groups() {
        okta.insert_group(group).expect("group added");
    }
    for user_id in &user_ids {
        for group_id in [ODD_GROUP, "00g0000000000000huge"] {
            okta.add_member(group_id, user_id, Utc::now())
                .expect("member added");
        }
    }
    drop(okta);
    org
}

/// Decodes exported entities, which carry no catalog-assigned fields
/// (`uid`, `etag`, `relations`), as [`validate_entity`] expects.
fn decoded(exported: &[Value]) -> Vec<Entity> {
    exported
        .iter()
        .map(|value| serde_json::from_value(value.clone()).expect("an exported entity decodes"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_records_sync_or_are_skipped() {
    let org = start_odd_org().await;
    let started = Instant::now();

    let (code, report) = org.sync(&[]).await;

    assert!(started.elapsed() < RUN_BOUND, "the run took too long");
    assert_eq!(code, 0, "{report}");
    let exported = org.export().await;
    for entity in &decoded(&exported) {
        assert_eq!(
            validate_entity(entity),
            Ok(()),
            "{} is stored but invalid",
            entity.entity_ref()
        );
    }

    let warnings = report["report"]["warnings"].to_string();
    let odd_ids = odd_users()
        .iter()
        .chain(odd_groups().iter())
        .map(|record| record["id"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    for id in odd_ids {
        let key = if id.starts_with("00u") {
            USER_ID
        } else {
            GROUP_ID
        };
        let stored = by_okta_id(&exported, key, &id).is_some();
        assert!(
            stored || warnings.contains(&id),
            "{id} is neither stored nor named in a warning: {warnings}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_names_stay_out_of_entity_names() {
    let org = start_odd_org().await;
    assert_eq!(org.sync(&[]).await.0, 0);

    let exported = org.export().await;
    for entity in &exported {
        let name = entity["metadata"]["name"].as_str().unwrap_or_default();
        let id = annotation(entity, USER_ID)
            .or_else(|| annotation(entity, GROUP_ID))
            .unwrap_or_default();
        assert!(
            !name.chars().any(char::is_control),
            "{id}: control characters in name {name:?}"
        );
        assert!(name.len() <= 63, "{id}: name of {} characters", name.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_typed_status_fails_cleanly() {
    let org = TestOrg::start(FakeOkta::builder().generated(40, 4, 13), "").await;
    assert_eq!(org.sync(&[]).await.0, 0);
    let before = org.catalog().await;
    {
        let handle = org.fake.org_handle();
        let mut okta = handle.write();
        let odd = json!({
            "id": "00u000000000000stat5",
            "status": 5,
            "profile": {"login": "five@a.example", "email": "five@a.example"}
        });
        okta.insert_user(odd).expect("user added");
    }

    let (code, report) = org.sync(&[]).await;

    assert_eq!(code, 1, "{report}");
    let error = report["error"].as_str().unwrap_or_default();
    assert!(error.contains("/api/v1/users"), "{error}");
    assert!(
        org.catalog().await == before,
        "the failed run changed the catalog"
    );
}
