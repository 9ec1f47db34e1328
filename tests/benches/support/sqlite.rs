//! The same realistic data as `seed`, written straight into a SQLite database in the shapes the
//! SQLite store writes (its migrations 0001–0005: times as RFC 3339 with nine fractional
//! digits, flags as 0/1, the outstanding totals kept by triggers on the summaries, and the
//! payments' per-day totals as the store's commits add them).

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};

/// The preloaded bookings `?2 <= i < ?3` (ids, customers and prices as in `seed`), and the time.
const PRELOADED: &str = "WITH RECURSIVE n(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM n \
        WHERE i + 1 < ?3), \
    s AS (SELECT i, 'p-' || printf('%07d', i) AS id, 'c-' || printf('%06d', i / 10) AS cust, \
        5000 + (i * 7919) % 20000 AS price, i % 2 = 0 AS paid, \
        strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000000Z' AS at FROM n), \
    m AS (SELECT s.*, (price / 100) || '.' || printf('%02d', price % 100) AS amount FROM s) ";

/// A booking's stored body, from columns `id`, `cust`, `amount`.
const BODY: &str = "json_object('v', 1, 'id', id, 'customer', cust, 'currency', 'USD', \
    'line_items', json_array(json_object('kind', 'service', 'label', 'Home cleaning', \
        'amount', json_object('amount', amount, 'currency', 'USD'))), \
    'service_at', NULL, 'completed_at', NULL)";

const SUMMARY_COLUMNS: &str = "business_id, booking_id, customer_id, currency, price_minor, \
    paid_minor, refunded_minor, in_flight_minor, held_minor, refunds_in_flight_minor, \
    balance_due_minor, status, pending, last_failed, service_at, completed_at, as_of";

async fn connect(url: &str) -> SqliteConnection {
    SqliteConnectOptions::from_str(url)
        .expect("sqlite url")
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true)
        .connect()
        .await
        .expect("connect")
}

/// Preloads `count` bookings (and `count / 10` customers), every second one paid by a check.
pub async fn preload(url: &str, business: &str, count: u64) {
    let mut conn = connect(url).await;
    let count = i64::try_from(count).expect("count");
    let statements = [
        "WITH RECURSIVE n(c) AS (SELECT 0 UNION ALL SELECT c + 1 FROM n \
            WHERE c + 1 < (?3 + 9) / 10) \
         INSERT INTO customers (business_id, id, name, email) \
         SELECT ?1, 'c-' || printf('%06d', c), 'Customer ' || c, 'c' || c || '@example.com' \
         FROM n WHERE ?2 = 0"
            .to_owned(),
        format!(
            "{PRELOADED} INSERT INTO bookings (business_id, id, customer_id, currency, body, \
             version) SELECT ?1, id, cust, 'USD', {BODY}, 1 FROM m"
        ),
        format!(
            "{PRELOADED} INSERT INTO entries (business_id, payment_id, seq, body) \
             SELECT ?1, 'pay_seed_' || id, 0, json_object('v', 1, 'payment', 'pay_seed_' || id, \
                'seq', 0, 'bookings', json_array(id), 'at', at, 'gateway_reference', NULL, \
                'hold_expires_at', NULL, \
                'change', json_object('change', 'opened', 'customer', cust, \
                    'kind', json_object('type', 'collection', \
                        'method', json_object('type', 'check'), 'reference', 'check ' || i), \
                    'amount', json_object('amount', amount, 'currency', 'USD'), \
                    'allocations', json_array(json_object('booking', id, \
                        'amount', json_object('amount', amount, 'currency', 'USD'))), \
                    'state', json_object('state', 'succeeded'))) \
             FROM m WHERE paid"
        ),
        format!(
            "{PRELOADED} INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) \
             SELECT ?1, id, 'pay_seed_' || id, 0 FROM m WHERE paid"
        ),
        // The checks' per-day payment totals, as the commits that recorded them would have
        // added (migration 0012).
        format!(
            "{PRELOADED} INSERT INTO payment_day_totals (business_id, day, currency, \
             charged_minor, cash_minor, check_minor, other_minor, refunded_minor) \
             SELECT ?1, substr(at, 1, 10), 'USD', 0, 0, SUM(price), 0, 0 FROM m WHERE paid \
             GROUP BY substr(at, 1, 10) \
             ON CONFLICT (business_id, day, currency) DO UPDATE SET \
             check_minor = check_minor + excluded.check_minor"
        ),
        format!(
            "{PRELOADED} INSERT INTO booking_summaries ({SUMMARY_COLUMNS}) \
             SELECT ?1, id, cust, 'USD', price, CASE WHEN paid THEN price ELSE 0 END, 0, 0, 0, \
                0, CASE WHEN paid THEN 0 ELSE price END, \
                CASE WHEN paid THEN 'charged_in_full' ELSE 'not_charged' END, 0, 0, NULL, NULL, \
                at FROM m"
        ),
    ];
    let mut tx = conn.begin().await.expect("begin");
    for statement in &statements {
        sqlx::query(statement)
            .bind(business)
            .bind(0_i64)
            .bind(count)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("preload: {e}\n{statement}"));
    }
    tx.commit().await.expect("commit");
    conn.close().await.expect("close");
}

/// Bookings `{prefix}0`..`{prefix}{count - 1}` priced `price_minor`, not charged, spread over customers
/// `{customer_prefix}0`..; their ids.
pub async fn charge_bookings(
    url: &str,
    business: &str,
    prefix: &str,
    count: u64,
    customer_prefix: &str,
    customers: u64,
    price_minor: i64,
) -> Vec<String> {
    let mut conn = connect(url).await;
    let with = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?5), \
        m AS (SELECT ?2 || i AS id, ?3 || (i % ?4) AS cust, ?6 AS price, (?6 / 100) || '.' || printf('%02d', ?6 % 100) AS amount, \
            strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000000Z' AS at FROM n) ";
    let statements = [
        format!(
            "{with} INSERT INTO bookings (business_id, id, customer_id, currency, body, version) \
             SELECT ?1, id, cust, 'USD', {BODY}, 1 FROM m"
        ),
        format!(
            "{with} INSERT INTO booking_summaries ({SUMMARY_COLUMNS}) \
             SELECT ?1, id, cust, 'USD', price, 0, 0, 0, 0, 0, price, 'not_charged', 0, 0, \
                NULL, NULL, at FROM m"
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
