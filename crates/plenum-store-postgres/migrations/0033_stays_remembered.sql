-- An ended session's stays are remembered whole for its attendance pages, and the numbers of
-- the sessions and stays that filters and pages name are remembered by id
-- (`plenum-store-memory/src/history/mod.rs`; SQLite's migration 0022). So what those show must
-- move their subjects:
--
-- - 'session_rows' for the session when anything a stay shows changes after its session
--   ended (a running session's stays are never remembered, so its joins and leaves still move
--   nothing), and when its invitees change;
-- - a session's number within its company (`company_seq`, shown in its row and named by Rokid)
--   as its other columns: 'session_rows' for the row, and 'recording_rows' for any row, which
--   is how the remembered numbers learn of a change of an id, a number or a company (as they
--   do of a stay's, below).
--
-- Only hand edits change these today; the triggers make memory follow them anyway.

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
            OLD.schedule_id, OLD.started_at, OLD.ended_at, OLD.peak_participants,
            OLD.company_seq)
            IS DISTINCT FROM
           (NEW.id, NEW.company_id, NEW.meeting_number, NEW.name, NEW.owner_id, NEW.room_id,
            NEW.schedule_id, NEW.started_at, NEW.ended_at, NEW.peak_participants,
            NEW.company_seq)
        THEN
            PERFORM history_moved(OLD.company_id, 'session_rows', same);
            IF moved_company THEN
                PERFORM history_moved(NEW.company_id, 'session_rows', NULL);
            END IF;
        END IF;
        -- A recording's row shows its session's id and room: any recording. The remembered
        -- numbers learn here that an id, a number or a company changed.
        IF (OLD.id, OLD.room_id, OLD.company_id, OLD.seq, OLD.company_seq)
            IS DISTINCT FROM (NEW.id, NEW.room_id, NEW.company_id, NEW.seq, NEW.company_seq)
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

CREATE OR REPLACE FUNCTION attendance_generations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (SELECT ended_at FROM sessions WHERE seq = NEW.session_seq) IS NOT NULL THEN
            PERFORM history_moved(NEW.company_id, 'session_rows', NEW.session_seq);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM history_moved(OLD.company_id, 'session_rows', OLD.session_seq);
        PERFORM history_moved(OLD.company_id, 'recording_rows', NULL);
    ELSIF (OLD.seq, OLD.id, OLD.session_seq, OLD.company_id, OLD.user_id, OLD.joined_at)
        IS DISTINCT FROM
          (NEW.seq, NEW.id, NEW.session_seq, NEW.company_id, NEW.user_id, NEW.joined_at)
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
    ELSIF (OLD.display_name, OLD.call_number, OLD.device_type, OLD.media_type, OLD.department,
           OLD.left_at)
        IS DISTINCT FROM
          (NEW.display_name, NEW.call_number, NEW.device_type, NEW.media_type, NEW.department,
           NEW.left_at)
        AND (SELECT ended_at FROM sessions WHERE seq = NEW.session_seq) IS NOT NULL
    THEN
        -- What a stay of an ended session shows (a running session's leaves move nothing).
        PERFORM history_moved(NEW.company_id, 'session_rows', NEW.session_seq);
    END IF;
    RETURN NULL;
END
$$;

-- A session's invitees show on its attendance pages (written when it starts, before anything
-- of it is remembered; only later changes move).
CREATE FUNCTION session_invitees_generations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    session_company uuid;
    session_ended bigint;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT company_id INTO session_company FROM sessions WHERE seq = OLD.session_seq;
        IF FOUND THEN
            PERFORM history_moved(session_company, 'session_rows', OLD.session_seq);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        SELECT company_id, ended_at INTO session_company, session_ended
            FROM sessions WHERE seq = NEW.session_seq;
        IF session_ended IS NOT NULL THEN
            PERFORM history_moved(session_company, 'session_rows', NEW.session_seq);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER session_invitees_generations AFTER INSERT OR UPDATE OR DELETE ON session_invitees
    FOR EACH ROW EXECUTE FUNCTION session_invitees_generations();

-- A meeting's detail is remembered under 'schedules' too (`ScheduleMemory::schedule`), and it
-- shows the meeting's invitees. Plenum writes them with the meeting's own row (which moves
-- 'schedules'); a change of them alone moves it as well. (A meeting's deletion removes them
-- after its row: the meeting is gone, nothing to move.)
CREATE FUNCTION schedule_invitees_generations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meeting_company uuid;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT company_id INTO meeting_company FROM schedules WHERE id = OLD.schedule_id;
        IF FOUND THEN
            PERFORM bump_generation(meeting_company, 'schedules');
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        SELECT company_id INTO meeting_company FROM schedules WHERE id = NEW.schedule_id;
        IF FOUND THEN
            PERFORM bump_generation(meeting_company, 'schedules');
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER schedule_invitees_generations AFTER INSERT OR UPDATE OR DELETE ON schedule_invitees
    FOR EACH ROW EXECUTE FUNCTION schedule_invitees_generations();
