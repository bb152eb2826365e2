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

use orgsync_config::{AppConfig, DatabaseClient, LoadedConfig};
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
