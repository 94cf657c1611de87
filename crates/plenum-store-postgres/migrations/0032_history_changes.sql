-- Which rows each move of a history list's change generation was for (SQLite's migration 0021,
-- `changes_since` in `plenum-store-memory/src/history/mod.rs`). A generation says only that
-- something of a company's subject changed, so every change emptied the company's remembered
-- rows and rebuilt its list index. Now each move of a history generation also writes the
-- number of the row it moved for (`seq`: a session's for 'sessions' and 'session_rows', a
-- recording's for 'recordings' and 'recording_rows'; NULL when it may touch any row: an
-- owner's rename, a deleted session), so a reader at generation G learns from one indexed
-- range which remembered rows and index entries the moves since G touched, and keeps the
-- others.
--
-- Written by the move itself, in the change's transaction, under the generation's row lock
-- (0030): a move's record commits with it, and a snapshot that sees generation G sees exactly
-- the records of the moves up to G. 'schedules' records nothing (its index is rebuilt).
--
-- Bounded: a company keeps the last 1024 moves per subject; each move deletes the one that
-- it makes too old, by key (a range delete would walk the dead entries left before it until
-- a vacuum). A reader further behind than that starts over as before.
CREATE TABLE history_changes (
    company_id  uuid    NOT NULL,
    subject     text    NOT NULL,
    generation  bigint  NOT NULL,
    seq         bigint,
    PRIMARY KEY (company_id, subject, generation) INCLUDE (seq)
);

-- The new generation, for the record of the move.
DROP FUNCTION bump_generation(uuid, text);
CREATE FUNCTION bump_generation(uuid, text) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO change_generations (company_id, subject, generation) VALUES ($1, $2, 1)
    ON CONFLICT (company_id, subject)
        DO UPDATE SET generation = change_generations.generation + 1
    RETURNING generation
$$;

-- One move of a history generation: bumped, recorded for row $3, the 1024th before forgotten.
CREATE FUNCTION history_moved(uuid, text, bigint) RETURNS void LANGUAGE sql AS $$
    WITH moved AS (SELECT bump_generation($1, $2) AS generation),
    recorded AS (
        INSERT INTO history_changes (company_id, subject, generation, seq)
        SELECT $1, $2, generation, $3 FROM moved
    )
    DELETE FROM history_changes
    WHERE company_id = $1 AND subject = $2
      AND generation = (SELECT generation - 1024 FROM moved)
$$;

-- 0030's trigger functions, firing on the same changes, now through `history_moved`. A row
-- whose number or company changes is recorded as NULL (any row): only hand edits do that.
-- An update within one company is one move per subject (0030 bumped old and new company
-- alike, twice for the same company): a live meeting's peak rise writes one record, not two.
CREATE OR REPLACE FUNCTION sessions_generations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- An update's row, unless its number or company changed.
    same bigint := CASE WHEN TG_OP = 'UPDATE' AND OLD.seq = NEW.seq
                             AND OLD.company_id = NEW.company_id THEN NEW.seq END;
    moved_company boolean := TG_OP = 'UPDATE' AND OLD.company_id <> NEW.company_id;
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A new row needs no row generation: nothing remembered describes it.
        PERFORM history_moved(NEW.company_id, 'sessions', NEW.seq);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM history_moved(OLD.company_id, 'sessions', OLD.seq);
        PERFORM history_moved(OLD.company_id, 'recordings', NULL);
        PERFORM history_moved(OLD.company_id, 'session_rows', OLD.seq);
        PERFORM history_moved(OLD.company_id, 'recording_rows', NULL);
    ELSE
        IF (OLD.seq, OLD.company_id, OLD.started_at, OLD.name, OLD.room_id)
            IS DISTINCT FROM (NEW.seq, NEW.company_id, NEW.started_at, NEW.name, NEW.room_id)
        THEN
            -- The session's recordings show its room: any recording.
            PERFORM history_moved(OLD.company_id, 'sessions', same);
            PERFORM history_moved(OLD.company_id, 'recordings', NULL);
            IF moved_company THEN
                PERFORM history_moved(NEW.company_id, 'sessions', NULL);
                PERFORM history_moved(NEW.company_id, 'recordings', NULL);
            END IF;
        END IF;
        -- Everything a row shows but `last_seen_at` and `end_reason`.
        IF (OLD.id, OLD.company_id, OLD.meeting_number, OLD.name, OLD.owner_id, OLD.room_id,
            OLD.schedule_id, OLD.started_at, OLD.ended_at, OLD.peak_participants)
            IS DISTINCT FROM
           (NEW.id, NEW.company_id, NEW.meeting_number, NEW.name, NEW.owner_id, NEW.room_id,
            NEW.schedule_id, NEW.started_at, NEW.ended_at, NEW.peak_participants)
        THEN
            PERFORM history_moved(OLD.company_id, 'session_rows', same);
            IF moved_company THEN
                PERFORM history_moved(NEW.company_id, 'session_rows', NULL);
            END IF;
        END IF;
        -- A recording's row shows its session's id and room: any recording.
        IF (OLD.id, OLD.room_id, OLD.company_id) IS DISTINCT FROM (NEW.id, NEW.room_id, NEW.company_id)
        THEN
            PERFORM history_moved(OLD.company_id, 'recording_rows', NULL);
            IF moved_company THEN
                PERFORM history_moved(NEW.company_id, 'recording_rows', NULL);
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION recordings_generations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- An update's row, unless its number or company changed.
    same bigint := CASE WHEN TG_OP = 'UPDATE' AND OLD.seq = NEW.seq
                             AND OLD.company_id = NEW.company_id THEN NEW.seq END;
    moved_company boolean := TG_OP = 'UPDATE' AND OLD.company_id <> NEW.company_id;
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- It can become its session's first completed recording.
        PERFORM history_moved(NEW.company_id, 'recordings', NEW.seq);
        PERFORM history_moved(NEW.company_id, 'session_rows', NEW.session_seq);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM history_moved(OLD.company_id, 'recordings', OLD.seq);
        PERFORM history_moved(OLD.company_id, 'session_rows', OLD.session_seq);
        PERFORM history_moved(OLD.company_id, 'recording_rows', OLD.seq);
    ELSIF OLD IS DISTINCT FROM NEW THEN
        IF (OLD.seq, OLD.company_id, OLD.session_seq, OLD.started_at, OLD.ended_at,
            OLD.duration_secs, OLD.status, OLD.kind)
            IS DISTINCT FROM
           (NEW.seq, NEW.company_id, NEW.session_seq, NEW.started_at, NEW.ended_at,
            NEW.duration_secs, NEW.status, NEW.kind)
        THEN
            PERFORM history_moved(OLD.company_id, 'recordings', same);
            IF moved_company THEN
                PERFORM history_moved(NEW.company_id, 'recordings', NULL);
            END IF;
        END IF;
        PERFORM history_moved(OLD.company_id, 'session_rows', OLD.session_seq);
        PERFORM history_moved(OLD.company_id, 'recording_rows', same);
        IF moved_company OR OLD.session_seq IS DISTINCT FROM NEW.session_seq THEN
            PERFORM history_moved(NEW.company_id, 'session_rows', NEW.session_seq);
        END IF;
        IF moved_company THEN
            PERFORM history_moved(NEW.company_id, 'recording_rows', NULL);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- A stay shows in its session's row; a recording shows its participant's id: any recording.
CREATE OR REPLACE FUNCTION attendance_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (SELECT ended_at FROM sessions WHERE seq = NEW.session_seq) IS NOT NULL THEN
            PERFORM history_moved(NEW.company_id, 'session_rows', NEW.session_seq);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM history_moved(OLD.company_id, 'session_rows', OLD.session_seq);
        PERFORM history_moved(OLD.company_id, 'recording_rows', NULL);
    ELSIF (OLD.id, OLD.session_seq, OLD.company_id, OLD.user_id, OLD.joined_at)
        IS DISTINCT FROM (NEW.id, NEW.session_seq, NEW.company_id, NEW.user_id, NEW.joined_at)
    THEN
        PERFORM history_moved(OLD.company_id, 'session_rows', OLD.session_seq);
        PERFORM history_moved(OLD.company_id, 'recording_rows', NULL);
        IF OLD.company_id IS DISTINCT FROM NEW.company_id
            OR OLD.session_seq IS DISTINCT FROM NEW.session_seq
        THEN
            PERFORM history_moved(NEW.company_id, 'session_rows', NEW.session_seq);
        END IF;
        IF OLD.company_id IS DISTINCT FROM NEW.company_id THEN
            PERFORM history_moved(NEW.company_id, 'recording_rows', NULL);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- An owner's names show in meeting lists and in every session row of theirs: any row.
CREATE OR REPLACE FUNCTION users_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.username, OLD.real_name) IS DISTINCT FROM (NEW.username, NEW.real_name) THEN
        PERFORM bump_generation(NEW.company_id, 'schedules');
        PERFORM history_moved(NEW.company_id, 'session_rows', NULL);
    END IF;
    RETURN NULL;
END
$$;
