//! Runs the store suite on PostgreSQL, each test in a database of its own
//! that is dropped afterwards, plus the checks for several replicas sharing
//! one database.
//!
//! The server is the one at `ORGSYNC_TEST_PG_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test` with trust authentication, as
//! `scripts/test` starts it. That URL is used only to create and drop the
//! per-test databases. When the server cannot be reached the tests fail.

mod suite;

use std::sync::Arc;

use orgsync_model::Entity;
use orgsync_store::{open_store, EntityQuery, PgStore, Store, StoreClient};
use sqlx::{Connection, PgConnection};

/// The administrative connection used when `ORGSYNC_TEST_PG_URL` is unset.
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn admin_url() -> String {
    std::env::var("ORGSYNC_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap_or_else(|error| {
        panic!(
            "PostgreSQL is not reachable at {url}: {error}; start it (scripts/test does) \
             or set ORGSYNC_TEST_PG_URL to a server that accepts this user"
        )
    })
}

/// Builds the URL of `database` on the server of `admin` by replacing the
/// admin URL's last path segment. The admin URL must have no query string.
fn database_url(admin: &str, database: &str) -> String {
    let server = admin.rsplit_once('/').map_or(admin, |(server, _)| server);
    format!("{server}/{database}")
}

/// A fresh database on the test server with a store connected to it. The
/// database is dropped on drop, even when the test panics.
struct Harness {
    admin_url: String,
    database: String,
    store: Arc<PgStore>,
}

impl Harness {
    async fn open() -> Harness {
        let admin_url = admin_url();
        let database = format!("orgsync_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect(&admin_url).await;
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();

        let store = PgStore::connect(&database_url(&admin_url, &database))
            .await
            .unwrap();
        Harness {
            admin_url,
            database,
            store: Arc::new(store),
        }
    }

    fn url(&self) -> String {
        database_url(&self.admin_url, &self.database)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Drop cannot await, so the database is dropped from a runtime on a
        // thread of its own. FORCE ends the store's open connections.
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database);
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = connect(&admin_url).await;
                sqlx::query(&statement).execute(&mut admin).await.unwrap();
                admin.close().await.unwrap();
            });
        });
        if dropper.join().is_err() && !std::thread::panicking() {
            panic!("could not drop test database {}", self.database);
        }
    }
}

/// Runs each named suite function on its own fresh database.
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
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reader_sees_old_or_new() {
    let harness = Harness::open().await;
    suite::concurrent_reader_sees_old_or_new(harness.store.clone()).await;
}

/// Makes writing the search rows of the poisoned user fail. Search rows are
/// the last rows a replace writes, so the deletes, entity rows and relations
/// of the same transaction are already written when it fires.
async fn install_poison_trigger(url: &str) {
    let mut connection = connect(url).await;
    let function = format!(
        "CREATE FUNCTION poison_search() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
           IF NEW.entity_ref = 'user:default/{}' THEN RAISE EXCEPTION 'injected failure'; \
           END IF; \
           RETURN NEW; \
         END $$",
        suite::POISON_NAME
    );
    sqlx::query(&function)
        .execute(&mut connection)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER poison_search BEFORE INSERT ON search \
         FOR EACH ROW EXECUTE FUNCTION poison_search()",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_replace_changes_nothing() {
    let harness = Harness::open().await;
    install_poison_trigger(&harness.url()).await;
    suite::failed_replace_changes_nothing(harness.store.as_ref()).await;
}

/// More users than one `UNNEST` statement carries, so every insert is split.
fn bulk_users() -> Vec<Entity> {
    (0..12_000)
        .map(|i| suite::user(&format!("bulk-{i:05}"), &["crowd"]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_replace_keeps_every_row() {
    let harness = Harness::open().await;
    let changes = harness
        .store
        .replace_provider_entities(suite::PROVIDER, &bulk_users())
        .await
        .unwrap();
    assert_eq!(changes.added.len(), 12_000);
    let count = harness
        .store
        .count_entities(&EntityQuery::default())
        .await
        .unwrap();
    assert_eq!(count, 12_000);
    let last = harness
        .store
        .entity_by_ref("user:default/bulk-11999")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.relations.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_bulk_replace_changes_nothing() {
    let harness = Harness::open().await;
    install_poison_trigger(&harness.url()).await;
    let first = [suite::user("a", &["crowd"])];
    harness
        .store
        .replace_provider_entities(suite::PROVIDER, &first)
        .await
        .unwrap();
    let before = harness
        .store
        .list_entities(&EntityQuery::default())
        .await
        .unwrap();

    let mut second = bulk_users();
    second.push(suite::user(suite::POISON_NAME, &["crowd"]));
    let result = harness
        .store
        .replace_provider_entities(suite::PROVIDER, &second)
        .await;
    assert!(result.is_err(), "the injected failure did not fire");

    let after = harness
        .store
        .list_entities(&EntityQuery::default())
        .await
        .unwrap();
    assert_eq!(after, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrate_together() {
    let harness = Harness::open().await;
    let url = harness.url();
    let (first, second) = tokio::join!(PgStore::connect(&url), PgStore::connect(&url));
    assert!(first.is_ok(), "first replica failed: {first:?}");
    assert!(second.is_ok(), "second replica failed: {second:?}");
}

/// Two replicas write the same refs for two providers at once. The write
/// lock makes one go first, so each ref ends with exactly one owner and the
/// other provider reports it as a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replicas_split_refs() {
    let harness = Harness::open().await;
    let other = PgStore::connect(&harness.url()).await.unwrap();
    let shared: Vec<Entity> = (0..3_000)
        .map(|i| suite::user(&format!("shared-{i:05}"), &[]))
        .collect();

    let (left, right) = tokio::join!(
        harness.store.replace_provider_entities("left", &shared),
        other.replace_provider_entities("right", &shared),
    );
    let (left, right) = (left.unwrap(), right.unwrap());

    assert_eq!(left.added.len() + right.added.len(), shared.len());
    assert_eq!(left.conflicts.len() + right.conflicts.len(), shared.len());
    let count = harness
        .store
        .count_entities(&EntityQuery::default())
        .await
        .unwrap();
    assert_eq!(count, shared.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_replica_reads_first_replicas_writes() {
    let harness = Harness::open().await;
    harness
        .store
        .replace_provider_entities(suite::PROVIDER, &[suite::user("a", &["team"])])
        .await
        .unwrap();
    let other = PgStore::connect(&harness.url()).await.unwrap();
    let read = other.entity_by_ref("user:default/a").await.unwrap();
    assert!(read.is_some(), "the second replica did not see the entity");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_store_opens_postgres() {
    let harness = Harness::open().await;
    let store = open_store(StoreClient::Postgres, &harness.url())
        .await
        .unwrap();
    let count = store.count_entities(&EntityQuery::default()).await.unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn database_url_replaces_database() {
    let url = database_url("postgres://postgres@127.0.0.1:5432/test", "other");
    assert_eq!(url, "postgres://postgres@127.0.0.1:5432/other");
}
