//! Shared setup for the end-to-end tests: a fake Okta org on a loopback
//! port, a config for it in a temporary folder, and the real `orgsync`
//! binary run against both.

#![allow(dead_code)]

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::Output;

use fake_okta::server::{FakeOktaBuilder, RunningFakeOkta};
use orgsync_store::{EntityQuery, SqliteStore, Store};
use serde_json::Value;

/// The scopes an Okta admin grants orgsync's app.
pub const SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

/// A running fake org with a config pointing at it.
pub struct TestOrg {
    pub fake: RunningFakeOkta,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl TestOrg {
    /// Starts `builder` (which must not have a client yet) with a generated
    /// client, and writes a config whose provider `test` has `extra` YAML
    /// lines (indented by 8 spaces) added to its settings.
    pub async fn start(builder: FakeOktaBuilder, extra: &str) -> TestOrg {
        let fake = builder
            .with_generated_client(&SCOPES)
            .start_on_loopback()
            .await
            .expect("fake-okta starts");
        let dir = tempfile::tempdir().expect("temporary folder");
        let config = write_config(dir.path(), &fake, extra);
        TestOrg { fake, dir, config }
    }

    /// Rewrites the config with other provider settings.
    pub fn reconfigure(&mut self, extra: &str) {
        self.config = write_config(self.dir.path(), &self.fake, extra);
    }

    /// Runs `orgsync sync --format json` and returns the exit code and the
    /// report of the (only) provider.
    pub async fn sync(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["sync", "--format", "json", "--progress", "none"];
        all.extend_from_slice(args);
        let output = self.orgsync(&all).await;
        let code = output.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let reports: Value = serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!(
                "sync printed no JSON ({error}); stdout: {stdout}\nstderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (code, reports[0].clone())
    }

    /// Runs `orgsync export --format json` and returns the entities.
    pub async fn export(&self) -> Vec<Value> {
        let output = self.orgsync(&["export", "--format", "json"]).await;
        assert!(
            output.status.success(),
            "export failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("export is a JSON array")
    }

    /// Runs the orgsync binary with `--config` and `args`.
    pub async fn orgsync(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("orgsync runs")
    }

    /// Builds the orgsync command that [`TestOrg::orgsync`] runs, for tests
    /// that read its output while it runs. The process is killed when the
    /// command's child is dropped, so a failed test leaves none behind.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let (command, rest) = args.split_first().expect("a subcommand");
        let config = self.config.to_string_lossy().to_string();
        let mut orgsync = tokio::process::Command::new(env!("CARGO_BIN_EXE_orgsync"));
        orgsync
            .arg(command)
            .args(["--config", &config])
            .args(rest)
            .env("ORGSYNC_LOG", "info")
            .kill_on_drop(true);
        orgsync
    }

    /// The SQLite catalog file the config points at.
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("catalog.sqlite")
    }

    /// Returns the number of runs in the catalog's run history.
    pub async fn run_count(&self) -> usize {
        let path = self.database().to_string_lossy().to_string();
        let store = SqliteStore::open(&path).await.expect("catalog opens");
        let runs = store.runs(None, 10_000).await.expect("run history reads");
        store.close().await;
        runs.len()
    }

    /// Reads the catalog as stored: every entity with its `uid`, `etag` and
    /// relations, in ref order. Unlike [`TestOrg::export`], this shows
    /// whether a run rewrote an entity without changing its content.
    pub async fn catalog(&self) -> Vec<Value> {
        let path = self.database().to_string_lossy().to_string();
        let store = SqliteStore::open(&path).await.expect("catalog opens");
        let entities = store
            .list_entities(&EntityQuery::default())
            .await
            .expect("catalog lists");
        store.close().await;
        entities
            .iter()
            .map(|entity| serde_json::to_value(entity).expect("entity encodes"))
            .collect()
    }
}

fn write_config(dir: &Path, fake: &RunningFakeOkta, extra: &str) -> PathBuf {
    let credentials = fake.credentials.as_ref().expect("generated credentials");
    let key_path = dir.join("key.pem");
    std::fs::write(&key_path, &credentials.private_key_pem).expect("key written");

    let database = dir.join("catalog.sqlite");
    let text = format!(
        "backend:\n  database:\n    client: sqlite\n    connection: {database:?}\n\
         catalog:\n  providers:\n    okta:\n      test:\n\
         \x20       oktaUrl: {url}\n\
         \x20       clientId: {client}\n\
         \x20       keyId: {key_id}\n\
         \x20       privateKey:\n          $file: key.pem\n\
         \x20       maxRetries: 1\n\
         {extra}",
        database = database.display().to_string(),
        url = fake.base_url,
        client = credentials.client_id,
        key_id = credentials.key_id,
    );
    let path = dir.join("app-config.yaml");
    std::fs::write(&path, text).expect("config written");
    path
}

/// The entities of one kind in an export.
pub fn of_kind<'a>(entities: &'a [Value], kind: &str) -> Vec<&'a Value> {
    entities
        .iter()
        .filter(|entity| entity["kind"] == kind)
        .collect()
}

/// An annotation of an exported entity.
pub fn annotation<'a>(entity: &'a Value, key: &str) -> Option<&'a str> {
    entity["metadata"]["annotations"][key].as_str()
}

/// The exported entity with this Okta id annotation.
pub fn by_okta_id<'a>(entities: &'a [Value], key: &str, id: &str) -> Option<&'a Value> {
    entities
        .iter()
        .find(|entity| annotation(entity, key) == Some(id))
}

/// A list of strings from a JSON array (empty when absent).
pub fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The number of refs in a report's change list (`added`, `updated`, `removed`).
pub fn change_count(report: &Value, list: &str) -> usize {
    report["report"]["changes"][list]
        .as_array()
        .map(Vec::len)
        .unwrap_or(usize::MAX)
}

/// The shared Okta reference material, beside the repository.
pub fn okta_reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/okta-reference")
}
