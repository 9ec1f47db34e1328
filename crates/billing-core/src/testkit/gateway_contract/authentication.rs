//! Paying and saving cards with the customer there (on-session): authentication asked of the
//! page, attempts given up, card set-ups confirmed on the server.

use crate::payment::gateway_key;
use crate::ports::{CancelRequest, GatewayStatus, PaymentGateway, Presence, SetupStatus};

use super::{GatewayFixture, customer, eur, payment_request};

const RETURN_URL: &str = "https://pay.example.com/pay/token/return";

fn on_session(save_card: bool) -> Presence {
    Presence::OnSession {
        return_url: RETURN_URL.into(),
        save_card,
    }
}

/// With the customer there, a card that demands authentication waits for them: the answer
/// carries what the page must do; the gateway finds the attempt waiting; giving it up cancels
/// it.
pub async fn on_session_authentication_asks_the_page<F: GatewayFixture>(fixture: F) {
    let customer = customer(&fixture, "sca_page").await;
    let mut request = payment_request(
        &fixture,
        "pay_sca_page",
        &customer,
        "pm_card_authenticationRequired",
        eur(4000),
    );
    request.presence = on_session(false);
    let answer = fixture.gateway().charge(&request).await.expect("answered");
    assert_eq!(answer.status, GatewayStatus::RequiresAction, "{answer:?}");
    let next = answer
        .next_action
        .clone()
        .expect("a next action for the page");
    assert!(!next.client_secret.is_empty());
    assert_eq!(answer.amount_received, eur(0));
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &request.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.status, GatewayStatus::RequiresAction);
    let canceled = fixture
        .gateway()
        .cancel(&CancelRequest {
            account: fixture.account(),
            payment_reference: answer.reference.clone(),
            idempotency_key: gateway_key(&request.payment, "cancel"),
        })
        .await
        .expect("given up");
    assert_eq!(canceled.status, GatewayStatus::Canceled);
    assert_eq!(canceled.amount_received, eur(0));
}

/// With the customer there, a card that needs nothing more is charged at once, and kept for
/// the customer when asked.
pub async fn on_session_charge_keeps_the_card_when_asked<F: GatewayFixture>(fixture: F) {
    let customer = customer(&fixture, "page_save").await;
    let mut request = payment_request(
        &fixture,
        "pay_page_save",
        &customer,
        "pm_card_visa",
        eur(2500),
    );
    request.presence = on_session(true);
    let paid = fixture.gateway().charge(&request).await.expect("answered");
    assert_eq!(paid.status, GatewayStatus::Succeeded, "{paid:?}");
    assert_eq!(paid.amount_received, eur(2500));
    assert_eq!(paid.next_action, None);
    let cards = fixture
        .gateway()
        .list_cards(fixture.account(), &customer)
        .await
        .expect("listed");
    assert!(
        cards.iter().any(|c| c.last4 == "4242"),
        "the card is kept for the customer: {cards:?}"
    );
}

/// With the customer there (a booking page's checkout), a hold is placed and the card kept
/// for the customer when asked: nothing is received until it is captured.
pub async fn on_session_hold_keeps_the_card_when_asked<F: GatewayFixture>(fixture: F) {
    let customer = customer(&fixture, "page_hold").await;
    let mut request = payment_request(
        &fixture,
        "pay_page_hold",
        &customer,
        "pm_card_mastercard",
        eur(3000),
    );
    request.presence = on_session(true);
    let held = fixture
        .gateway()
        .authorize(&request)
        .await
        .expect("answered");
    assert_eq!(held.status, GatewayStatus::RequiresCapture, "{held:?}");
    assert_eq!(held.amount_received, eur(0));
    assert_eq!(held.next_action, None);
    let cards = fixture
        .gateway()
        .list_cards(fixture.account(), &customer)
        .await
        .expect("listed");
    assert!(
        cards.iter().any(|c| c.last4 == "4444"),
        "the card is kept for the customer: {cards:?}"
    );
}

/// A card set-up confirmed on the server with a card that needs nothing more saves it for the
/// customer; reading the set-up back says the same, for the same customer.
pub async fn card_setup_confirms_on_session<F: GatewayFixture>(fixture: F) {
    let customer = customer(&fixture, "setup_ok").await;
    let gateway = fixture.gateway();
    let setup = gateway
        .start_card_setup(fixture.account(), &customer, "setup-contract-ok")
        .await
        .expect("started");
    let state = gateway
        .confirm_card_setup(
            fixture.account(),
            &setup.reference,
            "pm_card_visa",
            RETURN_URL,
        )
        .await
        .expect("confirmed");
    assert_eq!(state.reference, setup.reference);
    assert_eq!(state.gateway_customer, customer);
    let SetupStatus::Succeeded(card) = &state.status else {
        panic!("expected the card saved, got {state:?}");
    };
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("visa", "4242"));
    let read = gateway
        .card_setup(fixture.account(), &setup.reference)
        .await
        .expect("read back");
    assert_eq!(read.gateway_customer, customer);
    assert!(matches!(read.status, SetupStatus::Succeeded(_)), "{read:?}");
    let cards = gateway
        .list_cards(fixture.account(), &customer)
        .await
        .expect("listed");
    assert!(
        cards
            .iter()
            .any(|c| c.payment_method == card.payment_method),
        "{cards:?}"
    );
}

/// A card that asks for authentication when set up waits for the page; a declined card fails
/// the set-up, and another card can then be tried on it.
pub async fn card_setup_asks_for_authentication<F: GatewayFixture>(fixture: F) {
    let customer = customer(&fixture, "setup_sca").await;
    let gateway = fixture.gateway();
    let setup = gateway
        .start_card_setup(fixture.account(), &customer, "setup-contract-sca")
        .await
        .expect("started");
    let declined = gateway
        .confirm_card_setup(
            fixture.account(),
            &setup.reference,
            "pm_card_chargeDeclined",
            RETURN_URL,
        )
        .await
        .expect("a decline is an answer");
    assert!(
        matches!(declined.status, SetupStatus::Failed(_)),
        "{declined:?}"
    );
    let asked = gateway
        .confirm_card_setup(
            fixture.account(),
            &setup.reference,
            "pm_card_authenticationRequiredOnSetup",
            RETURN_URL,
        )
        .await
        .expect("answered");
    let SetupStatus::RequiresAction(next) = &asked.status else {
        panic!("expected authentication asked, got {asked:?}");
    };
    assert!(!next.client_secret.is_empty());
    let read = gateway
        .card_setup(fixture.account(), &setup.reference)
        .await
        .expect("read back");
    assert!(
        matches!(read.status, SetupStatus::RequiresAction(_)),
        "{read:?}"
    );
}
