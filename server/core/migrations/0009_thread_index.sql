-- Reading a thread follows thread_email_id both ways.
CREATE INDEX emails_by_thread ON emails (thread_email_id) WHERE thread_email_id IS NOT NULL;
