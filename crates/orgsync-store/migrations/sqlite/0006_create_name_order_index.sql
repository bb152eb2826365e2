-- Serves catalog queries ordered by metadata.name: the page query orders by
-- lower(name), then entity_ref, so SQLite walks this index and stops at the
-- page's limit instead of sorting every matching entity.
CREATE INDEX entities_name_order ON entities (lower(name), entity_ref);
