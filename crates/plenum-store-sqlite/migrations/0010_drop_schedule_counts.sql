-- The company list's totals come from its in-memory index (`schedule_index.rs`), and the
-- other scopes count their own matches: nothing reads the kept counts of 0002 any more, so
-- their triggers no longer run on every scheduled meeting written.
DROP TRIGGER schedule_counts_insert;
DROP TRIGGER schedule_counts_delete;
DROP TABLE schedule_counts;
