//! What the PostgreSQL tests share: databases on the test cluster, a service over a store,
//! seeding, and reading back.
#![allow(dead_code, clippy::expect_used)]

use std::sync::Arc;

use billing_core::billing::{Billing, ChargeBooking, PaymentSource};
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::{Business, Customer};
use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::ports::{Ledger, LedgerRead};
use billing_core::testkit::{FixedClock, ScriptedGateway, SequentialIds, SequentialSecrets};
use billing_postgres::PostgresStore;
use billing_testservers::TestPostgres;
use sqlx::Connection as _;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A fresh database on the shared test cluster, with the schema.
pub async fn database(prefix: &'static str) -> (TestPostgres, String, PostgresStore) {
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

pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

pub fn booking_id(id: &str) -> BookingId {
    BookingId::new(id).expect("booking id")
}

pub fn acme() -> Business {
    Business {
        id: BusinessId::new("acme").expect("business id"),
        name: "Acme Cleaning".into(),
        gateway_account: None,
        email: None,
    }
}

pub fn service(store: PostgresStore, gateway: &ScriptedGateway, prefix: &str) -> Billing {
    Billing::new(
        Arc::new(store),
        Arc::new(gateway.clone()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix(prefix)),
        Arc::new(SequentialSecrets::default()),
    )
}

/// A customer with a card on file and a booking of `price_minor` cents with `label`.
pub async fn seed(billing: &Billing, booking: &str, price_minor: i64, label: &str) {
    let business = acme();
    let customer = CustomerId::new("cust-1").expect("customer id");
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

pub fn charge(booking: &str, amount: Option<Money>) -> ChargeBooking {
    ChargeBooking {
        booking: booking_id(booking),
        amount: amount.map(Into::into),
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

pub async fn count(url: &str, table: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let n = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&mut conn)
        .await
        .expect("count");
    conn.close().await.expect("close");
    n
}

pub async fn ledger(store: &PostgresStore, booking: &str) -> billing_core::ports::BookingLedger {
    let ids = [booking_id(booking)];
    store
        .read(&acme().id, &LedgerRead::bookings(&ids))
        .await
        .expect("read")
        .ledgers
        .remove(0)
}

/// A connection to `url` that plans as the store's sessions do: one generic plan per
/// statement, and never a sequential scan where an index could serve.
pub async fn planning_connection(url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::raw_sql("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// The plan of `statement` (`(types) AS query`), prepared as `name` and executed with
/// `arguments`, one step a line.
pub async fn generic_plan(
    conn: &mut sqlx::PgConnection,
    name: &str,
    statement: &str,
    arguments: &str,
) -> Result<String, sqlx::Error> {
    sqlx::raw_sql(&format!("PREPARE {name} {statement}"))
        .execute(&mut *conn)
        .await?;
    let lines: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN EXECUTE {name} {arguments}"))
        .fetch_all(&mut *conn)
        .await?;
    Ok(lines.join("\n"))
}
