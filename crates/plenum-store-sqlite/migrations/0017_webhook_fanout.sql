-- Deliveries are made from the outbox in bulk, not in the transaction of each event.
--
-- Until now each event's transaction (a join's journal commit) also wrote one delivery row per
-- endpoint, with its three indexes: in a join storm with two endpoints that was most of the
-- outbox's cost to the joins. Now that transaction writes only the event; the delivery task's
-- first step (`fan_out` in webhooks.rs, through the journal) turns every event after
-- `webhook_fanout.through_seq` into its deliveries at once, a bounded number per transaction.
--
-- An endpoint is given the events written after its registration, as before:
-- `listening_from` is the outbox's last seq when it was registered. Event seqs only grow:
-- expiry never removes the newest event, so a seq is never used twice.
ALTER TABLE webhook_endpoints ADD COLUMN listening_from INTEGER NOT NULL DEFAULT 0;

CREATE TABLE webhook_fanout (
    only         INTEGER PRIMARY KEY CHECK (only = 1),
    through_seq  INTEGER NOT NULL
) STRICT;
-- Events already written have their deliveries.
INSERT INTO webhook_fanout (only, through_seq)
    VALUES (1, coalesce((SELECT max(seq) FROM webhook_events), 0));
