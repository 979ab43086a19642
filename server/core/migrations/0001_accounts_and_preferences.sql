-- System email accounts. Settings the server never queries by are kept as JSON.
CREATE TABLE accounts (
    account_id    TEXT PRIMARY KEY,
    email_address TEXT NOT NULL,
    settings      TEXT NOT NULL,
    create_time   TEXT NOT NULL,
    update_time   TEXT NOT NULL
);

-- Mail-server passwords, encrypted (see server/core/secrets.py). kind: incoming | outgoing.
CREATE TABLE account_secrets (
    account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('incoming', 'outgoing')),
    ciphertext BLOB NOT NULL,
    PRIMARY KEY (account_id, kind)
);

-- Who changed which setting when. Kept after the account is deleted, as an audit trail.
CREATE TABLE account_changes (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL,
    change_time TEXT NOT NULL,
    actor       TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT NOT NULL,
    new_value   TEXT NOT NULL
);
CREATE INDEX account_changes_by_account ON account_changes (account_id, id);

-- The one row of email preferences.
CREATE TABLE preferences (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    default_account_id TEXT REFERENCES accounts(account_id),
    settings           TEXT NOT NULL
);
INSERT INTO preferences (id, default_account_id, settings) VALUES (1, NULL, '{}');
