//! Access tokens from Okta's org authorization server, and the cache that
//! shares one token among all requests.
//!
//! A token is reused until shortly before it expires ([`REFRESH_MARGIN`]).
//! The cache lock is held while a token is fetched, so concurrent requests
//! that find no usable token wait for one fetch instead of each sending a
//! token request (single flight).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::OktaError;

/// A cached token is replaced this long before it expires, so that a
/// request never starts with a token about to expire.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The grant of a token response, without the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// `Bearer` for the tokens orgsync uses.
    pub token_type: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// The lifetime Okta gave the token (`expires_in`).
    pub expires_in: Duration,
    /// When the token expires, on this machine's clock.
    pub expires_at: SystemTime,
}

/// The body of a successful token response. Not `Debug`, because it
/// contains the access token.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: u64,
    #[serde(default)]
    scope: Option<String>,
}

/// An access token ready for use. `Debug` leaves out the token.
#[derive(Clone)]
pub(crate) struct FetchedToken {
    authorization: String,
    info: TokenInfo,
}

impl fmt::Debug for FetchedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedToken")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl FetchedToken {
    /// Builds a token from a response received at `received_at`.
    /// `requested_scopes` stand in when Okta omits `scope`.
    pub(crate) fn from_response(
        response: TokenResponse,
        requested_scopes: &[String],
        received_at: SystemTime,
    ) -> FetchedToken {
        let scopes = match response.scope {
            Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
            None => requested_scopes.to_vec(),
        };
        let expires_in = Duration::from_secs(response.expires_in);
        FetchedToken {
            authorization: format!("{} {}", response.token_type, response.access_token),
            info: TokenInfo {
                token_type: response.token_type,
                scopes,
                expires_in,
                expires_at: received_at + expires_in,
            },
        }
    }

    pub(crate) fn info(&self) -> &TokenInfo {
        &self.info
    }

    /// Returns whether the token can still be used at `now`. Short-lived tokens
    /// are refreshed after half their life instead of a fixed margin.
    fn usable_at(&self, now: SystemTime) -> bool {
        let margin = REFRESH_MARGIN.min(self.info.expires_in / 2);
        self.info
            .expires_at
            .checked_sub(margin)
            .is_some_and(|refresh_at| now < refresh_at)
    }
}

/// The `Authorization` header value of a cached token, and the generation
/// that identifies the token for [`TokenCache::invalidate`].
pub(crate) struct Bearer {
    pub(crate) authorization: String,
    pub(crate) generation: u64,
}

struct CachedToken {
    token: FetchedToken,
    generation: u64,
}

/// The shared token of one client.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<CachedToken>>,
    generations: AtomicU64,
}

impl TokenCache {
    /// Returns the cached token if usable at `now()`, else fetches one
    /// with `fetch` while other callers wait.
    pub(crate) async fn bearer<F, Fut>(
        &self,
        now: impl Fn() -> SystemTime,
        fetch: F,
    ) -> Result<Bearer, OktaError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, OktaError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref().filter(|c| c.token.usable_at(now())) {
            return Ok(Bearer {
                authorization: cached.token.authorization.clone(),
                generation: cached.generation,
            });
        }

        let token = fetch().await?;
        let cached = self.cache(token);
        let bearer = Bearer {
            authorization: cached.token.authorization.clone(),
            generation: cached.generation,
        };
        *slot = Some(cached);
        Ok(bearer)
    }

    /// Stores a token fetched outside [`TokenCache::bearer`].
    pub(crate) async fn store(&self, token: FetchedToken) {
        let cached = self.cache(token);
        *self.slot.lock().await = Some(cached);
    }

    /// Drops the cached token if it is still the one of `generation`, so a
    /// token Okta rejected is fetched anew once, however many requests
    /// saw the rejection.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|c| c.generation == generation) {
            *slot = None;
        }
    }

    fn cache(&self, token: FetchedToken) -> CachedToken {
        CachedToken {
            token,
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::time::UNIX_EPOCH;

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn token(value: &str, received_at: SystemTime) -> FetchedToken {
        let response = TokenResponse {
            access_token: value.to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: 3600,
            scope: Some("okta.users.read okta.groups.read".to_owned()),
        };
        FetchedToken::from_response(response, &[], received_at)
    }

    #[test]
    fn response_scopes_are_split() {
        let info = token("t", at(0)).info().clone();
        assert_eq!(info.scopes, vec!["okta.users.read", "okta.groups.read"]);
        assert_eq!(info.expires_at, at(3600));
    }

    #[test]
    fn missing_scope_falls_back_to_requested() {
        let response = TokenResponse {
            access_token: "t".to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: 3600,
            scope: None,
        };
        let requested = vec!["okta.users.read".to_owned()];
        let token = FetchedToken::from_response(response, &requested, at(0));
        assert_eq!(token.info().scopes, requested);
    }

    #[test]
    fn debug_leaves_out_token() {
        let debug = format!("{:?}", token("secret-access-token", at(0)));
        assert!(!debug.contains("secret-access-token"), "{debug}");
    }

    #[test]
    fn token_expires_one_minute_early() {
        let token = token("t", at(0));
        assert!(token.usable_at(at(3539)));
        assert!(!token.usable_at(at(3540)));
    }

    #[tokio::test]
    async fn cached_token_is_reused() {
        let cache = TokenCache::default();
        let fetches = AtomicUsize::new(0);
        for _ in 0..3 {
            let bearer = cache
                .bearer(
                    || at(10),
                    || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        Ok(token("first", at(0)))
                    },
                )
                .await
                .expect("token");
            assert_eq!(bearer.authorization, "Bearer first");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn expiring_token_is_replaced() {
        let cache = TokenCache::default();
        cache.store(token("old", at(0))).await;
        let bearer = cache
            .bearer(|| at(3550), || async { Ok(token("new", at(3550))) })
            .await
            .expect("token");
        assert_eq!(bearer.authorization, "Bearer new");
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let cache = Arc::clone(&cache);
            let fetches = Arc::clone(&fetches);
            tasks.push(tokio::spawn(async move {
                cache
                    .bearer(
                        || at(10),
                        || async move {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(token("shared", at(0)))
                        },
                    )
                    .await
                    .map(|bearer| bearer.authorization)
            }));
        }
        for task in tasks {
            let authorization = task.await.expect("task").expect("token");
            assert_eq!(authorization, "Bearer shared");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_invalidation_keeps_new_token() {
        let cache = TokenCache::default();
        let first = cache
            .bearer(|| at(10), || async { Ok(token("first", at(0))) })
            .await
            .expect("token");
        cache.invalidate(first.generation).await;
        let second = cache
            .bearer(|| at(10), || async { Ok(token("second", at(0))) })
            .await
            .expect("token");
        // A second request that saw the first token rejected must not drop
        // the replacement.
        cache.invalidate(first.generation).await;
        let third = cache
            .bearer(|| at(10), || async { Ok(token("third", at(0))) })
            .await
            .expect("token");
        assert_eq!(third.authorization, second.authorization);
    }
}
