//! Card set-ups: started, confirmed on the server with the customer's card, waiting for the
//! challenge when the card asks, and what a set-up card then allows.

mod common;

use billing_core::ports::{GatewayError, GatewayStatus, PaymentGateway, SetupStatus};

use common::{ACCT, RETURN_URL, acct, customer, request, sandbox, usd};

#[tokio::test]
async fn a_card_setup_saves_the_card_when_confirmed() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "c1").await;
    let setup = gateway
        .start_card_setup(acct(), &customer, "pay_1:setup")
        .await
        .expect("started");
    assert!(
        setup
            .client_secret
            .starts_with(&format!("{}_secret_", setup.reference))
    );
    let replay = gateway
        .start_card_setup(acct(), &customer, "pay_1:setup")
        .await
        .expect("replayed");
    assert_eq!(replay, setup);
    let before = gateway
        .card_setup(acct(), &setup.reference)
        .await
        .expect("read");
    assert_eq!(before.status, SetupStatus::Processing, "no card yet");
    let pm = gateway
        .create_payment_method_from_card("4242424242424242", 8, 2032, "321")
        .expect("valid");
    let state = gateway
        .confirm_card_setup(acct(), &setup.reference, &pm, RETURN_URL)
        .await
        .expect("confirmed");
    let SetupStatus::Succeeded(card) = &state.status else {
        panic!("expected the card saved, got {state:?}");
    };
    assert_eq!(card.payment_method, pm, "a card-form method keeps its id");
    assert_eq!((card.exp_month, card.exp_year), (8, 2032));
    assert_eq!(state.gateway_customer, customer);
    let listed = gateway.list_cards(acct(), &customer).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last4, "4242");
    assert!(
        matches!(
            gateway
                .confirm_card_setup(acct(), &setup.reference, "pm_card_visa", RETURN_URL)
                .await,
            Err(GatewayError::InvalidRequest { .. })
        ),
        "a set-up that succeeded is done"
    );
    assert!(matches!(
        gateway
            .confirm_card_setup(acct(), "seti_nope", "pm_card_visa", RETURN_URL)
            .await,
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        gateway
            .card_setup(Some("acct_other".into()), &setup.reference)
            .await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_set_up_card_that_asked_once_charges_without_the_customer() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "c1").await;
    let setup = gateway
        .start_card_setup(acct(), &customer, "setup-1")
        .await
        .expect("started");
    let asked = gateway
        .confirm_card_setup(
            acct(),
            &setup.reference,
            "pm_card_authenticationRequiredOnSetup",
            RETURN_URL,
        )
        .await
        .expect("answered");
    let SetupStatus::RequiresAction(next) = &asked.status else {
        panic!("expected the challenge, got {asked:?}");
    };
    assert_eq!(next.client_secret, setup.client_secret);
    assert!(
        next.redirect_url.as_deref().is_some_and(
            |url| url.starts_with(&format!("/sandbox/authenticate/{}?token=", setup.reference))
        ),
        "{next:?}"
    );
    assert!(
        gateway
            .list_cards(acct(), &customer)
            .await
            .expect("listed")
            .is_empty(),
        "not saved before the customer authenticates"
    );
    gateway
        .authenticate(ACCT, &setup.reference, true)
        .expect("completed");
    let read = gateway
        .card_setup(acct(), &setup.reference)
        .await
        .expect("read");
    let SetupStatus::Succeeded(card) = read.status else {
        panic!("expected the card saved, got {read:?}");
    };
    assert_eq!(card.last4, "3155");
    let paid = gateway
        .charge(&request(
            "pay_1",
            &customer,
            &card.payment_method,
            usd(5_000),
        ))
        .await
        .expect("answered");
    assert_eq!(paid.status, GatewayStatus::Succeeded, "{paid:?}");
    let held = gateway
        .authorize(&request(
            "pay_2",
            &customer,
            &card.payment_method,
            usd(5_000),
        ))
        .await
        .expect("answered");
    assert_eq!(held.status, GatewayStatus::RequiresCapture, "{held:?}");
}

#[tokio::test]
async fn a_failed_challenge_or_a_decline_lets_another_card_be_tried() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "c1").await;
    let setup = gateway
        .start_card_setup(acct(), &customer, "setup-1")
        .await
        .expect("started");
    let declined = gateway
        .confirm_card_setup(
            acct(),
            &setup.reference,
            "pm_card_chargeDeclinedInsufficientFunds",
            RETURN_URL,
        )
        .await
        .expect("a decline is an answer");
    assert!(
        matches!(&declined.status, SetupStatus::Failed(f) if f.decline_code.as_deref() == Some("insufficient_funds")),
        "{declined:?}"
    );
    let typed = gateway
        .create_payment_method_from_card("4000000000003220", 2, 2033, "123")
        .expect("valid");
    let asked = gateway
        .confirm_card_setup(acct(), &setup.reference, &typed, RETURN_URL)
        .await
        .expect("answered");
    assert!(
        matches!(asked.status, SetupStatus::RequiresAction(_)),
        "{asked:?}"
    );
    gateway
        .authenticate(ACCT, &setup.reference, false)
        .expect("failed");
    let failed = gateway
        .card_setup(acct(), &setup.reference)
        .await
        .expect("read");
    assert!(
        matches!(&failed.status, SetupStatus::Failed(f) if f.code == "setup_intent_authentication_failure"),
        "{failed:?}"
    );
    assert!(
        matches!(
            gateway.authenticate(ACCT, &setup.reference, true),
            Err(GatewayError::InvalidRequest { .. })
        ),
        "nothing waits for the customer any more"
    );
    let saved = gateway
        .confirm_card_setup(acct(), &setup.reference, "pm_card_mastercard", RETURN_URL)
        .await
        .expect("answered");
    assert!(
        matches!(saved.status, SetupStatus::Succeeded(_)),
        "{saved:?}"
    );
    let listed = gateway.list_cards(acct(), &customer).await.expect("listed");
    assert_eq!(
        listed.iter().map(|c| c.last4.as_str()).collect::<Vec<_>>(),
        vec!["4444"]
    );
}

#[tokio::test]
async fn a_set_up_card_stays_the_customers() {
    let (gateway, _) = sandbox();
    let ada = customer(&gateway, acct(), "ada").await;
    let bob = customer(&gateway, acct(), "bob").await;
    let visa = gateway
        .attach_card(acct(), &ada, "pm_card_visa")
        .await
        .expect("saved");
    let setup = gateway
        .start_card_setup(acct(), &bob, "setup-bob")
        .await
        .expect("started");
    assert!(
        matches!(
            gateway
                .confirm_card_setup(acct(), &setup.reference, &visa.payment_method, RETURN_URL)
                .await,
            Err(GatewayError::InvalidRequest { .. })
        ),
        "another customer's card"
    );
    assert!(matches!(
        gateway
            .confirm_card_setup(acct(), &setup.reference, "pm_nope", RETURN_URL)
            .await,
        Err(GatewayError::NotFound(_))
    ));
    let state = gateway
        .card_setup(acct(), &setup.reference)
        .await
        .expect("read");
    assert_eq!(
        state.status,
        SetupStatus::Processing,
        "refusals changed nothing"
    );
    assert_eq!(state.gateway_customer, bob);
}
