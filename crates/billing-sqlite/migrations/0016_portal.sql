-- The customer portal: the links emailed to customers into their portal, and the sessions
-- those links start; and the notifications of a new kind, the portal link.
--
-- A pass is found by its token's hash alone (the customer's browser has no API key to say
-- whose it is; the row says), and the store keeps the hash only, so a leaked database opens no
-- one's portal. Times are RFC 3339 in UTC with exactly nine fractional digits, as in
-- `notifications`: fixed width, so that comparing the text compares the times.

-- 1. Portal passes: a link, used once (`used_at` set when it is opened), or a session (set
-- when the customer signs out). Both stop working at `expires_at`, and are deleted some time
-- after.
CREATE TABLE portal_passes (
    -- The token's SHA-256 hash, as 64 lowercase hex digits.
    token_hash  TEXT NOT NULL PRIMARY KEY
        CHECK (length(token_hash) = 64 AND NOT token_hash GLOB '*[^0-9a-f]*'),
    business_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('link', 'session')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    -- NULL while unused.
    used_at     TEXT
) WITHOUT ROWID;
-- (A WITHOUT ROWID table, like `staff_sessions`: its rows are under 200 bytes, and a lookup by
-- hash is then one B-tree instead of an index and the table.)

-- The purge of expired passes, across businesses: a range of this index from its start.
CREATE INDEX portal_passes_by_expiry ON portal_passes (expires_at);

-- 2. Notifications of a new kind: the portal link (to the customer).
--
-- SQLite cannot change a CHECK constraint: the table is made again with the new one, its rows
-- copied, the old table dropped and the new one renamed, and its indexes made again, as
-- migration 0007 did — with the columns migration 0015 added since (a text's channel and its
-- carrier's report), their checks and default. Nothing refers to `notifications` (no foreign
-- key, trigger or view), and this runs in the migration's transaction: a failure leaves the
-- old table as it was.
CREATE TABLE notifications_with_portal (
    business_id     TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    -- The customer the email is about (for notices to the business: who paid or saved a card).
    customer_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('payment_link', 'card_request', 'receipt',
                        'business_payment_notice', 'business_card_saved_notice',
                        'payment_failed', 'upcoming_charge', 'business_automation_notice',
                        'portal_link')),
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
    -- An email or a text (whose `to_address` is the number, its `text_body` what it says).
    channel         TEXT    NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'text')),
    -- After the provider took a text (`state` 'sent', its message id in `outcome`), the
    -- carrier reports whether it reached the handset: the furthest report so far, its error
    -- code, and when it came.
    carrier_status  TEXT
        CHECK (carrier_status IN ('queued', 'sent', 'delivered', 'undelivered', 'failed')),
    carrier_error   TEXT,
    carrier_at      TEXT,
    PRIMARY KEY (business_id, id),
    CHECK ((state = 'queued') = (attempted_at IS NULL AND outcome IS NULL)),
    CHECK (state <> 'sent' OR next_attempt_at IS NULL)
);

INSERT INTO notifications_with_portal (business_id, id, customer_id, kind, to_address, subject,
    text_body, html_body, created_at, state, attempts, attempted_at, outcome, next_attempt_at,
    channel, carrier_status, carrier_error, carrier_at)
SELECT business_id, id, customer_id, kind, to_address, subject, text_body, html_body,
    created_at, state, attempts, attempted_at, outcome, next_attempt_at, channel,
    carrier_status, carrier_error, carrier_at
FROM notifications;

DROP TABLE notifications;
ALTER TABLE notifications_with_portal RENAME TO notifications;

-- The indexes of migrations 0002 (made again by 0007) and 0015, as they were.
CREATE INDEX notifications_due ON notifications (next_attempt_at, business_id, id)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notifications_due_by_business ON notifications (business_id, next_attempt_at, id)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notifications_by_customer
    ON notifications (business_id, customer_id, created_at DESC, id DESC);
CREATE INDEX notifications_by_text_reference ON notifications (outcome)
    WHERE channel = 'text' AND state = 'sent';
