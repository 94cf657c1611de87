-- What the history surfaces (Rokid, Rocket.Chat, Telnyx, Huawei) need beyond 0003: indexes
-- for every filter they offer, and the credentials integrations use (API keys, Huawei apps and
-- the tokens appauth issues). 0003's tables are written by the live runtime and by import;
-- nothing here changes them.

-- Telnyx filters on recordings, each a range or equality within one company.
CREATE INDEX recordings_by_company_end ON recordings (company_id, ended_at);
CREATE INDEX recordings_by_company_duration ON recordings (company_id, duration_secs);
CREATE INDEX recordings_by_company_status ON recordings (company_id, status, started_at);
CREATE INDEX recordings_by_company_kind ON recordings (company_id, kind, started_at);
CREATE INDEX recordings_by_attendance ON recordings (attendance_seq) WHERE attendance_seq IS NOT NULL;

-- Company-scoped keys. Only hashes are kept: SHA-256 of a bearer key; for a Huawei app, the
-- SHA-256 of its app key and the random seed the key is derived from with the installation
-- secret (a file in the data directory, not in this database).
CREATE TABLE api_keys (
    id           BLOB    PRIMARY KEY NOT NULL,
    company_id   BLOB    NOT NULL REFERENCES companies (id),
    name         TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('api_key', 'huawei_app')),
    prefix       TEXT    NOT NULL,
    secret_hash  BLOB    NOT NULL UNIQUE,
    app_id       TEXT    UNIQUE,
    seed         BLOB,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    CHECK ((kind = 'huawei_app') = (app_id IS NOT NULL AND seed IS NOT NULL))
) STRICT;
CREATE INDEX api_keys_by_company ON api_keys (company_id, created_at);

-- Access tokens issued to integrations (Huawei appauth), by hash.
CREATE TABLE app_tokens (
    token_hash   BLOB    PRIMARY KEY NOT NULL,
    company_id   BLOB    NOT NULL REFERENCES companies (id),
    api_key_id   BLOB    NOT NULL REFERENCES api_keys (id),
    issued_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX app_tokens_by_expiry ON app_tokens (expires_at);
