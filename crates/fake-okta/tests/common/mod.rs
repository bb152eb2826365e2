//! Helpers shared by the org, API and control API integration tests: a
//! running fake with a generated client, and requests with its token.

#![allow(dead_code)]

use std::path::PathBuf;

use fake_okta::generate::GenerateOptions;
use fake_okta::limits::RateLimitConfig;
use fake_okta::org::Org;
use fake_okta::server::{FakeOkta, FakeOktaBuilder, RunningFakeOkta};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

/// Both read scopes.
pub const READ_SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

/// Returns the directory of the shared Okta reference material, which tests
/// read at run time.
pub fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/okta-reference")
}

/// A running fake, an HTTP client and an access token with both scopes.
pub struct Harness {
    pub fake: RunningFakeOkta,
    pub http: reqwest::Client,
    pub token: String,
}

/// A response read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Returns the `Link` header values.
    pub fn links(&self) -> Vec<String> {
        self.headers
            .get_all("link")
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// Returns the URL of the `rel="next"` link, if any.
    pub fn next_url(&self) -> Option<String> {
        self.links().into_iter().find_map(|link| {
            let (url, relation) = link.split_once(">; ")?;
            (relation == "rel=\"next\"").then(|| url.trim_start_matches('<').to_owned())
        })
    }

    /// Returns the ids of the objects in an array body.
    pub fn ids(&self) -> Vec<String> {
        self.body
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Harness {
    /// Starts a fake serving a generated org without rate limits.
    pub async fn generated(users: usize, groups: usize, seed: u64) -> Self {
        let options = GenerateOptions::new(users, groups, seed);
        Self::start(FakeOkta::builder().generate(options)).await
    }

    /// Starts a fake serving the given org without rate limits.
    pub async fn with_org(org: Org) -> Self {
        Self::start(FakeOkta::builder().org(org)).await
    }

    /// Starts `builder` with a generated client holding both read scopes and
    /// no rate limits, unless the builder sets its own.
    pub async fn start(builder: FakeOktaBuilder) -> Self {
        Self::start_with_limits(builder, RateLimitConfig::unlimited()).await
    }

    /// Like [`Harness::start`] with the given rate limits.
    pub async fn start_with_limits(builder: FakeOktaBuilder, limits: RateLimitConfig) -> Self {
        let fake = builder
            .rate_limits(limits)
            .with_generated_client(&READ_SCOPES)
            .start_on_loopback()
            .await
            .expect("fake-okta starts");
        let token = fake
            .access_token(&READ_SCOPES)
            .expect("token for generated client");
        Self {
            fake,
            http: reqwest::Client::new(),
            token,
        }
    }

    /// Returns the full URL of a path on the fake.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.fake.base_url)
    }

    /// `GET` a path with the harness token.
    pub async fn get(&self, path_and_query: &str) -> Reply {
        self.get_url(&self.url(path_and_query)).await
    }

    /// `GET` a full URL with the harness token.
    pub async fn get_url(&self, url: &str) -> Reply {
        let request = self.http.get(url).bearer_auth(&self.token);
        read(request.send().await.expect("request sent")).await
    }

    /// `GET` a path with another `Authorization` value, or none.
    pub async fn get_with_authorization(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut request = self.http.get(self.url(path));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// Sends a control API request with an optional JSON body.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// Follows `next` links from `first`, returning every page.
    pub async fn all_pages(&self, first: &str) -> Vec<Reply> {
        let mut pages = vec![self.get(first).await];
        while let Some(next) = pages.last().and_then(Reply::next_url) {
            assert!(pages.len() < 10_000, "paging does not end");
            pages.push(self.get_url(&next).await);
        }
        pages
    }
}

/// Reads a response in full; an empty body becomes `null`.
pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body read");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}
