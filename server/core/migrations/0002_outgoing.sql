-- Email, outgoing first (incoming mail uses the same table with direction 'incoming').
CREATE TABLE emails (
    id                     INTEGER PRIMARY KEY,
    account_id             TEXT NOT NULL,
    direction              TEXT NOT NULL,
    status                 TEXT NOT NULL,
    message_id             TEXT NOT NULL,
    tracking_tag           TEXT NOT NULL,
    -- What the sender wrote (models.Content without attachment bytes), as JSON.
    content                TEXT NOT NULL,
    -- The RFC 5322 message as sent: composed once on submit, identical on every attempt.
    raw                    BLOB,
    created_by             TEXT NOT NULL,
    failed_attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_time      TEXT,
    claimed_by             TEXT,
    lease_until            TEXT,
    error                  TEXT NOT NULL DEFAULT '',
    some_recipients_failed INTEGER NOT NULL DEFAULT 0,
    create_time            TEXT NOT NULL,
    update_time            TEXT NOT NULL,
    sent_time              TEXT
);
CREATE INDEX emails_due ON emails (account_id, next_attempt_time, id) WHERE status = 'pending';
CREATE INDEX emails_by_account ON emails (account_id, status, id);

-- AIP-155 request ids: a repeated create returns the emails the first one made.
CREATE TABLE email_requests (
    request_id TEXT PRIMARY KEY,
    email_ids  TEXT NOT NULL
);

CREATE TABLE email_attachments (
    email_id     INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL,
    PRIMARY KEY (email_id, position)
);

CREATE TABLE email_recipients (
    email_id        INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    address         TEXT NOT NULL,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    reply_code      INTEGER NOT NULL DEFAULT 0,
    enhanced_status TEXT NOT NULL DEFAULT '',
    reply_text      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (email_id, position)
);

CREATE TABLE email_attempts (
    id              INTEGER PRIMARY KEY,
    email_id        INTEGER NOT NULL REFERENCES emails(id) ON DELETE CASCADE,
    time            TEXT NOT NULL,
    manual          INTEGER NOT NULL,
    step            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    reply_code      INTEGER NOT NULL,
    enhanced_status TEXT NOT NULL,
    reply_text      TEXT NOT NULL
);
CREATE INDEX email_attempts_by_email ON email_attempts (email_id, id);

-- The watch stream's change feed: written in the same transaction as each status change; the
-- revision only grows (AUTOINCREMENT never reuses one, even after pruning).
CREATE TABLE email_changes (
    revision    INTEGER PRIMARY KEY AUTOINCREMENT,
    email_id    INTEGER NOT NULL,
    account_id  TEXT NOT NULL,
    direction   TEXT NOT NULL,
    status      TEXT NOT NULL,
    change_time TEXT NOT NULL
);

-- An account whose server cannot be used now (unreachable, authentication refused).
CREATE TABLE account_send_state (
    account_id  TEXT PRIMARY KEY,
    error       TEXT NOT NULL,
    since       TEXT NOT NULL,
    retry_after TEXT NOT NULL
);
