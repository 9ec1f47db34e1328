//! What the gateway keeps and says of itself: a payment's whole record, the amounts it can
//! charge, holds in several parts, its timings and its events.

use crate::money::{Currency, Money};
use crate::ports::{GatewayStatus, PaymentGateway};

use super::{
    GatewayFixture, assert_invalid, assert_not_found, capture_request, charged, customer_with_visa,
    eur, hold, payment_request, pid, refund_request,
};

/// A payment's record names our payment, and lists its refunds with ours named; an unknown
/// payment is not found.
pub async fn payment_record_lists_refunds<F: GatewayFixture>(fixture: F) {
    let (request, paid) = charged(&fixture, "record", eur(5000)).await;
    let refund = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_record_refund",
            eur(1500),
        ))
        .await
        .expect("refunded");
    let record = fixture
        .gateway()
        .payment_record(fixture.account(), &paid.reference)
        .await
        .expect("read");
    assert_eq!(record.payment.reference, paid.reference);
    assert_eq!(record.payment.payment.as_ref(), Some(&request.payment));
    assert_eq!(record.payment.amount_received, eur(5000));
    assert_eq!(record.refunds.len(), 1, "{record:?}");
    assert_eq!(record.refunds[0].reference, refund.reference);
    assert_eq!(record.refunds[0].amount, eur(1500));
    assert_eq!(
        record.refunds[0].refund.as_ref(),
        Some(&pid("pay_record_refund"))
    );
    assert!(record.disputes.is_empty());
    assert_not_found(
        fixture
            .gateway()
            .payment_record(fixture.account(), "pi_never_made")
            .await,
        "an unknown payment's record",
    );
}

/// The gateway says which amounts it can never charge (under its minimum, finer than its
/// unit, a currency it does not take), and refuses to charge them; a capture has no minimum.
pub async fn amounts_follow_the_gateway_rules<F: GatewayFixture>(fixture: F) {
    let gateway = fixture.gateway();
    let ok = |minor, currency| {
        gateway
            .check_amount(&Money::from_minor(minor, currency))
            .is_ok()
    };
    assert!(!ok(49, Currency::USD), "under USD 0.50");
    assert!(ok(50, Currency::USD));
    assert!(!ok(29, Currency::GBP), "under GBP 0.30");
    assert!(ok(30, Currency::GBP));
    assert!(!ok(49, Currency::JPY), "under JPY 50");
    assert!(ok(50, Currency::JPY));
    assert!(
        !ok(10_125, Currency::KWD),
        "10.125 KWD: the last decimal must be 0"
    );
    assert!(ok(10_120, Currency::KWD));
    assert!(
        !ok(10_000, Currency::CLF),
        "a unit of account, not a currency to charge"
    );
    let refused = gateway.check_amount(&eur(49)).expect_err("under EUR 0.50");
    assert_eq!(refused.amount, eur(49));
    assert!(!refused.reason.is_empty());
    let (customer, card) = customer_with_visa(&fixture, "small").await;
    let small = payment_request(
        &fixture,
        "pay_small",
        &customer,
        &card.payment_method,
        eur(49),
    );
    assert_invalid(gateway.charge(&small).await, "a charge under the minimum");
    let held = hold(&fixture, "small_capture", eur(1000)).await;
    let captured = gateway
        .capture(&capture_request(
            &fixture,
            &held.reference,
            "pay_small_capture",
            eur(20),
            true,
        ))
        .await
        .expect("a capture has no minimum");
    assert_eq!(captured.amount_received, eur(20));
}

/// A hold says whether it can be captured in several parts: if so, a non-final capture keeps
/// the rest capturable and a final one closes it; if not, a non-final capture is refused and
/// a final one still works.
pub async fn multicapture_as_the_account_allows<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "multi", eur(10000)).await;
    let first = capture_request(&fixture, &held.reference, "pay_multi_1", eur(3000), false);
    if !held.multicapture {
        assert_invalid(
            fixture.gateway().capture(&first).await,
            "a non-final capture without multicapture",
        );
        let closed = fixture
            .gateway()
            .capture(&capture_request(
                &fixture,
                &held.reference,
                "pay_multi_final",
                eur(3000),
                true,
            ))
            .await
            .expect("a final capture");
        assert_eq!(closed.status, GatewayStatus::Succeeded);
        return;
    }
    let partly = fixture.gateway().capture(&first).await.expect("captured");
    assert_eq!(partly.status, GatewayStatus::RequiresCapture);
    assert_eq!(partly.amount_received, eur(3000));
    assert_eq!(partly.amount_capturable, eur(7000));
    let closed = fixture
        .gateway()
        .capture(&capture_request(
            &fixture,
            &held.reference,
            "pay_multi_2",
            eur(2000),
            true,
        ))
        .await
        .expect("captured");
    assert_eq!(closed.status, GatewayStatus::Succeeded);
    assert_eq!(closed.amount_received, eur(5000));
    assert_eq!(closed.amount_capturable, eur(0));
}

/// The gateway's timings are those of a real gateway: keys kept for hours (not forever), a
/// search that lags less than that, and events that can be read back.
pub async fn timings_and_events_are_readable<F: GatewayFixture>(fixture: F) {
    let gateway = fixture.gateway();
    let window = gateway.idempotency_window();
    assert!(
        window >= chrono::Duration::hours(2) && window <= chrono::Duration::days(31),
        "{window}"
    );
    let lag = gateway.search_lag();
    assert!(lag >= chrono::Duration::zero() && lag < window, "{lag}");
    charged(&fixture, "events", eur(1000)).await;
    gateway
        .events_since(
            fixture.account(),
            fixture.now() - chrono::Duration::hours(1),
        )
        .await
        .expect("events can be read back");
}
