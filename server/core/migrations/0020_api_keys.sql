-- API keys. Only the SHA-256 of each secret is kept: a copy of the database grants no access.
-- role: admin | service | user; user_id: the employee a user key acts as ('' otherwise).
CREATE TABLE api_keys (
    key_id        TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    user_id       TEXT NOT NULL DEFAULT '',
    secret_hash   BLOB NOT NULL,
    create_time   TEXT NOT NULL,
    revoked_time  TEXT,
    created_by    TEXT NOT NULL
);
