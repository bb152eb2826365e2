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
use orgsync_server::{AuthConfig, ServeOptions, Token};

use crate::cli::ConfigArgs;
use crate::commands::{load_config, open_store};
use crate::exit;

/// The environment variable with the token that read endpoints require.
const READ_TOKEN_VAR: &str = "ORGSYNC_READ_TOKEN";
/// The environment variable with the token that write endpoints require.
const ADMIN_TOKEN_VAR: &str = "ORGSYNC_ADMIN_TOKEN";

/// Arguments of `orgsync serve`.
///
/// Access tokens come from the environment, so that they never show in a
/// process list: ORGSYNC_READ_TOKEN, when set, is required by the catalog,
/// status and metrics endpoints; ORGSYNC_ADMIN_TOKEN is required by
/// refresh requests, which are disabled without it.
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
        auth: auth_from_env(),
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
fn load_secret_key(config: &AppConfig) -> Result<SecretKey, u8> {
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
fn admin_password_from_env() -> Result<Option<AdminPassword>, u8> {
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

/// Reads the access tokens from the environment.
fn auth_from_env() -> AuthConfig {
    let token = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|value| Token::new(&value))
    };
    AuthConfig {
        read_token: token(READ_TOKEN_VAR),
        admin_token: token(ADMIN_TOKEN_VAR),
    }
}
