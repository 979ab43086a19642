-- Notification templates. The account a template sends from must exist: deleting it is refused
-- while a template names it (the templates feature registers that guard with the accounts).
CREATE TABLE templates (
    template_id     TEXT PRIMARY KEY,
    description     TEXT NOT NULL,
    -- NULL: the preferences' default account.
    from_account_id TEXT REFERENCES accounts(account_id),
    to_field        TEXT NOT NULL,
    cc_field        TEXT NOT NULL,
    bcc_field       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    locale          TEXT NOT NULL,
    data_source     TEXT NOT NULL,
    -- A JSON array of dotted field names.
    known_fields    TEXT NOT NULL,
    create_time     TEXT NOT NULL,
    update_time     TEXT NOT NULL
);
CREATE INDEX templates_by_from_account ON templates (from_account_id)
    WHERE from_account_id IS NOT NULL;

-- Kept apart so that lists read the names and sizes without the files.
CREATE TABLE template_attachments (
    template_id  TEXT NOT NULL REFERENCES templates(template_id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content      BLOB NOT NULL,
    PRIMARY KEY (template_id, position)
);
