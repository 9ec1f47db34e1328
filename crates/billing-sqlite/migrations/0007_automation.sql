-- Payment automation: each business's payment settings, one schedule per booking with the
-- time the scheduler looks at it next, customers whose automation is paused, and the history
-- of runs; and the notifications of two new kinds.
--
-- Keyed by `business_id` first like every tenant table; every query filters on it but the
-- scheduler's take, which serves every business and returns each row's business. Times are
-- RFC 3339 in UTC with exactly nine fractional digits, as in `notifications`: fixed width, so
-- that comparing and sorting the text compares and sorts the times. Bodies are JSON in
-- billing-sql's formats, whose version is in `format` beside them.

-- 1. Payment settings: how automation takes a business's money, for all its bookings by default.
-- A business that never set them has no row (automation is then manual).
CREATE TABLE payment_settings (
    business_id TEXT    NOT NULL PRIMARY KEY,
    format      INTEGER NOT NULL CHECK (format > 0),
    body        TEXT    NOT NULL CHECK (json_valid(body))
);

-- 2. Booking schedules: automation's record of each booking. `body` holds the booking's own
-- policy, its failed attempts, what is planned next, the card flagged and when it was booked;
-- the columns are what queries filter and sort on.
CREATE TABLE booking_schedules (
    business_id     TEXT    NOT NULL,
    booking_id      TEXT    NOT NULL,
    customer_id     TEXT    NOT NULL,
    -- When the scheduler looks at the booking next (a take moves it to its lease's end); NULL:
    -- not until something changes.
    due_at          TEXT,
    needs_attention INTEGER NOT NULL CHECK (needs_attention IN (0, 1)),
    -- Set once the booking is canceled: new settings and a customer resumed leave it be.
    canceled_at     TEXT,
    -- How many writes made the row: a write lands only on the version it was decided from.
    version         INTEGER NOT NULL CHECK (version > 0),
    format          INTEGER NOT NULL CHECK (format > 0),
    body            TEXT    NOT NULL CHECK (json_valid(body)),
    PRIMARY KEY (business_id, booking_id)
);
-- (A rowid table: with its JSON body a row is a few hundred bytes, more than SQLite stores
-- well in the B-tree of a WITHOUT ROWID table.)

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
    business_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (business_id, customer_id)
) WITHOUT ROWID;

-- 4. Automation runs: what automation did on a booking, why, and how it ended, newest first.
-- `outcome` is the body's outcome name, repeated for the filter. No CHECK on it: a new
-- outcome would then need this table rebuilt, as `notifications` is below.
CREATE TABLE automation_runs (
    business_id TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    booking_id  TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    format      INTEGER NOT NULL CHECK (format > 0),
    body        TEXT    NOT NULL CHECK (json_valid(body)),
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
-- SQLite cannot change a CHECK constraint: the table is made again with the new one, its rows
-- copied, the old table dropped and the new one renamed, and its indexes made again. Nothing
-- refers to `notifications` (no foreign key, trigger or view), and this runs in the
-- migration's transaction: a failure leaves the old table as it was.
CREATE TABLE notifications_with_automation (
    business_id     TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    -- The customer the email is about (for notices to the business: who paid or saved a card).
    customer_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('payment_link', 'card_request', 'receipt',
                        'business_payment_notice', 'business_card_saved_notice',
                        'payment_failed', 'upcoming_charge', 'business_automation_notice')),
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

INSERT INTO notifications_with_automation (business_id, id, customer_id, kind, to_address,
    subject, text_body, html_body, created_at, state, attempts, attempted_at, outcome,
    next_attempt_at)
SELECT business_id, id, customer_id, kind, to_address, subject, text_body, html_body,
    created_at, state, attempts, attempted_at, outcome, next_attempt_at
FROM notifications;

DROP TABLE notifications;
ALTER TABLE notifications_with_automation RENAME TO notifications;

-- The indexes of migration 0002, as they were.
CREATE INDEX notifications_due ON notifications (next_attempt_at, business_id, id)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notifications_due_by_business ON notifications (business_id, next_attempt_at, id)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notifications_by_customer
    ON notifications (business_id, customer_id, created_at DESC, id DESC);
