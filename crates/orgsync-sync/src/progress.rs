//! Progress reporting from a running sync to whoever shows it (terminal
//! progress bars, log lines, or the status API).

use std::time::Duration;

/// The phases of a run, in order. *Users* and *Members* run at the same
/// time, so both start before either ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Groups,
    Users,
    Members,
    Build,
    Plan,
    Apply,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Groups => "groups",
            Phase::Users => "users",
            Phase::Members => "members",
            Phase::Build => "build",
            Phase::Plan => "plan",
            Phase::Apply => "apply",
        }
    }
}

/// Receives progress events of one run. Every method has an empty default,
/// so an implementation picks what it shows. Calls come from several tasks.
pub trait Progress: Send + Sync {
    fn phase_started(&self, _phase: Phase) {}
    fn users_fetched(&self, _count: usize) {}
    fn groups_fetched(&self, _count: usize) {}
    /// The number of groups whose members will be listed.
    fn member_lists_planned(&self, _groups: usize) {}
    /// One group's members were listed.
    fn member_list_done(&self, _members: usize) {}
    fn rate_limit_wait(&self, _bucket: &str, _wait: Duration) {}
    fn retrying(&self, _endpoint: &str, _attempt: u32, _reason: &str, _wait: Duration) {}
    /// One Okta request to `endpoint` (a method and path template) ended
    /// with HTTP `status`, or with no response when `None`.
    fn okta_response(&self, _endpoint: &str, _status: Option<u16>) {}
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
