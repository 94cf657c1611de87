-- Companies (tenants), their users, and access tokens (stored by hash only).
-- Ids are UUIDs stored as 16-byte blobs; instants are integer UTC milliseconds.

CREATE TABLE companies (
    id          BLOB    PRIMARY KEY NOT NULL,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL UNIQUE,          -- lower-cased name: names are unique
    time_zone   TEXT    NOT NULL,
    max_users   INTEGER NOT NULL CHECK (max_users > 0),
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  INTEGER NOT NULL
) STRICT;

-- At most one default company.
CREATE UNIQUE INDEX companies_single_default ON companies (is_default) WHERE is_default = 1;

CREATE TABLE users (
    id                 BLOB    PRIMARY KEY NOT NULL,
    company_id         BLOB    NOT NULL REFERENCES companies (id),
    username           TEXT    NOT NULL,
    username_key       TEXT    NOT NULL UNIQUE,   -- lower-cased: usernames are globally unique
    real_name          TEXT    NOT NULL DEFAULT '',
    real_name_key      TEXT    NOT NULL DEFAULT '', -- lower-cased (Unicode) for the directory filter
    email              TEXT    NOT NULL DEFAULT '',
    department         TEXT    NOT NULL DEFAULT '',
    mobile             TEXT    NOT NULL DEFAULT '',
    role               TEXT    NOT NULL CHECK (role IN ('Normal', 'MeetingOperator', 'SystemAdmin')),
    secret_hash        TEXT    NOT NULL,          -- Argon2id PHC string of the FRTC secret
    security_level     TEXT    NOT NULL,
    secret_changed_at  INTEGER NOT NULL,
    failed_sign_ins    INTEGER NOT NULL DEFAULT 0,
    locked_until       INTEGER,
    created_at         INTEGER NOT NULL
) STRICT;

-- Paged user lists are per company, ordered by username.
CREATE INDEX users_by_company ON users (company_id, username_key);
-- Counting a company's SystemAdmins (the last one may not be demoted).
CREATE INDEX users_by_company_role ON users (company_id, role);

CREATE TABLE access_tokens (
    token_hash  BLOB    PRIMARY KEY NOT NULL,     -- SHA-256 of the token
    user_id     BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    company_id  BLOB    NOT NULL,
    client_id   TEXT,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX access_tokens_by_user ON access_tokens (user_id);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);
