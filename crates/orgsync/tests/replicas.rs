//! Several `orgsync serve` replicas on one PostgreSQL database and one
//! fake-okta org on a loopback port:
//!
//! - three replicas over several schedule periods run each provider once
//!   per period and never two runs at once;
//! - SIGKILL of the replica running a sync hands the provider to another
//!   replica once the claim expires, and readers of the other replicas'
//!   catalog API see the old or the new catalog, never a mix;
//! - a PostgreSQL restart during a run fails that run with no change, and
//!   the next run succeeds;
//! - SIGHUP rereads the config, and SIGTERM cancels a run that outlasts the
//!   shutdown grace period;
//! - a run left running by a dead process is marked abandoned: on
//!   PostgreSQL once its claim expires, on a SQLite file when the next
//!   process starts.
//!
//! The first two use a fresh database on the server at `ORGSYNC_TEST_PG_URL`
//! (by default `postgres://postgres@127.0.0.1:5432/test`, trust
//! authentication), dropped afterwards. The restart test starts a
//! PostgreSQL server of its own from the installed binaries
//! (`/usr/lib/postgresql/<version>/bin`, or `ORGSYNC_TEST_PG_BIN`) on a free
//! loopback port, so that restarting it disturbs no other test, and stops
//! it whatever happens.

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fake_okta::faults::{FaultConfig, Latency};
use fake_okta::limits::RateLimitConfig;
use fake_okta::server::{FakeOkta, RunningFakeOkta};
use orgsync_store::{PgStore, RunOutcome, RunRecord, Store};
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

const SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

/// The admin token the replicas require for refresh requests.
const ADMIN_TOKEN: &str = "replica-test-admin-token-0123456789";

/// The maximum wait for anything a test waits for.
const WAIT: Duration = Duration::from_secs(90);

fn admin_url() -> String {
    std::env::var("ORGSYNC_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap_or_else(|error| {
        panic!(
            "PostgreSQL is not reachable at {url}: {error}; start it (scripts/test does) \
             or set ORGSYNC_TEST_PG_URL to a server that accepts this user"
        )
    })
}

/// Builds the URL of `database` on the server of `server_url` by replacing
/// its last path segment.
fn database_url(server_url: &str, database: &str) -> String {
    let server = server_url
        .rsplit_once('/')
        .map_or(server_url, |(server, _)| server);
    format!("{server}/{database}")
}

/// A fresh database, dropped on drop even when the test panics.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> PgDatabase {
        let name = format!("orgsync_replicas_{}", unique_suffix());
        let mut admin = connect(admin_url).await;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("test database created");
        admin.close().await.expect("admin connection closes");
        PgDatabase {
            admin_url: admin_url.to_string(),
            url: database_url(admin_url, &name),
            name,
        }
    }

    async fn store(&self) -> PgStore {
        PgStore::connect(&self.url).await.expect("store connects")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop cannot await, so a runtime on its own thread drops the
        // database. FORCE ends the replicas' connections.
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime starts");
            runtime.block_on(async {
                let mut admin = connect(&admin_url).await;
                sqlx::query(&statement)
                    .execute(&mut admin)
                    .await
                    .expect("test database dropped");
            });
        });
        if dropper.join().is_err() && !std::thread::panicking() {
            panic!("could not drop test database {}", self.name);
        }
    }
}

/// Builds a unique suffix for database names from the process id and the time.
fn unique_suffix() -> String {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{}_{nanos}", std::process::id())
}

/// A fake org and a config for it in a temporary folder.
struct Org {
    fake: RunningFakeOkta,
    dir: tempfile::TempDir,
    config: PathBuf,
    /// The `backend.database` settings, as YAML indented by four spaces.
    database: String,
    schedule: String,
}

impl Org {
    async fn start(users: usize, groups: usize, database_url: &str, schedule: &str) -> Org {
        let database = format!("    client: pg\n    connection: {database_url}\n");
        Org::start_on(users, groups, database, schedule).await
    }

    /// Starts an org whose catalog is the SQLite file `catalog.sqlite` in
    /// the org's folder.
    async fn start_sqlite(users: usize, groups: usize, schedule: &str) -> Org {
        Org::start_on(users, groups, String::new(), schedule).await
    }

    async fn start_on(users: usize, groups: usize, database: String, schedule: &str) -> Org {
        let fake = FakeOkta::builder()
            .generated(users, groups, 23)
            .rate_limits(RateLimitConfig::unlimited())
            .with_generated_client(&SCOPES)
            .start_on_loopback()
            .await
            .expect("fake-okta starts");
        let dir = tempfile::tempdir().expect("temporary folder");
        let credentials = fake.credentials.as_ref().expect("generated credentials");
        std::fs::write(dir.path().join("key.pem"), &credentials.private_key_pem)
            .expect("key written");
        let config = dir.path().join("app-config.yaml");
        let database = if database.is_empty() {
            let path = dir.path().join("catalog.sqlite");
            format!(
                "    client: sqlite\n    connection: {:?}\n",
                path.display().to_string()
            )
        } else {
            database
        };
        let org = Org {
            fake,
            dir,
            config,
            database,
            schedule: schedule.to_string(),
        };
        org.write_config("");
        org
    }

    /// Writes the config with `extra` YAML lines (indented by 8 spaces)
    /// added to the provider's settings.
    fn write_config(&self, extra: &str) {
        let credentials = self
            .fake
            .credentials
            .as_ref()
            .expect("generated credentials");
        let text = format!(
            "backend:\n  database:\n{database}\
             \x20 secretKeyFile: {key_file}\n\
             catalog:\n  providers:\n    okta:\n      test:\n\
             \x20       oktaUrl: {url}\n\
             \x20       clientId: {client}\n\
             \x20       keyId: {key_id}\n\
             \x20       privateKey:\n          $file: key.pem\n\
             \x20       maxRetries: 1\n\
             \x20       removalGuard: {{ maxShare: 1.0 }}\n\
             \x20       schedule: {schedule}\n{extra}",
            database = self.database,
            // In the test's folder, not the default ./data/ of the working
            // directory, which is the crate's folder under cargo test.
            key_file = self.config.with_file_name("orgsync-secret.key").display(),
            schedule = self.schedule,
            url = self.fake.base_url,
            client = credentials.client_id,
            key_id = credentials.key_id,
        );
        std::fs::write(&self.config, text).expect("config written");
    }

    /// Returns the names of the org's Okta groups.
    fn group_names(&self) -> Vec<String> {
        let handle = self.fake.org_handle();
        let org = handle.read();
        let names = org
            .groups_after(None)
            .filter(|group| group.group_type() == "OKTA_GROUP")
            .map(|group| group.name().to_string())
            .collect();
        names
    }

    /// Removes `count` users from the org, so that the next run changes
    /// the catalog.
    fn remove_users(&self, count: usize) {
        let handle = self.fake.org_handle();
        let ids: Vec<String> = handle
            .read()
            .users_after(None)
            .take(count)
            .map(|user| user.id().to_string())
            .collect();
        for id in ids {
            handle.write().remove_user(&id, Utc::now());
        }
    }

    /// Delays every Okta API request by `delay`, so that runs take a while.
    fn slow_down(&self, delay: Duration) {
        let latency = FaultConfig {
            latency: Latency::Fixed { delay },
            only_paths: Some(vec!["/api/v1/".to_string()]),
            ..FaultConfig::default()
        };
        self.fake
            .faults()
            .set_config(latency)
            .expect("valid faults");
    }
}

/// An `orgsync serve` process, killed when dropped.
struct Replica {
    name: String,
    child: Child,
    base_url: String,
    log: PathBuf,
}

impl Replica {
    async fn start(org: &Org, name: &str) -> Replica {
        Replica::start_with_grace(org, name, 20).await
    }

    /// Starts a replica whose running syncs get `grace_seconds` to finish
    /// after SIGTERM.
    async fn start_with_grace(org: &Org, name: &str, grace_seconds: u64) -> Replica {
        let log = org.dir.path().join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).expect("log file created");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
            .args(["serve", "--config"])
            .arg(&org.config)
            .args(["--listen", "127.0.0.1:0", "--shutdown-grace"])
            .arg(grace_seconds.to_string())
            .env("ORGSYNC_LOG", "info")
            .env("ORGSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("ORGSYNC_READ_TOKEN")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("orgsync serve starts");

        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let base_url = tokio::time::timeout(WAIT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("orgsync is serving ") {
                    return Some(url.trim().to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            panic!(
                "replica {name} did not start; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        Replica {
            name: name.to_string(),
            child,
            base_url,
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("the replica is running")
    }

    /// Sends SIGKILL and waits for the process to end.
    async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL sent");
        self.child.wait().await.expect("the replica ends");
    }

    /// Sends SIGTERM and waits for the graceful shutdown.
    async fn terminate(&mut self) {
        let status = StdCommand::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM to {} failed", self.name);
        let ended = tokio::time::timeout(WAIT, self.child.wait()).await;
        assert!(
            matches!(ended, Ok(Ok(status)) if status.success()),
            "replica {} did not shut down cleanly: {ended:?}; its log:\n{}",
            self.name,
            self.log_text()
        );
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Returns the status of provider `test`.
    async fn status(&self, http: &reqwest::Client) -> Option<Value> {
        let url = format!("{}/api/orgsync/providers/test", self.base_url);
        let response = http.get(url).send().await.ok()?;
        response.json().await.ok()
    }

    /// Sends SIGHUP, which makes the replica reread its config files.
    fn hang_up(&self) {
        let status = StdCommand::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGHUP to {} failed", self.name);
    }

    /// Returns the number of User entities the replica's catalog API shows.
    async fn user_count(&self, http: &reqwest::Client) -> Option<u64> {
        self.entity_count(http, "user").await
    }

    /// Returns the number of entities of `kind` the replica's catalog API
    /// shows.
    async fn entity_count(&self, http: &reqwest::Client, kind: &str) -> Option<u64> {
        let url = format!(
            "{}/api/catalog/entities/by-query?filter=kind={kind}&limit=1",
            self.base_url
        );
        let response = http.get(url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body: Value = response.json().await.ok()?;
        body["totalItems"].as_u64()
    }

    /// Starts a run of provider `test` now; returns the HTTP status.
    async fn refresh(&self, http: &reqwest::Client) -> u16 {
        let url = format!("{}/api/orgsync/providers/test/refresh", self.base_url);
        let response = http
            .post(url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("refresh request sent");
        response.status().as_u16()
    }
}

/// Reads the run history of provider `test`, oldest first.
async fn runs(store: &PgStore) -> Vec<RunRecord> {
    let mut runs = store.runs(Some("test"), 0).await.expect("runs read");
    runs.reverse();
    runs
}

/// Polls `check` every 50 ms until it returns a value.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts that no two runs' start-to-end intervals overlap.
fn assert_no_overlap(runs: &[RunRecord]) {
    for pair in runs.windows(2) {
        let (earlier, later) = (&pair[0], &pair[1]);
        let finished = earlier
            .finished_at
            .unwrap_or_else(|| panic!("run {} has no end: {earlier:?}", earlier.id));
        assert!(
            finished <= later.started_at,
            "run {} ({} to {finished}) overlaps run {} (from {})",
            earlier.id,
            earlier.started_at,
            later.id,
            later.started_at
        );
    }
}

const PERIOD: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_run_each_period_once() {
    let database = PgDatabase::create(&admin_url()).await;
    let schedule =
        "{ frequency: { seconds: 2 }, timeout: { seconds: 20 }, initialDelay: { seconds: 0 } }";
    let org = Org::start(30, 5, &database.url, schedule).await;
    let mut replicas = Vec::new();
    for name in ["replica-a", "replica-b", "replica-c"] {
        replicas.push(Replica::start(&org, name).await);
    }

    // Several periods after every replica is up.
    tokio::time::sleep(PERIOD * 8).await;

    // Every replica shows the newest finished run, whichever replica ran it.
    let store = database.store().await;
    let newest = runs(&store)
        .await
        .iter()
        .rev()
        .find(|run| run.outcome != RunOutcome::Running)
        .map(|run| run.id)
        .expect("a finished run");
    let http = reqwest::Client::new();
    for replica in &replicas {
        let (replica_ref, http_ref) = (replica, &http);
        wait_for("every replica to show the newest run", move || async move {
            let status = replica_ref.status(http_ref).await?;
            let shown = status["lastRun"]["runId"].as_i64()?;
            (shown >= newest).then_some(())
        })
        .await;
    }

    for replica in &mut replicas {
        replica.terminate().await;
    }
    let runs = runs(&store).await;
    store.close().await;
    let logs: Vec<String> = replicas.iter().map(Replica::log_text).collect();
    assert!(runs.len() >= 8, "only {} runs: {runs:#?}", runs.len());
    for run in &runs {
        assert_eq!(
            run.outcome,
            RunOutcome::Succeeded,
            "run {}: {run:?}\nlogs:\n{}",
            run.id,
            logs.join("\n")
        );
    }
    assert_no_overlap(&runs);

    // One run per period: consecutive starts are about one period apart,
    // never much less (a period run twice) or much more (a period skipped).
    let tolerance = chrono::Duration::milliseconds(900);
    let period = chrono::Duration::from_std(PERIOD).expect("small duration");
    let gaps: Vec<i64> = runs
        .windows(2)
        .map(|pair| (pair[1].started_at - pair[0].started_at).num_milliseconds())
        .collect();
    eprintln!(
        "{} runs; gaps between starts from {} ms to {} ms",
        runs.len(),
        gaps.iter().min().unwrap_or(&0),
        gaps.iter().max().unwrap_or(&0)
    );
    for pair in runs.windows(2) {
        let gap = pair[1].started_at - pair[0].started_at;
        assert!(
            gap > period - tolerance,
            "runs {} and {} started {gap} apart",
            pair[0].id,
            pair[1].id
        );
        assert!(
            gap < period + tolerance,
            "runs {} and {} started {gap} apart; a period was skipped",
            pair[0].id,
            pair[1].id
        );
    }
}

/// Polls the user count of `replicas` until `stop` fires, and returns
/// every count read.
fn watch_user_counts(
    replicas: Vec<String>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut counts = Vec::new();
        while !stop.is_cancelled() {
            for base_url in &replicas {
                let url =
                    format!("{base_url}/api/catalog/entities/by-query?filter=kind=user&limit=1");
                let Ok(response) = http.get(url).send().await else {
                    continue;
                };
                let Ok(body) = response.json::<Value>().await else {
                    continue;
                };
                if let Some(count) = body["totalItems"].as_u64() {
                    counts.push(count);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        counts
    })
}

/// Returns the index of the replica whose status shows a run of `test`
/// that started after `after`.
async fn running_replica(
    replicas: &[Replica],
    http: &reqwest::Client,
    after: DateTime<Utc>,
) -> Option<usize> {
    for (index, replica) in replicas.iter().enumerate() {
        let Some(status) = replica.status(http).await else {
            continue;
        };
        let started = status["currentRun"]["startedAt"]
            .as_str()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok());
        if started.is_some_and(|started| started > after) {
            return Some(index);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_replica_run_is_taken_over() {
    let database = PgDatabase::create(&admin_url()).await;
    // A claim lasts the timeout plus 5 s, so a dead replica's claim expires
    // at most 13 s after its last renewal.
    let schedule =
        "{ frequency: { seconds: 3 }, timeout: { seconds: 8 }, initialDelay: { seconds: 0 } }";
    let org = Org::start(60, 6, &database.url, schedule).await;
    let store = database.store().await;
    let mut replicas = Vec::new();
    for name in ["replica-a", "replica-b", "replica-c"] {
        replicas.push(Replica::start(&org, name).await);
    }
    let http = reqwest::Client::new();

    let store_ref = &store;
    wait_for("a first successful run", move || async move {
        let runs = runs(store_ref).await;
        runs.iter()
            .any(|run| run.outcome == RunOutcome::Succeeded)
            .then_some(())
    })
    .await;
    let old_users = replicas[0].user_count(&http).await.expect("user count");

    // Runs from now on take seconds and would remove 20 users.
    org.slow_down(Duration::from_millis(700));
    let changed_at = Utc::now();
    org.remove_users(20);
    let (replicas_ref, http_ref) = (&replicas, &http);
    let victim = wait_for("a run after the change", move || {
        running_replica(replicas_ref, http_ref, changed_at)
    })
    .await;
    let mut killed = replicas.remove(victim);
    let killed_at = Utc::now();
    killed.kill().await;

    let stop = CancellationToken::new();
    let readers = watch_user_counts(
        replicas
            .iter()
            .map(|replica| replica.base_url.clone())
            .collect(),
        stop.clone(),
    );
    let taken_over = wait_for("a run on another replica to succeed", move || async move {
        let runs = runs(store_ref).await;
        runs.into_iter()
            .find(|run| run.started_at > killed_at && run.outcome == RunOutcome::Succeeded)
    })
    .await;
    // Readers go on a little after the run, to see the new catalog too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    let counts = readers.await.expect("readers finish");

    let new_users = replicas[0].user_count(&http).await.expect("user count");
    assert!(new_users < old_users, "the takeover run removed no user");
    let mixed: Vec<&u64> = counts
        .iter()
        .filter(|count| **count != old_users && **count != new_users)
        .collect();
    assert!(
        mixed.is_empty(),
        "readers saw counts {mixed:?} between {old_users} and {new_users}"
    );
    eprintln!(
        "{} reads of {old_users} or {new_users} users; takeover run started {} ms after the kill",
        counts.len(),
        (taken_over.started_at - killed_at).num_milliseconds()
    );
    assert!(counts.contains(&old_users), "no reader saw the old catalog");
    assert!(counts.contains(&new_users), "no reader saw the new catalog");

    let history = runs(&store).await;
    let killed_run = history
        .iter()
        .rev()
        .find(|run| {
            // The run that was going when the replica died.
            run.started_at < killed_at && run.finished_at.is_none_or(|end| end > killed_at)
        })
        .unwrap_or_else(|| panic!("the killed run is not recorded: {history:?}"));
    assert_eq!(
        killed_run.outcome,
        RunOutcome::Abandoned,
        "killed run: {killed_run:?}"
    );
    assert!(
        taken_over.started_at > killed_run.started_at,
        "the takeover run started before the killed one"
    );
    let completed: Vec<RunRecord> = history
        .iter()
        .filter(|run| run.outcome != RunOutcome::Abandoned)
        .cloned()
        .collect();
    assert_no_overlap(&completed);

    for replica in &mut replicas {
        replica.terminate().await;
    }
    store.close().await;
}

/// A PostgreSQL server of the test's own in a temporary folder, stopped
/// and deleted on drop.
struct PrivatePostgres {
    bin: PathBuf,
    data: tempfile::TempDir,
    port: u16,
    as_root: bool,
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let bin = postgres_bin();
        let data = tempfile::tempdir().expect("temporary folder");
        let as_root = is_root();
        if as_root {
            // PostgreSQL refuses to run as root, so its files belong to
            // the postgres user.
            run(StdCommand::new("chown").arg("postgres").arg(data.path()));
        }
        let port = free_port();
        let server = PrivatePostgres {
            bin,
            data,
            port,
            as_root,
        };
        let cluster = server.cluster_dir();
        server.run_tool(
            "initdb",
            &[
                "-D",
                &cluster,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        );
        server.pg_ctl("start");
        server
    }

    fn cluster_dir(&self) -> String {
        self.data.path().join("cluster").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs `pg_ctl` with `action` (`start`, `stop`, `restart`), waiting
    /// for it to finish.
    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.data.path().display()
        );
        let log = self.data.path().join("server.log").display().to_string();
        self.run_tool(
            "pg_ctl",
            &[
                action,
                "-D",
                &self.cluster_dir(),
                "-o",
                &options,
                "-l",
                &log,
                "-m",
                "fast",
                "-w",
            ],
        );
    }

    fn run_tool(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if self.as_root {
            let mut command = StdCommand::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            StdCommand::new(&program)
        };
        command.args(args).current_dir(self.data.path());
        run(&mut command);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let mut command = if self.as_root {
            let mut command = StdCommand::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            command
        } else {
            StdCommand::new(self.bin.join("pg_ctl"))
        };
        // Stopping fails harmlessly when the server is already stopped.
        let _ = command
            .args(["stop", "-D", &self.cluster_dir(), "-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn run(command: &mut StdCommand) {
    let output = command.output().unwrap_or_else(|error| {
        panic!("{command:?} could not start: {error}");
    });
    assert!(
        output.status.success(),
        "{command:?} failed with {}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    let output = StdCommand::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// Finds the PostgreSQL server binaries: `ORGSYNC_TEST_PG_BIN`, else the
/// newest `/usr/lib/postgresql/<version>/bin` that Debian's packages
/// install.
fn postgres_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("ORGSYNC_TEST_PG_BIN") {
        return PathBuf::from(bin);
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .unwrap_or_else(|error| {
            panic!(
                "no PostgreSQL server binaries in {}: {error}; install the postgresql \
                 package or set ORGSYNC_TEST_PG_BIN to the folder with pg_ctl",
                root.display()
            )
        })
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("a PostgreSQL version with pg_ctl under /usr/lib/postgresql")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("local address").port()
}

/// Waits until the replica's last run of `test` is `outcome` and no run
/// is going, and returns that run's status.
async fn wait_for_last_outcome(replica: &Replica, http: &reqwest::Client, outcome: &str) -> Value {
    wait_for(&format!("a run that ends {outcome}"), move || async move {
        let status = replica.status(http).await?;
        let done = status["running"] == false && status["lastRun"]["outcome"] == outcome;
        done.then_some(status)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_fails_run_without_change() {
    let server = Arc::new(Mutex::new(PrivatePostgres::start()));
    let server_url = server.lock().expect("server lock").url();
    let database = PgDatabase::create(&server_url).await;
    let schedule =
        "{ frequency: { hours: 1 }, timeout: { seconds: 60 }, initialDelay: { seconds: 0 } }";
    let org = Org::start(40, 5, &database.url, schedule).await;
    let mut replica = Replica::start(&org, "replica").await;
    let http = reqwest::Client::new();

    wait_for_last_outcome(&replica, &http, "succeeded").await;
    let old_users = replica.user_count(&http).await.expect("user count");
    org.remove_users(10);

    // The test holds the store's write lock, so the next run stops in its
    // apply step, inside its transaction, until PostgreSQL restarts.
    let mut blocker = connect(&database.url).await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(orgsync_store::postgres::WRITE_LOCK_KEY)
        .execute(&mut blocker)
        .await
        .expect("write lock taken");
    assert_eq!(replica.refresh(&http).await, 202);
    let (replica_ref, http_ref) = (&replica, &http);
    wait_for("the run to reach its apply step", move || async move {
        let status = replica_ref.status(http_ref).await?;
        (status["currentRun"]["phase"] == "apply").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let restarter = Arc::clone(&server);
    tokio::task::spawn_blocking(move || restarter.lock().expect("server lock").pg_ctl("restart"))
        .await
        .expect("PostgreSQL restarts");
    drop(blocker);

    let failed = wait_for_last_outcome(&replica, &http, "failed").await;
    let error = failed["lastRun"]["error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "the failed run has no error: {failed}");
    assert_eq!(
        replica.user_count(&http).await,
        Some(old_users),
        "the failed run changed the catalog"
    );

    // orgsync recovers once the database is back.
    assert_eq!(replica.refresh(&http).await, 202);
    wait_for_last_outcome(&replica, &http, "succeeded").await;
    let new_users = replica.user_count(&http).await.expect("user count");
    assert!(
        new_users < old_users,
        "the run after the restart removed no user"
    );

    let store = database.store().await;
    let history = runs(&store).await;
    store.close().await;
    let outcomes: Vec<RunOutcome> = history.iter().map(|run| run.outcome).collect();
    eprintln!("run outcomes {outcomes:?}; the cut-off run's error: {error}");
    assert_eq!(outcomes.len(), 3, "runs: {history:#?}");
    assert_eq!(outcomes[0], RunOutcome::Succeeded);
    // The failed run's end is recorded when PostgreSQL is back in time,
    // and marked abandoned by the next run otherwise.
    assert!(
        matches!(outcomes[1], RunOutcome::Failed | RunOutcome::Abandoned),
        "the run cut off by the restart ended {}",
        outcomes[1]
    );
    assert_eq!(outcomes[2], RunOutcome::Succeeded);
    replica.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_config() {
    let database = PgDatabase::create(&admin_url()).await;
    let schedule =
        "{ frequency: { hours: 1 }, timeout: { seconds: 60 }, initialDelay: { seconds: 0 } }";
    let org = Org::start(30, 6, &database.url, schedule).await;
    let names = org.group_names();
    let one_group = format!(
        "        groupFilter:\n          groupNames: [{:?}]\n",
        names[0]
    );
    let two_groups = format!(
        "        groupFilter:\n          groupNames: [{:?}, {:?}]\n",
        names[0], names[1]
    );
    org.write_config(&one_group);
    let mut replica = Replica::start(&org, "replica").await;
    let http = reqwest::Client::new();
    let first = wait_for_last_outcome(&replica, &http, "succeeded").await;
    assert_eq!(replica.entity_count(&http, "group").await, Some(1));

    // A reload that changes the filter is used by the next run.
    org.write_config(&two_groups);
    replica.hang_up();
    let replica_ref = &replica;
    // Start-up applies the providers once, the reload a second time.
    wait_for("the reload to be logged", move || async move {
        let applied = replica_ref
            .log_text()
            .matches("provider settings applied")
            .count();
        (applied >= 2).then_some(())
    })
    .await;
    assert_eq!(replica.refresh(&http).await, 202);
    let first_id = first["lastRun"]["runId"].as_i64().expect("a run id");
    let http_ref = &http;
    wait_for("a run with the new filter", move || async move {
        let status = replica_ref.status(http_ref).await?;
        let newer = status["lastRun"]["runId"].as_i64()? > first_id;
        (newer && status["lastRun"]["outcome"] == "succeeded").then_some(())
    })
    .await;
    assert_eq!(replica.entity_count(&http, "group").await, Some(2));

    // An invalid config is rejected with a logged error naming the key,
    // and the running provider keeps working.
    std::fs::write(
        &org.config,
        "catalog: { providers: { okta: { test: { oktaUrl: 5 } } } }\n",
    )
    .expect("config written");
    replica.hang_up();
    wait_for("the rejected reload to be logged", move || async move {
        let log = replica_ref.log_text();
        (log.contains("config reload rejected") && log.contains("oktaUrl")).then_some(())
    })
    .await;
    let status = replica.status(&http).await.expect("status");
    assert_eq!(status["id"], "test");
    assert_eq!(replica.refresh(&http).await, 202);
    wait_for_last_outcome(&replica, &http, "succeeded").await;
    replica.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cancels_run_after_grace() {
    let database = PgDatabase::create(&admin_url()).await;
    let schedule =
        "{ frequency: { hours: 1 }, timeout: { seconds: 60 }, initialDelay: { seconds: 0 } }";
    let org = Org::start(40, 6, &database.url, schedule).await;
    org.slow_down(Duration::from_millis(1500));
    let mut replica = Replica::start_with_grace(&org, "replica", 1).await;
    let http = reqwest::Client::new();
    let (replica_ref, http_ref) = (&replica, &http);
    wait_for("the first run to start", move || async move {
        let status = replica_ref.status(http_ref).await?;
        (status["running"] == true).then_some(())
    })
    .await;

    let stopping = Instant::now();
    replica.terminate().await;
    let stopped_in = stopping.elapsed();
    assert!(
        stopped_in < Duration::from_secs(10),
        "shutdown took {stopped_in:?}"
    );

    let store = database.store().await;
    let history = runs(&store).await;
    assert_eq!(history.len(), 1, "runs: {history:#?}");
    assert_eq!(history[0].outcome, RunOutcome::Cancelled);
    assert!(history[0].finished_at.is_some());
    let users = store
        .count_entities(&orgsync_store::EntityQuery::default())
        .await
        .expect("entities counted");
    assert_eq!(users, 0, "the cancelled run wrote entities");
    let claim_free = store
        .try_claim("test", "next-replica", Utc::now(), Duration::from_secs(60))
        .await
        .expect("claim tried");
    assert!(claim_free, "the stopped replica kept its claim");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_abandons_killed_run() {
    let schedule =
        "{ frequency: { hours: 1 }, timeout: { seconds: 60 }, initialDelay: { seconds: 0 } }";
    let org = Org::start_sqlite(40, 6, schedule).await;
    org.slow_down(Duration::from_millis(1500));
    let mut killed = Replica::start(&org, "killed").await;
    let http = reqwest::Client::new();
    let (killed_ref, http_ref) = (&killed, &http);
    // A run has a phase only after its record is stored, and a kill before
    // that leaves nothing to mark abandoned.
    wait_for("the first run to start reading", move || async move {
        let status = killed_ref.status(http_ref).await?;
        status["currentRun"]["phase"].is_string().then_some(())
    })
    .await;
    killed.kill().await;

    // The next process on the same file marks the killed run abandoned at
    // start and can run the provider at once.
    org.fake
        .faults()
        .set_config(FaultConfig::default())
        .expect("valid faults");
    let mut restarted = Replica::start(&org, "restarted").await;
    let status = restarted.status(&http).await.expect("status");
    assert_eq!(
        status["lastRun"]["outcome"], "abandoned",
        "status: {status}"
    );
    let error = status["lastRun"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("stopped or lost its database connection"),
        "error: {error}"
    );
    assert_eq!(restarted.refresh(&http).await, 202);
    wait_for_last_outcome(&restarted, &http, "succeeded").await;
    restarted.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphaned_run_abandoned_after_expiry() {
    let database = PgDatabase::create(&admin_url()).await;
    let store = database.store().await;
    // A replica recorded a run and died; its claim lasts 8 s more.
    let orphan = store
        .start_run("test", Utc::now())
        .await
        .expect("run recorded");
    let expires_at = Utc::now() + chrono::Duration::seconds(8);
    let claimed = store
        .try_claim("test", "dead-replica", Utc::now(), Duration::from_secs(8))
        .await
        .expect("claim taken");
    assert!(claimed);

    let schedule =
        "{ frequency: { hours: 1 }, timeout: { seconds: 60 }, initialDelay: { hours: 1 } }";
    let org = Org::start(10, 2, &database.url, schedule).await;
    let mut replica = Replica::start(&org, "replica").await;
    let history = runs(&store).await;
    assert_eq!(
        history[0].outcome,
        RunOutcome::Running,
        "abandoned while claimed"
    );

    let store_ref = &store;
    let abandoned = wait_for("the orphaned run to be abandoned", move || async move {
        let history = runs(store_ref).await;
        let run = history.into_iter().find(|run| run.id == orphan)?;
        (run.outcome == RunOutcome::Abandoned).then_some(run)
    })
    .await;
    let marked_at = abandoned.finished_at.expect("an end time");
    assert!(
        marked_at >= expires_at,
        "marked at {marked_at}, before the claim expired at {expires_at}"
    );
    let after_expiry = (marked_at - expires_at).num_milliseconds();
    eprintln!("orphaned run abandoned {after_expiry} ms after its claim expired");
    assert!(
        after_expiry < 10_000,
        "abandoned {after_expiry} ms after expiry"
    );
    assert_eq!(runs(&store).await.len(), 1, "the provider ran");
    replica.terminate().await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_runs_show_in_serve_status() {
    let schedule =
        "{ frequency: { hours: 1 }, timeout: { seconds: 60 }, initialDelay: { hours: 1 } }";
    let org = Org::start_sqlite(40, 6, schedule).await;
    let mut server = Replica::start(&org, "server").await;
    let http = reqwest::Client::new();

    // `orgsync sync` on the same SQLite file while `serve` runs.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .args(["sync", "--progress", "none", "--format", "json", "--config"])
        .arg(&org.config)
        .output()
        .await
        .expect("orgsync sync runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reports: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let run_id = reports[0]["report"]["run_id"].as_i64().expect("the run's id");

    let (server_ref, http_ref) = (&server, &http);
    let status = wait_for("the command's run in the status", move || async move {
        let status = server_ref.status(http_ref).await?;
        (status["lastRun"]["runId"].as_i64() == Some(run_id)).then_some(status)
    })
    .await;
    assert_eq!(status["lastRun"]["outcome"], "succeeded", "status: {status}");
    server.terminate().await;
}
