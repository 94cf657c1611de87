-- Webhooks (docs/webhooks.md) and the audit log (docs/operations.md, "Audit log").

-- A company's endpoints. No signing secret is stored: `seed` is the random seed the secret is
-- derived from with the installation secret, a file of the data directory outside this
-- database (as for Huawei app keys; docs/security.md). `types` is the set of event types the
-- endpoint takes, one bit per type (`EventType::bit`; 4294967295 for all). A URL is
-- registered once per company; the unique index also finds a company's endpoints.
CREATE TABLE webhook_endpoints (
    id                 BLOB    PRIMARY KEY NOT NULL,
    company_id         BLOB    NOT NULL REFERENCES companies (id),
    url                TEXT    NOT NULL,
    description        TEXT    NOT NULL,
    types              INTEGER NOT NULL,
    seed               BLOB    NOT NULL,
    created_at         INTEGER NOT NULL,
    secret_rotated_at  INTEGER NOT NULL,
    failing_since      INTEGER,
    UNIQUE (company_id, url)
) STRICT;

-- The outbox: an event is written in the transaction of the change that caused it, and only
-- if an endpoint of its company takes its type at that moment. `body` is the JSON sent (and
-- signed) on every attempt; `type_bit` is the type's bit, matched against endpoints' `types`.
-- `meeting_number` orders deliveries: see webhook_deliveries.
CREATE TABLE webhook_events (
    seq             INTEGER PRIMARY KEY,
    id              BLOB    NOT NULL UNIQUE,
    company_id      BLOB    NOT NULL REFERENCES companies (id),
    type            TEXT    NOT NULL,
    type_bit        INTEGER NOT NULL,
    meeting_number  TEXT,
    occurred_at     INTEGER NOT NULL,
    body            TEXT    NOT NULL
) STRICT;
CREATE INDEX webhook_events_by_company ON webhook_events (company_id, occurred_at);
CREATE INDEX webhook_events_by_time ON webhook_events (occurred_at);

-- One delivery per event and endpoint that takes it, written with the event. `state`: 0
-- pending, 1 delivered (acknowledged with a 2xx), 2 exhausted (the retry schedule ran out;
-- kept for replay). A pending delivery whose `order_key` (the meeting number) has an earlier
-- pending delivery to the same endpoint waits for it: in order per meeting.
CREATE TABLE webhook_deliveries (
    endpoint_id  BLOB    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq    INTEGER NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
    order_key    TEXT,
    state        INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, event_seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at, event_seq) WHERE state = 0;
CREATE INDEX webhook_deliveries_in_order
    ON webhook_deliveries (endpoint_id, order_key, event_seq)
    WHERE state = 0 AND order_key IS NOT NULL;
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_seq);

-- Every attempt, for the delivery log (`GET /api/v1/webhooks/{id}/deliveries`). No reference
-- to the event: the log outlives an expired event.
CREATE TABLE webhook_attempts (
    seq          INTEGER PRIMARY KEY,
    endpoint_id  BLOB    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq    INTEGER NOT NULL,
    event_id     BLOB    NOT NULL,
    type         TEXT    NOT NULL,
    number       INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL,
    status       INTEGER,
    error        TEXT,
    delivered    INTEGER NOT NULL CHECK (delivered IN (0, 1))
) STRICT;
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, seq);
CREATE INDEX webhook_attempts_by_time ON webhook_attempts (at);

-- The audit log: appended in the transaction of the action, never changed (the trigger
-- refuses any UPDATE); retention deletes the oldest entries. `actor_user` is NULL for the
-- operator (the offline command line). `details` is a JSON object without secrets.
CREATE TABLE audit_log (
    seq             INTEGER PRIMARY KEY,
    company_id      BLOB    NOT NULL REFERENCES companies (id),
    at              INTEGER NOT NULL,
    actor_user      BLOB,
    actor_name      TEXT    NOT NULL,
    address         TEXT,
    action          TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    meeting_number  TEXT,
    details         TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_by_company ON audit_log (company_id, at, seq);
CREATE INDEX audit_by_actor ON audit_log (company_id, actor_user, at, seq);
CREATE INDEX audit_by_action ON audit_log (company_id, action, at, seq);
CREATE INDEX audit_by_meeting ON audit_log (company_id, meeting_number, at, seq)
    WHERE meeting_number IS NOT NULL;
CREATE INDEX audit_by_time ON audit_log (at);
CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
