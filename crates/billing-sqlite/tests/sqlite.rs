//! SQLite-specific behaviour: the file and its settings, the append-only triggers, concurrency
//! across two stores on one file, group commit, in-memory databases, the query plans, and
//! errors.
#![allow(clippy::expect_used)]

mod common;

use std::sync::Arc;

use billing_core::error::BillingError;
use billing_core::ids::CustomerId;
use billing_core::money::{Currency, Money};
use billing_core::payment::PaymentState;
use billing_core::ports::{
    CustomerDirectory, Ledger, LedgerError, LedgerRead, LedgerWrite, OutstandingQuery,
    OutstandingTotal,
};
use billing_core::testkit::ScriptedGateway;
use billing_sqlite::SqliteStore;
use common::{TestResult, acme, booking_id, charge, database, seed, service, usd};
use sqlx::Connection as _;

#[tokio::test]
async fn the_file_is_created_in_wal_mode_with_read_only_readers() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await?;
    store.migrate().await?;
    store.ping().await?;
    assert!(path.exists());
    // Migrating again is a no-op.
    store.migrate().await?;
    let mut conn = store
        .read_pool()
        .expect("a file has a read pool")
        .acquire()
        .await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    assert_eq!(mode, "wal");
    let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await?;
    assert!(timeout >= 5_000, "busy timeout {timeout} ms");
    // Every write goes through the writer: the readers cannot write.
    let refused = sqlx::query("DELETE FROM businesses")
        .execute(&mut *conn)
        .await
        .expect_err("a reader writing");
    assert!(refused.to_string().contains("readonly"), "{refused}");
    Ok(())
}

/// The writer never copies the WAL into the database file itself (a commit would wait for
/// that copy and its sync); a connection of its own does, in the background.
#[tokio::test]
async fn commits_reach_the_database_file_without_the_writer_checkpointing() -> TestResult {
    let (dir, _url, store) = database().await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-1", 10_000).await;
    billing.charge(&acme(), charge("b-1", None)).await?;
    // Below SQLite's own threshold (1,000 pages), the writer would not have checkpointed yet:
    // only the background checkpoints can bring the tables into the file.
    let file = dir.path().join("billing.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(&file)?.len() < 16 * 4096 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file has {} bytes: nothing checkpointed",
            std::fs::metadata(&file)?.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn the_ledger_tables_refuse_update_and_delete() -> TestResult {
    let (_dir, url, store) = database().await;
    let billing = service(store.clone(), &ScriptedGateway::new(), "a");
    seed(&billing, "b-1", 10_000).await;
    billing.charge(&acme(), charge("b-1", None)).await?;
    // Another connection, as another program opening the file would have.
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    for statement in [
        "UPDATE entries SET seq = seq + 10",
        "DELETE FROM entries",
        "UPDATE entry_bookings SET seq = seq",
        "DELETE FROM entry_bookings",
    ] {
        let refused = sqlx::query(statement).execute(&mut conn).await;
        let error = refused.expect_err(statement).to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM entries")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(entries, 2);
    conn.close().await?;
    Ok(())
}

/// 64 attempts at once on one booking through two services, each with its own store on the
/// same file (two processes, as far as SQLite can tell: two writers): exactly the balance is
/// charged, with one gateway call per success.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_charges_from_two_stores_take_the_balance_exactly() -> TestResult {
    let (_dir, url, store) = database().await;
    let gateway = ScriptedGateway::new();
    let first = Arc::new(service(store, &gateway, "one"));
    let second = Arc::new(service(
        Arc::new(SqliteStore::connect(&url).await?),
        &gateway,
        "two",
    ));
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

/// Concurrent writes of one store share transactions: the writer commits what queued up while
/// it committed the group before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_are_committed_in_groups() -> TestResult {
    let (_dir, _url, store) = database().await;
    let before = store.writer_stats();
    let writes = (0..64).map(|n| {
        let store = store.clone();
        async move {
            let customer = billing_core::customer::Customer {
                id: CustomerId::new(format!("cust-{n:02}"))?,
                name: format!("Customer {n}"),
                email: None,
                phone: None,
                gateway_customer: None,
            };
            store.put_customer(&acme().id, &customer).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    });
    for written in futures::future::join_all(writes).await {
        written.map_err(|e| e.to_string())?;
    }
    let after = store.writer_stats();
    let (groups, jobs) = (after.groups - before.groups, after.jobs - before.jobs);
    assert_eq!(jobs, 64);
    assert!(groups < jobs, "{groups} transactions for {jobs} writes");
    let listed = store.list_customers(&acme().id, None, 100).await?;
    assert_eq!(listed.len(), 64);
    Ok(())
}

/// `sqlite::memory:` gives one database, held by the writer's connection, through which its
/// reads go too; each store on `sqlite::memory:` has its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_in_memory_database_is_shared_by_the_store_and_its_clones() -> TestResult {
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await?);
    store.migrate().await?;
    assert!(store.read_pool().is_none());
    let billing = Arc::new(service(store.clone(), &ScriptedGateway::new(), "a"));
    seed(&billing, "b-1", 10_000).await;
    billing
        .charge(&acme(), charge("b-1", Some(usd(2_500))))
        .await?;
    // Many reads at once, through clones of the store, while writes go on: each sees the data.
    let ids = [booking_id("b-1")];
    let reads = (0..16).map(|n| {
        let store = store.as_ref().clone();
        let billing = billing.clone();
        let ids = ids.clone();
        async move {
            if n % 4 == 0 {
                billing
                    .charge(&acme(), charge("b-1", Some(usd(100))))
                    .await?;
            }
            let read = store.read(&acme().id, &LedgerRead::bookings(&ids)).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(read.ledgers[0].entries.len())
        }
    });
    for read in futures::future::join_all(reads).await {
        assert!(read.map_err(|e| e.to_string())? >= 2);
    }
    // Another in-memory store is another database.
    let other = SqliteStore::connect("sqlite::memory:").await?;
    other.migrate().await?;
    let read = other.read(&acme().id, &LedgerRead::bookings(&ids)).await?;
    assert!(read.ledgers.is_empty());
    Ok(())
}

/// Stored rows that do not read back as the core's types (a body of another shape, or of a
/// format version this build does not know) are reported as corrupt.
#[tokio::test]
async fn unreadable_rows_are_corrupt() -> TestResult {
    let (_dir, url, store) = database().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::query(
        "INSERT INTO bookings (business_id, id, customer_id, currency, body) \
         VALUES ('acme', 'b-1', 'c-1', 'USD', '{\"id\": \"b-1\"}'), \
         ('acme', 'b-2', 'c-1', 'USD', '{\"v\": 99, \"id\": \"b-2\"}')",
    )
    .execute(&mut conn)
    .await?;
    sqlx::query(
        "INSERT INTO booking_summaries (business_id, booking_id, customer_id, currency, \
         price_minor, paid_minor, refunded_minor, in_flight_minor, held_minor, \
         refunds_in_flight_minor, balance_due_minor, status, pending, last_failed, as_of) \
         VALUES ('acme', 'b-1', 'c-1', 'USD', 1, 0, 0, 0, 0, 0, 1, 'not_charged', 0, 0, \
         'yesterday')",
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    for booking in ["b-1", "b-2"] {
        let ids = [booking_id(booking)];
        let read = store.read(&acme().id, &LedgerRead::bookings(&ids)).await;
        assert!(matches!(read, Err(LedgerError::Corrupt(_))), "{read:?}");
    }
    let listed = store.list_summaries(&acme().id, &Default::default()).await;
    assert!(matches!(listed, Err(LedgerError::Corrupt(_))), "{listed:?}");
    Ok(())
}

/// The lists and reports are served by their indexes: no statement scans a table.
#[tokio::test]
async fn reports_and_lists_use_their_indexes() -> TestResult {
    let (_dir, url, _store) = database().await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    for (sql, index) in [
        (
            // A page of the outstanding report after a cursor, as the store asks for it.
            "SELECT customer_id, currency, SUM(balance_due_minor), COUNT(*) \
             FROM booking_summaries WHERE business_id = 'acme' AND balance_due_minor > 0 \
             AND (customer_id, currency) > ('c', 'USD') \
             GROUP BY customer_id, currency ORDER BY customer_id, currency LIMIT 10",
            "booking_summaries_outstanding",
        ),
        (
            "SELECT customer_id, currency, SUM(balance_due_minor), COUNT(*) \
             FROM booking_summaries WHERE business_id = 'acme' AND balance_due_minor > 0 \
             AND customer_id = 'c' \
             GROUP BY customer_id, currency ORDER BY customer_id, currency LIMIT 10",
            "booking_summaries_outstanding",
        ),
        (
            "SELECT currency, balance_due_minor, bookings FROM outstanding_totals \
             WHERE business_id = 'acme' AND balance_due_minor > 0 ORDER BY currency",
            "PRIMARY KEY",
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
            // A page of the sweep's bookings that hold money.
            "SELECT booking_id FROM booking_summaries \
             WHERE business_id = 'acme' AND held_minor > 0 AND booking_id > 'b' \
             ORDER BY booking_id LIMIT 200",
            "booking_summaries_holding",
        ),
        (
            "SELECT id, name, gateway_account, email FROM businesses \
             WHERE gateway_account = 'acct_1' ORDER BY id LIMIT 1",
            "businesses_by_gateway_account",
        ),
        (
            // A commit's version check.
            "SELECT r.value ->> 0, r.value ->> 1, coalesce(b.version, 0) \
             FROM json_each('[[\"b-1\", 1]]') r \
             LEFT JOIN bookings b ON b.business_id = 'acme' AND b.id = r.value ->> 0 \
             WHERE coalesce(b.version, 0) <> r.value ->> 1 LIMIT 1",
            "PRIMARY KEY",
        ),
        (
            // A read of bookings with their entries.
            "SELECT b.id, b.version, b.body, e.body FROM bookings b \
             LEFT JOIN entry_bookings l ON l.business_id = b.business_id AND l.booking_id = b.id \
             LEFT JOIN entries e ON e.business_id = l.business_id \
                  AND e.payment_id = l.payment_id AND e.seq = l.seq \
             WHERE b.business_id = 'acme' AND b.id IN (SELECT value FROM json_each('[\"b-1\"]')) \
             ORDER BY b.id, e.position",
            "sqlite_autoindex_entries_1",
        ),
    ] {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(&mut conn)
                .await?;
        let plan = rows
            .into_iter()
            .map(|row| row.3)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(plan.contains(index), "{sql}\n{plan}");
        let scans = plan
            .lines()
            .filter(|step| step.starts_with("SCAN") && !step.contains("VIRTUAL TABLE"))
            .count();
        assert_eq!(scans, 0, "{sql}\n{plan}");
        // Pages come in index order: nothing is read beyond the page to sort it.
        if !sql.contains("json_each") {
            assert!(!plan.contains("TEMP B-TREE"), "{sql}\n{plan}");
        }
    }
    conn.close().await?;
    Ok(())
}

/// The totals table follows every summary written, through its triggers: what the store
/// answers is what the summaries add up to.
#[tokio::test]
async fn outstanding_totals_follow_the_summaries() -> TestResult {
    let (_dir, url, store) = database().await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-1", 10_000).await;
    seed(&billing, "b-2", 4_000).await;
    billing
        .charge(&acme(), charge("b-1", Some(usd(2_500))))
        .await?;
    billing.charge(&acme(), charge("b-2", None)).await?;
    let totals = store.outstanding_totals(&acme().id).await?;
    assert_eq!(
        totals,
        vec![OutstandingTotal {
            balance_due: usd(7_500),
            bookings: 1
        }]
    );
    let rows = store
        .outstanding(&acme().id, &OutstandingQuery::default())
        .await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].balance_due, usd(7_500));
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let (sum, owing): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(SUM(balance_due_minor), 0), COUNT(*) FROM booking_summaries \
         WHERE business_id = 'acme' AND balance_due_minor > 0",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!((sum, owing), (7_500, 1));
    // A summary deleted by hand takes its share with it.
    sqlx::query("DELETE FROM booking_summaries WHERE booking_id = 'b-1'")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    assert!(store.outstanding_totals(&acme().id).await?.is_empty());
    Ok(())
}

/// A closed store reports itself unavailable, with typed errors, for reads and writes.
#[tokio::test]
async fn a_closed_store_is_unavailable() -> TestResult {
    let (_dir, _url, store) = database().await;
    let clone = store.as_ref().clone();
    store.close().await;
    assert!(store.ping().await.is_err());
    let ids = [booking_id("b-1")];
    assert!(matches!(
        store.read(&acme().id, &LedgerRead::bookings(&ids)).await,
        Err(LedgerError::Unavailable(_))
    ));
    let write = LedgerWrite {
        read: vec![(booking_id("b-1"), 0)],
        ..LedgerWrite::default()
    };
    assert!(matches!(
        clone.commit(&acme().id, &write).await,
        Err(LedgerError::Unavailable(_))
    ));
    assert!(
        store
            .customer(&acme().id, &CustomerId::new("c")?)
            .await
            .is_err()
    );
    assert!(store.migrate().await.is_err());
    // Closing again is harmless.
    store.close().await;
    Ok(())
}

/// An in-memory store closed is unavailable too (its reads go through the writer).
#[tokio::test]
async fn a_closed_in_memory_store_is_unavailable() -> TestResult {
    let store = SqliteStore::connect("sqlite::memory:").await?;
    store.migrate().await?;
    store.close().await;
    let ids = [booking_id("b-1")];
    assert!(matches!(
        store.read(&acme().id, &LedgerRead::bookings(&ids)).await,
        Err(LedgerError::Unavailable(_))
    ));
    assert!(store.ping().await.is_err());
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
