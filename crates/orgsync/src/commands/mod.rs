//! The subcommands, one module each, and what they share.

pub mod check;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod keygen;
pub mod serve;
pub mod sync;

use std::path::PathBuf;
use std::sync::Arc;

use orgsync_config::{AppConfig, DatabaseClient, DatabaseConfig, LoadedConfig};
use orgsync_store::{Store, StoreClient};

use crate::exit;

/// Loads and validates the config files, printing every error and warning.
/// Returns the exit code to use when loading failed.
pub fn load_config(files: &[PathBuf]) -> Result<AppConfig, u8> {
    match orgsync_config::load(files) {
        Ok(LoadedConfig { config, warnings }) => {
            for warning in &warnings {
                eprintln!("warning: {warning}");
            }
            Ok(config)
        }
        Err(errors) => {
            eprintln!("error: the config is invalid; nothing was contacted or changed:");
            for error in &errors.0 {
                eprintln!("  {error}");
            }
            Err(exit::CONFIG)
        }
    }
}

/// Opens the catalog for reading. Unlike [`open_store`], it fails when a
/// SQLite file does not exist yet instead of creating an empty catalog.
pub async fn open_existing_store(config: &AppConfig) -> Result<Arc<dyn Store>, u8> {
    if let Some(file) = missing_sqlite_file(&config.database) {
        eprintln!(
            "error: the catalog database {} does not exist; run `orgsync sync` with this \
             config first, or check backend.database.connection",
            file.display()
        );
        return Err(exit::FAILURE);
    }
    open_store(config).await
}

/// Opens the catalog store the config names.
pub async fn open_store(config: &AppConfig) -> Result<Arc<dyn Store>, u8> {
    let database = &config.database;
    let client = match database.client {
        DatabaseClient::Sqlite => StoreClient::Sqlite,
        DatabaseClient::Postgres => StoreClient::Postgres,
    };
    match orgsync_store::open_store(client, &database.connection).await {
        Ok(store) => Ok(store),
        Err(error) => {
            eprintln!(
                "error: opening the catalog database {:?} failed: {error}",
                database.connection
            );
            Err(exit::FAILURE)
        }
    }
}

/// Returns the file of a SQLite catalog when it does not exist yet.
/// Prints that `--provider wanted` names no configured provider, with the
/// ids that are configured, and returns the exit code for it.
pub fn unknown_provider(config: &AppConfig, wanted: &str) -> u8 {
    let known: Vec<&str> = config.providers.iter().map(|p| p.id.as_str()).collect();
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    eprintln!("error: --provider {wanted:?} is not configured; configured providers: {known}");
    exit::CONFIG
}

pub fn missing_sqlite_file(database: &DatabaseConfig) -> Option<PathBuf> {
    if database.client != DatabaseClient::Sqlite {
        return None;
    }
    let file = orgsync_store::sqlite::database_file(&database.connection).ok()??;
    (!file.exists()).then_some(file)
}
