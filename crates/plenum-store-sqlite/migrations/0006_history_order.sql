-- Start-ordered indexes that serve the whole order of the history lists.
--
-- The lists page newest first with the row number as tie-break (`ORDER BY started_at DESC,
-- seq DESC`). 0005's covering indexes hold the filtered columns right after `started_at`
-- (`name`; `ended_at, duration_secs`), so the row number is not the next key of the index:
-- SQLite sorts every group of equal start instants in a temporary B-tree ("USE TEMP B-TREE
-- FOR RIGHT PART OF ORDER BY"), and a deep page (OFFSET 7,980) pushes 8,000 entries through
-- that sorter: ~5 ms per page on 1,000,000 sessions. Naming `seq` (the rowid) as the third
-- column makes the index order the list order, so a page is a plain walk of one index range
-- (0.3 ms for the same deep page), and the entries still cover the filters.
--
-- Each replaces 0005's index of the same leading columns (it serves the same queries).
-- Building them reads the tables once: ~5 s each on 1,000,000 rows.

CREATE INDEX sessions_by_company_start_seq_name ON sessions (company_id, started_at, seq, name);
DROP INDEX sessions_by_company_start_name;

CREATE INDEX recordings_by_company_start_seq_cover
    ON recordings (company_id, started_at, seq, ended_at, duration_secs);
DROP INDEX recordings_by_company_start_cover;
