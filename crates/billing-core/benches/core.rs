//! Benchmarks of the core's hot paths: allocation, folding a booking's history into its balance,
//! and a whole charge through the service on the in-memory store (the core's own cost, without
//! I/O). Run with `cargo xtask bench core`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use billing_core::payment::fold;
use billing_core::ports::{Ledger, LedgerRead};
use billing_core::prelude::*;
use billing_core::status::summarize;
use billing_core::testkit::{
    FixedClock, MemoryStore, ScriptedGateway, SequentialIds, SequentialSecrets,
    seed_customer_with_card,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn allocation(c: &mut Criterion) {
    let whole = usd(1_234_567);
    let weights: Vec<u64> = (1..=100).collect();
    c.bench_function("allocate 12345.67 across 100 weights", |b| {
        b.iter(|| whole.allocate(std::hint::black_box(&weights)).unwrap())
    });
}

async fn service_with_bookings(count: usize, price: i64) -> (Billing, Arc<MemoryStore>, Business) {
    let store = Arc::new(MemoryStore::new());
    let business = Business {
        id: BusinessId::new("acme").unwrap(),
        name: "Acme".into(),
        gateway_account: None,
        email: None,
    };
    let customer = CustomerId::new("c").unwrap();
    seed_customer_with_card(&*store, &business.id, &customer)
        .await
        .unwrap();
    let billing = Billing::new(
        store.clone(),
        Arc::new(ScriptedGateway::new()),
        Arc::new(FixedClock::default()),
        Arc::new(SequentialIds::default()),
        Arc::new(SequentialSecrets::default()),
    );
    for n in 0..count {
        let items = vec![LineItem::new(LineItemKind::Service, "Service", usd(price)).unwrap()];
        let account = BookingAccount::new(
            BookingId::new(format!("b-{n}")).unwrap(),
            customer.clone(),
            Currency::USD,
            items,
        )
        .unwrap();
        billing.put_booking(&business, account).await.unwrap();
    }
    (billing, store, business)
}

fn charge(booking: &str, cents: i64) -> ChargeBooking {
    ChargeBooking {
        booking: BookingId::new(booking).unwrap(),
        amount: Some(usd(cents).into()),
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

fn balance_of_a_long_history(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (store, business) = runtime.block_on(async {
        let (billing, store, business) = service_with_bookings(1, 1_000_000).await;
        for _ in 0..50 {
            billing.charge(&business, charge("b-0", 100)).await.unwrap();
        }
        (store, business)
    });
    let ids = [BookingId::new("b-0").unwrap()];
    let ledger = runtime
        .block_on(store.read(&business.id, &LedgerRead::bookings(&ids)))
        .unwrap()
        .ledgers
        .remove(0);
    let now = FixedClock::default();
    c.bench_function("fold and summarize a booking with 50 charges", |b| {
        b.iter(|| {
            let payments = fold(&ledger.entries).unwrap();
            summarize(
                &ledger.account,
                &payments,
                billing_core::ports::Clock::now(&now),
            )
            .unwrap()
        })
    });
}

fn charge_through_the_service(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    c.bench_function(
        "charge a booking through Billing (in-memory store, scripted gateway)",
        |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    // One fresh booking per charge, made before the clock starts.
                    let (billing, _, business) =
                        service_with_bookings(iters as usize, 10_000).await;
                    let start = std::time::Instant::now();
                    for n in 0..iters {
                        billing
                            .charge(&business, charge(&format!("b-{n}"), 10_000))
                            .await
                            .unwrap();
                    }
                    start.elapsed()
                })
            })
        },
    );
}

criterion_group!(
    benches,
    allocation,
    balance_of_a_long_history,
    charge_through_the_service
);
criterion_main!(benches);
