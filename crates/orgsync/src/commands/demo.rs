//! `orgsync demo`: a fake Okta org, a config for it, a sync into SQLite, and
//! the catalog served over HTTP until Ctrl-C.
//!
//! Everything runs on this machine: fake-okta serves a generated org on a
//! loopback port inside this process, and the config written for it is an
//! ordinary config file that `orgsync sync`, `orgsync export` and
//! `orgsync serve` accept. With `--no-serve` the demo stops after the
//! first sync, which scripts use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fake_okta::server::FakeOkta;
use orgsync_config::AppConfig;
use orgsync_server::ServeOptions;
use orgsync_store::Store;
use orgsync_sync::SyncOptions;
use tokio::net::TcpListener;

use crate::cli::DemoArgs;
use crate::commands::{load_config, open_store, serve, sync};
use crate::exit;

/// The scopes the demo app is granted, as an Okta admin would grant them.
const DEMO_SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

/// The address the demo serves on unless `--listen` is given; the port is
/// `orgsync serve`'s default.
const DEMO_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 7007);

/// How long a scheduled run may take to finish after Ctrl-C. The demo org
/// is small, so this is shorter than `orgsync serve`'s default.
const DEMO_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub async fn run(args: DemoArgs) -> u8 {
    let dir = match demo_dir(args.dir.as_deref()) {
        Ok(dir) => dir,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::FAILURE;
        }
    };

    eprintln!(
        "starting fake-okta with a generated org of {} users and {} groups (seed {})",
        args.users, args.groups, args.seed
    );
    let fake = FakeOkta::builder()
        .generated(args.users, args.groups, args.seed)
        .with_generated_client(&DEMO_SCOPES);
    let running = match fake.start(([127, 0, 0, 1], 0).into()).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("error: starting fake-okta failed: {error}");
            return exit::FAILURE;
        }
    };
    let Some(credentials) = running.credentials.clone() else {
        eprintln!("error: fake-okta started without demo credentials");
        return exit::FAILURE;
    };

    let config_path = match write_demo_config(&dir, &running.base_url, &credentials) {
        Ok(path) => path,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::FAILURE;
        }
    };
    eprintln!("fake-okta is serving {}", running.base_url);
    eprintln!("wrote {}", config_path.display());

    let code = sync_and_serve(&args, &dir, &config_path).await;
    running.shutdown().await;
    code
}

/// Runs the first sync and, unless `--no-serve`, serves the catalog until
/// Ctrl-C or SIGTERM.
async fn sync_and_serve(args: &DemoArgs, dir: &Path, config_path: &Path) -> u8 {
    let config_files = vec![config_path.to_path_buf()];
    let config = match load_config(&config_files) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };

    let code = sync_demo(&config, Arc::clone(&store), args.progress).await;
    if code != exit::SUCCESS {
        return code;
    }
    print_next_steps(dir, config_path);
    if args.no_serve {
        return code;
    }

    let listener = match bind_demo(args.listen).await {
        Ok(listener) => listener,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::FAILURE;
        }
    };
    let secret_key = match serve::load_secret_key(&config) {
        Ok(key) => key,
        Err(code) => return code,
    };
    let admin_password = match serve::admin_password_from_env() {
        Ok(password) => password,
        Err(code) => return code,
    };
    let options = ServeOptions {
        config_paths: config_files,
        auth: serve::auth_settings(&config),
        shutdown_grace: DEMO_SHUTDOWN_GRACE,
        secret_key: Some(secret_key),
        admin_password,
        ..ServeOptions::default()
    };
    if let Ok(address) = listener.local_addr() {
        print_urls(address);
    }
    serve::serve_until_stopped(listener, config, store, options).await
}

async fn sync_demo(
    config: &AppConfig,
    store: Arc<dyn Store>,
    mode: crate::cli::ProgressMode,
) -> u8 {
    let providers: Vec<_> = config.providers.iter().collect();
    let outcomes = sync::sync_all(&providers, store, &SyncOptions::default(), mode).await;
    sync::print_outcomes(&outcomes, crate::cli::OutputFormat::Text, false);
    sync::exit_code(&outcomes)
}

/// Binds `requested`, or the demo's default address with a free port as
/// the fallback when that one is taken.
async fn bind_demo(requested: Option<SocketAddr>) -> Result<TcpListener, String> {
    if let Some(address) = requested {
        return TcpListener::bind(address).await.map_err(|error| {
            format!("listening on {address} failed: {error}; pick another --listen address")
        });
    }

    let preferred = SocketAddr::from(DEMO_LISTEN);
    match TcpListener::bind(preferred).await {
        Ok(listener) => Ok(listener),
        Err(error) => {
            eprintln!("{preferred} is not available ({error}); serving on a free port instead");
            let any_port = SocketAddr::from((DEMO_LISTEN.0, 0));
            TcpListener::bind(any_port)
                .await
                .map_err(|error| format!("listening on {any_port} failed: {error}"))
        }
    }
}

/// Creates the demo folder and returns its absolute path, so that the
/// config written into it works from any working directory.
fn demo_dir(requested: Option<&Path>) -> Result<PathBuf, String> {
    let dir = match requested {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|error| format!("creating {} failed: {error}", dir.display()))?;
            dir.to_path_buf()
        }
        None => tempfile::Builder::new()
            .prefix("orgsync-demo-")
            .tempdir()
            .map(|dir| dir.keep())
            .map_err(|error| format!("creating a temporary folder failed: {error}"))?,
    };
    std::fs::canonicalize(&dir)
        .map_err(|error| format!("resolving the path of {} failed: {error}", dir.display()))
}

/// Writes the private key (mode 0600) and a config that reads it with `$file`.
fn write_demo_config(
    dir: &Path,
    base_url: &str,
    credentials: &fake_okta::auth::GeneratedCredentials,
) -> Result<PathBuf, String> {
    let key_path = dir.join("okta-private-key.pem");
    write_private(&key_path, &credentials.private_key_pem)?;

    let database = dir.join("orgsync.sqlite");
    let config = format!(
        "# Written by `orgsync demo` for a fake Okta org on a loopback port.\n\
         backend:\n  database:\n    client: sqlite\n    connection: {database:?}\n\
         catalog:\n  providers:\n    okta:\n      demo:\n\
         \x20       oktaUrl: {base_url}\n\
         \x20       clientId: {client_id}\n\
         \x20       keyId: {key_id}\n\
         \x20       privateKey:\n          $file: okta-private-key.pem\n\
         \x20       parentGroupAttribute: parentGroup\n\
         \x20       schedule:\n          frequency: {{ minutes: 30 }}\n          timeout: {{ minutes: 10 }}\n",
        database = database.display().to_string(),
        client_id = credentials.client_id,
        key_id = credentials.key_id,
    );
    let config_path = dir.join("app-config.yaml");
    std::fs::write(&config_path, config)
        .map_err(|error| format!("writing {} failed: {error}", config_path.display()))?;
    Ok(config_path)
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| format!("creating {} failed: {error}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|error| format!("writing {} failed: {error}", path.display()))
}

fn print_next_steps(dir: &Path, config_path: &Path) {
    let config = config_path.display();
    println!();
    println!("The demo catalog is in {}. Look at it with:", dir.display());
    println!("  orgsync export --config {config} | less");
    println!("  orgsync export --config {config} --format json > catalog.json");
    println!("(with cargo: cargo run --release -p orgsync -- export --config {config})");
}

fn print_urls(address: SocketAddr) {
    println!();
    // Scripts and tests read the port from this line.
    println!("orgsync is serving http://{address}");
    println!("  web UI:       http://{address}/");
    println!("  catalog API:  http://{address}/api/catalog/entities/by-query?filter=kind=user");
    println!("  run status:   http://{address}/api/orgsync/providers");
    println!("  metrics:      http://{address}/metrics");
    println!("Press Ctrl-C to stop; the catalog and config stay in place.");
}
