//! 3-D Secure as Stripe's test cards ask for it: on session, off session, and once set up.

use stripe::ApiErrorsCode;
use stripe_core::payment_intent::{CreatePaymentIntent, RetrievePaymentIntent};
use stripe_core::setup_intent::{
    ConfirmSetupIntent, CreateSetupIntent, CreateSetupIntentUsage, RetrieveSetupIntent,
};
use stripe_core::{PaymentIntentStatus, SetupIntentStatus};
use stripe_payment::payment_method::{ListPaymentMethod, ListPaymentMethodType};
use stripe_shared::{
    PaymentIntentAllowedPaymentMethodTypes, PaymentIntentSetupFutureUsage,
    SetupIntentAllowedPaymentMethodTypes,
};
use stripe_types::Currency;

use super::{fake_with_customer, off_session_payment, stripe_error};

const ON_SETUP: &str = "pm_card_authenticationRequiredOnSetup";

/// An on-session payment confirmed by the server, with a page to come back to.
fn on_session_payment(amount: i64, customer: &str, pm: &str) -> CreatePaymentIntent {
    CreatePaymentIntent::new(amount, Currency::EUR)
        .customer(customer)
        .payment_method(pm)
        .allowed_payment_method_types([PaymentIntentAllowedPaymentMethodTypes::Card])
        .confirm(true)
        .return_url("https://shop.example/paid?booking=7")
}

#[tokio::test]
async fn card_asking_unless_set_up() {
    let (fake, client, customer) = fake_with_customer().await;

    // Not set up: off session it is declined with authentication_required.
    let (err, status) = stripe_error(
        off_session_payment(5_000, &customer, ON_SETUP)
            .send(&client)
            .await,
    );
    assert_eq!(status, 402);
    assert_eq!(err.code, Some(ApiErrorsCode::AuthenticationRequired));
    assert_eq!(err.decline_code.as_deref(), Some("authentication_required"));
    let left = err.payment_intent.expect("the intent in the error");
    assert_eq!(left.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert_eq!(
        left.last_payment_error.and_then(|e| e.code),
        Some(ApiErrorsCode::AuthenticationRequired)
    );

    // Set up with a SetupIntent: it asks, the customer authenticates, the card is saved.
    let si = CreateSetupIntent::new()
        .customer(&customer)
        .usage(CreateSetupIntentUsage::OffSession)
        .allowed_payment_method_types([SetupIntentAllowedPaymentMethodTypes::Card])
        .send(&client)
        .await
        .expect("setup intent");
    let asked = ConfirmSetupIntent::new(si.id.clone())
        .payment_method(ON_SETUP)
        .send(&client)
        .await
        .expect("confirm");
    assert_eq!(asked.status, SetupIntentStatus::RequiresAction);
    let action = asked.next_action.expect("next_action");
    assert_eq!(action.type_, "use_stripe_sdk");
    let done = fake
        .complete_authentication(None, si.id.as_str(), true)
        .expect("authenticate");
    assert_eq!(done["status"], "succeeded");
    let si = RetrieveSetupIntent::new(si.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    let pm = si.payment_method.expect("card").id().to_string();
    let cards = ListPaymentMethod::new()
        .customer(&customer)
        .type_(ListPaymentMethodType::Card)
        .send(&client)
        .await
        .expect("cards");
    assert_eq!(cards.data.len(), 1);

    // Off session it now goes through without asking.
    let paid = off_session_payment(5_000, &customer, &pm)
        .send(&client)
        .await
        .expect("off-session payment of the set-up card");
    assert_eq!(paid.status, PaymentIntentStatus::Succeeded);

    // On session it still asks: a redirect to the fake's page, which fails here.
    let pi = on_session_payment(2_000, &customer, &pm)
        .send(&client)
        .await
        .expect("on-session payment");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresAction);
    assert!(pi.client_secret.is_some());
    let redirect = pi
        .next_action
        .and_then(|a| a.redirect_to_url)
        .expect("redirect_to_url");
    assert_eq!(
        redirect.return_url.as_deref(),
        Some("https://shop.example/paid?booking=7")
    );
    let page = format!("{}_fake/3ds/{}", fake.base_url(), pi.id);
    assert_eq!(redirect.url.as_deref(), Some(page.as_str()));
    fake.complete_authentication(None, pi.id.as_str(), false)
        .expect("fail authentication");
    let failed = RetrievePaymentIntent::new(pi.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(failed.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert_eq!(
        failed.last_payment_error.and_then(|e| e.code),
        Some(ApiErrorsCode::PaymentIntentAuthenticationFailure)
    );
    // Completing twice is refused.
    assert!(
        fake.complete_authentication(None, pi.id.as_str(), true)
            .is_err()
    );
}

#[tokio::test]
async fn authenticated_payment_saves_the_card_for_off_session() {
    let (fake, client, customer) = fake_with_customer().await;
    let pi = on_session_payment(3_000, &customer, ON_SETUP)
        .setup_future_usage(PaymentIntentSetupFutureUsage::OffSession)
        .send(&client)
        .await
        .expect("payment");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresAction);
    let pm = pi.payment_method.as_ref().expect("card").id().to_string();
    let done = fake
        .complete_authentication(None, pi.id.as_str(), true)
        .expect("authenticate");
    assert_eq!(done["status"], "succeeded");
    assert_eq!(fake.object(None, &pm).expect("card")["customer"], customer);
    let later = off_session_payment(3_000, &customer, &pm)
        .send(&client)
        .await
        .expect("off-session payment of the saved card");
    assert_eq!(later.status, PaymentIntentStatus::Succeeded);
}

#[tokio::test]
async fn cards_that_always_ask() {
    let (fake, client, customer) = fake_with_customer().await;
    for card in [
        "pm_card_authenticationRequired",
        "pm_card_threeDSecure2Required",
    ] {
        // Set up: it asks, and is saved.
        let si = CreateSetupIntent::new()
            .customer(&customer)
            .payment_method(card)
            .confirm(true)
            .return_url("https://shop.example/saved")
            .send(&client)
            .await
            .expect("setup intent");
        assert_eq!(si.status, SetupIntentStatus::RequiresAction, "{card}");
        let redirect = si
            .next_action
            .and_then(|a| a.redirect_to_url)
            .expect("redirect_to_url");
        assert!(
            redirect
                .url
                .is_some_and(|u| u.ends_with(&format!("/_fake/3ds/{}", si.id)))
        );
        fake.complete_authentication(None, si.id.as_str(), true)
            .expect("authenticate");
        let pm = fake.object(None, si.id.as_str()).expect("si")["payment_method"]
            .as_str()
            .expect("card")
            .to_owned();
        // Off session it is declined all the same.
        let (err, status) = stripe_error(
            off_session_payment(3_000, &customer, &pm)
                .send(&client)
                .await,
        );
        assert_eq!(
            (status, err.code),
            (402, Some(ApiErrorsCode::AuthenticationRequired)),
            "{card}"
        );
    }

    // A failed setup leaves the SetupIntent waiting for another card.
    let si = CreateSetupIntent::new()
        .customer(&customer)
        .payment_method("pm_card_threeDSecure2Required")
        .confirm(true)
        .send(&client)
        .await
        .expect("setup intent");
    fake.complete_authentication(None, si.id.as_str(), false)
        .expect("fail");
    let si = RetrieveSetupIntent::new(si.id.clone())
        .send(&client)
        .await
        .expect("retrieve");
    assert_eq!(si.status, SetupIntentStatus::RequiresPaymentMethod);
    assert_eq!(
        si.last_setup_error.and_then(|e| e.code),
        Some(ApiErrorsCode::SetupIntentAuthenticationFailure)
    );
}
