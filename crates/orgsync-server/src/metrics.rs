//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! Families (all labelled by `provider` unless noted):
//! - `orgsync_runs_total{outcome}` and `orgsync_run_duration_seconds{outcome}`:
//!   finished sync runs, by [`RunOutcome`](orgsync_store::RunOutcome) name
//!   (runs the removal guard stopped count as `blocked`);
//! - `orgsync_entities{kind}`: entities in the catalog, refreshed at start-up
//!   and after every run;
//! - `orgsync_okta_requests_total{endpoint, status}`: Okta requests of every
//!   run, counted as their responses arrive, by endpoint template and HTTP
//!   status (`error` when no complete response arrived);
//! - `orgsync_rate_limit_waits_total{bucket}` and
//!   `orgsync_rate_limit_wait_seconds_total{bucket}`: pauses for Okta's rate
//!   limits, counted as they happen;
//! - `orgsync_okta_retries_total{endpoint}`: retried Okta requests;
//! - `orgsync_http_requests_total{method, route, status}` and
//!   `orgsync_http_request_duration_seconds{method, route}`: requests this
//!   server answered, by route template.
//!
//! The registry belongs to one server, so several servers in one process
//! (as in tests) keep separate counts.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// The `Content-Type` of the OpenMetrics text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    provider: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    provider: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    provider: String,
    endpoint: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OktaRequestLabels {
    provider: String,
    endpoint: String,
    /// The HTTP status code, or `error` when no complete response arrived.
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BucketLabels {
    provider: String,
    bucket: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Run durations from 1 s to about 2.3 h, doubling.
fn run_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 14))
}

/// Request durations from 0.5 ms to about 8 s, doubling.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The server's metric families and their registry.
pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    run_duration: HistogramFamily<RunLabels>,
    entities: Family<KindLabels, Gauge>,
    okta_requests: Family<OktaRequestLabels, Counter>,
    rate_limit_waits: Family<BucketLabels, Counter>,
    rate_limit_wait_seconds: Family<BucketLabels, Counter<f64, AtomicU64>>,
    retries: Family<EndpointLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Creates and registers every family.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let runs = Family::default();
        registry.register(
            "orgsync_runs",
            "Finished sync runs by outcome",
            runs.clone(),
        );
        let run_duration =
            HistogramFamily::new_with_constructor(run_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "orgsync_run_duration",
            "Duration of finished sync runs",
            Unit::Seconds,
            run_duration.clone(),
        );
        let entities = Family::default();
        registry.register(
            "orgsync_entities",
            "Entities in the catalog by kind",
            entities.clone(),
        );
        let okta_requests = Family::default();
        registry.register(
            "orgsync_okta_requests",
            "Okta requests by endpoint and response status, retries included",
            okta_requests.clone(),
        );
        let rate_limit_waits = Family::default();
        registry.register(
            "orgsync_rate_limit_waits",
            "Pauses for an Okta rate-limit window to reset",
            rate_limit_waits.clone(),
        );
        let rate_limit_wait_seconds = Family::default();
        registry.register_with_unit(
            "orgsync_rate_limit_wait",
            "Time spent waiting for Okta rate-limit windows",
            Unit::Seconds,
            rate_limit_wait_seconds.clone(),
        );
        let retries = Family::default();
        registry.register(
            "orgsync_okta_retries",
            "Retried Okta requests",
            retries.clone(),
        );
        let http_requests = Family::default();
        registry.register(
            "orgsync_http_requests",
            "HTTP requests answered, by route template and status",
            http_requests.clone(),
        );
        let http_duration =
            HistogramFamily::new_with_constructor(request_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "orgsync_http_request_duration",
            "Time to answer HTTP requests, by route template",
            Unit::Seconds,
            http_duration.clone(),
        );

        Metrics {
            registry,
            runs,
            run_duration,
            entities,
            okta_requests,
            rate_limit_waits,
            rate_limit_wait_seconds,
            retries,
            http_requests,
            http_duration,
        }
    }

    /// Counts a finished run and its duration.
    pub fn record_run(&self, provider: &str, outcome: &str, duration: Duration) {
        let labels = RunLabels {
            provider: provider.to_string(),
            outcome: outcome.to_string(),
        };
        self.runs.get_or_create(&labels).inc();
        self.run_duration
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
    }

    /// Counts one Okta request by its endpoint template and HTTP status;
    /// `None` means no complete response arrived.
    pub fn record_okta_response(&self, provider: &str, endpoint: &str, status: Option<u16>) {
        let labels = OktaRequestLabels {
            provider: provider.to_string(),
            endpoint: endpoint.to_string(),
            status: status.map_or_else(|| "error".to_string(), |code| code.to_string()),
        };
        self.okta_requests.get_or_create(&labels).inc();
    }

    /// Sets the number of entities of `kind` that `provider` has.
    pub fn set_entities(&self, provider: &str, kind: &str, count: usize) {
        let labels = KindLabels {
            provider: provider.to_string(),
            kind: kind.to_string(),
        };
        self.entities
            .get_or_create(&labels)
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Drops the entity gauges of a provider that was removed from the config.
    pub fn forget_provider(&self, provider: &str, kinds: &[&str]) {
        for kind in kinds {
            self.entities.remove(&KindLabels {
                provider: provider.to_string(),
                kind: kind.to_string(),
            });
        }
    }

    /// Counts one pause for a rate-limit window.
    pub fn record_rate_limit_wait(&self, provider: &str, bucket: &str, wait: Duration) {
        let labels = BucketLabels {
            provider: provider.to_string(),
            bucket: bucket.to_string(),
        };
        self.rate_limit_waits.get_or_create(&labels).inc();
        self.rate_limit_wait_seconds
            .get_or_create(&labels)
            .inc_by(wait.as_secs_f64());
    }

    /// Counts one retried Okta request.
    pub fn record_retry(&self, provider: &str, endpoint: &str) {
        let labels = EndpointLabels {
            provider: provider.to_string(),
            endpoint: endpoint.to_string(),
        };
        self.retries.get_or_create(&labels).inc();
    }

    /// Counts one HTTP request that got a response.
    pub fn record_request(&self, method: &str, route: &str, status: u16, duration: Duration) {
        let labels = HttpLabels {
            method: method.to_string(),
            route: route.to_string(),
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        let route_labels = RouteLabels {
            method: method.to_string(),
            route: route.to_string(),
        };
        self.http_duration
            .get_or_create(&route_labels)
            .observe(duration.as_secs_f64());
    }

    /// Encodes every family in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_counted_by_outcome() {
        let metrics = Metrics::new();
        metrics.record_run("prod", "succeeded", Duration::from_secs(3));
        metrics.record_run("prod", "succeeded", Duration::from_secs(5));
        let text = metrics.encode();
        assert!(text.contains("orgsync_runs_total{provider=\"prod\",outcome=\"succeeded\"} 2"));
    }

    #[test]
    fn run_durations_are_observed() {
        let metrics = Metrics::new();
        metrics.record_run("prod", "failed", Duration::from_millis(1500));
        let text = metrics.encode();
        assert!(text.contains(
            "orgsync_run_duration_seconds_sum{provider=\"prod\",outcome=\"failed\"} 1.5"
        ));
    }

    #[test]
    fn entity_gauge_is_set() {
        let metrics = Metrics::new();
        metrics.set_entities("prod", "User", 40);
        metrics.set_entities("prod", "User", 42);
        assert!(metrics
            .encode()
            .contains("orgsync_entities{provider=\"prod\",kind=\"User\"} 42"));
    }

    #[test]
    fn forgotten_provider_drops_gauge() {
        let metrics = Metrics::new();
        metrics.set_entities("old", "Group", 3);
        metrics.forget_provider("old", &["User", "Group"]);
        assert!(!metrics.encode().contains("provider=\"old\""));
    }

    #[test]
    fn okta_requests_are_counted_by_endpoint_and_status() {
        let metrics = Metrics::new();
        let users = "GET /api/v1/users";
        metrics.record_okta_response("prod", users, Some(200));
        metrics.record_okta_response("prod", users, Some(200));
        metrics.record_okta_response("prod", users, Some(429));
        metrics.record_okta_response("prod", users, None);
        let text = metrics.encode();
        let line = |status: &str, count: u64| {
            format!(
                "orgsync_okta_requests_total{{provider=\"prod\",endpoint=\"{users}\",status=\"{status}\"}} {count}"
            )
        };
        assert!(text.contains(&line("200", 2)), "{text}");
        assert!(text.contains(&line("429", 1)), "{text}");
        assert!(text.contains(&line("error", 1)), "{text}");
    }

    #[test]
    fn rate_limit_waits_are_counted() {
        let metrics = Metrics::new();
        metrics.record_rate_limit_wait("prod", "/api/v1/users", Duration::from_millis(250));
        let text = metrics.encode();
        assert!(text.contains(
            "orgsync_rate_limit_waits_total{provider=\"prod\",bucket=\"/api/v1/users\"} 1"
        ));
        assert!(text.contains(
            "orgsync_rate_limit_wait_seconds_total{provider=\"prod\",bucket=\"/api/v1/users\"} 0.25"
        ));
    }

    #[test]
    fn output_ends_with_eof_marker() {
        assert!(Metrics::new().encode().ends_with("# EOF\n"));
    }
}
