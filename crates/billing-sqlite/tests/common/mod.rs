//! What the SQLite tests share: databases, a service over a store, and seeding.
#![allow(dead_code, clippy::expect_used)]

use std::sync::Arc;

use billing_core::billing::{Billing, ChargeBooking, PaymentSource};
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::customer::{Business, Customer};
use billing_core::ids::{BookingId, BusinessId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::ports::Store;
use billing_core::testkit::{FixedClock, ScriptedGateway, SequentialIds, SequentialSecrets};
use billing_sqlite::SqliteStore;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

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

/// A migrated database file in a fresh temporary directory, and its URL.
pub async fn database() -> (tempfile::TempDir, String, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("billing.db").display());
    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (dir, url, Arc::new(store))
}

/// The service over a store, with a gateway shared with other services.
pub fn service(store: Arc<dyn Store>, gateway: &ScriptedGateway, prefix: &str) -> Billing {
    Billing::new(
        store,
        Arc::new(gateway.clone()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::with_prefix(prefix)),
        Arc::new(SequentialSecrets::default()),
    )
}

/// A customer with a card on file and a booking of `price_minor` cents.
pub async fn seed(billing: &Billing, booking: &str, price_minor: i64) {
    let customer = CustomerId::new("cust-1").expect("customer id");
    billing
        .put_customer(
            &acme(),
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

pub fn charge(booking: &str, amount: Option<Money>) -> ChargeBooking {
    ChargeBooking {
        booking: booking_id(booking),
        amount: amount.map(Into::into),
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

/// The plan of `sql`, one step a line.
pub async fn plan(conn: &mut sqlx::SqliteConnection, sql: &str) -> Result<String, sqlx::Error> {
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| row.3)
        .collect::<Vec<_>>()
        .join("\n"))
}
