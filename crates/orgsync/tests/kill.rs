//! SIGKILL at many moments of `orgsync sync`: while it reads Okta and while
//! it applies a large change. After each kill the SQLite catalog must pass
//! SQLite's integrity check, hold exactly the catalog from before the run
//! (uids and etags included), and later runs must succeed.
//!
//! The org has 12,000 users, so that applying it takes seconds and a kill
//! can land in the middle of the write transaction. The first catalog comes
//! from a run limited to one department, so the killed runs add most of the
//! org.
//!
//! A killed run is followed by the next kill's run, which opens the same
//! file, records a run and reads its catalog. A run that must succeed comes
//! after the last kill while reading and after the last kill while applying.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{change_count, TestOrg};
use fake_okta::faults::{FaultConfig, Latency};
use fake_okta::generate::GenerateOptions;
use fake_okta::limits::RateLimitConfig;
use fake_okta::server::{FakeOkta, RunningFakeOkta};
use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;

const USERS: usize = 12_000;
const GROUPS: usize = 20;

/// Provider settings of the first catalog: one department of the org.
const ONE_DEPARTMENT: &str = "        userSearchFilter: 'profile.department eq \"Legal\"'\n";

/// Provider settings of the killed runs: the whole org.
const WHOLE_ORG: &str = "";

/// Requests served before a kill while reading. The token request is the
/// first; the user listing takes 60 pages and the member listings follow.
const READING_KILL_POINTS: [u64; 4] = [1, 5, 30, 70];

/// Delay added to each API request while reading is killed, so that the
/// request count moves slowly enough to stop the run near a kill point.
const READING_LATENCY: Duration = Duration::from_millis(10);

/// Times after the apply phase starts at which runs are killed, from the
/// start of the write transaction towards its commit. Applying most of the
/// 12,000 users takes seconds in a debug build, so the early kills land
/// inside the transaction. On a fast machine a later kill may come after
/// the commit. It must then find the whole new catalog, and the series ends.
const APPLY_KILL_DELAYS: [Duration; 5] = [
    Duration::ZERO,
    Duration::from_millis(100),
    Duration::from_millis(300),
    Duration::from_millis(700),
    Duration::from_millis(1500),
];

/// The maximum time a run may take to reach a kill point.
const REACH_TIMEOUT: Duration = Duration::from_secs(120);

/// A sync running in the background, with the phases its log has started.
struct RunningSync {
    child: Child,
    phases: mpsc::UnboundedReceiver<String>,
}

impl RunningSync {
    fn start(org: &TestOrg) -> RunningSync {
        let mut command = org.command(&[
            "sync",
            "--progress",
            "plain",
            "--log-format",
            "json",
            "--format",
            "json",
        ]);
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("orgsync starts");

        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, phases) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(phase) = started_phase(&line) {
                    let _ = sender.send(phase);
                }
            }
        });
        RunningSync { child, phases }
    }

    /// Waits until the run logs the start of `phase`.
    async fn wait_for_phase(&mut self, phase: &str) {
        let reached = tokio::time::timeout(REACH_TIMEOUT, async {
            while let Some(started) = self.phases.recv().await {
                if started == phase {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(reached, Ok(true), "the run never started phase {phase}");
    }

    /// Sends SIGKILL and returns how the process ended: killed, or exited by
    /// itself if it finished first.
    async fn kill(mut self) -> ExitStatus {
        let _ = self.child.start_kill();
        self.child.wait().await.expect("orgsync ends")
    }
}

/// Returns the phase of a JSON log line `phase started`.
fn started_phase(line: &str) -> Option<String> {
    let record: Value = serde_json::from_str(line).ok()?;
    let fields = &record["fields"];
    if fields["message"] != "phase started" {
        return None;
    }
    fields["phase"].as_str().map(str::to_string)
}

/// The number of SIGKILL, which POSIX fixes at 9.
const SIGKILL: i32 = 9;

fn was_killed(status: ExitStatus) -> bool {
    status.signal() == Some(SIGKILL)
}

/// Runs SQLite's own check of the file and returns its verdict.
async fn integrity(org: &TestOrg) -> String {
    let mut connection = SqliteConnectOptions::new()
        .filename(org.database())
        .connect()
        .await
        .expect("database opens");
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .expect("integrity check runs");
    verdict
}

async fn wait_for_requests(fake: &RunningFakeOkta, count: u64) {
    let deadline = Instant::now() + REACH_TIMEOUT;
    while fake.request_counts().total < count {
        assert!(
            Instant::now() < deadline,
            "the run never sent {count} requests"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Runs a sync of the first catalog's department, which must succeed and
/// find nothing to change because the killed runs left nothing behind.
async fn assert_next_run_succeeds(org: &mut TestOrg, context: &str) {
    org.reconfigure(ONE_DEPARTMENT);
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{context}: the next run failed: {report}");
    for list in ["added", "updated", "removed"] {
        assert_eq!(
            change_count(&report, list),
            0,
            "{context}: the next run found {list} entities"
        );
    }
    org.reconfigure(WHOLE_ORG);
}

async fn start_org() -> TestOrg {
    let options = GenerateOptions {
        memberships: Some(USERS),
        ..GenerateOptions::new(USERS, GROUPS, 41)
    };
    let builder = FakeOkta::builder()
        .generate(options)
        .rate_limits(RateLimitConfig::unlimited());
    let org = TestOrg::start(builder, ONE_DEPARTMENT).await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "first sync: {report}");
    org
}

async fn kill_while_reading(org: &mut TestOrg, before: &[Value]) {
    let latency = FaultConfig {
        latency: Latency::Fixed {
            delay: READING_LATENCY,
        },
        only_paths: Some(vec!["/api/v1/".to_string()]),
        ..FaultConfig::default()
    };
    for requests in READING_KILL_POINTS {
        let context = format!("killed after {requests} requests");
        org.reconfigure(WHOLE_ORG);
        org.fake
            .faults()
            .set_config(latency.clone())
            .expect("valid");
        let start = org.fake.request_counts().total;

        let run = RunningSync::start(org);
        wait_for_requests(&org.fake, start + requests).await;
        let status = run.kill().await;

        assert!(was_killed(status), "{context}: the run ended with {status}");
        assert_eq!(integrity(org).await, "ok", "{context}");
        assert!(org.catalog().await == before, "{context}: catalog changed");
    }

    org.fake
        .faults()
        .set_config(FaultConfig::default())
        .expect("valid");
    assert_next_run_succeeds(org, "after the kills while reading").await;
}

/// The outcome of the kills while applying.
struct ApplyKills {
    /// Kills that landed before the commit and left the catalog as it was.
    before_commit: usize,
    /// Whether a run committed the whole org before it was killed or ended.
    committed: bool,
}

/// Kills runs while they apply. Each kill must leave either the catalog from
/// before the run or, after the commit, the complete new one.
async fn kill_while_applying(org: &mut TestOrg, before: &[Value]) -> ApplyKills {
    let mut kills = ApplyKills {
        before_commit: 0,
        committed: false,
    };
    for delay in APPLY_KILL_DELAYS {
        let context = format!("killed {} ms into the apply", delay.as_millis());
        org.reconfigure(WHOLE_ORG);

        let mut run = RunningSync::start(org);
        run.wait_for_phase("apply").await;
        tokio::time::sleep(delay).await;
        let status = run.kill().await;
        assert_eq!(integrity(org).await, "ok", "{context}");
        if !was_killed(status) {
            assert!(status.success(), "{context}: the run ended with {status}");
        }

        if org.catalog().await == before {
            assert!(
                was_killed(status),
                "{context}: the run succeeded but changed nothing"
            );
            kills.before_commit += 1;
            continue;
        }
        // The run committed before the kill. Its catalog must be the whole
        // org, which a full run confirms by finding nothing to change.
        let (code, report) = org.sync(&[]).await;
        assert_eq!(code, 0, "{context}: the run after the commit failed: {report}");
        for list in ["added", "updated", "removed"] {
            assert_eq!(
                change_count(&report, list),
                0,
                "{context}: the catalog was only partly applied ({list} entities remained)"
            );
        }
        kills.committed = true;
        break;
    }
    kills
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_keeps_previous_catalog() {
    let mut org = start_org().await;
    let before = org.catalog().await;
    assert!(!before.is_empty(), "the first catalog has entities");

    kill_while_reading(&mut org, &before).await;
    let kills = kill_while_applying(&mut org, &before).await;
    assert!(
        kills.before_commit >= 1,
        "no kill landed before the apply committed"
    );
    if kills.committed {
        assert!(entity_count(&org).await > USERS / 2, "the whole org is stored");
        return;
    }

    org.reconfigure(WHOLE_ORG);
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "the full run after the kills failed: {report}");
    let added = change_count(&report, "added");
    assert!(added > USERS / 2, "the full run added {added} entities");
    let expected = before.len() + added - change_count(&report, "removed");
    assert_eq!(entity_count(&org).await, expected);
}

/// Counts the stored entities without decoding them, which for a large
/// catalog is much faster than [`TestOrg::catalog`].
async fn entity_count(org: &TestOrg) -> usize {
    let mut connection = SqliteConnectOptions::new()
        .filename(org.database())
        .connect()
        .await
        .expect("database opens");
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM entities")
        .fetch_one(&mut connection)
        .await
        .expect("entities counted");
    usize::try_from(count).expect("a count is not negative")
}
