//! Tests of bucket classification, header parsing and the budget decisions,
//! driven by explicit clock readings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest::header::HeaderValue;

use super::*;

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn headers(limit: u32, remaining: u32, reset_epoch: u64) -> RateLimitHeaders {
    RateLimitHeaders {
        limit,
        remaining,
        reset_epoch,
        server_date: None,
    }
}

/// A bucket that learned `limit` with `remaining` left in a window ending
/// at second 1060, as seen at second 1000.
fn learned(limit: u32, remaining: u32) -> BucketState {
    let mut state = BucketState::default();
    assert_eq!(state.admit(0.5, at(1000)), Decision::Go);
    state.finish(Some(&headers(limit, remaining, 1060)), at(1000));
    state
}

#[test]
fn paths_map_to_okta_buckets() {
    assert_eq!(Bucket::classify("/api/v1/users"), Bucket::Users);
    assert_eq!(Bucket::classify("/api/v1/groups"), Bucket::Groups);
    assert_eq!(
        Bucket::classify("/api/v1/groups/00g1/users"),
        Bucket::GroupById
    );
    assert_eq!(Bucket::classify("/oauth2/v1/token"), Bucket::Token);
    assert_eq!(
        Bucket::classify("/.well-known/okta-organization"),
        Bucket::Unmetered
    );
}

#[test]
fn headers_parse_with_date() {
    let mut map = HeaderMap::new();
    map.insert("x-rate-limit-limit", HeaderValue::from_static("600"));
    map.insert("x-rate-limit-remaining", HeaderValue::from_static("576"));
    map.insert("x-rate-limit-reset", HeaderValue::from_static("1598552424"));
    map.insert(
        DATE,
        HeaderValue::from_static("Thu, 27 Aug 2020 18:19:47 GMT"),
    );
    let parsed = RateLimitHeaders::parse(&map);
    assert_eq!(
        parsed,
        Some(RateLimitHeaders {
            limit: 600,
            remaining: 576,
            reset_epoch: 1_598_552_424,
            server_date: Some(at(1_598_552_387)),
        })
    );
}

#[test]
fn missing_header_parses_as_none() {
    let mut map = HeaderMap::new();
    map.insert("x-rate-limit-limit", HeaderValue::from_static("600"));
    map.insert("x-rate-limit-reset", HeaderValue::from_static("1598552424"));
    assert_eq!(RateLimitHeaders::parse(&map), None);
}

#[test]
fn http_date_handles_leap_day() {
    assert_eq!(
        parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
        Some(at(1_835_481_599))
    );
}

#[test]
fn http_date_rejects_other_forms() {
    assert_eq!(parse_http_date("Thursday, 27-Aug-20 18:19:47 GMT"), None);
}

#[test]
fn http_date_rejects_five_digit_years() {
    assert_eq!(
        parse_http_date("Thu, 27 Aug 99999999999 18:19:47 GMT"),
        None
    );
    assert_eq!(parse_http_date("Thu, 27 Aug 10000 18:19:47 GMT"), None);
    assert!(parse_http_date("Fri, 31 Dec 9999 23:59:60 GMT").is_some());
}

#[test]
fn reset_uses_server_clock_when_dated() {
    let mut parsed = headers(600, 0, 1030);
    parsed.server_date = Some(at(1000));
    // This machine's clock is far ahead of Okta's; the wait stays 30 s.
    assert_eq!(parsed.reset_at(at(5000)), at(5030) + RESET_MARGIN);
}

#[test]
fn reset_uses_local_clock_without_date() {
    assert_eq!(
        headers(600, 0, 1030).reset_at(at(1000)),
        at(1030) + RESET_MARGIN
    );
}

#[test]
fn far_reset_is_capped() {
    let capped = at(1000) + MAX_RATE_LIMIT_WAIT + RESET_MARGIN;
    assert_eq!(headers(600, 0, 1_000_000).reset_at(at(1000)), capped);
    assert_eq!(headers(600, 0, u64::MAX).reset_at(at(1000)), capped);
}

#[test]
fn allowed_is_share_of_limit() {
    assert_eq!(allowed_requests(0.5, 600), 300);
    assert_eq!(allowed_requests(1.0, 10), 10);
    assert_eq!(allowed_requests(0.5, 1), 1);
}

#[test]
fn unknown_limit_admits_one_at_a_time() {
    let mut state = BucketState::default();
    assert_eq!(state.admit(0.5, at(1000)), Decision::Go);
    assert_eq!(state.admit(0.5, at(1000)), Decision::WaitForCompletion);
}

#[test]
fn learned_limit_admits_concurrently() {
    let mut state = learned(600, 599);
    assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
    assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
}

#[test]
fn share_caps_requests_per_window() {
    let mut state = learned(10, 10);
    for _ in 0..5 {
        assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
        state.finish(None, at(1001));
    }
    assert!(matches!(
        state.admit(0.5, at(1001)),
        Decision::WaitUntil { .. }
    ));
}

#[test]
fn requests_in_flight_count_against_share() {
    let mut state = learned(10, 10);
    for _ in 0..5 {
        assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
    }
    assert!(matches!(
        state.admit(0.5, at(1001)),
        Decision::WaitUntil { .. }
    ));
}

#[test]
fn used_requests_include_other_clients() {
    // Other apps used 4 of 10; at share 0.5 one request is left.
    let mut state = learned(10, 6);
    assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
    assert!(matches!(
        state.admit(0.5, at(1001)),
        Decision::WaitUntil { .. }
    ));
}

#[test]
fn wait_ends_at_reset_plus_margin() {
    let mut state = learned(10, 0);
    let decision = state.admit(0.5, at(1001));
    assert_eq!(
        decision,
        Decision::WaitUntil {
            reset_at: at(1060) + RESET_MARGIN,
            report: true
        }
    );
}

/// Headers of a window ending at second 1060, sent at Okta's second `date`.
fn dated(remaining: u32, date: u64) -> RateLimitHeaders {
    RateLimitHeaders {
        server_date: Some(at(date)),
        ..headers(10, remaining, 1060)
    }
}

#[test]
fn earliest_reset_estimate_of_window_wins() {
    let mut state = BucketState::default();
    state.admit(0.5, at(1000));
    // Received 0.9 s after its Date second: the window ends by 1060.9.
    state.finish(Some(&dated(9, 1000)), at(1000) + Duration::from_millis(900));
    assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
    assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
    // Received 0.1 s after its Date second: the window ends by 1060.1.
    state.finish(Some(&dated(0, 1001)), at(1001) + Duration::from_millis(100));
    // A later, looser estimate does not move the end back.
    state.finish(Some(&dated(0, 1002)), at(1002) + Duration::from_millis(700));

    let decision = state.admit(0.5, at(1003));
    assert_eq!(
        decision,
        Decision::WaitUntil {
            reset_at: at(1060) + Duration::from_millis(100) + RESET_MARGIN,
            report: true
        }
    );
}

#[test]
fn wait_is_reported_once_per_window() {
    let mut state = learned(10, 0);
    assert!(matches!(
        state.admit(0.5, at(1001)),
        Decision::WaitUntil { report: true, .. }
    ));
    assert!(matches!(
        state.admit(0.5, at(1002)),
        Decision::WaitUntil { report: false, .. }
    ));
}

#[test]
fn window_reset_admits_again() {
    let mut state = learned(10, 0);
    assert_eq!(state.admit(0.5, at(1062)), Decision::Go);
}

#[test]
fn lowest_remaining_of_window_wins() {
    let mut state = learned(10, 8);
    state.admit(0.5, at(1001));
    state.admit(0.5, at(1001));
    state.finish(Some(&headers(10, 6, 1060)), at(1001));
    state.finish(Some(&headers(10, 7, 1060)), at(1001));
    // 4 used, 0 in flight: one more request fits in 5.
    assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
    assert!(matches!(
        state.admit(0.5, at(1001)),
        Decision::WaitUntil { .. }
    ));
}

#[test]
fn stale_window_headers_are_ignored() {
    let mut state = learned(10, 10);
    state.admit(0.5, at(1001));
    state.finish(Some(&headers(10, 0, 1000)), at(1001));
    assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
}

#[test]
fn unreported_responses_count_as_used() {
    let mut state = learned(10, 10);
    for _ in 0..5 {
        state.admit(0.5, at(1001));
        state.finish(None, at(1001));
    }
    assert!(matches!(
        state.admit(0.5, at(1001)),
        Decision::WaitUntil { .. }
    ));
}

#[test]
fn concurrency_rejection_keeps_window() {
    let mut state = learned(10, 10);
    state.admit(0.5, at(1001));
    state.finish(Some(&headers(0, 0, 1002)), at(1001));
    for _ in 0..4 {
        assert_eq!(state.admit(0.5, at(1001)), Decision::Go);
    }
}

#[test]
fn concurrency_rejection_does_not_unmeter() {
    let mut state = BucketState::default();
    state.admit(0.5, at(1000));
    state.finish(Some(&headers(0, 0, 1001)), at(1000));
    state.admit(0.5, at(1000));
    assert_eq!(state.admit(0.5, at(1000)), Decision::WaitForCompletion);
}

#[test]
fn bucket_without_headers_is_unmetered() {
    let mut state = BucketState::default();
    state.admit(0.5, at(1000));
    state.finish(None, at(1000));
    state.admit(0.5, at(1000));
    assert_eq!(state.admit(0.5, at(1000)), Decision::Go);
}

#[test]
fn cancelled_request_frees_its_place() {
    let mut state = learned(2, 2);
    assert_eq!(state.admit(1.0, at(1001)), Decision::Go);
    assert_eq!(state.admit(1.0, at(1001)), Decision::Go);
    state.cancel();
    assert_eq!(state.admit(1.0, at(1001)), Decision::Go);
}

#[tokio::test]
async fn concurrent_requests_share_last_permit() {
    let budget = Arc::new(RateBudget::new(0.5));
    let now = || at(1001);
    // Learn a window with 3 of 10 used, far from its reset: at share 0.5
    // two more requests fit.
    budget
        .acquire(Bucket::Users, || at(1000), |_| {})
        .await
        .finish(Some(&headers(10, 7, 4600)), at(1000));

    let started = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let budget = Arc::clone(&budget);
        let started = Arc::clone(&started);
        tasks.push(tokio::spawn(async move {
            let permit = budget.acquire(Bucket::Users, now, |_| {}).await;
            started.fetch_add(1, Ordering::SeqCst);
            // Hold the permit, as a request in flight does.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(permit);
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(started.load(Ordering::SeqCst), 2);
    for task in tasks {
        task.abort();
    }
}

#[tokio::test]
async fn waiting_request_is_reported() {
    let budget = RateBudget::new(0.5);
    budget
        .acquire(Bucket::Groups, || at(1000), |_| {})
        .await
        .finish(Some(&headers(10, 0, 1000)), at(1000));

    // The window ends 1 s (the margin) after second 1000, so the wait is short.
    let mut notices = Vec::new();
    let clock = std::cell::Cell::new(at(1000));
    let _permit = budget
        .acquire(
            Bucket::Groups,
            || {
                let reading = clock.get();
                clock.set(reading + Duration::from_millis(600));
                reading
            },
            |notice| notices.push((notice.bucket, notice.first)),
        )
        .await;
    assert_eq!(notices.first(), Some(&(Bucket::Groups, true)));
}
