-- The catalog: entities, their relations, the flattened search rows that
-- serve filters, and the record of sync runs. The same tables as the SQLite
-- schema, in PostgreSQL types.
--
-- Refs (entity_ref, source_ref, target_ref) are lower-cased
-- `kind:namespace/name`. They use the "C" collation so that ORDER BY sorts
-- them byte by byte, as SQLite does, whatever the database's locale.

-- One row per entity. Each entity belongs to exactly one provider.
CREATE TABLE entities (
    entity_ref  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
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
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX entities_provider ON entities (provider, entity_ref);
CREATE INDEX entities_kind ON entities (lower(kind), entity_ref);

-- Relations derived from entity specs, stored in both directions. The
-- originating entity is the one whose spec named the relation; rewriting or
-- deleting it replaces its rows. Sources and targets may name entities that
-- are not in the catalog, so only originating_ref is a foreign key.
CREATE TABLE relations (
    originating_ref TEXT COLLATE "C" NOT NULL
        REFERENCES entities (entity_ref) ON DELETE CASCADE,
    source_ref      TEXT COLLATE "C" NOT NULL,
    type            TEXT COLLATE "C" NOT NULL,
    target_ref      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (originating_ref, source_ref, type, target_ref)
);

CREATE INDEX relations_source ON relations (source_ref, type, target_ref);
CREATE INDEX relations_target ON relations (target_ref, type);

-- Each entity flattened into lower-cased dotted-path keys and values, as
-- Backstage's catalog does, to serve filters such as
-- spec.profile.email=alice@example.com. value is NULL for JSON null and for
-- values over 200 characters.
CREATE TABLE search (
    entity_ref     TEXT COLLATE "C" NOT NULL
        REFERENCES entities (entity_ref) ON DELETE CASCADE,
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
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider         TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    -- A RunOutcome name: running, succeeded, failed, dry_run, blocked, cancelled.
    outcome          TEXT NOT NULL,
    added            BIGINT NOT NULL DEFAULT 0,
    updated          BIGINT NOT NULL DEFAULT 0,
    removed          BIGINT NOT NULL DEFAULT 0,
    unchanged        BIGINT NOT NULL DEFAULT 0,
    conflicts        BIGINT NOT NULL DEFAULT 0,
    users            BIGINT NOT NULL DEFAULT 0,
    "groups"         BIGINT NOT NULL DEFAULT 0,
    api_calls        BIGINT NOT NULL DEFAULT 0,
    rate_limit_waits BIGINT NOT NULL DEFAULT 0,
    error            TEXT
);

CREATE INDEX runs_started ON runs (started_at, id);
CREATE INDEX runs_provider ON runs (provider, started_at, id);
