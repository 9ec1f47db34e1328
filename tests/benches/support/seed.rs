//! Realistic data written straight into Postgres with `generate_series`, in the shapes the store
//! writes (migrations 0001–0005 of billing-postgres, and billing-sql's stored formats, version 1):
//! bookings with their JSON body at version 1, their summaries (the outstanding totals follow by
//! trigger), and for every second booking a check collection that paid it in full (one
//! "opened" entry in state succeeded, linked to its booking), with the payments' per-day
//! totals as the store's commits add them.
//!
//! Preloaded bookings are `p-0000000`, `p-0000001`..., ten to a customer (`c-000000`...), priced
//! 50.00 to 249.99. Bookings to charge are `{prefix}{n}`, spread over customers
//! `{customer_prefix}{n % customers}` (who must have a card: see `load::customers_with_cards`),
//! not charged.

use sqlx::{Connection as _, PgConnection};

/// Rows per statement (and per transaction) when preloading.
const CHUNK: i64 = 200_000;

/// The preloaded bookings of a chunk, `$2 <= i < $3`, with their customer, price (minor units),
/// price as stored money JSON, and whether a check paid them.
const PRELOADED: &str = "WITH s AS MATERIALIZED (\
    SELECT i, 'p-' || lpad(i::text, 7, '0') AS id, 'c-' || lpad((i / 10)::text, 6, '0') AS cust, \
        5000 + (i * 7919) % 20000 AS price, i % 2 = 0 AS paid, \
        to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at \
    FROM generate_series($2::bigint, $3::bigint - 1) i), \
    m AS MATERIALIZED (SELECT s.*, json_build_object('amount', (price / 100)::text || '.' \
        || lpad((price % 100)::text, 2, '0'), 'currency', 'USD') AS money FROM s) ";

/// A booking's stored body (billing-sql `BookingV1`), from columns `id`, `cust`, `money`.
const BODY: &str = "json_build_object('v', 1, 'id', id, 'customer', cust, 'currency', 'USD', \
    'line_items', json_build_array(json_build_object('kind', 'service', \
        'label', 'Home cleaning', 'amount', money)), \
    'service_at', NULL, 'completed_at', NULL)";

/// Preloads `count` bookings (and `count / 10` customers) into `business`, every second one
/// paid in full by a check.
pub async fn preload(url: &str, business: &str, count: u64) {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let count = i64::try_from(count).expect("count");
    sqlx::query(
        "INSERT INTO customers (business_id, id, name, email) \
         SELECT $1, 'c-' || lpad(c::text, 6, '0'), 'Customer ' || c, 'c' || c || '@example.com' \
         FROM generate_series(0, ($2::bigint + 9) / 10 - 1) c",
    )
    .bind(business)
    .bind(count)
    .execute(&mut conn)
    .await
    .expect("customers");
    let mut from = 0;
    while from < count {
        let to = (from + CHUNK).min(count);
        let statements = [
            format!(
                "{PRELOADED} INSERT INTO bookings (business_id, id, customer_id, currency, body, \
                 version) SELECT $1, id, cust, 'USD', {BODY}, 1 FROM m"
            ),
            format!(
                "{PRELOADED} INSERT INTO entries (business_id, payment_id, seq, body) \
                 SELECT $1, 'pay_seed_' || id, 0, json_build_object('v', 1, \
                    'payment', 'pay_seed_' || id, 'seq', 0, 'bookings', json_build_array(id), \
                    'at', at, 'gateway_reference', NULL, 'hold_expires_at', NULL, \
                    'change', json_build_object('change', 'opened', 'customer', cust, \
                        'kind', json_build_object('type', 'collection', \
                            'method', json_build_object('type', 'check'), \
                            'reference', 'check ' || i), \
                        'amount', money, \
                        'allocations', json_build_array(json_build_object('booking', id, \
                            'amount', money)), \
                        'state', json_build_object('state', 'succeeded'))) \
                 FROM m WHERE paid"
            ),
            format!(
                "{PRELOADED} INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) \
                 SELECT $1, id, 'pay_seed_' || id, 0 FROM m WHERE paid"
            ),
            // The checks' per-day payment totals, as the commits that recorded them would have
            // added (migration 0013; shard 0).
            format!(
                "{PRELOADED} INSERT INTO payment_day_totals AS t (business_id, day, currency, \
                 shard, charged_minor, cash_minor, check_minor, other_minor, refunded_minor) \
                 SELECT $1, left(at, 10)::date, 'USD', 0, 0, 0, SUM(price), 0, 0 FROM m \
                 WHERE paid GROUP BY left(at, 10) \
                 ON CONFLICT (business_id, day, currency, shard) DO UPDATE SET \
                 check_minor = t.check_minor + excluded.check_minor"
            ),
            format!(
                "{PRELOADED} INSERT INTO booking_summaries (business_id, booking_id, customer_id, \
                 currency, price_minor, paid_minor, refunded_minor, in_flight_minor, held_minor, \
                 refunds_in_flight_minor, balance_due_minor, status, pending, last_failed, \
                 service_at, completed_at, as_of) \
                 SELECT $1, id, cust, 'USD', price, CASE WHEN paid THEN price ELSE 0 END, 0, 0, \
                    0, 0, CASE WHEN paid THEN 0 ELSE price END, \
                    CASE WHEN paid THEN 'charged_in_full' ELSE 'not_charged' END, \
                    false, false, NULL, NULL, now() \
                 FROM m"
            ),
        ];
        let mut tx = conn.begin().await.expect("begin");
        for statement in &statements {
            sqlx::query(statement)
                .bind(business)
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("preload: {e}\n{statement}"));
        }
        tx.commit().await.expect("commit");
        from = to;
    }
    conn.close().await.expect("close");
}

/// Bookings `{prefix}0`..`{prefix}{count - 1}` priced `price_minor`, not charged, spread over customers
/// `{customer_prefix}0`..`{customer_prefix}{customers - 1}`; their ids.
pub async fn charge_bookings(
    url: &str,
    business: &str,
    prefix: &str,
    count: u64,
    customer_prefix: &str,
    customers: u64,
    price_minor: i64,
) -> Vec<String> {
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let with = "WITH m AS MATERIALIZED (SELECT $2 || i AS id, $3 || (i % $4::bigint) AS cust, \
        $6::bigint AS price, json_build_object('amount', ($6::bigint / 100)::text || '.' \
            || lpad(($6::bigint % 100)::text, 2, '0'), 'currency', 'USD') AS money \
        FROM generate_series(0, $5::bigint - 1) i) ";
    let statements = [
        format!(
            "{with} INSERT INTO bookings (business_id, id, customer_id, currency, body, version) \
             SELECT $1, id, cust, 'USD', {BODY}, 1 FROM m"
        ),
        format!(
            "{with} INSERT INTO booking_summaries (business_id, booking_id, customer_id, \
             currency, price_minor, paid_minor, refunded_minor, in_flight_minor, held_minor, \
             refunds_in_flight_minor, balance_due_minor, status, pending, last_failed, \
             service_at, completed_at, as_of) \
             SELECT $1, id, cust, 'USD', price, 0, 0, 0, 0, 0, price, 'not_charged', false, \
                false, NULL, NULL, now() FROM m"
        ),
    ];
    let mut tx = conn.begin().await.expect("begin");
    for statement in &statements {
        sqlx::query(statement)
            .bind(business)
            .bind(prefix)
            .bind(customer_prefix)
            .bind(i64::try_from(customers.max(1)).expect("customers"))
            .bind(i64::try_from(count).expect("count"))
            .bind(price_minor)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("charge bookings: {e}\n{statement}"));
    }
    tx.commit().await.expect("commit");
    conn.close().await.expect("close");
    (0..count).map(|n| format!("{prefix}{n}")).collect()
}
