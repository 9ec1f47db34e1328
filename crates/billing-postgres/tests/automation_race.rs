//! Two schedulers on one PostgreSQL database (two stores with their own pools: two processes,
//! as far as the database can tell) race over 1,000 due bookings: each booking is charged
//! exactly once, both schedulers do part of the work, and nothing is left due afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use billing_core::automation::{Action, PaymentPolicy, PaymentSettings};
use billing_core::billing::Billing;
use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::ids::{BookingId, CustomerId};
use billing_core::money::Currency;
use billing_core::ports::{BookingFilter, Businesses, RunOutcome};
use billing_core::status::PaymentStatus;
use billing_core::testkit::{
    FixedClock, ScriptedGateway, SequentialIds, SequentialSecrets, seed_customer_with_card,
};
use billing_postgres::PostgresStore;
use common::{acme, booking_id, database, usd};
use futures::StreamExt as _;
use tokio::sync::Barrier;

const BOOKINGS: usize = 1_000;
/// Small batches, so that neither scheduler can take everything before the other starts.
const BATCH: u32 = 50;

/// One scheduler process: its own store handle and ids, the shared gateway and clock.
fn process(
    store: PostgresStore,
    gateway: &ScriptedGateway,
    clock: &Arc<FixedClock>,
    prefix: &str,
) -> Billing {
    Billing::new(
        Arc::new(store),
        Arc::new(gateway.clone()),
        clock.clone(),
        Arc::new(SequentialIds::with_prefix(prefix)),
        Arc::new(SequentialSecrets::default()),
    )
}

/// Runs what is due, a batch at a time, until a run takes nothing; returns the bookings acted
/// on (once per run made).
async fn drain(billing: Billing, start: Arc<Barrier>) -> Vec<BookingId> {
    start.wait().await;
    let mut acted = Vec::new();
    // Bounded, so that a store that never stops handing out work fails instead of hanging.
    for _ in 0..BOOKINGS {
        let report = billing.run_due(BATCH).await.expect("run_due");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        if report.taken == 0 {
            return acted;
        }
        for (_, run) in report.runs {
            assert_eq!(run.action, Action::Charge(usd(1_000)), "{run:?}");
            assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
            acted.push(run.booking);
        }
    }
    panic!("the scheduler never ran out of due bookings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_schedulers_racing_over_a_thousand_due_bookings_charge_each_once() {
    let (_server, url, store) = database("automation_race").await;
    let business = acme();
    let customer = CustomerId::new("cust-1").expect("customer id");
    store
        .create_business(
            &business,
            &billing_core::testkit::api_key_record("key_1"),
            "hash",
        )
        .await
        .expect("business");
    seed_customer_with_card(&store, &business.id, &customer)
        .await
        .expect("customer");

    let gateway = ScriptedGateway::new();
    let clock = Arc::new(FixedClock::default());
    let one = process(store, &gateway, &clock, "one");
    let two = process(
        PostgresStore::connect(&url).await.expect("second store"),
        &gateway,
        &clock,
        "two",
    );

    // Booked under the default (manual) policy: nothing is charged while they are stored.
    let ids: Vec<BookingId> = (0..BOOKINGS)
        .map(|n| booking_id(&format!("b-{n:04}")))
        .collect();
    futures::stream::iter(ids.iter().cloned())
        .for_each_concurrent(8, |id| {
            let (one, business, customer) = (&one, &business, &customer);
            async move {
                let line = LineItem::new(LineItemKind::Service, "Clean", usd(1_000)).expect("line");
                let account = BookingAccount::new(id, customer.clone(), Currency::USD, vec![line])
                    .expect("booking");
                one.put_booking(business, account)
                    .await
                    .expect("put booking");
            }
        })
        .await;
    assert_eq!(
        gateway.count("charge"),
        0,
        "manual policy: nothing charged yet"
    );
    // Charging at booking makes every booking due at once.
    one.set_payment_settings(
        &business,
        PaymentSettings {
            policy: PaymentPolicy::ChargeAtBooking,
            ..PaymentSettings::default()
        },
    )
    .await
    .expect("settings");
    // Past the grace a booking page has to start a checkout.
    clock.advance(billing_core::billing::Policy::default().checkout_grace);

    // Spawned tasks, so the two really run in parallel; the barrier starts them together.
    let start = Arc::new(Barrier::new(2));
    let first = tokio::spawn(drain(one.clone(), start.clone()));
    let second = tokio::spawn(drain(two.clone(), start));
    let (first, second) = (first.await.expect("one"), second.await.expect("two"));

    // A booking charged twice shows in the gateway (1,001 calls, 10,010.00) and here.
    assert_eq!(gateway.count("charge"), BOOKINGS, "one charge per booking");
    assert_eq!(gateway.total_received(Currency::USD), usd(1_000_000));
    let mut runs: BTreeMap<&BookingId, usize> = BTreeMap::new();
    for id in first.iter().chain(&second) {
        *runs.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "bookings acted on more than once: {twice:?}"
    );
    assert_eq!(runs.len(), BOOKINGS, "every booking acted on");
    assert_eq!(first.len() + second.len(), BOOKINGS);
    assert!(
        !first.is_empty() && !second.is_empty(),
        "one scheduler did all the work ({} and {} runs): the race was not exercised",
        first.len(),
        second.len()
    );

    // Every booking reads as paid, through either process.
    let mut after = None;
    let mut paid = 0;
    loop {
        let filter = BookingFilter {
            after: after.clone(),
            limit: 100,
            ..BookingFilter::default()
        };
        let page = two.list_bookings(&business, &filter).await.expect("list");
        let Some(last) = page.last() else { break };
        after = Some(last.booking.clone());
        for summary in &page {
            assert_eq!(
                summary.status.status,
                PaymentStatus::ChargedInFull,
                "{summary:?}"
            );
            assert_eq!(summary.balance.paid, usd(1_000), "{summary:?}");
        }
        paid += page.len();
    }
    assert_eq!(paid, BOOKINGS);

    // Nothing is left due for either scheduler.
    for billing in [&one, &two] {
        let report = billing.run_due(BATCH).await.expect("run_due");
        assert_eq!((report.taken, report.runs.len()), (0, 0), "{report:?}");
    }
    assert_eq!(gateway.count("charge"), BOOKINGS);
    println!(
        "scheduler one made {} runs, scheduler two {}",
        first.len(),
        second.len()
    );
}
