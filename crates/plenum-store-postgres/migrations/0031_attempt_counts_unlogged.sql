-- Attempt counts are not worth a WAL flush: every Rocket.Chat request and every wrong password
-- writes one, and with `synchronous_commit` on (durable joins need it) each of those commits
-- waited for the disk. Unlogged, a count's commit does not wait, and after a crash of
-- PostgreSQL (not a clean restart) the table starts empty: windows and failure counts start
-- over, as they do on SQLite, which keeps them in memory. Not replicated to standbys either:
-- a promoted standby starts counting afresh.
ALTER TABLE attempt_counts SET UNLOGGED;
