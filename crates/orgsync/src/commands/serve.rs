//! `orgsync serve`: run orgsync as a service that syncs every provider on
//! its schedule and serves the catalog, provider status and metrics over
//! HTTP (see the `orgsync-server` crate).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use orgsync_config::AppConfig;
use orgsync_server::catalog::StoreCatalog;
use orgsync_server::session::{AdminPassword, ADMIN_PASSWORD_VAR};
use orgsync_server::settings::secret::{key_file_path, SecretKey, SECRET_KEY_VAR};
use orgsync_server::{AuthConfig, ServeOptions};
use orgsync_store::Store;
use tokio::net::TcpListener;

use crate::cli::ConfigArgs;
use crate::commands::{load_config, open_store};
use crate::exit;

/// Arguments of `orgsync serve`.
///
/// Access tokens come from backend.auth in the config or from the
/// environment (ORGSYNC_READ_TOKEN, ORGSYNC_ADMIN_TOKEN), never from the
/// command line, so that they never show in a process list.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Listen on this address instead of backend.listen, such as
    /// 127.0.0.1:7007; port 0 picks a free port.
    #[arg(long, value_name = "ADDRESS")]
    pub listen: Option<SocketAddr>,

    /// Seconds that running syncs may take to finish after SIGTERM or
    /// Ctrl-C before they are cancelled, leaving the catalog unchanged.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub shutdown_grace: u64,
}

pub async fn run(args: ServeArgs) -> u8 {
    let config = match load_config(&args.config.files) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let secret_key = match load_secret_key(&config) {
        Ok(key) => key,
        Err(code) => return code,
    };
    let admin_password = match admin_password_from_env() {
        Ok(password) => password,
        Err(code) => return code,
    };
    let secure_cookies = config
        .base_url
        .as_ref()
        .is_some_and(|url| url.scheme() == "https");
    let options = ServeOptions {
        config_paths: args.config.files.clone(),
        auth: auth_settings(&config),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        listen: args.listen,
        secret_key: Some(secret_key),
        admin_password,
        secure_cookies,
        ..ServeOptions::default()
    };

    let listener = match orgsync_server::bind(&config, &options).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::FAILURE;
        }
    };
    if let Ok(address) = listener.local_addr() {
        // Scripts and tests read the port from this line.
        println!("orgsync is serving http://{address}");
    }
    serve_until_stopped(listener, config, store, options).await
}

/// Serves on `listener` until SIGTERM or Ctrl-C and returns the exit code.
pub async fn serve_until_stopped(
    listener: TcpListener,
    config: AppConfig,
    store: Arc<dyn Store>,
    options: ServeOptions,
) -> u8 {
    let catalog = Arc::new(StoreCatalog::new(Arc::clone(&store)));
    match orgsync_server::serve_on(listener, config, store, catalog, options).await {
        Ok(()) => exit::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            exit::FAILURE
        }
    }
}

/// Loads the key that seals saved providers' private keys, from
/// ORGSYNC_SECRET_KEY or the key file, creating the file on first start.
pub fn load_secret_key(config: &AppConfig) -> Result<SecretKey, u8> {
    let file = key_file_path(config.secret_key_file.as_deref(), &config.database);
    let env_value = std::env::var(SECRET_KEY_VAR).ok();
    match SecretKey::load(env_value.as_deref(), &file) {
        Ok((key, source)) => {
            tracing::info!(source = %source, "loaded the secret key for saved providers");
            Ok(key)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Err(exit::CONFIG)
        }
    }
}

/// Reads the web UI's admin password, or its Argon2 hash, from
/// ORGSYNC_ADMIN_PASSWORD. A password is hashed at once; only the hash is
/// kept.
pub fn admin_password_from_env() -> Result<Option<AdminPassword>, u8> {
    let Ok(text) = std::env::var(ADMIN_PASSWORD_VAR) else {
        return Ok(None);
    };
    match AdminPassword::from_setting(&text) {
        Ok(password) => Ok(Some(password)),
        Err(error) => {
            eprintln!("error: {ADMIN_PASSWORD_VAR}: {error}");
            Err(exit::CONFIG)
        }
    }
}

/// Takes the access tokens from `backend.auth`, or else from the
/// environment.
pub fn auth_settings(config: &AppConfig) -> AuthConfig {
    AuthConfig::resolve(&config.auth, &|name| std::env::var(name).ok())
}
