//! Helpers shared by the integration tests: config files in a temporary
//! directory, a fake environment and freshly generated keys.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use orgsync_config::{ConfigErrors, LoadedConfig};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};

/// Config files written into a temporary directory, loaded with a fake
/// environment.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub env: HashMap<String, String>,
    paths: Vec<PathBuf>,
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("create temp dir"),
            env: HashMap::new(),
            paths: Vec::new(),
        }
    }

    /// Writes a config file and adds it to the files to load, in order.
    pub fn config(mut self, name: &str, text: &str) -> Setup {
        let path = self.write(name, text);
        self.paths.push(path);
        self
    }

    /// Writes a file next to the configs without loading it.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&path, text).expect("write file");
        path
    }

    pub fn env(mut self, name: &str, value: &str) -> Setup {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn load(&self) -> Result<LoadedConfig, ConfigErrors> {
        let env = |name: &str| self.env.get(name).cloned();
        orgsync_config::load_with_env(&self.paths, &env)
    }

    /// Loads and returns the errors, failing the test if loading succeeds.
    pub fn errors(&self) -> ConfigErrors {
        match self.load() {
            Ok(loaded) => panic!("expected errors, loaded {:?}", loaded.config),
            Err(errors) => errors,
        }
    }

    /// Loads and returns the config, failing the test with the errors.
    pub fn loaded(&self) -> LoadedConfig {
        match self.load() {
            Ok(loaded) => loaded,
            Err(errors) => panic!("expected the config to load:\n{errors}"),
        }
    }
}

/// Returns the first error at `key_path`, failing the test with every
/// error when there is none.
pub fn error_at<'a>(errors: &'a ConfigErrors, key_path: &str) -> &'a orgsync_config::ConfigError {
    match errors.at(key_path).first() {
        Some(error) => error,
        None => panic!("no error at {key_path}; the errors were:\n{errors}"),
    }
}

fn secret_key() -> &'static p256::SecretKey {
    static KEY: OnceLock<p256::SecretKey> = OnceLock::new();
    KEY.get_or_init(p256::SecretKey::generate)
}

/// Returns the test's P-256 private key as PKCS#8 PEM.
pub fn private_key_pem() -> String {
    secret_key()
        .to_pkcs8_pem(LineEnding::LF)
        .expect("encode key")
        .to_string()
}

/// Returns the public half of [`private_key_pem`] as PEM.
pub fn public_key_pem() -> String {
    secret_key()
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("encode public key")
}

/// Returns the private key as a JWK with the given `kid`.
pub fn private_key_jwk(kid: &str) -> String {
    let parsed = orgsync_okta::PrivateKey::parse(&private_key_pem()).expect("parse generated key");
    let mut jwk = parsed.public_jwk();
    let d = URL_SAFE_NO_PAD.encode(secret_key().to_bytes());
    jwk["d"] = serde_json::Value::String(d);
    jwk["kid"] = serde_json::Value::String(kid.to_string());
    jwk.to_string()
}

/// A minimal valid provider for the map form, to extend in tests.
pub const PROVIDER: &str = "
catalog:
  providers:
    okta:
      default:
        oktaUrl: https://acme.okta.com
        clientId: 0oa123abc
        privateKey: ${OKTA_PRIVATE_KEY}
";

/// Returns a [`Setup`] with [`PROVIDER`] plus `extra` lines indented under the
/// provider, and the private key in the environment.
pub fn provider_with(extra: &str) -> Setup {
    let indented: String = extra
        .lines()
        .map(|line| format!("        {line}\n"))
        .collect();
    Setup::new()
        .config("app-config.yaml", &format!("{PROVIDER}{indented}"))
        .env("OKTA_PRIVATE_KEY", &private_key_pem())
}

pub fn path_str(path: &Path) -> String {
    path.display().to_string()
}
