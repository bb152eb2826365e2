//! The rate-limit budget: keeps this client within a share of each of
//! Okta's rate-limit buckets.
//!
//! Okta counts requests per bucket (an endpoint family) in one-minute
//! windows and reports, on every response, the bucket's `X-Rate-Limit-Limit`,
//! the `X-Rate-Limit-Remaining` requests of the window, and
//! `X-Rate-Limit-Reset`, the epoch second when the window ends. The budget
//! treats `limit - remaining` as the window's used requests (this counts
//! other apps' requests too, which leaves them room) and lets a request start
//! only while used requests plus requests in flight stay below
//! `share × limit`. Otherwise the request waits until the window resets.
//!
//! Requests in flight hold a [`BudgetPermit`], so concurrent requests cannot
//! all start on the last remaining request. Until a bucket's limit is known,
//! one request at a time is let through to learn it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, DATE};
use tokio::sync::Notify;

use crate::retry::MAX_RATE_LIMIT_WAIT;

/// Added to every reset time. The reset time is converted to this
/// machine's clock through the response's `Date` header, so clock skew is
/// already accounted for; the margin covers the rounding of the `Date`
/// second and a request that reaches Okta slightly before the window ends.
///
/// NOTE: the margin assumes that `X-Rate-Limit-Reset` is the second at or
/// after the window's end, as fake-okta sends it. If Okta rounded the end
/// down instead, the first requests after a reset could still count against
/// the old window.
pub(crate) const RESET_MARGIN: Duration = Duration::from_millis(250);

/// How long a request waiting for another one to finish sleeps before it
/// checks again, in case it missed a notification.
const RECHECK_INTERVAL: Duration = Duration::from_millis(250);

/// An Okta rate-limit bucket, classified by path as Okta's published
/// Workforce limits group endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    /// `/api/v1/users` and the paths below it.
    Users,
    /// `/api/v1/groups`.
    Groups,
    /// `/api/v1/groups/{id}` and the paths below it, members included.
    ///
    /// NOTE: member listings are assumed to share this bucket, as Okta's
    /// Workforce limits list them (1000 per minute), while fake-okta counts
    /// them with `/api/v1/groups`. Limits are learned from the headers
    /// either way; only if both were one bucket could listing groups and
    /// members at the same time exceed the share.
    GroupById,
    /// `/oauth2/v1/token`.
    Token,
    /// Paths the budget does not meter, e.g. `/.well-known/…`.
    Unmetered,
}

impl Bucket {
    /// Returns the bucket a request path counts against.
    pub(crate) fn classify(path: &str) -> Bucket {
        let path = path.trim_end_matches('/');
        if path == "/oauth2/v1/token" {
            Bucket::Token
        } else if path == "/api/v1/users" || path.starts_with("/api/v1/users/") {
            Bucket::Users
        } else if path == "/api/v1/groups" {
            Bucket::Groups
        } else if path.starts_with("/api/v1/groups/") {
            Bucket::GroupById
        } else {
            Bucket::Unmetered
        }
    }

    /// Returns the bucket's path template, for logs and the observer.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Bucket::Users => "/api/v1/users",
            Bucket::Groups => "/api/v1/groups",
            Bucket::GroupById => "/api/v1/groups/{id}",
            Bucket::Token => "/oauth2/v1/token",
            Bucket::Unmetered => "unmetered",
        }
    }
}

/// The rate-limit headers of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimitHeaders {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Epoch second when the window ends, on Okta's clock.
    pub(crate) reset_epoch: u64,
    /// The response's `Date`, to convert the reset to this machine's clock.
    pub(crate) server_date: Option<SystemTime>,
}

impl RateLimitHeaders {
    /// Reads the three `X-Rate-Limit-*` headers; `None` if any is missing
    /// or not a number.
    pub(crate) fn parse(headers: &HeaderMap) -> Option<RateLimitHeaders> {
        let number =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        Some(RateLimitHeaders {
            limit: u32::try_from(number("x-rate-limit-limit")?).ok()?,
            remaining: u32::try_from(number("x-rate-limit-remaining")?).ok()?,
            reset_epoch: number("x-rate-limit-reset")?,
            server_date: headers
                .get(DATE)
                .and_then(|value| value.to_str().ok())
                .and_then(parse_http_date),
        })
    }

    /// When the window ends on this machine's clock, margin included. With
    /// a `Date` header the remaining window length is taken from Okta's own
    /// clock, so a skewed local clock does not matter.
    ///
    /// Okta's windows last one minute, so a reset further off than
    /// [`MAX_RATE_LIMIT_WAIT`] (a wrong clock or a broken header, up to one
    /// past what `SystemTime` can hold) is taken as that far off. That way
    /// the header can neither overflow the clock nor stall a sync.
    pub(crate) fn reset_at(&self, received_at: SystemTime) -> SystemTime {
        let until_reset = match UNIX_EPOCH.checked_add(Duration::from_secs(self.reset_epoch)) {
            Some(reset) => {
                let clock = self.server_date.unwrap_or(received_at);
                reset.duration_since(clock).unwrap_or_default()
            }
            None => MAX_RATE_LIMIT_WAIT,
        };
        received_at + until_reset.min(MAX_RATE_LIMIT_WAIT) + RESET_MARGIN
    }
}

/// Parses an HTTP date in the IMF-fixdate form Okta sends, e.g.
/// `Thu, 27 Aug 2020 18:19:47 GMT` (RFC 9110, section 5.6.7).
pub(crate) fn parse_http_date(text: &str) -> Option<SystemTime> {
    let mut parts = text.split_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // IMF-fixdate years have four digits. The bound also keeps the day count
    // below short and free of overflow for any header a server sends.
    if year > 9999 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(60);
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian
/// calendar (years from 1970 on).
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    if year < 1970 {
        return None;
    }
    // `u64::is_multiple_of` is newer than the workspace's minimum Rust (1.85).
    #[allow(clippy::manual_is_multiple_of)]
    let leap = |y: u64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_before_year: u64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    const CUMULATIVE: [u64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let index = usize::try_from(month.checked_sub(1)?).ok()?;
    let mut days_before_month = *CUMULATIVE.get(index)?;
    if month > 2 && leap(year) {
        days_before_month += 1;
    }
    Some(days_before_year + days_before_month + day - 1)
}

/// Returns the maximum number of requests a window may see at `share` of
/// `limit`. It is at least one, so a tiny limit still lets requests through.
pub(crate) fn allowed_requests(share: f64, limit: u32) -> u32 {
    let allowed = (share * f64::from(limit)).floor();
    if allowed >= 1.0 {
        // The share is at most 1, so this fits in u32.
        allowed as u32
    } else {
        1
    }
}

/// The decision for a request about to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Start now.
    Go,
    /// Wait until the window resets. `report` is true for the first
    /// request to wait for this window, which reports the wait.
    WaitUntil { reset_at: SystemTime, report: bool },
    /// Wait for a request in flight to finish.
    WaitForCompletion,
}

/// The budget's record of one bucket.
#[derive(Debug, Clone, Default)]
pub(crate) struct BucketState {
    limit: Option<u32>,
    remaining: u32,
    window_reset_epoch: u64,
    /// End of the current window on this machine's clock, margin included.
    reset_at: Option<SystemTime>,
    in_flight: u32,
    /// Requests of the current window whose responses had no headers.
    unreported: u32,
    /// Set when a response had no rate-limit headers while the limit was
    /// unknown: the bucket is not limited, so requests are not held back.
    unmetered: bool,
    reported_reset: Option<SystemTime>,
}

impl BucketState {
    /// Decides whether one more request may start at `now`, and takes its
    /// place in flight if so.
    pub(crate) fn admit(&mut self, share: f64, now: SystemTime) -> Decision {
        let decision = self.decide(share, now);
        match decision {
            Decision::Go => self.in_flight += 1,
            Decision::WaitUntil { reset_at, .. } => {
                let report = self.reported_reset != Some(reset_at);
                self.reported_reset = Some(reset_at);
                return Decision::WaitUntil { reset_at, report };
            }
            Decision::WaitForCompletion => {}
        }
        decision
    }

    fn decide(&self, share: f64, now: SystemTime) -> Decision {
        if self.unmetered {
            return Decision::Go;
        }
        let Some(limit) = self.limit else {
            return if self.in_flight == 0 {
                Decision::Go
            } else {
                Decision::WaitForCompletion
            };
        };

        let open_window = self.reset_at.filter(|reset_at| now < *reset_at);
        let used = match open_window {
            Some(_) => limit.saturating_sub(self.remaining) + self.unreported,
            None => 0,
        };
        if used + self.in_flight < allowed_requests(share, limit) {
            Decision::Go
        } else if let Some(reset_at) = open_window {
            Decision::WaitUntil {
                reset_at,
                report: false,
            }
        } else {
            Decision::WaitForCompletion
        }
    }

    /// Records the end of a request that held a place in flight.
    pub(crate) fn finish(&mut self, headers: Option<&RateLimitHeaders>, now: SystemTime) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match headers {
            None => self.record_unreported(now),
            // Okta reports a limit and remaining of 0 on a 429 for too many
            // concurrent requests; those describe no window of the bucket.
            Some(headers) if headers.limit == 0 => {}
            Some(headers) => self.record(headers, now),
        }
    }

    fn record_unreported(&mut self, now: SystemTime) {
        if self.limit.is_none() {
            self.unmetered = true;
        } else if self.reset_at.is_some_and(|reset_at| now < reset_at) {
            self.unreported += 1;
        }
    }

    fn record(&mut self, headers: &RateLimitHeaders, now: SystemTime) {
        self.unmetered = false;
        self.limit = Some(headers.limit);
        let reset_at = headers.reset_at(now);
        if headers.reset_epoch > self.window_reset_epoch || self.reset_at.is_none() {
            self.window_reset_epoch = headers.reset_epoch;
            self.remaining = headers.remaining;
            self.unreported = 0;
            self.reset_at = Some(reset_at);
        } else if headers.reset_epoch == self.window_reset_epoch {
            // Responses of one window can arrive out of order; the lowest
            // remaining count is the most recent.
            self.remaining = self.remaining.min(headers.remaining);
            // Each response's estimate of the window's end is at or after
            // the true end, because its `Date` second is at or before the
            // time Okta sent it. The earliest estimate is the closest.
            self.reset_at = self.reset_at.map(|expected| expected.min(reset_at));
        }
    }

    /// Gives back a place in flight of a request that was never sent.
    fn cancel(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

/// The shared budget of all buckets.
#[derive(Debug)]
pub(crate) struct RateBudget {
    share: f64,
    buckets: Mutex<HashMap<Bucket, BucketState>>,
    finished: Notify,
}

/// The report of [`RateBudget::acquire`] when a request has to wait for a
/// window reset.
pub(crate) struct WaitNotice {
    pub(crate) bucket: Bucket,
    pub(crate) wait: Duration,
    /// True for the first request that waits for this window.
    pub(crate) first: bool,
}

impl RateBudget {
    pub(crate) fn new(share: f64) -> RateBudget {
        RateBudget {
            share,
            buckets: Mutex::new(HashMap::new()),
            finished: Notify::new(),
        }
    }

    /// Waits until a request to `bucket` may start within the budget.
    /// `now` reads the clock; `on_wait` is called before each wait for a
    /// window reset.
    pub(crate) async fn acquire(
        &self,
        bucket: Bucket,
        now: impl Fn() -> SystemTime,
        mut on_wait: impl FnMut(WaitNotice),
    ) -> BudgetPermit<'_> {
        if bucket == Bucket::Unmetered {
            return BudgetPermit::new(self, bucket);
        }
        loop {
            let finished = self.finished.notified();
            let decision = self.with_bucket(bucket, |state| state.admit(self.share, now()));
            match decision {
                Decision::Go => return BudgetPermit::new(self, bucket),
                Decision::WaitUntil { reset_at, report } => {
                    let wait = reset_at.duration_since(now()).unwrap_or_default();
                    on_wait(WaitNotice {
                        bucket,
                        wait,
                        first: report,
                    });
                    tokio::time::sleep(wait).await;
                }
                Decision::WaitForCompletion => {
                    let _ = tokio::time::timeout(RECHECK_INTERVAL, finished).await;
                }
            }
        }
    }

    fn with_bucket<T>(&self, bucket: Bucket, f: impl FnOnce(&mut BucketState) -> T) -> T {
        // The state stays consistent even if a holder panicked, because
        // every update is a few plain assignments.
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(buckets.entry(bucket).or_default())
    }
}

/// A request's place in a bucket's budget. Call [`BudgetPermit::finish`]
/// with the response's headers; dropping it unfinished means the request
/// was never sent.
pub(crate) struct BudgetPermit<'a> {
    budget: &'a RateBudget,
    bucket: Bucket,
    finished: bool,
}

impl<'a> BudgetPermit<'a> {
    fn new(budget: &'a RateBudget, bucket: Bucket) -> BudgetPermit<'a> {
        BudgetPermit {
            budget,
            bucket,
            finished: bucket == Bucket::Unmetered,
        }
    }

    /// Records the response (or `None` when none arrived or it had no
    /// rate-limit headers) and frees the place in flight.
    pub(crate) fn finish(mut self, headers: Option<&RateLimitHeaders>, now: SystemTime) {
        if !self.finished {
            self.budget
                .with_bucket(self.bucket, |state| state.finish(headers, now));
            self.finished = true;
            self.budget.finished.notify_waiters();
        }
    }
}

impl Drop for BudgetPermit<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.budget.with_bucket(self.bucket, BucketState::cancel);
            self.budget.finished.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests;
