-- Recordings that Plenum makes itself (the recorder), beside imported ones.
-- - status gains 'failed' (a recording that could not be written or stored; `failure` says
--   why);
-- - `file_ext` is set when Plenum holds the file (its key is company/session/id.file_ext in
--   the recordings storage); NULL for an imported recording, whose link is `download_url`.
-- SQLite cannot change a CHECK in place: the table is rebuilt (rows, indexes, triggers).

CREATE TABLE recordings_new (
    seq             INTEGER PRIMARY KEY,
    id              BLOB    NOT NULL UNIQUE,
    company_id      BLOB    NOT NULL REFERENCES companies (id),
    session_seq     INTEGER NOT NULL REFERENCES sessions (seq),
    attendance_seq  INTEGER REFERENCES attendance (seq),   -- the participant, if one
    kind            TEXT    NOT NULL CHECK (kind IN ('audio', 'video')),
    status          TEXT    NOT NULL CHECK (status IN ('completed', 'processing', 'failed')),
    codec           TEXT    NOT NULL,
    size_bytes      INTEGER NOT NULL CHECK (size_bytes >= 0),
    duration_secs   INTEGER NOT NULL CHECK (duration_secs >= 0),
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    completed_at    INTEGER,
    download_url    TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    file_ext        TEXT    CHECK (file_ext IN ('webm', 'mkv')),
    failure         TEXT
) STRICT;

INSERT INTO recordings_new (seq, id, company_id, session_seq, attendance_seq, kind, status,
    codec, size_bytes, duration_secs, started_at, ended_at, completed_at, download_url,
    created_at, updated_at)
SELECT seq, id, company_id, session_seq, attendance_seq, kind, status, codec, size_bytes,
    duration_secs, started_at, ended_at, completed_at, download_url, created_at, updated_at
FROM recordings;

DROP TABLE recordings;
ALTER TABLE recordings_new RENAME TO recordings;

CREATE INDEX recordings_by_company_end ON recordings (company_id, ended_at);
CREATE INDEX recordings_by_company_duration ON recordings (company_id, duration_secs);
CREATE INDEX recordings_by_company_status ON recordings (company_id, status, started_at);
CREATE INDEX recordings_by_company_kind ON recordings (company_id, kind, started_at);
CREATE INDEX recordings_by_attendance ON recordings (attendance_seq) WHERE attendance_seq IS NOT NULL;
CREATE INDEX recordings_by_session_status_start
    ON recordings (session_seq, status, started_at, seq);
CREATE INDEX recordings_by_company_start_seq_filters
    ON recordings (company_id, started_at, seq, ended_at, duration_secs, status, kind, session_seq);
-- The recorder's own questions: what a crash left processing; what retention expires.
CREATE INDEX recordings_processing ON recordings (status) WHERE status = 'processing';
CREATE INDEX recordings_by_end ON recordings (ended_at) WHERE ended_at IS NOT NULL;

CREATE TRIGGER recordings_generation_insert AFTER INSERT ON recordings BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'recordings', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER recordings_generation_delete AFTER DELETE ON recordings BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'recordings', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER recordings_generation_update
    AFTER UPDATE OF seq, company_id, session_seq, started_at, ended_at, duration_secs, status,
        kind ON recordings BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'recordings', 1), (new.company_id, 'recordings', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER recording_rows_insert AFTER INSERT ON recordings BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'session_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER recording_rows_update AFTER UPDATE ON recordings BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'session_rows', 1), (old.company_id, 'recording_rows', 1),
               (new.company_id, 'session_rows', 1), (new.company_id, 'recording_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER recording_rows_delete AFTER DELETE ON recordings BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'session_rows', 1), (old.company_id, 'recording_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
