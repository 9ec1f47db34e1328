//! Holds as Stripe places them: multicapture asked for and granted or refused per account,
//! holds that expire at Stripe, and holds authenticated by the customer on the page.

mod common;

use std::time::Duration;

use billing_core::ports::{
    CancelRequest, CaptureRequest, GatewayError, GatewayStatus, PaymentGateway,
};
use common::{
    ACCOUNT, account, customer, customer_with, eur, last_intent_params, now, on_session, pid,
    request, start,
};

fn capture(reference: &str, capture: &str, minor: i64, final_capture: bool) -> CaptureRequest {
    CaptureRequest {
        account: account(),
        payment_reference: reference.into(),
        capture: pid(capture),
        idempotency_key: format!("{capture}:attempt"),
        amount: eur(minor),
        final_capture,
    }
}

fn cancel(reference: &str, key: &str) -> CancelRequest {
    CancelRequest {
        account: account(),
        payment_reference: reference.into(),
        idempotency_key: key.into(),
    }
}

#[tokio::test]
async fn a_hold_asks_for_multicapture_and_says_it_was_granted() {
    let (fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "multi", "pm_card_visa").await;
    let held = gateway
        .authorize(&request(
            "pay_multi",
            &customer,
            &visa.payment_method,
            eur(10_000),
        ))
        .await
        .expect("held");
    let params = last_intent_params(&fake);
    assert_eq!(params["capture_method"], "manual");
    assert_eq!(
        params["payment_method_options"]["card"]["request_multicapture"],
        "if_available"
    );
    assert_eq!(held.status, GatewayStatus::RequiresCapture);
    assert!(held.multicapture, "{held:?}");
    assert_eq!(held.payment, Some(pid("pay_multi")));
    assert_eq!(held.card.as_ref().map(|c| c.last4.as_str()), Some("4242"));
    let first = gateway
        .capture(&capture(&held.reference, "pay_multi_1", 3_000, false))
        .await
        .expect("a part captured");
    assert_eq!(first.status, GatewayStatus::RequiresCapture);
    assert!(first.multicapture);
    assert_eq!(
        (first.amount_received, first.amount_capturable),
        (eur(3_000), eur(7_000))
    );
    assert!(first.hold_expires_at.is_some(), "still a hold: {first:?}");
    let last = gateway
        .capture(&capture(&held.reference, "pay_multi_2", 2_000, true))
        .await
        .expect("the rest released");
    assert_eq!(last.status, GatewayStatus::Succeeded);
    assert_eq!(
        (last.amount_received, last.amount_capturable),
        (eur(5_000), eur(0))
    );
    // Charges never ask for it.
    gateway
        .charge(&request(
            "pay_multi_charge",
            &customer,
            &visa.payment_method,
            eur(1_000),
        ))
        .await
        .expect("charged");
    let params = last_intent_params(&fake);
    assert!(params.get("payment_method_options").is_none(), "{params}");
    assert!(params.get("capture_method").is_none(), "{params}");
}

#[tokio::test]
async fn an_account_without_multicapture_gets_single_captures_only() {
    let (fake, gateway) = start().await;
    fake.set_multicapture(Some(ACCOUNT), false);
    let (customer, visa) = customer_with(&gateway, "single", "pm_card_visa").await;
    let held = gateway
        .authorize(&request(
            "pay_single",
            &customer,
            &visa.payment_method,
            eur(10_000),
        ))
        .await
        .expect("held");
    assert!(!held.multicapture, "{held:?}");
    let refused = gateway
        .capture(&capture(&held.reference, "pay_single_1", 3_000, false))
        .await;
    assert!(
        matches!(&refused, Err(GatewayError::InvalidRequest { message, .. }) if message.contains("multicapture")),
        "{refused:?}"
    );
    let found = gateway
        .find_payment(account(), &pid("pay_single"))
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.amount_capturable, eur(10_000), "nothing was captured");
    assert!(!found.multicapture);
    let captured = gateway
        .capture(&capture(&held.reference, "pay_single_2", 3_000, true))
        .await
        .expect("a final capture");
    assert_eq!(captured.status, GatewayStatus::Succeeded);
    assert_eq!(captured.amount_received, eur(3_000));
}

#[tokio::test]
async fn a_hold_stripe_let_expire_reads_as_expired() {
    let (fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "expiry", "pm_card_visa").await;
    let held = gateway
        .authorize(&request(
            "pay_expiry",
            &customer,
            &visa.payment_method,
            eur(6_000),
        ))
        .await
        .expect("held");
    let expires = held.hold_expires_at.expect("an expiry");
    assert!(
        expires > now(&fake) + chrono::Duration::days(6),
        "{expires}"
    );
    fake.advance_clock(Duration::from_secs(8 * 24 * 3600));
    let found = gateway
        .find_payment(account(), &pid("pay_expiry"))
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.status, GatewayStatus::Expired, "{found:?}");
    assert_eq!(
        (found.amount_received, found.amount_capturable),
        (eur(0), eur(0))
    );
    let record = gateway
        .payment_record(account(), &held.reference)
        .await
        .expect("read");
    assert_eq!(record.payment.status, GatewayStatus::Expired);
    // Releasing it now: Stripe refuses, and the answer says how it ended.
    let released = gateway
        .cancel(&cancel(&held.reference, "pay_expiry:cancel"))
        .await
        .expect("answered");
    assert_eq!(released.status, GatewayStatus::Expired);
}

#[tokio::test]
async fn a_hold_released_by_us_is_canceled_not_expired() {
    let (_fake, gateway) = start().await;
    let (customer, visa) = customer_with(&gateway, "release", "pm_card_visa").await;
    let held = gateway
        .authorize(&request(
            "pay_release",
            &customer,
            &visa.payment_method,
            eur(6_000),
        ))
        .await
        .expect("held");
    let released = gateway
        .cancel(&cancel(&held.reference, "pay_release:cancel"))
        .await
        .expect("released");
    assert_eq!(released.status, GatewayStatus::Canceled);
    // The same release again (a lost answer resent) is Stripe's replay.
    let again = gateway
        .cancel(&cancel(&held.reference, "pay_release:cancel"))
        .await
        .expect("replayed");
    assert_eq!(again.status, GatewayStatus::Canceled);
    // A capture of it is refused outright.
    assert!(matches!(
        gateway
            .capture(&capture(
                &held.reference,
                "pay_release_capture",
                1_000,
                true
            ))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn a_hold_the_customer_authenticates_on_the_page_becomes_a_hold() {
    let (fake, gateway) = start().await;
    let customer = customer(&gateway, "held_on_page").await;
    let asked = on_session(
        request(
            "pay_page_hold",
            &customer,
            "pm_card_threeDSecure2Required",
            eur(9_000),
        ),
        false,
    );
    let answer = gateway.authorize(&asked).await.expect("answered");
    assert_eq!(answer.status, GatewayStatus::RequiresAction, "{answer:?}");
    assert!(answer.next_action.is_some());
    assert_eq!(answer.hold_expires_at, None, "not a hold yet");
    let params = last_intent_params(&fake);
    assert_eq!(
        params["payment_method_options"]["card"]["request_multicapture"],
        "if_available"
    );
    assert!(params.get("off_session").is_none(), "{params}");
    fake.complete_authentication(Some(ACCOUNT), &answer.reference, true)
        .expect("approved");
    let held = gateway
        .find_payment(account(), &asked.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(held.status, GatewayStatus::RequiresCapture);
    assert_eq!(held.amount_capturable, eur(9_000));
    assert!(held.hold_expires_at.is_some());
    assert!(held.multicapture);
}
