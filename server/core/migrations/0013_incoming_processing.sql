-- Where a received message lies on the mail server, so processing can delete it there later:
-- IMAP folder, UIDVALIDITY and UID, or the POP3 UIDL. server_delete: '' (keep), 'due' (processing
-- asked for it; done by the account's next receive session), 'done'.
ALTER TABLE emails ADD COLUMN server_folder TEXT NOT NULL DEFAULT '';
ALTER TABLE emails ADD COLUMN server_uidvalidity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE emails ADD COLUMN server_uid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE emails ADD COLUMN server_uidl TEXT NOT NULL DEFAULT '';
ALTER TABLE emails ADD COLUMN server_delete TEXT NOT NULL DEFAULT '';
CREATE INDEX emails_server_delete_due ON emails (account_id) WHERE server_delete = 'due';

-- Brief information about references, added by processing from the email's history.
ALTER TABLE emails ADD COLUMN reference_info TEXT NOT NULL DEFAULT '';

-- Requests to the ERP to create or link entities (a case, a lead, an activity on a business
-- account, contact or lead), recorded with the processing outcome that calls for them and read
-- by the ERP from a stream; the ERP completes one by naming the entity it created or used.
-- The id only grows (AUTOINCREMENT), so a reader resumes after the last id it saw.
CREATE TABLE entity_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email_id      INTEGER NOT NULL,
    account_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    -- What the ERP needs to act (case class, sender, the entity to attach to), as JSON.
    details       TEXT NOT NULL,
    entity_type   TEXT NOT NULL DEFAULT '',
    entity_id     TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    completed_by  TEXT NOT NULL DEFAULT '',
    create_time   TEXT NOT NULL,
    update_time   TEXT NOT NULL,
    -- Reprocessing an email asks for nothing twice.
    UNIQUE (email_id, kind)
);
CREATE INDEX entity_requests_by_status ON entity_requests (status, id);

-- Automatic replies sent (receipt confirmations, replies to unassigned email), per sender: a
-- robot that does not mark its mail as automated is answered only so often.
CREATE TABLE auto_replies (
    account_id TEXT NOT NULL,
    address    TEXT NOT NULL,
    time       TEXT NOT NULL
);
CREATE INDEX auto_replies_by_address ON auto_replies (account_id, address, time);
