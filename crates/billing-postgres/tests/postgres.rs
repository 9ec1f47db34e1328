//! PostgreSQL-specific behaviour: the append-only trigger, concurrency across processes and
//! row locks, a commit whose backend is killed, a server that goes away, bound values whatever
//! the server's string settings, unreadable rows, and the indexes the reports rely on.
//! (Databases of earlier schemas: `migration.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use billing_core::billing::ChargeBooking;
use billing_core::error::BillingError;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::CustomerId;
use billing_core::money::{Currency, Money};
use billing_core::payment::PaymentState;
use billing_core::ports::{CustomerDirectory, Ledger, LedgerError, LedgerRead, LedgerWrite};
use billing_core::testkit::ScriptedGateway;
use billing_postgres::PostgresStore;
use common::{TestResult, acme, booking_id, charge, count, database, ledger, seed, service, usd};
use sqlx::Connection as _;

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

/// Commits of many new bookings at once, eight at a time: each booking's balance goes into its
/// shard of the outstanding totals, and two commits that took the shards in their bookings'
/// order could each hold a shard the other waited for (a deadlock, seen loading a benchmark).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commits_of_many_bookings_at_once_never_deadlock() -> TestResult {
    use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
    use billing_core::status::summarize;
    let (_server, _url, store) = database("batches").await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-0", 10_000, "Deep clean").await;
    let now = chrono::Utc::now();
    let writers = (0..8).map(|writer| {
        let store = store.clone();
        async move {
            for batch in 0..16 {
                let mut write = LedgerWrite::default();
                for n in 0..200 {
                    let account = BookingAccount::new(
                        booking_id(&format!("w{writer}-{batch}-{n:03}")),
                        CustomerId::new("cust-1")?,
                        Currency::USD,
                        vec![LineItem::new(
                            LineItemKind::Service,
                            "Deep clean",
                            usd(10_000),
                        )?],
                    )?;
                    write.summaries.push(summarize(&account, &[], now)?);
                    write.read.push((account.id.clone(), 0));
                    write.bookings.push(account);
                }
                store.commit(&acme().id, &write).await?;
            }
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        }
    });
    for result in futures::future::join_all(writers).await {
        result.map_err(|e| format!("a batch was not committed: {e}"))?;
    }
    let owed = store.outstanding_totals(&acme().id).await?;
    assert_eq!(owed.first().map(|t| t.bookings), Some(8 * 16 * 200 + 1));
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
            "SELECT booking_id FROM booking_summaries \
             WHERE business_id = 'acme' AND held_minor > 0 AND booking_id > 'b' \
             ORDER BY booking_id LIMIT 200",
            "booking_summaries_holding",
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
    // The sweep's page of bookings that hold money, as the store's sessions plan it: one
    // generic plan for every business and cursor, a range of the partial index in page order
    // (no sort, no filter on the held amount left to apply).
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(
        "PREPARE holding (text, text, bigint) AS \
         SELECT booking_id FROM booking_summaries \
         WHERE business_id = $1 AND held_minor > 0 AND booking_id > $2 \
         ORDER BY booking_id LIMIT $3",
    )
    .execute(&mut conn)
    .await?;
    let lines: Vec<String> = sqlx::query_scalar("EXPLAIN EXECUTE holding ('acme', 'b', 200)")
        .fetch_all(&mut conn)
        .await?;
    let plan = lines.join("\n");
    assert!(plan.contains("booking_summaries_holding"), "{plan}");
    assert!(!plan.contains("Sort") && !plan.contains("Filter"), "{plan}");
    assert!(
        plan.contains("$1") || plan.contains("$2"),
        "a generic plan: {plan}"
    );
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
