-- Reports: the payments' totals per day, kept as payments change.
--
-- What the payments a business created on one day (UTC) count in one currency, in minor units,
-- one column per kind: taken by card (charged), collected in cash, by check or another way, and
-- given back (refunded). What counts is the core's rule (`PaymentTotals::of`); the core
-- computes what each commit changes in these totals (each moved payment's totals after less
-- before, on the day it was created) and sends it with the write, as `payment_days`, which
-- `billing_commit` adds here in the same statement. So a report reads a few rows per day and
-- currency, whatever the number of payments. Amounts are signed: a change may take back what
-- was counted.
--
-- Spread over 64 shards, as the outstanding totals are (migration 0005): every payment made
-- today adds to today's row, and a row is locked from the add until the commit's sync, so one
-- row would make concurrent commits wait for each other. A commit adds all its changes to the
-- shard of its first payment; the report adds the shards up.
--
-- Commits of a build before this one send no `payment_days`: run this build everywhere before
-- it writes, or count a business again (below) after an older build wrote to it.
CREATE TABLE payment_day_totals (
    business_id    TEXT COLLATE "C" NOT NULL,
    day            DATE NOT NULL,
    currency       TEXT COLLATE "C" NOT NULL,
    shard          SMALLINT NOT NULL,
    charged_minor  BIGINT NOT NULL,
    cash_minor     BIGINT NOT NULL,
    check_minor    BIGINT NOT NULL,
    other_minor    BIGINT NOT NULL,
    refunded_minor BIGINT NOT NULL,
    PRIMARY KEY (business_id, day, currency, shard)
);

-- The payments written before. What a payment counts depends on its state, the fold of its
-- entries, whose JSON has had several versions: SQL cannot say it without a second copy of the
-- rule. So this migration notes which businesses have payments, and the store counts them
-- right after migrating (`PostgresStore::migrate`), from their entries with the core's rule,
-- one business per transaction, under a lock on `payment_day_totals` that commits changing the
-- totals wait for, and removes the business from this table in the same transaction. A
-- business inserted here again is counted again at the next migrate: its totals are replaced.
CREATE TABLE payment_day_totals_to_fill (
    business_id TEXT COLLATE "C" PRIMARY KEY
);

INSERT INTO payment_day_totals_to_fill (business_id) SELECT DISTINCT business_id FROM entries;

-- `billing_commit` of migration 0007, unchanged but for adding the write's `payment_days`
-- ([{day, currency, charged_minor, cash_minor, check_minor, other_minor, refunded_minor}],
-- after the summaries: every commit takes its locks in the same order, bookings, outstanding
-- shards, then these rows).
CREATE OR REPLACE FUNCTION billing_commit(p_business TEXT, p_write JSON) RETURNS TEXT
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
        balance_due_minor, status, pending, last_failed, disputed, service_at, completed_at,
        as_of)
    SELECT p_business, s.booking_id, s.customer_id, s.currency, s.price_minor, s.paid_minor,
        s.refunded_minor, s.in_flight_minor, s.held_minor, s.refunds_in_flight_minor,
        s.balance_due_minor, s.status, s.pending, s.last_failed, s.disputed, s.service_at,
        s.completed_at, s.as_of
    FROM json_to_recordset(p_write -> 'summaries') AS s (booking_id TEXT, customer_id TEXT,
        currency TEXT, price_minor BIGINT, paid_minor BIGINT, refunded_minor BIGINT,
        in_flight_minor BIGINT, held_minor BIGINT, refunds_in_flight_minor BIGINT,
        balance_due_minor BIGINT, status TEXT, pending BOOLEAN, last_failed BOOLEAN,
        disputed BOOLEAN, service_at TIMESTAMPTZ, completed_at TIMESTAMPTZ, as_of TIMESTAMPTZ)
    -- In shard order: the trigger on the summaries updates the totals' shard of each booking
    -- in the order the rows come, and two commits must take the shards in one order.
    ORDER BY outstanding_shard(s.booking_id), s.booking_id
    ON CONFLICT (business_id, booking_id) DO UPDATE SET
        customer_id = excluded.customer_id, currency = excluded.currency,
        price_minor = excluded.price_minor, paid_minor = excluded.paid_minor,
        refunded_minor = excluded.refunded_minor, in_flight_minor = excluded.in_flight_minor,
        held_minor = excluded.held_minor,
        refunds_in_flight_minor = excluded.refunds_in_flight_minor,
        balance_due_minor = excluded.balance_due_minor, status = excluded.status,
        pending = excluded.pending, last_failed = excluded.last_failed,
        disputed = excluded.disputed, service_at = excluded.service_at,
        completed_at = excluded.completed_at, as_of = excluded.as_of;

    -- The changes of the per-day payment totals, all into the shard of the write's first
    -- payment, in (day, currency) order: two commits on one shard take its rows in one order.
    -- Most commits (a pending payment opened, a decline) change nothing there.
    IF json_array_length(COALESCE(p_write -> 'payment_days', '[]')) > 0 THEN
        INSERT INTO payment_day_totals AS t (business_id, day, currency, shard, charged_minor,
            cash_minor, check_minor, other_minor, refunded_minor)
        SELECT p_business, d.day, d.currency,
            outstanding_shard(COALESCE(p_write -> 'entries' -> 0 ->> 'payment_id', '')),
            d.charged_minor, d.cash_minor, d.check_minor, d.other_minor, d.refunded_minor
        FROM json_to_recordset(p_write -> 'payment_days') AS d (day DATE, currency TEXT,
            charged_minor BIGINT, cash_minor BIGINT, check_minor BIGINT, other_minor BIGINT,
            refunded_minor BIGINT)
        ORDER BY d.day, d.currency
        ON CONFLICT (business_id, day, currency, shard) DO UPDATE SET
            charged_minor = t.charged_minor + excluded.charged_minor,
            cash_minor = t.cash_minor + excluded.cash_minor,
            check_minor = t.check_minor + excluded.check_minor,
            other_minor = t.other_minor + excluded.other_minor,
            refunded_minor = t.refunded_minor + excluded.refunded_minor;
    END IF;

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
