//! SQLite-specific behaviour: the file and its settings, the append-only triggers, concurrency
//! across two pools on one file, in-memory databases, and errors.

use std::sync::Arc;

use billing_core::billing::{Billing, ChargeBooking, PaymentSource};
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::{Business, Customer};
use billing_core::error::BillingError;
use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::payment::PaymentState;
use billing_core::ports::{CustomerDirectory, Ledger, LedgerError, LedgerTx};
use billing_core::testkit::{FixedClock, ScriptedGateway, SequentialIds};
use billing_sqlite::SqliteStore;
use sqlx::Connection as _;

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Service = Billing<SqliteStore, ScriptedGateway>;

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

/// A migrated database file in a fresh temporary directory.
async fn database() -> (tempfile::TempDir, String, SqliteStore) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (dir, url, store)
}

fn service(store: SqliteStore, gateway: &ScriptedGateway, prefix: &str) -> Service {
    Billing::new(
        store,
        gateway.clone(),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix(prefix)),
    )
}

/// A customer with a card on file and a booking of `price_minor` cents.
async fn seed(billing: &Service, booking: &str, price_minor: i64) {
    let customer = CustomerId::new("cust-1").expect("customer id");
    billing
        .put_customer(
            &acme(),
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
        .attach_card(&acme(), &customer, "pm_card_visa")
        .await
        .expect("card");
    let account = BookingAccount::new(
        booking_id(booking),
        customer,
        Currency::USD,
        vec![LineItem::new(LineItemKind::Service, "Deep clean", usd(price_minor)).expect("line")],
    )
    .expect("booking");
    billing
        .put_booking(&acme(), account)
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

#[tokio::test]
async fn the_file_is_created_in_wal_mode() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await?;
    store.migrate().await?;
    store.ping().await?;
    assert!(path.exists());
    // Migrating again is a no-op.
    store.migrate().await?;
    let mut conn = store.pool().acquire().await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    assert_eq!(mode, "wal");
    let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await?;
    assert!(timeout >= 5_000, "busy timeout {timeout} ms");
    Ok(())
}

#[tokio::test]
async fn the_ledger_tables_refuse_update_and_delete() -> TestResult {
    let (_dir, _url, store) = database().await;
    let billing = service(store.clone(), &ScriptedGateway::new(), "a");
    seed(&billing, "b-1", 10_000).await;
    billing.charge(&acme(), charge("b-1", None)).await?;
    let mut conn = store.pool().acquire().await?;
    for statement in [
        "UPDATE entries SET seq = seq + 10",
        "DELETE FROM entries",
        "UPDATE entry_bookings SET seq = seq",
        "DELETE FROM entry_bookings",
    ] {
        let refused = sqlx::query(statement).execute(&mut *conn).await;
        let error = refused.expect_err(statement).to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM entries")
        .fetch_one(&mut *conn)
        .await?;
    assert_eq!(entries, 2);
    Ok(())
}

/// 64 attempts at once on one booking through two services, each with its own pool on the same
/// file (two processes, as far as SQLite can tell): exactly the balance is charged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_charges_from_two_pools_take_the_balance_exactly() -> TestResult {
    let (_dir, url, store) = database().await;
    let gateway = ScriptedGateway::new();
    let first = Arc::new(service(store, &gateway, "one"));
    let second = Arc::new(service(SqliteStore::connect(&url).await?, &gateway, "two"));
    seed(&first, "b-1", 10_000).await;

    let attempts = (0..64).map(|n| {
        let billing = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        async move { billing.charge(&acme(), charge("b-1", Some(usd(500)))).await }
    });
    let mut succeeded = 0;
    for result in futures::future::join_all(attempts).await {
        match result {
            Ok(receipt) => {
                assert_eq!(receipt.payment.state, PaymentState::Succeeded);
                succeeded += 1;
            }
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
    assert_eq!(Money::sum(Currency::USD, paid.iter())?, usd(10_000));
    assert_eq!(succeeded, 20);
    assert_eq!(gateway.count("charge"), 20, "one gateway call per success");
    assert_eq!(view.summary.balance.balance_due, usd(0));
    Ok(())
}

/// `sqlite::memory:` gives one database shared by every connection of the store's pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_in_memory_database_is_shared_by_the_pool() -> TestResult {
    let store = SqliteStore::connect("sqlite::memory:").await?;
    store.migrate().await?;
    let billing = Arc::new(service(store.clone(), &ScriptedGateway::new(), "a"));
    seed(&billing, "b-1", 10_000).await;
    billing
        .charge(&acme(), charge("b-1", Some(usd(2_500))))
        .await?;
    // Many reads at once take several connections of the pool: each sees the data.
    let reads = (0..16).map(|_| {
        let store = store.clone();
        async move { store.load(&acme().id, &[booking_id("b-1")]).await }
    });
    for read in futures::future::join_all(reads).await {
        assert_eq!(read?[0].entries.len(), 2);
    }
    // Another in-memory store is another database.
    let other = SqliteStore::connect("sqlite::memory:").await?;
    other.migrate().await?;
    assert!(
        other
            .load(&acme().id, &[booking_id("b-1")])
            .await?
            .is_empty()
    );
    Ok(())
}

/// An append that collides is refused at once and writes nothing, and the transaction goes on:
/// its other writes still commit (as with the in-memory store).
#[tokio::test]
async fn a_conflicting_append_leaves_the_transaction_usable() -> TestResult {
    let (_dir, _url, store) = database().await;
    let billing = service(store.clone(), &ScriptedGateway::new(), "a");
    seed(&billing, "b-1", 10_000).await;
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
    // A new entry first, then one that exists: the whole append is refused.
    let mut fresh = ledger.entries[0].clone();
    fresh.payment = billing_core::ids::PaymentId::new("pay_new")?;
    let appended = tx.append(&[fresh, ledger.entries[0].clone()], &[]).await;
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

/// Stored JSON that does not parse as the core's types is reported as corrupt.
#[tokio::test]
async fn unreadable_rows_are_corrupt() -> TestResult {
    let (_dir, _url, store) = database().await;
    let mut conn = store.pool().acquire().await?;
    sqlx::query(
        "INSERT INTO bookings (business_id, id, customer_id, currency, body) \
         VALUES ('acme', 'b-1', 'c-1', 'USD', '{\"id\": \"b-1\"}')",
    )
    .execute(&mut *conn)
    .await?;
    drop(conn);
    let loaded = store.load(&acme().id, &[booking_id("b-1")]).await;
    assert!(matches!(loaded, Err(LedgerError::Corrupt(_))), "{loaded:?}");
    Ok(())
}

/// The outstanding report and the list filters are served by their indexes.
#[tokio::test]
async fn reports_and_lists_use_their_indexes() -> TestResult {
    let (_dir, url, _store) = database().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    for (sql, index) in [
        (
            "SELECT customer_id, currency, SUM(balance_due_minor), COUNT(*) \
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
    ] {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(&mut conn)
                .await?;
        let plan: Vec<String> = rows.into_iter().map(|row| row.3).collect();
        let plan = plan.join("\n");
        assert!(plan.contains(index), "{sql}\n{plan}");
        assert!(!plan.contains("SCAN booking_summaries\n"), "{plan}");
    }
    conn.close().await?;
    Ok(())
}

/// A closed store reports itself unavailable, with typed errors.
#[tokio::test]
async fn a_closed_store_is_unavailable() -> TestResult {
    let (_dir, _url, store) = database().await;
    store.close().await;
    assert!(store.ping().await.is_err());
    assert!(matches!(
        store.load(&acme().id, &[booking_id("b-1")]).await,
        Err(LedgerError::Unavailable(_))
    ));
    assert!(matches!(
        store.begin(&acme().id).await,
        Err(LedgerError::Unavailable(_))
    ));
    assert!(
        store
            .customer(&acme().id, &CustomerId::new("c")?)
            .await
            .is_err()
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_url_fails_at_connect() {
    assert!(
        SqliteStore::connect("postgres://localhost/x")
            .await
            .is_err()
    );
    // A directory that does not exist: the file cannot be created.
    assert!(
        SqliteStore::connect("sqlite:///nonexistent-dir-for-billing/x.db")
            .await
            .is_err()
    );
}
