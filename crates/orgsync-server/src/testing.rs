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
use crate::session::{AdminCredentials, Sessions, SESSION_LIFETIME};
use crate::settings::secret::SecretKey;
use crate::settings::ProviderRegistry;

/// App parts that serve `entities` from memory; the scheduler has no
/// providers and an empty in-memory SQLite store.
pub async fn memory_parts(entities: Vec<Entity>, auth: AuthConfig) -> AppParts {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(":memory:").await.unwrap());
    let metrics = Arc::new(Metrics::new());
    let scheduler = Scheduler::new(
        Arc::clone(&store),
        Arc::new(SystemClock),
        Arc::clone(&metrics),
    );
    let registry =
        ProviderRegistry::new(store, SecretKey::generate(), scheduler.clone(), Vec::new());
    AppParts {
        catalog: Arc::new(MemoryCatalog::new(entities)),
        scheduler,
        metrics,
        admin: Arc::new(AdminCredentials {
            password: None,
            token: auth.admin_token.clone(),
        }),
        auth: Arc::new(auth),
        registry: Arc::new(registry),
        sessions: Arc::new(Sessions::new(SESSION_LIFETIME, false)),
    }
}
