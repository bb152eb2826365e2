//! The fault matrix: every fault kind fake-okta injects, in every phase of a
//! run (the token request, the group listing, the user listing and the
//! member listings), against the real `orgsync` binary and a SQLite catalog.
//!
//! Each cell (fault × phase) gets its own fake org and runs twice:
//! - *persistent*: every eligible request of the phase gets the fault, so the
//!   run fails. The catalog must then equal the catalog before the run, with
//!   the same uids and etags.
//! - *transient*: one request gets the fault, so the run recovers with one
//!   retry (`maxRetries: 1`). A fault-free run afterwards must find nothing
//!   to change, which shows the recovered run stored the right data.
//!
//! Set `ORGSYNC_RELIABILITY_TABLE` to a file path to have the test write its
//! results there as the Markdown table of `docs/reliability.md`.

mod common;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{change_count, TestOrg};
use fake_okta::faults::{Burst, FaultConfig, FaultCounts, Latency, SlowBody};
use fake_okta::limits::RateLimitConfig;
use fake_okta::server::FakeOkta;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Users of each cell's org: three pages of `/api/v1/users`, so that a
/// fault can hit the listing after its first page.
const USERS: usize = 450;

/// Groups of each cell's org besides Everyone, one member listing each.
const GROUPS: usize = 8;

/// Cells run at once. Each cell mostly waits for retries and timeouts.
const PARALLEL_CELLS: usize = 6;

/// The maximum time a cell may take before the test fails instead of hanging.
const CELL_TIMEOUT: Duration = Duration::from_secs(120);

/// The request timeout of runs with slow bodies or latency, well below the
/// time a slow body takes and the injected latency, and well above what a
/// fault-free request takes on a loaded machine.
const SHORT_REQUEST_TIMEOUT: &str = "        requestTimeout: { milliseconds: 1500 }\n";

/// The latency injected by [`Fault::Latency`], longer than both the short
/// request timeout and the short run timeout.
const LATENCY: Duration = Duration::from_secs(4);

/// Settings for persistent latency: requests may wait longer than
/// [`LATENCY`], but the run may not, so the run's own timeout stops it.
const SHORT_RUN_TIMEOUT: &str = concat!(
    "        requestTimeout: { seconds: 10 }\n",
    "        schedule:\n",
    "          timeout: { seconds: 2 }\n",
);

/// A fault kind of fake-okta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    ServerError,
    RateLimitBurst,
    DroppedConnection,
    TruncatedBody,
    MalformedJson,
    SlowBody,
    Latency,
}

impl Fault {
    const ALL: [Fault; 7] = [
        Fault::ServerError,
        Fault::RateLimitBurst,
        Fault::DroppedConnection,
        Fault::TruncatedBody,
        Fault::MalformedJson,
        Fault::SlowBody,
        Fault::Latency,
    ];

    fn label(self) -> &'static str {
        match self {
            Fault::ServerError => "5xx errors",
            Fault::RateLimitBurst => "429 bursts",
            Fault::DroppedConnection => "dropped connections",
            Fault::TruncatedBody => "truncated bodies",
            Fault::MalformedJson => "malformed JSON",
            Fault::SlowBody => "slow bodies past the request timeout",
            Fault::Latency => "latency past the run timeout",
        }
    }

    /// Fault settings that give every eligible request this fault.
    fn config(self) -> FaultConfig {
        let none = FaultConfig::default();
        match self {
            Fault::ServerError => FaultConfig {
                error_rate: 1.0,
                ..none
            },
            Fault::RateLimitBurst => FaultConfig {
                rate_limit_bursts: Some(Burst {
                    every: 1,
                    length: 1,
                }),
                ..none
            },
            Fault::DroppedConnection => FaultConfig {
                drop_connection_rate: 1.0,
                ..none
            },
            Fault::TruncatedBody => FaultConfig {
                truncate_body_rate: 1.0,
                ..none
            },
            Fault::MalformedJson => FaultConfig {
                malformed_json_rate: 1.0,
                ..none
            },
            // 32 bytes every 100 ms: the smallest body, a token response of
            // about 900 bytes, takes nearly 3 s.
            Fault::SlowBody => FaultConfig {
                slow_body: Some(SlowBody {
                    chunk_bytes: 32,
                    delay: Duration::from_millis(100),
                }),
                ..none
            },
            Fault::Latency => FaultConfig {
                latency: Latency::Fixed { delay: LATENCY },
                ..none
            },
        }
    }

    /// Provider settings (YAML lines) for a persistent or transient run.
    /// A transient latency outlasts the request timeout, so that the run
    /// recovers by retrying the request, not by waiting it out.
    fn provider_settings(self, transient: bool) -> &'static str {
        match (self, transient) {
            (Fault::SlowBody, _) | (Fault::Latency, true) => SHORT_REQUEST_TIMEOUT,
            (Fault::Latency, false) => SHORT_RUN_TIMEOUT,
            _ => "",
        }
    }

    /// Returns the reason a persistent run of this fault fails, as [`failure_reason`]
    /// names it.
    fn expected_reason(self) -> &'static str {
        match self {
            Fault::ServerError => "5xx on every attempt",
            Fault::RateLimitBurst => "429 on every attempt",
            Fault::DroppedConnection => "connection closed on every attempt",
            Fault::TruncatedBody => "body cut off on every attempt",
            Fault::MalformedJson => "malformed response twice",
            Fault::SlowBody => "request timed out on every attempt",
            Fault::Latency => "run timed out",
        }
    }
}

/// A phase of a run and the requests that belong to it.
#[derive(Debug, Clone, Copy)]
struct Phase {
    name: &'static str,
    /// An `onlyPaths` pattern of fake-okta that matches this phase only.
    path: &'static str,
    /// Requests of the phase served before the faults start, so that the
    /// run fails partway through the phase.
    after_requests: u64,
}

const PHASES: [Phase; 4] = [
    Phase {
        name: "token",
        path: "/oauth2/v1/token$",
        after_requests: 0,
    },
    Phase {
        name: "groups",
        path: "/api/v1/groups$",
        after_requests: 0,
    },
    Phase {
        name: "users",
        path: "/api/v1/users$",
        after_requests: 1,
    },
    Phase {
        name: "members",
        path: "/api/v1/groups/",
        after_requests: 3,
    },
];

/// What one cell observed.
#[derive(Debug)]
struct CellResult {
    fault: Fault,
    phase: Phase,
    persistent: PersistentRun,
    transient: TransientRun,
}

#[derive(Debug)]
struct PersistentRun {
    exit_code: i32,
    error: String,
    faulted: u64,
    catalog_unchanged: bool,
    seconds: f64,
}

#[derive(Debug)]
struct TransientRun {
    exit_code: i32,
    faulted: u64,
    retries: u64,
    change_applied: bool,
    clean_run_changes: usize,
    clean_run_kept_catalog: bool,
}

/// Starts a cell's fake org with a first catalog in place, and removes one
/// user from Okta, so that any run that applies changes the catalog.
async fn start_cell() -> TestOrg {
    let builder = FakeOkta::builder()
        .generated(USERS, GROUPS, 29)
        .rate_limits(RateLimitConfig::unlimited());
    let org = TestOrg::start(builder, "").await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "first sync: {report}");

    let handle = org.fake.org_handle();
    let mut okta = handle.write();
    let victim = okta
        .users_after(None)
        .next()
        .expect("a user")
        .id()
        .to_string();
    okta.remove_user(&victim, Utc::now()).expect("user removed");
    drop(okta);
    org
}

fn scoped(fault: Fault, phase: Phase, faulted_requests: Option<u64>) -> FaultConfig {
    FaultConfig {
        only_paths: Some(vec![phase.path.to_string()]),
        after_requests: phase.after_requests,
        faulted_requests,
        ..fault.config()
    }
}

/// Counts the requests that got any fault, latency and slow bodies included.
fn faulted(counts: FaultCounts) -> u64 {
    counts.server_errors
        + counts.rate_limit_bursts
        + counts.dropped_connections
        + counts.truncated_bodies
        + counts.malformed_json
        + counts.slow_bodies
        + counts.delayed
}

async fn run_persistent(org: &mut TestOrg, fault: Fault, phase: Phase) -> PersistentRun {
    org.reconfigure(fault.provider_settings(false));
    let before = org.catalog().await;
    org.fake.faults().reset();
    org.fake
        .faults()
        .set_config(scoped(fault, phase, None))
        .expect("valid faults");

    let started = Instant::now();
    let (exit_code, report) = org.sync(&[]).await;
    let seconds = started.elapsed().as_secs_f64();
    let faulted = faulted(org.fake.faults().counts());

    PersistentRun {
        exit_code,
        error: report["error"].as_str().unwrap_or_default().to_string(),
        faulted,
        catalog_unchanged: org.catalog().await == before,
        seconds,
    }
}

async fn run_transient(org: &mut TestOrg, fault: Fault, phase: Phase) -> TransientRun {
    org.reconfigure(fault.provider_settings(true));
    let before = org.catalog().await;
    org.fake.faults().reset();
    org.fake
        .faults()
        .set_config(scoped(fault, phase, Some(1)))
        .expect("valid faults");

    let (exit_code, report) = org.sync(&[]).await;
    let faulted = faulted(org.fake.faults().counts());
    let recovered = org.catalog().await;

    org.fake
        .faults()
        .set_config(FaultConfig::default())
        .expect("valid faults");
    org.reconfigure("");
    let (clean_code, clean) = org.sync(&[]).await;
    let clean_run_changes = if clean_code == 0 {
        ["added", "updated", "removed"]
            .iter()
            .map(|list| change_count(&clean, list))
            .sum()
    } else {
        usize::MAX
    };

    TransientRun {
        exit_code,
        faulted,
        retries: report["report"]["retries"].as_u64().unwrap_or(0),
        change_applied: recovered != before,
        clean_run_changes,
        clean_run_kept_catalog: org.catalog().await == recovered,
    }
}

async fn run_cell(fault: Fault, phase: Phase) -> CellResult {
    let mut org = start_cell().await;
    let persistent = run_persistent(&mut org, fault, phase).await;
    let transient = run_transient(&mut org, fault, phase).await;
    CellResult {
        fault,
        phase,
        persistent,
        transient,
    }
}

/// Names why a run failed, from the error it printed.
fn failure_reason(error: &str) -> String {
    let reasons = [
        ("passed its timeout", "run timed out"),
        ("returned 429", "429 on every attempt"),
        ("returned HTTP 5", "5xx on every attempt"),
        ("is not what Okta sends", "malformed response twice"),
        ("timed out after", "request timed out on every attempt"),
        ("was cut off", "body cut off on every attempt"),
        ("connection closed", "connection closed on every attempt"),
    ];
    reasons
        .iter()
        .find(|(text, _)| error.contains(text))
        .map(|(_, reason)| (*reason).to_string())
        .unwrap_or_else(|| format!("other: {error}"))
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// Renders the results as a Markdown table, one row per cell.
fn markdown_table(results: &[CellResult]) -> String {
    let mut table = String::from(
        "| fault | phase | persistent fault: outcome | faulted requests | catalog unchanged \
         | transient fault: outcome | retries | data right |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for cell in results {
        let persistent = &cell.persistent;
        let transient = &cell.transient;
        let data_right = transient.change_applied
            && transient.clean_run_changes == 0
            && transient.clean_run_kept_catalog;
        let _ = writeln!(
            table,
            "| {} | {} | exit {}, {} | {} | {} | exit {} | {} | {} |",
            cell.fault.label(),
            cell.phase.name,
            persistent.exit_code,
            failure_reason(&persistent.error),
            persistent.faulted,
            yes_no(persistent.catalog_unchanged),
            transient.exit_code,
            transient.retries,
            yes_no(data_right),
        );
    }
    table
}

async fn run_matrix() -> Vec<CellResult> {
    let permits = Arc::new(Semaphore::new(PARALLEL_CELLS));
    let mut cells = JoinSet::new();
    for fault in Fault::ALL {
        for phase in PHASES {
            let permits = Arc::clone(&permits);
            cells.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore open");
                tokio::time::timeout(CELL_TIMEOUT, run_cell(fault, phase))
                    .await
                    .unwrap_or_else(|_| panic!("{fault:?} in {} timed out", phase.name))
            });
        }
    }

    let mut results = Vec::new();
    while let Some(joined) = cells.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => panic!("a cell was cancelled: {error}"),
        }
    }
    let order = |cell: &CellResult| {
        let fault = Fault::ALL.iter().position(|f| *f == cell.fault);
        let phase = PHASES.iter().position(|p| p.name == cell.phase.name);
        (fault, phase)
    };
    results.sort_by_key(order);
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_never_change_catalog() {
    let results = run_matrix().await;
    if let Ok(path) = std::env::var("ORGSYNC_RELIABILITY_TABLE") {
        std::fs::write(&path, markdown_table(&results)).expect("table written");
    }

    for cell in &results {
        let name = format!("{} in {}", cell.fault.label(), cell.phase.name);
        let persistent = &cell.persistent;
        assert!(persistent.faulted > 0, "{name}: no request got the fault");
        assert_eq!(persistent.exit_code, 1, "{name}: {}", persistent.error);
        assert_eq!(
            failure_reason(&persistent.error),
            cell.fault.expected_reason(),
            "{name}"
        );
        assert!(
            persistent.catalog_unchanged,
            "{name}: the failed run changed the catalog"
        );
        assert!(
            persistent.seconds < 30.0,
            "{name}: the failed run took {:.1} s",
            persistent.seconds
        );

        let transient = &cell.transient;
        assert_eq!(transient.faulted, 1, "{name}: transient faults injected");
        assert_eq!(transient.exit_code, 0, "{name}: the transient run failed");
        assert!(transient.retries >= 1, "{name}: no retry was counted");
        assert!(
            transient.change_applied,
            "{name}: the recovered run did not apply"
        );
        assert_eq!(
            transient.clean_run_changes, 0,
            "{name}: a fault-free run found changes the recovered run missed"
        );
        assert!(
            transient.clean_run_kept_catalog,
            "{name}: a fault-free run rewrote the recovered catalog"
        );
    }
    assert_eq!(results.len(), Fault::ALL.len() * PHASES.len());
}

#[test]
fn failure_reasons_are_named() {
    let error = "provider test: reading groups from Okta failed: Okta returned HTTP 503 …";

    assert_eq!(failure_reason(error), "5xx on every attempt");
    assert!(failure_reason("something new").starts_with("other: "));
}
