//! Multicapture: holds that ask for it, partial captures that keep the rest capturable, the
//! final capture, and the refusals when it is not available.

use stripe::ApiErrorsType;
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, CreatePaymentIntent,
    CreatePaymentIntentPaymentMethodOptions, CreatePaymentIntentPaymentMethodOptionsCard,
    CreatePaymentIntentPaymentMethodOptionsCardRequestMulticapture, RetrievePaymentIntent,
};
use stripe_core::refund::CreateRefund;
use stripe_core::{PaymentIntentCaptureMethod, PaymentIntentStatus};
use stripe_shared::{
    PaymentFlowsPrivatePaymentMethodsCardDetailsApiResourceMulticaptureStatus as MulticaptureStatus,
    PaymentIntent, PaymentIntentPaymentMethodOptionsCardRequestMulticapture,
};
use stripe_types::Expandable;

use super::{fake_with_customer, off_session_payment, stripe_error};

/// A hold that asks for multicapture.
fn multicapture_hold(amount: i64, customer: &str) -> CreatePaymentIntent {
    let card = CreatePaymentIntentPaymentMethodOptionsCard {
        request_multicapture: Some(
            CreatePaymentIntentPaymentMethodOptionsCardRequestMulticapture::IfAvailable,
        ),
        ..Default::default()
    };
    off_session_payment(amount, customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .payment_method_options(CreatePaymentIntentPaymentMethodOptions {
            card: Some(card),
            ..Default::default()
        })
        .expand([String::from("latest_charge")])
}

fn multicapture_status(pi: &PaymentIntent) -> Option<MulticaptureStatus> {
    match &pi.latest_charge {
        Some(Expandable::Object(charge)) => charge
            .payment_method_details
            .as_ref()
            .and_then(|d| d.card.as_ref())
            .and_then(|c| c.multicapture.as_ref())
            .map(|m| m.status.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn partial_captures_then_final_capture() {
    let (fake, client, customer) = fake_with_customer().await;
    let pi = multicapture_hold(10_000, &customer)
        .send(&client)
        .await
        .expect("hold");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresCapture);
    assert_eq!(
        pi.payment_method_options
            .as_ref()
            .and_then(|o| o.card.as_ref())
            .and_then(|c| c.request_multicapture.clone()),
        Some(PaymentIntentPaymentMethodOptionsCardRequestMulticapture::IfAvailable)
    );
    assert_eq!(
        multicapture_status(&pi),
        Some(MulticaptureStatus::Available)
    );

    let first = CapturePaymentIntent::new(pi.id.clone())
        .amount_to_capture(3_000)
        .final_capture(false)
        .send(&client)
        .await
        .expect("first capture");
    assert_eq!(first.status, PaymentIntentStatus::RequiresCapture);
    assert_eq!(
        (first.amount_received, first.amount_capturable),
        (3_000, 7_000)
    );
    let second = CapturePaymentIntent::new(pi.id.clone())
        .amount_to_capture(2_000)
        .final_capture(false)
        .send(&client)
        .await
        .expect("second capture");
    assert_eq!(
        (second.amount_received, second.amount_capturable),
        (5_000, 5_000)
    );

    // What was captured can be refunded before the final capture.
    let refund = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .amount(1_000)
        .send(&client)
        .await
        .expect("refund of a captured part");
    assert_eq!(refund.amount, 1_000);
    let (err, _) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .amount(4_500)
            .send(&client)
            .await,
    );
    assert_eq!(err.param.as_deref(), Some("amount"));

    // The final capture closes it and releases the rest.
    let done = CapturePaymentIntent::new(pi.id.clone())
        .amount_to_capture(1_500)
        .send(&client)
        .await
        .expect("final capture");
    assert_eq!(done.status, PaymentIntentStatus::Succeeded);
    assert_eq!((done.amount_received, done.amount_capturable), (6_500, 0));
    let charge_id = done.latest_charge.as_ref().expect("charge").id().clone();
    let charge = RetrieveCharge::new(charge_id)
        .send(&client)
        .await
        .expect("charge");
    assert_eq!(charge.amount_captured, 6_500);
    // The refund and the released 3 500.
    assert_eq!(charge.amount_refunded, 4_500);
    assert!(!charge.refunded);

    let captured = fake.events_of_type("charge.captured");
    assert_eq!(captured.len(), 3);
    let updates = fake.events_of_type("payment_intent.amount_capturable_updated");
    // The authorization, then the two partial captures.
    let capturable: Vec<_> = updates
        .iter()
        .map(|e| e["data"]["object"]["amount_capturable"].as_i64())
        .collect();
    assert_eq!(capturable, vec![Some(10_000), Some(7_000), Some(5_000)]);
    assert_eq!(fake.events_of_type("payment_intent.succeeded").len(), 1);

    // Canceling a partly captured hold keeps what was captured: it ends succeeded.
    let pi = multicapture_hold(4_000, &customer)
        .send(&client)
        .await
        .expect("hold");
    CapturePaymentIntent::new(pi.id.clone())
        .amount_to_capture(1_000)
        .final_capture(false)
        .send(&client)
        .await
        .expect("partial capture");
    let ended = CancelPaymentIntent::new(pi.id.clone())
        .send(&client)
        .await
        .expect("cancel");
    assert_eq!(ended.status, PaymentIntentStatus::Succeeded);
    assert_eq!((ended.amount_received, ended.amount_capturable), (1_000, 0));
}

#[tokio::test]
async fn non_final_capture_needs_multicapture() {
    let (fake, client, customer) = fake_with_customer().await;

    // A hold that did not ask for multicapture.
    let plain = off_session_payment(5_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .expand([String::from("latest_charge")])
        .send(&client)
        .await
        .expect("hold");
    assert_eq!(
        multicapture_status(&plain),
        Some(MulticaptureStatus::Unavailable)
    );
    let (err, status) = stripe_error(
        CapturePaymentIntent::new(plain.id.clone())
            .amount_to_capture(1_000)
            .final_capture(false)
            .send(&client)
            .await,
    );
    assert_eq!(
        (status, err.type_),
        (400, ApiErrorsType::InvalidRequestError)
    );
    assert_eq!(err.param.as_deref(), Some("final_capture"));
    let untouched = RetrievePaymentIntent::new(plain.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(
        (untouched.amount_capturable, untouched.amount_received),
        (5_000, 0)
    );

    // An account without multicapture: the hold asks, the charge says unavailable.
    fake.set_multicapture(None, false);
    let asked = multicapture_hold(5_000, &customer)
        .send(&client)
        .await
        .expect("hold");
    assert_eq!(
        multicapture_status(&asked),
        Some(MulticaptureStatus::Unavailable)
    );
    let (err, _) = stripe_error(
        CapturePaymentIntent::new(asked.id.clone())
            .amount_to_capture(1_000)
            .final_capture(false)
            .send(&client)
            .await,
    );
    assert_eq!(err.param.as_deref(), Some("final_capture"));
    // A final partial capture still works, and releases the rest.
    let captured = CapturePaymentIntent::new(asked.id.clone())
        .amount_to_capture(1_000)
        .send(&client)
        .await
        .expect("final partial capture");
    assert_eq!(captured.status, PaymentIntentStatus::Succeeded);

    // Turned back on, the next hold gets it.
    fake.set_multicapture(None, true);
    let again = multicapture_hold(5_000, &customer)
        .send(&client)
        .await
        .expect("hold");
    assert_eq!(
        multicapture_status(&again),
        Some(MulticaptureStatus::Available)
    );
}
