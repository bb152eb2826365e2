//! The org URL checks: `oktaUrl`'s form, whether it serves Okta's org
//! metadata (`GET /.well-known/okta-organization`, which needs no
//! credentials), and the clock.
//!
//! Clock skew is Okta's `Date` header minus this machine's time when the
//! response arrived. Okta checks a client assertion's `iat` and `exp`
//! against its own clock, and orgsync's assertions live five minutes, so a
//! skewed clock makes every token request fail.

use std::time::{Duration, SystemTime};

use orgsync_okta::{Endpoint, OktaError, TransportKind};
use serde_json::Value;
use url::{Host, Url};

use crate::report::{CheckId, Status};
use crate::run::Run;

/// Skew up to this is the `Date` header's one-second resolution plus the
/// request's duration.
const CLOCK_TOLERANCE: Duration = Duration::from_secs(5);

/// Skew above this fails: Okta rejects an assertion issued in its future,
/// and one whose `exp` (five minutes after `iat`) it has passed. A minute
/// keeps a margin below both.
const CLOCK_LIMIT: Duration = Duration::from_secs(60);

const FIND_ORG_URL: &str = "set oktaUrl to your Okta org URL, such as https://acme.okta.com \
    (the Okta Admin Console's address without -admin)";

/// Records `url.format`. A loaded config has already rejected every bad
/// form, so this only describes the URL.
pub(crate) fn check_format(run: &mut Run<'_>) {
    let url = &run.provider.okta_url;
    let detail = if url.scheme() == "http" {
        format!("{url} uses http, which the config allows only for a loopback address such as a local fake-okta")
    } else {
        format!("{url} is an https org URL")
    };
    run.checks.pass(CheckId::UrlFormat, detail);
}

/// Records `url.org` and `url.clock`.
pub(crate) async fn check_org(run: &mut Run<'_>) -> Result<(), CheckId> {
    let segments = [".well-known", "okta-organization"];
    let result = run.get(Endpoint::Organization, &segments, &[]).await;
    let received_at = run.options.clock.now();
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            let (detail, fix) = unreachable_text(&run.provider.okta_url, &error);
            run.checks.fail(CheckId::UrlOrg, detail, fix);
            return Err(CheckId::UrlOrg);
        }
    };

    match org_metadata(&response.body, &run.provider.okta_url) {
        Ok((status, detail)) => {
            let fix = "set oktaUrl to the org URL that Okta names, unless a proxy serves the org at this address";
            match status {
                Status::Warn => run.checks.warn(CheckId::UrlOrg, detail, fix),
                _ => run.checks.pass(CheckId::UrlOrg, detail),
            }
        }
        Err(detail) => {
            run.checks.fail(CheckId::UrlOrg, detail, FIND_ORG_URL);
            return Err(CheckId::UrlOrg);
        }
    }

    record_clock(run, response.server_date, received_at);
    Ok(())
}

fn record_clock(run: &mut Run<'_>, server_date: Option<SystemTime>, received_at: SystemTime) {
    let Some(server_date) = server_date else {
        run.checks.warn(
            CheckId::UrlClock,
            "Okta's response had no Date header, so the clock could not be compared",
            "check that this machine's clock is synchronized (NTP)",
        );
        return;
    };
    let (status, detail) = clock_skew(server_date, received_at);
    let fix = "synchronize this machine's clock with NTP (for example `timedatectl set-ntp true` on systemd)";
    match status {
        Status::Pass => run.checks.pass(CheckId::UrlClock, detail),
        Status::Warn => run.checks.warn(CheckId::UrlClock, detail, fix),
        _ => run.checks.fail(CheckId::UrlClock, detail, fix),
    }
}

/// Returns the status and description of the skew between Okta's clock
/// and this machine's.
pub(crate) fn clock_skew(server_date: SystemTime, local: SystemTime) -> (Status, String) {
    let (skew, direction) = match local.duration_since(server_date) {
        Ok(ahead) => (ahead, "ahead of"),
        Err(behind) => (behind.duration(), "behind"),
    };
    let seconds = skew.as_secs();
    if skew <= CLOCK_TOLERANCE {
        return (
            Status::Pass,
            format!("this machine's clock is within {seconds} s of Okta's"),
        );
    }
    let consequence = if direction == "ahead of" {
        "Okta rejects client assertions issued in its future (\"The client_assertion token must be issued before the current time.\")"
    } else {
        "Okta rejects client assertions that expired on its clock (\"The client_assertion token is expired.\"), and orgsync's assertions live 5 minutes"
    };
    let detail = format!("this machine's clock is {seconds} s {direction} Okta's; {consequence}");
    if skew <= CLOCK_LIMIT {
        (Status::Warn, detail)
    } else {
        (Status::Fail, detail)
    }
}

/// Checks that `body` is Okta's org metadata: an org id (`00o…`) and
/// `_links.organization.href`. Returns a warning status when neither the
/// org URL nor the custom domain Okta names is `okta_url`.
pub(crate) fn org_metadata(body: &Value, okta_url: &Url) -> Result<(Status, String), String> {
    let id = body.get("id").and_then(Value::as_str);
    let links = body.get("_links");
    let href = |relation: &str| {
        links
            .and_then(|links| links.get(relation))
            .and_then(|link| link.get("href"))
            .and_then(Value::as_str)
    };
    let (Some(id), Some(organization)) = (id, href("organization")) else {
        return Err(format!(
            "{okta_url}.well-known/okta-organization returned JSON without an org id and \
             _links.organization, so oktaUrl is not an Okta org"
        ));
    };

    let pipeline = match body.get("pipeline").and_then(Value::as_str) {
        Some("idx") => "Identity Engine",
        Some("v1") => "Classic Engine",
        _ => "unknown engine",
    };
    let alternate = href("alternate");
    let names_this_url = [Some(organization), alternate]
        .into_iter()
        .flatten()
        .any(|href| same_origin(href, okta_url));
    if names_this_url {
        Ok((
            Status::Pass,
            format!("Okta org {id} ({pipeline}) at {organization}"),
        ))
    } else {
        Ok((
            Status::Warn,
            format!("Okta org {id} ({pipeline}) names its URL {organization}, not {okta_url}"),
        ))
    }
}

fn same_origin(href: &str, url: &Url) -> bool {
    Url::parse(href).is_ok_and(|href| {
        href.scheme() == url.scheme()
            && href.host() == url.host()
            && href.port_or_known_default() == url.port_or_known_default()
    })
}

/// Returns the detail and fix for an org URL that did not respond like an Okta org.
pub(crate) fn unreachable_text(okta_url: &Url, error: &OktaError) -> (String, String) {
    let host = okta_url.host_str().unwrap_or_default().to_owned();
    match error {
        OktaError::Transport { kind, detail, .. } => transport_text(okta_url, &host, *kind, detail),
        OktaError::Redirect { location, .. } => (
            format!("{okta_url} redirects to {location} instead of serving the org"),
            FIND_ORG_URL.to_owned(),
        ),
        OktaError::Api { status, .. } => (
            format!(
                "{okta_url}.well-known/okta-organization returned HTTP {status}; every Okta org \
                 serves it, so oktaUrl is not an Okta org"
            ),
            FIND_ORG_URL.to_owned(),
        ),
        OktaError::MalformedResponse { reason, .. } => (
            format!(
                "{okta_url}.well-known/okta-organization did not return Okta's JSON ({reason}), \
                 so oktaUrl is not an Okta org"
            ),
            FIND_ORG_URL.to_owned(),
        ),
        other => (
            other.to_string(),
            "run doctor again later; if it keeps failing, check status.okta.com".to_owned(),
        ),
    }
}

fn transport_text(
    okta_url: &Url,
    host: &str,
    kind: TransportKind,
    detail: &str,
) -> (String, String) {
    match kind {
        TransportKind::Dns => (
            format!("the host name {host} does not resolve (DNS: {detail})"),
            format!("check oktaUrl for typos; {FIND_ORG_URL}"),
        ),
        TransportKind::Tls => (
            format!("the TLS handshake with {host} failed ({detail})"),
            tls_fix(okta_url),
        ),
        TransportKind::Connect => (
            format!("could not connect to {} ({detail})", authority(okta_url)),
            "check oktaUrl, and that this machine can reach it through any proxy or firewall"
                .to_owned(),
        ),
        TransportKind::Timeout => (
            format!("{okta_url} did not respond within requestTimeout ({detail})"),
            "check that this machine can reach the org; raise requestTimeout if the network is slow"
                .to_owned(),
        ),
        TransportKind::Body | TransportKind::Other => (
            format!("the request to {okta_url} failed ({detail})"),
            "check oktaUrl and the network between this machine and Okta".to_owned(),
        ),
    }
}

fn tls_fix(okta_url: &Url) -> String {
    let loopback = match okta_url.host() {
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if loopback {
        "the server at this address does not speak TLS; a local fake-okta serves http, so use \
         http:// for it"
            .to_owned()
    } else {
        "check that oktaUrl is the org URL; if a proxy inspects TLS, make its CA certificate \
         trusted on this machine"
            .to_owned()
    }
}

fn authority(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use serde_json::json;

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn org_url() -> Url {
        Url::parse("https://acme.okta.com").expect("URL")
    }

    #[test]
    fn small_skew_passes() {
        let (status, _) = clock_skew(at(1000), at(1003));
        assert_eq!(status, Status::Pass);
    }

    #[test]
    fn half_minute_ahead_warns() {
        let (status, detail) = clock_skew(at(1000), at(1030));
        assert_eq!(status, Status::Warn);
        assert!(detail.contains("30 s ahead of"), "{detail}");
    }

    #[test]
    fn ten_minutes_behind_fails() {
        let (status, detail) = clock_skew(at(1600), at(1000));
        assert_eq!(status, Status::Fail);
        assert!(detail.contains("600 s behind"), "{detail}");
        assert!(detail.contains("expired"), "{detail}");
    }

    #[test]
    fn org_metadata_names_org() {
        let body = json!({"id": "00o1", "_links": {"organization": {"href": "https://acme.okta.com"}}, "pipeline": "idx"});
        let (status, detail) = org_metadata(&body, &org_url()).expect("Okta org");
        assert_eq!(status, Status::Pass);
        assert!(detail.contains("00o1"), "{detail}");
        assert!(detail.contains("Identity Engine"), "{detail}");
    }

    #[test]
    fn custom_domain_counts_as_org() {
        let body = json!({"id": "00o1", "_links": {
            "organization": {"href": "https://acme.okta.com"},
            "alternate": {"href": "https://login.acme.example"}}});
        let url = Url::parse("https://login.acme.example").expect("URL");
        let (status, _) = org_metadata(&body, &url).expect("Okta org");
        assert_eq!(status, Status::Pass);
    }

    #[test]
    fn other_org_url_warns() {
        let body =
            json!({"id": "00o1", "_links": {"organization": {"href": "https://other.okta.com"}}});
        let (status, detail) = org_metadata(&body, &org_url()).expect("Okta org");
        assert_eq!(status, Status::Warn);
        assert!(detail.contains("https://other.okta.com"), "{detail}");
    }

    #[test]
    fn json_without_org_id_is_not_okta() {
        let body = json!({"status": "ok"});
        let detail = org_metadata(&body, &org_url()).expect_err("not Okta");
        assert!(detail.contains("not an Okta org"), "{detail}");
    }

    #[test]
    fn dns_failure_names_host() {
        let error = OktaError::Transport {
            endpoint: Endpoint::Organization,
            url: "https://acme.okta.com/.well-known/okta-organization".into(),
            kind: TransportKind::Dns,
            detail: "failed to lookup address information".into(),
            attempts: 2,
            timeout: Duration::from_secs(30),
        };
        let (detail, fix) = unreachable_text(&org_url(), &error);
        assert!(
            detail.contains("acme.okta.com does not resolve"),
            "{detail}"
        );
        assert!(fix.contains("typos"), "{fix}");
    }
}
