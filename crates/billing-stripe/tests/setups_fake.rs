//! Card set-ups confirmed on the server with the customer on the card page: saved at once,
//! declined (another card can be tried), or asking the customer to authenticate on the fake's
//! 3-D Secure page, then read back.

mod common;

use billing_core::ports::{GatewayError, PaymentGateway, SetupStatus};
use common::{ACCOUNT, RETURN_URL, account, browse, customer, sent, start};

#[tokio::test]
async fn a_card_needing_nothing_more_is_saved_for_the_customer() {
    let (fake, gateway) = start().await;
    let customer = customer(&gateway, "setup_ok").await;
    let setup = gateway
        .start_card_setup(account(), &customer, "setup-ok")
        .await
        .expect("started");
    let state = gateway
        .confirm_card_setup(
            account(),
            &setup.reference,
            "pm_card_mastercard",
            RETURN_URL,
        )
        .await
        .expect("confirmed");
    assert_eq!(state.reference, setup.reference);
    assert_eq!(state.gateway_customer, customer);
    let SetupStatus::Succeeded(card) = &state.status else {
        panic!("{state:?}");
    };
    assert_eq!(
        (card.brand.as_str(), card.last4.as_str()),
        ("mastercard", "4444")
    );
    let confirm = sent(
        &fake,
        "POST",
        &format!("/v1/setup_intents/{}/confirm", setup.reference),
    );
    assert_eq!(confirm.len(), 1);
    assert_eq!(confirm[0].params()["return_url"], RETURN_URL);
    assert!(confirm[0].idempotency_key.is_some());
    let usage = fake
        .object(Some(ACCOUNT), &setup.reference)
        .expect("the set-up")["usage"]
        .clone();
    assert_eq!(
        usage, "off_session",
        "kept for charges with the customer away"
    );
    let cards = gateway
        .list_cards(account(), &customer)
        .await
        .expect("listed");
    assert!(
        cards
            .iter()
            .any(|c| c.payment_method == card.payment_method),
        "{cards:?}"
    );
    // Submitted twice (a double click): Stripe refuses to confirm again, and the answer is
    // the set-up as it stands.
    let again = gateway
        .confirm_card_setup(
            account(),
            &setup.reference,
            "pm_card_mastercard",
            RETURN_URL,
        )
        .await
        .expect("answered");
    assert!(
        matches!(again.status, SetupStatus::Succeeded(_)),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_declined_card_fails_the_set_up_and_another_can_be_tried() {
    let (_fake, gateway) = start().await;
    let customer = customer(&gateway, "setup_declined").await;
    let setup = gateway
        .start_card_setup(account(), &customer, "setup-declined")
        .await
        .expect("started");
    let declined = gateway
        .confirm_card_setup(
            account(),
            &setup.reference,
            "pm_card_chargeDeclined",
            RETURN_URL,
        )
        .await
        .expect("a decline is an answer");
    let SetupStatus::Failed(failure) = &declined.status else {
        panic!("{declined:?}");
    };
    assert_eq!(failure.decline_code.as_deref(), Some("generic_decline"));
    assert!(!failure.message.is_empty());
    let read = gateway
        .card_setup(account(), &setup.reference)
        .await
        .expect("read");
    assert!(matches!(read.status, SetupStatus::Failed(_)), "{read:?}");
    let saved = gateway
        .confirm_card_setup(account(), &setup.reference, "pm_card_visa", RETURN_URL)
        .await
        .expect("confirmed");
    assert!(
        matches!(saved.status, SetupStatus::Succeeded(_)),
        "{saved:?}"
    );
}

#[tokio::test]
async fn a_card_asking_for_authentication_is_saved_once_the_customer_approves() {
    let (_fake, gateway) = start().await;
    let customer = customer(&gateway, "setup_sca").await;
    let setup = gateway
        .start_card_setup(account(), &customer, "setup-sca")
        .await
        .expect("started");
    let asked = gateway
        .confirm_card_setup(
            account(),
            &setup.reference,
            "pm_card_authenticationRequiredOnSetup",
            RETURN_URL,
        )
        .await
        .expect("answered");
    let SetupStatus::RequiresAction(next) = &asked.status else {
        panic!("{asked:?}");
    };
    assert!(next.client_secret.starts_with(&setup.reference), "{next:?}");
    let page = next.redirect_url.clone().expect("the bank's page");
    let approved = browse(&page, "POST", Some("result=approve")).await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let back = approved.location.expect("sent back");
    assert!(back.starts_with(RETURN_URL), "{back}");
    assert!(
        back.contains(&format!("setup_intent={}", setup.reference)),
        "{back}"
    );
    let read = gateway
        .card_setup(account(), &setup.reference)
        .await
        .expect("read");
    assert_eq!(read.gateway_customer, customer);
    let SetupStatus::Succeeded(card) = &read.status else {
        panic!("{read:?}");
    };
    assert_eq!(card.last4, "3155");
}

#[tokio::test]
async fn a_failed_authentication_fails_the_set_up() {
    let (fake, gateway) = start().await;
    let customer = customer(&gateway, "setup_sca_fail").await;
    let setup = gateway
        .start_card_setup(account(), &customer, "setup-sca-fail")
        .await
        .expect("started");
    gateway
        .confirm_card_setup(
            account(),
            &setup.reference,
            "pm_card_authenticationRequiredOnSetup",
            RETURN_URL,
        )
        .await
        .expect("answered");
    fake.complete_authentication(Some(ACCOUNT), &setup.reference, false)
        .expect("failed on the page");
    let read = gateway
        .card_setup(account(), &setup.reference)
        .await
        .expect("read");
    let SetupStatus::Failed(failure) = &read.status else {
        panic!("{read:?}");
    };
    assert_eq!(failure.code, "setup_intent_authentication_failure");
    assert!(
        failure.message.contains("authentication"),
        "{}",
        failure.message
    );
    let cards = gateway
        .list_cards(account(), &customer)
        .await
        .expect("listed");
    assert!(cards.is_empty(), "{cards:?}");
}

#[tokio::test]
async fn a_set_up_nobody_confirmed_has_no_card_and_an_unknown_one_is_not_found() {
    let (_fake, gateway) = start().await;
    let customer = customer(&gateway, "setup_open").await;
    let setup = gateway
        .start_card_setup(account(), &customer, "setup-open")
        .await
        .expect("started");
    let read = gateway
        .card_setup(account(), &setup.reference)
        .await
        .expect("read");
    assert!(
        matches!(&read.status, SetupStatus::Failed(f) if f.code == "setup_incomplete"),
        "{read:?}"
    );
    assert!(matches!(
        gateway.card_setup(account(), "seti_never_made").await,
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        gateway
            .confirm_card_setup(account(), "seti_never_made", "pm_card_visa", RETURN_URL)
            .await,
        Err(GatewayError::NotFound(_))
    ));
}
