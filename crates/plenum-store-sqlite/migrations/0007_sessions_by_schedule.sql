-- The last holding of a scheduled meeting: a meeting a host stopped without rejoin stays
-- closed (see `LiveRecord::last_end_reason`).
CREATE INDEX sessions_by_schedule ON sessions (schedule_id, started_at) WHERE schedule_id IS NOT NULL;
