-- Room searches compare a key the store computes (`plenum_store::rows::search_key`: Rust's
-- Unicode lower case), as the PostgreSQL store does, so that a filter means the same on both.
-- Until now this store compared `lower(name)`, which in SQLite folds ASCII only: "ÄRZTE" was
-- not found by "är".
--
-- Existing rooms: for an ASCII name `lower(name)` is that same key. SQL cannot call Rust's
-- lower case here, so the others are left NULL and keyed by the store when it opens
-- (`SqliteStore::open`, `meetings::key_rooms`), found through the partial index.
ALTER TABLE rooms ADD COLUMN name_key TEXT;
UPDATE rooms SET name_key = lower(name) WHERE length(name) = length(CAST(name AS BLOB));
CREATE INDEX rooms_unkeyed ON rooms (id) WHERE name_key IS NULL;
