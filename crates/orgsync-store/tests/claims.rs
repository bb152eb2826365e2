//! Checks run claims on SQLite and PostgreSQL: one holder at a time,
//! renewal by the holder, takeover after expiry, and release. The
//! PostgreSQL checks use a fresh database on the server at
//! `ORGSYNC_TEST_PG_URL` (by default `postgres://postgres@127.0.0.1:5432/test`),
//! dropped afterwards.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use orgsync_store::{PgStore, SqliteStore, Store};
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
