//! Refunds: in parts, too much, and finding one again.

use crate::ports::{PaymentGateway, RefundStatus};

use super::{
    GatewayFixture, assert_invalid, capture_request, charged, eur, hold, pid, refund_request,
};

/// A charge is refunded in two parts; a third refund finds nothing left.
pub async fn refund_in_parts<F: GatewayFixture>(fixture: F) {
    let (_, paid) = charged(&fixture, "refunds", eur(10000)).await;
    let first = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_refund_1",
            eur(3000),
        ))
        .await
        .expect("refunded");
    assert_eq!(first.status, RefundStatus::Succeeded);
    assert_eq!(first.amount, eur(3000));
    let rest = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_refund_2",
            eur(7000),
        ))
        .await
        .expect("refunded the rest");
    assert_eq!(rest.status, RefundStatus::Succeeded);
    assert_eq!(rest.amount, eur(7000));
    assert_ne!(first.reference, rest.reference);
    assert_invalid(
        fixture
            .gateway()
            .refund(&refund_request(
                &fixture,
                &paid.reference,
                "pay_refund_3",
                eur(1),
            ))
            .await,
        "refunding a fully refunded charge",
    );
}

/// Refunding more than was captured is refused and refunds nothing.
pub async fn over_refund_is_invalid<F: GatewayFixture>(fixture: F) {
    let (_, paid) = charged(&fixture, "over_refund", eur(10000)).await;
    assert_invalid(
        fixture
            .gateway()
            .refund(&refund_request(
                &fixture,
                &paid.reference,
                "pay_over_refund",
                eur(10001),
            ))
            .await,
        "over-refund",
    );
    assert_eq!(
        fixture
            .gateway()
            .find_refund(fixture.account(), &paid.reference, &pid("pay_over_refund"))
            .await
            .expect("looked up"),
        None
    );
    // A refund of a part of a captured hold is bounded by what was captured.
    let held = hold(&fixture, "over_refund_hold", eur(5000)).await;
    fixture
        .gateway()
        .capture(&capture_request(
            &fixture,
            &held.reference,
            "pay_over_refund_capture",
            eur(2000),
            true,
        ))
        .await
        .expect("captured");
    assert_invalid(
        fixture
            .gateway()
            .refund(&refund_request(
                &fixture,
                &held.reference,
                "pay_over_refund_held",
                eur(2001),
            ))
            .await,
        "refunding more than was captured",
    );
}

/// The reconciler finds a refund by our refund id; an unknown id is `None`.
pub async fn find_refund_by_our_id<F: GatewayFixture>(fixture: F) {
    let (_, paid) = charged(&fixture, "find_refund", eur(6000)).await;
    let made = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_find_refund_1",
            eur(1000),
        ))
        .await
        .expect("refunded");
    fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_find_refund_2",
            eur(2000),
        ))
        .await
        .expect("refunded");
    let found = fixture
        .gateway()
        .find_refund(
            fixture.account(),
            &paid.reference,
            &pid("pay_find_refund_1"),
        )
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.reference, made.reference);
    assert_eq!(found.amount, eur(1000));
    assert_eq!(found.status, RefundStatus::Succeeded);
    assert_eq!(
        fixture
            .gateway()
            .find_refund(fixture.account(), &paid.reference, &pid("pay_no_refund"))
            .await
            .expect("looked up"),
        None
    );
}
