//! Reloading the config on SIGHUP, and waiting for the signals that stop
//! the server.
//!
//! A reload rereads and validates every config file. If the config is
//! valid, its providers replace the running ones ([`Scheduler::apply_providers`]).
//! Otherwise the errors are logged and the running providers stay as they
//! were. Settings outside the providers (database, listen address, tokens)
//! are read only at start-up.

use std::path::PathBuf;

use orgsync_config::{ConfigErrors, LoadedConfig};

use crate::error::ServeError;
use crate::scheduler::{ReloadSummary, Scheduler};
use crate::server::RunningServer;
use crate::settings::ProviderRegistry;

/// Rereads `paths` and applies their providers to `scheduler`.
pub fn reload_from_files(
    scheduler: &Scheduler,
    paths: &[PathBuf],
) -> Result<ReloadSummary, ConfigErrors> {
    let LoadedConfig { config, warnings } = orgsync_config::load(paths).inspect_err(|errors| {
        for error in &errors.0 {
            tracing::error!(error = %error, "config reload rejected; the running providers are kept");
        }
    })?;
    for warning in &warnings {
        tracing::warn!(warning = %warning, "config warning");
    }
    Ok(scheduler.apply_providers(config.providers))
}

/// Rereads `paths` and applies their providers, with the saved providers,
/// through `registry`. When the saved providers cannot be read, the config
/// providers are applied alone and the saved ones return at the next poll.
pub async fn reload_registry(
    registry: &ProviderRegistry,
    paths: &[PathBuf],
) -> Result<ReloadSummary, ConfigErrors> {
    let LoadedConfig { config, warnings } = orgsync_config::load(paths).inspect_err(|errors| {
        for error in &errors.0 {
            tracing::error!(error = %error, "config reload rejected; the running providers are kept");
        }
    })?;
    for warning in &warnings {
        tracing::warn!(warning = %warning, "config warning");
    }
    match registry.set_config_providers(config.providers).await {
        Ok(summary) => Ok(summary),
        Err(error) => {
            tracing::error!(error = %error, "reading saved providers failed during reload; running the config providers only");
            Ok(registry.apply_config_only())
        }
    }
}

/// Waits until SIGTERM or Ctrl-C, reloading the config on every SIGHUP.
#[cfg(unix)]
pub async fn wait_for_signals(server: &RunningServer) -> Result<(), ServeError> {
    use tokio::signal::unix::{signal, SignalKind};

    let install = |kind: SignalKind, name: &'static str| {
        signal(kind).map_err(|source| ServeError::Signal {
            signal: name,
            source,
        })
    };
    let mut hangup = install(SignalKind::hangup(), "SIGHUP")?;
    let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;

    loop {
        tokio::select! {
            _ = hangup.recv() => {
                tracing::info!("SIGHUP received; rereading the config files");
                // Errors were logged by reload_registry.
                let _ = server.reload().await;
            }
            _ = terminate.recv() => {
                tracing::info!("SIGTERM received");
                return Ok(());
            }
            _ = interrupt.recv() => {
                tracing::info!("SIGINT received");
                return Ok(());
            }
        }
    }
}

/// Waits until Ctrl-C; other platforms have no SIGHUP to reload on.
#[cfg(not(unix))]
pub async fn wait_for_signals(_server: &RunningServer) -> Result<(), ServeError> {
    tokio::signal::ctrl_c()
        .await
        .map_err(|source| ServeError::Signal {
            signal: "Ctrl-C",
            source,
        })
}
