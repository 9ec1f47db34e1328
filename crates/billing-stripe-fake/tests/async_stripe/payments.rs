//! Charging a card: successes, declines, 3-D Secure, and finding payments by search.

use stripe::{ApiErrorsCode, ApiErrorsType};
use stripe_core::PaymentIntentStatus;
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::{
    CreatePaymentIntent, ListPaymentIntent, RetrievePaymentIntent, SearchPaymentIntent,
};
use stripe_payment::payment_method::AttachPaymentMethod;
use stripe_shared::{PaymentIntent, PaymentIntentAllowedPaymentMethodTypes};
use stripe_types::{Currency, Expandable};

use super::{fake_with_customer, off_session_payment, stripe_error};

#[tokio::test]
async fn payment_intent_automatic_success_with_charge() {
    let (_fake, client, customer) = fake_with_customer().await;
    let pi = off_session_payment(12_000, &customer, "pm_card_visa")
        .metadata([("payment_id".to_string(), "pay_1".to_string())])
        .description("Booking #1")
        .send(&client)
        .await
        .expect("payment");
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    assert_eq!((pi.amount_received, pi.amount_capturable), (12_000, 0));
    assert_eq!(pi.currency, Currency::EUR);
    assert_eq!(
        pi.metadata.get("payment_id").map(String::as_str),
        Some("pay_1")
    );
    let charge_id = pi.latest_charge.as_ref().expect("charge").id().clone();
    assert!(charge_id.as_str().starts_with("ch_"));

    let charge = RetrieveCharge::new(charge_id.clone())
        .send(&client)
        .await
        .expect("charge");
    assert!(charge.captured && charge.paid);
    assert_eq!(charge.amount_captured, 12_000);
    assert_eq!(
        charge.payment_intent.as_ref().map(|p| p.id().clone()),
        Some(pi.id.clone())
    );

    // expand[]=latest_charge gives the object.
    let expanded = RetrievePaymentIntent::new(pi.id.clone())
        .expand([String::from("latest_charge")])
        .send(&client)
        .await
        .expect("retrieve");
    assert!(matches!(
        expanded.latest_charge,
        Some(Expandable::Object(_))
    ));

    let listed = ListPaymentIntent::new()
        .customer(&customer)
        .send(&client)
        .await
        .expect("list");
    assert_eq!(listed.data.len(), 1);
}

#[tokio::test]
async fn payment_intent_decline_is_a_card_error_with_decline_code() {
    let (_fake, client, customer) = fake_with_customer().await;
    let (err, status) = stripe_error(
        off_session_payment(5_000, &customer, "pm_card_chargeDeclinedInsufficientFunds")
            .send(&client)
            .await,
    );
    assert_eq!(status, 402);
    assert_eq!(err.type_, ApiErrorsType::CardError);
    assert_eq!(err.code, Some(ApiErrorsCode::CardDeclined));
    assert_eq!(err.decline_code.as_deref(), Some("insufficient_funds"));
    assert!(err.charge.as_deref().is_some_and(|c| c.starts_with("ch_")));
    let pi: PaymentIntent = err.payment_intent.expect("payment_intent in the error");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresPaymentMethod);
    let last = pi.last_payment_error.expect("last_payment_error");
    assert_eq!(last.decline_code.as_deref(), Some("insufficient_funds"));

    let again = RetrievePaymentIntent::new(pi.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(again.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert!(again.payment_method.is_none());

    // A card saved with Stripe's chargeCustomerFail card attaches, then fails.
    let pm = AttachPaymentMethod::new("pm_card_chargeCustomerFail")
        .customer(&customer)
        .send(&client)
        .await
        .expect("attach");
    let (err, status) = stripe_error(
        off_session_payment(5_000, &customer, pm.id.as_str())
            .send(&client)
            .await,
    );
    assert_eq!(
        (status, err.decline_code.as_deref()),
        (402, Some("generic_decline"))
    );
}

#[tokio::test]
async fn payment_intent_requires_action() {
    let (fake, client, customer) = fake_with_customer().await;

    // On session: 3-D Secure is needed.
    let pi = CreatePaymentIntent::new(8_000, Currency::EUR)
        .customer(&customer)
        .payment_method("pm_card_authenticationRequired")
        .allowed_payment_method_types([PaymentIntentAllowedPaymentMethodTypes::Card])
        .confirm(true)
        .send(&client)
        .await
        .expect("payment");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresAction);
    assert_eq!(
        pi.next_action.as_ref().map(|a| a.type_.as_str()),
        Some("use_stripe_sdk")
    );
    let done = fake
        .complete_authentication(None, pi.id.as_str(), true)
        .expect("authenticate");
    assert_eq!(done["status"], "succeeded");

    // Off session the same card is declined with authentication_required.
    let (err, status) = stripe_error(
        off_session_payment(8_000, &customer, "pm_card_threeDSecure2Required")
            .send(&client)
            .await,
    );
    assert_eq!(status, 402);
    assert_eq!(err.code, Some(ApiErrorsCode::AuthenticationRequired));

    // On-session confirmation with automatic payment methods needs a return_url.
    let (err, status) = stripe_error(
        CreatePaymentIntent::new(8_000, Currency::EUR)
            .payment_method("pm_card_visa")
            .confirm(true)
            .send(&client)
            .await,
    );
    assert_eq!(status, 400);
    assert!(err.message.unwrap_or_default().contains("return_url"));
}

#[tokio::test]
async fn search_by_metadata() {
    let (_fake, client, customer) = fake_with_customer().await;
    for n in 1..=3 {
        off_session_payment(1_000 * n, &customer, "pm_card_visa")
            .metadata([
                ("payment_id".to_string(), format!("pay_{n}")),
                // A `%` in a parameter needs serde_qs >= 1.1.3 on async-stripe's side.
                ("note".to_string(), "10% off".to_string()),
            ])
            .send(&client)
            .await
            .expect("payment");
    }
    let found = SearchPaymentIntent::new("metadata['payment_id']:'pay_2'")
        .send(&client)
        .await
        .expect("search");
    assert_eq!(found.data.len(), 1);
    assert_eq!(found.data[0].amount, 2_000);
    assert_eq!(
        found.data[0].metadata.get("note").map(String::as_str),
        Some("10% off")
    );
    assert!(!found.has_more);
    assert_eq!(found.next_page, None);

    let page = SearchPaymentIntent::new("status:'succeeded' AND amount>=2000")
        .limit(1)
        .send(&client)
        .await
        .expect("search");
    assert_eq!(page.data.len(), 1);
    assert!(page.has_more);
    let next = SearchPaymentIntent::new("status:'succeeded' AND amount>=2000")
        .limit(1)
        .page(page.next_page.expect("next page"))
        .send(&client)
        .await
        .expect("page 2");
    assert_eq!(next.data.len(), 1);
    assert_ne!(next.data[0].id, page.data[0].id);
}
