//! Bulk charges: one result per booking, paced under the gateway's rate limit.

use super::*;
use crate::billing::BulkPacing;

fn bulk(bookings: &[&str], key: Option<&str>) -> BulkCharge {
    BulkCharge {
        bookings: bookings.iter().map(|b| booking_id(b)).collect(),
        source: PaymentSource::CardOnFile,
        idempotency_key: key.map(|k| IdempotencyKey::new(k).expect("key")),
    }
}

fn outcomes(results: &[BulkChargeResult]) -> Vec<Result<PaymentStatus, &'static str>> {
    results
        .iter()
        .map(|r| match &r.result {
            Ok(receipt) if matches!(receipt.outcome(), Outcome::Declined(_)) => Err("declined"),
            Ok(receipt) => Ok(receipt.bookings[0].status.status),
            Err(error) => Err(error.code()),
        })
        .collect()
}

#[tokio::test]
async fn bulk_charge_gives_one_result_per_booking() {
    let (w, gateway) = scripted(&[("b-1", "100.00"), ("b-2", "50.00"), ("b-3", "75.00")]).await;
    gateway.script(Scripted::Success);
    gateway.script(Scripted::Decline("insufficient_funds".into()));
    let results = w
        .billing
        .charge_many(&w.business, bulk(&["b-1", "b-2", "b-3", "b-404"], None))
        .await
        .expect("bulk");
    assert_eq!(
        outcomes(&results),
        vec![
            Ok(PaymentStatus::ChargedInFull),
            Err("declined"),
            Ok(PaymentStatus::ChargedInFull),
            Err("booking_not_found")
        ]
    );
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-2"))
        .await
        .expect("booking");
    assert_eq!(view.summary.status.status, PaymentStatus::NotCharged);
    assert!(view.summary.status.last_failed);
}

#[tokio::test]
async fn a_bulk_charge_names_each_booking_once_and_not_too_many() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    for command in [bulk(&[], None), bulk(&["b-1", "b-1"], None)] {
        let refused = w.billing.charge_many(&w.business, command).await;
        assert_eq!(
            refused.map(|_| ()).map_err(|e| e.code()),
            Err("invalid_input")
        );
    }
    let too_many: Vec<String> = (0..1001).map(|n| format!("b-{n}")).collect();
    let names: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let refused = w.billing.charge_many(&w.business, bulk(&names, None)).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.code()),
        Err("invalid_input")
    );
    assert!(gateway.calls().is_empty());
}

/// 60 bookings at 20 a second from a full bucket: 20 at once, then one every 50 ms on the
/// service's clock — about 2 s of its time, and none of the test's.
#[tokio::test]
async fn bulk_charges_are_paced_on_the_service_clock() {
    let names: Vec<String> = (0..60).map(|n| format!("b-{n}")).collect();
    let bookings: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "10.00")).collect();
    let (w, gateway) = scripted(&bookings).await;
    let billing = w.billing.clone().with_policy(Policy {
        bulk: BulkPacing {
            rate_per_second: std::num::NonZeroU32::new(20).expect("rate"),
            ..BulkPacing::default()
        },
        ..Policy::default()
    });
    let start = w.clock.now();
    let ids: Vec<&str> = names.iter().map(String::as_str).collect();
    let results = billing
        .charge_many(&w.business, bulk(&ids, Some("batch-1")))
        .await
        .expect("bulk");
    assert!(
        outcomes(&results)
            .iter()
            .all(|o| *o == Ok(PaymentStatus::ChargedInFull))
    );
    let took = w.clock.now() - start;
    assert!(
        took >= Duration::milliseconds(1950) && took <= Duration::milliseconds(2100),
        "{took}"
    );
    assert_eq!(gateway.count("charge"), 60);
    // The same batch again: every part replays, nothing waits for a token.
    let again_start = w.clock.now();
    let again = billing
        .charge_many(&w.business, bulk(&ids, Some("batch-1")))
        .await
        .expect("bulk");
    assert!(
        again
            .iter()
            .all(|r| r.result.as_ref().is_ok_and(|r| r.replayed))
    );
    assert_eq!(w.clock.now(), again_start, "replays spend no token");
    // Without the key, every booking has nothing to charge: no token either.
    let nothing = billing
        .charge_many(&w.business, bulk(&ids, None))
        .await
        .expect("bulk");
    assert!(
        outcomes(&nothing)
            .iter()
            .all(|o| *o == Err("nothing_to_charge"))
    );
    assert_eq!(
        w.clock.now(),
        again_start,
        "nothing to charge spends no token"
    );
    assert_eq!(gateway.count("charge"), 60);
}

#[tokio::test]
async fn a_rate_limited_booking_goes_again_a_few_times() {
    let (w, gateway) = scripted(&[("b-1", "10.00"), ("b-2", "20.00")]).await;
    for _ in 0..3 {
        gateway.script(Scripted::Fail(GatewayError::RateLimited));
    }
    let results = w
        .billing
        .charge_many(&w.business, bulk(&["b-1"], Some("batch")))
        .await
        .expect("bulk");
    assert_eq!(outcomes(&results), vec![Ok(PaymentStatus::ChargedInFull)]);
    assert_eq!(gateway.count("charge"), 4);
    for _ in 0..4 {
        gateway.script(Scripted::Fail(GatewayError::RateLimited));
    }
    let given_up = w
        .billing
        .charge_many(&w.business, bulk(&["b-2"], Some("batch")))
        .await
        .expect("bulk");
    assert_eq!(outcomes(&given_up), vec![Err("rate_limited")]);
    assert_eq!(
        gateway.count("charge"),
        8,
        "4 attempts, then the refusal is the answer"
    );
}
