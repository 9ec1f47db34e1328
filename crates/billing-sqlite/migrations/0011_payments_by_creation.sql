-- Reads for reports: a business's payments by when they were created.
--
-- Times are RFC 3339 in UTC with exactly nine fractional digits, as this build writes them
-- (`2026-01-15T09:00:00.000000000Z`): fixed width, so that comparing the text compares the
-- times.

-- When each payment was created is the time of its opening entry (seq 0), inside the entry's
-- JSON, where it is written with 0, 3, 6 or 9 fractional digits. This table keeps it beside
-- the payment's id, in (business, time, payment) order, so that the payments of a period are a
-- range of its key read from a cursor and stopped at a limit, whatever the size of the ledger;
-- their entries are then found by (business, payment). Append-only like the ledger, and
-- written only by the trigger below, in the transaction that appends the opening entry.
CREATE TABLE payment_openings (
    business_id TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    payment_id  TEXT NOT NULL,
    PRIMARY KEY (business_id, created_at, payment_id)
) WITHOUT ROWID;

-- The time of an opening entry, padded to nine fractional digits. Only values of the shape
-- `YYYY-MM-DDTHH:MM:SS[.f...]Z` are written by any build.
CREATE TRIGGER entries_open_payments AFTER INSERT ON entries
WHEN NEW.seq = 0
BEGIN
    INSERT INTO payment_openings (business_id, created_at, payment_id)
    SELECT NEW.business_id,
           CASE
               WHEN substr(at, 20, 1) = '.'
                   THEN substr(at, 1, 20)
                        || substr(substr(at, 21, length(at) - 21) || '000000000', 1, 9)
                        || 'Z'
               ELSE substr(at, 1, 19) || '.000000000Z'
           END,
           NEW.payment_id
    FROM (SELECT json_extract(NEW.body, '$.at') AS at);
END;

CREATE TRIGGER payment_openings_are_append_only_update BEFORE UPDATE ON payment_openings
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

CREATE TRIGGER payment_openings_are_append_only_delete BEFORE DELETE ON payment_openings
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

-- The payments written before, from their opening entries.
INSERT INTO payment_openings (business_id, created_at, payment_id)
SELECT business_id,
       CASE
           WHEN substr(at, 20, 1) = '.'
               THEN substr(at, 1, 20)
                    || substr(substr(at, 21, length(at) - 21) || '000000000', 1, 9)
                    || 'Z'
           ELSE substr(at, 1, 19) || '.000000000Z'
       END,
       payment_id
FROM (SELECT business_id, payment_id, json_extract(body, '$.at') AS at
      FROM entries WHERE seq = 0);

