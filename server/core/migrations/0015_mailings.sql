-- Mass mailings: one template, many recipients, each rendered and queued by a background worker.
CREATE TABLE mass_mailings (
    id             INTEGER PRIMARY KEY,
    -- AIP-155: a repeated start returns the mailing the first one made (NULL: none given).
    request_id     TEXT UNIQUE,
    template_id    TEXT NOT NULL,
    -- The template as it was at the start (models.Template without attachment bytes, as JSON):
    -- every recipient gets the same template, and a restart resumes with it.
    template       TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    lenient        INTEGER NOT NULL,
    related_type   TEXT NOT NULL,
    related_id     TEXT NOT NULL,
    related_description TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    status         TEXT NOT NULL,
    total          INTEGER NOT NULL,
    queued         INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT NOT NULL,
    create_time    TEXT NOT NULL,
    update_time    TEXT NOT NULL
);
CREATE INDEX mass_mailings_running ON mass_mailings (id) WHERE status = 'running';

CREATE TABLE mass_mailing_attachments (
    mailing_id   INTEGER NOT NULL REFERENCES mass_mailings(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL,
    PRIMARY KEY (mailing_id, position)
);

-- Each recipient's outcome is written in the same transaction as the email made for it, so a
-- restart goes on with the pending ones and never queues anyone twice.
CREATE TABLE mass_mailing_recipients (
    mailing_id    INTEGER NOT NULL REFERENCES mass_mailings(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    recipient_key TEXT NOT NULL,
    -- The recipient's data as JSON; To addresses that replace the template's, as JSON.
    data          TEXT NOT NULL,
    to_addresses  TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    email_id      INTEGER,
    error         TEXT NOT NULL DEFAULT '',
    placeholder   TEXT NOT NULL DEFAULT '',
    update_time   TEXT NOT NULL,
    PRIMARY KEY (mailing_id, position)
);
CREATE INDEX mass_mailing_recipients_by_outcome
    ON mass_mailing_recipients (mailing_id, outcome, position);
