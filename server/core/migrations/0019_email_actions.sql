-- Read state: whether the email's owner has read it (the unread view, bold in lists).
ALTER TABLE emails ADD COLUMN is_read INTEGER NOT NULL DEFAULT 0;
-- A soft-deleted email remembers the status it had, so that restoring puts it back there;
-- '' for any email that is not deleted.
ALTER TABLE emails ADD COLUMN deleted_from TEXT NOT NULL DEFAULT '';
-- The highest id of any purged email. Ids are never given again, as entity requests, the change
-- feed and mailings still name the emails that had them.
CREATE TABLE email_id_floor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    highest  INTEGER NOT NULL
);
INSERT INTO email_id_floor (id, highest) VALUES (1, 0);
-- The unread view: nearly every email is read, so a partial index finds the few that are not.
CREATE INDEX emails_unread ON emails (id) WHERE direction = 'incoming' AND is_read = 0;
