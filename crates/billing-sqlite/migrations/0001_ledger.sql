-- The billing engine's tables on SQLite.
--
-- Every table but `businesses` and `api_keys` is keyed by `business_id` first, and every query
-- of the adapter filters on it: one business can never read another's rows. Money is stored in
-- integer minor units (cents for USD, yen for JPY) beside its ISO 4217 currency code, never as
-- floating point. Ids are compared with SQLite's default BINARY collation, i.e. byte order,
-- which is the order the in-memory reference store uses.

-- The businesses using the engine (the tenants).
CREATE TABLE businesses (
    id              TEXT NOT NULL PRIMARY KEY,
    name            TEXT NOT NULL,
    -- The connected gateway account (`acct_...`), if any.
    gateway_account TEXT
) WITHOUT ROWID;

-- API keys, as hashes only: how an API request finds its business. Several keys per business
-- allow rotation.
CREATE TABLE api_keys (
    key_hash    TEXT NOT NULL PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id)
) WITHOUT ROWID;

CREATE INDEX api_keys_by_business ON api_keys (business_id);

-- The customers of each business.
CREATE TABLE customers (
    business_id      TEXT NOT NULL,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    email            TEXT,
    -- The gateway's customer id (`cus_...`) once created there.
    gateway_customer TEXT,
    PRIMARY KEY (business_id, id)
) WITHOUT ROWID;

-- Cards saved at the gateway for a customer (the gateway alone holds card numbers).
CREATE TABLE saved_cards (
    business_id    TEXT    NOT NULL,
    customer_id    TEXT    NOT NULL,
    -- The gateway's payment method id (`pm_...`).
    payment_method TEXT    NOT NULL,
    brand          TEXT    NOT NULL,
    last4          TEXT    NOT NULL,
    exp_month      INTEGER NOT NULL,
    exp_year       INTEGER NOT NULL,
    is_default     INTEGER NOT NULL CHECK (is_default IN (0, 1)),
    PRIMARY KEY (business_id, customer_id, payment_method)
) WITHOUT ROWID;

-- At most one default card per customer: `put_card` clears the others first.
CREATE UNIQUE INDEX saved_cards_one_default ON saved_cards (business_id, customer_id)
    WHERE is_default = 1;

-- Each booking's billing view (who pays, currency, line items). `body` is the JSON of the
-- core's `BookingAccount`; customer and currency are repeated as columns for ad-hoc queries.
CREATE TABLE bookings (
    business_id TEXT NOT NULL,
    id          TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    currency    TEXT NOT NULL,
    body        TEXT NOT NULL CHECK (json_valid(body)),
    PRIMARY KEY (business_id, id)
) WITHOUT ROWID;

-- The append-only ledger: one row per payment entry (the JSON of the core's `Entry`). A payment
-- is the fold of its entries; (business, payment, seq) is unique, which is what stops two
-- writers from both moving one payment. `position` keeps the order entries were written in.
CREATE TABLE entries (
    position    INTEGER PRIMARY KEY,
    business_id TEXT    NOT NULL,
    payment_id  TEXT    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 0),
    body        TEXT    NOT NULL CHECK (json_valid(body)),
    UNIQUE (business_id, payment_id, seq)
);

-- Entries are never edited or removed: a correction is a new entry.
CREATE TRIGGER entries_are_append_only_update BEFORE UPDATE ON entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

CREATE TRIGGER entries_are_append_only_delete BEFORE DELETE ON entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

-- Which bookings each entry touches: how a booking's history is found without reading the
-- whole ledger.
CREATE TABLE entry_bookings (
    business_id TEXT    NOT NULL,
    booking_id  TEXT    NOT NULL,
    payment_id  TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (business_id, booking_id, payment_id, seq),
    FOREIGN KEY (business_id, payment_id, seq) REFERENCES entries (business_id, payment_id, seq)
) WITHOUT ROWID;

CREATE TRIGGER entry_bookings_are_append_only_update BEFORE UPDATE ON entry_bookings
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

CREATE TRIGGER entry_bookings_are_append_only_delete BEFORE DELETE ON entry_bookings
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

-- The read model: each booking's balance and status as of its last write, for lists and the
-- outstanding report. Rewritten in the same transaction as the entries that change it.
CREATE TABLE booking_summaries (
    business_id             TEXT    NOT NULL,
    booking_id              TEXT    NOT NULL,
    customer_id             TEXT    NOT NULL,
    currency                TEXT    NOT NULL,
    price_minor             INTEGER NOT NULL,
    paid_minor              INTEGER NOT NULL,
    refunded_minor          INTEGER NOT NULL,
    in_flight_minor         INTEGER NOT NULL,
    held_minor              INTEGER NOT NULL,
    refunds_in_flight_minor INTEGER NOT NULL,
    balance_due_minor       INTEGER NOT NULL,
    status                  TEXT    NOT NULL CHECK (status IN ('not_charged', 'pre_authorized',
                                'partially_charged', 'charged_in_full', 'overpaid', 'refunded')),
    pending                 INTEGER NOT NULL CHECK (pending IN (0, 1)),
    last_failed             INTEGER NOT NULL CHECK (last_failed IN (0, 1)),
    -- RFC 3339, to the nanosecond.
    as_of                   TEXT    NOT NULL,
    PRIMARY KEY (business_id, booking_id)
) WITHOUT ROWID;

-- List filters: by customer, by status, by pending flag, each in booking id order (the page
-- order), so a page is a range scan.
CREATE INDEX booking_summaries_by_customer ON booking_summaries (business_id, customer_id, booking_id);
CREATE INDEX booking_summaries_by_status ON booking_summaries (business_id, status, booking_id);
CREATE INDEX booking_summaries_by_pending ON booking_summaries (business_id, pending, booking_id);

-- The outstanding report reads only bookings that owe something: a partial, covering index.
CREATE INDEX booking_summaries_outstanding
    ON booking_summaries (business_id, customer_id, currency, balance_due_minor)
    WHERE balance_due_minor > 0;

-- Idempotency keys: one record per (business, key), claimed in the transaction that opens the
-- payment, so a retried request finds the first one's payment.
CREATE TABLE idempotency_keys (
    business_id TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    payment_id  TEXT    NOT NULL,
    completed   INTEGER NOT NULL CHECK (completed IN (0, 1)),
    -- RFC 3339, to the nanosecond.
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (business_id, key)
) WITHOUT ROWID;
