-- Meeting rooms, scheduled meetings (single and occurrences of series), recurring series,
-- the registry of meeting numbers, and calendar feeds.

-- Every joinable number, once: held by exactly one room, single schedule or series.
-- A schedule in a room uses the room's number and holds none itself.
CREATE TABLE meeting_numbers (
    number       TEXT PRIMARY KEY NOT NULL,
    company_id   BLOB NOT NULL REFERENCES companies (id),
    room_id      BLOB,
    schedule_id  BLOB,
    series_id    BLOB,
    CHECK ((room_id IS NOT NULL) + (schedule_id IS NOT NULL) + (series_id IS NOT NULL) = 1)
) STRICT, WITHOUT ROWID;
CREATE INDEX meeting_numbers_by_room ON meeting_numbers (room_id) WHERE room_id IS NOT NULL;
CREATE INDEX meeting_numbers_by_schedule ON meeting_numbers (schedule_id) WHERE schedule_id IS NOT NULL;
CREATE INDEX meeting_numbers_by_series ON meeting_numbers (series_id) WHERE series_id IS NOT NULL;

CREATE TABLE rooms (
    id              BLOB    PRIMARY KEY NOT NULL,
    company_id      BLOB    NOT NULL REFERENCES companies (id),
    name            TEXT    NOT NULL,
    meeting_number  TEXT    NOT NULL,
    password        TEXT,
    owner_id        BLOB    NOT NULL REFERENCES users (id),
    creator_id      BLOB    NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX rooms_by_company ON rooms (company_id, created_at);

-- Columns shared by series and schedules: the meeting's settings.
CREATE TABLE series (
    id               BLOB    PRIMARY KEY NOT NULL,
    company_id       BLOB    NOT NULL REFERENCES companies (id),
    meeting_number   TEXT    NOT NULL,
    room_id          BLOB    REFERENCES rooms (id),
    owner_id         BLOB    NOT NULL REFERENCES users (id),
    frequency        TEXT    NOT NULL CHECK (frequency IN ('DAILY', 'WEEKLY', 'MONTHLY')),
    interval         INTEGER NOT NULL CHECK (interval > 0),
    first_start      INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL CHECK (duration_ms > 0),
    until            INTEGER NOT NULL,
    time_zone        TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    password         TEXT,
    call_rate_kbps   INTEGER NOT NULL,
    mute_upon_entry  INTEGER NOT NULL,
    guest_dial_in    INTEGER NOT NULL,
    watermark        INTEGER NOT NULL,
    watermark_type   TEXT    NOT NULL,
    time_to_join     INTEGER NOT NULL,
    live_passcode    TEXT,
    live_id          TEXT,
    join_code        TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX series_by_company ON series (company_id);
CREATE INDEX series_by_owner ON series (owner_id);
CREATE INDEX series_by_room ON series (room_id) WHERE room_id IS NOT NULL;

CREATE TABLE series_invitees (
    series_id  BLOB NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id),
    PRIMARY KEY (series_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX series_invitees_by_user ON series_invitees (user_id);

-- Occurrences deleted one by one (iCalendar EXDATE), by their original start.
CREATE TABLE series_exdates (
    series_id       BLOB    NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    original_start  INTEGER NOT NULL,
    PRIMARY KEY (series_id, original_start)
) STRICT, WITHOUT ROWID;

CREATE TABLE schedules (
    id               BLOB    PRIMARY KEY NOT NULL,
    company_id       BLOB    NOT NULL REFERENCES companies (id),
    kind             TEXT    NOT NULL CHECK (kind IN ('instant', 'reservation', 'recurrence')),
    series_id        BLOB    REFERENCES series (id) ON DELETE CASCADE,
    original_start   INTEGER,                 -- occurrences: start before any override
    overridden       INTEGER NOT NULL DEFAULT 0,
    meeting_number   TEXT    NOT NULL,
    room_id          BLOB    REFERENCES rooms (id),
    owner_id         BLOB    NOT NULL REFERENCES users (id),
    start_at         INTEGER NOT NULL,
    end_at           INTEGER NOT NULL,
    name             TEXT    NOT NULL,
    name_key         TEXT    NOT NULL,        -- lower-cased name, for the filter
    description      TEXT    NOT NULL,
    password         TEXT,
    call_rate_kbps   INTEGER NOT NULL,
    mute_upon_entry  INTEGER NOT NULL,
    guest_dial_in    INTEGER NOT NULL,
    watermark        INTEGER NOT NULL,
    watermark_type   TEXT    NOT NULL,
    time_to_join     INTEGER NOT NULL,
    live_passcode    TEXT,
    live_id          TEXT,
    join_code        TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
-- Lists: a company's meetings by start time; one series' occurrences; by number; by room.
CREATE INDEX schedules_by_company_start ON schedules (company_id, start_at, id);
CREATE INDEX schedules_by_owner_start ON schedules (owner_id, start_at);
CREATE INDEX schedules_by_series ON schedules (series_id, start_at) WHERE series_id IS NOT NULL;
CREATE INDEX schedules_by_number ON schedules (meeting_number);
CREATE INDEX schedules_by_room ON schedules (room_id) WHERE room_id IS NOT NULL;
CREATE INDEX schedules_by_join_code ON schedules (join_code);
-- Filters too short for the trigram index scan this narrow index instead of the wide rows.
CREATE INDEX schedules_name_scan ON schedules (company_id, name_key, start_at, id);

CREATE TABLE schedule_invitees (
    schedule_id  BLOB NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users (id),
    PRIMARY KEY (schedule_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX schedule_invitees_by_user ON schedule_invitees (user_id, schedule_id);

-- Substring search on meeting names without scanning: a trigram index kept in step by
-- triggers (contentless-delete so rows can be removed by rowid).
CREATE VIRTUAL TABLE schedules_name_fts USING fts5 (
    name_key, content = '', contentless_delete = 1, tokenize = 'trigram'
);
CREATE TRIGGER schedules_fts_insert AFTER INSERT ON schedules BEGIN
    INSERT INTO schedules_name_fts (rowid, name_key) VALUES (new.rowid, new.name_key);
END;
CREATE TRIGGER schedules_fts_delete AFTER DELETE ON schedules BEGIN
    DELETE FROM schedules_name_fts WHERE rowid = old.rowid;
END;
CREATE TRIGGER schedules_fts_update AFTER UPDATE OF name_key ON schedules BEGIN
    DELETE FROM schedules_name_fts WHERE rowid = old.rowid;
    INSERT INTO schedules_name_fts (rowid, name_key) VALUES (new.rowid, new.name_key);
END;

-- Calendar feed: one secret URL per user, stored by hash.
ALTER TABLE users ADD COLUMN calendar_feed_hash BLOB;
CREATE UNIQUE INDEX users_by_calendar_feed ON users (calendar_feed_hash) WHERE calendar_feed_hash IS NOT NULL;

-- How many scheduled meetings each company has, kept by triggers: the unfiltered list's
-- total is read, not counted, however many meetings there are.
CREATE TABLE schedule_counts (
    company_id  BLOB    PRIMARY KEY NOT NULL,
    n           INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TRIGGER schedule_counts_insert AFTER INSERT ON schedules BEGIN
    INSERT INTO schedule_counts (company_id, n) VALUES (new.company_id, 1)
        ON CONFLICT (company_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER schedule_counts_delete AFTER DELETE ON schedules BEGIN
    UPDATE schedule_counts SET n = n - 1 WHERE company_id = old.company_id;
END;

-- How many meetings each trigram occurs in, for choosing the rarest trigrams of a search
-- (read one term at a time and cached, see `reads::TrigramStats`).
CREATE VIRTUAL TABLE schedules_name_vocab USING fts5vocab (schedules_name_fts, 'row');
