-- Payment links and card requests, and where a business's own notices go.
--
-- A link is what staff send a customer so that they pay, or save a card, on a hosted page with
-- no login. The page knows only the link's secret token; the store keeps the token's SHA-256
-- hash alone, so a leaked database opens no one's links. Rows are keyed by `business_id` first
-- like every tenant table, and every query filters on it, except the lookup by token hash (the
-- customer's page has no API key to say whose the link is; the row says).
--
-- Times are RFC 3339 in UTC with exactly nine fractional digits, as in `notifications`: fixed
-- width, so that comparing and sorting the text compares and sorts the times.

-- Where notices to the business go (a customer paid, a customer saved a card); NULL: none sent.
ALTER TABLE businesses ADD COLUMN email TEXT;

CREATE TABLE payment_links (
    business_id       TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    -- The token's SHA-256 hash, as 64 lowercase hex digits. Unique across businesses: the
    -- lookup by token finds at most one link.
    token_hash        TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    -- The customer the link was sent to.
    customer_id       TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('payment', 'card_request')),
    -- A payment link's total in integer minor units, and its currency; NULL for a card request.
    amount_minor      INTEGER,
    currency          TEXT,
    -- A payment link's bookings, in order: a JSON array of objects `{"booking": id,
    -- "amount_minor": n, "balance_due_minor": n}`, in the link's currency. NULL for a card
    -- request. Read whole with the link, never queried apart.
    bookings          TEXT    CHECK (json_valid(bookings)),
    created_at        TEXT    NOT NULL,
    expires_at        TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('open', 'completed', 'canceled')),
    -- When the link was completed or canceled.
    closed_at         TEXT,
    -- A completed link's payment (payment links) and saved card's payment method id, if any.
    payment_id        TEXT,
    card              TEXT,
    PRIMARY KEY (business_id, id),
    CHECK ((kind = 'payment') = (amount_minor IS NOT NULL AND currency IS NOT NULL
        AND bookings IS NOT NULL)),
    CHECK (kind = 'payment' OR (amount_minor IS NULL AND currency IS NULL AND bookings IS NULL)),
    CHECK ((state = 'open') = (closed_at IS NULL)),
    CHECK (state = 'completed' OR (payment_id IS NULL AND card IS NULL))
);
-- (A rowid table, like `notifications`: with its hash, times and bookings a row is several
-- hundred bytes, more than SQLite stores well in the B-tree of a WITHOUT ROWID table.)

-- A customer's links, newest first: a range scan in index order.
CREATE INDEX payment_links_by_customer
    ON payment_links (business_id, customer_id, created_at DESC, id DESC);
