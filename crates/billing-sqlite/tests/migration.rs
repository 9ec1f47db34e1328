//! A database written by the previous schema (migrations 0001–0004, rows as the builds before
//! billing-sql wrote them) is migrated to 0005 and read back whole through the store.
#![allow(clippy::expect_used)]

mod common;

use std::str::FromStr;
use std::sync::Arc;

use billing_core::booking::LineItemKind;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::{BookingId, CustomerId};
use billing_core::money::Currency;
use billing_core::payment::{PaymentState, fold};
use billing_core::ports::{BookingFilter, Ledger, LedgerRead, OutstandingQuery, OutstandingTotal};
use billing_core::status::PaymentStatus;
use billing_core::testkit::ScriptedGateway;
use billing_sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use common::{TestResult, acme, booking_id, charge, service, usd};
use sqlx::Connection as _;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;

/// The migrations before this version, applied by a migrator of their own.
async fn previous_schema(url: &str) -> Result<sqlx::SqliteConnection, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&source)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if ["0001_", "0002_", "0003_", "0004_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            std::fs::copy(&path, dir.path().join(name))?;
        }
    }
    let migrator = Migrator::new(dir.path()).await?;
    assert_eq!(migrator.iter().count(), 4);
    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    migrator.run(&mut conn).await?;
    Ok(conn)
}

/// Rows as the previous builds wrote them: JSON bodies without a format version, times with
/// as many fractional digits as they needed, an answered key with its stored response.
const OLD_ROWS: &str = r#"
INSERT INTO businesses (id, name, gateway_account, email)
    VALUES ('acme', 'Acme Cleaning', 'acct_1', NULL);
INSERT INTO api_keys (key_hash, business_id) VALUES ('hash-1', 'acme');
INSERT INTO customers (business_id, id, name, email, gateway_customer)
    VALUES ('acme', 'cust-1', 'Ada', 'ada@example.com', 'cus_1');
INSERT INTO saved_cards (business_id, customer_id, payment_method, brand, last4, exp_month,
    exp_year, is_default)
    VALUES ('acme', 'cust-1', 'pm_card_visa', 'visa', '4242', 12, 2034, 1);
INSERT INTO bookings (business_id, id, customer_id, currency, body) VALUES
    ('acme', 'b-1', 'cust-1', 'USD',
     '{"id":"b-1","customer":"cust-1","currency":"USD","line_items":[{"kind":"service","label":"Deep clean","amount":{"amount":"100.00","currency":"USD"}}],"service_at":"2026-01-20T09:00:00Z","completed_at":null}'),
    ('acme', 'b-2', 'cust-1', 'USD',
     '{"id":"b-2","customer":"cust-1","currency":"USD","line_items":[{"kind":"service","label":"Windows","amount":{"amount":"50.00","currency":"USD"}},{"kind":"discount","label":"Loyalty","amount":{"amount":"5.00","currency":"USD"}}],"service_at":"2026-01-10T08:30:00.5Z","completed_at":"2026-01-10T11:30:00.000123Z"}');
INSERT INTO entries (business_id, payment_id, seq, body) VALUES
    ('acme', 'pay_old', 0,
     '{"payment":"pay_old","seq":0,"bookings":["b-1"],"at":"2026-01-15T09:00:00Z","gateway_reference":null,"hold_expires_at":null,"change":{"change":"opened","customer":"cust-1","kind":{"type":"charge","card":{"gateway_customer":"cus_1","payment_method":"pm_card_visa"}},"amount":{"amount":"30.00","currency":"USD"},"allocations":[{"booking":"b-1","amount":{"amount":"30.00","currency":"USD"}}],"state":{"state":"pending"}}}'),
    ('acme', 'pay_old', 1,
     '{"payment":"pay_old","seq":1,"bookings":["b-1"],"at":"2026-01-15T09:00:01.25Z","gateway_reference":"pi_1","hold_expires_at":null,"change":{"change":"moved","event":{"event":"succeeded"},"state":{"state":"succeeded"}}}');
INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) VALUES
    ('acme', 'b-1', 'pay_old', 0), ('acme', 'b-1', 'pay_old', 1);
INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, price_minor,
    paid_minor, refunded_minor, in_flight_minor, held_minor, refunds_in_flight_minor,
    balance_due_minor, status, pending, last_failed, as_of) VALUES
    ('acme', 'b-1', 'cust-1', 'USD', 10000, 3000, 0, 0, 0, 0, 7000, 'partially_charged', 0, 0,
     '2026-01-15T09:00:01.25Z'),
    ('acme', 'b-2', 'cust-1', 'USD', 4500, 0, 0, 0, 0, 0, 4500, 'not_charged', 0, 0,
     '2026-01-15T08:00:00Z');
INSERT INTO idempotency_keys (business_id, key, fingerprint, payment_id, completed, created_at,
    response_status, response_content_type, response_body)
    VALUES ('acme', 'k-1', 'charge|b-1|30.00', 'pay_old', 1, '2026-01-15T09:00:00Z', 201,
        'application/json', '{"payment":{"id":"pay_old"}}');
"#;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a time")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_database_of_the_previous_schema_reads_back_after_migrating() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let mut old = previous_schema(&url).await?;
    sqlx::raw_sql(OLD_ROWS).execute(&mut old).await?;
    old.close().await?;

    let store = Arc::new(SqliteStore::connect(&url).await?);
    store.migrate().await?;

    // Bookings, their entries and the key, as they were; versions start at 0.
    let ids = [booking_id("b-1"), booking_id("b-2")];
    let key = IdempotencyKey::new("k-1")?;
    let read = store
        .read(
            &acme().id,
            &LedgerRead::bookings(&ids).with_key(Some(&key)).with_payer(),
        )
        .await?;
    assert_eq!(read.ledgers.len(), 2);
    let (b1, b2) = (&read.ledgers[0], &read.ledgers[1]);
    assert_eq!((b1.version, b2.version), (0, 0));
    assert_eq!(b1.account.id, booking_id("b-1"));
    assert_eq!(b1.account.price()?, usd(10_000));
    assert_eq!(b1.account.service_at, Some(at("2026-01-20T09:00:00Z")));
    assert_eq!(b2.account.line_items[1].kind, LineItemKind::Discount);
    assert_eq!(
        b2.account.completed_at,
        Some(at("2026-01-10T11:30:00.000123Z"))
    );
    assert_eq!(b1.entries.len(), 2);
    assert!(b2.entries.is_empty());
    let payments = fold(&b1.entries)?;
    assert_eq!(payments[0].state, PaymentState::Succeeded);
    assert_eq!(payments[0].amount, usd(3_000));
    let record = read.key.expect("the key");
    assert!(record.completed);
    assert_eq!(record.payment.as_str(), "pay_old");
    assert_eq!(record.created_at, at("2026-01-15T09:00:00Z"));
    // Answered before first answers were kept: a replay reads the payment as it stands.
    assert_eq!(record.first_answer, None);
    let (payer, cards) = read.payer.expect("the payer");
    assert_eq!(payer.id, CustomerId::new("cust-1")?);
    assert_eq!(cards.len(), 1);
    assert_eq!(
        store.payment_bookings(&acme().id, &payments[0].id).await?,
        Some(vec![booking_id("b-1")])
    );

    // Summaries with their dates, taken from the bookings.
    let summaries = store
        .list_summaries(&acme().id, &BookingFilter::default())
        .await?;
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].service_at, Some(at("2026-01-20T09:00:00Z")));
    assert_eq!(summaries[0].completed_at, None);
    assert_eq!(summaries[1].service_at, Some(at("2026-01-10T08:30:00.5Z")));
    assert_eq!(
        summaries[1].completed_at,
        Some(at("2026-01-10T11:30:00.000123Z"))
    );
    assert_eq!(summaries[0].status.status, PaymentStatus::PartiallyCharged);
    assert_eq!(summaries[0].as_of, at("2026-01-15T09:00:01.25Z"));
    // ...written at the width this build writes, so that they sort as times.
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let stored: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT service_at, completed_at FROM booking_summaries ORDER BY booking_id",
    )
    .fetch_all(&mut conn)
    .await?;
    assert_eq!(
        stored,
        vec![
            (Some("2026-01-20T09:00:00.000000000Z".to_owned()), None),
            (
                Some("2026-01-10T08:30:00.500000000Z".to_owned()),
                Some("2026-01-10T11:30:00.000123000Z".to_owned())
            ),
        ]
    );
    conn.close().await?;

    // The totals, filled from the summaries, and the report.
    assert_eq!(
        store.outstanding_totals(&acme().id).await?,
        vec![OutstandingTotal {
            balance_due: usd(11_500),
            bookings: 2
        }]
    );
    let rows = store
        .outstanding(&acme().id, &OutstandingQuery::default())
        .await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].balance_due, usd(11_500));
    assert_eq!(
        billing_core::ports::Businesses::business_by_account(store.as_ref(), "acct_1")
            .await?
            .map(|b| b.id),
        Some(acme().id)
    );

    // And the service goes on from there: the rest of b-1 is charged, the totals follow.
    let billing = service(store.clone(), &ScriptedGateway::new(), "new");
    let receipt = billing.charge(&acme(), charge("b-1", None)).await?;
    assert_eq!(receipt.payment.amount, usd(7_000));
    assert_eq!(
        store.outstanding_totals(&acme().id).await?,
        vec![OutstandingTotal {
            balance_due: usd(4_500),
            bookings: 1
        }]
    );
    let ids = [BookingId::new("b-1")?];
    let after = store.read(&acme().id, &LedgerRead::bookings(&ids)).await?;
    assert_eq!(after.ledgers[0].version, 2, "opened, then settled");
    assert_eq!(after.ledgers[0].entries.len(), 4);
    assert_eq!(after.ledgers[0].account.currency, Currency::USD);
    Ok(())
}
