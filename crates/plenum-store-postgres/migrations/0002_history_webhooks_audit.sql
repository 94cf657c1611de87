-- History reads, webhooks and the audit log on PostgreSQL (issue 15).
--
-- 1. Search keys computed by the store, in Rust. A Rokid name search, a Huawei attendee
--    search and a room filter are case-insensitive substring tests whose folding is Rust's
--    `to_lowercase` (what SQLite's store compares: its in-memory index folds names in Rust,
--    its SQL folds non-ASCII text with the Rust function `plenum_fold`, and rooms have a key
--    column since its migration 0019). PostgreSQL's `lower()` folds by
--    the database's locale, which differs from Rust's on some characters, so the keys are
--    columns the store fills, not expressions. Rows written before this migration (none: the
--    backend could not be selected before it) get `lower()` as their best approximation.
-- 2. Indexes for the history lists' filters.
-- 3. The webhooks outbox and the audit log, as SQLite's migration 0016 has them, except that
--    deliveries are written with their event, in its transaction (SQLite 0017 moved that to a
--    bulk fan-out to spare its single writer; here writers do not queue on one lock, and an
--    endpoint registered after an event simply has no delivery of it).

ALTER TABLE sessions ADD COLUMN name_key text;
UPDATE sessions SET name_key = lower(name);
ALTER TABLE sessions ALTER COLUMN name_key SET NOT NULL;

ALTER TABLE rooms ADD COLUMN name_key text;
UPDATE rooms SET name_key = lower(name);
ALTER TABLE rooms ALTER COLUMN name_key SET NOT NULL;

ALTER TABLE attendance ADD COLUMN display_name_key text;
ALTER TABLE attendance ADD COLUMN call_number_key text;
UPDATE attendance SET display_name_key = lower(display_name), call_number_key = lower(call_number);
ALTER TABLE attendance ALTER COLUMN display_name_key SET NOT NULL;
ALTER TABLE attendance ALTER COLUMN call_number_key SET NOT NULL;

-- A session list is a range of (company, start); its page is read newest first from it.
-- Name searches over many sessions use the trigrams (`LIKE '%…%'` of three characters or
-- more); a room's sessions are a range of the room's own index.
CREATE INDEX sessions_name_trigrams ON sessions USING gin (name_key gin_trgm_ops);
DROP INDEX sessions_by_room_start;
CREATE INDEX sessions_by_room_start ON sessions (room_id, started_at, seq) WHERE room_id IS NOT NULL;
-- A participant's recordings (`recordings_by_attendance`) and a session's, ordered for its
-- first completed one (`recordings_by_session_status_start`), have their indexes already; a
-- stay is found by its unique id.

-- --- webhooks ----------------------------------------------------------------------------

CREATE TABLE webhook_endpoints (
    id                 uuid    PRIMARY KEY,
    company_id         uuid    NOT NULL REFERENCES companies (id),
    url                text    NOT NULL,
    description        text    NOT NULL,
    types              bigint  NOT NULL,                 -- one bit per event type
    seed               bytea   NOT NULL,
    created_at         bigint  NOT NULL,
    secret_rotated_at  bigint  NOT NULL,
    failing_since      bigint,
    UNIQUE (company_id, url)
);

CREATE TABLE webhook_events (
    seq             bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid    NOT NULL UNIQUE,
    company_id      uuid    NOT NULL REFERENCES companies (id),
    type            text    NOT NULL,
    type_bit        bigint  NOT NULL,
    meeting_number  text    COLLATE "C",
    occurred_at     bigint  NOT NULL,
    body            text    NOT NULL
);
CREATE INDEX webhook_events_by_company ON webhook_events (company_id, occurred_at);
CREATE INDEX webhook_events_by_time ON webhook_events (occurred_at);

-- `state`: 0 pending, 1 delivered, 2 exhausted (as in SQLite).
CREATE TABLE webhook_deliveries (
    endpoint_id  uuid    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq    bigint  NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
    order_key    text    COLLATE "C",
    state        smallint NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),
    attempts     bigint  NOT NULL DEFAULT 0,
    due_at       bigint  NOT NULL,
    PRIMARY KEY (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at, event_seq) WHERE state = 0;
CREATE INDEX webhook_deliveries_in_order
    ON webhook_deliveries (endpoint_id, order_key, event_seq)
    WHERE state = 0 AND order_key IS NOT NULL;
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_seq);

CREATE TABLE webhook_attempts (
    seq          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id  uuid    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq    bigint  NOT NULL,
    event_id     uuid    NOT NULL,
    type         text    NOT NULL,
    number       bigint  NOT NULL,
    at           bigint  NOT NULL,
    duration_ms  bigint  NOT NULL,
    status       bigint,
    error        text,
    delivered    boolean NOT NULL
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, seq);
CREATE INDEX webhook_attempts_by_time ON webhook_attempts (at);

-- --- the audit log -----------------------------------------------------------------------

CREATE TABLE audit_log (
    seq             bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id      uuid    NOT NULL REFERENCES companies (id),
    at              bigint  NOT NULL,
    actor_user      uuid,
    actor_name      text    NOT NULL,
    address         text,
    action          text    NOT NULL,
    target          text    NOT NULL,
    meeting_number  text    COLLATE "C",
    details         text    NOT NULL
);
CREATE INDEX audit_by_company ON audit_log (company_id, at, seq);
CREATE INDEX audit_by_actor ON audit_log (company_id, actor_user, at, seq);
CREATE INDEX audit_by_action ON audit_log (company_id, action, at, seq);
CREATE INDEX audit_by_meeting ON audit_log (company_id, meeting_number, at, seq)
    WHERE meeting_number IS NOT NULL;
CREATE INDEX audit_by_time ON audit_log (at);

CREATE FUNCTION audit_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_update();
