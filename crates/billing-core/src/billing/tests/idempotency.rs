//! Duplicates, replays, lost answers and refused attempts.

use super::*;

#[tokio::test]
async fn without_a_key_the_same_charge_twice_is_a_probable_duplicate() {
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
    let careful = |amount| ChargeBooking {
        allow_duplicate: false,
        ..charge("b-1", Some(amount))
    };
    w.billing
        .charge(&w.business, careful("10.00"))
        .await
        .expect("first");
    let twice = w.billing.charge(&w.business, careful("10.00")).await;
    assert_eq!(
        twice.map(|_| ()).map_err(|e| e.code()),
        Err("probable_duplicate")
    );
    w.billing
        .charge(&w.business, charge("b-1", Some("10.00")))
        .await
        .expect("intended");
    w.clock.advance(Duration::minutes(6));
    w.billing
        .charge(&w.business, careful("10.00"))
        .await
        .expect("outside the window");
}

#[tokio::test]
async fn replays_return_the_first_result_and_other_requests_are_refused() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    let first = w
        .billing
        .charge(&w.business, keyed("b-1", Some("30.00"), "k-1"))
        .await
        .expect("charge");
    let replay = w
        .billing
        .charge(&w.business, keyed("b-1", Some("30.00"), "k-1"))
        .await
        .expect("replay");
    assert_eq!(
        (replay.payment.id.clone(), replay.replayed),
        (first.payment.id, true)
    );
    let other = w
        .billing
        .charge(&w.business, keyed("b-1", Some("31.00"), "k-1"))
        .await;
    assert!(matches!(other, Err(BillingError::IdempotencyKeyReused(_))));
    assert_eq!(gateway.count("charge"), 1);
    assert_eq!(w.status("b-1").await.1, usd("70.00"));
}

#[tokio::test]
async fn a_declined_charge_replays_as_the_same_decline() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    gateway.script(Scripted::Decline("generic_decline".into()));
    let first = w
        .billing
        .charge(&w.business, keyed("b-1", None, "k"))
        .await
        .expect("a decline is an answer");
    let again = w
        .billing
        .charge(&w.business, keyed("b-1", None, "k"))
        .await
        .expect("the same answer");
    assert!(
        matches!(first.outcome(), Outcome::Declined(f) if f.decline_code.as_deref() == Some("generic_decline")),
        "{first:?}"
    );
    assert!(again.replayed);
    assert_eq!(
        Receipt {
            replayed: false,
            ..again
        },
        first
    );
    assert_eq!(gateway.count("charge"), 1);
}

#[tokio::test]
async fn a_lost_answer_stays_pending_until_reconciled_with_one_charge_at_the_gateway() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    gateway.script(Scripted::LostAnswer);
    let receipt = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending, not an error");
    assert_eq!(receipt.payment.state, PaymentState::Pending);
    assert!(receipt.bookings[0].status.pending);
    // Nothing more can be charged while the outcome is unknown.
    let more = w
        .billing
        .charge(&w.business, charge("b-1", Some("0.01")))
        .await;
    assert!(matches!(
        more,
        Err(BillingError::AmountExceedsBalance { .. })
    ));
    let settled = w
        .billing
        .reconcile_pending(&w.business, Duration::zero())
        .await
        .expect("reconcile");
    assert_eq!(settled.len(), 1);
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    assert_eq!(gateway.payments_made(), 1);
}

#[tokio::test]
async fn a_rate_limited_charge_frees_its_key_for_a_retry() {
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
    gateway.script(Scripted::Fail(GatewayError::RateLimited));
    let first = w.billing.charge(&w.business, keyed("b-1", None, "k")).await;
    assert_eq!(first.map(|_| ()).map_err(|e| e.code()), Err("rate_limited"));
    let retry = w
        .billing
        .charge(&w.business, keyed("b-1", None, "k"))
        .await
        .expect("retry");
    assert!(!retry.replayed);
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert_eq!(
        view.payments.len(),
        2,
        "the refused attempt stays in the history"
    );
}
