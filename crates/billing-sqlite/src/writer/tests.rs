//! The writer's groups: what one job's refusal, a failed COMMIT and a dropped caller do to the
//! others. The writer is held by a first job while the jobs under test queue up behind it, so
//! that they are taken as one group.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use billing_core::billing::{Billing, ChargeBooking, PaymentSource};
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::Customer;
use billing_core::idempotency::{Fingerprint, IdempotencyKey};
use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::ports::{
    Committed, CustomerDirectory, IdempotencyRecord, Ledger, LedgerError, LedgerRead, LedgerWrite,
};
use billing_core::testkit::{FixedClock, ScriptedGateway, SequentialIds, SequentialSecrets};
use tokio::sync::oneshot;

use super::Unavailable;
use crate::SqliteStore;

fn acme() -> BusinessId {
    BusinessId::new("acme").unwrap()
}

fn booking(id: &str) -> BookingAccount {
    BookingAccount::new(
        BookingId::new(id).unwrap(),
        CustomerId::new("cust-1").unwrap(),
        Currency::USD,
        vec![
            LineItem::new(
                LineItemKind::Service,
                "Deep clean",
                Money::from_minor(10_000, Currency::USD),
            )
            .unwrap(),
        ],
    )
    .unwrap()
}

/// A migrated store on a fresh file.
async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    (dir, store)
}

/// Holds the writer until the returned sender is used (or dropped).
async fn hold(store: &SqliteStore) -> oneshot::Sender<()> {
    let (release, held) = oneshot::channel::<()>();
    let (started, running) = oneshot::channel::<()>();
    let writer = store.clone();
    tokio::spawn(async move {
        writer
            .writer()
            .alone(move |_conn| {
                Box::pin(async move {
                    let _ = started.send(());
                    let _ = held.await;
                })
            })
            .await
    });
    running.await.expect("the holding job runs");
    release
}

/// Waits until `n` jobs are queued behind the holding one.
async fn queued(store: &SqliteStore, n: usize) {
    for _ in 0..500 {
        if store.writer().queued() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{} jobs queued, not {n}", store.writer().queued());
}

/// A new booking, decided from its absence (version 0).
fn create(id: &str) -> LedgerWrite {
    LedgerWrite {
        read: vec![(BookingId::new(id).unwrap(), 0)],
        bookings: vec![booking(id)],
        ..LedgerWrite::default()
    }
}

async fn version(store: &SqliteStore, id: &str) -> Option<u64> {
    let ids = [BookingId::new(id).unwrap()];
    let read = store
        .read(&acme(), &LedgerRead::bookings(&ids))
        .await
        .unwrap();
    read.ledgers.first().map(|l| l.version)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_where_one_job_conflicts_commits_the_others() {
    let (_dir, store) = store().await;
    // A booking with a charge: an entry that exists, for the refused job to collide with.
    let billing = Billing::new(
        Arc::new(store.clone()),
        Arc::new(ScriptedGateway::new()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::default()),
        Arc::new(SequentialSecrets::default()),
    );
    let business = billing_core::customer::Business {
        id: acme(),
        name: "Acme".into(),
        gateway_account: None,
        email: None,
    };
    let customer = CustomerId::new("cust-1").unwrap();
    billing
        .put_customer(
            &business,
            Customer {
                id: customer.clone(),
                name: "Ada".into(),
                email: None,
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .unwrap();
    billing
        .attach_card(&business, &customer, "pm_card_visa")
        .await
        .unwrap();
    billing
        .put_booking(&business, booking("b-1"))
        .await
        .unwrap();
    billing
        .charge(
            &business,
            ChargeBooking {
                booking: BookingId::new("b-1").unwrap(),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
                allow_duplicate: true,
            },
        )
        .await
        .unwrap();
    let ids = [BookingId::new("b-1").unwrap()];
    let before = store
        .read(&acme(), &LedgerRead::bookings(&ids))
        .await
        .unwrap()
        .ledgers
        .remove(0);

    // The refused job writes a key claim and the booking before its entry collides: all of
    // it must be undone, and nothing of the others.
    let mut renamed = before.account.clone();
    renamed.line_items.clear();
    let refused = LedgerWrite {
        read: vec![(BookingId::new("b-1").unwrap(), before.version)],
        claim: Some(IdempotencyRecord {
            key: IdempotencyKey::new("k-refused").unwrap(),
            fingerprint: Fingerprint("f".into()),
            payment: before.entries[0].payment.clone(),
            completed: false,
            created_at: before.entries[0].at,
            first_answer: None,
        }),
        bookings: vec![renamed],
        entries: vec![before.entries[0].clone()],
        ..LedgerWrite::default()
    };
    let stats = store.writer_stats();
    let release = hold(&store).await;
    let mut jobs = Vec::new();
    for (n, write) in [create("b-a"), refused, create("b-c")]
        .into_iter()
        .enumerate()
    {
        let handle = store.clone();
        jobs.push(tokio::spawn(
            async move { handle.commit(&acme(), &write).await },
        ));
        queued(&store, n + 1).await;
    }
    release.send(()).unwrap();
    let mut results = Vec::new();
    for job in jobs {
        results.push(job.await.unwrap());
    }
    assert_eq!(results[0], Ok(Committed::Written));
    assert!(
        matches!(&results[1], Err(LedgerError::Conflict(m)) if m.contains("exists")),
        "{:?}",
        results[1]
    );
    assert_eq!(results[2], Ok(Committed::Written));
    let after = store.writer_stats();
    assert_eq!(after.groups - stats.groups, 1, "one transaction");
    assert_eq!(after.jobs - stats.jobs, 3);

    assert_eq!(version(&store, "b-a").await, Some(1));
    assert_eq!(version(&store, "b-c").await, Some(1));
    let unchanged = store
        .read(
            &acme(),
            &LedgerRead::bookings(&ids).with_key(Some(&IdempotencyKey::new("k-refused").unwrap())),
        )
        .await
        .unwrap();
    assert_eq!(unchanged.ledgers, vec![before]);
    assert_eq!(unchanged.key, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_commit_fails_every_job_of_its_group() {
    let (_dir, store) = store().await;
    // A foreign key checked at COMMIT only: a group with a job breaking it cannot commit.
    store
        .writer()
        .alone(|conn| {
            Box::pin(async move {
                sqlx::query(
                    "CREATE TABLE parents (id INTEGER PRIMARY KEY); \
                     CREATE TABLE children (parent INTEGER \
                         REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);",
                )
                .execute(conn)
                .await
                .map(drop)
            })
        })
        .await
        .unwrap()
        .unwrap();
    let insert = |sql: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .writer()
                .write(move |conn| {
                    Box::pin(async move { sqlx::query(sql).execute(conn).await.map(drop) })
                })
                .await
        })
    };
    let release = hold(&store).await;
    let parent = insert("INSERT INTO parents (id) VALUES (1)");
    queued(&store, 1).await;
    let orphan = insert("INSERT INTO children (parent) VALUES (2)");
    queued(&store, 2).await;
    release.send(()).unwrap();
    for job in [parent, orphan] {
        let answer = job.await.unwrap();
        assert!(
            matches!(&answer, Err(Unavailable(m)) if m.contains("FOREIGN KEY")),
            "{answer:?}"
        );
    }
    // Nothing of the group was written, and the writer goes on.
    let count = |store: SqliteStore| async move {
        store
            .writer()
            .alone(|conn| {
                Box::pin(async move {
                    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM parents")
                        .fetch_one(conn)
                        .await
                })
            })
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(count(store.clone()).await, 0);
    insert("INSERT INTO parents (id) VALUES (1)")
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(count(store.clone()).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_runs_to_its_end_when_its_caller_is_dropped() {
    let (_dir, store) = store().await;
    let customer = Customer {
        id: CustomerId::new("cust-1").unwrap(),
        name: "Ada".into(),
        email: None,
        phone: None,
        gateway_customer: None,
    };
    store.put_customer(&acme(), &customer).await.unwrap();
    let release = hold(&store).await;
    let caller = {
        let store = store.clone();
        tokio::spawn(async move { store.commit(&acme(), &create("b-1")).await })
    };
    queued(&store, 1).await;
    // The request is cancelled while its commit waits for the writer.
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    release.send(()).unwrap();
    // Whatever comes next is served after it: the commit landed whole.
    store.ping().await.unwrap();
    assert_eq!(version(&store, "b-1").await, Some(1));
}

#[tokio::test]
async fn jobs_sent_after_close_are_refused() {
    let (_dir, store) = store().await;
    store.close().await;
    let answer = store
        .writer()
        .write(|conn| {
            Box::pin(async move { sqlx::query("SELECT 1").execute(conn).await.map(drop) })
        })
        .await;
    assert!(matches!(answer, Err(Unavailable(m)) if m.contains("closed")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_that_panics_is_undone_and_the_writer_goes_on() {
    let (_dir, store) = store().await;
    let release = hold(&store).await;
    let first = {
        let store = store.clone();
        tokio::spawn(async move { store.commit(&acme(), &create("b-1")).await })
    };
    queued(&store, 1).await;
    let panicking = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .writer()
                .write(|conn| {
                    Box::pin(async move {
                        sqlx::query("DELETE FROM bookings").execute(conn).await?;
                        if true {
                            panic!("a bug in a job");
                        }
                        Ok::<(), sqlx::Error>(())
                    })
                })
                .await
        })
    };
    queued(&store, 2).await;
    let last = {
        let store = store.clone();
        tokio::spawn(async move { store.commit(&acme(), &create("b-2")).await })
    };
    queued(&store, 3).await;
    release.send(()).unwrap();
    assert_eq!(first.await.unwrap(), Ok(Committed::Written));
    assert!(matches!(panicking.await.unwrap(), Err(Unavailable(_))));
    assert_eq!(last.await.unwrap(), Ok(Committed::Written));
    assert_eq!(
        version(&store, "b-1").await,
        Some(1),
        "its delete was undone"
    );
    assert_eq!(version(&store, "b-2").await, Some(1));
    store.ping().await.unwrap();
}
