-- Change generations (plenum-store-memory's `generations.rs`): a counter per company and
-- subject that every change of that subject bumps, in the transaction of the change itself.
-- The in-memory list indexes and remembered rows are trusted only while the counter they were
-- built at holds, whichever node (or `plenum import`) wrote the change. The same subjects as
-- SQLite's triggers (its migrations 0008, 0009, 0011):
--   'schedules'       the company-wide meeting list: any meeting, its owner's names, its
--                     series' frequency;
--   'sessions'        the sessions list: a session's number, company, start, name, room;
--   'recordings'      the recordings list: what a Telnyx filter tests, and a session's room;
--   'session_rows'    what a session's row shows, and who attended it once it ended;
--   'recording_rows'  what a recording's row shows.
-- A running meeting's heartbeats (unchanged peak) and its joins and leaves move nothing.
--
-- Why triggers and not LISTEN/NOTIFY: a reader must know the generation of exactly the rows it
-- reads. The counter is read in the reader's REPEATABLE READ snapshot with the rows; a writer
-- holds the counter's row lock until it commits, so two changes never commit under one value
-- and a snapshot's value names exactly the changes it sees. A notification arrives after the
-- commit, outside any snapshot, and is lost while a listener reconnects.
CREATE TABLE change_generations (
    company_id  uuid    NOT NULL,
    subject     text    NOT NULL,
    generation  bigint  NOT NULL,
    PRIMARY KEY (company_id, subject)
);

CREATE FUNCTION bump_generation(uuid, text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO change_generations (company_id, subject, generation) VALUES ($1, $2, 1)
    ON CONFLICT (company_id, subject)
        DO UPDATE SET generation = change_generations.generation + 1
$$;

CREATE FUNCTION sessions_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A new row needs no row generation: nothing remembered describes it.
        PERFORM bump_generation(NEW.company_id, 'sessions');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM bump_generation(OLD.company_id, 'sessions');
        PERFORM bump_generation(OLD.company_id, 'recordings');
        PERFORM bump_generation(OLD.company_id, 'session_rows');
        PERFORM bump_generation(OLD.company_id, 'recording_rows');
    ELSE
        IF (OLD.seq, OLD.company_id, OLD.started_at, OLD.name, OLD.room_id)
            IS DISTINCT FROM (NEW.seq, NEW.company_id, NEW.started_at, NEW.name, NEW.room_id)
        THEN
            PERFORM bump_generation(OLD.company_id, 'sessions');
            PERFORM bump_generation(OLD.company_id, 'recordings');
            PERFORM bump_generation(NEW.company_id, 'sessions');
            PERFORM bump_generation(NEW.company_id, 'recordings');
        END IF;
        -- Everything a row shows but `last_seen_at` and `end_reason`.
        IF (OLD.id, OLD.company_id, OLD.meeting_number, OLD.name, OLD.owner_id, OLD.room_id,
            OLD.schedule_id, OLD.started_at, OLD.ended_at, OLD.peak_participants)
            IS DISTINCT FROM
           (NEW.id, NEW.company_id, NEW.meeting_number, NEW.name, NEW.owner_id, NEW.room_id,
            NEW.schedule_id, NEW.started_at, NEW.ended_at, NEW.peak_participants)
        THEN
            PERFORM bump_generation(OLD.company_id, 'session_rows');
            PERFORM bump_generation(NEW.company_id, 'session_rows');
        END IF;
        -- A recording's row shows its session's id and room.
        IF (OLD.id, OLD.room_id, OLD.company_id) IS DISTINCT FROM (NEW.id, NEW.room_id, NEW.company_id)
        THEN
            PERFORM bump_generation(OLD.company_id, 'recording_rows');
            PERFORM bump_generation(NEW.company_id, 'recording_rows');
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_generations AFTER INSERT OR UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_generations();

CREATE FUNCTION recordings_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- It can become its session's first completed recording.
        PERFORM bump_generation(NEW.company_id, 'recordings');
        PERFORM bump_generation(NEW.company_id, 'session_rows');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM bump_generation(OLD.company_id, 'recordings');
        PERFORM bump_generation(OLD.company_id, 'session_rows');
        PERFORM bump_generation(OLD.company_id, 'recording_rows');
    ELSIF OLD IS DISTINCT FROM NEW THEN
        IF (OLD.seq, OLD.company_id, OLD.session_seq, OLD.started_at, OLD.ended_at,
            OLD.duration_secs, OLD.status, OLD.kind)
            IS DISTINCT FROM
           (NEW.seq, NEW.company_id, NEW.session_seq, NEW.started_at, NEW.ended_at,
            NEW.duration_secs, NEW.status, NEW.kind)
        THEN
            PERFORM bump_generation(OLD.company_id, 'recordings');
            PERFORM bump_generation(NEW.company_id, 'recordings');
        END IF;
        PERFORM bump_generation(OLD.company_id, 'session_rows');
        PERFORM bump_generation(OLD.company_id, 'recording_rows');
        PERFORM bump_generation(NEW.company_id, 'session_rows');
        PERFORM bump_generation(NEW.company_id, 'recording_rows');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER recordings_generations AFTER INSERT OR UPDATE OR DELETE ON recordings
    FOR EACH ROW EXECUTE FUNCTION recordings_generations();

-- Who attended an ended session: a stay added to it (as an import does), changed or deleted.
-- Joins and leaves of a running meeting move nothing: its attendance is never remembered.
CREATE FUNCTION attendance_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (SELECT ended_at FROM sessions WHERE seq = NEW.session_seq) IS NOT NULL THEN
            PERFORM bump_generation(NEW.company_id, 'session_rows');
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM bump_generation(OLD.company_id, 'session_rows');
        PERFORM bump_generation(OLD.company_id, 'recording_rows');
    ELSIF (OLD.id, OLD.session_seq, OLD.company_id, OLD.user_id, OLD.joined_at)
        IS DISTINCT FROM (NEW.id, NEW.session_seq, NEW.company_id, NEW.user_id, NEW.joined_at)
    THEN
        PERFORM bump_generation(OLD.company_id, 'session_rows');
        PERFORM bump_generation(OLD.company_id, 'recording_rows');
        PERFORM bump_generation(NEW.company_id, 'session_rows');
        PERFORM bump_generation(NEW.company_id, 'recording_rows');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER attendance_generations AFTER INSERT OR UPDATE OR DELETE ON attendance
    FOR EACH ROW EXECUTE FUNCTION attendance_generations();

-- An owner's names show in meeting lists and session rows.
CREATE FUNCTION users_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.username, OLD.real_name) IS DISTINCT FROM (NEW.username, NEW.real_name) THEN
        PERFORM bump_generation(NEW.company_id, 'schedules');
        PERFORM bump_generation(NEW.company_id, 'session_rows');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_generations AFTER UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION users_generations();

CREATE FUNCTION schedules_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM bump_generation(OLD.company_id, 'schedules');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM bump_generation(NEW.company_id, 'schedules');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER schedules_generations AFTER INSERT OR UPDATE OR DELETE ON schedules
    FOR EACH ROW EXECUTE FUNCTION schedules_generations();

CREATE FUNCTION series_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.frequency IS DISTINCT FROM NEW.frequency THEN
        PERFORM bump_generation(NEW.company_id, 'schedules');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER series_generations AFTER UPDATE ON series
    FOR EACH ROW EXECUTE FUNCTION series_generations();
