-- Delivery reports find the outgoing email they are about by its Message-ID.
CREATE INDEX emails_outgoing_message_id ON emails (account_id, message_id)
    WHERE direction = 'outgoing';
