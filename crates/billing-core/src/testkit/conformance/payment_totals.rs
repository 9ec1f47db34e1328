//! The per-day payment totals a store keeps from the commits' changes.

use std::sync::Arc;

use chrono::{Duration, NaiveDate};

use super::{StoreFixture, business, charge, id, seed, usd};
use crate::billing::{AuthorizeBooking, Billing, CaptureHold, PaymentsReport, RecordCollection};
use crate::billing::{PaymentSource, RefundPayment};
use crate::customer::Business;
use crate::ids::PaymentId;
use crate::money::Currency;
use crate::payment::{CollectionMethod, Payment, PaymentDayTotals, PaymentTotals};
use crate::ports::{Clock, PaymentsQuery, Store};
use crate::testkit::{FixedClock, Scripted, ScriptedGateway, SequentialIds, SequentialSecrets};

/// Every payment of the business, as it stands (the tally's input).
async fn every_payment(store: &dyn Store, business: &Business, day: NaiveDate) -> Vec<Payment> {
    let from = day.and_time(chrono::NaiveTime::MIN).and_utc() - Duration::days(30);
    let query = PaymentsQuery {
        limit: 1000,
        ..PaymentsQuery::between(from, from + Duration::days(60))
    };
    store
        .payments_created(&business.id, &query)
        .await
        .expect("payments")
}

fn collect(booking: &str, minor: i64, method: CollectionMethod) -> RecordCollection {
    RecordCollection {
        booking: id(booking),
        amount: Some(usd(minor).into()),
        method,
        reference: None,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

fn refund(payment: &PaymentId, minor: i64) -> RefundPayment {
    RefundPayment {
        payment: payment.clone(),
        amount: Some(usd(minor).into()),
        reason: None,
        idempotency_key: None,
    }
}

/// After charges (one declined, one whose answer was lost and is settled the next day),
/// collections, a hold captured in two parts and refunds, over two days, the totals the store
/// kept are the tally of its payments as they stand, day by day; another business's are its
/// own.
pub async fn payment_day_totals_follow_every_payment<F: StoreFixture>(fixture: F) {
    let store = fixture.store().await;
    let clock = Arc::new(FixedClock::default());
    let gateway = ScriptedGateway::new();
    let billing = Billing::new(
        store.clone(),
        Arc::new(gateway.clone()),
        clock.clone(),
        Arc::new(SequentialIds::with_prefix("t")),
        Arc::new(SequentialSecrets::default()),
    );
    let (acme, globex) = (business("acme"), business("globex"));
    seed(&billing, &acme, "b-1", 100_000).await;
    seed(&billing, &acme, "b-2", 100_000).await;
    seed(&billing, &globex, "g-1", 100_000).await;
    let first = clock.now().date_naive();

    // Day one.
    let card = billing
        .charge(&acme, charge("b-1", Some(usd(3_000)), None))
        .await
        .expect("charge");
    gateway.script(Scripted::Decline("insufficient_funds".into()));
    billing
        .charge(&acme, charge("b-1", Some(usd(1_000)), None))
        .await
        .expect("declined, recorded");
    gateway.script(Scripted::LostAnswer);
    let lost = billing
        .charge(&acme, charge("b-1", Some(usd(500)), None))
        .await
        .expect("pending");
    let cash = billing
        .record_collection(&acme, collect("b-1", 2_000, CollectionMethod::Cash))
        .await
        .expect("cash");
    billing
        .record_collection(&acme, collect("b-2", 1_500, CollectionMethod::Check))
        .await
        .expect("check");
    let hold = billing
        .authorize(
            &acme,
            AuthorizeBooking {
                booking: id("b-2"),
                amount: Some(usd(6_000).into()),
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    billing
        .charge(&globex, charge("g-1", Some(usd(7_700)), None))
        .await
        .expect("theirs");

    // Day two: the lost charge is settled (it counts on the day it was made), the hold is
    // captured in two parts, and both card and cash are partly refunded.
    clock.advance(Duration::days(1));
    let second = clock.now().date_naive();
    billing
        .reconcile(&acme, &lost.payment.id)
        .await
        .expect("settled");
    for (minor, final_capture) in [(2_500, false), (1_000, true)] {
        billing
            .capture(
                &acme,
                CaptureHold {
                    authorization: hold.payment.id.clone(),
                    amount: Some(usd(minor).into()),
                    final_capture,
                    idempotency_key: None,
                },
            )
            .await
            .expect("capture");
    }
    billing
        .refund(&acme, refund(&card.payment.id, 1_200))
        .await
        .expect("card refund");
    billing
        .refund(&acme, refund(&cash.payment.id, 500))
        .await
        .expect("cash refund");

    let after = second.succ_opt().expect("a day");
    let kept = store
        .payment_day_totals(&acme.id, first, after)
        .await
        .expect("totals");
    let payments = every_payment(&*store, &acme, first).await;
    assert_eq!(kept, PaymentDayTotals::of(&payments).expect("tally"));
    let usd_row = |day, minor| PaymentDayTotals {
        day,
        totals: PaymentTotals::from_minor(Currency::USD, minor),
    };
    assert_eq!(
        kept,
        vec![
            usd_row(first, [3_500, 2_000, 1_500, 0, 0]),
            usd_row(second, [3_500, 0, 0, 0, 1_700]),
        ]
    );
    // One day asked for, one day answered; the report is the tally of the payments.
    assert_eq!(
        store
            .payment_day_totals(&acme.id, second, after)
            .await
            .expect("totals"),
        vec![usd_row(second, [3_500, 0, 0, 0, 1_700])]
    );
    let (from, until) = (
        first.and_time(chrono::NaiveTime::MIN).and_utc(),
        after.and_time(chrono::NaiveTime::MIN).and_utc(),
    );
    assert_eq!(
        billing
            .payments_report(&acme, from, until)
            .await
            .expect("report"),
        PaymentsReport::tally(from, until, &payments).expect("tally")
    );
    // Globex's totals are Globex's.
    assert_eq!(
        store
            .payment_day_totals(&globex.id, first, after)
            .await
            .expect("totals"),
        vec![usd_row(first, [7_700, 0, 0, 0, 0])]
    );
}
