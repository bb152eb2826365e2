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
use orgsync_store::query::{
    EntityFilter, EntityPageQuery, FilterCondition, FullTextFilter, OrderField, PagePosition,
    SortOrder,
};
use orgsync_store::{open_store, EntityQuery, PgStore, SqliteStore, Store, StoreClient};
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

/// Users whose names, display names and emails mix case, some without a
/// display name, in groups with parents, so that filters, orders and facets
/// meet missing values, ties and case.
fn query_fixture() -> Vec<Entity> {
    let mut entities = Vec::new();
    for index in 0..30 {
        let groups: Vec<String> = (0..index % 3)
            .map(|g| format!("g{}", (index + g) % 5))
            .collect();
        let group_refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let mut user = suite::user(&format!("User-{index:02}"), &group_refs);
        if index % 4 == 0 {
            user.spec["profile"]
                .as_object_mut()
                .unwrap()
                .remove("displayName");
        } else {
            user.spec["profile"]["displayName"] = format!("Person {:02}", (index * 7) % 30).into();
        }
        entities.push(user);
    }
    for index in 0..5 {
        let parent = (index > 0).then_some("g0");
        entities.push(suite::group(&format!("g{index}"), &[], parent, &[]));
    }
    entities
}

fn condition(key: &str, values: Option<&[&str]>) -> FilterCondition {
    FilterCondition {
        key: key.to_string(),
        values: values.map(|values| values.iter().map(|value| value.to_string()).collect()),
    }
}

fn query_filters() -> Vec<Option<EntityFilter>> {
    let filter = |any_of| Some(EntityFilter { any_of });
    vec![
        None,
        filter(vec![vec![condition("kind", Some(&["user"]))]]),
        filter(vec![
            vec![condition("kind", Some(&["group"]))],
            vec![condition("relations.memberof", Some(&["group:default/g3"]))],
        ]),
        filter(vec![vec![condition("spec.profile.displayname", None)]]),
    ]
}

fn query_orders() -> Vec<Option<OrderField>> {
    let field = |name: &str, order| {
        Some(OrderField {
            field: name.to_string(),
            order,
        })
    };
    vec![
        None,
        field("metadata.name", SortOrder::Asc),
        field("spec.profile.displayname", SortOrder::Asc),
        field("spec.profile.displayname", SortOrder::Desc),
        field("relations.memberof", SortOrder::Desc),
    ]
}

/// Walks every page of `base` forward in pages of 7 and returns each item's
/// ref and sort value, and the total of the first page.
async fn walk_pages(store: &dyn Store, base: &EntityPageQuery) -> (Vec<PagePosition>, usize) {
    let mut positions = Vec::new();
    let mut after = None;
    let mut total = 0;
    loop {
        let query = EntityPageQuery {
            after: after.clone(),
            limit: 7,
            count_total: after.is_none(),
            ..base.clone()
        };
        let page = store.query_entities(&query).await.unwrap();
        if let Some(count) = page.total {
            total = count;
        }
        let Some(last) = page.items.last() else {
            break;
        };
        after = Some(last.position.clone());
        positions.extend(page.items.into_iter().map(|item| item.position));
    }
    (positions, total)
}

/// Opens a SQLite store and a PostgreSQL store holding the same entities.
async fn query_stores() -> (Harness, SqliteStore, tempfile::TempDir) {
    let harness = Harness::open().await;
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("catalog.sqlite");
    let sqlite = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    for store in [harness.store.as_ref() as &dyn Store, &sqlite] {
        store
            .replace_provider_entities(suite::PROVIDER, &query_fixture())
            .await
            .unwrap();
    }
    (harness, sqlite, folder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_match_sqlite() {
    let (harness, sqlite, _folder) = query_stores().await;
    let (everything, _) = walk_pages(harness.store.as_ref(), &EntityPageQuery::default()).await;
    assert_eq!(everything.len(), query_fixture().len());

    for filter in query_filters() {
        for order in query_orders() {
            let full_texts = [
                None,
                Some(FullTextFilter {
                    term: "PERSON 1".to_string(),
                    fields: vec!["spec.profile.displayname".to_string()],
                }),
            ];
            for full_text in full_texts {
                let query = EntityPageQuery {
                    filter: filter.clone(),
                    order: order.clone(),
                    full_text,
                    ..EntityPageQuery::default()
                };
                let expected = walk_pages(&sqlite, &query).await;
                let actual = walk_pages(harness.store.as_ref(), &query).await;
                assert_eq!(actual.0, expected.0, "positions of {query:?}");
                assert_eq!(actual.1, expected.1, "total of {query:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facets_match_sqlite() {
    let (harness, sqlite, _folder) = query_stores().await;
    let facets = [
        "kind".to_string(),
        "spec.profile.email".to_string(),
        "relations.memberof".to_string(),
    ];
    for filter in query_filters() {
        let expected = sqlite
            .entity_facets(&facets, filter.as_ref())
            .await
            .unwrap();
        let actual = harness
            .store
            .entity_facets(&facets, filter.as_ref())
            .await
            .unwrap();
        assert_eq!(actual, expected, "facets for {filter:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_by_ref_and_uid() {
    let (harness, _sqlite, _folder) = query_stores().await;
    let store = harness.store.as_ref();
    let refs = [
        "User:default/USER-03".to_string(),
        "user:default/missing".to_string(),
        "not a ref".to_string(),
        "group:default/g1".to_string(),
    ];
    let users = EntityFilter {
        any_of: vec![vec![condition("kind", Some(&["user"]))]],
    };

    let found = store.entities_by_refs(&refs, Some(&users)).await.unwrap();
    let names: Vec<Option<String>> = found
        .iter()
        .map(|entity| entity.as_ref().map(|e| e.metadata.name.clone()))
        .collect();
    assert_eq!(names, [Some("User-03".to_string()), None, None, None]);

    let uid = found[0].as_ref().unwrap().metadata.uid.clone().unwrap();
    let by_uid = store.entity_by_uid(&uid).await.unwrap().unwrap();
    assert_eq!(by_uid.metadata.name, "User-03");
    assert!(store.entity_by_uid("no-such-uid").await.unwrap().is_none());
    store.ping().await.unwrap();
}
