-- Which rows each change generation of the history lists moved for (see `changes_since` in
-- `plenum-store-memory/src/history/mod.rs`). A generation says only that something of a
-- company's subject changed, so every change emptied the company's remembered rows and rebuilt
-- its list index; with 20 meetings ending a second, almost no page was remembered. Now each
-- move of a history generation also writes the number of the row it moved for (`seq`: a
-- session's for 'sessions' and 'session_rows', a recording's for 'recordings' and
-- 'recording_rows'; NULL when it may touch any row: an owner's rename, a deleted session), in
-- the same transaction, so a reader at generation G learns from one indexed range which
-- remembered rows and index entries the moves since G touched, and keeps the others.
--
-- Bounded: a company keeps the last `1024` moves per subject (the oldest are deleted by the
-- move that makes them too old); a reader further behind than that starts over as before.
CREATE TABLE history_changes (
    company_id BLOB NOT NULL,
    subject TEXT NOT NULL,
    generation INTEGER NOT NULL,
    seq INTEGER
);
CREATE INDEX history_changes_by_generation ON history_changes (company_id, subject, generation, seq);

-- One move: the generation bumped and the row it moved for written, one piece of SQL that every
-- trigger below inserts into (a row per move).
CREATE VIEW history_change AS SELECT company_id, subject, seq FROM history_changes;
CREATE TRIGGER history_change_moved INSTEAD OF INSERT ON history_change BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, new.subject, 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
    INSERT INTO history_changes (company_id, subject, generation, seq)
        SELECT company_id, subject, generation, new.seq FROM change_generations
        WHERE company_id = new.company_id AND subject = new.subject;
    DELETE FROM history_changes
        WHERE company_id = new.company_id AND subject = new.subject
          AND generation <= (SELECT generation FROM change_generations
                             WHERE company_id = new.company_id AND subject = new.subject) - 1024;
END;

-- The triggers of 0009, 0011 and 0014, each firing on the same changes as before, now through
-- `history_change`. A row whose number or company changes is NULL (any row): it never happens
-- but through hand edits.

DROP TRIGGER sessions_generation_insert;
DROP TRIGGER sessions_generation_delete;
DROP TRIGGER sessions_generation_update;
DROP TRIGGER recordings_generation_insert;
DROP TRIGGER recordings_generation_delete;
DROP TRIGGER recordings_generation_update;
DROP TRIGGER session_rows_update;
DROP TRIGGER session_rows_recording_rows_session_ids;
DROP TRIGGER session_rows_delete;
DROP TRIGGER session_rows_owner;
DROP TRIGGER recording_rows_insert;
DROP TRIGGER recording_rows_update;
DROP TRIGGER recording_rows_delete;
DROP TRIGGER session_rows_attendance_insert;
DROP TRIGGER session_rows_attendance_update;
DROP TRIGGER session_rows_attendance_delete;

-- 'sessions' (and 'recordings', whose rooms are the sessions').
CREATE TRIGGER sessions_generation_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (new.company_id, 'sessions', new.seq);
END;
CREATE TRIGGER sessions_generation_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'sessions', old.seq), (old.company_id, 'recordings', NULL);
END;
CREATE TRIGGER sessions_generation_update
    AFTER UPDATE OF seq, company_id, started_at, name, room_id ON sessions BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'sessions',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END),
               (old.company_id, 'recordings', NULL),
               (new.company_id, 'sessions',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END),
               (new.company_id, 'recordings', NULL);
END;

-- 'recordings'.
CREATE TRIGGER recordings_generation_insert AFTER INSERT ON recordings BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (new.company_id, 'recordings', new.seq);
END;
CREATE TRIGGER recordings_generation_delete AFTER DELETE ON recordings BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'recordings', old.seq);
END;
CREATE TRIGGER recordings_generation_update
    AFTER UPDATE OF seq, company_id, session_seq, started_at, ended_at, duration_secs, status,
        kind ON recordings BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'recordings',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END),
               (new.company_id, 'recordings',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END);
END;

-- 'session_rows' and 'recording_rows' (what 0011 says each shows).
CREATE TRIGGER session_rows_update AFTER UPDATE ON sessions
    WHEN old.id IS NOT new.id OR old.company_id IS NOT new.company_id
      OR old.meeting_number IS NOT new.meeting_number OR old.name IS NOT new.name
      OR old.owner_id IS NOT new.owner_id OR old.room_id IS NOT new.room_id
      OR old.schedule_id IS NOT new.schedule_id OR old.started_at IS NOT new.started_at
      OR old.ended_at IS NOT new.ended_at
      OR old.peak_participants IS NOT new.peak_participants BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'session_rows',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END),
               (new.company_id, 'session_rows',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END);
END;
-- A recording shows its session's id and room: any of the session's recordings.
CREATE TRIGGER session_rows_recording_rows_session_ids AFTER UPDATE OF id, room_id, company_id
    ON sessions
    WHEN old.id IS NOT new.id OR old.room_id IS NOT new.room_id
      OR old.company_id IS NOT new.company_id BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'recording_rows', NULL), (new.company_id, 'recording_rows', NULL);
END;
CREATE TRIGGER session_rows_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'session_rows', old.seq), (old.company_id, 'recording_rows', NULL);
END;

CREATE TRIGGER session_rows_owner AFTER UPDATE OF username, real_name ON users
    WHEN old.username IS NOT new.username OR old.real_name IS NOT new.real_name BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (new.company_id, 'session_rows', NULL);
END;

-- A recording can become its session's first completed one; a recording's own row changes.
CREATE TRIGGER recording_rows_insert AFTER INSERT ON recordings BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (new.company_id, 'session_rows', new.session_seq);
END;
CREATE TRIGGER recording_rows_update AFTER UPDATE ON recordings BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'session_rows', old.session_seq),
               (old.company_id, 'recording_rows',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END),
               (new.company_id, 'session_rows', new.session_seq),
               (new.company_id, 'recording_rows',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END);
END;
CREATE TRIGGER recording_rows_delete AFTER DELETE ON recordings BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'session_rows', old.session_seq),
               (old.company_id, 'recording_rows', old.seq);
END;

-- Who attended an ended session; a recording shows its participant's id (any recording).
CREATE TRIGGER session_rows_attendance_insert AFTER INSERT ON attendance
    WHEN (SELECT ended_at FROM sessions WHERE seq = new.session_seq) IS NOT NULL BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (new.company_id, 'session_rows', new.session_seq);
END;
CREATE TRIGGER session_rows_attendance_update AFTER UPDATE OF id, session_seq, company_id,
    user_id, joined_at ON attendance
    WHEN old.id IS NOT new.id OR old.session_seq IS NOT new.session_seq
      OR old.company_id IS NOT new.company_id OR old.user_id IS NOT new.user_id
      OR old.joined_at IS NOT new.joined_at BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'session_rows', old.session_seq),
               (old.company_id, 'recording_rows', NULL),
               (new.company_id, 'session_rows', new.session_seq),
               (new.company_id, 'recording_rows', NULL);
END;
CREATE TRIGGER session_rows_attendance_delete AFTER DELETE ON attendance BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'session_rows', old.session_seq),
               (old.company_id, 'recording_rows', NULL);
END;
