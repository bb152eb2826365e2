//! The database side of a run's claim: its holder, its lifetime, its
//! renewal while the run goes on, and the runs that a dead holder left
//! recorded as running.
//!
//! Every replica that shares a store takes a provider's claim in the store
//! ([`Store::try_claim`]) before it runs the provider, so one replica at a
//! time runs it. A claim lasts the run's timeout plus [`CLAIM_MARGIN`] and
//! is renewed every third of that while the run goes on, because the apply
//! step may outlast the timeout. A replica that dies stops renewing, so its
//! claim expires at most one claim lifetime after its last renewal, and
//! then another replica may run the provider.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use orgsync_config::Schedule;
use orgsync_store::Store;
use tokio_util::sync::CancellationToken;

use super::clock::Clock;

/// Time a claim lasts beyond the run's timeout, for the renewal to land.
pub const CLAIM_MARGIN: Duration = Duration::from_secs(5);

/// The error recorded on a run that its process left as running.
pub const ABANDONED_ERROR: &str = "abandoned: the orgsync process running this sync stopped or \
     lost its database connection before it recorded the outcome; a sync applies its change in \
     one transaction, so the catalog has all of that change or none of it";

/// Returns how long a claim taken for a run on `schedule` lasts.
pub fn claim_ttl(schedule: &Schedule) -> Duration {
    schedule.timeout.saturating_add(CLAIM_MARGIN)
}

/// Builds a scheduler's holder name for claims: host, process id, start
/// time and a sequence number, so that a restarted process never renews
/// its old claims and two schedulers in one process never share one.
pub fn holder_name() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string());
    let started = Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
    format!("{host}:{}:{started}:{sequence}", std::process::id())
}

/// Returns whether `holder` (a name from [`holder_name`]) is a process on
/// this host that no longer exists, so that its claim can be taken over at
/// once instead of when it expires. Linux-only: elsewhere, and for holders
/// on other hosts, this returns false.
pub fn holder_is_gone(holder: &str) -> bool {
    let mut parts = holder.split(':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    let this_host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default();
    if this_host.is_empty() || host != this_host || pid == std::process::id() {
        return false;
    }
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Renews `holder`'s claim on `provider` every third of `ttl` until the
/// caller drops this future, which never completes. When another holder has taken the claim it
/// cancels the run through `lost` and renews no more. A database error is
/// logged and the renewal tried again at the next interval, because the
/// claim stays valid until it expires.
pub async fn renew_claim(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    provider: String,
    holder: String,
    ttl: Duration,
    lost: CancellationToken,
) -> Infallible {
    let interval = (ttl / 3).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(interval).await;
        match store.try_claim(&provider, &holder, clock.now(), ttl).await {
            Ok(true) => tracing::debug!(provider = %provider, "claim renewed"),
            Ok(false) => {
                tracing::error!(
                    provider = %provider,
                    holder = %holder,
                    "another replica took over this run's claim; the run is cancelled"
                );
                lost.cancel();
                return std::future::pending().await;
            }
            Err(error) => tracing::warn!(
                provider = %provider,
                error = %error,
                "renewing the run's claim failed; retrying at the next interval"
            ),
        }
    }
}

/// Marks `provider`'s runs that are still recorded as running as
/// abandoned. Call it only while holding the provider's claim, which proves
/// that no other replica runs the provider.
pub async fn abandon_orphaned_runs(store: &dyn Store, provider: &str) {
    // Run rows carry the wall-clock start time that the sync engine
    // records, so the cutoff is the wall clock too, not the scheduler's.
    let now = Utc::now();
    match store
        .abandon_runs(Some(provider), now, now, ABANDONED_ERROR)
        .await
    {
        Ok(ids) if ids.is_empty() => {}
        Ok(ids) => tracing::warn!(
            provider,
            run_ids = ?ids,
            "marked runs left running by a stopped process as abandoned"
        ),
        Err(error) => tracing::warn!(
            provider,
            error = %error,
            "marking runs left running by a stopped process as abandoned failed"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsync_config::Frequency;

    #[test]
    fn claim_outlasts_timeout_by_margin() {
        let schedule = Schedule {
            frequency: Frequency::Every(Duration::from_secs(1800)),
            timeout: Duration::from_secs(600),
            initial_delay: Duration::ZERO,
        };
        assert_eq!(claim_ttl(&schedule), Duration::from_secs(605));
    }

    #[test]
    fn own_holder_is_not_gone() {
        assert!(!holder_is_gone(&holder_name()));
    }

    #[test]
    fn dead_local_holder_is_gone() {
        // Process ids on Linux stay below 2^22, so this one never exists.
        let host = holder_name()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(holder_is_gone(&format!(
            "{host}:4294967295:20260101T000000Z:0"
        )));
    }

    #[test]
    fn other_host_holder_is_not_gone() {
        assert!(!holder_is_gone(
            "some-other-host:4294967295:20260101T000000Z:0"
        ));
    }

    #[test]
    fn holder_names_differ() {
        assert_ne!(holder_name(), holder_name());
    }
}
