//! Idempotency keys, finding a payment again, and connected accounts kept apart.

use crate::ports::{GatewayStatus, PaymentGateway};

use super::{
    GatewayFixture, assert_not_found, charged, customer, customer_with_visa, eur, hold,
    payment_request, pid, refund_request,
};

/// The same idempotency key with the same request answers the same payment: one attempt.
pub async fn same_key_same_request_replays<F: GatewayFixture>(fixture: F) {
    let (customer, card) = customer_with_visa(&fixture, "replay").await;
    let request = payment_request(
        &fixture,
        "pay_replay",
        &customer,
        &card.payment_method,
        eur(2500),
    );
    let first = fixture.gateway().charge(&request).await.expect("first");
    let second = fixture.gateway().charge(&request).await.expect("replay");
    assert_eq!(
        first.reference, second.reference,
        "one attempt, answered twice"
    );
    assert_eq!(second.status, GatewayStatus::Succeeded);
    assert_eq!(second.amount_received, eur(2500));
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &request.payment)
        .await
        .expect("found")
        .expect("present");
    assert_eq!(found.reference, first.reference);
    // Refunds replay the same way.
    let refund = refund_request(&fixture, &first.reference, "pay_replay_refund", eur(500));
    let r1 = fixture.gateway().refund(&refund).await.expect("refund");
    let r2 = fixture.gateway().refund(&refund).await.expect("replay");
    assert_eq!(r1.reference, r2.reference);
    // Only 500 was refunded: 2000 is left.
    let rest = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &first.reference,
            "pay_replay_refund_rest",
            eur(2000),
        ))
        .await
        .expect("the rest");
    assert_eq!(rest.amount, eur(2000));
}

/// The same idempotency key with another request is refused, as Stripe does — and never as
/// "nothing done": the key's first request was carried out and may have moved money, so the
/// core must look the payment up rather than fail it.
pub async fn same_key_other_request_is_refused_as_unknown<F: GatewayFixture>(fixture: F) {
    let (customer, card) = customer_with_visa(&fixture, "key_reuse").await;
    let request = payment_request(
        &fixture,
        "pay_key_reuse",
        &customer,
        &card.payment_method,
        eur(2500),
    );
    fixture.gateway().charge(&request).await.expect("first");
    let mut other = request.clone();
    other.amount = eur(9999);
    match fixture.gateway().charge(&other).await {
        Err(error) => assert!(
            !error.nothing_done(),
            "same key, other amount: refused as nothing done ({error})"
        ),
        Ok(answer) => panic!("same key, other amount: answered {answer:?}"),
    }
}

/// The reconciler finds a payment by our id; an unknown id is `None`.
pub async fn find_payment_by_our_id<F: GatewayFixture>(fixture: F) {
    let (request, paid) = charged(&fixture, "find", eur(4200)).await;
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &request.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.reference, paid.reference);
    assert_eq!(found.status, GatewayStatus::Succeeded);
    assert_eq!(
        (found.amount, found.amount_received),
        (eur(4200), eur(4200))
    );
    assert_eq!(
        found.payment.as_ref(),
        Some(&request.payment),
        "our id, from metadata"
    );
    assert_eq!(
        fixture
            .gateway()
            .find_payment(fixture.account(), &pid("pay_never_made"))
            .await
            .expect("looked up"),
        None
    );
    // A declined attempt is found as failed, a hold as a hold.
    let customer = customer(&fixture, "find_declined").await;
    let declined = payment_request(
        &fixture,
        "pay_find_declined",
        &customer,
        "pm_card_chargeDeclined",
        eur(1000),
    );
    fixture.gateway().charge(&declined).await.expect("answered");
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &declined.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert!(
        matches!(&found.status, GatewayStatus::Failed(f) if f.decline_code.as_deref() == Some("generic_decline")),
        "{found:?}"
    );
    let held = hold(&fixture, "find_hold", eur(1500)).await;
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &pid("pay_find_hold_hold"))
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.reference, held.reference);
    assert_eq!(found.status, GatewayStatus::RequiresCapture);
    assert_eq!(found.amount_capturable, eur(1500));
    assert!(found.hold_expires_at.is_some());
}

/// Calls on behalf of a connected account work, and what one account makes is not visible
/// from another (when the fixture has a second account to ask).
pub async fn connected_account_scopes_objects<F: GatewayFixture>(fixture: F) {
    let (request, paid) = charged(&fixture, "connect", eur(1200)).await;
    assert_eq!(request.account, fixture.account());
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &request.payment)
        .await
        .expect("looked up");
    assert_eq!(found.map(|p| p.reference), Some(paid.reference.clone()));
    let Some(other) = fixture.other_account() else {
        return;
    };
    assert_ne!(Some(other.clone()), fixture.account());
    assert_eq!(
        fixture
            .gateway()
            .find_payment(Some(other.clone()), &request.payment)
            .await
            .expect("looked up"),
        None,
        "another account does not see the payment"
    );
    assert_not_found(
        fixture
            .gateway()
            .list_cards(Some(other.clone()), &request.card.gateway_customer)
            .await,
        "another account's customer",
    );
    let mut elsewhere = refund_request(&fixture, &paid.reference, "pay_connect_refund", eur(100));
    elsewhere.account = Some(other);
    assert_not_found(
        fixture.gateway().refund(&elsewhere).await,
        "refund from another account",
    );
}
