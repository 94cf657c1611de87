-- The record of meetings held: sessions (one holding of a meeting number, start to end), the
-- attendance of each participant (one join to one leave), recordings, and the log of what
-- hosts changed during a session. Written by the live runtime and by `plenum import`; read by
-- the history surfaces (FRTC, Rokid, Rocket.Chat, Telnyx, Huawei).
--
-- History outlives what it refers to: a session keeps its meeting number, name, room id and
-- schedule id as values (no foreign keys to rooms or schedules, which can be deleted later).

CREATE TABLE sessions (
    -- Stable integer key: compact references from the large attendance table, and the
    -- numeric `id` that Rokid's meeting history shows.
    seq                INTEGER PRIMARY KEY,
    id                 BLOB    NOT NULL UNIQUE,            -- UUID: FRTC/Telnyx/Huawei id
    company_id         BLOB    NOT NULL REFERENCES companies (id),
    meeting_number     TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    owner_id           BLOB    NOT NULL REFERENCES users (id),
    room_id            BLOB,
    schedule_id        BLOB,
    started_at         INTEGER NOT NULL,
    ended_at           INTEGER,                            -- NULL while the session runs
    -- Last instant the live runtime vouched for the session; a restart after a crash closes
    -- open sessions and attendance here.
    last_seen_at       INTEGER NOT NULL,
    peak_participants  INTEGER NOT NULL DEFAULT 0,
    end_reason         TEXT,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
) STRICT;
CREATE INDEX sessions_by_company_start ON sessions (company_id, started_at);
CREATE INDEX sessions_by_room_start ON sessions (room_id, started_at) WHERE room_id IS NOT NULL;
CREATE INDEX sessions_by_number ON sessions (meeting_number, started_at);
CREATE INDEX sessions_open ON sessions (ended_at) WHERE ended_at IS NULL;

-- Who was invited to the session (copied from its schedule when it starts): invitees who
-- never joined are part of the attendance picture (Rokid 未进入).
CREATE TABLE session_invitees (
    session_seq  INTEGER NOT NULL REFERENCES sessions (seq) ON DELETE CASCADE,
    user_id      BLOB    NOT NULL REFERENCES users (id),
    PRIMARY KEY (session_seq, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE attendance (
    seq           INTEGER PRIMARY KEY,
    id            BLOB    NOT NULL UNIQUE,                 -- UUID: the participant's client_uuid
    session_seq   INTEGER NOT NULL REFERENCES sessions (seq),
    company_id    BLOB    NOT NULL REFERENCES companies (id),
    user_id       BLOB    REFERENCES users (id),           -- NULL for guests
    display_name  TEXT    NOT NULL,
    call_number   TEXT    NOT NULL DEFAULT '',
    device_type   TEXT    NOT NULL,
    media_type    TEXT    NOT NULL,
    department    TEXT    NOT NULL DEFAULT '',
    joined_at     INTEGER NOT NULL,
    left_at       INTEGER,                                 -- NULL while in the meeting
    leave_reason  TEXT,
    CHECK (left_at IS NULL OR left_at >= joined_at)
) STRICT;
CREATE INDEX attendance_by_session ON attendance (session_seq, joined_at);
CREATE INDEX attendance_open ON attendance (session_seq) WHERE left_at IS NULL;

CREATE TABLE recordings (
    seq             INTEGER PRIMARY KEY,
    id              BLOB    NOT NULL UNIQUE,
    company_id      BLOB    NOT NULL REFERENCES companies (id),
    session_seq     INTEGER NOT NULL REFERENCES sessions (seq),
    attendance_seq  INTEGER REFERENCES attendance (seq),   -- the participant, if one
    kind            TEXT    NOT NULL CHECK (kind IN ('audio', 'video')),
    status          TEXT    NOT NULL CHECK (status IN ('completed', 'processing')),
    codec           TEXT    NOT NULL,
    size_bytes      INTEGER NOT NULL CHECK (size_bytes >= 0),
    duration_secs   INTEGER NOT NULL CHECK (duration_secs >= 0),
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    completed_at    INTEGER,
    download_url    TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX recordings_by_company_start ON recordings (company_id, started_at);
CREATE INDEX recordings_by_session ON recordings (session_seq);

-- What happened in a session, in order: joins and leaves are in `attendance`; this is every
-- other change (mute, lock, overlay, recording state, end time...), as the live runtime
-- applied it. `data` is the event as JSON in the runtime's own vocabulary.
CREATE TABLE session_events (
    session_seq  INTEGER NOT NULL REFERENCES sessions (seq),
    event_seq    INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    PRIMARY KEY (session_seq, event_seq)
) STRICT, WITHOUT ROWID;
