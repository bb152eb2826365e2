//! Query parameters, page sizes, cursors and `Link` headers.
//!
//! Okta links pages with one `Link` header per relation:
//! `<{base}/api/v1/users?limit=200>; rel="self"` and, when more items
//! follow, `<{base}/api/v1/users?after={cursor}&limit=200>; rel="next"`.
//! The last page has no `next`. Request parameters other than `after` and
//! `limit` are repeated in request order, then `after`, then `limit`, which
//! reproduces the recorded links exactly.
//!
//! Cursors are opaque to clients. For users and group members the cursor is
//! a one-character tag followed by the id of the last item, which is the
//! shape recorded Okta responses show (`after=000usfdsyqnIjEmHNm4x6`). Any
//! tag is accepted. Groups are ordered by name, so their cursor carries the
//! last group's sort key, base64url-encoded, and survives that group's
//! removal.

use axum::http::HeaderValue;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::responses;
use crate::org::{GroupKey, Id, Org};

/// The default and maximum page size of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize {
    /// The size when the request has no `limit`.
    pub default: usize,
    /// The largest size; larger requests are clamped to it.
    pub max: usize,
}

/// `GET /api/v1/users`: default 200 per the OpenAPI spec.
///
/// NOTE: the spec (2026.06.3) gives no maximum for users. 200 is the
/// maximum Okta's developer docs have long stated; larger limits are
/// clamped to it.
pub const USERS: PageSize = PageSize {
    default: 200,
    max: 200,
};

/// `GET /api/v1/users?q=…`: the spec says `limit` defaults to 10 with `q`.
pub const USERS_QUERY: PageSize = PageSize {
    default: 10,
    max: 200,
};

/// `GET /api/v1/groups`: maximum 10000 per the spec, and recorded responses
/// show `limit=10000` in the self link of a request without `limit`.
pub const GROUPS: PageSize = PageSize {
    default: 10_000,
    max: 10_000,
};

/// `GET /api/v1/groups?q=…`: the spec says the default for a query is 300.
pub const GROUPS_QUERY: PageSize = PageSize {
    default: 300,
    max: 10_000,
};

/// `GET /api/v1/groups/{id}/users`: default 1000 per the spec.
///
/// NOTE: the spec gives no maximum; the fake clamps to the default.
pub const GROUP_MEMBERS: PageSize = PageSize {
    default: 1_000,
    max: 1_000,
};

/// `GET /api/v1/users/{id}/groups`: recorded responses show `limit=200` in
/// the self link of a request without `limit`.
pub const USER_GROUPS: PageSize = PageSize {
    default: 200,
    max: 200,
};

/// The query parameters of a request, decoded, in request order.
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Decodes a raw query string (`a=1&b=x+y`).
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|raw| {
                url::form_urlencoded::parse(raw.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// Returns the first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Returns the page size: `limit` clamped to `size.max`, or `size.default`.
    pub fn limit(&self, size: PageSize) -> Result<usize, Response> {
        let Some(text) = self.get("limit") else {
            return Ok(size.default);
        };
        match text.trim().parse::<i64>() {
            Ok(limit) if limit >= 1 => Ok(usize::try_from(limit).unwrap_or(size.max).min(size.max)),
            _ => Err(responses::invalid_parameter(
                "limit",
                &format!("limit: {text:?} is not a whole number of at least 1"),
            )),
        }
    }
}

/// Returns the cursor that continues after the user (or member) with this id.
pub fn user_cursor(id: &str) -> String {
    format!("0{id}")
}

/// Returns the user id a users or members cursor continues after.
pub fn decode_user_cursor(after: &str) -> Result<&str, Response> {
    let mut chars = after.chars();
    match chars.next() {
        Some(_) if !chars.as_str().is_empty() => Ok(chars.as_str()),
        _ => Err(invalid_cursor(after)),
    }
}

/// Returns the cursor that continues after this group.
pub fn group_cursor(key: &GroupKey) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\n{}", key.id, key.folded_name))
}

/// Returns the group sort key a groups cursor continues after. A bare group id is
/// also accepted while that group exists.
pub fn decode_group_cursor(after: &str, org: &Org) -> Result<GroupKey, Response> {
    let decoded = URL_SAFE_NO_PAD
        .decode(after)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    if let Some((id, folded_name)) = decoded.as_deref().and_then(|text| text.split_once('\n')) {
        return Ok(GroupKey {
            folded_name: folded_name.to_owned(),
            id: Id::from(id),
        });
    }
    org.group(after)
        .map(|group| group.order_key().clone())
        .ok_or_else(|| invalid_cursor(after))
}

fn invalid_cursor(after: &str) -> Response {
    responses::invalid_parameter(
        "after",
        &format!(
            "after: {after:?} is not a cursor; use the one from the previous page's next link"
        ),
    )
}

/// Builds the `Link` header values of a page.
pub fn link_headers(
    base_url: &str,
    path: &str,
    params: &QueryParams,
    limit: usize,
    next_cursor: Option<&str>,
) -> Vec<HeaderValue> {
    let own_after = params.get("after");
    let mut links = vec![page_link(base_url, path, params, own_after, limit, "self")];
    if let Some(cursor) = next_cursor {
        links.push(page_link(
            base_url,
            path,
            params,
            Some(cursor),
            limit,
            "next",
        ));
    }
    links
        .into_iter()
        .filter_map(|link| HeaderValue::from_str(&link).ok())
        .collect()
}

fn page_link(
    base_url: &str,
    path: &str,
    params: &QueryParams,
    after: Option<&str>,
    limit: usize,
    relation: &str,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in &params.pairs {
        if key != "after" && key != "limit" {
            query.append_pair(key, value);
        }
    }
    if let Some(after) = after {
        query.append_pair("after", after);
    }
    query.append_pair("limit", &limit.to_string());
    format!("<{base_url}{path}?{}>; rel=\"{relation}\"", query.finish())
}

/// Takes up to `limit` items and reports whether more follow.
pub fn take_page<T>(mut items: impl Iterator<Item = T>, limit: usize) -> (Vec<T>, bool) {
    let page: Vec<T> = items.by_ref().take(limit).collect();
    let more = page.len() == limit && items.next().is_some();
    (page, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_link_adds_default_limit() {
        let params = QueryParams::parse(None);
        let links = link_headers("https://x.example", "/api/v1/groups", &params, 10_000, None);
        assert_eq!(links.len(), 1);
        assert_eq!(
            links[0],
            "<https://x.example/api/v1/groups?limit=10000>; rel=\"self\""
        );
    }

    #[test]
    fn next_link_matches_recorded_format() {
        let params = QueryParams::parse(Some("limit=1"));
        let links = link_headers(
            "https://x.example",
            "/api/v1/users",
            &params,
            1,
            Some("0abc"),
        );
        assert_eq!(
            links[1],
            "<https://x.example/api/v1/users?after=0abc&limit=1>; rel=\"next\""
        );
    }

    #[test]
    fn other_params_kept_before_cursor() {
        let params = QueryParams::parse(Some("search=status+eq+%22ACTIVE%22&limit=5"));
        let links = link_headers("http://h", "/api/v1/users", &params, 5, Some("0u"));
        assert_eq!(
            links[1],
            "<http://h/api/v1/users?search=status+eq+%22ACTIVE%22&after=0u&limit=5>; rel=\"next\""
        );
    }

    #[test]
    fn limit_clamped_to_max() {
        let params = QueryParams::parse(Some("limit=5000"));
        assert_eq!(params.limit(USERS).ok(), Some(200));
    }

    #[test]
    fn limit_must_be_positive() {
        let params = QueryParams::parse(Some("limit=0"));
        assert!(params.limit(USERS).is_err());
    }

    #[test]
    fn user_cursor_round_trips() {
        let cursor = user_cursor("00uabc");
        assert_eq!(decode_user_cursor(&cursor).ok(), Some("00uabc"));
    }

    #[test]
    fn recorded_user_cursor_accepted() {
        assert_eq!(
            decode_user_cursor("200unwlw0tbo8E6aVj5d7").ok(),
            Some("00unwlw0tbo8E6aVj5d7")
        );
    }

    #[test]
    fn take_page_reports_more() {
        let (page, more) = take_page(1..=5, 2);
        assert_eq!(page, [1, 2]);
        assert!(more);
        let (page, more) = take_page(1..=2, 2);
        assert_eq!(page.len(), 2);
        assert!(!more);
    }
}
