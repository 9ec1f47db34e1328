//! The adapter against localstripe (a fake Stripe API in Python), for what it can serve:
//! customers, saved cards and SetupIntents. Its PaymentIntents, its events and server-side
//! set-up confirmations are the known gaps, pinned down by tests so that they stay visible (and
//! a test fails, to be updated, the day one closes).
//!
//! localstripe ignores `Idempotency-Key` and `Stripe-Account`, so these tests run on the
//! platform; keys and accounts are covered against the fake Stripe server. It refuses
//! `allowed_payment_method_types`, so the adapter runs with `card_only` off here.

use std::time::Duration;

use billing_core::ids::{CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::CardRef;
use billing_core::ports::{
    GatewayError, NewGatewayCustomer, PaymentGateway, PaymentRequest, Presence, SetupStatus,
};
use billing_stripe::{StripeConfig, StripeGateway};
use billing_testservers::LocalStripe;
use stripe::ClientBuilder;
use stripe_payment::payment_method::{
    CreatePaymentMethod, CreatePaymentMethodCard, CreatePaymentMethodCardDetailsParams,
    CreatePaymentMethodType,
};

fn config(server: &LocalStripe) -> StripeConfig {
    StripeConfig::new(server.secret_key())
        .with_base_url(server.base_url())
        .with_timeout(Duration::from_secs(10))
        .with_retries(1, Duration::from_millis(20))
        .with_card_only(false)
}

async fn start() -> (LocalStripe, StripeGateway) {
    let server = tokio::task::spawn_blocking(LocalStripe::start)
        .await
        .expect("task")
        .expect("localstripe starts (needs python3 and, the first time, PyPI)");
    let gateway = StripeGateway::new(config(&server)).expect("client");
    (server, gateway)
}

async fn customer(gateway: &StripeGateway, id: &str) -> String {
    gateway
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account: None,
            customer: CustomerId::new(id).expect("id"),
            name: "Ada Lovelace".into(),
            email: Some("ada@example.com".into()),
        })
        .await
        .expect("customer created")
}

/// A card made from its number, as a card form would (localstripe knows only the
/// `pm_card_visa` family of test ids).
async fn card_from_number(server: &LocalStripe, number: &str) -> String {
    let client = ClientBuilder::new(server.secret_key())
        .url(server.base_url())
        .build()
        .expect("client");
    CreatePaymentMethod::new()
        .type_(CreatePaymentMethodType::Card)
        .card(CreatePaymentMethodCard::CardDetailsParams(
            CreatePaymentMethodCardDetailsParams {
                cvc: Some("123".into()),
                ..CreatePaymentMethodCardDetailsParams::new(11, 2031, number)
            },
        ))
        .send(&client)
        .await
        .expect("payment method")
        .id
        .to_string()
}

#[tokio::test]
async fn customers_and_saved_cards() {
    let (server, gateway) = start().await;
    let customer = customer(&gateway, "c-1").await;
    assert!(customer.starts_with("cus_"), "{customer}");
    assert_eq!(gateway.list_cards(None, &customer).await, Ok(vec![]));

    let visa = gateway
        .attach_card(None, &customer, "pm_card_visa")
        .await
        .expect("visa attached");
    assert_ne!(
        visa.payment_method, "pm_card_visa",
        "saved under its own id"
    );
    assert_eq!(
        (
            visa.brand.as_str(),
            visa.last4.as_str(),
            visa.exp_month,
            visa.exp_year
        ),
        ("visa", "4242", 12, 2030)
    );
    let number = card_from_number(&server, "5555555555554444").await;
    let mastercard = gateway
        .attach_card(None, &customer, &number)
        .await
        .expect("mastercard attached");
    // localstripe calls every card a visa; the number's last digits and expiry are kept.
    assert_eq!(
        (
            mastercard.last4.as_str(),
            mastercard.exp_month,
            mastercard.exp_year
        ),
        ("4444", 11, 2031)
    );

    let listed = gateway.list_cards(None, &customer).await.expect("list");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|c| !c.is_default));

    gateway
        .set_default_card(None, &customer, &mastercard.payment_method)
        .await
        .expect("default set");
    let listed = gateway.list_cards(None, &customer).await.expect("list");
    let defaults: Vec<_> = listed
        .iter()
        .filter(|c| c.is_default)
        .map(|c| c.payment_method.as_str())
        .collect();
    assert_eq!(defaults, vec![mastercard.payment_method.as_str()]);

    gateway
        .detach_card(None, &visa.payment_method)
        .await
        .expect("detached");
    let listed = gateway.list_cards(None, &customer).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|c| c.payment_method.as_str())
            .collect::<Vec<_>>(),
        vec![mastercard.payment_method.as_str()]
    );
    // A gap of localstripe, not of the adapter: it lets a card be detached twice, where
    // Stripe (and the fake Stripe, in the contract suite) answer that it is not attached.
    assert_eq!(
        gateway.detach_card(None, &visa.payment_method).await,
        Ok(())
    );

    // Stripe refuses to save a card that declines; localstripe does too.
    assert!(matches!(
        gateway
            .attach_card(None, &customer, "pm_card_visa_chargeDeclined")
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    assert!(matches!(
        gateway.list_cards(None, "cus_doesnotexist").await,
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        gateway
            .attach_card(None, &customer, "pm_doesnotexist")
            .await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn card_setups() {
    let (_server, gateway) = start().await;
    let customer = customer(&gateway, "c-2").await;
    let setup = gateway
        .start_card_setup(None, &customer, "pay_1:setup")
        .await
        .expect("set-up started");
    assert!(setup.reference.starts_with("seti_"), "{setup:?}");
    assert!(
        setup.client_secret.starts_with(&setup.reference),
        "{setup:?}"
    );
    let other = gateway
        .start_card_setup(None, &customer, "pay_2:setup")
        .await
        .expect("set-up started");
    assert_ne!(other.reference, setup.reference);
    // A gap of localstripe: it does not check that the customer exists (Stripe answers
    // `resource_missing`, which the contract suite checks against the fake Stripe).
    assert!(
        gateway
            .start_card_setup(None, "cus_doesnotexist", "pay_3:setup")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_restriction_to_cards_is_refused_by_localstripe() {
    let server = tokio::task::spawn_blocking(LocalStripe::start)
        .await
        .expect("task")
        .expect("localstripe starts");
    let strict = StripeGateway::new(config(&server).with_card_only(true)).expect("client");
    let customer = customer(&strict, "c-3").await;
    let refused = strict
        .start_card_setup(None, &customer, "pay_1:setup")
        .await;
    assert!(
        matches!(&refused, Err(GatewayError::InvalidRequest { message, .. }) if message.contains("allowed_payment_method_types")),
        "{refused:?}"
    );
}

/// THE GAP: localstripe's PaymentIntents are in an older shape than async-stripe 1.0 parses,
/// so charges, holds, captures and refunds cannot be tested against it (they are tested
/// against the fake Stripe server). The adapter reads an answer it cannot parse as an unknown
/// outcome, never as a failure: the charge may well have been made.
#[tokio::test]
async fn payment_intents_are_the_known_gap() {
    let (_server, gateway) = start().await;
    let customer = customer(&gateway, "c-4").await;
    let visa = gateway
        .attach_card(None, &customer, "pm_card_visa")
        .await
        .expect("visa attached");
    let payment = PaymentId::new("pay_gap").expect("id");
    let answer = gateway
        .charge(&PaymentRequest {
            account: None,
            payment: payment.clone(),
            idempotency_key: "pay_gap:attempt".into(),
            card: CardRef {
                gateway_customer: customer,
                payment_method: visa.payment_method,
            },
            amount: Money::from_minor(1_000, Currency::EUR),
            description: None,
            presence: Presence::OffSession,
        })
        .await;
    match answer {
        Err(GatewayError::UnknownOutcome(message)) => {
            assert!(message.contains("could not be read"), "{message}");
        }
        other => panic!(
            "localstripe's PaymentIntent was expected to be unreadable by async-stripe; got {other:?}. \
             If this now works, move the payment cases onto localstripe and drop this test."
        ),
    }
    // Nor does localstripe have Stripe's search API, which `find_payment` uses.
    assert!(matches!(
        gateway.find_payment(None, &payment).await,
        Err(GatewayError::NotFound(_))
    ));
}

/// A set-up is read back for its customer (nothing saved yet). THE GAPS: localstripe refuses
/// a server-side confirmation with a `return_url` (Stripe takes it, for the bank's page), and
/// has no events list in a shape async-stripe reads; both are tested against the fake Stripe.
#[tokio::test]
async fn card_setups_are_read_back_and_confirming_them_is_a_known_gap() {
    let (_server, gateway) = start().await;
    let customer = customer(&gateway, "c-5").await;
    let setup = gateway
        .start_card_setup(None, &customer, "pay_5:setup")
        .await
        .expect("set-up started");
    let read = gateway
        .card_setup(None, &setup.reference)
        .await
        .expect("read back");
    assert_eq!(read.reference, setup.reference);
    assert_eq!(read.gateway_customer, customer);
    assert!(
        matches!(&read.status, SetupStatus::Failed(f) if f.code == "setup_incomplete"),
        "{read:?}"
    );
    let confirmed = gateway
        .confirm_card_setup(
            None,
            &setup.reference,
            "pm_card_visa",
            "https://pay.example.com/cards/token/return",
        )
        .await;
    assert!(
        matches!(&confirmed, Err(GatewayError::InvalidRequest { message, .. }) if message.contains("return_url")),
        "localstripe was expected to refuse `return_url`; got {confirmed:?}. If this now works, \
         assert the card is saved and drop this gap."
    );
    assert!(matches!(
        gateway.payment_record(None, "pi_doesnotexist").await,
        Err(GatewayError::NotFound(_))
    ));
    let since = chrono::DateTime::from_timestamp(0, 0).expect("epoch");
    assert!(
        matches!(
            gateway.events_since(None, since).await,
            Err(GatewayError::Unavailable(_))
        ),
        "an unreadable list is Stripe unavailable, never an empty one"
    );
}
