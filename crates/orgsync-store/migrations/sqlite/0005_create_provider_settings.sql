-- Okta providers saved through the settings pages. Providers from config
-- files are not stored here.
--
-- sealed_private_key is the provider's private key encrypted by the
-- server (XChaCha20-Poly1305) with its secret key, which is never stored
-- in the database. revision is the value of settings_revision.revision
-- when the row was last written. Timestamps are UTC text, like the other
-- tables'.
CREATE TABLE provider_settings (
    id                 TEXT NOT NULL PRIMARY KEY,
    okta_url           TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    key_id             TEXT,
    sealed_private_key BLOB NOT NULL,
    key_fingerprint    TEXT NOT NULL,
    -- JSON: the provider's schedule map, as in a config file.
    schedule           TEXT NOT NULL,
    user_search_filter TEXT,
    -- JSON: the provider's groupFilter map, as in a config file.
    group_filter       TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    revision           INTEGER NOT NULL
);

-- One row whose revision grows by one with every saved or deleted
-- provider, so that replicas notice a change by reading one number.
CREATE TABLE settings_revision (
    singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    revision  INTEGER NOT NULL
);
INSERT INTO settings_revision (singleton, revision) VALUES (1, 0);
