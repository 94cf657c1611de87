-- A session's number within its company: Rokid's `id` of a meeting record (1, 2, 3 … in the
-- order the company's sessions were recorded). `seq` is installation-wide, so showing it let
-- one company count another's meetings from the gaps.
ALTER TABLE sessions ADD COLUMN company_seq INTEGER;

-- Existing sessions, numbered in their order (a keyed temporary table: one pass each way).
CREATE TEMP TABLE session_numbers (seq INTEGER PRIMARY KEY, company_seq INTEGER NOT NULL);
INSERT INTO session_numbers (seq, company_seq)
    SELECT seq, ROW_NUMBER() OVER (PARTITION BY company_id ORDER BY seq) FROM sessions;
UPDATE sessions SET company_seq =
    (SELECT n.company_seq FROM session_numbers n WHERE n.seq = sessions.seq);
DROP TABLE session_numbers;

CREATE UNIQUE INDEX sessions_by_company_number ON sessions (company_id, company_seq);

-- Every new session takes the company's next number, whoever writes it (the live journal,
-- the import, the generator). SQLite cannot change NEW before the insert, hence the update;
-- the row-generation triggers of 0011 do not look at this column.
CREATE TRIGGER sessions_numbered AFTER INSERT ON sessions WHEN new.company_seq IS NULL BEGIN
    UPDATE sessions SET company_seq =
        (SELECT COALESCE(MAX(company_seq), 0) + 1 FROM sessions WHERE company_id = new.company_id)
    WHERE seq = new.seq;
END;
