//! Databases written by earlier schemas, with rows as the builds of then wrote them, are
//! migrated and read back whole through the store: one of migrations 0001–0004 (before
//! billing-sql), one of 0001–0005 (before disputes and format version 2), one of 0001–0006
//! (before automation, whose migration makes the notifications table again), and one of
//! 0001–0015 (before the customer portal, whose migration makes it again with texts' columns).
#![allow(clippy::expect_used)]

mod common;

use std::str::FromStr;
use std::sync::Arc;

use billing_core::booking::LineItemKind;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::{BookingId, CustomerId};
use billing_core::money::Currency;
use billing_core::notification::{
    CarrierReport, Channel, DeliveryState, Notification, NotificationKind, OutboundMessage,
};
use billing_core::payment::{
    KindName, Origin, PaymentDayTotals, PaymentState, PaymentTotals, fold,
};
use billing_core::ports::{
    BookingFilter, Ledger, LedgerRead, NotificationLog, OutstandingQuery, OutstandingTotal,
    PaymentsQuery, TextStatus,
};
use billing_core::status::PaymentStatus;
use billing_core::testkit::ScriptedGateway;
use billing_sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use common::{TestResult, acme, booking_id, charge, service, usd};
use sqlx::Connection as _;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;

/// The first `count` migrations, applied by a migrator of their own: the schema of an earlier
/// build.
async fn earlier_schema(
    url: &str,
    count: usize,
) -> Result<sqlx::SqliteConnection, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&source)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let number: usize = name.get(..4).and_then(|n| n.parse().ok()).unwrap_or(0);
        if (1..=count).contains(&number) {
            std::fs::copy(&path, dir.path().join(name))?;
        }
    }
    let migrator = Migrator::new(dir.path()).await?;
    assert_eq!(migrator.iter().count(), count);
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
async fn a_database_of_schema_0004_reads_back_after_migrating() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let mut old = earlier_schema(&url, 4).await?;
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
    // Found by when it was created (its opening entry's time, read at migration), to the
    // nanosecond.
    let created = |from: &str, until: &str| {
        let query = PaymentsQuery::between(at(from), at(until));
        let store = store.clone();
        async move { store.payments_created(&acme().id, &query).await }
    };
    assert_eq!(
        created("2026-01-15T09:00:00Z", "2026-01-15T09:00:00.000000001Z").await?,
        payments
    );
    assert!(
        created("2026-01-15T08:00:00Z", "2026-01-15T09:00:00Z")
            .await?
            .is_empty()
    );
    // Old summaries by service date.
    let later = BookingFilter {
        service_from: Some(at("2026-01-15T00:00:00Z")),
        ..BookingFilter::default()
    };
    let later = store.list_summaries(&acme().id, &later).await?;
    assert_eq!(
        later.iter().map(|s| s.booking.as_str()).collect::<Vec<_>>(),
        ["b-1"]
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
    assert!(summaries.iter().all(|s| !s.status.disputed));
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
    // The day's payment totals: the old charge, counted after migrating (migration 0012), and
    // the new one, added by its commit.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("a day");
    let next = day.succ_opt().expect("a day");
    assert_eq!(
        store.payment_day_totals(&acme().id, day, next).await?,
        vec![PaymentDayTotals {
            day,
            totals: PaymentTotals::from_minor(Currency::USD, [10_000, 0, 0, 0, 0]),
        }]
    );
    let ids = [BookingId::new("b-1")?];
    let after = store.read(&acme().id, &LedgerRead::bookings(&ids)).await?;
    assert_eq!(after.ledgers[0].version, 2, "opened, then settled");
    assert_eq!(after.ledgers[0].entries.len(), 4);
    assert_eq!(after.ledgers[0].account.currency, Currency::USD);
    Ok(())
}

/// Rows as the build of schema 0005 wrote them: bodies of format version 1 tagged `"v":1`,
/// times with nine fractional digits, versions on bookings, a first answer kept with its key,
/// and a booking that holds money.
const ROWS_OF_0005: &str = r#"
INSERT INTO businesses (id, name, gateway_account, email)
    VALUES ('acme', 'Acme Cleaning', NULL, NULL);
INSERT INTO customers (business_id, id, name, email, gateway_customer)
    VALUES ('acme', 'cust-1', 'Ada', NULL, 'cus_1');
INSERT INTO saved_cards (business_id, customer_id, payment_method, brand, last4, exp_month,
    exp_year, is_default)
    VALUES ('acme', 'cust-1', 'pm_card_visa', 'visa', '4242', 12, 2034, 1);
INSERT INTO bookings (business_id, id, customer_id, currency, body, version) VALUES
    ('acme', 'b-1', 'cust-1', 'USD',
     '{"v":1,"id":"b-1","customer":"cust-1","currency":"USD","line_items":[{"kind":"service","label":"Deep clean","amount":{"amount":"100.00","currency":"USD"}}],"service_at":null,"completed_at":null}', 2),
    ('acme', 'b-2', 'cust-1', 'USD',
     '{"v":1,"id":"b-2","customer":"cust-1","currency":"USD","line_items":[{"kind":"service","label":"Windows","amount":{"amount":"50.00","currency":"USD"}}],"service_at":"2026-01-20T09:00:00Z","completed_at":null}', 2);
INSERT INTO entries (business_id, payment_id, seq, body) VALUES
    ('acme', 'pay_charge', 0,
     '{"v":1,"payment":"pay_charge","seq":0,"bookings":["b-1"],"at":"2026-01-15T09:00:00Z","gateway_reference":null,"hold_expires_at":null,"change":{"change":"opened","customer":"cust-1","kind":{"type":"charge","card":{"gateway_customer":"cus_1","payment_method":"pm_card_visa"}},"amount":{"amount":"30.00","currency":"USD"},"allocations":[{"booking":"b-1","amount":{"amount":"30.00","currency":"USD"}}],"state":{"state":"pending"}}}'),
    ('acme', 'pay_charge', 1,
     '{"v":1,"payment":"pay_charge","seq":1,"bookings":["b-1"],"at":"2026-01-15T09:00:01Z","gateway_reference":"pi_1","hold_expires_at":null,"change":{"change":"moved","event":{"event":"succeeded"},"state":{"state":"succeeded"}}}'),
    ('acme', 'pay_hold', 0,
     '{"v":1,"payment":"pay_hold","seq":0,"bookings":["b-2"],"at":"2026-01-15T10:00:00Z","gateway_reference":null,"hold_expires_at":null,"change":{"change":"opened","customer":"cust-1","kind":{"type":"authorization","card":{"gateway_customer":"cus_1","payment_method":"pm_card_visa"}},"amount":{"amount":"50.00","currency":"USD"},"allocations":[{"booking":"b-2","amount":{"amount":"50.00","currency":"USD"}}],"state":{"state":"pending"}}}'),
    ('acme', 'pay_hold', 1,
     '{"v":1,"payment":"pay_hold","seq":1,"bookings":["b-2"],"at":"2026-01-15T10:00:01Z","gateway_reference":"pi_2","hold_expires_at":"2026-01-22T10:00:01Z","change":{"change":"moved","event":{"event":"hold_placed"},"state":{"state":"authorized"}}}');
INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) VALUES
    ('acme', 'b-1', 'pay_charge', 0), ('acme', 'b-1', 'pay_charge', 1),
    ('acme', 'b-2', 'pay_hold', 0), ('acme', 'b-2', 'pay_hold', 1);
INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, price_minor,
    paid_minor, refunded_minor, in_flight_minor, held_minor, refunds_in_flight_minor,
    balance_due_minor, status, pending, last_failed, service_at, completed_at, as_of) VALUES
    ('acme', 'b-1', 'cust-1', 'USD', 10000, 3000, 0, 0, 0, 0, 7000, 'partially_charged', 0, 0,
     NULL, NULL, '2026-01-15T09:00:01.000000000Z'),
    ('acme', 'b-2', 'cust-1', 'USD', 5000, 0, 0, 0, 5000, 0, 5000, 'pre_authorized', 0, 0,
     '2026-01-20T09:00:00.000000000Z', NULL, '2026-01-15T10:00:01.000000000Z');
INSERT INTO idempotency_keys (business_id, key, fingerprint, payment_id, completed, created_at,
    first_answer)
    VALUES ('acme', 'k-hold', 'authorize|b-2|balance', 'pay_hold', 1,
        '2026-01-15T10:00:00.000000000Z',
        '{"v":1,"payment":{"id":"pay_hold","customer":"cust-1","kind":{"type":"authorization","card":{"gateway_customer":"cus_1","payment_method":"pm_card_visa"}},"amount":{"amount":"50.00","currency":"USD"},"allocations":[{"booking":"b-2","amount":{"amount":"50.00","currency":"USD"}}],"state":{"state":"authorized"},"gateway_reference":"pi_2","hold_expires_at":"2026-01-22T10:00:01Z","created_at":"2026-01-15T10:00:00Z","updated_at":"2026-01-15T10:00:01Z","entries":2},"bookings":[{"booking":"b-2","customer":"cust-1","currency":"USD","balance":{"price":{"amount":"50.00","currency":"USD"},"paid":{"amount":"0.00","currency":"USD"},"refunded":{"amount":"0.00","currency":"USD"},"in_flight":{"amount":"0.00","currency":"USD"},"held":{"amount":"50.00","currency":"USD"},"refunds_in_flight":{"amount":"0.00","currency":"USD"},"balance_due":{"amount":"50.00","currency":"USD"}},"status":{"status":"pre_authorized","pending":false,"last_failed":false},"service_at":"2026-01-20T09:00:00Z","completed_at":null,"as_of":"2026-01-15T10:00:01Z"}]}');
"#;

#[tokio::test]
async fn a_database_of_schema_0005_reads_back_after_migrating() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let mut old = earlier_schema(&url, 5).await?;
    sqlx::raw_sql(ROWS_OF_0005).execute(&mut old).await?;
    old.close().await?;

    let store = Arc::new(SqliteStore::connect(&url).await?);
    store.migrate().await?;

    // Entries of version 1: made by commands, the hold saying nothing of multicapture.
    let ids = [booking_id("b-1"), booking_id("b-2")];
    let key = IdempotencyKey::new("k-hold")?;
    let read = store
        .read(&acme().id, &LedgerRead::bookings(&ids).with_key(Some(&key)))
        .await?;
    assert_eq!((read.ledgers[0].version, read.ledgers[1].version), (2, 2));
    let hold = fold(&read.ledgers[1].entries)?.remove(0);
    assert_eq!(hold.state, PaymentState::Authorized);
    assert_eq!(hold.origin, Origin::Command);
    assert!(!hold.multicapture);
    assert_eq!(hold.hold_expires_at, Some(at("2026-01-22T10:00:01Z")));
    // The first answer of version 1, as it was answered, with nothing disputed.
    let answer = read.key.expect("the key").first_answer.expect("its answer");
    assert_eq!(answer.payment.id, hold.id);
    assert_eq!(answer.payment.origin, Origin::Command);
    assert!(!answer.bookings[0].status.disputed);
    assert_eq!(answer.bookings[0].balance.held, usd(5_000));

    // Summaries undisputed; the one that holds money found by the holding filter.
    let summaries = store
        .list_summaries(&acme().id, &BookingFilter::default())
        .await?;
    assert_eq!(summaries.len(), 2);
    assert!(summaries.iter().all(|s| !s.status.disputed));
    let holding = |held| BookingFilter {
        holding: Some(held),
        ..BookingFilter::default()
    };
    let listed = |filter| {
        let store = store.clone();
        async move {
            store
                .list_summaries(&acme().id, &filter)
                .await
                .expect("list")
                .into_iter()
                .map(|s| s.booking.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(holding(true)).await, ["b-2"]);
    assert_eq!(listed(holding(false)).await, ["b-1"]);

    // The service goes on: the rest of b-1 is charged, its charge disputed at the gateway and
    // lost; the booking's summary says so, in its column.
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "new");
    let rest = billing.charge(&acme(), charge("b-1", None)).await?;
    assert_eq!(rest.payment.amount, usd(7_000));
    let reference = rest.payment.gateway_reference.clone().expect("reference");
    let dispute = gateway.open_dispute(None, &reference, usd(7_000), "fraudulent")?;
    gateway.close_dispute(None, &dispute.reference, false)?;
    billing.sync_payment(&acme(), &rest.payment.id).await?;
    let view = billing.booking(&acme(), &booking_id("b-1")).await?;
    assert!(view.summary.status.disputed);
    assert!(
        view.payments
            .iter()
            .any(|p| p.kind.name() == KindName::Dispute && p.origin == Origin::Gateway)
    );
    let listed = store
        .list_summaries(&acme().id, &BookingFilter::default())
        .await?;
    assert!(listed[0].status.disputed && !listed[1].status.disputed);
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let stored: Vec<(String, i64)> =
        sqlx::query_as("SELECT booking_id, disputed FROM booking_summaries ORDER BY booking_id")
            .fetch_all(&mut conn)
            .await?;
    conn.close().await?;
    assert_eq!(stored, [("b-1".to_owned(), 1), ("b-2".to_owned(), 0)]);
    Ok(())
}

/// Notifications as the build of schema 0006 wrote them: one of each kind it knew, queued,
/// sent and failed.
const NOTIFICATIONS_OF_0006: &str = r#"
INSERT INTO notifications (business_id, id, customer_id, kind, to_address, subject, text_body,
    html_body, created_at, state, attempts, attempted_at, outcome, next_attempt_at) VALUES
    ('acme', 'ntf-1', 'cust-1', 'payment_link', 'ada@example.com', 'Pay', 'Pay here', NULL,
     '2026-01-15T09:00:00.000000000Z', 'queued', 0, NULL, NULL,
     '2026-01-15T09:00:00.000000000Z'),
    ('acme', 'ntf-2', 'cust-1', 'card_request', 'ada@example.com', 'Card', 'Save a card',
     '<p>Save a card</p>', '2026-01-15T09:01:00.000000000Z', 'sent', 0,
     '2026-01-15T09:01:01.000000000Z', '250 OK', NULL),
    ('acme', 'ntf-3', 'cust-1', 'receipt', 'ada@example.com', 'Receipt', 'Thanks', NULL,
     '2026-01-15T09:02:00.000000000Z', 'failed', 2, '2026-01-15T09:03:00.000000000Z',
     '451 try later', '2026-01-15T10:00:00.000000000Z'),
    ('acme', 'ntf-4', 'cust-1', 'business_payment_notice', 'owner@example.com', 'Paid', 'Paid',
     NULL, '2026-01-15T09:03:00.000000000Z', 'queued', 0, NULL, NULL,
     '2026-01-15T09:03:00.000000000Z'),
    ('acme', 'ntf-5', 'cust-1', 'business_card_saved_notice', 'owner@example.com', 'Saved',
     'Saved', NULL, '2026-01-15T09:04:00.000000000Z', 'queued', 0, NULL, NULL,
     '2026-01-15T09:04:00.000000000Z'),
    ('acme', 'ntf-6', 'cust-1', 'payment_failed', 'ada@example.com', 'Failed', 'Failed', NULL,
     '2026-01-15T09:05:00.000000000Z', 'queued', 0, NULL, NULL,
     '2026-01-15T09:05:00.000000000Z');
"#;

/// The notifications table is made again with the new kinds' CHECK: its rows, its indexes and
/// its other constraints stay as they were, and both new kinds are queued.
#[tokio::test]
async fn a_database_of_schema_0006_keeps_its_notifications_after_migrating() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let mut old = earlier_schema(&url, 6).await?;
    sqlx::raw_sql(NOTIFICATIONS_OF_0006)
        .execute(&mut old)
        .await?;
    old.close().await?;

    let store = Arc::new(SqliteStore::connect(&url).await?);
    store.migrate().await?;
    let ada = CustomerId::new("cust-1")?;
    let log = store.customer_log(&acme().id, &ada, 10).await?;
    let kinds: Vec<&str> = log.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "payment_failed",
            "business_card_saved_notice",
            "business_payment_notice",
            "receipt",
            "card_request",
            "payment_link"
        ]
    );
    assert!(matches!(
        log[3].delivery,
        DeliveryState::Failed { attempts: 2, .. }
    ));
    assert!(matches!(log[4].delivery, DeliveryState::Sent { .. }));
    // Every email queued before texts existed reads as an email, with no carrier report.
    assert!(
        log.iter()
            .all(|n| n.channel == Channel::Email && n.carrier.is_none())
    );
    // Due as before: the queued ones, and the failed one once its retry time came.
    let due = store
        .claim_due(
            None,
            at("2026-01-15T09:30:00Z"),
            at("2026-01-15T09:35:00Z"),
            10,
        )
        .await?;
    let due: Vec<&str> = due.iter().map(|d| d.notification.id.as_str()).collect();
    assert_eq!(due, ["ntf-1", "ntf-4", "ntf-5", "ntf-6"]);

    for (n, kind) in [
        NotificationKind::UpcomingCharge,
        NotificationKind::BusinessAutomationNotice,
    ]
    .into_iter()
    .enumerate()
    {
        let message = OutboundMessage {
            to: "ada@example.com".into(),
            subject: kind.as_str().into(),
            text_body: "Soon".into(),
            html_body: None,
        };
        let notification = Notification::queued(
            format!("ntf-new-{n}").parse()?,
            ada.clone(),
            kind,
            &message,
            at("2026-01-16T09:00:00Z"),
        );
        store
            .record_queued(&acme().id, &notification, &message)
            .await?;
        let read = store.notification(&acme().id, &notification.id).await?;
        assert_eq!(read.map(|n| n.kind), Some(kind));
    }

    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notifications' \
         AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await?;
    assert_eq!(
        indexes,
        [
            "notifications_by_customer",
            "notifications_by_text_reference",
            "notifications_due",
            "notifications_due_by_business"
        ]
    );
    for refused in [
        // A kind no build knows, and a sent email still due: the table's checks stand.
        "UPDATE notifications SET kind = 'spam' WHERE id = 'ntf-1'",
        "UPDATE notifications SET next_attempt_at = '2026-01-17T00:00:00.000000000Z' \
         WHERE id = 'ntf-2'",
    ] {
        let error = sqlx::query(refused)
            .execute(&mut conn)
            .await
            .expect_err(refused);
        assert!(error.to_string().contains("CHECK"), "{error}");
    }
    conn.close().await?;
    Ok(())
}

/// Notifications as the build of schema 0015 wrote them: emails, and texts with and without
/// their carrier's report.
const NOTIFICATIONS_OF_0015: &str = r#"
INSERT INTO notifications (business_id, id, customer_id, kind, to_address, subject, text_body,
    html_body, created_at, state, attempts, attempted_at, outcome, next_attempt_at) VALUES
    ('acme', 'ntf-1', 'cust-1', 'upcoming_charge', 'ada@example.com', 'Soon', 'Soon',
     '<p>Soon</p>', '2026-01-15T09:00:00.000000000Z', 'queued', 0, NULL, NULL,
     '2026-01-15T09:00:00.000000000Z');
INSERT INTO notifications (business_id, id, customer_id, kind, to_address, subject, text_body,
    html_body, created_at, state, attempts, attempted_at, outcome, next_attempt_at, channel,
    carrier_status, carrier_error, carrier_at) VALUES
    ('acme', 'ntf-2', 'cust-1', 'payment_link', '+14155550123', 'Pay', 'Pay here', NULL,
     '2026-01-15T09:01:00.000000000Z', 'sent', 0, '2026-01-15T09:01:01.000000000Z', 'SM1',
     NULL, 'text', 'sent', NULL, '2026-01-15T09:01:02.000000000Z'),
    ('acme', 'ntf-3', 'cust-1', 'card_request', '+14155550123', 'Card', 'Save a card', NULL,
     '2026-01-15T09:02:00.000000000Z', 'sent', 0, '2026-01-15T09:02:01.000000000Z', 'SM2',
     NULL, 'text', 'undelivered', '30003', '2026-01-15T09:02:05.000000000Z'),
    ('acme', 'ntf-4', 'cust-1', 'business_automation_notice', 'owner@example.com', 'Look',
     'Look', NULL, '2026-01-15T09:03:00.000000000Z', 'failed', 3,
     '2026-01-15T09:04:00.000000000Z', '550 no such user', NULL, 'email', NULL, NULL, NULL);
"#;

/// The shape of `notifications`: its columns (name, type, not null, default, key) and its
/// indexes' definitions.
async fn notifications_shape(
    conn: &mut sqlx::SqliteConnection,
) -> Result<(Vec<(String, String, i64, Option<String>, i64)>, Vec<String>), sqlx::Error> {
    let columns = sqlx::query_as(
        "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('notifications') \
         ORDER BY cid",
    )
    .fetch_all(&mut *conn)
    .await?;
    let indexes = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notifications' \
         AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok((columns, indexes))
}

/// The notifications table is made again with the portal link's kind: its columns (texts'
/// among them), rows, indexes and checks stay as they were, and a portal link is queued.
#[tokio::test]
async fn a_database_of_schema_0015_keeps_its_notifications_after_migrating() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let mut old = earlier_schema(&url, 15).await?;
    sqlx::raw_sql(NOTIFICATIONS_OF_0015)
        .execute(&mut old)
        .await?;
    let before = notifications_shape(&mut old).await?;
    old.close().await?;

    let store = Arc::new(SqliteStore::connect(&url).await?);
    store.migrate().await?;
    let ada = CustomerId::new("cust-1")?;
    let log = store.customer_log(&acme().id, &ada, 10).await?;
    let ids: Vec<&str> = log.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["ntf-4", "ntf-3", "ntf-2", "ntf-1"]);
    assert_eq!(
        log.iter().map(|n| n.channel).collect::<Vec<_>>(),
        [Channel::Email, Channel::Text, Channel::Text, Channel::Email]
    );
    assert!(matches!(
        log[0].delivery,
        DeliveryState::Failed {
            attempts: 3,
            retry_at: None,
            ..
        }
    ));
    assert_eq!(
        log[1].carrier,
        Some(CarrierReport {
            status: TextStatus::Undelivered,
            error_code: Some("30003".into()),
            at: at("2026-01-15T09:02:05Z"),
        })
    );
    assert_eq!(
        store
            .message(&acme().id, &log[3].id)
            .await?
            .and_then(|m| m.html_body),
        Some("<p>Soon</p>".into())
    );
    // A text is still found by its provider's id (the partial index made again).
    let report = CarrierReport {
        status: TextStatus::Delivered,
        error_code: None,
        at: at("2026-01-15T09:05:00Z"),
    };
    let found = store.record_carrier_report("SM1", &report).await?;
    assert_eq!(
        found.map(|(business, id)| (business, id.to_string())),
        Some((acme().id, "ntf-2".to_owned()))
    );

    let message = OutboundMessage {
        to: "ada@example.com".into(),
        subject: "Your bookings with Acme Cleaning".into(),
        text_body: "Open your bookings".into(),
        html_body: None,
    };
    let portal = Notification::queued(
        "ntf-5".parse()?,
        ada.clone(),
        NotificationKind::PortalLink,
        &message,
        at("2026-01-16T09:00:00Z"),
    );
    store.record_queued(&acme().id, &portal, &message).await?;
    assert_eq!(
        store.notification(&acme().id, &portal.id).await?,
        Some(portal)
    );

    // The same columns, defaults and indexes as before.
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    assert_eq!(notifications_shape(&mut conn).await?, before);
    // A row queued without saying its channel is an email, as before.
    sqlx::query(
        "INSERT INTO notifications (business_id, id, customer_id, kind, to_address, subject, \
         text_body, created_at, state, attempts, next_attempt_at) VALUES ('acme', 'ntf-6', \
         'cust-1', 'portal_link', 'ada@example.com', 'Link', 'Link', \
         '2026-01-16T10:00:00.000000000Z', 'queued', 0, '2026-01-16T10:00:00.000000000Z')",
    )
    .execute(&mut conn)
    .await?;
    let channel: String =
        sqlx::query_scalar("SELECT channel FROM notifications WHERE id = 'ntf-6'")
            .fetch_one(&mut conn)
            .await?;
    assert_eq!(channel, "email");
    for refused in [
        // A kind no build knows, a channel, a carrier status, and a sent email still due: the
        // table's checks stand.
        "UPDATE notifications SET kind = 'spam' WHERE id = 'ntf-1'",
        "UPDATE notifications SET channel = 'fax' WHERE id = 'ntf-1'",
        "UPDATE notifications SET carrier_status = 'lost' WHERE id = 'ntf-2'",
        "UPDATE notifications SET next_attempt_at = '2026-01-17T00:00:00.000000000Z' \
         WHERE id = 'ntf-2'",
    ] {
        let error = sqlx::query(refused)
            .execute(&mut conn)
            .await
            .expect_err(refused);
        assert!(error.to_string().contains("CHECK"), "{error}");
    }
    conn.close().await?;
    Ok(())
}
