-- One round trip per commit, values always bound, totals kept as they go.
--
-- Until now a money move held advisory locks on its bookings across a transaction of several
-- round trips, and its writes were sent as simple-query text with the values inlined (safe only
-- while `standard_conforming_strings` is on). Now a use case reads what it decides from, with
-- each booking's version, and commits everything in one statement, `billing_commit`, whose
-- arguments are bound: the commit lands only if no booking it read moved meanwhile.

-- How many commits wrote each booking. Rows already here start at 0, as a booking never
-- written does: the first commit that reads one at 0 finds it there.
ALTER TABLE bookings ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- A summary carries its booking's dates, so that lists and receipts need no second read.
ALTER TABLE booking_summaries
    ADD COLUMN service_at   TIMESTAMPTZ,
    ADD COLUMN completed_at TIMESTAMPTZ;

UPDATE booking_summaries s
SET service_at = (b.body ->> 'service_at')::timestamptz,
    completed_at = (b.body ->> 'completed_at')::timestamptz
FROM bookings b
WHERE b.business_id = s.business_id AND b.id = s.booking_id
    AND (b.body ->> 'service_at' IS NOT NULL OR b.body ->> 'completed_at' IS NOT NULL);

-- The first settled answer of the command under a key (the JSON of billing-sql's first-answer
-- format), which every replay answers again. The `response_*` columns of migration 0004 are no
-- longer written or read: a key answered before this migration replays from its payment as it
-- stands.
ALTER TABLE idempotency_keys ADD COLUMN first_answer TEXT;

-- What all customers owe, per currency, kept as balances change: a trigger on the summaries
-- adds each change's difference. Spread over 64 shards by booking, so that concurrent commits
-- seldom wait on the same row; the report adds the shards up.
CREATE TABLE outstanding_totals (
    business_id       TEXT COLLATE "C" NOT NULL,
    currency          TEXT COLLATE "C" NOT NULL,
    shard             SMALLINT NOT NULL,
    balance_due_minor BIGINT NOT NULL,
    bookings          BIGINT NOT NULL,
    PRIMARY KEY (business_id, currency, shard)
);

CREATE FUNCTION outstanding_shard(booking TEXT) RETURNS SMALLINT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (hashtext(booking) & 63)::smallint;

CREATE FUNCTION outstanding_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_due BIGINT := 0;
    old_owing BIGINT := 0;
    new_due BIGINT := GREATEST(NEW.balance_due_minor, 0);
    new_owing BIGINT := CASE WHEN NEW.balance_due_minor > 0 THEN 1 ELSE 0 END;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_due := GREATEST(OLD.balance_due_minor, 0);
        old_owing := CASE WHEN OLD.balance_due_minor > 0 THEN 1 ELSE 0 END;
        IF OLD.currency IS DISTINCT FROM NEW.currency THEN
            UPDATE outstanding_totals
            SET balance_due_minor = balance_due_minor - old_due, bookings = bookings - old_owing
            WHERE business_id = OLD.business_id AND currency = OLD.currency
                AND shard = outstanding_shard(OLD.booking_id);
            old_due := 0;
            old_owing := 0;
        END IF;
    END IF;
    IF new_due = old_due AND new_owing = old_owing THEN
        RETURN NULL;
    END IF;
    INSERT INTO outstanding_totals AS t (business_id, currency, shard, balance_due_minor, bookings)
    VALUES (NEW.business_id, NEW.currency, outstanding_shard(NEW.booking_id),
            new_due - old_due, new_owing - old_owing)
    ON CONFLICT (business_id, currency, shard) DO UPDATE
    SET balance_due_minor = t.balance_due_minor + excluded.balance_due_minor,
        bookings = t.bookings + excluded.bookings;
    RETURN NULL;
END
$$;

CREATE TRIGGER outstanding_follows_new_summaries
    AFTER INSERT ON booking_summaries
    FOR EACH ROW WHEN (NEW.balance_due_minor > 0)
    EXECUTE FUNCTION outstanding_follow();

-- Only when the balance or the currency changed (most commits, opening a pending payment, do
-- not), so that the function is not even called otherwise.
CREATE TRIGGER outstanding_follows_summary_changes
    AFTER UPDATE ON booking_summaries
    FOR EACH ROW WHEN (OLD.balance_due_minor IS DISTINCT FROM NEW.balance_due_minor
        OR OLD.currency IS DISTINCT FROM NEW.currency)
    EXECUTE FUNCTION outstanding_follow();

INSERT INTO outstanding_totals (business_id, currency, shard, balance_due_minor, bookings)
SELECT business_id, currency, outstanding_shard(booking_id), SUM(balance_due_minor), COUNT(*)
FROM booking_summaries
WHERE balance_due_minor > 0
GROUP BY business_id, currency, outstanding_shard(booking_id);

-- Gateway events name a connected account: its business is found by index.
CREATE INDEX businesses_by_account ON businesses (gateway_account)
    WHERE gateway_account IS NOT NULL;

-- A commit, all or nothing, in one statement (`SELECT billing_commit($1, $2)`). `p_write` is
-- the JSON the adapter builds:
--   read       [{id, version}]  every booking decided from, at the version read (0: not stored)
--   claim      {key, fingerprint, payment_id, completed, created_at, first_answer} or null
--   bookings   [{id, customer_id, currency, body}]  billing views made or replaced
--   entries    [{payment_id, seq, body}]            appended (each (payment, seq) once)
--   links      [{booking_id, payment_id, seq}]      the bookings each entry touches
--   summaries  [{booking_id, customer_id, ... as_of}]
--   key        {op: "complete" | "release", key, first_answer} or null
-- It answers 'written', or the taken key's record as JSON (nothing else written then). A
-- booking that moved since it was read raises `serialization_failure` (40001), and an entry that
-- exists raises `unique_violation`: the adapter reports both as a conflict, and nothing is
-- written. A row locked FOR UPDATE is read as the previous holder committed it, so the versions
-- are compared against what the previous holder wrote.
CREATE FUNCTION billing_commit(p_business TEXT, p_write JSON) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    current_version BIGINT;
    put_customer TEXT;
    put_currency TEXT;
    put_body JSON;
    taken TEXT;
BEGIN
    IF json_typeof(p_write -> 'claim') = 'object' THEN
        INSERT INTO idempotency_keys
            (business_id, key, fingerprint, payment_id, completed, created_at, first_answer)
        SELECT p_business, c.key, c.fingerprint, c.payment_id, c.completed, c.created_at,
            c.first_answer
        FROM json_to_record(p_write -> 'claim') AS c (key TEXT, fingerprint TEXT,
            payment_id TEXT, completed BOOLEAN, created_at TIMESTAMPTZ, first_answer TEXT)
        ON CONFLICT (business_id, key) DO NOTHING;
        IF NOT FOUND THEN
            SELECT json_build_object('key', k.key, 'fingerprint', k.fingerprint,
                'payment_id', k.payment_id, 'completed', k.completed,
                'created_at', k.created_at, 'first_answer', k.first_answer)::text
            INTO taken
            FROM idempotency_keys k
            WHERE k.business_id = p_business AND k.key = p_write -> 'claim' ->> 'key';
            RETURN taken;
        END IF;
    END IF;

    -- One booking at a time, in id order (two commits on overlapping bookings lock in the same
    -- order and cannot deadlock), each statement a lookup by primary key: whatever plan
    -- Postgres keeps for them, made on empty tables or full ones, it reads one row.
    FOR r IN
        SELECT x.id, x.version
        FROM json_to_recordset(p_write -> 'read') AS x (id TEXT, version BIGINT)
        ORDER BY x.id
    LOOP
        SELECT b.version INTO current_version
        FROM bookings b
        WHERE b.business_id = p_business AND b.id = r.id
        FOR UPDATE;
        IF COALESCE(current_version, 0) <> r.version THEN
            RAISE EXCEPTION 'booking % moved since it was read', r.id USING ERRCODE = '40001';
        END IF;
        SELECT p.customer_id, p.currency, p.body INTO put_customer, put_currency, put_body
        FROM json_to_recordset(p_write -> 'bookings')
            AS p (id TEXT, customer_id TEXT, currency TEXT, body JSON)
        WHERE p.id = r.id;
        IF current_version IS NOT NULL THEN
            UPDATE bookings
            SET version = version + 1,
                customer_id = COALESCE(put_customer, customer_id),
                currency = COALESCE(put_currency, currency),
                body = COALESCE(put_body, body)
            WHERE business_id = p_business AND id = r.id;
        ELSIF put_body IS NOT NULL THEN
            -- Made by this write. A concurrent commit that made the same booking first makes
            -- this insert a unique violation: a conflict.
            INSERT INTO bookings (business_id, id, customer_id, currency, body, version)
            VALUES (p_business, r.id, put_customer, put_currency, put_body, 1);
        END IF;
    END LOOP;

    INSERT INTO entries (business_id, payment_id, seq, body)
    SELECT p_business, e.payment_id, e.seq, e.body
    FROM json_to_recordset(p_write -> 'entries') AS e (payment_id TEXT, seq BIGINT, body JSON);
    INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq)
    SELECT p_business, l.booking_id, l.payment_id, l.seq
    FROM json_to_recordset(p_write -> 'links') AS l (booking_id TEXT, payment_id TEXT, seq BIGINT);

    INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, price_minor,
        paid_minor, refunded_minor, in_flight_minor, held_minor, refunds_in_flight_minor,
        balance_due_minor, status, pending, last_failed, service_at, completed_at, as_of)
    SELECT p_business, s.booking_id, s.customer_id, s.currency, s.price_minor, s.paid_minor,
        s.refunded_minor, s.in_flight_minor, s.held_minor, s.refunds_in_flight_minor,
        s.balance_due_minor, s.status, s.pending, s.last_failed, s.service_at, s.completed_at,
        s.as_of
    FROM json_to_recordset(p_write -> 'summaries') AS s (booking_id TEXT, customer_id TEXT,
        currency TEXT, price_minor BIGINT, paid_minor BIGINT, refunded_minor BIGINT,
        in_flight_minor BIGINT, held_minor BIGINT, refunds_in_flight_minor BIGINT,
        balance_due_minor BIGINT, status TEXT, pending BOOLEAN, last_failed BOOLEAN,
        service_at TIMESTAMPTZ, completed_at TIMESTAMPTZ, as_of TIMESTAMPTZ)
    ON CONFLICT (business_id, booking_id) DO UPDATE SET
        customer_id = excluded.customer_id, currency = excluded.currency,
        price_minor = excluded.price_minor, paid_minor = excluded.paid_minor,
        refunded_minor = excluded.refunded_minor, in_flight_minor = excluded.in_flight_minor,
        held_minor = excluded.held_minor,
        refunds_in_flight_minor = excluded.refunds_in_flight_minor,
        balance_due_minor = excluded.balance_due_minor, status = excluded.status,
        pending = excluded.pending, last_failed = excluded.last_failed,
        service_at = excluded.service_at, completed_at = excluded.completed_at,
        as_of = excluded.as_of;

    CASE p_write -> 'key' ->> 'op'
        WHEN 'complete' THEN
            UPDATE idempotency_keys
            SET completed = TRUE,
                first_answer = COALESCE(first_answer, p_write -> 'key' ->> 'first_answer')
            WHERE business_id = p_business AND key = p_write -> 'key' ->> 'key';
        WHEN 'release' THEN
            DELETE FROM idempotency_keys
            WHERE business_id = p_business AND key = p_write -> 'key' ->> 'key';
        ELSE
            NULL;
    END CASE;
    RETURN 'written';
END
$$;
