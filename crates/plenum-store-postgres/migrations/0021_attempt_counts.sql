-- Attempt counts every node shares (plenum_store::Limits, docs/scaling.md): failures at
-- something guessed (a username without an account, a meeting's password, a live passcode)
-- and requests in a fixed window (Rocket.Chat). `key` names the kind and what is counted;
-- `expires_at` (Unix ms) is when the count means nothing any more: failures are forgotten,
-- a window has ended. The hourly janitor deletes such rows through the index.
CREATE TABLE attempt_counts (
    key         text PRIMARY KEY,
    count       bigint NOT NULL,
    last_at     bigint NOT NULL,
    expires_at  bigint NOT NULL
);
CREATE INDEX attempt_counts_by_expiry ON attempt_counts (expires_at);
