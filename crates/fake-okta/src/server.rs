//! Assembling the fake's router and running it.
//!
//! [`FakeOkta::builder`] collects the org, client registrations, rate limits,
//! faults and token lifetime; [`FakeOktaBuilder::start`] binds the address
//! and serves until [`RunningFakeOkta::shutdown`] (or until the handle is
//! dropped).
//!
//! ```no_run
//! # async fn demo() -> Result<(), fake_okta::server::StartError> {
//! use fake_okta::server::FakeOkta;
//!
//! let fake = FakeOkta::builder()
//!     .generated(1_000, 50, 7)
//!     .with_generated_client(&["okta.users.read", "okta.groups.read"])
//!     .start_on_loopback()
//!     .await?;
//! println!("{}", fake.base_url);
//! fake.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Layers, from the outside in: Okta's common response headers, request
//! counting, rate limits, faults, then the token endpoint and API handlers.
//! The `/_fake/` control API sits outside all of them. A fake started with
//! [`FakeOktaBuilder::other_server`] serves a server that is not Okta, with
//! request counting, in place of all of them.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::auth::{
    self, AuthConfig, AuthState, ClientRegistration, Clock, CredentialsError, GeneratedCredentials,
    KeyKind, RegistrationError, SystemClock, DEFAULT_TOKEN_TTL,
};
use crate::control::{self, ControlState, OrgRecipe, RequestCounter, RequestCounts};
use crate::faults::{self, FaultConfig, FaultConfigError, FaultState};
use crate::generate::{generate_org, GenerateOptions};
use crate::limits::{self, LimitState, RateLimitConfig, RateLimitConfigError};
use crate::org::{Org, OrgHandle};
use crate::other_server::{self, OtherServer};

/// How long [`RunningFakeOkta::shutdown`] waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A failure to start the fake.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("could not listen on {addr}: {source}; pick a free port, or port 0 for any")]
    Bind {
        /// The address requested.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The rate-limit settings are invalid.
    #[error("invalid rate-limit settings: {0}")]
    RateLimits(#[from] RateLimitConfigError),
    /// The fault settings are invalid.
    #[error("invalid fault settings: {0}")]
    Faults(#[from] FaultConfigError),
    /// A client registration is invalid.
    #[error("invalid client registration: {0}")]
    Client(#[from] RegistrationError),
    /// Generating credentials failed.
    #[error("generating client credentials failed: {0}")]
    Credentials(#[from] CredentialsError),
    /// Generating the org failed.
    #[error("generating the org failed: {0}")]
    Generate(#[from] tokio::task::JoinError),
}

/// Entry point: `FakeOkta::builder()`.
#[derive(Debug)]
pub struct FakeOkta;

impl FakeOkta {
    /// Starts configuring a fake org.
    pub fn builder() -> FakeOktaBuilder {
        FakeOktaBuilder::default()
    }
}

/// The source of the served org.
#[derive(Debug)]
enum OrgSource {
    Given(Box<Org>),
    Generate(GenerateOptions),
}

/// A generated client to register at start.
#[derive(Debug, Clone)]
struct GeneratedClient {
    kind: KeyKind,
    scopes: Vec<String>,
    seed: Option<u64>,
}

/// Settings of a fake org before it starts.
pub struct FakeOktaBuilder {
    org: OrgSource,
    clients: Vec<ClientRegistration>,
    generated_client: Option<GeneratedClient>,
    rate_limits: RateLimitConfig,
    faults: FaultConfig,
    token_ttl: Duration,
    clock: Arc<dyn Clock>,
    other_server: Option<OtherServer>,
}

impl Default for FakeOktaBuilder {
    fn default() -> Self {
        Self {
            org: OrgSource::Given(Box::new(Org::new(0, chrono::Utc::now()))),
            clients: Vec::new(),
            generated_client: None,
            rate_limits: RateLimitConfig::default(),
            faults: FaultConfig::default(),
            token_ttl: DEFAULT_TOKEN_TTL,
            clock: Arc::new(SystemClock),
            other_server: None,
        }
    }
}

impl std::fmt::Debug for FakeOktaBuilder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FakeOktaBuilder")
            .field("org", &self.org)
            .field("clients", &self.clients)
            .field("generated_client", &self.generated_client)
            .field("rate_limits", &self.rate_limits)
            .field("faults", &self.faults)
            .field("token_ttl", &self.token_ttl)
            .field("other_server", &self.other_server)
            .finish_non_exhaustive()
    }
}

impl FakeOktaBuilder {
    /// Serves this org. The default is an org with only Everyone.
    pub fn org(mut self, org: Org) -> Self {
        self.org = OrgSource::Given(Box::new(org));
        self
    }

    /// Serves a generated org of `users` users and `groups` groups besides
    /// Everyone, with ten memberships per user (see [`generate_org`]).
    pub fn generated(self, users: usize, groups: usize, seed: u64) -> Self {
        self.generate(GenerateOptions::new(users, groups, seed))
    }

    /// Serves an org generated with these options.
    pub fn generate(mut self, options: GenerateOptions) -> Self {
        self.org = OrgSource::Generate(options);
        self
    }

    /// Registers a client (OAuth service app).
    pub fn client(mut self, client: ClientRegistration) -> Self {
        self.clients.push(client);
        self
    }

    /// Generates an EC P-256 key pair and registers a client for it with
    /// `scopes`; [`RunningFakeOkta::credentials`] then contains its private key.
    pub fn with_generated_client(self, scopes: &[&str]) -> Self {
        self.with_generated_client_key(KeyKind::EcP256, scopes, None)
    }

    /// Like [`Self::with_generated_client`], with a chosen key type and an
    /// optional seed that makes the key and ids reproducible.
    pub fn with_generated_client_key(
        mut self,
        kind: KeyKind,
        scopes: &[&str],
        seed: Option<u64>,
    ) -> Self {
        self.generated_client = Some(GeneratedClient {
            kind,
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            seed,
        });
        self
    }

    /// Sets the rate limits; the default is Okta's Workforce numbers.
    pub fn rate_limits(mut self, config: RateLimitConfig) -> Self {
        self.rate_limits = config;
        self
    }

    /// Sets fault injection; the default injects none.
    pub fn faults(mut self, config: FaultConfig) -> Self {
        self.faults = config;
        self
    }

    /// Sets the lifetime of access tokens; the default is one hour.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Sets the org's clock: the `Date` header of every response, token and
    /// client assertion times, and rate-limit windows follow it.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Serves `server`, which is not an Okta org, in place of the org. The
    /// `/_fake/` control API stays.
    pub fn other_server(mut self, server: OtherServer) -> Self {
        self.other_server = Some(server);
        self
    }

    /// Starts on `127.0.0.1` on a free port.
    pub async fn start_on_loopback(self) -> Result<RunningFakeOkta, StartError> {
        self.start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Binds `addr` (port 0 picks a free port) and starts serving.
    pub async fn start(self, addr: SocketAddr) -> Result<RunningFakeOkta, StartError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let base_url = format!("http://{local_addr}");

        let credentials = self.generate_credentials().await?;
        let mut clients = self.clients;
        if let Some((credentials, scopes)) = &credentials {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            clients.push(credentials.registration(&scopes));
        }
        for client in &clients {
            client.validate()?;
        }
        let (org, recipe) = build_org(self.org).await?;

        let auth_config = AuthConfig {
            clients,
            token_ttl: self.token_ttl,
            clock: self.clock.clone(),
        };
        let auth = AuthState::new(auth_config, base_url.clone());
        let limits = LimitState::new(self.rate_limits, self.clock)?;
        let faults = FaultState::new(self.faults)?;
        let parts = Parts {
            org: OrgHandle::from_shared(org),
            recipe,
            auth,
            limits,
            faults,
            counter: RequestCounter::default(),
            base_url,
            other_server: self.other_server,
        };
        let app = parts.router();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                // A dropped sender also means stop.
                let _ = stopped.await;
            };
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        });

        tracing::info!(base_url = %parts.base_url, "fake-okta started");
        Ok(RunningFakeOkta {
            base_url: parts.base_url.clone(),
            credentials: credentials.map(|(credentials, _)| credentials),
            local_addr,
            parts,
            stop: Some(stop),
            task: Some(task),
        })
    }

    async fn generate_credentials(
        &self,
    ) -> Result<Option<(GeneratedCredentials, Vec<String>)>, StartError> {
        let Some(client) = self.generated_client.clone() else {
            return Ok(None);
        };
        // RSA key generation takes a while, so it runs off the async threads.
        let credentials = tokio::task::spawn_blocking(move || {
            auth::generate_credentials(client.kind, client.seed)
        })
        .await?;
        Ok(Some((credentials, client.scopes)))
    }
}

/// Builds the org to serve and the recipe that restores it on reset. A given
/// org is shared with its snapshot until the first change copies it.
async fn build_org(source: OrgSource) -> Result<(Arc<Org>, OrgRecipe), StartError> {
    match source {
        OrgSource::Given(org) => {
            let org = Arc::new(*org);
            Ok((Arc::clone(&org), OrgRecipe::Snapshot(org)))
        }
        OrgSource::Generate(options) => {
            let recipe = OrgRecipe::Generate(options.clone());
            let org = tokio::task::spawn_blocking(move || generate_org(&options)).await?;
            Ok((Arc::new(org), recipe))
        }
    }
}

/// The shared state of a running fake.
#[derive(Debug, Clone)]
struct Parts {
    org: OrgHandle,
    recipe: OrgRecipe,
    auth: AuthState,
    limits: LimitState,
    faults: FaultState,
    counter: RequestCounter,
    base_url: String,
    other_server: Option<OtherServer>,
}

impl Parts {
    fn router(&self) -> Router {
        let served = match self.other_server {
            Some(server) => {
                let served = other_server::router(server);
                control::count_layer(served, self.counter.clone())
            }
            None => self.org_router(),
        };

        let control_state = ControlState {
            org: self.org.clone(),
            recipe: self.recipe.clone(),
            auth: self.auth.clone(),
            limits: self.limits.clone(),
            faults: self.faults.clone(),
            counter: self.counter.clone(),
        };
        served.merge(control::router(control_state))
    }

    /// Returns the router of the org: the token endpoint and the API with
    /// their faults, rate limits, request counts and Okta's headers.
    fn org_router(&self) -> Router {
        let api_state = ApiState::new(self.org.clone(), self.auth.clone(), &self.base_url);
        let served = Router::new()
            .merge(auth::router(self.auth.clone()))
            .merge(api::router(api_state))
            .fallback(api::unknown_path)
            .method_not_allowed_fallback(api::method_not_allowed);
        let served = faults::layer(served, self.faults.clone());
        let served = limits::layer(served, self.limits.clone());
        let served = control::count_layer(served, self.counter.clone());
        served.layer(axum::middleware::from_fn_with_state(
            self.auth.clone(),
            okta_headers,
        ))
    }
}

/// Adds the headers every Okta response carries, unless already set: a
/// fresh `x-okta-request-id`, Okta's caching and sniffing headers, and a
/// `date` read from the org's clock (the HTTP server adds none when one is
/// set).
async fn okta_headers(State(auth): State<AuthState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(date) = HeaderValue::from_str(&http_date(auth.now())) {
        response.headers_mut().entry(header::DATE).or_insert(date);
    }
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let fixed: [(&str, &str); 4] = [
        ("cache-control", "no-cache, no-store"),
        ("pragma", "no-cache"),
        ("expires", "0"),
        ("x-content-type-options", "nosniff"),
    ];
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers
            .entry(HeaderName::from_static("x-okta-request-id"))
            .or_insert(value);
    }
    for (name, value) in fixed {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Formats `time` as an HTTP date (RFC 9110 IMF-fixdate), such as
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// A fake org serving on a loopback port. Dropping it stops the server.
pub struct RunningFakeOkta {
    /// The base URL clients use, such as `http://127.0.0.1:41234`.
    pub base_url: String,
    /// The generated client's credentials, if one was requested.
    pub credentials: Option<GeneratedCredentials>,
    local_addr: SocketAddr,
    parts: Parts,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for RunningFakeOkta {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RunningFakeOkta")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id())
            .finish_non_exhaustive()
    }
}

impl RunningFakeOkta {
    /// Returns the address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Returns the served org, which can be read and changed while serving.
    pub fn org_handle(&self) -> OrgHandle {
        self.parts.org.clone()
    }

    /// Client registrations and tokens.
    pub fn auth(&self) -> &AuthState {
        &self.parts.auth
    }

    /// Rate-limit settings and counters.
    pub fn limits(&self) -> &LimitState {
        &self.parts.limits
    }

    /// Fault settings and counts.
    pub fn faults(&self) -> &FaultState {
        &self.parts.faults
    }

    /// Request counts per endpoint template and status so far.
    pub fn request_counts(&self) -> RequestCounts {
        self.parts.counter.snapshot()
    }

    /// Returns the generated client's id, if one was requested.
    pub fn client_id(&self) -> Option<&str> {
        self.credentials
            .as_ref()
            .map(|credentials| credentials.client_id.as_str())
    }

    /// Issues an access token for the generated client without a token
    /// request. `None` without a generated client or if a scope is not
    /// granted to it.
    pub fn access_token(&self, scopes: &[&str]) -> Option<String> {
        self.parts.auth.mint_access_token(self.client_id()?, scopes)
    }

    /// Stops accepting connections and waits (up to five seconds) for
    /// requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return;
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(Ok(()))) => tracing::info!(base_url = %self.base_url, "fake-okta stopped"),
            Ok(Ok(Err(error))) => tracing::warn!(%error, "fake-okta server failed"),
            Ok(Err(error)) => tracing::warn!(%error, "fake-okta server task failed"),
            Err(_) => {
                tracing::warn!("fake-okta requests still running after 5 s; aborting them");
                task.abort();
            }
        }
    }
}

impl Drop for RunningFakeOkta {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
