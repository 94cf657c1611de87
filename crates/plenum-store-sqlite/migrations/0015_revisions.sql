-- Revisions: how many times a reservation or occurrence, a series or a room was changed since
-- it was created. An update names the revision it was merged from and is refused (the store's
-- `Conflict`) if another change was committed in between; the service then reads and merges
-- again (docs/consistency.md). No trigger reads this column: the generation triggers of 0008
-- fire on any update of `schedules` anyway.
ALTER TABLE schedules ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE series ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
