//! Holds: placing one, capturing part or too much, canceling.

use crate::payment::gateway_key;
use crate::ports::{CancelRequest, GatewayStatus, PaymentGateway};

use super::{GatewayFixture, assert_invalid, capture_request, eur, hold, pid};

/// A hold can capture its amount and expires in the future.
pub async fn authorize_places_a_hold<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "hold", eur(10000)).await;
    assert_eq!(held.amount, eur(10000));
    assert_eq!(held.amount_capturable, eur(10000));
    assert_eq!(held.amount_received, eur(0));
    let expires = held.hold_expires_at.expect("a hold expiry");
    let now = fixture.now();
    assert!(
        expires > now + chrono::Duration::days(1),
        "{expires} is not well after {now}"
    );
    assert!(
        expires <= now + chrono::Duration::days(31),
        "{expires} is too far after {now}"
    );
}

/// A final capture of part of a hold takes that part and releases the rest.
pub async fn partial_capture_releases_the_rest<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "partial", eur(10000)).await;
    let captured = fixture
        .gateway()
        .capture(&capture_request(
            &fixture,
            &held.reference,
            "pay_partial_capture",
            eur(6000),
            true,
        ))
        .await
        .expect("captured");
    assert_eq!(captured.reference, held.reference);
    assert_eq!(captured.status, GatewayStatus::Succeeded);
    assert_eq!(captured.amount_received, eur(6000));
    assert_eq!(captured.amount_capturable, eur(0), "the rest is released");
    // Nothing is left to capture.
    assert_invalid(
        fixture
            .gateway()
            .capture(&capture_request(
                &fixture,
                &held.reference,
                "pay_partial_capture_2",
                eur(1000),
                true,
            ))
            .await,
        "capturing a closed hold",
    );
}

/// Capturing more than the hold is refused and captures nothing.
pub async fn over_capture_is_invalid<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "over_capture", eur(10000)).await;
    assert_invalid(
        fixture
            .gateway()
            .capture(&capture_request(
                &fixture,
                &held.reference,
                "pay_over_capture",
                eur(10001),
                true,
            ))
            .await,
        "over-capture",
    );
    let after = fixture
        .gateway()
        .find_payment(fixture.account(), &pid("pay_over_capture_hold"))
        .await
        .expect("found")
        .expect("the hold");
    assert_eq!(after.status, GatewayStatus::RequiresCapture);
    assert_eq!(after.amount_capturable, eur(10000));
    // The full amount still captures.
    let captured = fixture
        .gateway()
        .capture(&capture_request(
            &fixture,
            &held.reference,
            "pay_over_capture_ok",
            eur(10000),
            true,
        ))
        .await
        .expect("captured");
    assert_eq!(captured.amount_received, eur(10000));
}

/// Canceling a hold releases it; it cannot be captured afterwards.
pub async fn cancel_releases_a_hold<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "cancel", eur(3000)).await;
    let canceled = fixture
        .gateway()
        .cancel(&CancelRequest {
            account: fixture.account(),
            payment_reference: held.reference.clone(),
            idempotency_key: gateway_key(&pid("pay_cancel_hold"), "cancel"),
        })
        .await
        .expect("canceled");
    assert_eq!(canceled.reference, held.reference);
    assert_eq!(canceled.status, GatewayStatus::Canceled);
    assert_eq!(canceled.amount_capturable, eur(0));
    assert_eq!(canceled.amount_received, eur(0));
    assert_invalid(
        fixture
            .gateway()
            .capture(&capture_request(
                &fixture,
                &held.reference,
                "pay_cancel_capture",
                eur(3000),
                true,
            ))
            .await,
        "capturing a canceled hold",
    );
}
