-- Reports: the payments' totals per day, kept as payments change.
--
-- What the payments a business created on one day (UTC, `YYYY-MM-DD`) count in one currency,
-- in minor units, one column per kind: taken by card (charged), collected in cash, by check or
-- another way, and given back (refunded). What counts is the core's rule
-- (`PaymentTotals::of`); the core computes what each commit changes in these totals (each
-- moved payment's totals after less before, on the day it was created) and the commit adds it
-- here, in its transaction. So a report reads one row per day and currency, whatever the
-- number of payments. Amounts are signed: a change may take back what was counted.
CREATE TABLE payment_day_totals (
    business_id    TEXT    NOT NULL,
    day            TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    charged_minor  INTEGER NOT NULL,
    cash_minor     INTEGER NOT NULL,
    check_minor    INTEGER NOT NULL,
    other_minor    INTEGER NOT NULL,
    refunded_minor INTEGER NOT NULL,
    PRIMARY KEY (business_id, day, currency)
) WITHOUT ROWID;

-- The payments written before. What a payment counts depends on its state, the fold of its
-- entries, whose JSON has had several versions: SQL cannot say it without a second copy of
-- the rule. So this migration notes which businesses have payments, and the store counts them
-- right after migrating (`SqliteStore::migrate`), from their entries with the core's rule, one
-- business per transaction, removing the business from this table in the same transaction.
CREATE TABLE payment_day_totals_to_fill (
    business_id TEXT NOT NULL PRIMARY KEY
) WITHOUT ROWID;

INSERT INTO payment_day_totals_to_fill (business_id) SELECT DISTINCT business_id FROM entries;
