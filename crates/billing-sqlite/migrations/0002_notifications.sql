-- Notifications: every email the engine queued for a business (payment links, card requests,
-- receipts, notices to the business), with the message itself and where its delivery stands.
--
-- A payment never waits on a mail server: a use case only inserts a row here, and a worker
-- delivers it later, retrying with backoff. Rows are keyed by `business_id` first like every
-- tenant table, and every query filters on it, except the worker's claim, which may serve every
-- business and returns each row's business.
--
-- Times are RFC 3339 in UTC with exactly nine fractional digits
-- (`2026-01-15T09:00:00.000000000Z`): fixed width, so that comparing and sorting the text
-- compares and sorts the times.
CREATE TABLE notifications (
    business_id     TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    -- The customer the email is about (for notices to the business: who paid or saved a card).
    customer_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('payment_link', 'card_request', 'receipt',
                        'business_payment_notice', 'business_card_saved_notice',
                        'payment_failed')),
    -- The message, as it will be sent (kept so that a retry sends exactly the same email).
    to_address      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT,
    created_at      TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    -- Attempts made so far (failed ones: a sent row keeps the count before its success).
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    -- The last attempt: when it ended, and the server's reply (sent) or the reason (failed).
    attempted_at    TEXT,
    outcome         TEXT,
    -- When the next attempt may start: the queueing time, a retry time, or the end of a
    -- worker's lease. NULL once the email is sent or given up, so it is never due again.
    next_attempt_at TEXT,
    PRIMARY KEY (business_id, id),
    CHECK ((state = 'queued') = (attempted_at IS NULL AND outcome IS NULL)),
    CHECK (state <> 'sent' OR next_attempt_at IS NULL)
);
-- (A rowid table, unlike the ledger's: rows carry whole email bodies, several kilobytes each,
-- which SQLite stores poorly in the B-tree of a WITHOUT ROWID table.)

-- The worker's "what is due": only rows still to be sent are indexed, in due order, once for a
-- worker serving every business and once for one serving a single business.
CREATE INDEX notifications_due ON notifications (next_attempt_at, business_id, id)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notifications_due_by_business ON notifications (business_id, next_attempt_at, id)
    WHERE next_attempt_at IS NOT NULL;

-- A customer's log, newest first: a range scan in index order.
CREATE INDEX notifications_by_customer
    ON notifications (business_id, customer_id, created_at DESC, id DESC);
