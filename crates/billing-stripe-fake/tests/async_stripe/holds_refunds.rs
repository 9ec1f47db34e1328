//! Holds (manual capture, partial capture, cancel, expiry) and refunds.

use std::time::Duration;

use stripe::{ApiErrorsCode, ApiErrorsType};
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::{
    CancelPaymentIntent, CancelPaymentIntentCancellationReason, CapturePaymentIntent,
    RetrievePaymentIntent,
};
use stripe_core::refund::{CreateRefund, ListRefund, RetrieveRefund};
use stripe_core::{PaymentIntentCaptureMethod, PaymentIntentStatus};

use super::{fake_with_customer, off_session_payment, stripe_error};

#[tokio::test]
async fn manual_capture_partial_capture_and_hold_expiry() {
    let (fake, client, customer) = fake_with_customer().await;
    let pi = off_session_payment(10_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("authorize");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresCapture);
    assert_eq!((pi.amount_capturable, pi.amount_received), (10_000, 0));

    // The hold lasts 7 days: Stripe's capture_before.
    let charge_id = pi.latest_charge.as_ref().expect("charge").id().clone();
    let charge = RetrieveCharge::new(charge_id.clone())
        .send(&client)
        .await
        .expect("charge");
    assert!(!charge.captured);
    let capture_before = charge
        .payment_method_details
        .and_then(|d| d.card)
        .and_then(|c| c.capture_before)
        .expect("capture_before");
    assert_eq!(capture_before, charge.created + 7 * 24 * 3600);

    let (err, status) = stripe_error(
        CapturePaymentIntent::new(pi.id.clone())
            .amount_to_capture(10_001)
            .send(&client)
            .await,
    );
    assert_eq!(
        (status, err.type_),
        (400, ApiErrorsType::InvalidRequestError)
    );
    assert_eq!(err.param.as_deref(), Some("amount_to_capture"));

    let captured = CapturePaymentIntent::new(pi.id.clone())
        .amount_to_capture(6_000)
        .send(&client)
        .await
        .expect("capture");
    assert_eq!(captured.status, PaymentIntentStatus::Succeeded);
    assert_eq!(
        (captured.amount_received, captured.amount_capturable),
        (6_000, 0)
    );
    let charge = RetrieveCharge::new(charge_id)
        .send(&client)
        .await
        .expect("charge");
    assert!(charge.captured);
    assert_eq!(
        (charge.amount_captured, charge.amount_refunded),
        (6_000, 4_000)
    );

    // Capturing twice is refused.
    let (err, _) = stripe_error(CapturePaymentIntent::new(pi.id.clone()).send(&client).await);
    assert_eq!(err.code, Some(ApiErrorsCode::PaymentIntentUnexpectedState));

    // An authorization left uncaptured past capture_before is canceled.
    let held = off_session_payment(2_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("authorize");
    fake.advance_clock(Duration::from_secs(8 * 24 * 3600));
    let expired = RetrievePaymentIntent::new(held.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(expired.status, PaymentIntentStatus::Canceled);
    assert_eq!(
        expired.cancellation_reason.as_ref().map(|r| r.as_str()),
        Some("automatic")
    );
}

#[tokio::test]
async fn cancel_releases_the_authorization() {
    let (_fake, client, customer) = fake_with_customer().await;
    let pi = off_session_payment(3_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("authorize");
    let canceled = CancelPaymentIntent::new(pi.id.clone())
        .cancellation_reason(CancelPaymentIntentCancellationReason::RequestedByCustomer)
        .send(&client)
        .await
        .expect("cancel");
    assert_eq!(canceled.status, PaymentIntentStatus::Canceled);
    assert_eq!(
        canceled.cancellation_reason.as_ref().map(|r| r.as_str()),
        Some("requested_by_customer")
    );
    assert!(canceled.canceled_at.is_some());
    assert_eq!(canceled.amount_capturable, 0);

    let (err, status) = stripe_error(CancelPaymentIntent::new(pi.id.clone()).send(&client).await);
    assert_eq!(
        (status, err.code),
        (400, Some(ApiErrorsCode::PaymentIntentUnexpectedState))
    );
}

#[tokio::test]
async fn refunds_partial_then_over_refund_rejected() {
    let (_fake, client, customer) = fake_with_customer().await;
    let pi = off_session_payment(10_000, &customer, "pm_card_visa")
        .send(&client)
        .await
        .expect("payment");

    let refund = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .amount(3_000)
        .metadata([("refund_id".to_string(), "r1".to_string())])
        .send(&client)
        .await
        .expect("refund");
    assert!(refund.id.as_str().starts_with("re_"));
    assert_eq!(refund.amount, 3_000);
    assert_eq!(refund.status.as_deref(), Some("succeeded"));
    let fetched = RetrieveRefund::new(refund.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(fetched.id, refund.id);

    let (err, status) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .amount(8_000)
            .send(&client)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(err.code, Some(ApiErrorsCode::AmountTooLarge));
    assert_eq!(
        err.message.as_deref(),
        Some("Refund amount (€80.00) is greater than unrefunded amount on charge (€70.00)")
    );

    let rest = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .send(&client)
        .await
        .expect("refund the rest");
    assert_eq!(rest.amount, 7_000);
    let (err, _) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .send(&client)
            .await,
    );
    assert_eq!(err.code, Some(ApiErrorsCode::ChargeAlreadyRefunded));

    let listed = ListRefund::new()
        .payment_intent(pi.id.as_str())
        .send(&client)
        .await
        .expect("list");
    assert_eq!(listed.data.len(), 2);
    let charge = RetrieveCharge::new(pi.latest_charge.expect("charge").id().clone())
        .send(&client)
        .await
        .expect("charge");
    assert!(charge.refunded);
    assert_eq!(charge.refunds.map(|r| r.data.len()), Some(2));
}
