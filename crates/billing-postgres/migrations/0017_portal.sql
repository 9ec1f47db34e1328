-- The customer portal: the links emailed to customers into their portal, and the sessions
-- those links start; and the notifications of a new kind, the portal link.
--
-- A pass is found by its token's hash alone (the customer's browser has no API key to say
-- whose it is; the row says), and the store keeps the hash only, so a leaked database opens no
-- one's portal. Ids use the "C" collation (byte order), as in the other tables.

-- 1. Portal passes: a link, used once (`used_at` set when it is opened), or a session (set
-- when the customer signs out). Both stop working at `expires_at`, and are deleted some time
-- after.
CREATE TABLE portal_passes (
    -- The token's SHA-256 hash, as 64 lowercase hex digits.
    token_hash  TEXT COLLATE "C" PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    business_id TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('link', 'session')),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    -- NULL while unused.
    used_at     TIMESTAMPTZ
);

-- The purge of expired passes, across businesses: a range of this index from its start.
CREATE INDEX portal_passes_by_expiry ON portal_passes (expires_at);

-- 2. Notifications of a new kind: the portal link (to the customer).
--
-- The kind's CHECK of migration 0008 is replaced by a wider one, as 0008 replaced 0002's. NOT
-- VALID: every row already satisfies the narrower check, so validating would only read the
-- whole table under this statement's exclusive lock, keeping every queued email waiting; new
-- and updated rows are checked all the same.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('payment_link', 'card_request',
        'receipt', 'business_payment_notice', 'business_card_saved_notice', 'payment_failed',
        'upcoming_charge', 'business_automation_notice', 'portal_link')) NOT VALID;
