//! The scale checks: how many users, groups and memberships a full sync
//! reads, how many API calls that takes, and how long, at the org's rate
//! limits and the provider's `rateLimitShare`.
//!
//! Counts come cheaply: groups and their member counts from one
//! `expand=stats` listing, users from the Everyone group's member count
//! (without `userSearchFilter`) or by counting pages up to
//! [`DoctorOptions::max_count_requests`](crate::DoctorOptions).
//!
//! The duration is an estimate. A sync runs three phases one after another:
//! groups and users page by page, members `concurrency` lists at a time.
//! Each phase takes the longer of its requests' time (the median latency
//! doctor measured) and its rate-limit waits: a bucket allows
//! `rateLimitShare × limit` requests per one-minute window, so `n` requests
//! wait for `(n - 1) / allowed` window resets. Limits come from the
//! `X-Rate-Limit-Limit` headers doctor saw, else from Okta's published
//! Workforce defaults. Other apps' use of the same buckets and retries make
//! a real sync slower.

use std::time::Duration;

use orgsync_config::ProviderConfig;
use orgsync_okta::{Endpoint, OktaError, MEMBERS_PAGE_SIZE, USERS_PAGE_SIZE};
use serde::Serialize;
use url::Url;

use crate::filters::{SelectedGroups, SelectedUsers};
use crate::report::{CheckId, Status};
use crate::run::{Observations, Run};

/// Okta's rate-limit window.
const WINDOW: Duration = Duration::from_secs(60);

/// Okta's published per-minute limits for a Workforce org, used when a
/// response carried no rate-limit headers: `/api/v1/users` 600,
/// `/api/v1/groups` 500, `/api/v1/groups/{id}/users` 1000.
const DEFAULT_LIMITS: [(Endpoint, u32); 3] = [
    (Endpoint::Users, 600),
    (Endpoint::Groups, 500),
    (Endpoint::GroupMembers, 1000),
];

/// The latency assumed when doctor measured none.
const DEFAULT_LATENCY: Duration = Duration::from_millis(300);

/// The source of the user count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UsersBasis {
    /// The Everyone group's member count, an upper bound: it may count
    /// DEPROVISIONED users, which a sync leaves out.
    Everyone,
    /// Every page of the user listing was counted.
    Counted,
    /// Counting stopped at the request bound; more users exist.
    AtLeast,
    /// The sync takes users from the member lists (`onlyGroupMembers`
    /// without `userSearchFilter`); the memberships are an upper bound.
    Members,
}

/// One phase of a full sync.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseEstimate {
    /// `groups`, `users` or `members`.
    pub phase: &'static str,
    /// API requests of the phase.
    pub requests: u64,
    /// The bucket's limit per minute.
    pub limit_per_minute: u32,
    /// Whether the limit came from Okta's headers (else Okta's published default).
    pub limit_observed: bool,
    /// The estimated duration, in seconds.
    pub seconds: u64,
}

/// The numbers behind the scale checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleEstimate {
    /// Users a sync reads (see `users_basis`).
    pub users: u64,
    /// The source of `users`.
    pub users_basis: UsersBasis,
    /// Groups a sync reads.
    pub groups: u64,
    /// Memberships of those groups, from their member counts.
    pub memberships: u64,
    /// API requests of a full sync, the token request included.
    pub api_calls: u64,
    /// The phases a sync runs one after another.
    pub phases: Vec<PhaseEstimate>,
    /// The estimated duration of a full sync, in seconds.
    pub duration_seconds: u64,
    /// `schedule.timeout`, in seconds.
    pub timeout_seconds: u64,
    /// The median latency of doctor's requests, in milliseconds.
    pub latency_ms: u64,
}

/// The user count and the requests a sync spends listing users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UserCount {
    pub(crate) users: u64,
    pub(crate) basis: UsersBasis,
}

/// Records `scale.size` and `scale.duration`.
pub(crate) async fn check(run: &mut Run<'_>, users: &SelectedUsers, groups: &SelectedGroups) {
    let memberships: u64 = groups
        .groups
        .iter()
        .filter_map(|group| group.users_count)
        .sum();
    let count = match count_users(run, users, memberships).await {
        Ok(count) => count,
        Err(error) => {
            run.checks.warn(
                CheckId::ScaleSize,
                format!("counting users failed: {error}"),
                "run doctor again; the other checks passed",
            );
            run.checks
                .skip(CheckId::ScaleDuration, "not run: no user count");
            return;
        }
    };

    let estimate = estimate(run.provider, &run.observed, count, groups, memberships);
    run.checks.pass(CheckId::ScaleSize, size_detail(&estimate));
    let (status, detail, fix) = duration_verdict(&estimate);
    run.checks
        .record(CheckId::ScaleDuration, status, detail, fix);
    run.scale = Some(estimate);
}

async fn count_users(
    run: &mut Run<'_>,
    users: &SelectedUsers,
    memberships: u64,
) -> Result<UserCount, OktaError> {
    let provider = run.provider;
    if provider.selection.only_group_members && provider.user_search_filter.is_none() {
        return Ok(UserCount {
            users: memberships,
            basis: UsersBasis::Members,
        });
    }
    if !users.any {
        return Ok(UserCount {
            users: 0,
            basis: UsersBasis::Counted,
        });
    }
    let everyone = run.everyone.as_ref().and_then(|group| group.users_count);
    if let (None, Some(everyone)) = (&provider.user_search_filter, everyone) {
        return Ok(UserCount {
            users: everyone,
            basis: UsersBasis::Everyone,
        });
    }

    let search = provider.user_search_filter.clone();
    let (counted, complete) = count_pages(run, search.as_deref()).await?;
    Ok(match (complete, everyone) {
        (true, _) => UserCount {
            users: counted,
            basis: UsersBasis::Counted,
        },
        // The Everyone count bounds the filtered count from above, so the
        // estimate errs on the long side.
        (false, Some(everyone)) if everyone > counted => UserCount {
            users: everyone,
            basis: UsersBasis::Everyone,
        },
        (false, _) => UserCount {
            users: counted,
            basis: UsersBasis::AtLeast,
        },
    })
}

/// Counts users page by page, at most `max_count_requests` pages. Returns
/// the count and whether it covers every page.
async fn count_pages(run: &mut Run<'_>, search: Option<&str>) -> Result<(u64, bool), OktaError> {
    let limit = USERS_PAGE_SIZE.to_string();
    let mut after: Option<String> = None;
    let mut counted = 0;
    for _ in 0..run.options.max_count_requests {
        let next = {
            let mut query = vec![("limit", limit.as_str())];
            if let Some(search) = search {
                query.push(("search", search));
            }
            if let Some(after) = &after {
                query.push(("after", after.as_str()));
            }
            let response = run
                .get(Endpoint::Users, &["api", "v1", "users"], &query)
                .await?;
            counted += response.body.as_array().map_or(0, Vec::len) as u64;
            response.next_page.as_ref().and_then(after_cursor)
        };
        match next {
            Some(cursor) => after = Some(cursor),
            None => return Ok((counted, true)),
        }
    }
    Ok((counted, false))
}

fn after_cursor(url: &Url) -> Option<String> {
    url.query_pairs()
        .find(|(name, _)| name == "after")
        .map(|(_, value)| value.into_owned())
}

/// Estimates a full sync from the counts and what doctor observed.
pub(crate) fn estimate(
    provider: &ProviderConfig,
    observed: &Observations,
    count: UserCount,
    groups: &SelectedGroups,
    memberships: u64,
) -> ScaleEstimate {
    let latency = median(&observed.latencies).unwrap_or(DEFAULT_LATENCY);
    let user_requests = match count.basis {
        UsersBasis::Members => 0,
        _ => count.users.div_ceil(u64::from(USERS_PAGE_SIZE)).max(1),
    };
    let member_requests = member_requests(groups);
    let concurrency = provider.concurrency.max(1) as u64;
    let phase = |name, endpoint, requests, parallel| {
        phase_estimate(
            name,
            observed,
            endpoint,
            requests,
            parallel,
            latency,
            provider.rate_limit_share,
        )
    };
    let phases = vec![
        phase("groups", Endpoint::Groups, groups.requests, 1),
        phase("users", Endpoint::Users, user_requests, 1),
        phase(
            "members",
            Endpoint::GroupMembers,
            member_requests,
            concurrency,
        ),
    ];

    let token_requests = u64::from(matches!(
        provider.credentials,
        orgsync_okta::Credentials::PrivateKey { .. }
    ));
    let phase_seconds: u64 = phases.iter().map(|phase| phase.seconds).sum();
    let token_seconds = (latency * token_requests as u32).as_secs_f64().ceil() as u64;
    ScaleEstimate {
        users: count.users,
        users_basis: count.basis,
        groups: groups.groups.len() as u64,
        memberships,
        api_calls: token_requests + phases.iter().map(|phase| phase.requests).sum::<u64>(),
        phases,
        duration_seconds: phase_seconds + token_seconds,
        timeout_seconds: provider.schedule.timeout.as_secs(),
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
    }
}

/// Returns the member list requests of the groups: one per page, at least
/// one per group.
fn member_requests(groups: &SelectedGroups) -> u64 {
    groups
        .groups
        .iter()
        .map(|group| {
            let members = group.users_count.unwrap_or_default();
            members.div_ceil(u64::from(MEMBERS_PAGE_SIZE)).max(1)
        })
        .sum()
}

fn phase_estimate(
    phase: &'static str,
    observed: &Observations,
    endpoint: Endpoint,
    requests: u64,
    parallel: u64,
    latency: Duration,
    share: f64,
) -> PhaseEstimate {
    let (limit, limit_observed) = match observed.rate_limits.get(&endpoint) {
        Some(limit) if limit.limit > 0 => (limit.limit, true),
        _ => (default_limit(endpoint), false),
    };
    PhaseEstimate {
        phase,
        requests,
        limit_per_minute: limit,
        limit_observed,
        seconds: phase_duration(
            requests,
            parallel,
            latency,
            allowed_per_window(share, limit),
        )
        .as_secs_f64()
        .ceil() as u64,
    }
}

fn default_limit(endpoint: Endpoint) -> u32 {
    DEFAULT_LIMITS
        .iter()
        .find(|(known, _)| *known == endpoint)
        .map_or(600, |(_, limit)| *limit)
}

/// Returns the requests one window allows at `share` of `limit`, at least
/// one, as the client's budget computes it.
pub(crate) fn allowed_per_window(share: f64, limit: u32) -> u64 {
    let allowed = (share * f64::from(limit)).floor();
    if allowed >= 1.0 {
        allowed as u64
    } else {
        1
    }
}

/// Returns the longer of the requests' time and the rate-limit waits.
pub(crate) fn phase_duration(
    requests: u64,
    parallel: u64,
    latency: Duration,
    allowed_per_window: u64,
) -> Duration {
    if requests == 0 {
        return Duration::ZERO;
    }
    let rounds = requests.div_ceil(parallel.max(1));
    let request_time = latency.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX));
    let resets = (requests - 1) / allowed_per_window.max(1);
    let wait_time = WINDOW.saturating_mul(u32::try_from(resets).unwrap_or(u32::MAX));
    request_time.max(wait_time)
}

fn median(values: &[Duration]) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

fn size_detail(estimate: &ScaleEstimate) -> String {
    let users = match estimate.users_basis {
        UsersBasis::Everyone => format!(
            "at most {} users (the Everyone group's member count)",
            estimate.users
        ),
        UsersBasis::Counted => format!("{} users", estimate.users),
        UsersBasis::AtLeast => format!("more than {} users (counting stopped)", estimate.users),
        UsersBasis::Members => format!(
            "at most {} users (taken from the member lists)",
            estimate.users
        ),
    };
    let requests: Vec<String> = estimate
        .phases
        .iter()
        .map(|phase| format!("{} {}", phase.requests, phase.phase))
        .collect();
    format!(
        "{users}, {} groups, {} memberships: about {} API calls ({})",
        estimate.groups,
        estimate.memberships,
        estimate.api_calls,
        requests.join(", ")
    )
}

/// Decides `scale.duration`: a warning when `schedule.timeout` is shorter
/// than the estimate.
pub(crate) fn duration_verdict(estimate: &ScaleEstimate) -> (Status, String, Option<String>) {
    let duration = Duration::from_secs(estimate.duration_seconds);
    let timeout = Duration::from_secs(estimate.timeout_seconds);
    let limits: Vec<String> = estimate
        .phases
        .iter()
        .filter(|phase| phase.requests > 0)
        .map(|phase| {
            let source = if phase.limit_observed {
                "seen"
            } else {
                "Okta's default"
            };
            format!("{} {}/min ({source})", phase.phase, phase.limit_per_minute)
        })
        .collect();
    let basis = format!(
        "at rate limits {} and a {} ms median latency",
        limits.join(", "),
        estimate.latency_ms
    );
    if duration > timeout {
        let detail = format!(
            "a full sync takes about {} {basis}, longer than schedule.timeout ({}), so it would time out",
            human(duration),
            human(timeout)
        );
        let suggested = Duration::from_secs((estimate.duration_seconds * 2).div_ceil(60) * 60);
        let fix = format!(
            "raise schedule.timeout to at least {} (twice the estimate, for retries and other apps' use of the limits), raise rateLimitShare, or narrow the filters",
            human(suggested)
        );
        (Status::Warn, detail, Some(fix))
    } else {
        let detail = format!(
            "a full sync takes about {} {basis}; schedule.timeout is {}",
            human(duration),
            human(timeout)
        );
        (Status::Pass, detail, None)
    }
}

/// Formats a duration as `1 h 5 min`, `2 min 30 s` or `45 s`.
pub(crate) fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (hours, minutes, rest) {
        (0, 0, rest) => format!("{rest} s"),
        (0, minutes, 0) => format!("{minutes} min"),
        (0, minutes, rest) => format!("{minutes} min {rest} s"),
        (hours, 0, _) => format!("{hours} h"),
        (hours, minutes, _) => format!("{hours} h {minutes} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS_100: Duration = Duration::from_millis(100);

    #[test]
    fn requests_within_window_need_no_wait() {
        let duration = phase_duration(10, 1, MS_100, 300);
        assert_eq!(duration, Duration::from_secs(1));
    }

    #[test]
    fn requests_over_window_wait_for_resets() {
        // 601 requests at 300 per window wait for two resets.
        let duration = phase_duration(601, 8, Duration::from_millis(10), 300);
        assert_eq!(duration, Duration::from_secs(120));
    }

    #[test]
    fn parallel_requests_share_time() {
        let duration = phase_duration(80, 8, MS_100, 1000);
        assert_eq!(duration, Duration::from_secs(1));
    }

    #[test]
    fn share_of_small_limit_allows_one() {
        assert_eq!(allowed_per_window(0.5, 1), 1);
        assert_eq!(allowed_per_window(0.5, 600), 300);
    }

    #[test]
    fn median_picks_middle() {
        let values = [Duration::from_millis(5), MS_100, Duration::from_millis(1)];
        assert_eq!(median(&values), Some(Duration::from_millis(5)));
    }

    #[test]
    fn human_durations_read_naturally() {
        assert_eq!(human(Duration::from_secs(45)), "45 s");
        assert_eq!(human(Duration::from_secs(150)), "2 min 30 s");
        assert_eq!(human(Duration::from_secs(600)), "10 min");
        assert_eq!(human(Duration::from_secs(3900)), "1 h 5 min");
    }

    fn estimate_with(duration_seconds: u64, timeout_seconds: u64) -> ScaleEstimate {
        ScaleEstimate {
            users: 1,
            users_basis: UsersBasis::Counted,
            groups: 1,
            memberships: 1,
            api_calls: 4,
            phases: vec![PhaseEstimate {
                phase: "users",
                requests: 1,
                limit_per_minute: 600,
                limit_observed: true,
                seconds: duration_seconds,
            }],
            duration_seconds,
            timeout_seconds,
            latency_ms: 100,
        }
    }

    #[test]
    fn timeout_shorter_than_estimate_warns() {
        let (status, detail, fix) = duration_verdict(&estimate_with(700, 600));
        assert_eq!(status, Status::Warn);
        assert!(detail.contains("11 min 40 s"), "{detail}");
        assert!(fix.is_some_and(|fix| fix.contains("at least 24 min")));
    }

    #[test]
    fn timeout_longer_than_estimate_passes() {
        let (status, _, fix) = duration_verdict(&estimate_with(30, 600));
        assert_eq!(status, Status::Pass);
        assert!(fix.is_none());
    }
}
