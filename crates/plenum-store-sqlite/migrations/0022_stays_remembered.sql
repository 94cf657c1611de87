-- An ended session's stays are remembered whole for its attendance pages, and the numbers of
-- the sessions and stays that filters and pages name are remembered by id
-- (`plenum-store-memory/src/history/mod.rs`). So what those show must move their subjects:
--
-- - 'session_rows' for the session when anything a stay shows changes after its session
--   ended (a running session's stays are never remembered, so its joins and leaves still move
--   nothing), and when its invitees change;
-- - a session's number within its company (`company_seq`, shown in its row and named by Rokid
--   by it) as its other columns: 'session_rows' for the row, and 'recording_rows' for any row,
--   which is how the remembered numbers learn of a change of an id, a number or a company.
--
-- Only hand edits change these today; the triggers make memory follow them anyway. A new
-- session's first number (0013's `sessions_numbered`, an update right after the insert) is
-- not a change: nothing remembered names the session yet.

DROP TRIGGER session_rows_update;
CREATE TRIGGER session_rows_update AFTER UPDATE ON sessions
    WHEN old.id IS NOT new.id OR old.company_id IS NOT new.company_id
      OR old.meeting_number IS NOT new.meeting_number OR old.name IS NOT new.name
      OR old.owner_id IS NOT new.owner_id OR old.room_id IS NOT new.room_id
      OR old.schedule_id IS NOT new.schedule_id OR old.started_at IS NOT new.started_at
      OR old.ended_at IS NOT new.ended_at
      OR old.peak_participants IS NOT new.peak_participants
      OR (old.company_seq IS NOT NULL AND old.company_seq IS NOT new.company_seq) BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'session_rows',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END),
               (new.company_id, 'session_rows',
                CASE WHEN old.seq = new.seq AND old.company_id = new.company_id THEN new.seq END);
END;

DROP TRIGGER session_rows_recording_rows_session_ids;
CREATE TRIGGER session_rows_recording_rows_session_ids
    AFTER UPDATE OF id, room_id, company_id, company_seq, seq ON sessions
    WHEN old.id IS NOT new.id OR old.room_id IS NOT new.room_id
      OR old.company_id IS NOT new.company_id OR old.seq IS NOT new.seq
      OR (old.company_seq IS NOT NULL AND old.company_seq IS NOT new.company_seq) BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'recording_rows', NULL), (new.company_id, 'recording_rows', NULL);
END;

-- What a stay of an ended session shows; its key columns as before (0021).
CREATE TRIGGER session_rows_attendance_shown AFTER UPDATE OF display_name, call_number,
    device_type, media_type, department, left_at ON attendance
    WHEN (old.display_name IS NOT new.display_name OR old.call_number IS NOT new.call_number
          OR old.device_type IS NOT new.device_type OR old.media_type IS NOT new.media_type
          OR old.department IS NOT new.department OR old.left_at IS NOT new.left_at)
      AND (SELECT ended_at FROM sessions WHERE seq = new.session_seq) IS NOT NULL BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (new.company_id, 'session_rows', new.session_seq);
END;
-- An attendance row's number (`seq`) is what a stay's id is remembered as.
CREATE TRIGGER recording_rows_attendance_seq AFTER UPDATE OF seq ON attendance
    WHEN old.seq IS NOT new.seq BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        VALUES (old.company_id, 'recording_rows', NULL), (new.company_id, 'recording_rows', NULL);
END;

CREATE TRIGGER session_rows_invitees_insert AFTER INSERT ON session_invitees
    WHEN (SELECT ended_at FROM sessions WHERE seq = new.session_seq) IS NOT NULL BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        SELECT company_id, 'session_rows', seq FROM sessions WHERE seq = new.session_seq;
END;
CREATE TRIGGER session_rows_invitees_delete AFTER DELETE ON session_invitees BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        SELECT company_id, 'session_rows', seq FROM sessions WHERE seq = old.session_seq;
END;
CREATE TRIGGER session_rows_invitees_update AFTER UPDATE ON session_invitees BEGIN
    INSERT INTO history_change (company_id, subject, seq)
        SELECT company_id, 'session_rows', seq FROM sessions
        WHERE seq IN (old.session_seq, new.session_seq);
END;

-- A meeting's detail is remembered under 'schedules' too (`ScheduleMemory::schedule`), and it
-- shows the meeting's invitees. Plenum writes them with the meeting's own row (which moves
-- 'schedules'); a change of them alone moves it as well. (A meeting's deletion removes them
-- after its row: the meeting is gone, nothing to move.)
CREATE TRIGGER schedules_generation_invitees_insert AFTER INSERT ON schedule_invitees BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        SELECT company_id, 'schedules', 1 FROM schedules WHERE id = new.schedule_id
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER schedules_generation_invitees_delete AFTER DELETE ON schedule_invitees BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        SELECT company_id, 'schedules', 1 FROM schedules WHERE id = old.schedule_id
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER schedules_generation_invitees_update AFTER UPDATE ON schedule_invitees BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        SELECT company_id, 'schedules', 1 FROM schedules
        WHERE id IN (old.schedule_id, new.schedule_id)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
