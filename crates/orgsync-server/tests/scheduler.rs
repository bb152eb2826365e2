//! The scheduler against a real fake-okta org on a loopback port and a
//! SQLite catalog in a temporary folder, with a hand-moved clock for the
//! schedule and short real durations for timeouts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use fake_okta::faults::{FaultConfig, Latency};
use fake_okta::server::{FakeOkta, RunningFakeOkta};
use orgsync_config::ProviderConfig;
use orgsync_server::metrics::Metrics;
use orgsync_server::scheduler::clock::{Clock, ManualClock};
use orgsync_server::scheduler::status::FinishedRun;
use orgsync_server::scheduler::{Scheduler, SchedulerError};
use orgsync_store::{EntityQuery, NextRun, RunOutcome, SqliteStore, Store};
use tempfile::TempDir;
use tokio::sync::broadcast;

const SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];
const WAIT: Duration = Duration::from_secs(60);

struct Fixture {
    fake: RunningFakeOkta,
    dir: TempDir,
    store: Arc<dyn Store>,
    clock: ManualClock,
    scheduler: Scheduler,
    finished: broadcast::Receiver<(String, FinishedRun)>,
}

impl Fixture {
    async fn start(users: usize, groups: usize) -> Fixture {
        let fake = FakeOkta::builder()
            .generated(users, groups, 11)
            .with_generated_client(&SCOPES)
            .start_on_loopback()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let credentials = fake.credentials.clone().unwrap();
        std::fs::write(dir.path().join("key.pem"), &credentials.private_key_pem).unwrap();

        let database = dir.path().join("catalog.sqlite");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(database.to_str().unwrap()).await.unwrap());
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap());
        let scheduler = Scheduler::new(
            Arc::clone(&store),
            Arc::new(clock.clone()),
            Arc::new(Metrics::new()),
        );
        let finished = scheduler.subscribe_finished();
        Fixture {
            fake,
            dir,
            store,
            clock,
            scheduler,
            finished,
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("app-config.yaml")
    }

    /// Writes a config with one provider `test`; `extra` is YAML at the
    /// provider's level, indented by eight spaces.
    fn write_config(&self, schedule: &str, extra: &str) -> PathBuf {
        let credentials = self.fake.credentials.as_ref().unwrap();
        let text = format!(
            "catalog:\n  providers:\n    okta:\n      test:\n\
             \x20       oktaUrl: {url}\n\
             \x20       clientId: {client}\n\
             \x20       keyId: {key}\n\
             \x20       privateKey:\n          $file: key.pem\n\
             \x20       schedule: {schedule}\n{extra}",
            url = self.fake.base_url,
            client = credentials.client_id,
            key = credentials.key_id,
        );
        let path = self.config_path();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn providers(&self, schedule: &str, extra: &str) -> Vec<ProviderConfig> {
        let path = self.write_config(schedule, extra);
        orgsync_config::load(&[path]).unwrap().config.providers
    }

    async fn next_finished(&mut self) -> FinishedRun {
        let (_, run) = tokio::time::timeout(WAIT, self.finished.recv())
            .await
            .unwrap()
            .unwrap();
        run
    }

    async fn count(&self, kind: &str) -> usize {
        let query = EntityQuery {
            kind: Some(kind.to_string()),
            ..EntityQuery::default()
        };
        self.store.count_entities(&query).await.unwrap()
    }

    fn okta_group_names(&self) -> Vec<String> {
        let handle = self.fake.org_handle();
        let org = handle.read();
        let names = org
            .groups_after(None)
            .filter(|group| group.group_type() == "OKTA_GROUP")
            .map(|group| group.name().to_string())
            .collect();
        names
    }
}

const EVERY_TEN_MINUTES: &str =
    "{ frequency: { minutes: 10 }, timeout: { seconds: 60 }, initialDelay: { seconds: 0 } }";

/// Lets the scheduler's tasks react to a clock change, then checks that no
/// run finished.
async fn assert_no_run(fixture: &mut Fixture) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        fixture.finished.try_recv(),
        Err(broadcast::error::TryRecvError::Empty)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frequency_is_honored() {
    let mut fixture = Fixture::start(30, 6).await;
    let providers = fixture.providers(EVERY_TEN_MINUTES, "");
    fixture.scheduler.apply_providers(providers);

    let first = fixture.next_finished().await;
    assert_eq!(first.outcome, "succeeded");
    let status = fixture.scheduler.status().provider("test").unwrap();
    let ten_minutes_on = Utc.with_ymd_and_hms(2026, 5, 4, 9, 10, 0).unwrap();
    assert_eq!(status.next_run_at, Some(ten_minutes_on));

    fixture.clock.advance(Duration::from_secs(9 * 60 + 59));
    assert_no_run(&mut fixture).await;

    fixture.clock.advance(Duration::from_secs(1));
    let second = fixture.next_finished().await;
    assert_eq!(second.outcome, "succeeded");
    let runs = fixture.store.runs(Some("test"), 10).await.unwrap();
    assert_eq!(runs.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_delay_is_waited() {
    let mut fixture = Fixture::start(10, 3).await;
    let schedule =
        "{ frequency: { minutes: 10 }, timeout: { seconds: 60 }, initialDelay: { seconds: 30 } }";
    let providers = fixture.providers(schedule, "");
    fixture.scheduler.apply_providers(providers);
    assert_no_run(&mut fixture).await;

    fixture.clock.advance(Duration::from_secs(30));
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_cancels_with_no_change() {
    let mut fixture = Fixture::start(30, 6).await;
    fixture
        .scheduler
        .apply_providers(fixture.providers(EVERY_TEN_MINUTES, ""));
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
    let users_before = fixture.count("User").await;

    // A run now would remove a user, but every request is slower than the
    // new timeout.
    let handle = fixture.fake.org_handle();
    let victim = handle
        .read()
        .users_after(None)
        .next()
        .unwrap()
        .id()
        .to_string();
    fixture
        .fake
        .org_handle()
        .write()
        .remove_user(&victim, Utc::now());
    let slow = FaultConfig {
        latency: Latency::Fixed {
            delay: Duration::from_millis(400),
        },
        ..FaultConfig::default()
    };
    fixture.fake.faults().set_config(slow).unwrap();
    let short = "{ frequency: { minutes: 10 }, timeout: { milliseconds: 200 }, initialDelay: { seconds: 0 } }";
    fixture
        .scheduler
        .apply_providers(fixture.providers(short, ""));

    fixture.scheduler.refresh("test").await.unwrap();
    let run = fixture.next_finished().await;
    assert_eq!(run.outcome, "cancelled");
    assert!(run.error.unwrap().contains("timeout"));
    assert_eq!(fixture.count("User").await, users_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_refresh_is_rejected() {
    let mut fixture = Fixture::start(20, 4).await;
    let slow = FaultConfig {
        latency: Latency::Fixed {
            delay: Duration::from_millis(300),
        },
        ..FaultConfig::default()
    };
    fixture.fake.faults().set_config(slow).unwrap();
    let schedule =
        "{ frequency: { minutes: 10 }, timeout: { seconds: 60 }, initialDelay: { minutes: 5 } }";
    fixture
        .scheduler
        .apply_providers(fixture.providers(schedule, ""));

    fixture.scheduler.refresh("test").await.unwrap();
    let second = fixture.scheduler.refresh("test").await;
    assert!(matches!(second, Err(SchedulerError::AlreadyRunning { .. })));
    assert!(fixture.scheduler.status().provider("test").unwrap().running);

    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
    assert!(fixture.scheduler.refresh("test").await.is_ok());
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_run_during_run_is_skipped() {
    let mut fixture = Fixture::start(20, 4).await;
    let slow = FaultConfig {
        latency: Latency::Fixed {
            delay: Duration::from_millis(300),
        },
        ..FaultConfig::default()
    };
    fixture.fake.faults().set_config(slow).unwrap();
    let every_minute =
        "{ frequency: { minutes: 1 }, timeout: { seconds: 50 }, initialDelay: { seconds: 0 } }";
    fixture
        .scheduler
        .apply_providers(fixture.providers(every_minute, ""));

    // The first run starts at once and is slow; the next due time passes
    // while it runs, and that start is skipped.
    tokio::time::sleep(Duration::from_millis(100)).await;
    fixture.clock.advance(Duration::from_secs(61));
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
    assert_no_run(&mut fixture).await;
    let runs = fixture.store.runs(Some("test"), 10).await.unwrap();
    assert_eq!(runs.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_picks_up_changed_filter() {
    let mut fixture = Fixture::start(30, 6).await;
    let names = fixture.okta_group_names();
    let one = format!(
        "        groupFilter:\n          groupNames: [{:?}]\n",
        names[0]
    );
    let two = format!(
        "        groupFilter:\n          groupNames: [{:?}, {:?}]\n",
        names[0], names[1]
    );

    fixture.write_config(EVERY_TEN_MINUTES, &one);
    let path = fixture.config_path();
    orgsync_server::reload::reload_from_files(&fixture.scheduler, &[path.clone()]).unwrap();
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
    assert_eq!(fixture.count("Group").await, 1);

    fixture.write_config(EVERY_TEN_MINUTES, &two);
    let summary = orgsync_server::reload::reload_from_files(&fixture.scheduler, &[path]).unwrap();
    assert_eq!(summary.kept, vec!["test".to_string()]);
    fixture.scheduler.refresh("test").await.unwrap();
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
    assert_eq!(fixture.count("Group").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_reload_keeps_providers() {
    let mut fixture = Fixture::start(10, 3).await;
    fixture.write_config(EVERY_TEN_MINUTES, "");
    let path = fixture.config_path();
    orgsync_server::reload::reload_from_files(&fixture.scheduler, &[path.clone()]).unwrap();
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");

    std::fs::write(
        &path,
        "catalog: { providers: { okta: { test: { oktaUrl: 5 } } } }\n",
    )
    .unwrap();
    assert!(orgsync_server::reload::reload_from_files(&fixture.scheduler, &[path]).is_err());
    assert!(fixture.scheduler.status().provider("test").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_provider_stops() {
    let mut fixture = Fixture::start(10, 3).await;
    fixture
        .scheduler
        .apply_providers(fixture.providers(EVERY_TEN_MINUTES, ""));
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");

    let summary = fixture.scheduler.apply_providers(Vec::new());
    assert_eq!(summary.removed, vec!["test".to_string()]);
    fixture.clock.advance(Duration::from_secs(600));
    assert_no_run(&mut fixture).await;
    let refresh = fixture.scheduler.refresh("test").await;
    assert!(matches!(
        refresh,
        Err(SchedulerError::UnknownProvider { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_runs_after_grace() {
    let mut fixture = Fixture::start(20, 4).await;
    let slow = FaultConfig {
        latency: Latency::Fixed {
            delay: Duration::from_millis(500),
        },
        ..FaultConfig::default()
    };
    fixture.fake.faults().set_config(slow).unwrap();
    let schedule =
        "{ frequency: { minutes: 10 }, timeout: { seconds: 60 }, initialDelay: { minutes: 5 } }";
    fixture
        .scheduler
        .apply_providers(fixture.providers(schedule, ""));

    fixture.scheduler.refresh("test").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    fixture.scheduler.shutdown(Duration::from_millis(200)).await;

    let run = fixture.next_finished().await;
    assert_eq!(run.outcome, "cancelled");
    assert_eq!(fixture.count("User").await, 0);
    let refresh = fixture.scheduler.refresh("test").await;
    assert!(matches!(refresh, Err(SchedulerError::ShuttingDown)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_run_time_is_stored() {
    let mut fixture = Fixture::start(10, 3).await;
    fixture
        .scheduler
        .apply_providers(fixture.providers(EVERY_TEN_MINUTES, ""));
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");

    let ten_minutes_on = Utc.with_ymd_and_hms(2026, 5, 4, 9, 10, 0).unwrap();
    let stored = fixture.store.next_run("test").await.unwrap().unwrap();
    assert_eq!(stored.due_at, ten_minutes_on);
    assert_eq!(stored.schedule, "every:600000ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_next_run_time_is_kept() {
    let mut fixture = Fixture::start(10, 3).await;
    // A previous process stored the next run for 9:05 with this schedule.
    let stored = NextRun {
        due_at: Utc.with_ymd_and_hms(2026, 5, 4, 9, 5, 0).unwrap(),
        schedule: "every:600000ms".to_string(),
        version: 0,
    };
    fixture
        .store
        .replace_next_run("test", None, &stored)
        .await
        .unwrap();
    fixture
        .scheduler
        .apply_providers(fixture.providers(EVERY_TEN_MINUTES, ""));
    assert_no_run(&mut fixture).await;
    let status = fixture.scheduler.status().provider("test").unwrap();
    assert_eq!(status.next_run_at, Some(stored.due_at));

    fixture.clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_frequency_replaces_stored_time() {
    let mut fixture = Fixture::start(10, 3).await;
    let stored = NextRun {
        due_at: Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap(),
        schedule: "every:86400000ms".to_string(),
        version: 0,
    };
    fixture
        .store
        .replace_next_run("test", None, &stored)
        .await
        .unwrap();
    fixture
        .scheduler
        .apply_providers(fixture.providers(EVERY_TEN_MINUTES, ""));

    // A changed frequency counts from now and skips the initial delay.
    assert_no_run(&mut fixture).await;
    let status = fixture.scheduler.status().provider("test").unwrap();
    let ten_minutes_on = Utc.with_ymd_and_hms(2026, 5, 4, 9, 10, 0).unwrap();
    assert_eq!(status.next_run_at, Some(ten_minutes_on));
    fixture.clock.advance(Duration::from_secs(10 * 60));
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
    let after = fixture.store.next_run("test").await.unwrap().unwrap();
    assert_eq!(after.schedule, "every:600000ms");
    assert_eq!(
        after.due_at,
        Utc.with_ymd_and_hms(2026, 5, 4, 9, 20, 0).unwrap()
    );
}

/// Waits until the store records `count` runs of `test`, all finished.
async fn wait_for_finished_runs(store: &Arc<dyn Store>, count: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let runs = store.runs(Some("test"), 0).await.unwrap();
        let finished = runs.iter().all(|run| run.outcome != RunOutcome::Running);
        if runs.len() >= count && finished {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {count} runs recorded",
            runs.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_run_each_due_time_once() {
    let fixture = Fixture::start(10, 3).await;
    let second = Scheduler::new(
        Arc::clone(&fixture.store),
        Arc::new(fixture.clock.clone()),
        Arc::new(Metrics::new()),
    );
    let providers = fixture.providers(EVERY_TEN_MINUTES, "");
    fixture.scheduler.apply_providers(providers.clone());
    second.apply_providers(providers);

    for period in 1..=4 {
        wait_for_finished_runs(&fixture.store, period).await;
        // A second run for the same due time would start within this pause.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let runs = fixture.store.runs(Some("test"), 0).await.unwrap();
        assert_eq!(runs.len(), period, "runs after due time {period}");
        fixture.clock.advance(Duration::from_secs(600));
    }
    let runs = fixture.store.runs(Some("test"), 0).await.unwrap();
    for run in &runs {
        assert_eq!(run.outcome, RunOutcome::Succeeded, "run {}", run.id);
    }
    second.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_held_elsewhere_rejects_refresh() {
    let fixture = Fixture::start(10, 3).await;
    let schedule =
        "{ frequency: { minutes: 10 }, timeout: { seconds: 60 }, initialDelay: { minutes: 5 } }";
    fixture
        .scheduler
        .apply_providers(fixture.providers(schedule, ""));
    let taken = fixture
        .store
        .try_claim(
            "test",
            "another-replica",
            fixture.clock.now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(taken);

    let refresh = fixture.scheduler.refresh("test").await;
    assert!(matches!(
        refresh,
        Err(SchedulerError::ClaimedElsewhere { .. })
    ));
    assert!(fixture
        .store
        .runs(Some("test"), 0)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_claim_run_is_abandoned() {
    let mut fixture = Fixture::start(10, 3).await;
    // A replica claimed the provider, recorded a run and died.
    let dead_run = fixture.store.start_run("test", Utc::now()).await.unwrap();
    fixture
        .store
        .try_claim(
            "test",
            "dead-replica",
            fixture.clock.now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let schedule =
        "{ frequency: { minutes: 10 }, timeout: { seconds: 60 }, initialDelay: { minutes: 5 } }";
    fixture
        .scheduler
        .apply_providers(fixture.providers(schedule, ""));

    fixture.clock.advance(Duration::from_secs(61));
    fixture.scheduler.refresh("test").await.unwrap();
    assert_eq!(fixture.next_finished().await.outcome, "succeeded");
    let runs = fixture.store.runs(Some("test"), 0).await.unwrap();
    let dead = runs.iter().find(|run| run.id == dead_run).unwrap();
    assert_eq!(dead.outcome, RunOutcome::Abandoned);
    assert!(dead.error.as_deref().unwrap().contains("abandoned"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_start_abandons_running_rows() {
    let fixture = Fixture::start(10, 3).await;
    let killed_run = fixture.store.start_run("test", Utc::now()).await.unwrap();
    fixture
        .store
        .try_claim(
            "test",
            "killed-process",
            fixture.clock.now(),
            Duration::from_secs(600),
        )
        .await
        .unwrap();

    fixture.scheduler.recover_interrupted_runs().await;
    let runs = fixture.store.runs(Some("test"), 0).await.unwrap();
    assert_eq!(runs[0].id, killed_run);
    assert_eq!(runs[0].outcome, RunOutcome::Abandoned);
    assert!(runs[0].finished_at.is_some());
    let schedule =
        "{ frequency: { minutes: 10 }, timeout: { seconds: 60 }, initialDelay: { minutes: 5 } }";
    fixture
        .scheduler
        .apply_providers(fixture.providers(schedule, ""));
    assert!(fixture.scheduler.refresh("test").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_no_running_row() {
    let mut fixture = Fixture::start(20, 4).await;
    let slow = FaultConfig {
        latency: Latency::Fixed {
            delay: Duration::from_millis(500),
        },
        ..FaultConfig::default()
    };
    fixture.fake.faults().set_config(slow).unwrap();
    let schedule =
        "{ frequency: { minutes: 10 }, timeout: { seconds: 60 }, initialDelay: { minutes: 5 } }";
    fixture
        .scheduler
        .apply_providers(fixture.providers(schedule, ""));
    fixture.scheduler.refresh("test").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    fixture.scheduler.shutdown(Duration::from_millis(200)).await;
    fixture.next_finished().await;

    let runs = fixture.store.runs(Some("test"), 0).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, RunOutcome::Cancelled);
    let free = fixture
        .store
        .try_claim(
            "test",
            "next-process",
            fixture.clock.now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(free, "the shut-down scheduler kept its claim");
}
