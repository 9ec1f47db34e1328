-- Optimistic ledger commits, booking dates on summaries, first answers kept with their keys,
-- outstanding totals kept as they go, and businesses found by their gateway account.
--
-- Times written by this build are RFC 3339 in UTC with exactly nine fractional digits
-- (`2026-01-15T09:00:00.000000000Z`), as in `notifications` and `payment_links`: fixed width,
-- so that comparing and sorting the text compares and sorts the times.

-- 1. Booking versions.
--
-- How many commits wrote each booking. A use case reads the bookings it decides from with
-- their versions, and its commit lands only while every one of them is still at the version
-- read (a booking not stored counts as version 0); each is then one version further. No lock
-- is held while a use case decides or waits for the gateway, and two processes can never both
-- decide from the same balance. Bookings written before start at 0, like a new one: the first
-- commit decided from them moves them to 1.
ALTER TABLE bookings ADD COLUMN version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0);

-- 2. Booking dates on their summaries.
--
-- When the service is scheduled and when it was completed, copied from the booking with each
-- summary, so that lists and receipts need not read the bookings. NULL when the booking has
-- none.
ALTER TABLE booking_summaries ADD COLUMN service_at TEXT;
ALTER TABLE booking_summaries ADD COLUMN completed_at TEXT;

-- Summaries written before take their dates from their booking's JSON (where earlier builds
-- wrote them with 0, 3, 6 or 9 fractional digits, `2026-12-01T13:37:05Z`)...
UPDATE booking_summaries
SET service_at = (
        SELECT json_extract(b.body, '$.service_at') FROM bookings b
        WHERE b.business_id = booking_summaries.business_id
          AND b.id = booking_summaries.booking_id),
    completed_at = (
        SELECT json_extract(b.body, '$.completed_at') FROM bookings b
        WHERE b.business_id = booking_summaries.business_id
          AND b.id = booking_summaries.booking_id);

-- ...then padded to nine fractional digits, the width this build writes, so that old and new
-- dates sort together. Only values of the shape `YYYY-MM-DDTHH:MM:SS[.f...]Z` are touched.
UPDATE booking_summaries
SET service_at = CASE
        WHEN substr(service_at, 20, 1) = '.'
            THEN substr(service_at, 1, 20)
                 || substr(substr(service_at, 21, length(service_at) - 21) || '000000000', 1, 9)
                 || 'Z'
        ELSE substr(service_at, 1, 19) || '.000000000Z'
    END
WHERE service_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z'
  AND length(service_at) <> 30;

UPDATE booking_summaries
SET completed_at = CASE
        WHEN substr(completed_at, 20, 1) = '.'
            THEN substr(completed_at, 1, 20)
                 || substr(substr(completed_at, 21, length(completed_at) - 21) || '000000000', 1, 9)
                 || 'Z'
        ELSE substr(completed_at, 1, 19) || '.000000000Z'
    END
WHERE completed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z'
  AND length(completed_at) <> 30;

-- 3. First answers.
--
-- The first settled answer of the command under a key (the payment and its bookings'
-- summaries as they stood then), in billing-sql's versioned receipt JSON, so that every replay
-- answers it again exactly. Written once: a commit that completes the key sets it only while
-- it is NULL (first writer wins). NULL on keys still in progress, on keys whose command had no
-- settled answer, and on every key written before this migration.
--
-- The `response_status`, `response_content_type` and `response_body` columns of 0004 stay,
-- unused: a key answered before this version has no first answer, and replays from its
-- payment as it stands.
ALTER TABLE idempotency_keys ADD COLUMN first_answer TEXT CHECK (json_valid(first_answer));

-- 4. Outstanding totals.
--
-- What all customers of a business owe, per currency: the sum of every positive balance and
-- how many bookings have one. Kept by the triggers below in the transaction that writes the
-- summaries, so that reading the totals reads one row per currency, whatever the number of
-- bookings. A row stays when its total falls to zero (the report skips it).
CREATE TABLE outstanding_totals (
    business_id       TEXT    NOT NULL,
    currency          TEXT    NOT NULL,
    balance_due_minor INTEGER NOT NULL CHECK (balance_due_minor >= 0),
    bookings          INTEGER NOT NULL CHECK (bookings >= 0),
    PRIMARY KEY (business_id, currency)
) WITHOUT ROWID;

-- Filled from the summaries written before.
INSERT INTO outstanding_totals (business_id, currency, balance_due_minor, bookings)
SELECT business_id, currency, SUM(balance_due_minor), COUNT(*)
FROM booking_summaries
WHERE balance_due_minor > 0
GROUP BY business_id, currency;

-- A new summary that owes adds its balance and one booking.
CREATE TRIGGER booking_summaries_add_to_totals AFTER INSERT ON booking_summaries
WHEN NEW.balance_due_minor > 0
BEGIN
    INSERT INTO outstanding_totals (business_id, currency, balance_due_minor, bookings)
    VALUES (NEW.business_id, NEW.currency, NEW.balance_due_minor, 1)
    ON CONFLICT (business_id, currency) DO UPDATE SET
        balance_due_minor = balance_due_minor + excluded.balance_due_minor,
        bookings = bookings + 1;
END;

-- A summary rewritten takes back what it owed before (if it owed) and adds what it owes now
-- (if it owes): the delta of the old and new positive balance and owing count. Two steps, so
-- that a summary moving to another currency (or business) moves its share with it.
CREATE TRIGGER booking_summaries_move_totals
AFTER UPDATE OF business_id, currency, balance_due_minor ON booking_summaries
WHEN OLD.balance_due_minor > 0 OR NEW.balance_due_minor > 0
BEGIN
    UPDATE outstanding_totals
    SET balance_due_minor = balance_due_minor - OLD.balance_due_minor,
        bookings = bookings - 1
    WHERE OLD.balance_due_minor > 0
      AND business_id = OLD.business_id AND currency = OLD.currency;
    INSERT INTO outstanding_totals (business_id, currency, balance_due_minor, bookings)
    SELECT NEW.business_id, NEW.currency, NEW.balance_due_minor, 1
    WHERE NEW.balance_due_minor > 0
    ON CONFLICT (business_id, currency) DO UPDATE SET
        balance_due_minor = balance_due_minor + excluded.balance_due_minor,
        bookings = bookings + 1;
END;

-- The store never deletes a summary; should someone do it by hand, the totals follow.
CREATE TRIGGER booking_summaries_remove_from_totals AFTER DELETE ON booking_summaries
WHEN OLD.balance_due_minor > 0
BEGIN
    UPDATE outstanding_totals
    SET balance_due_minor = balance_due_minor - OLD.balance_due_minor,
        bookings = bookings - 1
    WHERE business_id = OLD.business_id AND currency = OLD.currency;
END;

-- 5. Businesses by gateway account.
--
-- How a gateway event (which names the connected account, `acct_...`) finds its business.
-- Businesses without an account are left out: no lookup asks for NULL.
CREATE INDEX businesses_by_gateway_account ON businesses (gateway_account)
    WHERE gateway_account IS NOT NULL;
