//! The secret key that encrypts the private keys of saved providers.
//!
//! Private keys are sealed with XChaCha20-Poly1305 (an AEAD cipher) before
//! they reach the database. Each sealed key is a format byte, a random
//! 24-byte nonce, and the ciphertext with its 16-byte tag. The provider id
//! is bound in as associated data, so a sealed key copied to another
//! provider's row does not open.
//!
//! The 32-byte secret key comes from `ORGSYNC_SECRET_KEY` (base64) when
//! set, else from a key file, which is created with mode 0600 on first
//! start. Replicas that share a database must share the key.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use orgsync_config::{DatabaseClient, DatabaseConfig};
use rand::RngCore;

/// The environment variable with the secret key, base64-encoded.
pub const SECRET_KEY_VAR: &str = "ORGSYNC_SECRET_KEY";

/// The file name of the key file when `backend.secretKeyFile` is unset.
pub const DEFAULT_KEY_FILE_NAME: &str = "orgsync-secret.key";

/// The key file used when neither `ORGSYNC_SECRET_KEY` nor
/// `backend.secretKeyFile` is set and the catalog is not in a SQLite file.
pub const FALLBACK_KEY_FILE: &str = "./data/orgsync-secret.key";

/// The first byte of every sealed key; a new format gets a new byte.
const FORMAT_V1: u8 = 1;
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// An error loading the secret key or opening a sealed key.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    /// `ORGSYNC_SECRET_KEY` is not 32 bytes in base64.
    #[error(
        "{SECRET_KEY_VAR} is invalid: {reason}; set it to 32 random bytes in base64, \
         such as the output of `openssl rand -base64 32`"
    )]
    InvalidEnv { reason: String },
    /// The key file exists but does not contain a key.
    #[error(
        "secret key file {path} is invalid: {reason}; restore the file that encrypted the saved \
         providers' keys, or delete it to create a new key (saved providers then need their \
         private keys entered again)"
    )]
    InvalidFile { path: PathBuf, reason: String },
    /// The key file could not be read or created.
    #[error("secret key file {path} could not be {action}: {source}; check the folder exists and is writable, or set backend.secretKeyFile")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// A sealed key did not open: another secret key sealed it, or it was
    /// changed.
    #[error(
        "the stored private key of provider {provider:?} cannot be decrypted with this secret key; \
         every replica needs the secret key that saved it (set {SECRET_KEY_VAR} or \
         backend.secretKeyFile the same everywhere), or enter the private key again"
    )]
    Undecryptable { provider: String },
}

/// The origin of the secret key, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    /// Read from an existing file.
    File(PathBuf),
    /// Generated and written to a new file.
    NewFile(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Environment => write!(f, "the {SECRET_KEY_VAR} environment variable"),
            KeySource::File(path) => write!(f, "{}", path.display()),
            KeySource::NewFile(path) => write!(f, "{} (new)", path.display()),
        }
    }
}

/// The secret key. `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; KEY_LEN],
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// Generates a random key.
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SecretKey { bytes }
    }

    /// Decodes a key from base64 text, as in `ORGSYNC_SECRET_KEY` and the
    /// key file. Surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<SecretKey, String> {
        let decoded = STANDARD
            .decode(text.trim())
            .map_err(|error| format!("it is not base64 ({error})"))?;
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            format!(
                "it decodes to {} bytes, but {KEY_LEN} are needed",
                decoded.len()
            )
        })?;
        Ok(SecretKey { bytes })
    }

    /// Returns the key as base64 text.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// Loads the key from `env_value` (the value of `ORGSYNC_SECRET_KEY`)
    /// when set, else from `file`, creating the file with a new key and
    /// mode 0600 when it does not exist.
    pub fn load(
        env_value: Option<&str>,
        file: &Path,
    ) -> Result<(SecretKey, KeySource), SecretKeyError> {
        if let Some(text) = env_value.filter(|text| !text.trim().is_empty()) {
            let key = SecretKey::from_base64(text)
                .map_err(|reason| SecretKeyError::InvalidEnv { reason })?;
            return Ok((key, KeySource::Environment));
        }
        match std::fs::read_to_string(file) {
            Ok(text) => {
                warn_if_readable_by_others(file);
                let key = SecretKey::from_base64(&text).map_err(|reason| {
                    SecretKeyError::InvalidFile {
                        path: file.to_path_buf(),
                        reason,
                    }
                })?;
                Ok((key, KeySource::File(file.to_path_buf())))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                write_new_key_file(file, &key)?;
                Ok((key, KeySource::NewFile(file.to_path_buf())))
            }
            Err(source) => Err(SecretKeyError::Io {
                path: file.to_path_buf(),
                action: "read",
                source,
            }),
        }
    }

    /// Encrypts `private_key` for the provider `provider` with a fresh
    /// random nonce.
    pub fn seal(&self, provider: &str, private_key: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let nonce = XNonce::from(nonce);
        let aad = associated_data(provider);
        let payload = Payload {
            msg: private_key.as_bytes(),
            aad: &aad,
        };
        // Encryption fails only for messages longer than the cipher allows
        // (about 256 GiB); form bodies stop at axum's 2 MB default limit.
        let ciphertext = self
            .cipher()
            .encrypt(&nonce, payload)
            .expect("XChaCha20-Poly1305 encrypts any message shorter than 256 GiB");

        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts a key that [`SecretKey::seal`] sealed for `provider`.
    pub fn open(&self, provider: &str, sealed: &[u8]) -> Result<String, SecretKeyError> {
        let undecryptable = || SecretKeyError::Undecryptable {
            provider: provider.to_string(),
        };
        let (format, rest) = sealed.split_first().ok_or_else(undecryptable)?;
        if *format != FORMAT_V1 || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| undecryptable())?;
        let aad = associated_data(provider);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plaintext = self
            .cipher()
            .decrypt(&nonce, payload)
            .map_err(|_| undecryptable())?;
        String::from_utf8(plaintext).map_err(|_| undecryptable())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(self.bytes))
    }
}

/// Returns the key file to use: `configured` when set, else
/// `orgsync-secret.key` beside the SQLite file, else [`FALLBACK_KEY_FILE`].
pub fn key_file_path(configured: Option<&Path>, database: &DatabaseConfig) -> PathBuf {
    if let Some(path) = configured {
        return path.to_path_buf();
    }
    let sqlite_file = match database.client {
        DatabaseClient::Sqlite => sqlite_file_path(&database.connection),
        DatabaseClient::Postgres => None,
    };
    match sqlite_file {
        Some(file) => file.with_file_name(DEFAULT_KEY_FILE_NAME),
        None => PathBuf::from(FALLBACK_KEY_FILE),
    }
}

/// Returns the file of a SQLite connection string (a path or `sqlite:` URL), or
/// `None` for an in-memory database or a connection string that is invalid
/// (opening the store reports that).
fn sqlite_file_path(connection: &str) -> Option<PathBuf> {
    orgsync_store::sqlite::database_file(connection).ok().flatten()
}

fn associated_data(provider: &str) -> Vec<u8> {
    format!("orgsync provider private key\0{provider}").into_bytes()
}

/// Writes a new key file that only its owner can read. `create_new` makes
/// two replicas starting at once on one folder keep one key: the loser of
/// the race fails instead of overwriting the winner's file.
fn write_new_key_file(file: &Path, key: &SecretKey) -> Result<(), SecretKeyError> {
    let io_error = |action, source| SecretKeyError::Io {
        path: file.to_path_buf(),
        action,
        source,
    };
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| io_error("created", source))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut handle = options
        .open(file)
        .map_err(|source| io_error("created", source))?;
    writeln!(handle, "{}", key.to_base64()).map_err(|source| io_error("written", source))?;
    handle
        .sync_all()
        .map_err(|source| io_error("written", source))?;
    tracing::info!(path = %file.display(), "created a new secret key file for saved provider keys; back it up");
    Ok(())
}

#[cfg(unix)]
fn warn_if_readable_by_others(file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(file) {
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %file.display(),
                mode = format!("{mode:o}"),
                "the secret key file is readable by other users; run chmod 600 on it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_file: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str =
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIExample\n-----END PRIVATE KEY-----\n";

    #[test]
    fn sealed_key_opens() {
        let key = SecretKey::generate();
        let sealed = key.seal("acme", PEM);
        assert_eq!(key.open("acme", &sealed).unwrap(), PEM);
    }

    #[test]
    fn sealing_twice_differs() {
        let key = SecretKey::generate();
        assert_ne!(key.seal("acme", PEM), key.seal("acme", PEM));
    }

    #[test]
    fn sealed_key_hides_plaintext() {
        let key = SecretKey::generate();
        let sealed = key.seal("acme", PEM);
        let found = sealed
            .windows(16)
            .any(|window| PEM.as_bytes().windows(16).any(|part| part == window));
        assert!(!found);
    }

    #[test]
    fn other_provider_cannot_open() {
        let key = SecretKey::generate();
        let sealed = key.seal("acme", PEM);
        let result = key.open("beta", &sealed);
        assert!(matches!(result, Err(SecretKeyError::Undecryptable { .. })));
    }

    #[test]
    fn other_key_cannot_open() {
        let sealed = SecretKey::generate().seal("acme", PEM);
        let result = SecretKey::generate().open("acme", &sealed);
        assert!(matches!(result, Err(SecretKeyError::Undecryptable { .. })));
    }

    #[test]
    fn changed_ciphertext_does_not_open() {
        let key = SecretKey::generate();
        let mut sealed = key.seal("acme", PEM);
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(key.open("acme", &sealed).is_err());
    }

    #[test]
    fn truncated_sealed_key_is_rejected() {
        let key = SecretKey::generate();
        assert!(key.open("acme", &[FORMAT_V1, 1, 2]).is_err());
        assert!(key.open("acme", &[]).is_err());
    }

    #[test]
    fn base64_round_trips() {
        let key = SecretKey::generate();
        let again = SecretKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.bytes, key.bytes);
    }

    #[test]
    fn short_base64_key_is_rejected() {
        let error = SecretKey::from_base64("AAAA").unwrap_err();
        assert!(error.contains("3 bytes"), "{error}");
    }

    #[test]
    fn debug_hides_key() {
        let key = SecretKey::generate();
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }

    #[test]
    fn environment_wins_over_file() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("key");
        let key = SecretKey::generate();
        let (loaded, source) = SecretKey::load(Some(&key.to_base64()), &file).unwrap();
        assert_eq!(loaded.bytes, key.bytes);
        assert_eq!(source, KeySource::Environment);
        assert!(!file.exists());
    }

    #[test]
    fn invalid_environment_key_is_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let result = SecretKey::load(Some("not base64!"), &folder.path().join("key"));
        let error = result.unwrap_err().to_string();
        assert!(error.contains(SECRET_KEY_VAR), "{error}");
        assert!(error.contains("openssl rand -base64 32"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn new_key_file_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;

        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("sub").join("orgsync-secret.key");
        let (first, source) = SecretKey::load(None, &file).unwrap();
        assert_eq!(source, KeySource::NewFile(file.clone()));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let (second, source) = SecretKey::load(None, &file).unwrap();
        assert_eq!(source, KeySource::File(file.clone()));
        assert_eq!(second.bytes, first.bytes);
    }

    fn database(client: DatabaseClient, connection: &str) -> DatabaseConfig {
        DatabaseConfig {
            client,
            connection: connection.to_string(),
        }
    }

    #[test]
    fn key_file_sits_beside_sqlite_file() {
        let sqlite =
            |connection| key_file_path(None, &database(DatabaseClient::Sqlite, connection));
        assert_eq!(
            sqlite("./data/orgsync.sqlite"),
            PathBuf::from("./data/orgsync-secret.key")
        );
        assert_eq!(
            sqlite("sqlite:///var/lib/orgsync/c.sqlite?mode=rwc"),
            PathBuf::from("/var/lib/orgsync/orgsync-secret.key")
        );
        assert_eq!(sqlite(":memory:"), PathBuf::from(FALLBACK_KEY_FILE));
    }

    #[test]
    fn configured_key_file_wins() {
        let configured = PathBuf::from("/etc/orgsync/key");
        let postgres = database(DatabaseClient::Postgres, "postgres://db/orgsync");
        assert_eq!(key_file_path(Some(&configured), &postgres), configured);
        assert_eq!(
            key_file_path(None, &postgres),
            PathBuf::from(FALLBACK_KEY_FILE)
        );
    }

    #[test]
    fn corrupt_key_file_is_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("key");
        std::fs::write(&file, "garbage").unwrap();
        let error = SecretKey::load(None, &file).unwrap_err();
        assert!(matches!(error, SecretKeyError::InvalidFile { .. }));
    }
}
