-- Meeting leases (docs/scaling.md): which node runs which meeting. A claim is one
-- INSERT … ON CONFLICT DO UPDATE … WHERE the lease has ended or is the claimant's own, so
-- nodes claiming one meeting at once leave exactly one holder. Instants in ms.
CREATE TABLE meeting_leases (
    meeting_number  text    PRIMARY KEY,
    node_id         uuid    NOT NULL,
    node_address    text    NOT NULL,
    expires_at      bigint  NOT NULL
);
CREATE INDEX meeting_leases_by_node ON meeting_leases (node_id, expires_at);
