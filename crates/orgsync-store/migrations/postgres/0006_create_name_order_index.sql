-- Serves catalog queries ordered by metadata.name: the page query orders by
-- lower(name) in the "C" collation, then entity_ref, so PostgreSQL walks
-- this index and stops at the page's limit instead of sorting every
-- matching entity.
CREATE INDEX entities_name_order ON entities ((lower(name) COLLATE "C"), entity_ref);
