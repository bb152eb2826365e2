//! Helpers shared by the unit tests.

use std::sync::Arc;

use orgsync_model::Entity;
use orgsync_store::{SqliteStore, Store};

use crate::app::AppParts;
use crate::auth::AuthConfig;
use crate::catalog::MemoryCatalog;
use crate::metrics::Metrics;
use crate::scheduler::clock::SystemClock;
use crate::scheduler::Scheduler;

/// App parts that serve `entities` from memory; the scheduler has no
/// providers and an empty in-memory SQLite store.
pub async fn memory_parts(entities: Vec<Entity>, auth: AuthConfig) -> AppParts {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(":memory:").await.unwrap());
    let metrics = Arc::new(Metrics::new());
    AppParts {
        catalog: Arc::new(MemoryCatalog::new(entities)),
        scheduler: Scheduler::new(store, Arc::new(SystemClock), Arc::clone(&metrics)),
        metrics,
        auth: Arc::new(auth),
    }
}
