-- Received email matched to its thread (by In-Reply-To, References or the tracking tag) records
-- the email it threads to; NULL when it matched none, or was received without processing.
ALTER TABLE emails ADD COLUMN thread_email_id INTEGER NULL;
