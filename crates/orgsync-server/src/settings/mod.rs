//! Providers saved through the settings pages, and the set of providers
//! the scheduler runs.
//!
//! Terms:
//! - *config provider*: one from the config files; read-only in the UI;
//! - *saved provider*: one stored in the database through the settings
//!   pages, its private key sealed with the [`secret::SecretKey`];
//! - *running providers*: the config providers plus every saved provider
//!   whose id no config provider uses (config ids win).
//!
//! [`ProviderRegistry`] keeps the scheduler on the running providers: at
//! start, after each save or delete on this replica, after a SIGHUP reload,
//! and when its poller finds that the database's settings revision changed
//! (a save on another replica).

pub mod input;
pub mod secret;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use orgsync_config::{ConfigErrors, ProviderConfig};
use orgsync_okta::Credentials;
use orgsync_store::{ProviderSettings, SaveMode, SavedProvider, Store, StoreError};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::scheduler::{ReloadSummary, Scheduler};
use input::{check_id, FieldErrors, ProviderInput};
use secret::{SecretKey, SecretKeyError};

/// The `source` of saved providers, shown where config providers show
/// their file.
pub const SAVED_SOURCE: &str = "saved settings";

/// How often replicas read the settings revision, to learn of changes made
/// on other replicas.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// An error saving a provider.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The form has invalid values.
    #[error("the provider settings are invalid")]
    Invalid(FieldErrors),
    /// The store rejected or failed the write.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored private key, needed because none was entered, does not open.
    #[error(transparent)]
    Secret(#[from] SecretKeyError),
}

/// A saved provider as the settings pages show it: its stored settings,
/// and the reason it does not run, if it does not.
#[derive(Debug, Clone)]
pub struct SavedProviderView {
    pub saved: SavedProvider,
    /// Why the provider is not running: a config provider has its id, its
    /// key does not open, or its settings no longer validate.
    pub problem: Option<String>,
}

/// Keeps the scheduler on the running providers.
pub struct ProviderRegistry {
    store: Arc<dyn Store>,
    key: SecretKey,
    scheduler: Scheduler,
    config_providers: Mutex<Vec<ProviderConfig>>,
    /// Serializes applies, so that two of them never interleave and the
    /// last one applied reflects the newest state.
    applying: tokio::sync::Mutex<Option<i64>>,
}

impl ProviderRegistry {
    /// Creates a registry that runs `config_providers` plus the saved ones;
    /// call [`ProviderRegistry::apply`] to start them.
    pub fn new(
        store: Arc<dyn Store>,
        key: SecretKey,
        scheduler: Scheduler,
        config_providers: Vec<ProviderConfig>,
    ) -> ProviderRegistry {
        ProviderRegistry {
            store,
            key,
            scheduler,
            config_providers: Mutex::new(config_providers),
            applying: tokio::sync::Mutex::new(None),
        }
    }

    /// Returns the providers from the config files.
    pub fn config_providers(&self) -> Vec<ProviderConfig> {
        self.lock_config().clone()
    }

    /// Returns the config provider with this id, if any.
    pub fn config_provider(&self, id: &str) -> Option<ProviderConfig> {
        self.lock_config().iter().find(|p| p.id == id).cloned()
    }

    fn lock_config(&self) -> std::sync::MutexGuard<'_, Vec<ProviderConfig>> {
        self.config_providers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the config providers (after a SIGHUP reload) and applies
    /// the running providers.
    pub async fn set_config_providers(
        &self,
        providers: Vec<ProviderConfig>,
    ) -> Result<ReloadSummary, StoreError> {
        *self.lock_config() = providers;
        self.apply().await
    }

    /// Reads the saved providers and hands the running providers to the
    /// scheduler. A saved provider that cannot run is logged and left out;
    /// [`ProviderRegistry::saved_providers`] shows why.
    pub async fn apply(&self) -> Result<ReloadSummary, StoreError> {
        let mut applied = self.applying.lock().await;
        let revision = self.store.settings_revision().await?;
        let views = self.saved_providers().await?;
        let mut running = self.config_providers();

        for view in views {
            if let Some(problem) = &view.problem {
                tracing::warn!(provider = %view.saved.settings.id, problem = %problem, "saved provider is not running");
                continue;
            }
            match self.decode(&view.saved) {
                Ok(provider) => running.push(provider),
                Err(problem) => {
                    tracing::warn!(provider = %view.saved.settings.id, problem = %problem, "saved provider is not running");
                }
            }
        }
        let summary = self.scheduler.apply_providers(running);
        *applied = Some(revision);
        Ok(summary)
    }

    /// Hands only the config providers to the scheduler, for when the saved
    /// ones cannot be read.
    pub fn apply_config_only(&self) -> ReloadSummary {
        self.scheduler.apply_providers(self.config_providers())
    }

    /// Applies the running providers when the settings revision differs
    /// from the one last applied. Returns whether it applied.
    pub async fn apply_if_changed(&self) -> Result<bool, StoreError> {
        let revision = self.store.settings_revision().await?;
        if *self.applying.lock().await == Some(revision) {
            return Ok(false);
        }
        tracing::info!(
            revision,
            "provider settings changed in the database; applying them"
        );
        self.apply().await?;
        Ok(true)
    }

    /// Polls the settings revision every `interval` until `stop` fires,
    /// applying changes made by other replicas.
    pub fn spawn_poller(
        self: &Arc<Self>,
        interval: Duration,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        let registry = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                if let Err(error) = registry.apply_if_changed().await {
                    tracing::warn!(error = %error, "reading the provider settings revision failed; retrying at the next poll");
                }
            }
        })
    }

    /// Returns every saved provider with the reason it does not run, if any.
    pub async fn saved_providers(&self) -> Result<Vec<SavedProviderView>, StoreError> {
        let saved = self.store.saved_providers().await?;
        let views = saved
            .into_iter()
            .map(|saved| {
                let problem = if let Some(config) = self.config_provider(&saved.settings.id) {
                    Some(format!(
                        "the provider from {} has the same id and takes precedence; delete this one or rename it",
                        config.source
                    ))
                } else {
                    self.decode(&saved).err()
                };
                SavedProviderView { saved, problem }
            })
            .collect();
        Ok(views)
    }

    /// Returns the saved provider with this id, if any.
    pub async fn saved_provider(&self, id: &str) -> Result<Option<SavedProvider>, StoreError> {
        let saved = self.store.saved_providers().await?;
        Ok(saved.into_iter().find(|saved| saved.settings.id == id))
    }

    /// Builds the running settings of a saved provider: opens its key and
    /// validates it as a config provider.
    pub fn decode(&self, saved: &SavedProvider) -> Result<ProviderConfig, String> {
        let settings = &saved.settings;
        let private_key = self
            .key
            .open(&settings.id, &settings.sealed_private_key)
            .map_err(|error| error.to_string())?;
        let input = stored_input(settings);
        orgsync_config::parse_provider(SAVED_SOURCE, &input.to_config_value(&private_key))
            .map_err(|errors| errors.to_string())
    }

    /// Validates the form's values into a provider, taking the stored key of
    /// `existing` when no key was entered. Returns the provider and its
    /// private key text.
    pub fn validate(
        &self,
        input: &ProviderInput,
        existing: Option<&SavedProvider>,
    ) -> Result<(ProviderConfig, String), SaveError> {
        let mut errors = FieldErrors::default();
        check_id(&input.id, &mut errors);
        if let Some(config) = self.config_provider(input.id.trim()) {
            errors.add(
                "id",
                format!(
                    "\"{}\" is the id of a provider in {}; choose another id",
                    config.id, config.source
                ),
            );
        }

        let private_key = if !input.private_key.trim().is_empty() {
            input.private_key.clone()
        } else if let Some(existing) = existing {
            self.key
                .open(&existing.settings.id, &existing.settings.sealed_private_key)?
        } else {
            errors.add(
                "private_key",
                "is missing; paste the private key whose public key is registered on the Okta app",
            );
            String::new()
        };

        let parsed =
            orgsync_config::parse_provider("settings form", &input.to_config_value(&private_key));
        if let Err(config_errors) = &parsed {
            let sorted = FieldErrors::from_config(&only_new(config_errors, &errors));
            errors.by_field.extend(sorted.by_field);
            errors.general.extend(sorted.general);
        }
        match parsed {
            Ok(provider) if errors.is_empty() => Ok((provider, private_key)),
            _ => Err(SaveError::Invalid(errors)),
        }
    }

    /// Validates and saves a provider, with its key sealed, then applies the
    /// running providers on this replica at once.
    pub async fn save(
        &self,
        input: &ProviderInput,
        mode: SaveMode,
    ) -> Result<SavedProvider, SaveError> {
        let existing = match mode {
            SaveMode::Create => None,
            SaveMode::Update { .. } => self.saved_provider(input.id.trim()).await?,
        };
        let (provider, private_key) = self.validate(input, existing.as_ref())?;
        let settings = self.settings_of(input, &provider, &private_key);
        let saved = self
            .store
            .save_provider(&settings, mode, Utc::now())
            .await?;
        self.apply().await?;
        Ok(saved)
    }

    /// Deletes a saved provider and applies the running providers. Returns
    /// false when no saved provider has the id.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self.store.delete_saved_provider(id).await?;
        if deleted {
            self.apply().await?;
        }
        Ok(deleted)
    }

    fn settings_of(
        &self,
        input: &ProviderInput,
        provider: &ProviderConfig,
        private_key: &str,
    ) -> ProviderSettings {
        let fingerprint = match &provider.credentials {
            Credentials::PrivateKey { key, .. } => key.fingerprint(),
            Credentials::ApiToken(_) => String::new(),
        };
        let key_id = Some(input.key_id.trim().to_string()).filter(|id| !id.is_empty());
        let user_filter =
            Some(input.user_search_filter.trim().to_string()).filter(|f| !f.is_empty());
        ProviderSettings {
            id: provider.id.clone(),
            okta_url: provider.okta_url.to_string(),
            client_id: input.client_id.trim().to_string(),
            key_id,
            sealed_private_key: self.key.seal(&provider.id, private_key),
            key_fingerprint: fingerprint,
            schedule: input.schedule_value().to_string(),
            user_search_filter: user_filter,
            group_filter: input.group_filter_value().map(|value| value.to_string()),
        }
    }
}

/// Drops config errors about fields that already have an error from the
/// form's own checks, such as the missing key, so each shows once.
fn only_new(errors: &ConfigErrors, form: &FieldErrors) -> ConfigErrors {
    let mut sorted = ConfigErrors(Vec::new());
    for error in &errors.0 {
        let key_missing = form.of("private_key").len() > 0
            && (error.key_path.is_empty() || error.key_path.starts_with("privateKey"));
        if !key_missing {
            sorted.0.push(error.clone());
        }
    }
    sorted
}

/// Rebuilds the form values of stored settings, without the key.
pub fn stored_input(settings: &ProviderSettings) -> ProviderInput {
    let schedule: Value = serde_json::from_str(&settings.schedule).unwrap_or_default();
    let frequency = match &schedule["frequency"] {
        Value::String(text) => text.clone(),
        Value::Object(map) => map
            .get("cron")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    };
    let timeout = schedule["timeout"].as_str().unwrap_or_default().to_string();

    let group_filter: Option<Value> = settings
        .group_filter
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    let mut input = ProviderInput {
        id: settings.id.clone(),
        okta_url: settings.okta_url.clone(),
        client_id: settings.client_id.clone(),
        private_key: String::new(),
        key_id: settings.key_id.clone().unwrap_or_default(),
        frequency,
        timeout,
        user_search_filter: settings.user_search_filter.clone().unwrap_or_default(),
        ..ProviderInput::default()
    };
    if let Some(filter) = group_filter {
        if let Some(names) = filter["groupNames"].as_array() {
            input.group_filter = input::GroupFilterKind::Names;
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            input.group_names = names.join("\n");
        } else if let Some(search) = filter["searchExpression"].as_str() {
            input.group_filter = input::GroupFilterKind::Search;
            input.group_search = search.to_string();
        }
    }
    input
}
