//! `orgsync serve`: run orgsync as a service that syncs every provider on
//! its schedule and serves the catalog, provider status and metrics over
//! HTTP (see the `orgsync-server` crate).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use orgsync_server::catalog::StoreCatalog;
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
    let options = ServeOptions {
        config_paths: args.config.files.clone(),
        auth: auth_from_env(),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        listen: args.listen,
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
