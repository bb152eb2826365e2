//! [`OktaClient`]: the listings the sync engine reads, on top of the request
//! loop in [`crate::request`].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use orgsync_model::okta::{OktaGroup, OktaUser};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::sync::Semaphore;
use url::Url;

use crate::budget::RateBudget;
use crate::config::{default_user_agent, ClientConfig};
use crate::credentials::Credentials;
use crate::error::{display_url, OktaError};
use crate::observer::{ClientObserver, Endpoint, NoObserver};
use crate::paging::{next_link, PageWalk};
use crate::request::Call;
use crate::stats::{ClientStats, StatsRecorder};
use crate::token::{TokenCache, TokenInfo};

/// Page size of `GET /api/v1/users`: the default and the largest that
/// Okta documents for this endpoint.
pub const USERS_PAGE_SIZE: u32 = 200;

/// Page size of `GET /api/v1/groups`: the maximum in Okta's OpenAPI spec.
pub const GROUPS_PAGE_SIZE: u32 = 10_000;

/// Page size of `GET /api/v1/groups/{id}/users`: Okta's default; the spec
/// names no maximum.
pub const MEMBERS_PAGE_SIZE: u32 = 1_000;

/// Reads the time; tests substitute their own clock.
pub(crate) trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The system clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// State shared by all clones of a client.
pub(crate) struct Shared {
    pub(crate) base_url: Url,
    pub(crate) token_url: Url,
    pub(crate) credentials: Credentials,
    pub(crate) scopes: Vec<String>,
    pub(crate) max_retries: u32,
    pub(crate) request_timeout: Duration,
    pub(crate) http: reqwest::Client,
    pub(crate) budget: RateBudget,
    pub(crate) in_flight: Semaphore,
    pub(crate) tokens: TokenCache,
    pub(crate) stats: StatsRecorder,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Shared {
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }
}

/// A client of one Okta org. Cloning is cheap: clones share the token,
/// the rate-limit budget, the concurrency limit and the counters.
#[derive(Clone)]
pub struct OktaClient {
    pub(crate) shared: Arc<Shared>,
    pub(crate) observer: Arc<dyn ClientObserver>,
}

impl std::fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaClient")
            .field("base_url", &display_url(&self.shared.base_url))
            .field("credentials", &self.shared.credentials)
            .finish_non_exhaustive()
    }
}

impl OktaClient {
    /// Checks `config` and builds a client. Sends nothing yet.
    pub fn new(config: ClientConfig) -> Result<OktaClient, OktaError> {
        validate(&config)?;
        let base_url = org_url(&config.base_url)?;
        let token_url = endpoint_url(&base_url, &["oauth2", "v1", "token"])?;
        let user_agent = if config.user_agent.trim().is_empty() {
            default_user_agent()
        } else {
            config.user_agent.clone()
        };
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            // A redirect could carry the Authorization header elsewhere;
            // Okta's API does not redirect, so one is reported instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| OktaError::HttpClient {
                reason: err.to_string(),
            })?;

        let shared = Shared {
            base_url,
            token_url,
            credentials: config.credentials,
            scopes: config.scopes,
            max_retries: config.max_retries,
            request_timeout: config.request_timeout,
            http,
            budget: RateBudget::new(config.rate_limit_share),
            in_flight: Semaphore::new(config.concurrency),
            tokens: TokenCache::default(),
            stats: StatsRecorder::default(),
            clock: Arc::new(SystemClock),
        };
        Ok(OktaClient {
            shared: Arc::new(shared),
            observer: Arc::new(NoObserver),
        })
    }

    /// Returns this client reporting progress to `observer`.
    pub fn with_observer(self, observer: Arc<dyn ClientObserver>) -> OktaClient {
        OktaClient {
            shared: self.shared,
            observer,
        }
    }

    /// Lists all users (all pages). `search` is passed through as Okta's
    /// `search` parameter; without it Okta leaves out DEPROVISIONED users.
    pub async fn list_users(&self, search: Option<&str>) -> Result<Vec<OktaUser>, OktaError> {
        let url = self.users_url(search)?;
        self.list(Endpoint::Users, url, search).await
    }

    /// Lists all users like [`OktaClient::list_users`], keeping only the
    /// given profile attributes. Each page is trimmed as it arrives.
    pub async fn list_users_keeping(
        &self,
        search: Option<&str>,
        attributes: &BTreeSet<String>,
    ) -> Result<Vec<OktaUser>, OktaError> {
        let url = self.users_url(search)?;
        let trim = |user| keep_attributes(user, attributes);
        self.list_mapped(Endpoint::Users, url, search, trim).await
    }

    /// Lists the members of a group like [`OktaClient::list_group_members`],
    /// keeping only the given profile attributes.
    pub async fn list_group_members_keeping(
        &self,
        group_id: &str,
        attributes: &BTreeSet<String>,
    ) -> Result<Vec<OktaUser>, OktaError> {
        let url = self.members_url(group_id)?;
        let trim = |user| keep_attributes(user, attributes);
        self.list_mapped(Endpoint::GroupMembers, url, None, trim)
            .await
    }

    /// Lists all groups (all pages), filtered by Okta's `search` parameter
    /// when given.
    pub async fn list_groups(&self, search: Option<&str>) -> Result<Vec<OktaGroup>, OktaError> {
        let mut url = endpoint_url(&self.shared.base_url, &["api", "v1", "groups"])?;
        set_query(&mut url, GROUPS_PAGE_SIZE, search);
        self.list(Endpoint::Groups, url, search).await
    }

    /// Lists the full user records of a group's members (all pages).
    pub async fn list_group_members(&self, group_id: &str) -> Result<Vec<OktaUser>, OktaError> {
        let url = self.members_url(group_id)?;
        self.list(Endpoint::GroupMembers, url, None).await
    }

    /// Lists the ids of a group's members (all pages). Each record is parsed
    /// only for its `id`, so a large group costs a few bytes per member
    /// instead of a whole user profile.
    pub async fn list_group_member_ids(&self, group_id: &str) -> Result<Vec<String>, OktaError> {
        let url = self.members_url(group_id)?;
        self.list_mapped(Endpoint::GroupMembers, url, None, |record: RecordId| {
            record.id
        })
        .await
    }

    /// Builds the first page's URL of the users listing.
    fn users_url(&self, search: Option<&str>) -> Result<Url, OktaError> {
        let mut url = endpoint_url(&self.shared.base_url, &["api", "v1", "users"])?;
        set_query(&mut url, USERS_PAGE_SIZE, search);
        Ok(url)
    }

    /// Builds the first page's URL of a group's member listing.
    fn members_url(&self, group_id: &str) -> Result<Url, OktaError> {
        let segments = ["api", "v1", "groups", group_id, "users"];
        let mut url = endpoint_url(&self.shared.base_url, &segments)?;
        set_query(&mut url, MEMBERS_PAGE_SIZE, None);
        Ok(url)
    }

    /// Fetches `GET /.well-known/okta-organization`, which needs no
    /// credentials, so `doctor` can check the org URL on its own.
    pub async fn organization(&self) -> Result<serde_json::Value, OktaError> {
        let path = [".well-known", "okta-organization"];
        let url = endpoint_url(&self.shared.base_url, &path)?;
        let call = Call::new(Endpoint::Organization, &url, None);
        let reply = self.send(&call).await?;
        reply.json(&call)
    }

    /// Fetches a new access token now, replacing the cached one, and
    /// returns its granted scopes and expiry. For `doctor`'s checks.
    pub async fn fetch_token(&self) -> Result<TokenInfo, OktaError> {
        let token = self.request_token().await?;
        let info = token.info().clone();
        self.shared.tokens.store(token).await;
        Ok(info)
    }

    /// Returns the counters of everything this client and its clones did.
    pub fn stats(&self) -> ClientStats {
        self.shared.stats.snapshot()
    }

    /// Fetches every page of a listing, following `Link: rel="next"`.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        first: Url,
        search: Option<&str>,
    ) -> Result<Vec<T>, OktaError> {
        self.list_mapped(endpoint, first, search, |record| record)
            .await
    }

    /// Fetches every page of a listing, passing each record through `map` as
    /// its page arrives, and returns the mapped records.
    pub(crate) async fn list_mapped<T: DeserializeOwned, U>(
        &self,
        endpoint: Endpoint,
        first: Url,
        search: Option<&str>,
        mut map: impl FnMut(T) -> U,
    ) -> Result<Vec<U>, OktaError> {
        let mut walk = PageWalk::new(endpoint, &self.shared.base_url, &first);
        let mut records = Vec::new();
        let mut url = first;
        loop {
            let call = Call::new(endpoint, &url, search);
            let reply = self.send(&call).await?;
            let page: Vec<T> = reply.json(&call)?;

            walk.page_done(page.len())?;
            self.observer.page_fetched(endpoint, page.len());
            records.extend(page.into_iter().map(&mut map));

            match next_link(&reply.headers, &url) {
                Some(next) => url = walk.follow(next)?,
                None => break,
            }
        }
        tracing::debug!(
            endpoint = %endpoint,
            pages = walk.pages,
            records = records.len(),
            "listing complete"
        );
        Ok(records)
    }
}

/// Returns `user` with only the profile attributes in `attributes`.
fn keep_attributes(mut user: OktaUser, attributes: &BTreeSet<String>) -> OktaUser {
    user.keep_profile_attributes(attributes);
    user
}

/// The `id` of a listed record; serde skips every other field.
#[derive(Deserialize)]
struct RecordId {
    id: String,
}

/// Checks the ranges of the config values.
fn validate(config: &ClientConfig) -> Result<(), OktaError> {
    let share = config.rate_limit_share;
    if !(share > 0.0 && share <= 1.0) {
        return Err(OktaError::InvalidConfig {
            setting: "rateLimitShare",
            value: share.to_string(),
            problem: "must be more than 0 and at most 1 (0.5 leaves half of each rate limit \
                      to other apps)"
                .to_owned(),
        });
    }
    if config.concurrency == 0 {
        return Err(OktaError::InvalidConfig {
            setting: "concurrency",
            value: "0".to_owned(),
            problem: "must be at least 1".to_owned(),
        });
    }
    if config.request_timeout.is_zero() {
        return Err(OktaError::InvalidConfig {
            setting: "requestTimeout",
            value: "0 s".to_owned(),
            problem: "must be longer than zero, e.g. 30 seconds".to_owned(),
        });
    }
    validate_credentials(config)
}

fn validate_credentials(config: &ClientConfig) -> Result<(), OktaError> {
    match &config.credentials {
        Credentials::PrivateKey { client_id, .. } if client_id.trim().is_empty() => {
            Err(OktaError::InvalidConfig {
                setting: "clientId",
                value: "empty".to_owned(),
                problem: "set it to the Client ID on the Okta app's General tab".to_owned(),
            })
        }
        Credentials::PrivateKey { .. } if config.scopes.is_empty() => {
            Err(OktaError::InvalidConfig {
                setting: "scopes",
                value: "empty".to_owned(),
                problem: "list at least okta.users.read and okta.groups.read".to_owned(),
            })
        }
        Credentials::ApiToken(token) if token.is_empty() => Err(OktaError::InvalidConfig {
            setting: "token",
            value: "empty".to_owned(),
            problem: "set it to an API token from Security > API > Tokens".to_owned(),
        }),
        _ => Ok(()),
    }
}

/// Checks that `url` is an org URL (http or https, a host, no path) and
/// returns it with the path `/`.
fn org_url(url: &Url) -> Result<Url, OktaError> {
    let invalid = |problem: &str| OktaError::InvalidConfig {
        setting: "oktaUrl",
        value: display_url(url),
        problem: problem.to_owned(),
    };
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(invalid(
            "must be an https URL such as https://example.okta.com",
        ));
    }
    if !url.path().trim_end_matches('/').is_empty() || url.query().is_some() {
        return Err(invalid(
            "must be the org URL without a path, e.g. https://example.okta.com",
        ));
    }
    let mut base = url.clone();
    base.set_path("/");
    base.set_fragment(None);
    Ok(base)
}

/// Builds `{base}/{segments…}`, percent-encoding each segment.
pub(crate) fn endpoint_url(base: &Url, segments: &[&str]) -> Result<Url, OktaError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| OktaError::InvalidConfig {
            setting: "oktaUrl",
            value: display_url(base),
            problem: "cannot be a base for API paths".to_owned(),
        })?
        .clear()
        .extend(segments);
    Ok(url)
}

pub(crate) fn set_query(url: &mut Url, limit: u32, search: Option<&str>) {
    let mut query = url.query_pairs_mut();
    query.append_pair("limit", &limit.to_string());
    if let Some(search) = search {
        query.append_pair("search", search);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::ApiToken;

    fn config(url: &str) -> ClientConfig {
        ClientConfig::new(
            Url::parse(url).expect("URL"),
            Credentials::ApiToken(ApiToken::new("00token")),
        )
    }

    #[test]
    fn org_url_gets_root_path() {
        let base = org_url(&Url::parse("https://example.okta.com").expect("URL")).expect("valid");
        assert_eq!(base.as_str(), "https://example.okta.com/");
    }

    #[test]
    fn org_url_with_path_is_rejected() {
        let url = Url::parse("https://example.okta.com/oauth2/default").expect("URL");
        assert!(matches!(
            org_url(&url),
            Err(OktaError::InvalidConfig {
                setting: "oktaUrl",
                ..
            })
        ));
    }

    #[test]
    fn group_id_is_one_path_segment() {
        let base = Url::parse("https://example.okta.com/").expect("URL");
        let url = endpoint_url(&base, &["api", "v1", "groups", "00g/../x", "users"]).expect("URL");
        assert_eq!(url.path(), "/api/v1/groups/00g%2F..%2Fx/users");
    }

    #[test]
    fn search_is_encoded_in_query() {
        let mut url = Url::parse("https://example.okta.com/api/v1/users").expect("URL");
        set_query(&mut url, 200, Some("status eq \"ACTIVE\""));
        assert_eq!(url.query(), Some("limit=200&search=status+eq+%22ACTIVE%22"));
    }

    #[test]
    fn share_above_one_is_rejected() {
        let mut config = config("https://example.okta.com");
        config.rate_limit_share = 1.5;
        let result = OktaClient::new(config);
        assert!(matches!(
            result,
            Err(OktaError::InvalidConfig {
                setting: "rateLimitShare",
                ..
            })
        ));
    }

    #[test]
    fn zero_concurrency_is_rejected() {
        let mut config = config("https://example.okta.com");
        config.concurrency = 0;
        let result = OktaClient::new(config);
        assert!(matches!(
            result,
            Err(OktaError::InvalidConfig {
                setting: "concurrency",
                ..
            })
        ));
    }

    #[test]
    fn empty_api_token_is_rejected() {
        let mut config = config("https://example.okta.com");
        config.credentials = Credentials::ApiToken(ApiToken::new(" "));
        let result = OktaClient::new(config);
        assert!(matches!(
            result,
            Err(OktaError::InvalidConfig {
                setting: "token",
                ..
            })
        ));
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn listing_futures_are_send() {
        // The sync engine spawns listings on a multi-threaded runtime.
        let client = OktaClient::new(config("https://example.okta.com")).expect("client");
        assert_send(&client.list_users(None));
        assert_send(&client.list_groups(None));
        assert_send(&client.list_group_members("00g1"));
        assert_send(&client.list_group_member_ids("00g1"));
        assert_send(&client.fetch_token());
        assert_send(&client.organization());
    }

    #[tokio::test]
    async fn fetch_token_needs_oauth_credentials() {
        let client = OktaClient::new(config("https://example.okta.com")).expect("client");
        let result = client.fetch_token().await;
        assert!(
            matches!(result, Err(OktaError::NoOAuthCredentials)),
            "{result:?}"
        );
        assert_eq!(client.stats().api_calls, 0);
    }

    #[test]
    fn debug_hides_api_token() {
        let client = OktaClient::new(config("https://example.okta.com")).expect("client");
        assert!(!format!("{client:?}").contains("00token"));
    }
}
