-- A counter per company and subject that every change of that subject bumps, kept by
-- triggers. In-memory indexes built from the database (see `generations.rs`) remember the
-- generation they were built at and are trusted only while it is unchanged, whoever wrote
-- the change (this server, `plenum import`, a restore). Subjects: 'schedules'.
CREATE TABLE change_generations (
    company_id  BLOB    NOT NULL,
    subject     TEXT    NOT NULL,
    generation  INTEGER NOT NULL,
    PRIMARY KEY (company_id, subject)
) STRICT, WITHOUT ROWID;

-- The schedule list index holds each meeting's place in list order (start, id), its name key
-- and its number; other columns are read from the table for the page itself.
CREATE TRIGGER schedules_generation_insert AFTER INSERT ON schedules BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'schedules', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER schedules_generation_delete AFTER DELETE ON schedules BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'schedules', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER schedules_generation_update
    AFTER UPDATE OF company_id, start_at, id, name_key, meeting_number ON schedules BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'schedules', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'schedules', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
