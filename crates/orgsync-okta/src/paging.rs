//! Okta's cursor paging: `Link` headers (RFC 8288), and the checks that keep
//! a listing from leaving the org or running forever.
//!
//! Okta sends one `Link` header per relation (`rel="self"`, `rel="next"`);
//! some proxies join them into one comma-separated header. The `next` URL is
//! followed exactly as given, because Okta's cursors are opaque.

use std::collections::HashSet;

use reqwest::header::{HeaderMap, LINK};
use url::Url;

use crate::error::{display_url, OktaError};
use crate::observer::Endpoint;

/// Listings stop with an error after this many pages. At Okta's smallest
/// page size used here (200 users), this is 20 million records.
pub(crate) const MAX_PAGES: usize = 100_000;

/// Listings stop with an error after this many records, far above the
/// largest Okta orgs, so that a server that never stops paging is caught.
pub(crate) const MAX_ITEMS: usize = 10_000_000;

/// Finds the `rel="next"` target in the `Link` headers, resolved against the
/// URL of the page that carried them.
pub(crate) fn next_link(headers: &HeaderMap, page_url: &Url) -> Option<Url> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(parse_link_header)
        .find(|link| link.rels.iter().any(|rel| rel.eq_ignore_ascii_case("next")))
        .and_then(|link| page_url.join(&link.target).ok())
}

/// One link of a `Link` header.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) target: String,
    pub(crate) rels: Vec<String>,
}

/// Parses a `Link` header value: `<uri>; rel="next", <uri>; rel="self"`.
/// Commas inside `<…>` or quoted strings do not split links.
pub(crate) fn parse_link_header(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|i| i + open) else {
            break;
        };
        let target = rest[open + 1..close].trim().to_owned();
        let (params, remainder) = split_params(&rest[close + 1..]);
        links.push(Link {
            target,
            rels: rel_values(params),
        });
        rest = remainder;
    }
    links
}

/// Splits the parameters of one link from the links after it, at the
/// first comma outside a quoted string.
fn split_params(text: &str) -> (&str, &str) {
    let mut quoted = false;
    for (index, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => return (&text[..index], &text[index + 1..]),
            _ => {}
        }
    }
    (text, "")
}

/// Returns the space-separated values of the `rel` parameter.
fn rel_values(params: &str) -> Vec<String> {
    params
        .split(';')
        .filter_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("rel")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
        .flat_map(|value| {
            value
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Returns whether two URLs share scheme, host and port, the origin an access token
/// may be sent to.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Tracks one listing: the URLs fetched and the totals, and rejects a next
/// link that leaves the org, loops, or passes the bounds.
pub(crate) struct PageWalk {
    endpoint: Endpoint,
    base: Url,
    seen: HashSet<String>,
    pub(crate) pages: usize,
    pub(crate) items: usize,
}

impl PageWalk {
    pub(crate) fn new(endpoint: Endpoint, base: &Url, first: &Url) -> PageWalk {
        let mut seen = HashSet::new();
        seen.insert(first.as_str().to_owned());
        PageWalk {
            endpoint,
            base: base.clone(),
            seen,
            pages: 0,
            items: 0,
        }
    }

    /// Counts a fetched page of `items` records and checks the bounds.
    pub(crate) fn page_done(&mut self, items: usize) -> Result<(), OktaError> {
        self.pages += 1;
        self.items += items;
        let bound = if self.pages > MAX_PAGES {
            format!("{MAX_PAGES} pages")
        } else if self.items > MAX_ITEMS {
            format!("{MAX_ITEMS} records")
        } else {
            return Ok(());
        };
        Err(OktaError::PagingBound {
            endpoint: self.endpoint,
            pages: self.pages,
            items: self.items,
            bound,
        })
    }

    /// Accepts `next` as the page to fetch next, or explains why not.
    pub(crate) fn follow(&mut self, next: Url) -> Result<Url, OktaError> {
        if !same_origin(&next, &self.base) {
            return Err(OktaError::ForeignNextLink {
                endpoint: self.endpoint,
                next: display_url(&next),
                base: display_url(&self.base),
            });
        }
        if !self.seen.insert(next.as_str().to_owned()) {
            return Err(OktaError::PagingLoop {
                endpoint: self.endpoint,
                url: display_url(&next),
                pages: self.pages,
            });
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("test URL")
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(LINK, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    const PAGE: &str = "https://example.okta.com/api/v1/users?limit=200";

    #[test]
    fn next_found_in_separate_headers() {
        let map = headers(&[
            r#"<https://example.okta.com/api/v1/users?limit=200>; rel="self""#,
            r#"<https://example.okta.com/api/v1/users?after=00u1&limit=200>; rel="next""#,
        ]);
        let next = next_link(&map, &url(PAGE));
        assert_eq!(
            next.as_ref().map(Url::as_str),
            Some("https://example.okta.com/api/v1/users?after=00u1&limit=200")
        );
    }

    #[test]
    fn next_found_in_joined_header() {
        let map = headers(&[
            r#"<https://example.okta.com/api/v1/users?limit=200>; rel="self", <https://example.okta.com/api/v1/users?after=00u2&limit=200>; rel="next""#,
        ]);
        let next = next_link(&map, &url(PAGE));
        assert_eq!(
            next.as_ref().map(Url::as_str),
            Some("https://example.okta.com/api/v1/users?after=00u2&limit=200")
        );
    }

    #[test]
    fn self_only_has_no_next() {
        let map = headers(&[r#"<https://example.okta.com/api/v1/groups?limit=10000>; rel="self""#]);
        assert_eq!(next_link(&map, &url(PAGE)), None);
    }

    #[test]
    fn no_link_header_has_no_next() {
        assert_eq!(next_link(&HeaderMap::new(), &url(PAGE)), None);
    }

    #[test]
    fn unquoted_and_multi_rel_are_read() {
        let links = parse_link_header(
            "<https://a.example/x>; REL=next, <https://a.example/y>; rel=\"last next\"",
        );
        assert_eq!(links[0].rels, vec!["next"]);
        assert_eq!(links[1].rels, vec!["last", "next"]);
    }

    #[test]
    fn comma_inside_target_does_not_split() {
        let links = parse_link_header(r#"<https://a.example/x?a=1,2>; rel="next""#);
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].target, "https://a.example/x?a=1,2");
    }

    #[test]
    fn relative_next_resolves_against_page() {
        let map = headers(&[r#"</api/v1/users?after=00u3>; rel="next""#]);
        let next = next_link(&map, &url(PAGE));
        assert_eq!(
            next.as_ref().map(Url::as_str),
            Some("https://example.okta.com/api/v1/users?after=00u3")
        );
    }

    #[test]
    fn cursor_is_kept_verbatim() {
        let map = headers(&[
            r#"<https://example.okta.com/api/v1/users?after=abc%2Fdef%3D%3D&limit=200>; rel="next""#,
        ]);
        let next = next_link(&map, &url(PAGE)).expect("next");
        assert_eq!(next.query(), Some("after=abc%2Fdef%3D%3D&limit=200"));
    }

    #[test]
    fn foreign_host_is_rejected() {
        let base = url("https://example.okta.com");
        let mut walk = PageWalk::new(Endpoint::Users, &base, &url(PAGE));
        let result = walk.follow(url("https://evil.example/api/v1/users?after=x"));
        assert!(
            matches!(result, Err(OktaError::ForeignNextLink { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn other_scheme_is_rejected() {
        let base = url("https://example.okta.com");
        let mut walk = PageWalk::new(Endpoint::Users, &base, &url(PAGE));
        let result = walk.follow(url("http://example.okta.com/api/v1/users?after=x"));
        assert!(
            matches!(result, Err(OktaError::ForeignNextLink { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn other_port_is_rejected() {
        let base = url("http://127.0.0.1:8080");
        let first = url("http://127.0.0.1:8080/api/v1/users");
        let mut walk = PageWalk::new(Endpoint::Users, &base, &first);
        let result = walk.follow(url("http://127.0.0.1:8081/api/v1/users?after=x"));
        assert!(
            matches!(result, Err(OktaError::ForeignNextLink { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn default_port_counts_as_same_origin() {
        assert!(same_origin(
            &url("https://example.okta.com:443/api/v1/users"),
            &url("https://EXAMPLE.okta.com")
        ));
    }

    #[test]
    fn repeated_next_is_a_loop() {
        let base = url("https://example.okta.com");
        let mut walk = PageWalk::new(Endpoint::Groups, &base, &url(PAGE));
        let second = url("https://example.okta.com/api/v1/users?after=1");
        assert!(walk.follow(second.clone()).is_ok());
        let result = walk.follow(second);
        assert!(
            matches!(result, Err(OktaError::PagingLoop { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn next_equal_to_first_page_is_a_loop() {
        let base = url("https://example.okta.com");
        let mut walk = PageWalk::new(Endpoint::Users, &base, &url(PAGE));
        let result = walk.follow(url(PAGE));
        assert!(
            matches!(result, Err(OktaError::PagingLoop { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn item_bound_stops_paging() {
        let base = url("https://example.okta.com");
        let mut walk = PageWalk::new(Endpoint::Users, &base, &url(PAGE));
        assert!(walk.page_done(MAX_ITEMS).is_ok());
        let result = walk.page_done(1);
        assert!(
            matches!(result, Err(OktaError::PagingBound { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn page_bound_stops_paging() {
        let base = url("https://example.okta.com");
        let mut walk = PageWalk::new(Endpoint::Users, &base, &url(PAGE));
        walk.pages = MAX_PAGES;
        let result = walk.page_done(0);
        assert!(
            matches!(result, Err(OktaError::PagingBound { .. })),
            "{result:?}"
        );
    }
}
