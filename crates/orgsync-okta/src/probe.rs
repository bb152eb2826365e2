//! Single requests for diagnostics: [`OktaClient::get`] returns one page
//! with the response headers that `doctor` reads (the server's `Date` and
//! the rate-limit headers), and [`OktaClient::list_groups_with_stats`] lists
//! groups with their member counts (`expand=stats`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use orgsync_model::okta::OktaGroup;
use reqwest::header::DATE;
use serde::Deserialize;
use url::Url;

use crate::budget::{parse_http_date, RateLimitHeaders};
use crate::client::{endpoint_url, set_query, OktaClient, GROUPS_PAGE_SIZE};
use crate::error::OktaError;
use crate::observer::Endpoint;
use crate::paging::next_link;
use crate::request::Call;

/// The rate-limit headers of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// `X-Rate-Limit-Limit`: requests the bucket allows per window.
    pub limit: u32,
    /// `X-Rate-Limit-Remaining`: requests left in the current window, all
    /// apps of the org counted.
    pub remaining: u32,
    /// `X-Rate-Limit-Reset`: when the window ends, on Okta's clock.
    pub reset: SystemTime,
}

/// One response of [`OktaClient::get`].
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The HTTP status (2xx; other statuses are errors).
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
    /// The `Date` header: Okta's clock when it sent the response.
    pub server_date: Option<SystemTime>,
    /// The rate-limit headers, when Okta sent all three.
    pub rate_limit: Option<RateLimit>,
    /// The next page from the `Link: rel="next"` header, if another page
    /// follows. Its `after` parameter continues the listing.
    pub next_page: Option<Url>,
}

/// A group and its member count from `expand=stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupWithStats {
    /// The group.
    pub group: OktaGroup,
    /// `_embedded.stats.usersCount`, when Okta sent it.
    pub users_count: Option<u64>,
}

#[derive(Deserialize)]
struct RawGroupWithStats {
    #[serde(flatten)]
    group: OktaGroup,
    #[serde(rename = "_embedded", default)]
    embedded: Option<RawEmbedded>,
}

#[derive(Deserialize)]
struct RawEmbedded {
    #[serde(default)]
    stats: Option<RawStats>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStats {
    #[serde(default)]
    users_count: Option<u64>,
}

impl OktaClient {
    /// Sends one `GET {oktaUrl}/{segments…}?{query}` to `endpoint`, with the
    /// same authentication, budget and retries as the listings, and returns
    /// the first page only. Each segment is percent-encoded.
    ///
    /// `endpoint` names the request in errors and picks its credentials;
    /// [`Endpoint::Token`] is rejected, because [`OktaClient::fetch_token`]
    /// is the only way to request a token.
    pub async fn get(
        &self,
        endpoint: Endpoint,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<ApiResponse, OktaError> {
        if endpoint == Endpoint::Token {
            return Err(OktaError::UnsupportedEndpoint { endpoint });
        }
        let mut url = endpoint_url(&self.shared.base_url, segments)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let search = query
            .iter()
            .find(|(name, _)| *name == "search")
            .map(|(_, value)| *value);

        let call = Call::new(endpoint, &url, search);
        let reply = self.send(&call).await?;
        let body = reply.json(&call)?;
        let server_date = reply
            .headers
            .get(DATE)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_http_date);
        Ok(ApiResponse {
            status: reply.status,
            body,
            server_date,
            rate_limit: RateLimitHeaders::parse(&reply.headers).map(rate_limit),
            next_page: next_link(&reply.headers, &url),
        })
    }

    /// Lists all groups (all pages) with `expand=stats`, so each comes with
    /// its member count, filtered by Okta's `search` parameter when given.
    pub async fn list_groups_with_stats(
        &self,
        search: Option<&str>,
    ) -> Result<Vec<GroupWithStats>, OktaError> {
        let mut url = endpoint_url(&self.shared.base_url, &["api", "v1", "groups"])?;
        set_query(&mut url, GROUPS_PAGE_SIZE, search);
        url.query_pairs_mut().append_pair("expand", "stats");

        let raw: Vec<RawGroupWithStats> = self.list(Endpoint::Groups, url, search).await?;
        Ok(raw
            .into_iter()
            .map(|raw| GroupWithStats {
                group: raw.group,
                users_count: raw
                    .embedded
                    .and_then(|embedded| embedded.stats)
                    .and_then(|stats| stats.users_count),
            })
            .collect())
    }
}

fn rate_limit(headers: RateLimitHeaders) -> RateLimit {
    RateLimit {
        limit: headers.limit,
        remaining: headers.remaining,
        reset: UNIX_EPOCH + Duration::from_secs(headers.reset_epoch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stats_are_read_from_embedded() {
        let body = json!({
            "id": "00g1",
            "type": "OKTA_GROUP",
            "profile": {"name": "Platform"},
            "_embedded": {"stats": {"usersCount": 42, "appsCount": 0}}
        });
        let raw: RawGroupWithStats = serde_json::from_value(body).expect("group");
        let users_count = raw
            .embedded
            .and_then(|e| e.stats)
            .and_then(|s| s.users_count);
        assert_eq!(raw.group.id, "00g1");
        assert_eq!(users_count, Some(42));
    }

    #[test]
    fn group_without_stats_has_no_count() {
        let body = json!({"id": "00g1", "type": "OKTA_GROUP", "profile": {"name": "x"}});
        let raw: RawGroupWithStats = serde_json::from_value(body).expect("group");
        assert!(raw.embedded.is_none());
    }

    #[test]
    fn reset_is_epoch_seconds() {
        let headers = RateLimitHeaders {
            limit: 600,
            remaining: 599,
            reset_epoch: 1_700_000_060,
            server_date: None,
        };
        let limit = rate_limit(headers);
        assert_eq!(limit.reset, UNIX_EPOCH + Duration::from_secs(1_700_000_060));
    }
}
