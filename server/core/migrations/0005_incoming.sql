-- Incoming mail lives in the emails table (direction 'incoming') with its sender.
ALTER TABLE emails ADD COLUMN from_address TEXT NOT NULL DEFAULT '';
ALTER TABLE emails ADD COLUMN from_name TEXT NOT NULL DEFAULT '';

-- The backstop against fetching a message twice: one email per account and Message-ID.
CREATE UNIQUE INDEX emails_incoming_message_id ON emails (account_id, message_id)
    WHERE direction = 'incoming';

-- Where IMAP receipt stopped in each folder: a new UIDVALIDITY means a resynchronisation.
CREATE TABLE imap_folders (
    account_id  TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    PRIMARY KEY (account_id, folder)
);

-- POP3 messages already received, by their unique id (UIDL).
CREATE TABLE pop3_seen (
    account_id TEXT NOT NULL,
    uidl       TEXT NOT NULL,
    PRIMARY KEY (account_id, uidl)
);

-- The last receive of each account and its error, if it failed.
CREATE TABLE account_receive_state (
    account_id        TEXT PRIMARY KEY,
    last_receive_time TEXT NOT NULL,
    error             TEXT NOT NULL
);
