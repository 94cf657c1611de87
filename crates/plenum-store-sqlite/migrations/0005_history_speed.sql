-- Covering indexes and kept totals for the history lists, measured on 1,000,000 sessions
-- and recordings in 100 companies (BENCHMARKS.md). A company's rows are spread over the whole table (companies
-- hold meetings at the same time), so a list that reads a company's rows in start order from
-- the table touches one page per row; these indexes hold what the lists filter on next to
-- the order they page in, so the scan stays inside one contiguous index range and reads the
-- table only for the rows of the page.

--
-- Each replaces 0003's index of the same leading columns, which it serves entirely (the
-- planner, without statistics, would otherwise pick the narrower one and read the table).

-- Rokid's meeting history: name search and time window, newest first.
CREATE INDEX sessions_by_company_start_name ON sessions (company_id, started_at, name);
DROP INDEX sessions_by_company_start;

-- Telnyx: end-date and duration filters while paging in start order.
CREATE INDEX recordings_by_company_start_cover
    ON recordings (company_id, started_at, ended_at, duration_secs);
DROP INDEX recordings_by_company_start;

-- Totals of the unfiltered lists (and of Telnyx's status and type filters), kept by triggers
-- so that an answer's total is one row read instead of a count of 10,000 index entries. The
-- triggers keep them for every writer: the live runtime, import, generators.
-- `what` is 'sessions' or 'recordings:<status>:<kind>'.
CREATE TABLE history_counts (
    company_id  BLOB    NOT NULL,
    what        TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (company_id, what)
) STRICT, WITHOUT ROWID;

INSERT INTO history_counts (company_id, what, n)
    SELECT company_id, 'sessions', COUNT(*) FROM sessions GROUP BY company_id;
INSERT INTO history_counts (company_id, what, n)
    SELECT company_id, 'recordings:' || status || ':' || kind, COUNT(*)
    FROM recordings GROUP BY company_id, status, kind;

CREATE TRIGGER sessions_counted_in AFTER INSERT ON sessions BEGIN
    INSERT INTO history_counts (company_id, what, n) VALUES (NEW.company_id, 'sessions', 1)
        ON CONFLICT (company_id, what) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER sessions_counted_out AFTER DELETE ON sessions BEGIN
    UPDATE history_counts SET n = n - 1
        WHERE company_id = OLD.company_id AND what = 'sessions';
END;
CREATE TRIGGER recordings_counted_in AFTER INSERT ON recordings BEGIN
    INSERT INTO history_counts (company_id, what, n)
        VALUES (NEW.company_id, 'recordings:' || NEW.status || ':' || NEW.kind, 1)
        ON CONFLICT (company_id, what) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER recordings_counted_out AFTER DELETE ON recordings BEGIN
    UPDATE history_counts SET n = n - 1
        WHERE company_id = OLD.company_id
          AND what = 'recordings:' || OLD.status || ':' || OLD.kind;
END;
CREATE TRIGGER recordings_recounted AFTER UPDATE OF company_id, status, kind ON recordings BEGIN
    UPDATE history_counts SET n = n - 1
        WHERE company_id = OLD.company_id
          AND what = 'recordings:' || OLD.status || ':' || OLD.kind;
    INSERT INTO history_counts (company_id, what, n)
        VALUES (NEW.company_id, 'recordings:' || NEW.status || ':' || NEW.kind, 1)
        ON CONFLICT (company_id, what) DO UPDATE SET n = n + 1;
END;
