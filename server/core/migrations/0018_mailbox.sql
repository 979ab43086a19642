-- Managing mail: the views and filters of the email lists, full-text search and saved views.

-- What the views filter by, read from the content JSON. Virtual columns are computed from the
-- JSON by SQLite itself, so they are right whichever code wrote the content (processing setting
-- the owner, a link to an ERP record); their indexes are kept at write time.
ALTER TABLE emails ADD COLUMN owner_id TEXT
    GENERATED ALWAYS AS (COALESCE(json_extract(content, '$.owner_id'), '')) VIRTUAL;
ALTER TABLE emails ADD COLUMN work_group_id TEXT
    GENERATED ALWAYS AS (COALESCE(json_extract(content, '$.work_group_id'), '')) VIRTUAL;
ALTER TABLE emails ADD COLUMN related_type TEXT
    GENERATED ALWAYS AS (COALESCE(json_extract(content, '$.related_entity.type'), '')) VIRTUAL;
ALTER TABLE emails ADD COLUMN related_id TEXT
    GENERATED ALWAYS AS (COALESCE(json_extract(content, '$.related_entity.id'), '')) VIRTUAL;

-- Lists are newest first (by id): each index ends with the id, so a view reads its first page
-- in order from the index instead of sorting everything it matches.
CREATE INDEX emails_by_status ON emails (status, id);
CREATE INDEX emails_by_owner ON emails (owner_id, id);
CREATE INDEX emails_by_work_group ON emails (work_group_id, id);
CREATE INDEX emails_by_related ON emails (related_type, related_id, id);
CREATE INDEX emails_unassigned ON emails (direction, owner_id, work_group_id, id)
    WHERE owner_id = '' AND work_group_id = '';

-- Full-text search: subject, addresses (from, to and cc, with their names) and body (the text
-- body and the HTML body's text), one row per email under the email's id. The stores that
-- write email keep it in step in the same transaction (mailbox/search_index.py);
-- removing an email removes its row here.
CREATE VIRTUAL TABLE email_search USING fts5(
    subject, addresses, body,
    prefix = '2 3',
    tokenize = 'unicode61 remove_diacritics 2'
);
-- Segments are merged once 16 of a size have been written (FTS5's default is 4): storing email
-- (a mass mailing queues thousands in a row) does less merging work, and searches, which read
-- the segments newest first and stop at a page, stay as fast.
INSERT INTO email_search (email_search, rank) VALUES ('automerge', 16);
CREATE TRIGGER email_search_forget AFTER DELETE ON emails BEGIN
    DELETE FROM email_search WHERE rowid = old.id;
END;

-- Email stored before search existed. SQL cannot take the tags out of an HTML body, so the rows
-- written here hold the HTML as it is; the ids listed in email_search_refresh are indexed again
-- with the HTML's text at the next start, and removed from the list as they are.
INSERT INTO email_search (rowid, subject, addresses, body)
SELECT e.id,
       COALESCE(json_extract(e.content, '$.subject'), ''),
       CASE WHEN e.direction = 'incoming' THEN e.from_name || ' ' || e.from_address
            ELSE COALESCE((SELECT a.email_address FROM accounts a
                           WHERE a.account_id = e.account_id), '') END
       || ' ' || COALESCE((SELECT group_concat(r.name || ' ' || r.address, ' ')
                           FROM email_recipients r
                           WHERE r.email_id = e.id AND r.kind IN ('to', 'cc')), ''),
       COALESCE(json_extract(e.content, '$.text_body'), '') || ' '
       || COALESCE(json_extract(e.content, '$.html_body'), '')
FROM emails e;
CREATE TABLE email_search_refresh (
    email_id INTEGER PRIMARY KEY
);
INSERT INTO email_search_refresh (email_id)
SELECT id FROM emails WHERE COALESCE(json_extract(content, '$.html_body'), '') != '';

-- Views saved under a name by the person who made them (owner: the acting user), for themselves
-- or shared with everyone. definition: the view, filter and search query, as JSON.
CREATE TABLE saved_views (
    saved_view_id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner         TEXT NOT NULL,
    name          TEXT NOT NULL COLLATE NOCASE,
    shared        INTEGER NOT NULL,
    definition    TEXT NOT NULL,
    create_time   TEXT NOT NULL,
    update_time   TEXT NOT NULL,
    UNIQUE (owner, name)
);
CREATE INDEX saved_views_shared ON saved_views (name, saved_view_id) WHERE shared = 1;
