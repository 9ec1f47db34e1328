//! Databases written by earlier schemas, with rows as the builds of then wrote them, migrate
//! and read back through the store: one of migrations 0001–0004 (before optimistic commits),
//! one of 0001–0005 (before disputes and format version 2), and one of 0001–0007 (before
//! automation, which widens the notifications' kinds).
#![allow(clippy::expect_used)]

mod common;

use std::sync::Arc;

use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::CustomerId;
use billing_core::money::Currency;
use billing_core::notification::{DeliveryState, Notification, NotificationKind, OutboundMessage};
use billing_core::payment::{
    KindName, Origin, PaymentDayTotals, PaymentState, PaymentTotals, fold,
};
use billing_core::ports::{
    BookingFilter, Ledger, LedgerRead, NotificationLog, OutstandingQuery, PaymentsQuery, Store,
};
use billing_core::status::PaymentStatus;
use billing_core::testkit::ScriptedGateway;
use billing_postgres::PostgresStore;
use billing_testservers::TestPostgres;
use common::{TestResult, acme, booking_id, charge, ledger, service, usd};
use sqlx::Connection as _;

/// A database written by the schema before optimistic commits (migrations 0001 to 0004, rows
/// as the earlier build wrote them) migrates and reads back: bookings at version 0, summaries
/// with their dates, the totals of what customers owe, entries of format version 1, and an old
/// first response that is no longer used.
#[tokio::test]
async fn a_database_of_the_previous_schema_migrates_and_reads_back() -> TestResult {
    let (_server, url) = tokio::task::spawn_blocking(|| {
        let server = TestPostgres::start().expect("test postgres");
        let url = server.create_database("previous").expect("database");
        (server, url)
    })
    .await?;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let all = sqlx::migrate!("./migrations");
    let previous = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(all.migrations[..4].to_vec()),
        ..sqlx::migrate!("./migrations")
    };
    previous.run(&mut conn).await?;
    for statement in [
        "INSERT INTO businesses (id, name) VALUES ('acme', 'Acme')",
        "INSERT INTO customers (business_id, id, name) VALUES ('acme', 'c-ada', 'Ada')",
        r#"INSERT INTO bookings (business_id, id, customer_id, currency, body) VALUES ('acme', 'b-1001', 'c-ada', 'USD', '{"id":"b-1001","customer":"c-ada","currency":"USD","line_items":[{"kind":"service","label":"Deep clean","amount":{"amount":"215.50","currency":"USD"}}],"service_at":"2026-12-09T13:37:05.787321Z","completed_at":null}')"#,
        r#"INSERT INTO entries (business_id, payment_id, seq, body) VALUES ('acme', 'pay_1', 0, '{"payment":"pay_1","seq":0,"bookings":["b-1001"],"at":"2026-12-02T13:37:05.795562Z","gateway_reference":null,"hold_expires_at":null,"change":{"change":"opened","customer":"c-ada","kind":{"type":"collection","method":{"type":"check"},"reference":"check 1021"},"amount":{"amount":"30.00","currency":"USD"},"allocations":[{"booking":"b-1001","amount":{"amount":"30.00","currency":"USD"}}],"state":{"state":"succeeded"}}}')"#,
        "INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) VALUES ('acme', 'b-1001', 'pay_1', 0)",
        "INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, price_minor, paid_minor, refunded_minor, in_flight_minor, held_minor, refunds_in_flight_minor, balance_due_minor, status, pending, last_failed, as_of) VALUES ('acme', 'b-1001', 'c-ada', 'USD', 21550, 3000, 0, 0, 0, 0, 18550, 'partially_charged', false, false, now())",
        "INSERT INTO idempotency_keys (business_id, key, fingerprint, payment_id, completed, created_at, response_status, response_content_type, response_body) VALUES ('acme', 'k-old', 'collection|b-1001|30.00 USD|check|check 1021', 'pay_1', true, now(), 201, 'application/json', '{}')",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    conn.close().await?;

    let store = PostgresStore::connect(&url).await?;
    store.migrate().await?;
    let read = ledger(&store, "b-1001").await;
    assert_eq!(read.version, 0);
    assert_eq!(read.entries.len(), 1);
    let summaries = store
        .list_summaries(&acme().id, &BookingFilter::default())
        .await?;
    assert_eq!(summaries[0].service_at, read.account.service_at);
    assert!(summaries[0].service_at.is_some());
    assert_eq!(summaries[0].status.status, PaymentStatus::PartiallyCharged);
    assert!(!summaries[0].status.disputed);
    let totals = store.outstanding_totals(&acme().id).await?;
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].balance_due, usd(18_550));
    assert_eq!(
        store
            .outstanding(&acme().id, &OutstandingQuery::default())
            .await?
            .len(),
        1
    );
    // The old payment is found by when it was created (its opening entry's time, read at
    // migration).
    let opened: chrono::DateTime<chrono::Utc> = "2026-12-02T13:37:05.795562Z".parse()?;
    let created = store
        .payments_created(
            &acme().id,
            &PaymentsQuery::between(opened, opened + chrono::Duration::microseconds(1)),
        )
        .await?;
    assert_eq!(
        created.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["pay_1"]
    );
    assert_eq!(created[0].created_at, opened);
    // The old check is counted in its day's payment totals when migrating (0013).
    let day = opened.date_naive();
    let next = day.succ_opt().expect("a day");
    let usd_day = |day, minor| PaymentDayTotals {
        day,
        totals: PaymentTotals::from_minor(Currency::USD, minor),
    };
    assert_eq!(
        store.payment_day_totals(&acme().id, day, next).await?,
        vec![usd_day(day, [0, 0, 3_000, 0, 0])]
    );
    // The service goes on from there: a charge of the rest, and the old key replays from the
    // payment as it stands.
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "n");
    billing
        .attach_card(&acme(), &CustomerId::new("c-ada")?, "pm_card_visa")
        .await?;
    let rest = billing.charge(&acme(), charge("b-1001", None)).await?;
    assert_eq!(rest.bookings[0].status.status, PaymentStatus::ChargedInFull);
    assert!(store.outstanding_totals(&acme().id).await?.is_empty());
    let today = rest.payment.created_at.date_naive();
    assert_eq!(
        store
            .payment_day_totals(&acme().id, today, today.succ_opt().expect("a day"))
            .await?,
        vec![usd_day(today, [18_550, 0, 0, 0, 0])]
    );
    let store: Arc<dyn Store> = Arc::new(store);
    let key = IdempotencyKey::new("k-old")?;
    let old = store
        .read(
            &acme().id,
            &LedgerRead::bookings(&[booking_id("b-1001")]).with_key(Some(&key)),
        )
        .await?
        .key
        .expect("the old record");
    assert!(old.completed && old.first_answer.is_none());
    Ok(())
}

/// A database of schema 0005 (before disputes and format version 2), with rows as that build
/// wrote them — bodies of format version 1 tagged `"v":1`, a first answer kept with its key, a
/// booking that holds money — migrates and reads back: nothing disputed, records made by
/// commands, the holding filter served; and the service goes on to record a dispute.
#[tokio::test]
async fn a_database_of_schema_0005_migrates_and_reads_back() -> TestResult {
    let (_server, url) = tokio::task::spawn_blocking(|| {
        let server = TestPostgres::start().expect("test postgres");
        let url = server.create_database("schema5").expect("database");
        (server, url)
    })
    .await?;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let all = sqlx::migrate!("./migrations");
    let earlier = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(all.migrations[..5].to_vec()),
        ..sqlx::migrate!("./migrations")
    };
    earlier.run(&mut conn).await?;
    let card = r#"{"gateway_customer":"cus_1","payment_method":"pm_card_visa"}"#;
    let hold_opened = format!(
        r#"{{"v":1,"payment":"pay_hold","seq":0,"bookings":["b-2"],"at":"2026-01-15T10:00:00Z","gateway_reference":null,"hold_expires_at":null,"change":{{"change":"opened","customer":"cust-1","kind":{{"type":"authorization","card":{card}}},"amount":{{"amount":"50.00","currency":"USD"}},"allocations":[{{"booking":"b-2","amount":{{"amount":"50.00","currency":"USD"}}}}],"state":{{"state":"pending"}}}}}}"#
    );
    let hold_placed = r#"{"v":1,"payment":"pay_hold","seq":1,"bookings":["b-2"],"at":"2026-01-15T10:00:01Z","gateway_reference":"pi_2","hold_expires_at":"2026-01-22T10:00:01Z","change":{"change":"moved","event":{"event":"hold_placed"},"state":{"state":"authorized"}}}"#;
    let first_answer = format!(
        r#"{{"v":1,"payment":{{"id":"pay_hold","customer":"cust-1","kind":{{"type":"authorization","card":{card}}},"amount":{{"amount":"50.00","currency":"USD"}},"allocations":[{{"booking":"b-2","amount":{{"amount":"50.00","currency":"USD"}}}}],"state":{{"state":"authorized"}},"gateway_reference":"pi_2","hold_expires_at":"2026-01-22T10:00:01Z","created_at":"2026-01-15T10:00:00Z","updated_at":"2026-01-15T10:00:01Z","entries":2}},"bookings":[{{"booking":"b-2","customer":"cust-1","currency":"USD","balance":{{"price":{{"amount":"50.00","currency":"USD"}},"paid":{{"amount":"0.00","currency":"USD"}},"refunded":{{"amount":"0.00","currency":"USD"}},"in_flight":{{"amount":"0.00","currency":"USD"}},"held":{{"amount":"50.00","currency":"USD"}},"refunds_in_flight":{{"amount":"0.00","currency":"USD"}},"balance_due":{{"amount":"50.00","currency":"USD"}}}},"status":{{"status":"pre_authorized","pending":false,"last_failed":false}},"service_at":null,"completed_at":null,"as_of":"2026-01-15T10:00:01Z"}}]}}"#
    );
    for (statement, bound) in [
        (
            "INSERT INTO businesses (id, name) VALUES ('acme', 'Acme')",
            None,
        ),
        (
            "INSERT INTO customers (business_id, id, name, gateway_customer) \
             VALUES ('acme', 'cust-1', 'Ada', 'cus_1')",
            None,
        ),
        (
            "INSERT INTO saved_cards (business_id, customer_id, payment_method, brand, last4, \
             exp_month, exp_year, is_default) \
             VALUES ('acme', 'cust-1', 'pm_card_visa', 'visa', '4242', 12, 2034, true)",
            None,
        ),
        (
            r#"INSERT INTO bookings (business_id, id, customer_id, currency, body, version) VALUES ('acme', 'b-1', 'cust-1', 'USD', '{"v":1,"id":"b-1","customer":"cust-1","currency":"USD","line_items":[{"kind":"service","label":"Deep clean","amount":{"amount":"100.00","currency":"USD"}}],"service_at":null,"completed_at":null}', 0), ('acme', 'b-2', 'cust-1', 'USD', '{"v":1,"id":"b-2","customer":"cust-1","currency":"USD","line_items":[{"kind":"service","label":"Windows","amount":{"amount":"50.00","currency":"USD"}}],"service_at":null,"completed_at":null}', 2)"#,
            None,
        ),
        (
            "INSERT INTO entries (business_id, payment_id, seq, body) \
             VALUES ('acme', 'pay_hold', 0, $1::json)",
            Some(hold_opened.as_str()),
        ),
        (
            "INSERT INTO entries (business_id, payment_id, seq, body) \
             VALUES ('acme', 'pay_hold', 1, $1::json)",
            Some(hold_placed),
        ),
        (
            "INSERT INTO entry_bookings (business_id, booking_id, payment_id, seq) \
             VALUES ('acme', 'b-2', 'pay_hold', 0), ('acme', 'b-2', 'pay_hold', 1)",
            None,
        ),
        (
            "INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, \
             price_minor, paid_minor, refunded_minor, in_flight_minor, held_minor, \
             refunds_in_flight_minor, balance_due_minor, status, pending, last_failed, as_of) \
             VALUES ('acme', 'b-1', 'cust-1', 'USD', 10000, 0, 0, 0, 0, 0, 10000, \
             'not_charged', false, false, now()), \
             ('acme', 'b-2', 'cust-1', 'USD', 5000, 0, 0, 0, 5000, 0, 5000, \
             'pre_authorized', false, false, now())",
            None,
        ),
        (
            "INSERT INTO idempotency_keys (business_id, key, fingerprint, payment_id, \
             completed, created_at, first_answer) \
             VALUES ('acme', 'k-hold', 'authorize|b-2|balance', 'pay_hold', true, now(), $1)",
            Some(first_answer.as_str()),
        ),
    ] {
        let query = sqlx::query(statement);
        let query = match bound {
            Some(value) => query.bind(value),
            None => query,
        };
        query.execute(&mut conn).await?;
    }
    conn.close().await?;

    let store = PostgresStore::connect(&url).await?;
    store.migrate().await?;
    let held = ledger(&store, "b-2").await;
    assert_eq!(held.version, 2);
    let hold = fold(&held.entries)?.remove(0);
    assert_eq!(hold.state, PaymentState::Authorized);
    assert_eq!(hold.origin, Origin::Command);
    assert!(!hold.multicapture);
    let key = IdempotencyKey::new("k-hold")?;
    let answer = store
        .read(
            &acme().id,
            &LedgerRead::bookings(&[booking_id("b-2")]).with_key(Some(&key)),
        )
        .await?
        .key
        .and_then(|k| k.first_answer)
        .expect("the first answer");
    assert_eq!(answer.payment.id, hold.id);
    assert!(!answer.bookings[0].status.disputed);
    let summaries = store
        .list_summaries(&acme().id, &BookingFilter::default())
        .await?;
    assert_eq!(summaries.len(), 2);
    assert!(summaries.iter().all(|s| !s.status.disputed));
    let holding = |held| BookingFilter {
        holding: Some(held),
        ..BookingFilter::default()
    };
    let listed = |filter: BookingFilter| {
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

    // The service goes on: b-1 is charged, the charge disputed at the gateway and lost; the
    // summary written by `billing_commit` says so.
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "n");
    let charged = billing.charge(&acme(), charge("b-1", None)).await?;
    let reference = charged
        .payment
        .gateway_reference
        .clone()
        .expect("reference");
    let dispute = gateway.open_dispute(None, &reference, usd(10_000), "fraudulent")?;
    gateway.close_dispute(None, &dispute.reference, false)?;
    billing.sync_payment(&acme(), &charged.payment.id).await?;
    let view = billing.booking(&acme(), &booking_id("b-1")).await?;
    assert!(view.summary.status.disputed);
    assert!(
        view.payments
            .iter()
            .any(|p| p.kind.name() == KindName::Dispute && p.origin == Origin::Gateway)
    );
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let stored: Vec<(String, bool)> =
        sqlx::query_as("SELECT booking_id, disputed FROM booking_summaries ORDER BY booking_id")
            .fetch_all(&mut conn)
            .await?;
    conn.close().await?;
    assert_eq!(
        stored,
        [("b-1".to_owned(), true), ("b-2".to_owned(), false)]
    );
    Ok(())
}

/// A database of schema 0007 with notifications of every kind it knew migrates: the rows read
/// back as they were, the kinds added since (by 0008 and 0017) are queued, and a kind no build
/// knows is still refused.
#[tokio::test]
async fn a_database_of_schema_0007_keeps_its_notifications_after_migrating() -> TestResult {
    let (_server, url) = tokio::task::spawn_blocking(|| {
        let server = TestPostgres::start().expect("test postgres");
        let url = server.create_database("schema7").expect("database");
        (server, url)
    })
    .await?;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let all = sqlx::migrate!("./migrations");
    let earlier = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(all.migrations[..7].to_vec()),
        ..sqlx::migrate!("./migrations")
    };
    earlier.run(&mut conn).await?;
    sqlx::raw_sql(
        "INSERT INTO notifications (business_id, id, customer_id, kind, to_address, subject, \
         text_body, html_body, created_at, state, attempts, attempted_at, outcome, \
         next_attempt_at) VALUES \
         ('acme', 'ntf-1', 'cust-1', 'payment_link', 'ada@example.com', 'Pay', 'Pay here', \
          NULL, '2026-01-15T09:00:00Z', 'queued', 0, NULL, NULL, '2026-01-15T09:00:00Z'), \
         ('acme', 'ntf-2', 'cust-1', 'card_request', 'ada@example.com', 'Card', 'Save', \
          '<p>Save</p>', '2026-01-15T09:01:00Z', 'sent', 0, '2026-01-15T09:01:01Z', '250 OK', \
          NULL), \
         ('acme', 'ntf-3', 'cust-1', 'receipt', 'ada@example.com', 'Receipt', 'Thanks', NULL, \
          '2026-01-15T09:02:00Z', 'failed', 2, '2026-01-15T09:03:00Z', '451 later', \
          '2026-01-15T10:00:00Z'), \
         ('acme', 'ntf-4', 'cust-1', 'business_payment_notice', 'owner@example.com', 'Paid', \
          'Paid', NULL, '2026-01-15T09:03:00Z', 'queued', 0, NULL, NULL, \
          '2026-01-15T09:03:00Z'), \
         ('acme', 'ntf-5', 'cust-1', 'business_card_saved_notice', 'owner@example.com', \
          'Saved', 'Saved', NULL, '2026-01-15T09:04:00Z', 'queued', 0, NULL, NULL, \
          '2026-01-15T09:04:00Z'), \
         ('acme', 'ntf-6', 'cust-1', 'payment_failed', 'ada@example.com', 'Failed', 'Failed', \
          NULL, '2026-01-15T09:05:00Z', 'queued', 0, NULL, NULL, '2026-01-15T09:05:00Z')",
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;

    let store = PostgresStore::connect(&url).await?;
    store.migrate().await?;
    let ada = CustomerId::new("cust-1")?;
    let log = store.customer_log(&acme().id, &ada, 10).await?;
    assert_eq!(log.len(), 6);
    assert_eq!(log[0].kind, NotificationKind::PaymentFailed);
    assert!(matches!(
        log[3].delivery,
        DeliveryState::Failed { attempts: 2, .. }
    ));
    for (n, kind) in [
        NotificationKind::UpcomingCharge,
        NotificationKind::BusinessAutomationNotice,
        NotificationKind::PortalLink,
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
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-16T09:00:00Z")?.to_utc();
        let notification = Notification::queued(
            format!("ntf-new-{n}").parse()?,
            ada.clone(),
            kind,
            &message,
            at,
        );
        store
            .record_queued(&acme().id, &notification, &message)
            .await?;
        let read = store.notification(&acme().id, &notification.id).await?;
        assert_eq!(read.map(|n| n.kind), Some(kind));
    }
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let refused = sqlx::query("UPDATE notifications SET kind = 'spam' WHERE id = 'ntf-1'")
        .execute(&mut conn)
        .await
        .expect_err("a kind no build knows");
    assert!(
        refused.to_string().contains("notifications_kind_check"),
        "{refused}"
    );
    conn.close().await?;
    Ok(())
}
