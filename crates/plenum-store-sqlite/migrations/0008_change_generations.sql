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

-- 'schedules': the company-wide list index (`schedule_index.rs`) holds each meeting's summary
-- in list order, so any change of a meeting, of its owner's names or of its series' frequency
-- moves the generation.
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
CREATE TRIGGER schedules_generation_update AFTER UPDATE ON schedules BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (old.company_id, 'schedules', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'schedules', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER schedules_generation_owner AFTER UPDATE OF username, real_name ON users
    WHEN old.username IS NOT new.username OR old.real_name IS NOT new.real_name BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'schedules', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
CREATE TRIGGER schedules_generation_series AFTER UPDATE OF frequency ON series
    WHEN old.frequency IS NOT new.frequency BEGIN
    INSERT INTO change_generations (company_id, subject, generation)
        VALUES (new.company_id, 'schedules', 1)
        ON CONFLICT (company_id, subject) DO UPDATE SET generation = generation + 1;
END;
