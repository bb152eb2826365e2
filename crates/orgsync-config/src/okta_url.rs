//! Checks of `oktaUrl`, the base URL of the Okta org.
//!
//! orgsync needs the *org URL* (`https://acme.okta.com`): the Management API
//! and the org authorization server's token endpoint both live under it.
//! People often paste the admin console URL (`https://acme-admin.okta.com`)
//! or a custom authorization server's issuer (`…/oauth2/default`). Neither
//! works, so each gets its own message with the corrected URL.

use std::net::IpAddr;

use url::{Host, Url};

/// Problem and fix texts for one thing wrong with the URL.
pub(crate) type Issue = (String, String);

/// Replaces the password in the user info of a URL (`https://user:pw@host`)
/// with `***`, so that diagnostics can show the rest. Works on text that
/// does not parse as a URL, such as one without a scheme.
pub(crate) fn redact_password(text: &str) -> String {
    let authority_start = text.find("://").map_or(0, |index| index + 3);
    let rest = &text[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let Some(at) = authority.rfind('@') else {
        return text.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return text.to_string();
    };
    let password_start = authority_start + colon + 1;
    let password_end = authority_start + at;
    format!("{}***{}", &text[..password_start], &text[password_end..])
}

/// Parses and checks an Okta org URL, returning every problem found.
pub(crate) fn parse_okta_url(text: &str) -> Result<Url, Vec<Issue>> {
    let trimmed = text.trim();
    let url = match Url::parse(trimmed) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(vec![(
                "has no scheme".to_string(),
                format!(
                    "write the full org URL, \"https://{}\"",
                    trimmed.trim_end_matches('/')
                ),
            )]);
        }
        Err(error) => {
            return Err(vec![(
                format!("is not a valid URL: {error}"),
                "write the org URL, such as \"https://acme.okta.com\"".to_string(),
            )]);
        }
    };

    let issues = find_issues(&url);
    if issues.is_empty() {
        Ok(url)
    } else {
        Err(issues)
    }
}

fn find_issues(url: &Url) -> Vec<Issue> {
    let corrected = corrected(url);
    let mut issues = Vec::new();

    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url) => {}
        "http" => issues.push((
            "uses http, which would send credentials unencrypted".to_string(),
            format!("use https: \"{corrected}\" (http is only allowed for 127.0.0.1, ::1 and localhost)"),
        )),
        scheme => issues.push((
            format!("uses the scheme `{scheme}`"),
            format!("use the https org URL, \"{corrected}\""),
        )),
    }
    if admin_host(url).is_some() {
        issues.push((
            "is the admin console URL".to_string(),
            format!("use the org URL \"{corrected}\""),
        ));
    }
    if url.path() != "/" && !url.path().is_empty() {
        issues.push(path_issue(url, &corrected));
    }
    if url.query().is_some() || url.fragment().is_some() {
        issues.push((
            "has a query or fragment".to_string(),
            format!("use the org URL alone, \"{corrected}\""),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        issues.push((
            "contains a user name or password".to_string(),
            format!(
                "remove them, \"{corrected}\"; credentials go in clientId and privateKey, or token"
            ),
        ));
    }
    issues
}

fn path_issue(url: &Url, corrected: &str) -> Issue {
    let problem = if url.path().starts_with("/oauth2") {
        format!(
            "has the path {}, which is an authorization server, not the org",
            url.path()
        )
    } else {
        format!("has the path {}", url.path())
    };
    (
        problem,
        format!("orgsync needs the org URL without a path: \"{corrected}\""),
    )
}

/// Returns the host without its `-admin` suffix when the URL is the admin console.
fn admin_host(url: &Url) -> Option<String> {
    let Some(Host::Domain(host)) = url.host() else {
        return None;
    };
    let (first, rest) = host.split_once('.')?;
    let org = first.strip_suffix("-admin")?;
    (!org.is_empty()).then(|| format!("{org}.{rest}"))
}

/// Returns the org URL the user most likely meant: https (unless on loopback), no
/// `-admin`, no path, query or credentials.
fn corrected(url: &Url) -> String {
    let scheme = if url.scheme() == "http" && is_loopback(url) {
        "http"
    } else {
        "https"
    };
    let host = admin_host(url).unwrap_or_else(|| url.host_str().unwrap_or_default().to_string());
    match url.port() {
        Some(port) if scheme == "http" => format!("{scheme}://{host}:{port}"),
        Some(port) if port != 443 => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(address)) => IpAddr::V4(address).is_loopback(),
        Some(Host::Ipv6(address)) => IpAddr::V6(address).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(text: &str) -> Vec<Issue> {
        parse_okta_url(text).unwrap_err()
    }

    #[test]
    fn password_is_redacted() {
        assert_eq!(
            redact_password("https://admin:hunter2@acme.okta.com/x"),
            "https://admin:***@acme.okta.com/x"
        );
        assert_eq!(
            redact_password("admin:p@ss@acme.okta.com"),
            "admin:***@acme.okta.com"
        );
        assert_eq!(
            redact_password("https://acme.okta.com/a@b:c"),
            "https://acme.okta.com/a@b:c"
        );
        assert_eq!(
            redact_password("https://user@acme.okta.com"),
            "https://user@acme.okta.com"
        );
    }

    #[test]
    fn org_url_is_accepted() {
        let url = parse_okta_url("https://acme.okta.com").unwrap();
        assert_eq!(url.as_str(), "https://acme.okta.com/");
    }

    #[test]
    fn trailing_slash_is_accepted() {
        assert!(parse_okta_url("https://acme.oktapreview.com/").is_ok());
    }

    #[test]
    fn admin_url_suggests_org_url() {
        let found = issues("https://acme-admin.okta.com");
        assert_eq!(found[0].1, "use the org URL \"https://acme.okta.com\"");
    }

    #[test]
    fn authorization_server_path_is_rejected() {
        let found = issues("https://acme.okta.com/oauth2/default");
        assert_eq!(
            found[0].1,
            "orgsync needs the org URL without a path: \"https://acme.okta.com\""
        );
    }

    #[test]
    fn http_on_public_host_is_rejected() {
        let found = issues("http://acme.okta.com");
        assert!(found[0].0.starts_with("uses http"));
    }

    #[test]
    fn http_on_loopback_is_accepted() {
        assert!(parse_okta_url("http://127.0.0.1:8080").is_ok());
    }

    #[test]
    fn http_on_ipv6_loopback_is_accepted() {
        assert!(parse_okta_url("http://[::1]:8080").is_ok());
    }

    #[test]
    fn http_on_localhost_is_accepted() {
        assert!(parse_okta_url("http://localhost:3000").is_ok());
    }

    #[test]
    fn missing_scheme_suggests_https() {
        let found = issues("acme.okta.com");
        assert_eq!(
            found[0].1,
            "write the full org URL, \"https://acme.okta.com\""
        );
    }

    #[test]
    fn admin_url_with_path_reports_both() {
        let found = issues("https://acme-admin.okta.com/admin/dashboard");
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn credentials_in_url_are_rejected() {
        let found = issues("https://user:pass@acme.okta.com");
        assert!(found[0].0.contains("user name or password"));
    }
}
