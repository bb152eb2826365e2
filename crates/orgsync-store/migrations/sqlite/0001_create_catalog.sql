-- The catalog: entities, their relations, the flattened search rows that
-- serve filters, and the record of sync runs.
--
-- Refs (entity_ref, source_ref, target_ref) are lower-cased
-- `kind:namespace/name`. Timestamps are UTC text in the form
-- 2024-05-01T12:00:00.000000Z, so that text order is time order.

-- One row per entity. Each entity belongs to exactly one provider.
CREATE TABLE entities (
    entity_ref  TEXT NOT NULL PRIMARY KEY,
    provider    TEXT NOT NULL,
    -- kind, namespace and name as the provider wrote them.
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    -- Assigned on first insert and kept for the life of the entity.
    uid         TEXT NOT NULL UNIQUE,
    -- Changes whenever hash changes.
    etag        TEXT NOT NULL,
    -- SHA-256 of the body's canonical JSON (keys sorted), to detect changes.
    hash        TEXT NOT NULL,
    -- The entity JSON without relations, metadata.uid and metadata.etag.
    body        TEXT NOT NULL,
    -- Lower-cased name, title, display name and email, for substring search.
    search_text TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX entities_provider ON entities (provider, entity_ref);
CREATE INDEX entities_kind ON entities (kind COLLATE NOCASE, entity_ref);

-- Relations derived from entity specs, stored in both directions. The
-- originating entity is the one whose spec named the relation; rewriting or
-- deleting it replaces its rows. Sources and targets may name entities that
-- are not in the catalog, so only originating_ref is a foreign key.
CREATE TABLE relations (
    originating_ref TEXT NOT NULL REFERENCES entities (entity_ref) ON DELETE CASCADE,
    source_ref      TEXT NOT NULL,
    type            TEXT NOT NULL,
    target_ref      TEXT NOT NULL,
    PRIMARY KEY (originating_ref, source_ref, type, target_ref)
) WITHOUT ROWID;

CREATE INDEX relations_source ON relations (source_ref, type, target_ref);
CREATE INDEX relations_target ON relations (target_ref, type);

-- Each entity flattened into lower-cased dotted-path keys and values, as
-- Backstage's catalog does, to serve filters such as
-- spec.profile.email=alice@example.com. value is NULL for JSON null and for
-- values over 200 characters.
CREATE TABLE search (
    entity_ref     TEXT NOT NULL REFERENCES entities (entity_ref) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    value          TEXT,
    original_value TEXT
);

CREATE INDEX search_entity ON search (entity_ref);
CREATE INDEX search_key_value ON search (key, value);

-- Every filterable key/value pair: the search rows plus one
-- relations.<type> row per relation, so that one query shape serves filters
-- on fields and on relations alike.
CREATE VIEW entity_filters (entity_ref, key, value) AS
    SELECT entity_ref, key, value FROM search
    UNION ALL
    SELECT source_ref, 'relations.' || lower(type), target_ref FROM relations;

-- One row per sync run of one provider.
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    provider         TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    -- A RunOutcome name: running, succeeded, failed, dry_run, blocked, cancelled.
    outcome          TEXT NOT NULL,
    added            INTEGER NOT NULL DEFAULT 0,
    updated          INTEGER NOT NULL DEFAULT 0,
    removed          INTEGER NOT NULL DEFAULT 0,
    unchanged        INTEGER NOT NULL DEFAULT 0,
    conflicts        INTEGER NOT NULL DEFAULT 0,
    users            INTEGER NOT NULL DEFAULT 0,
    groups           INTEGER NOT NULL DEFAULT 0,
    api_calls        INTEGER NOT NULL DEFAULT 0,
    rate_limit_waits INTEGER NOT NULL DEFAULT 0,
    error            TEXT
);

CREATE INDEX runs_started ON runs (started_at, id);
CREATE INDEX runs_provider ON runs (provider, started_at, id);
