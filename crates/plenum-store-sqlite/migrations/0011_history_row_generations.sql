-- Change generations of the rows the history lists show (see `RowCache` in `generations.rs`):
-- the rows a page read are remembered per company and served again while these counters hold.
-- Where 0009's 'sessions' and 'recordings' move when the order or a filter of a list may
-- change, these move when anything a listed row shows may change.
--
-- 'session_rows': what a session's list row shows (its columns but `last_seen_at` and
-- `end_reason`, its owner's names, its first completed recording) and, once it has ended, who
-- attended it. A running meeting moves it when it ends and when its peak grows, never on a
-- heartbeat; its joins and leaves never do (its attendance is not remembered while it runs).
-- 'recording_rows': a recording's columns, its session's id and room, its participant's id.
--
-- A new row needs no move: nothing remembered describes it.

CREATE TRIGGER session_rows_update AFTER UPDATE ON sessions
    WHEN old.id IS NOT new.id OR old.company_id IS NOT new.company_id
      OR old.meeting_number IS NOT new.meeting_number OR old.name IS NOT new.name
      OR old.owner_id IS NOT new.owner_id OR old.room_id IS NOT new.room_id
      OR old.schedule_id IS NOT new.schedule_id OR old.started_at IS NOT new.started_at
      OR old.ended_at IS NOT new.ended_at
      OR old.peak_participants IS NOT new.peak_participants BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'session_rows', 1), (new.company_id, 'session_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
-- A recording shows its session's id and room.
CREATE TRIGGER session_rows_recording_rows_session_ids AFTER UPDATE OF id, room_id, company_id
    ON sessions
    WHEN old.id IS NOT new.id OR old.room_id IS NOT new.room_id
      OR old.company_id IS NOT new.company_id BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'recording_rows', 1), (new.company_id, 'recording_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER session_rows_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'session_rows', 1), (old.company_id, 'recording_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER session_rows_owner AFTER UPDATE OF username, real_name ON users
    WHEN old.username IS NOT new.username OR old.real_name IS NOT new.real_name BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'session_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;

-- A recording can become its session's first completed one; a recording's own row changes.
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

-- Who attended an ended session (a stay added to it, as an import does, or changed).
CREATE TRIGGER session_rows_attendance_insert AFTER INSERT ON attendance
    WHEN (SELECT ended_at FROM sessions WHERE seq = new.session_seq) IS NOT NULL BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'session_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER session_rows_attendance_update AFTER UPDATE OF id, session_seq, company_id,
    user_id, joined_at ON attendance
    WHEN old.id IS NOT new.id OR old.session_seq IS NOT new.session_seq
      OR old.company_id IS NOT new.company_id OR old.user_id IS NOT new.user_id
      OR old.joined_at IS NOT new.joined_at BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'session_rows', 1), (old.company_id, 'recording_rows', 1),
               (new.company_id, 'session_rows', 1), (new.company_id, 'recording_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER session_rows_attendance_delete AFTER DELETE ON attendance BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'session_rows', 1), (old.company_id, 'recording_rows', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
