//! Providers saved through the settings registry: validation with the
//! config reader's messages, sealed keys in a real SQLite file, the
//! scheduler picking saved providers up, and a second replica applying
//! them from the database.

use std::sync::Arc;
use std::time::Duration;

use fake_okta::server::{FakeOkta, RunningFakeOkta};
use orgsync_server::metrics::Metrics;
use orgsync_server::scheduler::clock::SystemClock;
use orgsync_server::scheduler::Scheduler;
use orgsync_server::settings::input::{GroupFilterKind, ProviderInput};
use orgsync_server::settings::secret::SecretKey;
use orgsync_server::settings::{ProviderRegistry, SaveError, SAVED_SOURCE};
use orgsync_store::{EntityQuery, SaveMode, SqliteStore, Store, StoreError};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

const SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];
const WAIT: Duration = Duration::from_secs(60);

struct Fixture {
    fake: RunningFakeOkta,
    dir: TempDir,
    store: Arc<dyn Store>,
    key: SecretKey,
}

impl Fixture {
    async fn start() -> Fixture {
        let fake = FakeOkta::builder()
            .generated(20, 4, 7)
            .with_generated_client(&SCOPES)
            .start_on_loopback()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        Fixture {
            fake,
            dir,
            store,
            key: SecretKey::generate(),
        }
    }

    fn database_path(&self) -> std::path::PathBuf {
        self.dir.path().join("catalog.sqlite")
    }

    /// A registry on the fixture's store with its own scheduler, as one
    /// replica has.
    fn registry(
        &self,
        config_providers: Vec<orgsync_config::ProviderConfig>,
    ) -> (Arc<ProviderRegistry>, Scheduler) {
        let scheduler = Scheduler::new(
            Arc::clone(&self.store),
            Arc::new(SystemClock),
            Arc::new(Metrics::new()),
        );
        let registry = ProviderRegistry::new(
            Arc::clone(&self.store),
            self.key.clone(),
            scheduler.clone(),
            config_providers,
        );
        (Arc::new(registry), scheduler)
    }

    fn private_key(&self) -> String {
        self.fake
            .credentials
            .as_ref()
            .unwrap()
            .private_key_pem
            .clone()
    }

    fn input(&self, id: &str) -> ProviderInput {
        let credentials = self.fake.credentials.as_ref().unwrap();
        ProviderInput {
            id: id.to_string(),
            okta_url: self.fake.base_url.to_string(),
            client_id: credentials.client_id.clone(),
            private_key: credentials.private_key_pem.clone(),
            key_id: credentials.key_id.clone(),
            frequency: "PT1H".to_string(),
            timeout: "PT1M".to_string(),
            ..ProviderInput::default()
        }
    }
}

async fn open_store(dir: &TempDir) -> Arc<dyn Store> {
    let path = dir.path().join("catalog.sqlite");
    Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap())
}

fn invalid(
    result: Result<orgsync_store::SavedProvider, SaveError>,
) -> orgsync_server::settings::input::FieldErrors {
    match result {
        Err(SaveError::Invalid(errors)) => errors,
        other => panic!("expected invalid settings, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_provider_runs_and_syncs() {
    let fixture = Fixture::start().await;
    let (registry, scheduler) = fixture.registry(Vec::new());
    registry.apply().await.unwrap();
    assert!(scheduler.status().provider("saved").is_none());

    let saved = registry
        .save(&fixture.input("saved"), SaveMode::Create)
        .await
        .unwrap();
    assert_eq!(saved.revision, 1);
    let status = scheduler.status().provider("saved").unwrap();
    assert_eq!(status.schedule.frequency_seconds, Some(3600));
    let views = registry.saved_providers().await.unwrap();
    assert_eq!(views[0].problem, None);
    assert_eq!(
        registry.decode(&views[0].saved).unwrap().source,
        SAVED_SOURCE
    );

    let run = scheduler.refresh("saved").await.unwrap();
    let finished = tokio::time::timeout(WAIT, run.finished)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.outcome, "succeeded", "{finished:?}");
    let users = fixture
        .store
        .count_entities(&EntityQuery {
            kind: Some("User".to_string()),
            provider: Some("saved".to_string()),
            ..EntityQuery::default()
        })
        .await
        .unwrap();
    assert!(users > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_never_reaches_database_file() {
    let fixture = Fixture::start().await;
    let (registry, _scheduler) = fixture.registry(Vec::new());
    registry
        .save(&fixture.input("saved"), SaveMode::Create)
        .await
        .unwrap();

    // The file and its write-ahead log hold everything written so far.
    let mut bytes = std::fs::read(fixture.database_path()).unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut path = fixture.database_path().into_os_string();
        path.push(suffix);
        if let Ok(extra) = std::fs::read(&path) {
            bytes.extend(extra);
        }
    }
    let pem = fixture.private_key();
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    for line in pem.lines().filter(|line| !line.starts_with("-----")) {
        assert!(
            !contains(&bytes, line.as_bytes()),
            "a line of the private key is in the database file"
        );
    }
    assert!(!body.is_empty());
    assert!(!contains(&bytes, b"PRIVATE KEY"));
    assert!(!contains(&bytes, fixture.key.to_base64().as_bytes()));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_key_field_keeps_stored_key() {
    let fixture = Fixture::start().await;
    let (registry, _scheduler) = fixture.registry(Vec::new());
    let first = registry
        .save(&fixture.input("saved"), SaveMode::Create)
        .await
        .unwrap();

    let mut edit = fixture.input("saved");
    edit.private_key = String::new();
    edit.timeout = "PT2M".to_string();
    let second = registry
        .save(
            &edit,
            SaveMode::Update {
                revision: first.revision,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        second.settings.key_fingerprint,
        first.settings.key_fingerprint
    );
    assert_ne!(
        second.settings.sealed_private_key,
        first.settings.sealed_private_key
    );
    let provider = registry.decode(&second).unwrap();
    assert_eq!(provider.schedule.timeout, Duration::from_secs(120));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_errors_match_config_messages() {
    let fixture = Fixture::start().await;
    let (registry, _scheduler) = fixture.registry(Vec::new());
    let mut input = fixture.input("saved");
    input.okta_url = "https://acme-admin.okta.com".to_string();
    input.timeout = "ten minutes".to_string();
    input.group_filter = GroupFilterKind::Search;
    input.group_search = "profile.name sw".to_string();

    let errors = invalid(registry.save(&input, SaveMode::Create).await);

    let config_value = input.to_config_value(&fixture.private_key());
    let config_errors = orgsync_config::parse_provider("settings form", &config_value).unwrap_err();
    let expected = |key_path: &str| {
        let error = config_errors
            .0
            .iter()
            .find(|error| error.key_path.starts_with(key_path))
            .unwrap();
        error.problem.clone()
    };
    assert!(errors.of("okta_url")[0].contains(&expected("oktaUrl")));
    assert!(errors.of("timeout")[0].contains(&expected("schedule.timeout")));
    assert!(errors.of("group_search")[0].contains(&expected("groupFilter")));
    assert!(fixture.store.saved_providers().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_is_reported_once() {
    let fixture = Fixture::start().await;
    let (registry, _scheduler) = fixture.registry(Vec::new());
    let mut input = fixture.input("saved");
    input.private_key = "  ".to_string();

    let errors = invalid(registry.save(&input, SaveMode::Create).await);
    assert_eq!(errors.of("private_key").len(), 1, "{errors:?}");
    assert!(errors.general.is_empty(), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_id_cannot_be_saved() {
    let fixture = Fixture::start().await;
    let value = fixture
        .input("main")
        .to_config_value(&fixture.private_key());
    let config_provider = orgsync_config::parse_provider("app-config.yaml", &value).unwrap();
    let (registry, _scheduler) = fixture.registry(vec![config_provider]);

    let errors = invalid(
        registry
            .save(&fixture.input("main"), SaveMode::Create)
            .await,
    );
    let message = errors.of("id")[0];
    assert!(message.contains("app-config.yaml"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_provider_wins_over_saved_one() {
    let fixture = Fixture::start().await;
    let (saving, _first) = fixture.registry(Vec::new());
    saving
        .save(&fixture.input("main"), SaveMode::Create)
        .await
        .unwrap();

    let mut config_input = fixture.input("main");
    config_input.frequency = "PT5H".to_string();
    let value = config_input.to_config_value(&fixture.private_key());
    let config_provider = orgsync_config::parse_provider("app-config.yaml", &value).unwrap();
    let (registry, scheduler) = fixture.registry(vec![config_provider]);
    registry.apply().await.unwrap();

    let status = scheduler.status().provider("main").unwrap();
    assert_eq!(status.schedule.frequency_seconds, Some(5 * 3600));
    let views = registry.saved_providers().await.unwrap();
    let problem = views[0].problem.as_deref().unwrap();
    assert!(problem.contains("app-config.yaml"), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_replica_applies_saved_provider() {
    let fixture = Fixture::start().await;
    let (first, _first_scheduler) = fixture.registry(Vec::new());
    let (second, second_scheduler) = fixture.registry(Vec::new());
    second.apply().await.unwrap();
    let stop = CancellationToken::new();
    let poller = second.spawn_poller(Duration::from_millis(100), stop.clone());

    first
        .save(&fixture.input("shared"), SaveMode::Create)
        .await
        .unwrap();
    let appeared = wait_until(|| second_scheduler.status().provider("shared").is_some()).await;
    assert!(
        appeared,
        "the second replica did not apply the saved provider"
    );

    assert!(first.delete("shared").await.unwrap());
    let gone = wait_until(|| second_scheduler.status().provider("shared").is_none()).await;
    assert!(gone, "the second replica did not drop the deleted provider");

    stop.cancel();
    poller.await.unwrap();
}

async fn wait_until(condition: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    condition()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_key_is_reported() {
    let fixture = Fixture::start().await;
    let (registry, _scheduler) = fixture.registry(Vec::new());
    registry
        .save(&fixture.input("saved"), SaveMode::Create)
        .await
        .unwrap();

    let scheduler = Scheduler::new(
        Arc::clone(&fixture.store),
        Arc::new(SystemClock),
        Arc::new(Metrics::new()),
    );
    let other = ProviderRegistry::new(
        Arc::clone(&fixture.store),
        SecretKey::generate(),
        scheduler.clone(),
        Vec::new(),
    );
    other.apply().await.unwrap();
    assert!(scheduler.status().provider("saved").is_none());
    let views = other.saved_providers().await.unwrap();
    let problem = views[0].problem.as_deref().unwrap();
    assert!(problem.contains("ORGSYNC_SECRET_KEY"), "{problem}");

    let mut edit = fixture.input("saved");
    edit.private_key = String::new();
    let result = other.save(&edit, SaveMode::Update { revision: 1 }).await;
    assert!(matches!(result, Err(SaveError::Secret(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_form_is_rejected() {
    let fixture = Fixture::start().await;
    let (registry, _scheduler) = fixture.registry(Vec::new());
    registry
        .save(&fixture.input("saved"), SaveMode::Create)
        .await
        .unwrap();
    registry
        .save(&fixture.input("saved"), SaveMode::Update { revision: 1 })
        .await
        .unwrap();
    let result = registry
        .save(&fixture.input("saved"), SaveMode::Update { revision: 1 })
        .await;
    assert!(
        matches!(
            result,
            Err(SaveError::Store(StoreError::StaleSettings { .. }))
        ),
        "{result:?}"
    );
}
