//! Loading, merging and validating orgsync's app-config YAML.
//!
//! orgsync reads a config shaped like a Backstage app-config. Several files
//! can be given (`--config a.yaml --config b.yaml`); they are merged in
//! order, later files winning: maps merge key by key, lists and scalars are
//! replaced. Then `${VAR}`, `{ $env: VAR }` and `{ $file: path }` are
//! substituted and every value is validated, all before any network call.
//!
//! Loading reports every problem it finds, not just the first. Each
//! [`ConfigError`] names the file, the key path and the value (secrets
//! redacted), the problem and its fix. Values that work but
//! should change, such as the Roadie Okta module's key names, come back as
//! [`ConfigWarning`]s for the caller to show.
//!
//! ```
//! use orgsync_config::{load_with_env, DatabaseClient};
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("app-config.yaml");
//! std::fs::write(&path, r#"
//! catalog:
//!   providers:
//!     okta:
//!       default:
//!         oktaUrl: https://acme.okta.com
//!         token: ${OKTA_API_TOKEN}
//! "#)?;
//! let env = |name: &str| (name == "OKTA_API_TOKEN").then(|| "00example".to_string());
//! let loaded = load_with_env(&[path], &env)?;
//! assert_eq!(loaded.config.providers[0].id, "default");
//! assert_eq!(loaded.config.database.client, DatabaseClient::Sqlite);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod auth;
mod backend;
mod context;
mod duration;
mod error;
mod merge;
mod okta_url;
mod provider;
mod providers;
mod read;
mod schedule;
mod source;
mod substitute;
mod suggest;

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::context::{Context, KeyPath, Origins};
use crate::read::{Fields, Strictness};
use crate::source::SourceFile;
use crate::substitute::Substituter;

pub use auth::ApiAuth;
pub use backend::{DatabaseClient, DatabaseConfig, ListenConfig};
pub use error::{ConfigError, ConfigErrors, ConfigWarning};
pub use provider::{GroupFilter, ProviderConfig, RemovalGuard};
pub use schedule::{Frequency, Schedule};

/// A loaded and validated config, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: AppConfig,
    /// Problems that did not stop loading; show them to the user.
    pub warnings: Vec<ConfigWarning>,
}

/// The whole orgsync configuration.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub database: DatabaseConfig,
    pub listen: ListenConfig,
    /// `backend.baseUrl`: the URL people use to reach orgsync, if set.
    pub base_url: Option<url::Url>,
    /// `backend.auth`: the HTTP API's bearer tokens, when set in the config.
    pub auth: ApiAuth,
    /// Every configured Okta provider, in config order.
    pub providers: Vec<ProviderConfig>,
    /// `backend.secretKeyFile`: where the key that encrypts saved
    /// providers' private keys is kept, if set.
    pub secret_key_file: Option<PathBuf>,
}

const TOP_LEVEL_KEYS: &[&str] = &["backend", "catalog", "orgsync"];
const CATALOG_KEYS: &[&str] = &["providers"];
const CATALOG_PROVIDERS_KEYS: &[&str] = &["okta"];

/// Reads, merges, substitutes and validates the config files at `paths`,
/// taking environment variables from the process environment.
pub fn load(paths: &[PathBuf]) -> Result<LoadedConfig, ConfigErrors> {
    let env = |name: &str| std::env::var(name).ok();
    load_with_env(paths, &env)
}

/// Like [`load`], with environment variables looked up through `env`.
pub fn load_with_env(
    paths: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LoadedConfig, ConfigErrors> {
    let files = read_sources(paths)?;
    let (mut merged, origins) = merge::merge_files(&files);
    let dirs: HashMap<String, PathBuf> = files
        .iter()
        .map(|file| (file.name.clone(), file.dir.clone()))
        .collect();

    let mut context = Context::new(origins);
    let substituter = Substituter { env, dirs: &dirs };
    substituter.substitute_map(&mut context, &mut merged, &KeyPath::root());

    let config = read_app(&mut context, &merged);
    finish(context, config).inspect(|loaded| {
        tracing::info!(
            files = paths.len(),
            providers = loaded.config.providers.len(),
            warnings = loaded.warnings.len(),
            "loaded config"
        );
    })
}

/// Validates one provider's settings, given as the value of a list entry
/// (with `id`, else the id is `default`), for example from a settings form. `source` names where the
/// settings came from in diagnostics; key paths are relative to the
/// provider (`oktaUrl`, `schedule.timeout`).
///
/// Values are used as given: `${VAR}`, `$env` and `$file` are not
/// substituted. Warnings are dropped; use [`load`] to see them.
pub fn parse_provider(source: &str, value: &Value) -> Result<ProviderConfig, ConfigErrors> {
    let mut context = Context::new(Origins::new(&[source.to_string()]));
    let path = KeyPath::root();
    let list = Value::Array(vec![value.clone()]);
    let mut providers = providers::read_providers(&mut context, &path, &list);

    // The list form reports paths as `[0].oktaUrl`; the caller passed one
    // provider, so its paths start at the provider.
    for error in &mut context.errors {
        error.key_path = strip_entry_prefix(&error.key_path);
    }
    if !context.errors.is_empty() {
        return Err(ConfigErrors(context.errors));
    }
    providers.pop().ok_or_else(|| {
        ConfigErrors(vec![ConfigError {
            file: source.to_string(),
            line: None,
            key_path: "id".to_string(),
            value: None,
            problem: "is missing".to_string(),
            fix: "add id: with a name for this provider, such as production".to_string(),
        }])
    })
}

fn strip_entry_prefix(key_path: &str) -> String {
    let rest = key_path.strip_prefix("[0]").unwrap_or(key_path);
    rest.strip_prefix('.').unwrap_or(rest).to_string()
}

/// Returns every key orgsync reads, as dotted paths with `<id>` for the provider
/// id (`catalog.providers.okta.<id>.schedule.frequency`). Used to check
/// that the documentation covers them all.
pub fn known_keys() -> Vec<String> {
    let provider = "catalog.providers.okta.<id>";
    let mut keys: Vec<String> = ["backend", "catalog.providers.okta", "orgsync"]
        .iter()
        .map(|key| key.to_string())
        .collect();
    let sections: &[(&str, &[&str])] = &[
        ("backend", backend::BACKEND_KEYS),
        ("backend.database", backend::DATABASE_KEYS),
        ("backend.listen", backend::LISTEN_KEYS),
        ("backend.auth", auth::AUTH_KEYS),
        (provider, provider::PROVIDER_KEYS),
        (provider, provider::LEGACY_KEYS),
        (
            "catalog.providers.okta.<id>.oauth",
            &["clientId", "keyId", "privateKey"],
        ),
        (
            "catalog.providers.okta.<id>.schedule",
            schedule::SCHEDULE_KEYS,
        ),
        ("catalog.providers.okta.<id>.schedule.frequency", &["cron"]),
        (
            "catalog.providers.okta.<id>.groupFilter",
            provider::GROUP_FILTER_KEYS,
        ),
        (
            "catalog.providers.okta.<id>.groupType",
            provider::GROUP_TYPE_KEYS,
        ),
        (
            "catalog.providers.okta.<id>.annotations",
            provider::ANNOTATIONS_KEYS,
        ),
        (
            "catalog.providers.okta.<id>.removalGuard",
            provider::REMOVAL_GUARD_KEYS,
        ),
    ];
    for (section, section_keys) in sections {
        keys.extend(section_keys.iter().map(|key| format!("{section}.{key}")));
    }
    keys
}

fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>, ConfigErrors> {
    if paths.is_empty() {
        return Err(ConfigErrors(vec![ConfigError {
            file: "(none)".to_string(),
            line: None,
            key_path: String::new(),
            value: None,
            problem: "no config file was given".to_string(),
            fix: "pass one with --config app-config.yaml".to_string(),
        }]));
    }
    let mut files = Vec::with_capacity(paths.len());
    let mut errors = Vec::new();
    for path in paths {
        match source::read_source(path) {
            Ok(file) => files.push(file),
            Err(error) => errors.push(*error),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(ConfigErrors(errors))
    }
}

fn read_app(context: &mut Context, merged: &Map<String, Value>) -> AppConfig {
    let root = KeyPath::root();
    let fields = Fields::new(&root, merged);
    fields.check_keys(context, TOP_LEVEL_KEYS, &[], Strictness::Shared);
    warn_if_orgsync_section_set(context, &fields);

    let backend_path = root.key("backend");
    let backend = fields
        .map(
            context,
            "backend",
            "write backend: { database: { client: sqlite } }",
        )
        .map(|map| backend::read_backend(context, &backend_path, map))
        .unwrap_or_default();
    let providers = read_catalog(context, &fields);

    AppConfig {
        database: backend.database,
        listen: backend.listen,
        base_url: backend.base_url,
        auth: backend.auth,
        providers,
        secret_key_file: backend.secret_key_file,
    }
}

fn read_catalog(context: &mut Context, fields: &Fields<'_>) -> Vec<ProviderConfig> {
    let okta_path = fields.path.key("catalog").key("providers").key("okta");
    let catalog_path = fields.path.key("catalog");
    let providers_path = catalog_path.key("providers");

    let okta = fields
        .map(
            context,
            "catalog",
            "write catalog: { providers: { okta: { ... } } }",
        )
        .and_then(|catalog| {
            let catalog = Fields::new(&catalog_path, catalog);
            catalog.check_keys(context, CATALOG_KEYS, &[], Strictness::Shared);
            catalog.map(context, "providers", "write providers: { okta: { ... } }")
        })
        .and_then(|providers| {
            let providers = Fields::new(&providers_path, providers);
            providers.check_keys(context, CATALOG_PROVIDERS_KEYS, &[], Strictness::Shared);
            providers.raw("okta")
        });
    match okta {
        Some(okta) => providers::read_providers(context, &okta_path, okta),
        None => {
            if !context.has_failed(&okta_path) {
                context.error(
                    &okta_path,
                    None,
                    "is missing, so there is nothing to sync",
                    "add catalog.providers.okta.<id> with oktaUrl and credentials",
                );
            }
            Vec::new()
        }
    }
}

/// `orgsync:` is reserved for service-wide settings; none exist yet.
fn warn_if_orgsync_section_set(context: &mut Context, fields: &Fields<'_>) {
    let Some(value) = fields.raw("orgsync") else {
        return;
    };
    let is_empty_map = value.as_object().is_some_and(Map::is_empty);
    if !is_empty_map {
        context.warn(
            &fields.path.key("orgsync"),
            None,
            "has no settings in this version and is ignored",
            "remove it",
        );
    }
}

fn finish(context: Context, config: AppConfig) -> Result<LoadedConfig, ConfigErrors> {
    if context.errors.is_empty() {
        Ok(LoadedConfig {
            config,
            warnings: context.warnings,
        })
    } else {
        Err(ConfigErrors(context.errors))
    }
}
