-- Payment automation: each business's payment settings, one schedule per booking with the
-- time the scheduler looks at it next, customers whose automation is paused, and the history
-- of runs; and the notifications of two new kinds.
--
-- Keyed by `business_id` first like every tenant table; every query filters on it but the
-- scheduler's take, which serves every business and returns each row's business. Ids use the
-- "C" collation (byte order), as in the other tables. Bodies are `json` in billing-sql's
-- formats, whose version is in `format` beside them.

-- 1. Payment settings: how automation takes a business's money, for all its bookings by default.
-- A business that never set them has no row (automation is then manual).
CREATE TABLE payment_settings (
    business_id TEXT COLLATE "C" PRIMARY KEY,
    format      INTEGER NOT NULL CHECK (format > 0),
    body        JSON NOT NULL
);

-- 2. Booking schedules: automation's record of each booking. `body` holds the booking's own
-- policy, its failed attempts, what is planned next, the card flagged and when it was booked;
-- the columns are what queries filter and sort on.
CREATE TABLE booking_schedules (
    business_id     TEXT COLLATE "C" NOT NULL,
    booking_id      TEXT COLLATE "C" NOT NULL,
    customer_id     TEXT COLLATE "C" NOT NULL,
    -- When the scheduler looks at the booking next (a take moves it to its lease's end); NULL:
    -- not until something changes.
    due_at          TIMESTAMPTZ,
    needs_attention BOOLEAN NOT NULL,
    -- Set once the booking is canceled: new settings and a customer resumed leave it be.
    canceled_at     TIMESTAMPTZ,
    -- How many writes made the row: a write lands only on the version it was decided from.
    version         BIGINT NOT NULL CHECK (version > 0),
    format          INTEGER NOT NULL CHECK (format > 0),
    body            JSON NOT NULL,
    PRIMARY KEY (business_id, booking_id)
);

-- The scheduler's take, across businesses: only rows with a due time are indexed, in the
-- take's order, so that a take reads the rows it takes and stops, however many wait.
CREATE INDEX booking_schedules_due ON booking_schedules (due_at, business_id, booking_id)
    WHERE due_at IS NOT NULL;

-- A customer's records, in page order (and the customer's records made due on resuming).
CREATE INDEX booking_schedules_by_customer
    ON booking_schedules (business_id, customer_id, booking_id);

-- The records that need staff's attention, few at any time, in page order.
CREATE INDEX booking_schedules_needing_attention ON booking_schedules (business_id, booking_id)
    WHERE needs_attention;

-- 3. Customers whose automation is paused (a row while paused).
CREATE TABLE automation_paused_customers (
    business_id TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (business_id, customer_id)
);

-- 4. Automation runs: what automation did on a booking, why, and how it ended, newest first.
-- `outcome` is the body's outcome name, repeated for the filter.
CREATE TABLE automation_runs (
    business_id TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    booking_id  TEXT COLLATE "C" NOT NULL,
    customer_id TEXT COLLATE "C" NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    outcome     TEXT COLLATE "C" NOT NULL,
    format      INTEGER NOT NULL CHECK (format > 0),
    body        JSON NOT NULL,
    PRIMARY KEY (business_id, id)
);

-- Pages newest first (`(at, id) < (cursor)`), of the business, of a booking and of an
-- outcome: each a range of its index in page order.
CREATE INDEX automation_runs_newest ON automation_runs (business_id, at DESC, id DESC);
CREATE INDEX automation_runs_by_booking
    ON automation_runs (business_id, booking_id, at DESC, id DESC);
CREATE INDEX automation_runs_by_outcome
    ON automation_runs (business_id, outcome, at DESC, id DESC);

-- 5. Notifications of two new kinds: an automatic charge coming (to the customer), and a
-- booking automation needs someone to act on (to the business).
--
-- The column's CHECK of migration 0002 (named by Postgres `notifications_kind_check`) is
-- replaced by a wider one. NOT VALID: every row already satisfies the narrower check, so
-- validating would only read the whole table under this statement's exclusive lock, keeping
-- every queued email waiting; new and updated rows are checked all the same.
ALTER TABLE notifications
    DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('payment_link', 'card_request',
        'receipt', 'business_payment_notice', 'business_card_saved_notice', 'payment_failed',
        'upcoming_charge', 'business_automation_notice')) NOT VALID;
