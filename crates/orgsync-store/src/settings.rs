//! Okta providers saved through the settings pages.
//!
//! The store keeps each saved provider's settings as one row, with the
//! private key already sealed (encrypted) by the caller: the store never
//! receives a key in the clear. Every write raises one database-wide *settings
//! revision*, so a replica learns that something changed by reading one
//! number ([`crate::Store::settings_revision`]), and each row keeps the
//! revision it was written at, so a form can save only over the version it
//! was opened on.

use chrono::{DateTime, Utc};

/// A provider's settings as written through the settings pages.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    /// The provider id, unique among saved providers.
    pub id: String,
    /// The Okta org URL, as validated by the config reader.
    pub okta_url: String,
    pub client_id: String,
    /// The `kid` of the public key registered on the Okta app, if set.
    pub key_id: Option<String>,
    /// The private key, encrypted by the caller. Opaque to the store.
    pub sealed_private_key: Vec<u8>,
    /// The thumbprint of the public key, shown in place of the key.
    pub key_fingerprint: String,
    /// The `schedule` map as JSON text, in config-file form.
    pub schedule: String,
    pub user_search_filter: Option<String>,
    /// The `groupFilter` map as JSON text, in config-file form.
    pub group_filter: Option<String>,
}

/// Debug leaves out the sealed key, which is of no use in a log.
impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("id", &self.id)
            .field("okta_url", &self.okta_url)
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("key_fingerprint", &self.key_fingerprint)
            .field("schedule", &self.schedule)
            .field("user_search_filter", &self.user_search_filter)
            .field("group_filter", &self.group_filter)
            .finish_non_exhaustive()
    }
}

/// A saved provider as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedProvider {
    pub settings: ProviderSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The settings revision of the write that produced this version.
    pub revision: i64,
}

/// Which version of a saved provider a write may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// Create a provider; fails when the id is taken.
    Create,
    /// Replace the version with this revision; fails when the provider was
    /// changed or deleted since that version was read.
    Update { revision: i64 },
}
