//! Stripe's amount rules: supported currencies, minimum charge amounts, the three-decimal
//! rule, and the bounds of captures and refunds.

use stripe::{ApiErrorsCode, ApiErrorsType};
use stripe_core::PaymentIntentCaptureMethod;
use stripe_core::payment_intent::{CapturePaymentIntent, CreatePaymentIntent, UpdatePaymentIntent};
use stripe_core::refund::CreateRefund;
use stripe_types::Currency;

use super::{fake_with_customer, off_session_payment, stripe_error};

#[tokio::test]
async fn currencies_and_minimum_charge_amounts() {
    let (fake, client, customer) = fake_with_customer().await;

    // A currency Stripe does not take.
    let (err, status) = stripe_error(
        CreatePaymentIntent::new(5_000, Currency::Unknown("xyz".into()))
            .customer(&customer)
            .send(&client)
            .await,
    );
    assert_eq!(
        (status, err.type_),
        (400, ApiErrorsType::InvalidRequestError)
    );
    assert_eq!(err.param.as_deref(), Some("currency"));

    // Under Stripe's minimum: $0.50, £0.30, ¥50.
    let (err, status) = stripe_error(
        CreatePaymentIntent::new(49, Currency::USD)
            .customer(&customer)
            .send(&client)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(err.code, Some(ApiErrorsCode::AmountTooSmall));
    assert_eq!(err.param.as_deref(), Some("amount"));
    assert_eq!(
        err.message.as_deref(),
        Some("Amount must be at least $0.50 usd")
    );
    for (amount, currency, ok) in [
        (50, Currency::USD, true),
        (49, Currency::EUR, false),
        (29, Currency::GBP, false),
        (30, Currency::GBP, true),
        (49, Currency::JPY, false),
        (50, Currency::JPY, true),
        (49, Currency::CHF, false),
        (49, Currency::CAD, false),
        (49, Currency::AUD, false),
    ] {
        let result = CreatePaymentIntent::new(amount, currency.clone())
            .customer(&customer)
            .send(&client)
            .await;
        assert_eq!(result.is_ok(), ok, "{amount} {currency}");
    }

    // The minimum holds for confirmations too: an update cannot lower the amount under it.
    let pi = CreatePaymentIntent::new(1_000, Currency::EUR)
        .customer(&customer)
        .send(&client)
        .await
        .expect("create");
    let (err, _) = stripe_error(
        UpdatePaymentIntent::new(pi.id.clone())
            .amount(10)
            .send(&client)
            .await,
    );
    assert_eq!(err.code, Some(ApiErrorsCode::AmountTooSmall));
    let (err, _) = stripe_error(
        UpdatePaymentIntent::new(pi.id.clone())
            .currency(Currency::Unknown("abc".into()))
            .send(&client)
            .await,
    );
    assert_eq!(err.param.as_deref(), Some("currency"));
    drop(fake);
}

#[tokio::test]
async fn three_decimal_currencies_need_a_final_zero() {
    let (_fake, client, customer) = fake_with_customer().await;
    // 10.125 KWD cannot be charged; 10.120 can.
    let kwd = || Currency::Unknown("kwd".into());
    let (err, status) = stripe_error(
        CreatePaymentIntent::new(10_125, kwd())
            .customer(&customer)
            .send(&client)
            .await,
    );
    assert_eq!(
        (status, err.type_),
        (400, ApiErrorsType::InvalidRequestError)
    );
    assert_eq!(err.param.as_deref(), Some("amount"));
    let pi = CreatePaymentIntent::new(10_120, kwd())
        .customer(&customer)
        .payment_method("pm_card_visa")
        .confirm(true)
        .off_session(stripe_core::payment_intent::CreatePaymentIntentOffSession::Bool(true))
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("10.120 KWD");

    // Captures and refunds follow the same rule.
    let (err, _) = stripe_error(
        CapturePaymentIntent::new(pi.id.clone())
            .amount_to_capture(5_005)
            .send(&client)
            .await,
    );
    assert_eq!(err.param.as_deref(), Some("amount_to_capture"));
    CapturePaymentIntent::new(pi.id.clone())
        .amount_to_capture(5_000)
        .send(&client)
        .await
        .expect("capture 5.000 KWD");
    let (err, _) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .amount(1_001)
            .send(&client)
            .await,
    );
    assert_eq!(err.param.as_deref(), Some("amount"));
    let refund = CreateRefund::new()
        .payment_intent(pi.id.as_str())
        .amount(1_000)
        .send(&client)
        .await
        .expect("refund 1.000 KWD");
    assert_eq!(refund.amount, 1_000);
}

#[tokio::test]
async fn captures_and_refunds_are_bounded() {
    let (_fake, client, customer) = fake_with_customer().await;
    let pi = off_session_payment(3_000, &customer, "pm_card_visa")
        .capture_method(PaymentIntentCaptureMethod::Manual)
        .send(&client)
        .await
        .expect("hold");
    let (err, _) = stripe_error(
        CapturePaymentIntent::new(pi.id.clone())
            .amount_to_capture(3_001)
            .send(&client)
            .await,
    );
    assert_eq!(err.code, Some(ApiErrorsCode::AmountTooLarge));
    let (err, _) = stripe_error(
        CapturePaymentIntent::new(pi.id.clone())
            .amount_to_capture(0)
            .send(&client)
            .await,
    );
    assert_eq!(err.param.as_deref(), Some("amount_to_capture"));
    // Nothing captured: nothing to refund.
    let (err, status) = stripe_error(
        CreateRefund::new()
            .payment_intent(pi.id.as_str())
            .send(&client)
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(err.param.as_deref(), Some("payment_intent"));
}
