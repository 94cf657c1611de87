-- Change generations of the history lists (see 0008 and `history_index.rs`): each company's
-- sessions and recordings are held in memory in list order and trusted while these counters
-- hold. Subjects: 'sessions' (Rokid's meeting history, Rocket.Chat's calls of a room) and
-- 'recordings' (Telnyx's room recordings).
--
-- The triggers fire only on what the indexes hold. A running meeting updates its session's
-- `last_seen_at` every few seconds, its `ended_at`, `end_reason` and `peak_participants` once,
-- and writes attendance on every join and leave: none of these is indexed, so live meetings
-- never move a generation; a session that starts does (once).

-- Sessions index: a session's number, start, room, name and company.
CREATE TRIGGER sessions_generation_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'sessions', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
-- A recording's room is its session's: the recordings index depends on sessions too.
CREATE TRIGGER sessions_generation_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'sessions', 1), (old.company_id, 'recordings', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER sessions_generation_update
    AFTER UPDATE OF seq, company_id, started_at, name, room_id ON sessions BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'sessions', 1), (old.company_id, 'recordings', 1),
               (new.company_id, 'sessions', 1), (new.company_id, 'recordings', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;

-- Recordings index: everything a Telnyx filter tests but a session's or participant's id.
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

-- The kept totals of 0005 answered only what the indexes now answer; their triggers would
-- cost every session and recording write for nothing.
DROP TRIGGER sessions_counted_in;
DROP TRIGGER sessions_counted_out;
DROP TRIGGER recordings_counted_in;
DROP TRIGGER recordings_counted_out;
DROP TRIGGER recordings_recounted;
DROP TABLE history_counts;

-- A page of sessions shows each one's first completed recording: with the status and the
-- start order in the index, that is one seek per session instead of reading and sorting all
-- of its recordings. It serves everything `recordings_by_session` (0003) served.
CREATE INDEX recordings_by_session_status_start
    ON recordings (session_seq, status, started_at, seq);
DROP INDEX recordings_by_session;

-- Building a company's indexes reads its sessions and recordings in list order. With
-- everything the indexes hold in these index entries, a build is two contiguous index ranges
-- instead of ~20,000 table rows spread over the whole file (a build follows every change of
-- the company's history, and the first request after a start). Each replaces the 0006 index
-- of the same leading columns, which it serves entirely.
CREATE INDEX sessions_by_company_start_seq_name_room
    ON sessions (company_id, started_at, seq, name, room_id);
DROP INDEX sessions_by_company_start_seq_name;
CREATE INDEX recordings_by_company_start_seq_filters
    ON recordings (company_id, started_at, seq, ended_at, duration_secs, status, kind, session_seq);
DROP INDEX recordings_by_company_start_seq_cover;
