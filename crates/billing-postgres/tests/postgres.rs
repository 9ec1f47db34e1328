//! PostgreSQL-specific behaviour: the append-only trigger, concurrency across processes and
//! row locks, a commit whose backend is killed, a server that goes away, bound values whatever
//! the server's string settings, unreadable rows, the indexes the reports rely on, and a
//! database written by the previous schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use billing_core::billing::{Billing, ChargeBooking, PaymentSource};
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::{Business, Customer};
use billing_core::error::BillingError;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::payment::PaymentState;
use billing_core::ports::{
    BookingFilter, CustomerDirectory, Ledger, LedgerError, LedgerRead, LedgerWrite,
    OutstandingQuery, Store,
};
use billing_core::status::PaymentStatus;
use billing_core::testkit::{FixedClock, ScriptedGateway, SequentialIds, SequentialSecrets};
use billing_postgres::PostgresStore;
use billing_testservers::TestPostgres;
use sqlx::Connection as _;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A fresh database on the shared test cluster, with the schema.
async fn database(prefix: &'static str) -> (TestPostgres, String, PostgresStore) {
    let (server, url) = tokio::task::spawn_blocking(move || {
        let server = TestPostgres::start().expect("test postgres");
        let url = server.create_database(prefix).expect("database");
        (server, url)
    })
    .await
    .expect("setup task");
    let store = PostgresStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (server, url, store)
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn booking_id(id: &str) -> BookingId {
    BookingId::new(id).expect("booking id")
}

fn acme() -> Business {
    Business {
        id: BusinessId::new("acme").expect("business id"),
        name: "Acme Cleaning".into(),
        gateway_account: None,
        email: None,
    }
}

fn service(store: PostgresStore, gateway: &ScriptedGateway, prefix: &str) -> Billing {
    Billing::new(
        Arc::new(store),
        Arc::new(gateway.clone()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix(prefix)),
        Arc::new(SequentialSecrets::default()),
    )
}

/// A customer with a card on file and a booking of `price_minor` cents with `label`.
async fn seed(billing: &Billing, booking: &str, price_minor: i64, label: &str) {
    let business = acme();
    let customer = CustomerId::new("cust-1").expect("customer id");
    billing
        .put_customer(
            &business,
            Customer {
                id: customer.clone(),
                name: "Ada".into(),
                email: None,
                gateway_customer: None,
            },
        )
        .await
        .expect("customer");
    if billing
        .cards(&business, &customer)
        .await
        .expect("cards")
        .is_empty()
    {
        billing
            .attach_card(&business, &customer, "pm_card_visa")
            .await
            .expect("card");
    }
    let account = BookingAccount::new(
        booking_id(booking),
        customer,
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, label, usd(price_minor)).expect("line")],
    )
    .expect("booking");
    billing
        .put_booking(&business, account)
        .await
        .expect("booking");
}

fn charge(booking: &str, amount: Option<Money>) -> ChargeBooking {
    ChargeBooking {
        booking: booking_id(booking),
        amount: amount.map(Into::into),
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

async fn count(url: &str, table: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let n = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&mut conn)
        .await
        .expect("count");
    conn.close().await.expect("close");
    n
}

async fn ledger(store: &PostgresStore, booking: &str) -> billing_core::ports::BookingLedger {
    let ids = [booking_id(booking)];
    store
        .read(&acme().id, &LedgerRead::bookings(&ids))
        .await
        .expect("read")
        .ledgers
        .remove(0)
}

#[tokio::test]
async fn the_ledger_tables_refuse_update_delete_and_truncate() -> TestResult {
    let (_server, url, store) = database("append_only").await;
    let gateway = ScriptedGateway::new();
    let billing = service(store, &gateway, "a");
    seed(&billing, "b-1", 10_000, "Deep clean").await;
    billing.charge(&acme(), charge("b-1", None)).await?;
    let entries = count(&url, "entries").await;
    let links = count(&url, "entry_bookings").await;
    assert_eq!(entries, 2, "open and succeed");

    let mut conn = sqlx::PgConnection::connect(&url).await?;
    for statement in [
        "UPDATE entries SET seq = seq + 10",
        "UPDATE entries SET body = '{}'::json WHERE false",
        "DELETE FROM entries",
        "DELETE FROM entries WHERE seq = 1",
        "TRUNCATE entries CASCADE",
        "UPDATE entry_bookings SET seq = seq",
        "DELETE FROM entry_bookings",
        "TRUNCATE entry_bookings",
    ] {
        let refused = sqlx::query(statement).execute(&mut conn).await;
        let error = refused.expect_err(statement).to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    conn.close().await?;
    assert_eq!(count(&url, "entries").await, entries);
    assert_eq!(count(&url, "entry_bookings").await, links);
    Ok(())
}

/// 64 attempts at once on one booking, half through each of two services with their own pools
/// (two processes, as far as the database can tell): never more than the balance, and exactly
/// the balance when every attempt asks the same share of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_charges_from_two_pools_take_the_balance_exactly() -> TestResult {
    let (_server, url, store) = database("concurrent").await;
    let gateway = ScriptedGateway::new();
    let first = Arc::new(service(store, &gateway, "one"));
    let second = Arc::new(service(
        PostgresStore::connect(&url).await?,
        &gateway,
        "two",
    ));
    seed(&first, "b-1", 10_000, "Deep clean").await;

    let attempts = (0..64).map(|n| {
        let billing = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        async move { billing.charge(&acme(), charge("b-1", Some(usd(500)))).await }
    });
    let results = futures::future::join_all(attempts).await;
    let mut succeeded = 0;
    for result in results {
        match result {
            Ok(receipt) => {
                assert_eq!(receipt.payment.state, PaymentState::Succeeded);
                succeeded += 1;
            }
            // Refusals only: the store itself never failed under contention.
            Err(
                BillingError::AmountExceedsBalance { .. } | BillingError::NothingToCharge { .. },
            ) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    let view = first.booking(&acme(), &booking_id("b-1")).await?;
    let paid: Vec<Money> = view
        .payments
        .iter()
        .filter(|p| p.state == PaymentState::Succeeded)
        .map(|p| p.amount)
        .collect();
    let total = Money::sum(Currency::USD, paid.iter())?;
    assert_eq!(total, usd(10_000), "succeeded payments add up to the price");
    assert_eq!(succeeded, 20);
    assert_eq!(paid.len(), 20);
    assert_eq!(gateway.count("charge"), 20, "one gateway call per success");
    assert_eq!(view.summary.balance.paid, usd(10_000));
    assert_eq!(view.summary.balance.balance_due, usd(0));
    Ok(())
}

/// A commit waits for a booking's row lock held by another transaction, then finds what that
/// transaction committed: the booking moved, so the commit is a conflict and writes nothing.
#[tokio::test]
async fn a_commit_waits_for_the_row_lock_then_sees_the_booking_moved() -> TestResult {
    let (_server, url, store) = database("row_lock").await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-1", 10_000, "Deep clean").await;
    let before = ledger(&store, "b-1").await;

    let mut holder = sqlx::PgConnection::connect(&url).await?;
    sqlx::query("BEGIN").execute(&mut holder).await?;
    sqlx::query(
        "UPDATE bookings SET version = version + 1 WHERE business_id = 'acme' AND id = 'b-1'",
    )
    .execute(&mut holder)
    .await?;
    let mut renamed = before.account.clone();
    renamed.line_items.clear();
    let write = LedgerWrite {
        read: vec![(booking_id("b-1"), before.version)],
        bookings: vec![renamed],
        ..LedgerWrite::default()
    };
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.commit(&acme().id, &write).await }
    });
    // It waits on the lock (polled: no fixed sleep decides the outcome).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut admin = sqlx::PgConnection::connect(&url).await?;
        let waiting_on_lock: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut admin)
        .await?;
        admin.close().await?;
        if waiting_on_lock == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the commit never waited"
        );
        tokio::task::yield_now().await;
    }
    assert!(!waiting.is_finished());
    sqlx::query("COMMIT").execute(&mut holder).await?;
    let result = waiting.await?;
    assert!(
        matches!(result, Err(LedgerError::Conflict(_))),
        "{result:?}"
    );
    let after = ledger(&store, "b-1").await;
    assert_eq!(
        after.account, before.account,
        "nothing of the refused commit"
    );
    assert_eq!(
        after.version,
        before.version + 1,
        "only the holder's change"
    );
    Ok(())
}

/// A commit whose backend is killed while it runs (as when Postgres crashes, or an operator
/// terminates it) reports the store unavailable and writes nothing; the pool replaces the dead
/// connection and the store works on.
#[tokio::test]
async fn a_commit_killed_mid_statement_writes_nothing() -> TestResult {
    let (_server, url, store) = database("killed").await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-1", 10_000, "Deep clean").await;
    let before = ledger(&store, "b-1").await;
    let entries = count(&url, "entries").await;

    // Hold the booking's row so the commit is caught mid-statement, then kill it there.
    let mut holder = sqlx::PgConnection::connect(&url).await?;
    sqlx::query("BEGIN").execute(&mut holder).await?;
    sqlx::query("SELECT 1 FROM bookings WHERE business_id = 'acme' AND id = 'b-1' FOR UPDATE")
        .execute(&mut holder)
        .await?;
    let charging = tokio::spawn({
        let billing = billing.clone();
        async move { billing.charge(&acme(), charge("b-1", None)).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut admin = sqlx::PgConnection::connect(&url).await?;
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_all(&mut admin)
        .await?;
        admin.close().await?;
        if killed == vec![true] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the commit never waited"
        );
        tokio::task::yield_now().await;
    }
    sqlx::query("ROLLBACK").execute(&mut holder).await?;
    let charged = charging.await?;
    assert!(
        matches!(
            charged,
            Err(BillingError::Ledger(LedgerError::Unavailable(_)))
        ),
        "{charged:?}"
    );
    assert_eq!(ledger(&store, "b-1").await, before);
    assert_eq!(count(&url, "entries").await, entries);
    let receipt = billing.charge(&acme(), charge("b-1", None)).await?;
    assert_eq!(receipt.payment.state, PaymentState::Succeeded);
    Ok(())
}

/// A PostgreSQL cluster in a directory of the test's own, that can be stopped and started
/// again with its data; stopped when dropped.
struct Restartable {
    dir: PathBuf,
    _root: tempfile::TempDir,
}

impl Restartable {
    fn start() -> Result<(Self, String), Box<dyn std::error::Error>> {
        let root = tempfile::Builder::new()
            .prefix("billing-pg-restart-")
            .tempdir()?;
        // The server runs as an unprivileged account when the tests run as root: it must be
        // able to reach its directory.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711))?;
        let dir = root.path().join("pg");
        let url = billing_testservers::postgres::dev::start(&dir)?;
        Ok((Restartable { dir, _root: root }, url))
    }

    fn stop(&self) -> Result<(), Box<dyn std::error::Error>> {
        billing_testservers::postgres::dev::stop(&self.dir)?;
        Ok(())
    }

    fn restart(&self) -> Result<String, Box<dyn std::error::Error>> {
        Ok(billing_testservers::postgres::dev::start(&self.dir)?)
    }
}

impl Drop for Restartable {
    fn drop(&mut self) {
        let _ = billing_testservers::postgres::dev::stop(&self.dir);
    }
}

/// The server stops: every call reports the store unavailable (typed, no panic), a charge is
/// refused before anything reaches the gateway, and once the server is back the ledger is as
/// it was.
#[tokio::test]
async fn a_stopped_server_is_unavailable_and_keeps_no_partial_write() -> TestResult {
    let (cluster, admin_url) = Restartable::start()?;
    let url = billing_testservers::postgres::with_database(&admin_url, "billing")?;
    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
    sqlx::query("CREATE DATABASE billing")
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let store = PostgresStore::connect(&url).await?;
    store.migrate().await?;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-1", 10_000, "Deep clean").await;
    billing
        .charge(&acme(), charge("b-1", Some(usd(2_500))))
        .await?;
    let before = ledger(&store, "b-1").await;
    cluster.stop()?;

    let ids = [booking_id("b-1")];
    let read = store.read(&acme().id, &LedgerRead::bookings(&ids)).await;
    assert!(matches!(read, Err(LedgerError::Unavailable(_))), "{read:?}");
    let mut renamed = before.account.clone();
    renamed.line_items.clear();
    let write = LedgerWrite {
        read: vec![(booking_id("b-1"), before.version)],
        bookings: vec![renamed],
        ..LedgerWrite::default()
    };
    let committed = store.commit(&acme().id, &write).await;
    assert!(
        matches!(committed, Err(LedgerError::Unavailable(_))),
        "{committed:?}"
    );
    let customer = store
        .customer(&acme().id, &CustomerId::new("cust-1")?)
        .await;
    assert!(customer.is_err(), "{customer:?}");
    let calls = gateway.count("charge");
    let charged = billing.charge(&acme(), charge("b-1", None)).await;
    assert!(
        matches!(
            charged,
            Err(BillingError::Ledger(LedgerError::Unavailable(_)))
        ),
        "{charged:?}"
    );
    assert_eq!(
        gateway.count("charge"),
        calls,
        "nothing sent to the gateway"
    );
    assert!(store.ping().await.is_err());

    let admin_url = cluster.restart()?;
    let url = billing_testservers::postgres::with_database(&admin_url, "billing")?;
    let fresh = PostgresStore::connect(&url).await?;
    assert_eq!(ledger(&fresh, "b-1").await, before);
    assert_eq!(count(&url, "entries").await, 2);
    cluster.stop()?;
    Ok(())
}

/// Values are bound, never written into SQL text: with the server's strings set to treat a
/// backslash as an escape (`standard_conforming_strings = off`, as an old pooler or server
/// might), labels, keys and references with quotes, backslashes and SQL in them are stored and
/// read back exactly, and nothing else happens.
#[tokio::test]
async fn awkward_text_is_bound_whatever_the_server_settings() -> TestResult {
    let (_server, url, _store) = database("awkward").await;
    let mut admin = sqlx::PgConnection::connect(&url).await?;
    sqlx::query("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END $$")
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    // A store connected after the change runs with the setting.
    let store = PostgresStore::connect(&url).await?;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    let label = r#"O'Brien's "deep" clean \ 'quoted' \' \\ ''; DROP TABLE entries; -- été ☃"#;
    seed(&billing, "b-1", 10_000, label).await;
    assert_eq!(
        ledger(&store, "b-1").await.account.line_items[0].label,
        label
    );

    let key = IdempotencyKey::new(r#"k\'"';DELETE/**/FROM/**/idempotency_keys;--\"#)?;
    let receipt = billing
        .charge(
            &acme(),
            ChargeBooking {
                idempotency_key: Some(key.clone()),
                ..charge("b-1", Some(usd(1_000)))
            },
        )
        .await?;
    let replay = billing
        .charge(
            &acme(),
            ChargeBooking {
                idempotency_key: Some(key.clone()),
                ..charge("b-1", Some(usd(1_000)))
            },
        )
        .await?;
    assert!(replay.replayed);
    assert_eq!(replay.payment, receipt.payment);
    let ids = [booking_id("b-1")];
    let read = store
        .read(&acme().id, &LedgerRead::bookings(&ids).with_key(Some(&key)))
        .await?;
    assert_eq!(read.key.map(|k| k.key), Some(key));
    assert_eq!(count(&url, "entries").await, 2);
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    let setting: String = sqlx::query_scalar("SHOW standard_conforming_strings")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(setting, "off", "the test ran with backslash escapes on");
    conn.close().await?;
    Ok(())
}

/// Stored JSON that does not read as its format is reported as corrupt.
#[tokio::test]
async fn unreadable_rows_are_corrupt() -> TestResult {
    let (_server, url, store) = database("corrupt").await;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    sqlx::query(
        "INSERT INTO bookings (business_id, id, customer_id, currency, body) \
         VALUES ('acme', 'b-1', 'c-1', 'USD', '{\"id\": \"b-1\"}')",
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    let ids = [booking_id("b-1")];
    let read = store.read(&acme().id, &LedgerRead::bookings(&ids)).await;
    assert!(matches!(read, Err(LedgerError::Corrupt(_))), "{read:?}");
    Ok(())
}

/// The report, the list filters and a page after a cursor are served by their indexes (the
/// store's sessions never choose a sequential scan), and the totals by their own table.
#[tokio::test]
async fn reports_and_lists_use_their_indexes() -> TestResult {
    let (_server, url, _store) = database("indexes").await;
    let mut conn = sqlx::PgConnection::connect(&url).await?;
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await?;
    for (sql, index) in [
        (
            "SELECT customer_id, currency, SUM(balance_due_minor)::bigint, COUNT(*) \
             FROM booking_summaries WHERE business_id = 'acme' AND balance_due_minor > 0 \
             AND (customer_id, currency) > ('c-1', 'USD') \
             GROUP BY customer_id, currency ORDER BY customer_id, currency LIMIT 100",
            "booking_summaries_outstanding",
        ),
        (
            "SELECT currency, SUM(balance_due_minor) FROM outstanding_totals \
             WHERE business_id = 'acme' GROUP BY currency",
            "outstanding_totals_pkey",
        ),
        (
            "SELECT booking_id FROM booking_summaries \
             WHERE business_id = 'acme' AND customer_id = 'c' AND booking_id > 'b' \
             ORDER BY booking_id LIMIT 10",
            "booking_summaries_by_customer",
        ),
        (
            "SELECT booking_id FROM booking_summaries \
             WHERE business_id = 'acme' AND status = 'overpaid' ORDER BY booking_id LIMIT 10",
            "booking_summaries_by_status",
        ),
        (
            "SELECT booking_id FROM booking_summaries \
             WHERE business_id = 'acme' AND pending ORDER BY booking_id LIMIT 10",
            "booking_summaries_by_pending",
        ),
        (
            "SELECT id FROM businesses WHERE gateway_account = 'acct_1'",
            "businesses_by_account",
        ),
    ] {
        let lines: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {sql}"))
            .fetch_all(&mut conn)
            .await?;
        let plan = lines.join("\n");
        assert!(plan.contains(index), "{sql}\n{plan}");
    }
    conn.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_bad_url_or_an_absent_server_fails_at_connect() {
    assert!(matches!(
        PostgresStore::connect("mysql://localhost/x").await,
        Err(billing_postgres::StoreError::InvalidUrl(_))
    ));
    // Port 1 on the loopback: nothing listens there.
    assert!(matches!(
        PostgresStore::connect("postgres://postgres@127.0.0.1:1/x").await,
        Err(billing_postgres::StoreError::Unavailable(_))
    ));
}

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
