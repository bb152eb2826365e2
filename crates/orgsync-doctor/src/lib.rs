//! orgsync-doctor: checks an Okta provider's setup step by step and names,
//! in the Okta admin's terms, the setting to change.
//!
//! [`run_checks`] takes a validated [`ProviderConfig`] and returns a
//! [`Report`]: the org URL, the clock, the private key, the app and its
//! token, the admin role and its resource set, the filters, and an estimate
//! of a full sync's size and duration. When a step fails, the steps that
//! need it are skipped, each naming the check it waits on. A config that
//! does not load becomes a report too ([`report_config_errors`]), so the
//! config's own messages show at the check they concern.
//!
//! Nothing here prints: `orgsync doctor` renders reports on a terminal or as
//! JSON, and the web UI's "Test connection" runs the same checks.
//!
//! [`keygen`] makes the key pair for a new Okta app.
//!
//! Modules:
//! - [`report`]: checks, statuses and reports.
//! - [`keygen`]: key pairs for Okta apps.
//! - `config_errors`: config errors sorted into checks.
//! - `run`: the order of the steps and what each passes on.
//! - `url`: the org URL, Okta's org metadata and the clock.
//! - `sign_in`: the key, the app and its token.
//! - `access`: the admin role and what its resource set hides.
//! - `filters`: the user and group filters.
//! - `scale`: counts, API calls and the duration of a full sync.

mod access;
mod config_errors;
mod filters;
pub mod keygen;
pub mod report;
mod run;
mod scale;
mod sign_in;
mod url;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use orgsync_config::ProviderConfig;

pub use config_errors::{provider_of, report_config_errors};
pub use report::{Check, CheckId, Report, Status};
pub use scale::{PhaseEstimate, ScaleEstimate, UsersBasis};

/// Reads the time. Tests substitute a clock that is off by a known amount.
pub trait Clock: Send + Sync {
    /// Returns the current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Settings of a doctor run.
#[derive(Clone)]
pub struct DoctorOptions {
    /// The clock compared with Okta's `Date` header.
    pub clock: Arc<dyn Clock>,
    /// Retries per request, at most; lower than a sync's, so that a broken
    /// setup is reported in seconds. The provider's `maxRetries` applies
    /// when it is lower.
    pub max_retries: u32,
    /// Requests doctor may spend counting users page by page, when the
    /// Everyone group's member count cannot replace the count.
    pub max_count_requests: u32,
    /// Groups whose first page of members is compared with their member
    /// count, to find members the admin role hides.
    pub member_samples: usize,
}

impl Default for DoctorOptions {
    fn default() -> DoctorOptions {
        DoctorOptions {
            clock: Arc::new(SystemClock),
            max_retries: 1,
            max_count_requests: 10,
            member_samples: 3,
        }
    }
}

impl fmt::Debug for DoctorOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoctorOptions")
            .field("max_retries", &self.max_retries)
            .field("max_count_requests", &self.max_count_requests)
            .field("member_samples", &self.member_samples)
            .finish_non_exhaustive()
    }
}

/// Runs every check of `provider` against its Okta org and returns the
/// report, also when Okta cannot be reached: every problem becomes a
/// failed check.
pub async fn run_checks(provider: &ProviderConfig, options: &DoctorOptions) -> Report {
    run::run(provider, options).await
}
