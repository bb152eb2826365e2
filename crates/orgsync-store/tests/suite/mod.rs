//! The store test suite, written against the `Store` trait so that every
//! backend runs the same checks. A backend's test file opens a fresh store
//! for each function here and calls it.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use orgsync_model::{Entity, EntityMetadata, Relation};
use orgsync_store::{
    ChangeSet, Conflict, EntityQuery, ProviderSettings, RunOutcome, RunRecord, RunSummary,
    SaveMode, Store, StoreError,
};
use serde_json::json;

/// The provider most tests write as.
pub const PROVIDER: &str = "okta-main";

/// The name of the user that a backend's fault injection makes fail; see
/// [`failed_replace_changes_nothing`].
pub const POISON_NAME: &str = "poison";

pub fn user(name: &str, groups: &[&str]) -> Entity {
    let member_of: Vec<String> = groups
        .iter()
        .map(|g| format!("group:default/{g}"))
        .collect();
    Entity {
        api_version: "backstage.io/v1alpha1".to_string(),
        kind: "User".to_string(),
        metadata: EntityMetadata {
            name: name.to_string(),
            namespace: "default".to_string(),
            title: Some(format!("{name} title")),
            annotations: [("okta.com/user-id".to_string(), format!("00u{name}"))].into(),
            ..EntityMetadata::default()
        },
        spec: json!({
            "profile": {"displayName": format!("{name} display"), "email": format!("{name}@example.com")},
            "memberOf": member_of,
        }),
        relations: Vec::new(),
    }
}

pub fn group(name: &str, members: &[&str], parent: Option<&str>, children: &[&str]) -> Entity {
    let members: Vec<String> = members
        .iter()
        .map(|m| format!("user:default/{m}"))
        .collect();
    let children: Vec<String> = children
        .iter()
        .map(|c| format!("group:default/{c}"))
        .collect();
    let mut spec = json!({
        "type": "team",
        "profile": {"displayName": format!("{name} team")},
        "members": members,
        "children": children,
    });
    if let Some(parent) = parent {
        spec["parent"] = json!(format!("group:default/{parent}"));
    }
    Entity {
        api_version: "backstage.io/v1alpha1".to_string(),
        kind: "Group".to_string(),
        metadata: EntityMetadata {
            name: name.to_string(),
            namespace: "default".to_string(),
            ..EntityMetadata::default()
        },
        spec,
        relations: Vec::new(),
    }
}

fn retitled(mut entity: Entity, title: &str) -> Entity {
    entity.metadata.title = Some(title.to_string());
    entity
}

fn relation(relation_type: &str, target_ref: &str) -> Relation {
    Relation {
        relation_type: relation_type.to_string(),
        target_ref: target_ref.to_string(),
    }
}

async fn all_entities(store: &dyn Store) -> Vec<Entity> {
    store.list_entities(&EntityQuery::default()).await.unwrap()
}

async fn refs(store: &dyn Store, query: &EntityQuery) -> Vec<String> {
    let entities = store.list_entities(query).await.unwrap();
    entities.iter().map(|e| e.entity_ref().key()).collect()
}

async fn read(store: &dyn Store, entity_ref: &str) -> Entity {
    store.entity_by_ref(entity_ref).await.unwrap().unwrap()
}

/// Returns a time with whole microseconds, which every backend stores exactly.
fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_714_564_800 + seconds, 123_456_000)
        .unwrap()
}

pub async fn replace_inserts_updates_deletes(store: &dyn Store) {
    let first = [user("keep", &[]), user("edit", &[]), user("gone", &[])];
    let changes = store
        .replace_provider_entities(PROVIDER, &first)
        .await
        .unwrap();
    assert_eq!(changes.added.len(), 3);

    let second = [
        user("keep", &[]),
        retitled(user("edit", &[]), "Edited"),
        user("new", &[]),
    ];
    let changes = store
        .replace_provider_entities(PROVIDER, &second)
        .await
        .unwrap();
    assert_eq!(changes.added, vec!["user:default/new"]);
    assert_eq!(changes.updated, vec!["user:default/edit"]);
    assert_eq!(changes.removed, vec!["user:default/gone"]);
    assert_eq!(changes.unchanged, 1);
    assert!(changes.conflicts.is_empty());

    let stored = refs(store, &EntityQuery::default()).await;
    assert_eq!(
        stored,
        vec!["user:default/edit", "user:default/keep", "user:default/new"]
    );
    let edited = read(store, "user:default/edit").await;
    assert_eq!(edited.metadata.title.as_deref(), Some("Edited"));
}

pub async fn replace_same_set_changes_nothing(store: &dyn Store) {
    let entities = [user("a", &["team"]), group("team", &["a"], None, &[])];
    store
        .replace_provider_entities(PROVIDER, &entities)
        .await
        .unwrap();
    let before = all_entities(store).await;

    let changes = store
        .replace_provider_entities(PROVIDER, &entities)
        .await
        .unwrap();
    let expected = ChangeSet {
        unchanged: 2,
        ..ChangeSet::default()
    };
    assert_eq!(changes, expected);
    assert_eq!(all_entities(store).await, before);
}

pub async fn unchanged_entity_keeps_etag_and_time(store: &dyn Store) {
    let first = [user("still", &[]), user("moved", &[])];
    store
        .replace_provider_entities(PROVIDER, &first)
        .await
        .unwrap();
    let still_before = store
        .stored_entity("user:default/still")
        .await
        .unwrap()
        .unwrap();
    let moved_before = store
        .stored_entity("user:default/moved")
        .await
        .unwrap()
        .unwrap();

    // Let the clock move on, so that a rewrite would show in updated_at.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = [user("still", &[]), retitled(user("moved", &[]), "Moved")];
    store
        .replace_provider_entities(PROVIDER, &second)
        .await
        .unwrap();
    let still_after = store
        .stored_entity("user:default/still")
        .await
        .unwrap()
        .unwrap();
    let moved_after = store
        .stored_entity("user:default/moved")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        still_after.entity.metadata.etag,
        still_before.entity.metadata.etag
    );
    assert_eq!(still_after.updated_at, still_before.updated_at);
    assert_ne!(
        moved_after.entity.metadata.etag,
        moved_before.entity.metadata.etag
    );
    assert!(moved_after.updated_at > moved_before.updated_at);
    assert_eq!(moved_after.created_at, moved_before.created_at);
}

pub async fn uid_is_stable_across_updates(store: &dyn Store) {
    store
        .replace_provider_entities(PROVIDER, &[user("a", &[])])
        .await
        .unwrap();
    let before = read(store, "user:default/a").await.metadata.uid;

    let changed = [retitled(user("a", &[]), "Changed")];
    store
        .replace_provider_entities(PROVIDER, &changed)
        .await
        .unwrap();
    let after = read(store, "user:default/a").await.metadata.uid;

    assert!(before.is_some());
    assert_eq!(after, before);
}

pub async fn uids_are_assigned_and_distinct(store: &dyn Store) {
    let entities = [user("a", &[]), user("b", &[]), group("g", &[], None, &[])];
    store
        .replace_provider_entities(PROVIDER, &entities)
        .await
        .unwrap();

    let uids: Vec<String> = all_entities(store)
        .await
        .into_iter()
        .filter_map(|e| e.metadata.uid)
        .collect();
    let distinct: HashSet<&String> = uids.iter().collect();
    assert_eq!(uids.len(), 3);
    assert_eq!(distinct.len(), 3);
}

pub async fn removed_and_readded_entity_gets_new_uid(store: &dyn Store) {
    store
        .replace_provider_entities(PROVIDER, &[user("a", &[])])
        .await
        .unwrap();
    let first = read(store, "user:default/a").await.metadata.uid;
    store
        .replace_provider_entities(PROVIDER, &[])
        .await
        .unwrap();
    store
        .replace_provider_entities(PROVIDER, &[user("a", &[])])
        .await
        .unwrap();
    let second = read(store, "user:default/a").await.metadata.uid;
    assert_ne!(first, second);
}

pub async fn conflicting_ref_stays_with_owner(store: &dyn Store) {
    let owned = [retitled(user("alice", &[]), "Owner's")];
    store
        .replace_provider_entities("first", &owned)
        .await
        .unwrap();

    let intruding = [retitled(user("Alice", &[]), "Intruder's"), user("bob", &[])];
    let changes = store
        .replace_provider_entities("second", &intruding)
        .await
        .unwrap();
    let expected = vec![Conflict {
        entity_ref: "user:default/alice".to_string(),
        owner: "first".to_string(),
    }];
    assert_eq!(changes.conflicts, expected);
    assert_eq!(changes.added, vec!["user:default/bob"]);

    let alice = store
        .stored_entity("user:default/alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.provider, "first");
    assert_eq!(alice.entity.metadata.title.as_deref(), Some("Owner's"));

    // The second provider never owned alice, so emptying it leaves her.
    store
        .replace_provider_entities("second", &[])
        .await
        .unwrap();
    assert!(store
        .entity_by_ref("user:default/alice")
        .await
        .unwrap()
        .is_some());
}

pub async fn relations_fill_both_directions(store: &dyn Store) {
    let entities = [
        user("alice", &["team"]),
        group("team", &["bob"], Some("org"), &["sub"]),
        group("org", &[], None, &["team"]),
    ];
    store
        .replace_provider_entities(PROVIDER, &entities)
        .await
        .unwrap();

    let alice = read(store, "user:default/alice").await;
    assert_eq!(
        alice.relations,
        vec![relation("memberOf", "group:default/team")]
    );

    let team = read(store, "group:default/team").await;
    let expected = vec![
        relation("childOf", "group:default/org"),
        relation("hasMember", "user:default/alice"),
        relation("hasMember", "user:default/bob"),
        relation("parentOf", "group:default/sub"),
    ];
    assert_eq!(team.relations, expected);

    // org names team as a child and team names org as parent; one relation.
    let org = read(store, "group:default/org").await;
    assert_eq!(
        org.relations,
        vec![relation("parentOf", "group:default/team")]
    );
}

pub async fn relations_follow_changes(store: &dyn Store) {
    let first = [
        user("alice", &["red"]),
        group("red", &[], None, &[]),
        group("blue", &[], None, &[]),
    ];
    store
        .replace_provider_entities(PROVIDER, &first)
        .await
        .unwrap();

    let moved = [
        user("alice", &["blue"]),
        group("red", &[], None, &[]),
        group("blue", &[], None, &[]),
    ];
    store
        .replace_provider_entities(PROVIDER, &moved)
        .await
        .unwrap();
    assert!(read(store, "group:default/red").await.relations.is_empty());
    let blue = read(store, "group:default/blue").await;
    assert_eq!(
        blue.relations,
        vec![relation("hasMember", "user:default/alice")]
    );

    let without_alice = [group("red", &[], None, &[]), group("blue", &[], None, &[])];
    store
        .replace_provider_entities(PROVIDER, &without_alice)
        .await
        .unwrap();
    assert!(read(store, "group:default/blue").await.relations.is_empty());
}

pub async fn read_back_matches_written(store: &dyn Store) {
    let written = user("alice", &["team"]);
    store
        .replace_provider_entities(PROVIDER, std::slice::from_ref(&written))
        .await
        .unwrap();

    let mut stored = read(store, "user:default/alice").await;
    assert!(stored.metadata.etag.is_some());
    stored.metadata.uid = None;
    stored.metadata.etag = None;
    stored.relations.clear();
    assert_eq!(stored, written);
}

pub async fn entity_by_ref_ignores_case(store: &dyn Store) {
    store
        .replace_provider_entities(PROVIDER, &[user("Alice", &[])])
        .await
        .unwrap();

    let found = store.entity_by_ref("User:DEFAULT/alice").await.unwrap();
    assert_eq!(found.map(|e| e.metadata.name), Some("Alice".to_string()));
    let short = store.entity_by_ref("user:alice").await.unwrap();
    assert!(short.is_some());
    assert!(store
        .entity_by_ref("user:default/bob")
        .await
        .unwrap()
        .is_none());
    assert!(store.entity_by_ref("not a ref").await.unwrap().is_none());
}

pub async fn list_filters_and_counts(store: &dyn Store) {
    let mine = [
        user("alice", &[]),
        user("bob", &[]),
        group("platform", &[], None, &[]),
    ];
    store
        .replace_provider_entities(PROVIDER, &mine)
        .await
        .unwrap();
    let theirs = [user("carol", &[])];
    store
        .replace_provider_entities("other", &theirs)
        .await
        .unwrap();

    let users = EntityQuery {
        kind: Some("USER".to_string()),
        ..EntityQuery::default()
    };
    let expected = vec![
        "user:default/alice",
        "user:default/bob",
        "user:default/carol",
    ];
    assert_eq!(refs(store, &users).await, expected);
    assert_eq!(store.count_entities(&users).await.unwrap(), 3);

    let other = EntityQuery {
        provider: Some("other".to_string()),
        ..EntityQuery::default()
    };
    assert_eq!(refs(store, &other).await, vec!["user:default/carol"]);

    let by_email = EntityQuery {
        text: Some("BOB@EXAMPLE".to_string()),
        ..EntityQuery::default()
    };
    assert_eq!(refs(store, &by_email).await, vec!["user:default/bob"]);

    let by_display_name = EntityQuery {
        text: Some("platform team".to_string()),
        ..EntityQuery::default()
    };
    assert_eq!(
        refs(store, &by_display_name).await,
        vec!["group:default/platform"]
    );
    assert_eq!(store.count_entities(&by_display_name).await.unwrap(), 1);
}

pub async fn list_pages_in_ref_order(store: &dyn Store) {
    let entities = [
        user("d", &[]),
        user("b", &[]),
        user("a", &[]),
        user("c", &[]),
    ];
    store
        .replace_provider_entities(PROVIDER, &entities)
        .await
        .unwrap();

    let page = EntityQuery {
        offset: 1,
        limit: 2,
        ..EntityQuery::default()
    };
    assert_eq!(
        refs(store, &page).await,
        vec!["user:default/b", "user:default/c"]
    );
    assert_eq!(store.count_entities(&page).await.unwrap(), 4);

    let past_end = EntityQuery {
        offset: 10,
        limit: 2,
        ..EntityQuery::default()
    };
    assert!(refs(store, &past_end).await.is_empty());
}

pub async fn listed_relations_match_single_reads(store: &dyn Store) {
    let entities = [
        user("alice", &["team"]),
        user("bob", &["team"]),
        group("team", &["alice"], None, &[]),
    ];
    store
        .replace_provider_entities(PROVIDER, &entities)
        .await
        .unwrap();

    for listed in all_entities(store).await {
        let single = read(store, &listed.entity_ref().key()).await;
        assert_eq!(listed, single);
    }
}

pub async fn plan_matches_replace_and_writes_nothing(store: &dyn Store) {
    store
        .replace_provider_entities(PROVIDER, &[user("a", &[]), user("b", &[])])
        .await
        .unwrap();
    let before = all_entities(store).await;

    let next = [retitled(user("a", &[]), "Changed"), user("c", &[])];
    let planned = store.plan(PROVIDER, &next).await.unwrap();
    assert_eq!(all_entities(store).await, before);

    let applied = store
        .replace_provider_entities(PROVIDER, &next)
        .await
        .unwrap();
    assert_eq!(planned, applied);
}

pub async fn invalid_entity_fails_without_writes(store: &dyn Store) {
    store
        .replace_provider_entities(PROVIDER, &[user("a", &[])])
        .await
        .unwrap();
    let before = all_entities(store).await;

    let result = store
        .replace_provider_entities(PROVIDER, &[user("b", &[]), user("", &[])])
        .await;
    assert!(matches!(result, Err(StoreError::InvalidEntity { .. })));
    assert_eq!(all_entities(store).await, before);
}

/// Checks that a replace that fails part-way leaves the catalog exactly as
/// it was. The backend must make writing the user named [`POISON_NAME`]
/// fail after the entity rows of the same transaction have been written.
pub async fn failed_replace_changes_nothing(store: &dyn Store) {
    let first = [
        user("keep", &["team"]),
        user("edit", &["team"]),
        user("gone", &["team"]),
        group("team", &["keep"], None, &[]),
    ];
    store
        .replace_provider_entities(PROVIDER, &first)
        .await
        .unwrap();
    let before = serde_json::to_string(&all_entities(store).await).unwrap();

    let second = [
        user("keep", &["team"]),
        retitled(user("edit", &[]), "Edited"),
        user("added", &["team"]),
        group("team", &["keep", "added"], None, &[]),
        user(POISON_NAME, &["team"]),
    ];
    let result = store.replace_provider_entities(PROVIDER, &second).await;
    assert!(result.is_err(), "the injected failure did not fire");

    let after = serde_json::to_string(&all_entities(store).await).unwrap();
    assert_eq!(after, before);
}

/// Counts entities in a loop while a large replace runs and checks that
/// every count is the old or the new total.
pub async fn concurrent_reader_sees_old_or_new(store: Arc<dyn Store>) {
    let old: Vec<Entity> = (0..2_000)
        .map(|i| user(&format!("old-{i:05}"), &[]))
        .collect();
    store
        .replace_provider_entities(PROVIDER, &old)
        .await
        .unwrap();
    let new: Vec<Entity> = (0..20_000)
        .map(|i| user(&format!("new-{i:05}"), &["crowd"]))
        .collect();

    let done = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn({
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        async move {
            let mut counts = Vec::new();
            while !done.load(Ordering::SeqCst) {
                counts.push(store.count_entities(&EntityQuery::default()).await.unwrap());
                tokio::task::yield_now().await;
            }
            counts
        }
    });

    store
        .replace_provider_entities(PROVIDER, &new)
        .await
        .unwrap();
    done.store(true, Ordering::SeqCst);
    let counts = reader.await.unwrap();

    assert!(!counts.is_empty(), "the reader never ran");
    let partial: BTreeSet<&usize> = counts
        .iter()
        .filter(|c| **c != 2_000 && **c != 20_000)
        .collect();
    assert!(partial.is_empty(), "reader saw partial counts {partial:?}");
}

pub async fn runs_round_trip(store: &dyn Store) {
    let id = store.start_run(PROVIDER, at(0)).await.unwrap();
    let started = store.runs(None, 10).await.unwrap();
    assert_eq!(started[0].outcome, RunOutcome::Running);
    assert_eq!(started[0].finished_at, None);

    let changes = ChangeSet {
        added: vec!["user:default/a".to_string(), "user:default/b".to_string()],
        updated: vec!["user:default/c".to_string()],
        removed: vec![],
        unchanged: 7,
        conflicts: vec![Conflict {
            entity_ref: "user:default/d".to_string(),
            owner: "other".to_string(),
        }],
    };
    let summary = RunSummary {
        users: 9,
        groups: 2,
        api_calls: 14,
        rate_limit_waits: 1,
    };
    store
        .finish_run(
            id,
            at(30),
            RunOutcome::Failed,
            Some(&changes),
            &summary,
            Some("boom"),
        )
        .await
        .unwrap();

    let expected = RunRecord {
        id,
        provider: PROVIDER.to_string(),
        started_at: at(0),
        finished_at: Some(at(30)),
        outcome: RunOutcome::Failed,
        added: 2,
        updated: 1,
        removed: 0,
        unchanged: 7,
        conflicts: 1,
        users: 9,
        groups: 2,
        api_calls: 14,
        rate_limit_waits: 1,
        error: Some("boom".to_string()),
    };
    assert_eq!(
        store.runs(Some(PROVIDER), 10).await.unwrap(),
        vec![expected]
    );
}

pub async fn every_outcome_round_trips(store: &dyn Store) {
    for (index, outcome) in RunOutcome::ALL.into_iter().enumerate() {
        let id = store.start_run(PROVIDER, at(index as i64)).await.unwrap();
        store
            .finish_run(id, at(100), outcome, None, &RunSummary::default(), None)
            .await
            .unwrap();
        let latest = store.runs(None, 1).await.unwrap();
        assert_eq!(latest[0].outcome, outcome);
    }
}

pub async fn runs_are_newest_first_and_filtered(store: &dyn Store) {
    let early = store.start_run("a", at(0)).await.unwrap();
    let late = store.start_run("a", at(20)).await.unwrap();
    let middle = store.start_run("b", at(10)).await.unwrap();

    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.runs(None, 0).await.unwrap()),
        vec![late, middle, early]
    );
    assert_eq!(
        ids(store.runs(Some("a"), 0).await.unwrap()),
        vec![late, early]
    );
    assert_eq!(ids(store.runs(None, 2).await.unwrap()), vec![late, middle]);
}

pub async fn finishing_unknown_run_fails(store: &dyn Store) {
    let result = store
        .finish_run(
            4242,
            at(0),
            RunOutcome::Succeeded,
            None,
            &RunSummary::default(),
            None,
        )
        .await;
    assert!(matches!(result, Err(StoreError::RunNotFound(4242))));
}

/// Settings of a saved provider whose sealed key is the given bytes.
pub fn provider_settings(id: &str, sealed: &[u8]) -> ProviderSettings {
    ProviderSettings {
        id: id.to_string(),
        okta_url: "https://acme.okta.com/".to_string(),
        client_id: "0oa1example".to_string(),
        key_id: Some("kid-1".to_string()),
        sealed_private_key: sealed.to_vec(),
        key_fingerprint: "thumbprint-1".to_string(),
        schedule: r#"{"frequency":{"minutes":30},"timeout":{"minutes":10}}"#.to_string(),
        user_search_filter: Some(r#"status eq "ACTIVE""#.to_string()),
        group_filter: Some(r#"{"groupNames":["platform"]}"#.to_string()),
    }
}

pub async fn saved_provider_round_trips(store: &dyn Store) {
    assert!(store.saved_providers().await.unwrap().is_empty());
    assert_eq!(store.settings_revision().await.unwrap(), 0);

    let settings = provider_settings("acme", &[0, 1, 2, 255]);
    let saved = store
        .save_provider(&settings, SaveMode::Create, at(0))
        .await
        .unwrap();
    assert_eq!(saved.settings, settings);
    assert_eq!(saved.revision, 1);
    assert_eq!(saved.created_at, at(0));
    assert_eq!(saved.updated_at, at(0));

    let listed = store.saved_providers().await.unwrap();
    assert_eq!(listed, vec![saved]);
    assert_eq!(store.settings_revision().await.unwrap(), 1);
}

pub async fn saved_provider_update_keeps_created_at(store: &dyn Store) {
    let first = store
        .save_provider(&provider_settings("acme", b"one"), SaveMode::Create, at(0))
        .await
        .unwrap();
    let mut changed = provider_settings("acme", b"two");
    changed.key_id = None;
    changed.group_filter = None;

    let second = store
        .save_provider(
            &changed,
            SaveMode::Update {
                revision: first.revision,
            },
            at(60),
        )
        .await
        .unwrap();
    assert_eq!(second.settings, changed);
    assert_eq!(second.created_at, at(0));
    assert_eq!(second.updated_at, at(60));
    assert!(second.revision > first.revision);
    assert_eq!(store.settings_revision().await.unwrap(), second.revision);
}

pub async fn saved_provider_id_must_be_free(store: &dyn Store) {
    store
        .save_provider(&provider_settings("acme", b"one"), SaveMode::Create, at(0))
        .await
        .unwrap();
    let result = store
        .save_provider(&provider_settings("acme", b"two"), SaveMode::Create, at(1))
        .await;
    assert!(
        matches!(&result, Err(StoreError::ProviderExists { provider }) if provider == "acme"),
        "{result:?}"
    );

    let listed = store.saved_providers().await.unwrap();
    assert_eq!(listed[0].settings.sealed_private_key, b"one");
    assert_eq!(store.settings_revision().await.unwrap(), 1);
}

pub async fn stale_update_is_rejected(store: &dyn Store) {
    let first = store
        .save_provider(&provider_settings("acme", b"one"), SaveMode::Create, at(0))
        .await
        .unwrap();
    let stale = SaveMode::Update {
        revision: first.revision,
    };
    store
        .save_provider(&provider_settings("acme", b"two"), stale, at(1))
        .await
        .unwrap();

    let result = store
        .save_provider(&provider_settings("acme", b"three"), stale, at(2))
        .await;
    match result {
        Err(StoreError::StaleSettings {
            provider,
            expected,
            found,
        }) => {
            assert_eq!(provider, "acme");
            assert_eq!(expected, first.revision);
            assert_eq!(found, Some(2));
        }
        other => panic!("expected StaleSettings, got {other:?}"),
    }
    let listed = store.saved_providers().await.unwrap();
    assert_eq!(listed[0].settings.sealed_private_key, b"two");
}

pub async fn update_of_deleted_provider_is_rejected(store: &dyn Store) {
    let first = store
        .save_provider(&provider_settings("acme", b"one"), SaveMode::Create, at(0))
        .await
        .unwrap();
    assert!(store.delete_saved_provider("acme").await.unwrap());

    let result = store
        .save_provider(
            &provider_settings("acme", b"two"),
            SaveMode::Update {
                revision: first.revision,
            },
            at(1),
        )
        .await;
    assert!(
        matches!(result, Err(StoreError::StaleSettings { found: None, .. })),
        "{result:?}"
    );
    assert!(store.saved_providers().await.unwrap().is_empty());
}

pub async fn delete_raises_revision_once(store: &dyn Store) {
    store
        .save_provider(&provider_settings("acme", b"one"), SaveMode::Create, at(0))
        .await
        .unwrap();
    store
        .save_provider(&provider_settings("beta", b"two"), SaveMode::Create, at(0))
        .await
        .unwrap();
    assert_eq!(store.settings_revision().await.unwrap(), 2);

    assert!(store.delete_saved_provider("acme").await.unwrap());
    assert_eq!(store.settings_revision().await.unwrap(), 3);
    assert!(!store.delete_saved_provider("acme").await.unwrap());
    assert_eq!(store.settings_revision().await.unwrap(), 3);

    let ids: Vec<String> = store
        .saved_providers()
        .await
        .unwrap()
        .into_iter()
        .map(|saved| saved.settings.id)
        .collect();
    assert_eq!(ids, vec!["beta"]);
}

pub async fn saved_providers_are_ordered_by_id(store: &dyn Store) {
    for id in ["zeta", "alpha", "mid"] {
        store
            .save_provider(&provider_settings(id, b"k"), SaveMode::Create, at(0))
            .await
            .unwrap();
    }
    let ids: Vec<String> = store
        .saved_providers()
        .await
        .unwrap()
        .into_iter()
        .map(|saved| saved.settings.id)
        .collect();
    assert_eq!(ids, vec!["alpha", "mid", "zeta"]);
}
