//! The errors of a sync run.

use orgsync_okta::OktaError;
use orgsync_store::StoreError;

/// A reason a run did not apply.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Reading `resource` from Okta failed; the source error names the fix.
    #[error("provider {provider}: reading {resource} from Okta failed: {source}")]
    Okta {
        provider: String,
        resource: String,
        #[source]
        source: OktaError,
    },

    #[error("provider {provider}: the catalog store failed: {source}")]
    Store {
        provider: String,
        #[source]
        source: StoreError,
    },

    /// The Okta client could not be set up from the provider's settings.
    #[error("provider {provider}: {source}")]
    Client {
        provider: String,
        #[source]
        source: OktaError,
    },

    /// The removal guard stopped the run; nothing was applied.
    #[error(
        "provider {provider}: not applied, because the run would remove {removed} of {existing} \
         entities ({percent:.1}%), more than the removal guard allows ({max_percent:.1}%); \
         check the provider's filters, and if the removals are intended, approve them once \
         (orgsync sync --approve-removals, or POST /api/orgsync/providers/{provider}/approve)"
    )]
    RemovalBlocked {
        provider: String,
        removed: usize,
        existing: usize,
        percent: f64,
        max_percent: f64,
    },

    /// The run would leave the provider with no entities at all.
    #[error(
        "provider {provider}: not applied, because the run would remove all {existing} entities \
         and leave the provider empty; if that is intended, approve it once (orgsync sync \
         --approve-removals, or POST /api/orgsync/providers/{provider}/approve), or set \
         removalGuard.allowEmpty"
    )]
    WouldEmpty { provider: String, existing: usize },

    #[error(
        "provider {provider}: the run was cancelled before it applied; the catalog is unchanged"
    )]
    Cancelled { provider: String },

    #[error(
        "provider {provider}: the run passed its timeout of {timeout_seconds} s before it applied, \
         so the catalog is unchanged; raise schedule.timeout or narrow the provider's filters"
    )]
    TimedOut {
        provider: String,
        timeout_seconds: u64,
    },

    /// Another orgsync process has the provider's claim, so it is running
    /// the provider now.
    #[error(
        "provider {provider}: another orgsync process (orgsync serve or another orgsync sync) is \
         running this provider now, so this run did not start and the catalog is unchanged; try \
         again when that run ends (the claim of a process that was killed expires within a \
         minute, or at the provider's schedule.timeout for orgsync serve)"
    )]
    Busy { provider: String },
}

impl SyncError {
    /// Returns the entities a blocked run would have removed and the
    /// provider's entities before it, when the removal guard stopped the run.
    pub fn blocked_removals(&self) -> Option<(usize, usize)> {
        match self {
            SyncError::RemovalBlocked {
                removed, existing, ..
            } => Some((*removed, *existing)),
            SyncError::WouldEmpty { existing, .. } => Some((*existing, *existing)),
            _ => None,
        }
    }

    /// Returns true when the removal guard stopped the run, as opposed to a failure.
    pub fn is_blocked(&self) -> bool {
        matches!(
            self,
            SyncError::RemovalBlocked { .. } | SyncError::WouldEmpty { .. }
        )
    }
}
