-- The billing engine's tables on PostgreSQL.
--
-- Every table but `businesses` and `api_keys` is keyed by `business_id` first, and every query
-- of the adapter filters on it: one business can never read another's rows. Money is stored in
-- integer minor units (BIGINT: cents for USD, yen for JPY) beside its ISO 4217 currency code,
-- never as floating point. JSON bodies are `json` (the text as written, checked to be JSON)
-- rather than `jsonb`: they are written once and read whole, so a parsed copy would only cost
-- a parse on every write and a print on every read. Ids use the "C" collation (byte order) whatever the database's
-- default: it is the order the in-memory reference store pages in, and it keeps id indexes
-- cheap.

-- The businesses using the engine (the tenants).
CREATE TABLE businesses (
    id              TEXT COLLATE "C" PRIMARY KEY,
    name            TEXT NOT NULL,
    -- The connected gateway account (`acct_...`), if any.
    gateway_account TEXT
);

-- API keys, as hashes only: how an API request finds its business. Several keys per business
-- allow rotation.
CREATE TABLE api_keys (
    key_hash    TEXT COLLATE "C" PRIMARY KEY,
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id)
);

CREATE INDEX api_keys_by_business ON api_keys (business_id);

-- The customers of each business.
CREATE TABLE customers (
    business_id      TEXT COLLATE "C" NOT NULL,
    id               TEXT COLLATE "C" NOT NULL,
    name             TEXT NOT NULL,
    email            TEXT,
    -- The gateway's customer id (`cus_...`) once created there.
    gateway_customer TEXT,
    PRIMARY KEY (business_id, id)
);

-- Cards saved at the gateway for a customer (the gateway alone holds card numbers).
CREATE TABLE saved_cards (
    business_id    TEXT COLLATE "C" NOT NULL,
    customer_id    TEXT COLLATE "C" NOT NULL,
    -- The gateway's payment method id (`pm_...`).
    payment_method TEXT COLLATE "C" NOT NULL,
    brand          TEXT NOT NULL,
    last4          TEXT NOT NULL,
    exp_month      BIGINT NOT NULL,
    exp_year       BIGINT NOT NULL,
    is_default     BOOLEAN NOT NULL,
    PRIMARY KEY (business_id, customer_id, payment_method)
);

-- At most one default card per customer: `put_card` clears the others first.
CREATE UNIQUE INDEX saved_cards_one_default ON saved_cards (business_id, customer_id)
    WHERE is_default;

-- Each booking's billing view (who pays, currency, line items). `body` is the JSON of the
-- core's `BookingAccount`; customer and currency are repeated as columns for ad-hoc queries.
CREATE TABLE bookings (
    business_id TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" NOT NULL,
    currency    TEXT NOT NULL,
    body        JSON NOT NULL,
    PRIMARY KEY (business_id, id)
);

-- The append-only ledger: one row per payment entry (`body` is the JSON of the core's
-- `Entry`). A payment is the fold of its entries; (business, payment, seq) is unique, which is
-- what stops two writers from both moving one payment. `position` keeps the order entries
-- were written in.
CREATE TABLE entries (
    business_id TEXT COLLATE "C" NOT NULL,
    payment_id  TEXT COLLATE "C" NOT NULL,
    -- The entry's `seq` (a u32 in the code: never negative).
    seq         BIGINT NOT NULL,
    position    BIGINT GENERATED ALWAYS AS IDENTITY,
    body        JSON NOT NULL,
    PRIMARY KEY (business_id, payment_id, seq)
);

-- Which bookings each entry touches: how a booking's history is found without reading the
-- whole ledger. Each row names an entry (business_id, payment_id, seq). Not declared as a
-- foreign key: links are only ever written by the statement that writes their entries, neither
-- can be changed or removed (triggers below), and the check would cost a lookup per link on
-- the hottest path.
CREATE TABLE entry_bookings (
    business_id TEXT COLLATE "C" NOT NULL,
    booking_id  TEXT COLLATE "C" NOT NULL,
    payment_id  TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (business_id, booking_id, payment_id, seq)
);

-- Entries are never edited or removed, by this code or by hand: a correction is a new entry.
-- Statement-level, so even an UPDATE or DELETE that matches no row is refused.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER entries_are_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER entry_bookings_are_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON entry_bookings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The read model: each booking's balance and status as of its last write, for lists and the
-- outstanding report. Rewritten in the same transaction as the entries that change it.
CREATE TABLE booking_summaries (
    business_id             TEXT COLLATE "C" NOT NULL,
    booking_id              TEXT COLLATE "C" NOT NULL,
    customer_id             TEXT COLLATE "C" NOT NULL,
    currency                TEXT COLLATE "C" NOT NULL,
    price_minor             BIGINT NOT NULL,
    paid_minor              BIGINT NOT NULL,
    refunded_minor          BIGINT NOT NULL,
    in_flight_minor         BIGINT NOT NULL,
    held_minor              BIGINT NOT NULL,
    refunds_in_flight_minor BIGINT NOT NULL,
    balance_due_minor       BIGINT NOT NULL,
    -- not_charged, pre_authorized, partially_charged, charged_in_full, overpaid or refunded
    -- (the code's PaymentStatus; a CHECK would be re-parsed on every write of this hot table).
    status                  TEXT NOT NULL,
    pending                 BOOLEAN NOT NULL,
    last_failed             BOOLEAN NOT NULL,
    as_of                   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (business_id, booking_id)
);

-- List filters: by customer, by status, by pending flag, each in booking id order (the page
-- order), so a page is a range scan.
CREATE INDEX booking_summaries_by_customer ON booking_summaries (business_id, customer_id, booking_id);
CREATE INDEX booking_summaries_by_status ON booking_summaries (business_id, status, booking_id);
CREATE INDEX booking_summaries_by_pending ON booking_summaries (business_id, pending, booking_id);

-- The outstanding report reads only bookings that owe something: a partial index, covering the
-- query so it is answered from the index alone.
CREATE INDEX booking_summaries_outstanding
    ON booking_summaries (business_id, customer_id, currency) INCLUDE (balance_due_minor)
    WHERE balance_due_minor > 0;

-- Idempotency keys: one record per (business, key), claimed in the transaction that opens the
-- payment, so a retried request finds the first one's payment.
CREATE TABLE idempotency_keys (
    business_id TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    payment_id  TEXT COLLATE "C" NOT NULL,
    completed   BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (business_id, key)
);
