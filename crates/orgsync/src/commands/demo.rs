//! `orgsync demo`: a fake Okta org, a config for it, and a sync into SQLite.
//!
//! Everything runs on this machine: fake-okta serves a generated org on a
//! loopback port inside this process, and the config written for it is an
//! ordinary config file that `orgsync sync` and `orgsync export` accept.

use std::path::{Path, PathBuf};

use fake_okta::server::FakeOkta;
use orgsync_sync::SyncOptions;

use crate::cli::DemoArgs;
use crate::commands::{load_config, open_store, sync};
use crate::exit;

/// The scopes the demo app is granted, as an Okta admin would grant them.
const DEMO_SCOPES: [&str; 2] = ["okta.users.read", "okta.groups.read"];

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

    let code = sync_demo(&config_path, args.progress).await;
    running.shutdown().await;
    if code == exit::SUCCESS {
        print_next_steps(&dir, &config_path);
    }
    code
}

async fn sync_demo(config_path: &Path, mode: crate::cli::ProgressMode) -> u8 {
    let config = match load_config(&[config_path.to_path_buf()]) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let providers: Vec<_> = config.providers.iter().collect();
    let outcomes = sync::sync_all(&providers, store, &SyncOptions::default(), mode).await;
    sync::print_outcomes(&outcomes, crate::cli::OutputFormat::Text, false);
    sync::exit_code(&outcomes)
}

fn demo_dir(requested: Option<&Path>) -> Result<PathBuf, String> {
    match requested {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|error| format!("creating {} failed: {error}", dir.display()))?;
            Ok(dir.to_path_buf())
        }
        None => tempfile::Builder::new()
            .prefix("orgsync-demo-")
            .tempdir()
            .map(|dir| dir.keep())
            .map_err(|error| format!("creating a temporary folder failed: {error}")),
    }
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
