//! The per-day payment totals of payments written before they were kept (migration 0012) are
//! counted when the store migrates, and then follow every commit.
#![allow(clippy::expect_used)]

mod common;

use std::sync::Arc;

use billing_core::billing::{RecordCollection, RefundPayment};
use billing_core::payment::{CollectionMethod, PaymentDayTotals};
use billing_core::ports::{Ledger, PaymentsQuery};
use billing_core::testkit::{Scripted, ScriptedGateway};
use billing_sqlite::SqliteStore;
use chrono::{Duration, NaiveDate};
use common::{TestResult, acme, charge, database, seed, service, usd};
use sqlx::Connection as _;

#[tokio::test]
async fn payments_written_before_the_totals_are_counted_when_migrating() -> TestResult {
    let (_dir, url, store) = database().await;
    let gateway = ScriptedGateway::new();
    let billing = service(store.clone(), &gateway, "a");
    seed(&billing, "b-1", 50_000).await;
    let card = billing
        .charge(&acme(), charge("b-1", Some(usd(10_000))))
        .await?;
    gateway.script(Scripted::Decline("insufficient_funds".into()));
    billing
        .charge(&acme(), charge("b-1", Some(usd(1_000))))
        .await?;
    billing
        .record_collection(
            &acme(),
            RecordCollection {
                booking: common::booking_id("b-1"),
                amount: Some(usd(2_000).into()),
                method: CollectionMethod::Check,
                reference: None,
                idempotency_key: None,
                allow_duplicate: true,
            },
        )
        .await?;
    billing
        .refund(
            &acme(),
            RefundPayment {
                payment: card.payment.id.clone(),
                amount: Some(usd(2_500).into()),
                reason: None,
                idempotency_key: None,
            },
        )
        .await?;
    let day = NaiveDate::from_ymd_opt(2026, 1, 15).expect("a day");
    let next = day.succ_opt().expect("a day");
    let kept = store.payment_day_totals(&acme().id, day, next).await?;
    let from = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let payments = store
        .payments_created(
            &acme().id,
            &PaymentsQuery::between(from, from + Duration::days(1)),
        )
        .await?;
    let tally = PaymentDayTotals::of(&payments)?;
    assert_eq!(kept, tally);
    assert!(!tally.is_empty());
    store.close().await;

    // As a database of schema 0011 would be: the same payments, no totals, the business left
    // to count (what migration 0012 does); and a wrong total, which counting replaces.
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::raw_sql(
        "UPDATE payment_day_totals SET charged_minor = charged_minor + 99; \
         INSERT INTO payment_day_totals_to_fill (business_id) VALUES ('acme');",
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    let store = Arc::new(SqliteStore::connect(&url).await?);
    store.migrate().await?;
    assert_eq!(
        store.payment_day_totals(&acme().id, day, next).await?,
        tally
    );
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM payment_day_totals_to_fill")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(left, 0, "counted once");
    conn.close().await?;
    Ok(())
}
