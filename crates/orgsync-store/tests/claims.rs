//! Checks run claims on SQLite and PostgreSQL: one holder at a time,
//! renewal by the holder, takeover after expiry, and release; and the
//! state replicas share beside them: abandoned runs and the due time of
//! the next scheduled run, written by compare-and-swap. The
//! PostgreSQL checks use a fresh database on the server at
//! `ORGSYNC_TEST_PG_URL` (by default `postgres://postgres@127.0.0.1:5432/test`),
//! dropped afterwards.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use orgsync_store::{NextRun, PgStore, RunOutcome, RunSummary, SqliteStore, Store};
use sqlx::{Connection, PgConnection};

const TTL: Duration = Duration::from_secs(60);

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
}

async fn free_claim_is_taken(store: &dyn Store) {
    let taken = store
        .try_claim("okta", "replica-a", at(0), TTL)
        .await
        .unwrap();
    assert!(taken);
}

async fn held_claim_is_refused(store: &dyn Store) {
    store
        .try_claim("okta", "replica-a", at(0), TTL)
        .await
        .unwrap();
    let taken = store
        .try_claim("okta", "replica-b", at(30), TTL)
        .await
        .unwrap();
    assert!(!taken);
}

async fn holder_renews_claim(store: &dyn Store) {
    store
        .try_claim("okta", "replica-a", at(0), TTL)
        .await
        .unwrap();
    let renewed = store
        .try_claim("okta", "replica-a", at(50), TTL)
        .await
        .unwrap();
    assert!(renewed);
    // The renewal moved the expiry to 110 s, so the claim is still held at 90 s.
    let taken = store
        .try_claim("okta", "replica-b", at(90), TTL)
        .await
        .unwrap();
    assert!(!taken);
}

async fn expired_claim_is_taken_over(store: &dyn Store) {
    store
        .try_claim("okta", "replica-a", at(0), TTL)
        .await
        .unwrap();
    let taken = store
        .try_claim("okta", "replica-b", at(60), TTL)
        .await
        .unwrap();
    assert!(taken);
    let renewed = store
        .try_claim("okta", "replica-a", at(61), TTL)
        .await
        .unwrap();
    assert!(!renewed, "the old holder renewed a claim it lost");
}

async fn released_claim_is_free(store: &dyn Store) {
    store
        .try_claim("okta", "replica-a", at(0), TTL)
        .await
        .unwrap();
    store.release_claim("okta", "replica-a").await.unwrap();
    let taken = store
        .try_claim("okta", "replica-b", at(1), TTL)
        .await
        .unwrap();
    assert!(taken);
}

async fn release_by_other_holder_is_ignored(store: &dyn Store) {
    store
        .try_claim("okta", "replica-a", at(0), TTL)
        .await
        .unwrap();
    store.release_claim("okta", "replica-b").await.unwrap();
    let taken = store
        .try_claim("okta", "replica-b", at(1), TTL)
        .await
        .unwrap();
    assert!(!taken);
}

async fn providers_are_claimed_apart(store: &dyn Store) {
    store
        .try_claim("okta", "replica-a", at(0), TTL)
        .await
        .unwrap();
    let taken = store
        .try_claim("other", "replica-b", at(0), TTL)
        .await
        .unwrap();
    assert!(taken);
}

async fn release_all_frees_every_claim(store: &dyn Store) {
    store
        .try_claim("okta", "replica-a", at(0), TTL)
        .await
        .unwrap();
    store
        .try_claim("other", "replica-b", at(0), TTL)
        .await
        .unwrap();
    store.release_all_claims().await.unwrap();
    for provider in ["okta", "other"] {
        let taken = store
            .try_claim(provider, "replica-c", at(1), TTL)
            .await
            .unwrap();
        assert!(taken, "{provider} is still claimed");
    }
}

async fn running_runs_are_abandoned(store: &dyn Store) {
    let old = store.start_run("okta", at(0)).await.unwrap();
    let other_provider = store.start_run("other", at(0)).await.unwrap();
    let newer = store.start_run("okta", at(20)).await.unwrap();
    let finished = store.start_run("okta", at(5)).await.unwrap();
    store
        .finish_run(
            finished,
            at(8),
            RunOutcome::Succeeded,
            None,
            &RunSummary::default(),
            None,
        )
        .await
        .unwrap();

    let abandoned = store
        .abandon_runs(Some("okta"), at(10), at(30), "the replica stopped")
        .await
        .unwrap();
    assert_eq!(abandoned, vec![old]);

    let runs = store.runs(None, 0).await.unwrap();
    let outcome = |id: i64| runs.iter().find(|run| run.id == id).unwrap().clone();
    assert_eq!(outcome(old).outcome, RunOutcome::Abandoned);
    assert_eq!(outcome(old).finished_at, Some(at(30)));
    assert_eq!(outcome(old).error.as_deref(), Some("the replica stopped"));
    assert_eq!(outcome(other_provider).outcome, RunOutcome::Running);
    assert_eq!(outcome(newer).outcome, RunOutcome::Running);
    assert_eq!(outcome(finished).outcome, RunOutcome::Succeeded);
}

async fn abandon_without_provider_covers_all(store: &dyn Store) {
    let first = store.start_run("okta", at(0)).await.unwrap();
    let second = store.start_run("other", at(1)).await.unwrap();
    let mut abandoned = store
        .abandon_runs(None, at(1), at(2), "orgsync restarted")
        .await
        .unwrap();
    abandoned.sort_unstable();
    assert_eq!(abandoned, vec![first, second]);
}

fn next_run(due_seconds: i64, schedule: &str) -> NextRun {
    NextRun {
        due_at: at(due_seconds),
        schedule: schedule.to_string(),
        version: 0,
    }
}

async fn next_run_is_inserted_once(store: &dyn Store) {
    assert_eq!(store.next_run("okta").await.unwrap(), None);
    let inserted = store
        .replace_next_run("okta", None, &next_run(10, "every:10s"))
        .await
        .unwrap();
    assert!(inserted);
    let again = store
        .replace_next_run("okta", None, &next_run(99, "every:99s"))
        .await
        .unwrap();
    assert!(!again, "a second insert replaced the stored due time");

    let stored = store.next_run("okta").await.unwrap().unwrap();
    assert_eq!(stored.due_at, at(10));
    assert_eq!(stored.schedule, "every:10s");
    assert_eq!(stored.version, 1);
}

async fn next_run_swap_needs_current_version(store: &dyn Store) {
    store
        .replace_next_run("okta", None, &next_run(10, "every:10s"))
        .await
        .unwrap();
    let advanced = store
        .replace_next_run("okta", Some(1), &next_run(20, "every:10s"))
        .await
        .unwrap();
    assert!(advanced);
    let stale = store
        .replace_next_run("okta", Some(1), &next_run(30, "every:10s"))
        .await
        .unwrap();
    assert!(!stale, "a write with an old version replaced the due time");

    let stored = store.next_run("okta").await.unwrap().unwrap();
    assert_eq!(stored.due_at, at(20));
    assert_eq!(stored.version, 2);
}

/// Many replicas race to advance one due time; exactly one wins.
async fn racing_schedulers_advance_once(store: Arc<dyn Store>) {
    store
        .replace_next_run("okta", None, &next_run(10, "every:10s"))
        .await
        .unwrap();
    let attempts = (0..16).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .replace_next_run("okta", Some(1), &next_run(20, "every:10s"))
                .await
                .unwrap()
        })
    });
    let mut winners = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        if attempt.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// Many holders race for one claim at once; exactly one wins.
async fn racing_holders_get_one_winner(store: Arc<dyn Store>) {
    let attempts = (0..16).map(|index| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let holder = format!("replica-{index}");
            store.try_claim("okta", &holder, at(0), TTL).await.unwrap()
        })
    });
    let mut winners = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        if attempt.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

async fn sqlite_store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("catalog.sqlite");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    (Arc::new(store), folder)
}

fn admin_url() -> String {
    std::env::var("ORGSYNC_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

async fn connect_admin(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap_or_else(|error| {
        panic!(
            "PostgreSQL is not reachable at {url}: {error}; start it (scripts/test does) \
             or set ORGSYNC_TEST_PG_URL to a server that accepts this user"
        )
    })
}

/// A fresh PostgreSQL database, dropped on drop even when the test panics.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    async fn create() -> (PgDatabase, Arc<dyn Store>) {
        let admin_url = admin_url();
        let name = format!("orgsync_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect_admin(&admin_url).await;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();

        let server = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(server, _)| server);
        let store = PgStore::connect(&format!("{server}/{name}")).await.unwrap();
        (PgDatabase { admin_url, name }, Arc::new(store))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop cannot await, so a runtime on its own thread drops the
        // database. FORCE ends the store's open connections.
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = connect_admin(&admin_url).await;
                sqlx::query(&statement).execute(&mut admin).await.unwrap();
                admin.close().await.unwrap();
            });
        });
        if dropper.join().is_err() && !std::thread::panicking() {
            panic!("could not drop test database {}", self.name);
        }
    }
}

/// Runs each named check on a fresh SQLite store and a fresh PostgreSQL
/// store.
macro_rules! claim_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _folder) = super::sqlite_store().await;
                    super::$name(store.as_ref()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_database, store) = super::PgDatabase::create().await;
                    super::$name(store.as_ref()).await;
                }
            )*
        }
    };
}

claim_tests!(
    free_claim_is_taken,
    held_claim_is_refused,
    holder_renews_claim,
    expired_claim_is_taken_over,
    released_claim_is_free,
    release_by_other_holder_is_ignored,
    providers_are_claimed_apart,
    release_all_frees_every_claim,
    running_runs_are_abandoned,
    abandon_without_provider_covers_all,
    next_run_is_inserted_once,
    next_run_swap_needs_current_version,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_racing_holders_get_one_winner() {
    let (store, _folder) = sqlite_store().await;
    racing_holders_get_one_winner(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_racing_holders_get_one_winner() {
    let (_database, store) = PgDatabase::create().await;
    racing_holders_get_one_winner(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_racing_schedulers_advance_once() {
    let (store, _folder) = sqlite_store().await;
    racing_schedulers_advance_once(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_racing_schedulers_advance_once() {
    let (_database, store) = PgDatabase::create().await;
    racing_schedulers_advance_once(store).await;
}
