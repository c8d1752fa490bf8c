-- The transactional email outbox: a row is written in the same transaction as
-- the change that causes the email, and the mailer delivers it afterwards.
--
-- status: pending (due at next_attempt_at), sending (claimed by a mailer until
-- lease_until), sent, failed (permanently, reason in last_error), held (no
-- SMTP configured; readable through the dev mailbox).

CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_key uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    template text NOT NULL,
    to_address text NOT NULL,
    subject text NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    sensitive boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'held')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    claimed_by text,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_recent ON outbox (created_at DESC);
