//! Runs the store suite on SQLite, each test on a fresh file in its own
//! temporary folder, plus the checks that only make sense for a file.

mod suite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use orgsync_model::Entity;
use orgsync_store::{open_store, EntityQuery, SqliteStore, Store, StoreClient, StoreError};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tempfile::TempDir;

/// A store on a fresh file; the folder is deleted on drop.
struct Harness {
    folder: TempDir,
    store: Arc<SqliteStore>,
}

impl Harness {
    async fn open() -> Harness {
        let folder = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(path_in(&folder).to_str().unwrap())
            .await
            .unwrap();
        Harness {
            folder,
            store: Arc::new(store),
        }
    }

    fn path(&self) -> PathBuf {
        path_in(&self.folder)
    }
}

fn path_in(folder: &TempDir) -> PathBuf {
    folder.path().join("catalog.sqlite")
}

/// Runs each named suite function on its own fresh store.
macro_rules! suite_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let harness = Harness::open().await;
                suite::$name(harness.store.as_ref()).await;
            }
        )*
    };
}

suite_tests!(
    replace_inserts_updates_deletes,
    replace_same_set_changes_nothing,
    unchanged_entity_keeps_etag_and_time,
    uid_is_stable_across_updates,
    uids_are_assigned_and_distinct,
    removed_and_readded_entity_gets_new_uid,
    conflicting_ref_stays_with_owner,
    relations_fill_both_directions,
    relations_follow_changes,
    read_back_matches_written,
    entity_by_ref_ignores_case,
    list_filters_and_counts,
    list_pages_in_ref_order,
    listed_relations_match_single_reads,
    plan_matches_replace_and_writes_nothing,
    invalid_entity_fails_without_writes,
    runs_round_trip,
    every_outcome_round_trips,
    runs_are_newest_first_and_filtered,
    finishing_unknown_run_fails,
    saved_provider_round_trips,
    saved_provider_update_keeps_created_at,
    saved_provider_id_must_be_free,
    stale_update_is_rejected,
    update_of_deleted_provider_is_rejected,
    delete_raises_revision_once,
    saved_providers_are_ordered_by_id,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reader_sees_old_or_new() {
    let harness = Harness::open().await;
    suite::concurrent_reader_sees_old_or_new(harness.store.clone()).await;
}

/// Makes writing the search rows of the poisoned user fail. Search rows are
/// the last rows a replace writes, so the deletes, entity rows and relations
/// of the same transaction are already written when it fires.
async fn install_poison_trigger(path: &Path) {
    let options = SqliteConnectOptions::new().filename(path);
    let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
    let statement = format!(
        "CREATE TRIGGER poison_search BEFORE INSERT ON search \
         WHEN NEW.entity_ref = 'user:default/{}' \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        suite::POISON_NAME
    );
    sqlx::query(&statement)
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_replace_changes_nothing() {
    let harness = Harness::open().await;
    install_poison_trigger(&harness.path()).await;
    suite::failed_replace_changes_nothing(harness.store.as_ref()).await;
}

/// Reads the name and SQL of every index in the file.
async fn index_definitions(path: &Path) -> Vec<(String, Option<String>)> {
    let options = SqliteConnectOptions::new().filename(path);
    let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
    let indexes =
        sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    connection.close().await.unwrap();
    indexes
}

/// Enough users to make a bulk write, which rebuilds indexes.
fn bulk_users() -> Vec<Entity> {
    (0..12_000)
        .map(|i| suite::user(&format!("bulk-{i:05}"), &["crowd"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_replace_restores_indexes() {
    let harness = Harness::open().await;
    let before = index_definitions(&harness.path()).await;
    harness
        .store
        .replace_provider_entities(suite::PROVIDER, &bulk_users())
        .await
        .unwrap();
    assert_eq!(index_definitions(&harness.path()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_replace_keeps_relations() {
    let harness = Harness::open().await;
    harness
        .store
        .replace_provider_entities(suite::PROVIDER, &bulk_users())
        .await
        .unwrap();
    let user = harness
        .store
        .entity_by_ref("user:default/bulk-00042")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.relations.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_bulk_replace_changes_nothing() {
    let harness = Harness::open().await;
    install_poison_trigger(&harness.path()).await;
    let first = [suite::user("a", &["crowd"])];
    harness
        .store
        .replace_provider_entities(suite::PROVIDER, &first)
        .await
        .unwrap();
    let entities_before = harness
        .store
        .list_entities(&EntityQuery::default())
        .await
        .unwrap();
    let indexes_before = index_definitions(&harness.path()).await;

    let mut second = bulk_users();
    second.push(suite::user(suite::POISON_NAME, &["crowd"]));
    let result = harness
        .store
        .replace_provider_entities(suite::PROVIDER, &second)
        .await;
    assert!(result.is_err(), "the injected failure did not fire");

    let entities_after = harness
        .store
        .list_entities(&EntityQuery::default())
        .await
        .unwrap();
    assert_eq!(entities_after, entities_before);
    assert_eq!(index_definitions(&harness.path()).await, indexes_before);
}

/// Returns the refs of entities with a row `key` = `value` in the
/// `entity_filters` view, which the API's filters will query.
async fn filter_refs(path: &Path, key: &str, value: &str) -> Vec<String> {
    let options = SqliteConnectOptions::new().filename(path);
    let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT entity_ref FROM entity_filters WHERE key = ? AND value = ? \
         ORDER BY entity_ref",
    )
    .bind(key)
    .bind(value)
    .fetch_all(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
    rows.into_iter().map(|(entity_ref,)| entity_ref).collect()
}

#[tokio::test]
async fn filter_view_serves_fields_and_relations() {
    let harness = Harness::open().await;
    let entities = [
        suite::user("Alice", &["team"]),
        suite::user("bob", &[]),
        suite::group("team", &["bob"], None, &[]),
    ];
    harness
        .store
        .replace_provider_entities(suite::PROVIDER, &entities)
        .await
        .unwrap();
    let path = harness.path();

    let by_email = filter_refs(&path, "spec.profile.email", "alice@example.com").await;
    assert_eq!(by_email, vec!["user:default/alice"]);
    let by_kind = filter_refs(&path, "kind", "group").await;
    assert_eq!(by_kind, vec!["group:default/team"]);
    let members = filter_refs(&path, "relations.memberof", "group:default/team").await;
    assert_eq!(members, vec!["user:default/alice", "user:default/bob"]);
}

#[tokio::test]
async fn reopening_keeps_data() {
    let harness = Harness::open().await;
    let entities = [
        suite::user("a", &["team"]),
        suite::group("team", &["a"], None, &[]),
    ];
    harness
        .store
        .replace_provider_entities(suite::PROVIDER, &entities)
        .await
        .unwrap();
    let before = harness
        .store
        .list_entities(&EntityQuery::default())
        .await
        .unwrap();
    harness.store.close().await;

    let reopened = SqliteStore::open(harness.path().to_str().unwrap())
        .await
        .unwrap();
    let after = reopened
        .list_entities(&EntityQuery::default())
        .await
        .unwrap();
    assert_eq!(after, before);
}

#[tokio::test]
async fn open_creates_parent_folders() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("nested/deeper/catalog.sqlite");
    SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    assert!(path.is_file());
}

#[tokio::test]
async fn open_accepts_sqlite_url() {
    let folder = tempfile::tempdir().unwrap();
    let path = path_in(&folder);
    let url = format!("sqlite://{}", path.display());
    SqliteStore::open(&url).await.unwrap();
    assert!(path.is_file());
}

#[tokio::test]
async fn open_uses_wal_journal() {
    let harness = Harness::open().await;
    let options = SqliteConnectOptions::new().filename(harness.path());
    let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn open_rejects_unwritable_folder() {
    let folder = tempfile::tempdir().unwrap();
    let blocker = folder.path().join("file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let path = blocker.join("catalog.sqlite");
    let result = SqliteStore::open(path.to_str().unwrap()).await;
    assert!(matches!(result, Err(StoreError::InvalidConnection { .. })));
}

#[tokio::test]
async fn memory_store_keeps_data_between_calls() {
    let store = SqliteStore::open(":memory:").await.unwrap();
    store
        .replace_provider_entities(suite::PROVIDER, &[suite::user("a", &[])])
        .await
        .unwrap();
    let count = store.count_entities(&EntityQuery::default()).await.unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn open_store_opens_sqlite() {
    let folder = tempfile::tempdir().unwrap();
    let path = path_in(&folder);
    let store = open_store(StoreClient::Sqlite, path.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        store.count_entities(&EntityQuery::default()).await.unwrap(),
        0
    );
}

#[test]
fn client_names_parse() {
    let cases = [
        ("sqlite", StoreClient::Sqlite),
        ("better-sqlite3", StoreClient::Sqlite),
        ("pg", StoreClient::Postgres),
        ("PostgreSQL", StoreClient::Postgres),
    ];
    for (name, expected) in cases {
        assert_eq!(name.parse::<StoreClient>().unwrap(), expected, "{name}");
    }
}

#[test]
fn unknown_client_is_rejected() {
    let result = "mysql".parse::<StoreClient>();
    assert!(matches!(result, Err(StoreError::UnsupportedClient { .. })));
}

/// Builds `users` users and `groups` groups where user `i` belongs to three
/// groups, with both sides of each membership written as orgsync does.
fn large_org(users: usize, groups: usize) -> Vec<Entity> {
    let mut members: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut entities = Vec::with_capacity(users + groups);
    for i in 0..users {
        let picks = [i % groups, (i * 7 + 1) % groups, (i * 13 + 2) % groups];
        let names: Vec<String> = picks.iter().map(|g| format!("group-{g:05}")).collect();
        for pick in picks {
            members
                .entry(pick)
                .or_default()
                .push(format!("user-{i:06}"));
        }
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        entities.push(suite::user(&format!("user-{i:06}"), &name_refs));
    }
    for g in 0..groups {
        let names = members.remove(&g).unwrap_or_default();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        entities.push(suite::group(
            &format!("group-{g:05}"),
            &name_refs,
            None,
            &[],
        ));
    }
    entities
}

/// Prints how long replacing 100,000 entities takes. Run it with
/// `cargo test -p orgsync-store --release --test sqlite -- --ignored --nocapture`;
/// `RUST_LOG=orgsync_store=debug` adds the time of each step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing only; run by hand"]
async fn replace_100k_timing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let harness = Harness::open().await;
    let store = harness.store.as_ref();
    let org = large_org(90_000, 10_000);

    let started = Instant::now();
    let changes = store
        .replace_provider_entities("bench", &org)
        .await
        .unwrap();
    println!(
        "insert {} entities: {:?}",
        changes.added.len(),
        started.elapsed()
    );

    let started = Instant::now();
    let changes = store
        .replace_provider_entities("bench", &org)
        .await
        .unwrap();
    println!(
        "unchanged {} entities: {:?}",
        changes.unchanged,
        started.elapsed()
    );

    let mut changed = org.clone();
    for entity in changed.iter_mut().step_by(10) {
        entity.metadata.title = Some("Renamed".to_string());
    }
    changed.truncate(changed.len() - 1_000);
    let started = Instant::now();
    let changes = store
        .replace_provider_entities("bench", &changed)
        .await
        .unwrap();
    println!(
        "update {} and remove {} entities: {:?}",
        changes.updated.len(),
        changes.removed.len(),
        started.elapsed()
    );

    let started = Instant::now();
    let listed = store.list_entities(&EntityQuery::default()).await.unwrap();
    println!("list {} entities: {:?}", listed.len(), started.elapsed());
}
