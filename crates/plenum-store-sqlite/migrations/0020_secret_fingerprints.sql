-- What the nodes of an installation agree their secrets are (docs/scaling.md): a
-- fingerprint (SHA-256) per secret name, the first offered. The secrets stay in the data
-- directories.
CREATE TABLE secret_fingerprints (
    name         TEXT PRIMARY KEY NOT NULL,
    fingerprint  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
