-- Covering indexes for the history lists, measured on 1,000,000 sessions and recordings in
-- 100 companies (BENCHMARKS.md). A company's rows are spread over the whole table (companies
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
