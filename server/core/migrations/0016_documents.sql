-- Documents sent by email: contact roles, mailing settings per party and document type, and the
-- parties that take documents on paper only.

-- A JSON array of lower-case roles, each once. Mailing settings find a party's contacts by role
-- within its business account, hence the index.
ALTER TABLE contacts ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
CREATE INDEX contacts_by_business_account ON contacts (business_account_id, contact_id)
    WHERE business_account_id != '';

-- AUTOINCREMENT: a deleted setting's id is never given to another. recipients is a JSON array
-- read whole with its setting. The template is not a foreign key: a template may be deleted,
-- and sending by a setting whose template is gone is refused then. The account is (NULL: the
-- template's, else the default): deleting it is refused while a setting names it (the
-- documents feature registers that guard with the accounts).
CREATE TABLE mailing_settings (
    setting_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    party_kind          TEXT NOT NULL,
    business_account_id TEXT NOT NULL,
    document_type       TEXT NOT NULL,
    active              INTEGER NOT NULL,
    recipients          TEXT NOT NULL,
    template_id         TEXT NOT NULL,
    account_id          TEXT REFERENCES accounts(account_id),
    create_time         TEXT NOT NULL,
    update_time         TEXT NOT NULL,
    UNIQUE (party_kind, business_account_id, document_type)
);
CREATE INDEX mailing_settings_by_account ON mailing_settings (account_id)
    WHERE account_id IS NOT NULL;

-- A party without a row takes documents by email.
CREATE TABLE party_document_preferences (
    party_kind          TEXT NOT NULL,
    business_account_id TEXT NOT NULL,
    delivery            TEXT NOT NULL,
    update_time         TEXT NOT NULL,
    PRIMARY KEY (party_kind, business_account_id)
);
