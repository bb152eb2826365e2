//! Starting, reloading and stopping the service.
//!
//! [`serve`] is what `orgsync serve` runs. It listens on `backend.listen`,
//! starts every provider's schedule and rereads the config files on SIGHUP.
//! On SIGTERM or Ctrl-C it stops taking work and lets running syncs finish
//! within the grace period. Syncs still running then are cancelled, which
//! leaves the catalog as it was. [`ServerBuilder`] assembles the same server with a
//! chosen clock or catalog reader, for tests and embedding.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use orgsync_config::{AppConfig, ConfigErrors, ListenConfig, ProviderConfig};
use orgsync_store::Store;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::{build_router, AppParts};
use crate::auth::AuthConfig;
use crate::catalog::CatalogReader;
use crate::error::ServeError;
use crate::metrics::Metrics;
use crate::scheduler::clock::{Clock, SystemClock};
use crate::scheduler::{ReloadSummary, Scheduler};
use crate::session::{AdminCredentials, AdminPassword, Sessions, SESSION_LIFETIME};
use crate::settings::secret::SecretKey;
use crate::settings::{ProviderRegistry, DEFAULT_POLL_INTERVAL};

/// The default of [`ServeOptions::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Settings of `orgsync serve` that do not come from the config file.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The config files to reread on SIGHUP; an empty list disables reload.
    pub config_paths: Vec<PathBuf>,
    pub auth: AuthConfig,
    /// How long running syncs may take to finish on shutdown before they
    /// are cancelled.
    pub shutdown_grace: Duration,
    /// Overrides `backend.listen` when set.
    pub listen: Option<SocketAddr>,
    /// The key that seals saved providers' private keys. When unset, a
    /// random key is made that lasts only as long as the process, so keys
    /// saved with it cannot be read after a restart; `orgsync serve` always
    /// sets it.
    pub secret_key: Option<SecretKey>,
    /// How often the database's settings revision is read, to apply
    /// providers saved on other replicas.
    pub settings_poll_interval: Duration,
    /// The admin password for signing in to the web UI, besides the admin
    /// token.
    pub admin_password: Option<AdminPassword>,
    /// Whether session cookies get the `Secure` attribute, because people
    /// reach orgsync over https (`backend.baseUrl`).
    pub secure_cookies: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            config_paths: Vec::new(),
            auth: AuthConfig::default(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            listen: None,
            secret_key: None,
            settings_poll_interval: DEFAULT_POLL_INTERVAL,
            admin_password: None,
            secure_cookies: false,
        }
    }
}

/// Assembles a [`Server`].
pub struct ServerBuilder {
    store: Arc<dyn Store>,
    catalog: Arc<dyn CatalogReader>,
    clock: Arc<dyn Clock>,
    options: ServeOptions,
}

impl ServerBuilder {
    /// Starts a builder for a server whose syncs write to `store` and whose
    /// catalog API reads through `catalog`.
    pub fn new(store: Arc<dyn Store>, catalog: Arc<dyn CatalogReader>) -> ServerBuilder {
        ServerBuilder {
            store,
            catalog,
            clock: Arc::new(SystemClock),
            options: ServeOptions::default(),
        }
    }

    /// Uses `clock` for schedules instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> ServerBuilder {
        self.clock = clock;
        self
    }

    /// Sets the options (tokens, config paths, shutdown grace).
    pub fn options(mut self, options: ServeOptions) -> ServerBuilder {
        self.options = options;
        self
    }

    pub fn build(self) -> Server {
        let metrics = Arc::new(Metrics::new());
        let scheduler = Scheduler::new(Arc::clone(&self.store), self.clock, Arc::clone(&metrics));
        let secret_key = self.options.secret_key.clone().unwrap_or_else(|| {
            tracing::warn!("no secret key was given; saved providers' keys are sealed with a key that lasts only as long as this process");
            SecretKey::generate()
        });
        let registry = Arc::new(ProviderRegistry::new(
            self.store,
            secret_key,
            scheduler.clone(),
            Vec::new(),
        ));
        Server {
            parts: AppParts {
                catalog: self.catalog,
                scheduler,
                metrics,
                auth: Arc::new(self.options.auth.clone()),
                registry,
                sessions: Arc::new(Sessions::new(SESSION_LIFETIME, self.options.secure_cookies)),
                admin: Arc::new(AdminCredentials {
                    password: self.options.admin_password.clone(),
                    token: self.options.auth.admin_token.clone(),
                }),
            },
            options: self.options,
        }
    }
}

/// An assembled server that is not listening yet.
pub struct Server {
    parts: AppParts,
    options: ServeOptions,
}

impl Server {
    /// Returns the scheduler that runs the providers.
    pub fn scheduler(&self) -> &Scheduler {
        &self.parts.scheduler
    }

    /// Returns the registry of config and saved providers.
    pub fn registry(&self) -> &Arc<ProviderRegistry> {
        &self.parts.registry
    }

    /// Builds the HTTP application, for serving or for in-process requests.
    pub fn router(&self) -> Router {
        build_router(&self.parts).0
    }

    /// Starts the providers' schedules and serves HTTP on `listener`.
    pub async fn start(
        self,
        providers: Vec<ProviderConfig>,
        listener: TcpListener,
    ) -> Result<RunningServer, ServeError> {
        let address = listener.local_addr().map_err(|source| ServeError::Serve {
            address: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;
        self.parts.scheduler.recover_interrupted_runs().await;
        if let Err(error) = self.parts.registry.set_config_providers(providers).await {
            // The config providers still run; saved ones are added by the
            // poller once the database responds.
            tracing::error!(error = %error, "reading saved providers failed; running the config providers only");
            self.parts.registry.apply_config_only();
        }
        self.parts.scheduler.load_history().await;

        let stop = CancellationToken::new();
        self.parts
            .registry
            .spawn_poller(self.options.settings_poll_interval, stop.clone());
        let router = self.router();
        let stopped = stop.clone().cancelled_owned();
        let http = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stopped)
                .await
        });
        tracing::info!(%address, "orgsync is serving");

        Ok(RunningServer {
            address,
            server: self,
            stop,
            http,
        })
    }
}

/// A server that is listening.
pub struct RunningServer {
    address: SocketAddr,
    server: Server,
    stop: CancellationToken,
    http: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Returns the address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Returns the scheduler that runs the providers.
    pub fn scheduler(&self) -> &Scheduler {
        self.server.scheduler()
    }

    /// Returns the registry of config and saved providers.
    pub fn registry(&self) -> &Arc<ProviderRegistry> {
        self.server.registry()
    }

    /// Rereads the config files and applies their providers with the saved
    /// ones. On an invalid config the running providers are kept and the
    /// errors returned.
    pub async fn reload(&self) -> Result<ReloadSummary, ConfigErrors> {
        crate::reload::reload_registry(self.server.registry(), &self.server.options.config_paths)
            .await
    }

    /// Stops taking work, waits up to the grace period for running syncs
    /// (then cancels them) and stops the HTTP server once open requests
    /// have their responses.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        tracing::info!("shutting down");
        self.server
            .scheduler()
            .shutdown(self.server.options.shutdown_grace)
            .await;
        self.stop.cancel();
        let address = self.address;
        match self.http.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(ServeError::Serve { address, source }),
            Err(join) => Err(ServeError::Serve {
                address,
                source: std::io::Error::other(join.to_string()),
            }),
        }
    }
}

/// Parses `backend.listen` into a socket address; `localhost` means
/// 127.0.0.1.
pub fn listen_address(listen: &ListenConfig) -> Result<SocketAddr, ServeError> {
    let host = listen.host.trim_start_matches('[').trim_end_matches(']');
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.parse::<IpAddr>()
            .map_err(|_| ServeError::InvalidListenHost {
                host: listen.host.clone(),
            })?
    };
    Ok(SocketAddr::new(ip, listen.port))
}

/// Binds the listen address: `options.listen` when set, else
/// `backend.listen`.
pub async fn bind(config: &AppConfig, options: &ServeOptions) -> Result<TcpListener, ServeError> {
    let address = match options.listen {
        Some(address) => address,
        None => listen_address(&config.listen)?,
    };
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })
}

/// Runs `orgsync serve` on a bound listener until SIGTERM or Ctrl-C:
/// schedules the configured providers, reloads on SIGHUP, then shuts down
/// gracefully.
pub async fn serve_on(
    listener: TcpListener,
    config: AppConfig,
    store: Arc<dyn Store>,
    catalog: Arc<dyn CatalogReader>,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let server = ServerBuilder::new(store, catalog).options(options).build();
    let running = server.start(config.providers, listener).await?;
    crate::reload::wait_for_signals(&running).await?;
    running.shutdown().await
}

/// Like [`serve_on`], binding the listen address first.
pub async fn serve(
    config: AppConfig,
    store: Arc<dyn Store>,
    catalog: Arc<dyn CatalogReader>,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let listener = bind(&config, &options).await?;
    serve_on(listener, config, store, catalog, options).await
}
