-- The first answer to each idempotent command, so that a replay answers it again byte for byte.
--
-- "A replay returns the same status and body": reading the payment again at replay time would
-- answer it as it stands now (refunded since, its bookings' balances changed). Once a command
-- under a key has completed, the API stores what it answered: the status, the media type and
-- the body, all three or none. Written once: the API's save is an UPDATE that only touches a
-- completed row without a response yet, so the first writer wins and a stored answer never
-- changes. NULL on every row written before this migration, and on keys still in progress: a
-- replay of those reads the payment as before.
--
-- Nullable columns without a default rewrite nothing. The constraint is added NOT VALID: every
-- row written from now on is checked, and the rows already there (all NULL, which passes) are
-- not scanned under the table's lock.

ALTER TABLE idempotency_keys
    -- The HTTP status answered (201, 402...).
    ADD COLUMN response_status       INTEGER,
    -- The body's media type (`application/json`, `application/problem+json`...).
    ADD COLUMN response_content_type TEXT,
    -- The body, exactly as answered.
    ADD COLUMN response_body         TEXT,
    ADD CONSTRAINT idempotency_keys_response_whole CHECK (
        (response_status IS NULL) = (response_body IS NULL)
        AND (response_content_type IS NULL) = (response_body IS NULL)
        AND response_status BETWEEN 100 AND 599
    ) NOT VALID;
