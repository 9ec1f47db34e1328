//! PostgreSQL-specific behaviour: the append-only trigger, concurrency across processes, a
//! server that goes away, literals with awkward text, and the indexes the reports rely on.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use billing_core::billing::{Billing, ChargeBooking, PaymentSource};
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::{Business, Customer};
use billing_core::error::BillingError;
use billing_core::idempotency::{Fingerprint, IdempotencyKey};
use billing_core::ids::{BookingId, BusinessId, CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::PaymentState;
use billing_core::ports::{
    Clock, CustomerDirectory, IdempotencyRecord, Ledger, LedgerError, LedgerTx, StoredResponse,
};
use billing_core::testkit::{FixedClock, ScriptedGateway, SequentialIds};
use billing_postgres::PostgresStore;
use billing_testservers::TestPostgres;
use sqlx::Connection as _;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Service = Billing<PostgresStore, ScriptedGateway>;

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

fn service(store: PostgresStore, gateway: &ScriptedGateway, prefix: &str) -> Service {
    Billing::new(
        store,
        gateway.clone(),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix(prefix)),
    )
}

/// A customer with a card on file and a booking of `price_minor` cents with `label`.
async fn seed(billing: &Service, booking: &str, price_minor: i64, label: &str) {
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
    billing
        .attach_card(&business, &customer, "pm_card_visa")
        .await
        .expect("card");
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
        amount,
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

/// A transaction whose connection dies before it commits (its backend is terminated, as when
/// the server crashes) reports the store unavailable and writes nothing.
#[tokio::test]
async fn a_transaction_cut_off_before_commit_writes_nothing() -> TestResult {
    let (_server, url, store) = database("cut_off").await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-1", 10_000, "Deep clean").await;
    let before = store.load(&acme().id, &[booking_id("b-1")]).await?;

    let mut tx = store.begin(&acme().id).await?;
    let mut locked = tx.lock(&[booking_id("b-1")]).await?;
    let mut account = locked.remove(0).account;
    account.line_items.clear();
    tx.put_booking(&account).await?;
    let record = IdempotencyRecord {
        key: IdempotencyKey::new("cut-off")?,
        fingerprint: Fingerprint("f".into()),
        payment: PaymentId::new("pay_x")?,
        completed: false,
        created_at: chrono::DateTime::UNIX_EPOCH,
        response: None,
    };
    assert_eq!(tx.claim(&record).await?, None);

    let mut admin = sqlx::PgConnection::connect(&url).await?;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND state = 'idle in transaction'",
    )
    .fetch_all(&mut admin)
    .await?;
    assert_eq!(killed, vec![true]);
    admin.close().await?;

    let committed = tx.commit().await;
    assert!(
        matches!(committed, Err(LedgerError::Unavailable(_))),
        "{committed:?}"
    );
    assert_eq!(store.load(&acme().id, &[booking_id("b-1")]).await?, before);
    assert_eq!(
        store
            .idempotency(&acme().id, &IdempotencyKey::new("cut-off")?)
            .await?,
        None
    );
    // The pool replaced the dead connection: the store works on.
    billing.charge(&acme(), charge("b-1", None)).await?;
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

/// The server stops in the middle of a transaction: commit and every other call report the
/// store unavailable (typed, no panic), and once the server is back nothing of the
/// transaction is there.
#[tokio::test]
async fn a_stopped_server_is_unavailable_and_keeps_no_partial_write() -> TestResult {
    // Starting and stopping block for a moment; nothing else runs on this test's runtime.
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
    let before = store.load(&acme().id, &[booking_id("b-1")]).await?;

    // A charge's second half, as the core writes it, cut off by the stop.
    let mut tx = store.begin(&acme().id).await?;
    let locked = tx.lock(&[booking_id("b-1")]).await?;
    let mut account = locked[0].account.clone();
    account.line_items.clear();
    tx.put_booking(&account).await?;
    cluster.stop()?;

    let committed = tx.commit().await;
    assert!(
        matches!(committed, Err(LedgerError::Unavailable(_))),
        "{committed:?}"
    );
    let loaded = store.load(&acme().id, &[booking_id("b-1")]).await;
    assert!(
        matches!(loaded, Err(LedgerError::Unavailable(_))),
        "{loaded:?}"
    );
    // `begin` only takes a pooled connection; the first statement finds the server gone.
    let locked = async {
        let mut tx = store.begin(&acme().id).await?;
        tx.lock(&[booking_id("b-1")]).await
    }
    .await;
    assert!(
        matches!(locked, Err(LedgerError::Unavailable(_))),
        "{locked:?}"
    );
    let customer = store
        .customer(&acme().id, &CustomerId::new("cust-1")?)
        .await;
    assert!(customer.is_err(), "{customer:?}");
    let charged = billing.charge(&acme(), charge("b-1", None)).await;
    assert!(
        matches!(
            charged,
            Err(BillingError::Ledger(LedgerError::Unavailable(_)))
        ),
        "{charged:?}"
    );
    assert!(store.ping().await.is_err());

    let admin_url = cluster.restart()?;
    let url = billing_testservers::postgres::with_database(&admin_url, "billing")?;
    let fresh = PostgresStore::connect(&url).await?;
    assert_eq!(fresh.load(&acme().id, &[booking_id("b-1")]).await?, before);
    assert_eq!(count(&url, "entries").await, 2);
    cluster.stop()?;
    Ok(())
}

/// An append that collides is refused at once and writes nothing, and the transaction goes on:
/// its other writes still commit (as with the in-memory store).
#[tokio::test]
async fn a_conflicting_append_leaves_the_transaction_usable() -> TestResult {
    let (_server, _url, store) = database("conflict").await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-1", 10_000, "Deep clean").await;
    billing
        .charge(&acme(), charge("b-1", Some(usd(1_000))))
        .await?;
    let ledger = store
        .load(&acme().id, &[booking_id("b-1")])
        .await?
        .remove(0);

    let mut tx = store.begin(&acme().id).await?;
    tx.lock(&[booking_id("b-1")]).await?;
    let mut raised = ledger.account.clone();
    raised
        .line_items
        .push(LineItem::new(LineItemKind::Extra, "Windows", usd(5_000))?);
    tx.put_booking(&raised).await?;
    let appended = tx.append(&ledger.entries[..1], &[]).await;
    assert!(
        matches!(appended, Err(LedgerError::Conflict(_))),
        "{appended:?}"
    );
    tx.commit().await?;

    let after = store
        .load(&acme().id, &[booking_id("b-1")])
        .await?
        .remove(0);
    assert_eq!(after.account, raised);
    assert_eq!(after.entries, ledger.entries);
    Ok(())
}

/// A transaction dropped while it holds a booking's lock gives the lock back (the pool rolls it
/// back in the background), and its connection serves again.
#[tokio::test]
async fn a_dropped_transaction_releases_its_locks() -> TestResult {
    let (_server, url, _store) = database("dropped_locks").await;
    // One connection: the next transaction must get the dropped one's connection back.
    let store = PostgresStore::connect_with_pool_size(&url, 1).await?;
    for _ in 0..3 {
        let mut tx = store.begin(&acme().id).await?;
        tx.lock(&[booking_id("b-1"), booking_id("b-2")]).await?;
        drop(tx);
    }
    // And from another pool (another process): the locks are free.
    let other = PostgresStore::connect(&url).await?;
    let mut tx = other.begin(&acme().id).await?;
    let locked = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tx.lock(&[booking_id("b-2")]),
    )
    .await;
    assert!(matches!(locked, Ok(Ok(_))), "{locked:?}");
    Ok(())
}

/// Text that the transactions inline in their statements (JSON bodies, idempotency keys,
/// fingerprints) comes back exactly, quotes, backslashes and all.
#[tokio::test]
async fn awkward_text_round_trips() -> TestResult {
    let (_server, _url, store) = database("awkward").await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    let label = r#"O'Brien's "deep" clean \ 'quoted' \' \\ ''; DROP TABLE entries; -- été ☃"#;
    seed(&billing, "b-1", 10_000, label).await;
    let loaded = store
        .load(&acme().id, &[booking_id("b-1")])
        .await?
        .remove(0);
    assert_eq!(loaded.account.line_items[0].label, label);

    let key = IdempotencyKey::new(r#"k'\"';--"#)?;
    let record = IdempotencyRecord {
        key: key.clone(),
        fingerprint: Fingerprint(label.to_owned()),
        payment: PaymentId::new("pay_1")?,
        completed: false,
        created_at: Clock::now(&FixedClock::default()),
        response: None,
    };
    let mut tx = store.begin(&acme().id).await?;
    assert_eq!(tx.claim(&record).await?, None);
    tx.complete(&key).await?;
    tx.commit().await?;
    let stored = store.idempotency(&acme().id, &key).await?.ok_or("stored")?;
    assert_eq!(
        stored,
        IdempotencyRecord {
            completed: true,
            ..record.clone()
        }
    );
    // The first response, as awkward as the label, is kept as given.
    let response = StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        body: format!("{{\"label\":{}}}\n", serde_json::to_string(label)?),
    };
    assert!(store.save_response(&acme().id, &key, &response).await?);
    assert!(!store.save_response(&acme().id, &key, &response).await?);
    let stored = store.idempotency(&acme().id, &key).await?.ok_or("stored")?;
    assert_eq!(stored.response.as_ref(), Some(&response));
    let mut tx = store.begin(&acme().id).await?;
    assert_eq!(
        tx.claim(&record).await?,
        Some(IdempotencyRecord {
            completed: true,
            response: Some(response),
            ..record.clone()
        })
    );
    tx.release(&key).await?;
    tx.commit().await?;
    assert_eq!(store.idempotency(&acme().id, &key).await?, None);
    Ok(())
}

/// Stored JSON that does not parse as the core's types is reported as corrupt.
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
    let loaded = store.load(&acme().id, &[booking_id("b-1")]).await;
    assert!(matches!(loaded, Err(LedgerError::Corrupt(_))), "{loaded:?}");
    let mut tx = store.begin(&acme().id).await?;
    let locked = tx.lock(&[booking_id("b-1")]).await;
    assert!(matches!(locked, Err(LedgerError::Corrupt(_))), "{locked:?}");
    Ok(())
}

/// The outstanding report and the list filters are served by their indexes (the planner is
/// told to avoid sequential scans, which it prefers on tables this small).
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
             GROUP BY customer_id, currency ORDER BY customer_id, currency",
            "booking_summaries_outstanding",
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
