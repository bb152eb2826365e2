//! Backstage's own `@backstage/catalog-client` (npm) against a running
//! server. A fake-okta org is synced into SQLite and the server listens on
//! a loopback port with a read token. Then `tests/catalog-client/check.mjs`
//! pages through users and groups, fetches by ref and by name and reads
//! facets, comparing everything with the export of the same catalog.
//!
//! The harness needs its npm packages: `npm ci` in
//! `tests/catalog-client` (scripts/test runs it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use fake_okta::server::FakeOkta;
use orgsync_model::Entity;
use orgsync_server::catalog::StoreCatalog;
use orgsync_server::{AuthConfig, ServeOptions, ServerBuilder, Token};
use orgsync_store::{EntityQuery, SqliteStore, Store};

const SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];
const READ_TOKEN: &str = "catalog-client-read-token";

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/catalog-client")
}

/// Reads the entities as `orgsync export --format json` prints them: every
/// entity, ordered by ref, without uid, etag and relations.
async fn export(store: &dyn Store) -> Vec<Entity> {
    let mut entities = store.list_entities(&EntityQuery::default()).await.unwrap();
    for entity in &mut entities {
        entity.metadata.uid = None;
        entity.metadata.etag = None;
        entity.relations.clear();
    }
    entities
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_client_reads_what_export_writes() {
    let harness = harness_dir();
    assert!(
        harness
            .join("node_modules/@backstage/catalog-client")
            .is_dir(),
        "the npm packages of {} are missing; run `npm ci` there (scripts/test does)",
        harness.display()
    );

    let fake = FakeOkta::builder()
        .generated(60, 12, 5)
        .with_generated_client(&SCOPES)
        .start_on_loopback()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let credentials = fake.credentials.clone().unwrap();
    std::fs::write(dir.path().join("key.pem"), &credentials.private_key_pem).unwrap();
    let config_path = dir.path().join("app-config.yaml");
    let config = format!(
        "catalog:\n  providers:\n    okta:\n      main:\n\
         \x20       oktaUrl: {url}\n\
         \x20       clientId: {client}\n\
         \x20       keyId: {key}\n\
         \x20       privateKey:\n          $file: key.pem\n\
         \x20       schedule: {{ frequency: {{ hours: 1 }}, timeout: {{ minutes: 5 }}, initialDelay: {{ hours: 1 }} }}\n",
        url = fake.base_url,
        client = credentials.client_id,
        key = credentials.key_id,
    );
    std::fs::write(&config_path, config).unwrap();
    let providers = orgsync_config::load(&[config_path])
        .unwrap()
        .config
        .providers;

    let database = dir.path().join("catalog.sqlite");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(database.to_str().unwrap()).await.unwrap());
    let options = ServeOptions {
        auth: AuthConfig {
            read_token: Token::new(READ_TOKEN),
            admin_token: None,
        },
        ..ServeOptions::default()
    };
    let catalog = Arc::new(StoreCatalog::new(Arc::clone(&store)));
    let server = ServerBuilder::new(Arc::clone(&store), catalog)
        .options(options)
        .build();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let running = server.start(providers, listener).await.unwrap();

    let run = running.scheduler().refresh("main").await.unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(120), run.finished)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.outcome, "succeeded", "{:?}", finished.error);

    let export_path = dir.path().join("export.json");
    let exported = export(store.as_ref()).await;
    std::fs::write(
        &export_path,
        serde_json::to_string_pretty(&exported).unwrap(),
    )
    .unwrap();

    let base_url = format!("http://{}", running.local_addr());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("check.mjs")
            .arg(&base_url)
            .arg(&export_path)
            .arg(READ_TOKEN)
            .current_dir(harness)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");

    running.shutdown().await.unwrap();
    fake.shutdown().await;
    assert!(
        output.status.success(),
        "check.mjs failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all check(s) passed"));
}
