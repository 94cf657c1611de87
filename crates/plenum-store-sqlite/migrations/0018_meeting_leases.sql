-- Meeting leases (docs/scaling.md): which node runs which meeting. SQLite serves one node, so
-- this table holds at most that node's meetings; it exists so that both backends keep one
-- contract (plenum_store::Leases). Instants in ms, as everywhere.
CREATE TABLE meeting_leases (
    meeting_number  TEXT    PRIMARY KEY NOT NULL,
    node_id         BLOB    NOT NULL,
    node_address    TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX meeting_leases_by_node ON meeting_leases (node_id, expires_at);
