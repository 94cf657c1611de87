-- Plenum's schema in PostgreSQL: the tables of plenum-store-sqlite's migrations 0001-0015 as
-- they stand after 0015, translated. Ids are `uuid`; instants are `bigint` UTC milliseconds
-- (as in SQLite: the store's contract speaks in milliseconds); SQLite's 0/1 integers are
-- `boolean`; hashes and seeds are `bytea`. Every integer is `bigint`, so that a Rust `i64` binds
-- to any of them.
--
-- Left out on purpose:
-- - the `change_generations` table and its triggers (SQLite 0008/0009/0011): they keep the
--   SQLite store's in-memory indexes and remembered rows fresh. This store answers every
--   query from the tables, so nothing needs them yet (issue 15: a backend-neutral speed layer
--   will bring a "generations" port with triggers or LISTEN/NOTIFY here);
-- - the FTS5 trigram table of meeting names: `pg_trgm`'s GIN index on `schedules.name_key`
--   serves the same substring search (`LIKE '%…%'`);
-- - `rowid`: where SQLite breaks ties by rowid (companies, rooms, API keys) a `seq` identity
--   column does.
--
-- Text compared by code point, as SQLite compares it (`COLLATE "C"`): keys that lists are
-- ordered by (`username_key`) and meeting numbers (prefix ranges).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE companies (
    seq               bigint  GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                uuid    PRIMARY KEY,
    name              text    NOT NULL,
    name_key          text    NOT NULL UNIQUE,         -- lower-cased name: names are unique
    time_zone         text    NOT NULL,
    max_users         bigint  NOT NULL CHECK (max_users > 0),
    is_default        boolean NOT NULL DEFAULT false,
    created_at        bigint  NOT NULL,
    -- The last `sessions.company_seq` given out (see the trigger below).
    last_session_seq  bigint  NOT NULL DEFAULT 0
);
-- At most one default company.
CREATE UNIQUE INDEX companies_single_default ON companies (is_default) WHERE is_default;

CREATE TABLE users (
    id                  uuid    PRIMARY KEY,
    company_id          uuid    NOT NULL REFERENCES companies (id),
    username            text    NOT NULL,
    username_key        text    COLLATE "C" NOT NULL UNIQUE, -- ASCII-lower-cased: global
    real_name           text    NOT NULL DEFAULT '',
    real_name_key       text    NOT NULL DEFAULT '',   -- lower-cased (Unicode, by the store)
    email               text    NOT NULL DEFAULT '',
    department          text    NOT NULL DEFAULT '',
    mobile              text    NOT NULL DEFAULT '',
    role                text    NOT NULL CHECK (role IN ('Normal', 'MeetingOperator', 'SystemAdmin')),
    secret_hash         text    NOT NULL,
    security_level      text    NOT NULL,
    secret_changed_at   bigint  NOT NULL,
    failed_sign_ins     bigint  NOT NULL DEFAULT 0,
    locked_until        bigint,
    created_at          bigint  NOT NULL,
    calendar_feed_hash  bytea
);
CREATE INDEX users_by_company ON users (company_id, username_key);
CREATE INDEX users_by_company_role ON users (company_id, role);
CREATE UNIQUE INDEX users_by_calendar_feed ON users (calendar_feed_hash)
    WHERE calendar_feed_hash IS NOT NULL;
-- Addresses compared without regard to ASCII case (SQLite: COLLATE NOCASE).
CREATE INDEX users_by_email ON users (lower(email)) WHERE email <> '';

CREATE TABLE access_tokens (
    token_hash  bytea   PRIMARY KEY,
    user_id     uuid    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    company_id  uuid    NOT NULL,
    client_id   text,
    issued_at   bigint  NOT NULL,
    expires_at  bigint  NOT NULL
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

-- Every joinable number, once: held by exactly one room, single schedule or series.
CREATE TABLE meeting_numbers (
    number       text COLLATE "C" PRIMARY KEY,
    company_id   uuid NOT NULL REFERENCES companies (id),
    room_id      uuid,
    schedule_id  uuid,
    series_id    uuid,
    CHECK ((room_id IS NOT NULL)::int + (schedule_id IS NOT NULL)::int
           + (series_id IS NOT NULL)::int = 1)
);
CREATE INDEX meeting_numbers_by_room ON meeting_numbers (room_id) WHERE room_id IS NOT NULL;
CREATE INDEX meeting_numbers_by_schedule ON meeting_numbers (schedule_id) WHERE schedule_id IS NOT NULL;
CREATE INDEX meeting_numbers_by_series ON meeting_numbers (series_id) WHERE series_id IS NOT NULL;

CREATE TABLE rooms (
    seq             bigint  GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              uuid    PRIMARY KEY,
    company_id      uuid    NOT NULL REFERENCES companies (id),
    name            text    NOT NULL,
    meeting_number  text    COLLATE "C" NOT NULL,
    password        text,
    owner_id        uuid    NOT NULL REFERENCES users (id),
    creator_id      uuid    NOT NULL REFERENCES users (id),
    created_at      bigint  NOT NULL,
    revision        bigint  NOT NULL DEFAULT 0
);
CREATE INDEX rooms_by_company ON rooms (company_id, created_at, seq);

CREATE TABLE series (
    id               uuid    PRIMARY KEY,
    company_id       uuid    NOT NULL REFERENCES companies (id),
    meeting_number   text    COLLATE "C" NOT NULL,
    room_id          uuid    REFERENCES rooms (id),
    owner_id         uuid    NOT NULL REFERENCES users (id),
    frequency        text    NOT NULL CHECK (frequency IN ('DAILY', 'WEEKLY', 'MONTHLY')),
    "interval"       bigint  NOT NULL CHECK ("interval" > 0),
    first_start      bigint  NOT NULL,
    duration_ms      bigint  NOT NULL CHECK (duration_ms > 0),
    until            bigint  NOT NULL,
    time_zone        text    NOT NULL,
    name             text    NOT NULL,
    description      text    NOT NULL,
    password         text,
    call_rate_kbps   bigint  NOT NULL,
    mute_upon_entry  boolean NOT NULL,
    guest_dial_in    boolean NOT NULL,
    watermark        boolean NOT NULL,
    watermark_type   text    NOT NULL,
    time_to_join     bigint  NOT NULL,
    live_passcode    text,
    live_id          text,
    join_code        text    NOT NULL,
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL,
    revision         bigint  NOT NULL DEFAULT 0
);
CREATE INDEX series_by_company ON series (company_id);
CREATE INDEX series_by_owner ON series (owner_id);
CREATE INDEX series_by_room ON series (room_id) WHERE room_id IS NOT NULL;

CREATE TABLE series_invitees (
    series_id  uuid NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id),
    PRIMARY KEY (series_id, user_id)
);
CREATE INDEX series_invitees_by_user ON series_invitees (user_id);

-- Occurrences deleted one by one (iCalendar EXDATE), by their original start.
CREATE TABLE series_exdates (
    series_id       uuid    NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    original_start  bigint  NOT NULL,
    PRIMARY KEY (series_id, original_start)
);

CREATE TABLE schedules (
    id               uuid    PRIMARY KEY,
    company_id       uuid    NOT NULL REFERENCES companies (id),
    kind             text    NOT NULL CHECK (kind IN ('instant', 'reservation', 'recurrence')),
    series_id        uuid    REFERENCES series (id) ON DELETE CASCADE,
    original_start   bigint,
    overridden       boolean NOT NULL DEFAULT false,
    meeting_number   text    COLLATE "C" NOT NULL,
    room_id          uuid    REFERENCES rooms (id),
    owner_id         uuid    NOT NULL REFERENCES users (id),
    start_at         bigint  NOT NULL,
    end_at           bigint  NOT NULL,
    name             text    NOT NULL,
    name_key         text    NOT NULL,                 -- lower-cased name (by the store)
    description      text    NOT NULL,
    password         text,
    call_rate_kbps   bigint  NOT NULL,
    mute_upon_entry  boolean NOT NULL,
    guest_dial_in    boolean NOT NULL,
    watermark        boolean NOT NULL,
    watermark_type   text    NOT NULL,
    time_to_join     bigint  NOT NULL,
    live_passcode    text,
    live_id          text,
    join_code        text    NOT NULL,
    created_at       bigint  NOT NULL,
    updated_at       bigint  NOT NULL,
    revision         bigint  NOT NULL DEFAULT 0
);
CREATE INDEX schedules_by_company_start ON schedules (company_id, start_at, id);
CREATE INDEX schedules_by_owner_start ON schedules (owner_id, start_at);
CREATE INDEX schedules_by_series ON schedules (series_id, start_at) WHERE series_id IS NOT NULL;
CREATE INDEX schedules_by_number ON schedules (meeting_number);
CREATE INDEX schedules_by_room ON schedules (room_id) WHERE room_id IS NOT NULL;
CREATE INDEX schedules_by_join_code ON schedules (join_code);
-- Substring search on meeting names (the filter's `LIKE '%…%'`).
CREATE INDEX schedules_name_trigrams ON schedules USING gin (name_key gin_trgm_ops);

CREATE TABLE schedule_invitees (
    schedule_id  uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id),
    PRIMARY KEY (schedule_id, user_id)
);
CREATE INDEX schedule_invitees_by_user ON schedule_invitees (user_id, schedule_id);

-- The record of meetings held. History outlives what it refers to: a session keeps its
-- meeting number, name, room id and schedule id as values (no foreign keys to rooms or
-- schedules, which can be deleted later).
CREATE TABLE sessions (
    seq                bigint  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id                 uuid    NOT NULL UNIQUE,
    company_id         uuid    NOT NULL REFERENCES companies (id),
    meeting_number     text    COLLATE "C" NOT NULL,
    name               text    NOT NULL,
    owner_id           uuid    NOT NULL REFERENCES users (id),
    room_id            uuid,
    schedule_id        uuid,
    started_at         bigint  NOT NULL,
    ended_at           bigint,
    last_seen_at       bigint  NOT NULL,
    peak_participants  bigint  NOT NULL DEFAULT 0,
    end_reason         text,
    -- The session's number within its company (Rokid's `id`), given by the trigger below.
    company_seq        bigint,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX sessions_by_company_start ON sessions (company_id, started_at, seq);
CREATE INDEX sessions_by_room_start ON sessions (room_id, started_at) WHERE room_id IS NOT NULL;
CREATE INDEX sessions_by_number ON sessions (meeting_number, started_at);
CREATE INDEX sessions_open ON sessions (ended_at) WHERE ended_at IS NULL;
CREATE INDEX sessions_by_schedule ON sessions (schedule_id, started_at) WHERE schedule_id IS NOT NULL;
CREATE UNIQUE INDEX sessions_by_company_number ON sessions (company_id, company_seq);

-- Every new session takes its company's next number, whoever writes it. The company's row
-- holds the counter, so concurrent writers queue on that row instead of colliding on
-- `MAX(company_seq) + 1`.
CREATE FUNCTION sessions_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.company_seq IS NULL THEN
        UPDATE companies SET last_session_seq = last_session_seq + 1
            WHERE id = NEW.company_id
            RETURNING last_session_seq INTO NEW.company_seq;
    ELSE
        UPDATE companies SET last_session_seq = greatest(last_session_seq, NEW.company_seq)
            WHERE id = NEW.company_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sessions_numbered BEFORE INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_number();

CREATE TABLE session_invitees (
    session_seq  bigint NOT NULL REFERENCES sessions (seq) ON DELETE CASCADE,
    user_id      uuid   NOT NULL REFERENCES users (id),
    PRIMARY KEY (session_seq, user_id)
);

CREATE TABLE attendance (
    seq           bigint  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id            uuid    NOT NULL UNIQUE,
    session_seq   bigint  NOT NULL REFERENCES sessions (seq),
    company_id    uuid    NOT NULL REFERENCES companies (id),
    user_id       uuid    REFERENCES users (id),
    display_name  text    NOT NULL,
    call_number   text    NOT NULL DEFAULT '',
    device_type   text    NOT NULL,
    media_type    text    NOT NULL,
    department    text    NOT NULL DEFAULT '',
    joined_at     bigint  NOT NULL,
    left_at       bigint,
    leave_reason  text,
    CHECK (left_at IS NULL OR left_at >= joined_at)
);
CREATE INDEX attendance_by_session ON attendance (session_seq, joined_at);
CREATE INDEX attendance_open ON attendance (session_seq) WHERE left_at IS NULL;

CREATE TABLE recordings (
    seq             bigint  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id              uuid    NOT NULL UNIQUE,
    company_id      uuid    NOT NULL REFERENCES companies (id),
    session_seq     bigint  NOT NULL REFERENCES sessions (seq),
    attendance_seq  bigint  REFERENCES attendance (seq),
    kind            text    NOT NULL CHECK (kind IN ('audio', 'video')),
    status          text    NOT NULL CHECK (status IN ('completed', 'processing', 'failed')),
    codec           text    NOT NULL,
    size_bytes      bigint  NOT NULL CHECK (size_bytes >= 0),
    duration_secs   bigint  NOT NULL CHECK (duration_secs >= 0),
    started_at      bigint  NOT NULL,
    ended_at        bigint,
    completed_at    bigint,
    download_url    text    NOT NULL DEFAULT '',
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    file_ext        text    CHECK (file_ext IN ('webm', 'mkv')),
    failure         text
);
CREATE INDEX recordings_by_company_start ON recordings (company_id, started_at, seq);
CREATE INDEX recordings_by_company_end ON recordings (company_id, ended_at);
CREATE INDEX recordings_by_company_duration ON recordings (company_id, duration_secs);
CREATE INDEX recordings_by_company_status ON recordings (company_id, status, started_at);
CREATE INDEX recordings_by_company_kind ON recordings (company_id, kind, started_at);
CREATE INDEX recordings_by_attendance ON recordings (attendance_seq) WHERE attendance_seq IS NOT NULL;
CREATE INDEX recordings_by_session_status_start ON recordings (session_seq, status, started_at, seq);
CREATE INDEX recordings_processing ON recordings (status) WHERE status = 'processing';
CREATE INDEX recordings_by_end ON recordings (ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE session_events (
    session_seq  bigint  NOT NULL REFERENCES sessions (seq),
    event_seq    bigint  NOT NULL,
    at           bigint  NOT NULL,
    kind         text    NOT NULL,
    data         text    NOT NULL,
    PRIMARY KEY (session_seq, event_seq)
);

CREATE TABLE api_keys (
    seq          bigint  GENERATED ALWAYS AS IDENTITY UNIQUE,
    id           uuid    PRIMARY KEY,
    company_id   uuid    NOT NULL REFERENCES companies (id),
    name         text    NOT NULL,
    kind         text    NOT NULL CHECK (kind IN ('api_key', 'huawei_app')),
    prefix       text    NOT NULL,
    secret_hash  bytea   NOT NULL UNIQUE,
    app_id       text    UNIQUE,
    seed         bytea,
    created_at   bigint  NOT NULL,
    revoked_at   bigint,
    CHECK ((kind = 'huawei_app') = (app_id IS NOT NULL AND seed IS NOT NULL))
);
CREATE INDEX api_keys_by_company ON api_keys (company_id, created_at);

CREATE TABLE app_tokens (
    token_hash   bytea   PRIMARY KEY,
    company_id   uuid    NOT NULL REFERENCES companies (id),
    api_key_id   uuid    NOT NULL REFERENCES api_keys (id),
    issued_at    bigint  NOT NULL,
    expires_at   bigint  NOT NULL
);
CREATE INDEX app_tokens_by_expiry ON app_tokens (expires_at);
