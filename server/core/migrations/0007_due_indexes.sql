-- The queue's indexes name the direction too, so that the planner prefers them for the
-- dispatcher's queries (which otherwise scanned the outgoing Message-ID index).
DROP INDEX emails_due;
CREATE INDEX emails_due ON emails (account_id, next_attempt_time, id)
    WHERE status = 'pending' AND direction = 'outgoing';
CREATE INDEX emails_next_due ON emails (next_attempt_time)
    WHERE status = 'pending' AND direction = 'outgoing';
