-- The first answer to each idempotent command, so that a replay answers it again byte for byte.
--
-- "A replay returns the same status and body": reading the payment again at replay time would
-- answer it as it stands now (refunded since, its bookings' balances changed). Once a command
-- under a key has completed, the API stores what it answered: the status, the media type and
-- the body, all three or none. Written once: the API's save is an UPDATE that only touches a
-- completed row without a response yet, so the first writer wins and a stored answer never
-- changes. NULL on every row written before this migration, and on keys still in progress: a
-- replay of those reads the payment as before.

-- The HTTP status answered (201, 402...).
ALTER TABLE idempotency_keys ADD COLUMN response_status INTEGER
    CHECK (response_status BETWEEN 100 AND 599);

-- The body's media type (`application/json`, `application/problem+json`...).
ALTER TABLE idempotency_keys ADD COLUMN response_content_type TEXT;

-- The body, exactly as answered. (SQLite lets a column's CHECK name the columns added before it.)
ALTER TABLE idempotency_keys ADD COLUMN response_body TEXT
    CHECK ((response_status IS NULL) = (response_body IS NULL)
       AND (response_content_type IS NULL) = (response_body IS NULL));
