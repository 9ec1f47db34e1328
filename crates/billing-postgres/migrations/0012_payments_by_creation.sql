-- Reads for reports: a business's payments by when they were created.
--
-- When each payment was created is the time of its opening entry (seq 0), inside the entry's
-- JSON. This table keeps it beside the payment's id, in (business, time, payment) order, so
-- that the payments of a period are a range of its key read from a cursor and stopped at a
-- limit, whatever the size of the ledger; their entries are then found one payment at a time
-- by the entries' primary key. Append-only like the ledger, and written only by the trigger
-- below, in the statement that appends the opening entry (`billing_commit` is unchanged).
--
-- A time is kept to the microsecond, as TIMESTAMPTZ keeps it, cut (not rounded) as sqlx cuts
-- the times it binds: a payment made at 09:00:00.9999999 is in the second it was made in, and
-- the cursor a page ends with (the last payment's time, bound) is exactly the time kept.

CREATE TABLE payment_openings (
    business_id TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    payment_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (business_id, created_at, payment_id)
);

CREATE TRIGGER payment_openings_are_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON payment_openings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- An entry's time (RFC 3339 with up to nine fractional digits), cut to the microsecond.
CREATE FUNCTION entry_time(p_body JSON) RETURNS TIMESTAMPTZ
LANGUAGE sql STABLE STRICT AS $$
    SELECT regexp_replace(p_body ->> 'at', '(\.[0-9]{6})[0-9]+', '\1')::timestamptz
$$;

CREATE FUNCTION entries_open_payments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO payment_openings (business_id, created_at, payment_id)
    VALUES (NEW.business_id, entry_time(NEW.body), NEW.payment_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER entries_open_payments
    AFTER INSERT ON entries
    FOR EACH ROW WHEN (NEW.seq = 0) EXECUTE FUNCTION entries_open_payments();

-- The payments written before, from their opening entries.
INSERT INTO payment_openings (business_id, created_at, payment_id)
SELECT business_id, entry_time(body), payment_id FROM entries WHERE seq = 0;
