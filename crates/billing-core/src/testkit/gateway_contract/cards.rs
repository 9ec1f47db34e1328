//! Customers and their cards: saving, listing, the default card, set-ups, unknown objects.

use chrono::Datelike;

use crate::ports::PaymentGateway;

use super::{GatewayFixture, assert_not_found, capture_request, customer, eur, refund_request};

/// Cards are attached, listed with brand, last four digits and expiry, made default and
/// detached; a detached card is gone.
pub async fn cards_attach_list_default_detach<F: GatewayFixture>(fixture: F) {
    let gateway = fixture.gateway();
    let account = fixture.account();
    let customer = customer(&fixture, "cards").await;
    assert!(
        gateway
            .list_cards(account.clone(), &customer)
            .await
            .expect("list")
            .is_empty(),
        "a new customer has no card"
    );
    let visa = gateway
        .attach_card(account.clone(), &customer, "pm_card_visa")
        .await
        .expect("visa attached");
    assert_eq!((visa.brand.as_str(), visa.last4.as_str()), ("visa", "4242"));
    let mastercard = gateway
        .attach_card(account.clone(), &customer, "pm_card_mastercard")
        .await
        .expect("mastercard attached");
    assert_eq!(
        (mastercard.brand.as_str(), mastercard.last4.as_str()),
        ("mastercard", "4444")
    );
    assert_ne!(visa.payment_method, mastercard.payment_method);

    let listed = gateway
        .list_cards(account.clone(), &customer)
        .await
        .expect("list");
    assert_eq!(listed.len(), 2, "{listed:?}");
    let year = fixture.now().year();
    for card in &listed {
        assert!((1..=12).contains(&card.exp_month), "{card:?}");
        assert!(
            i64::from(card.exp_year) >= i64::from(year),
            "a test card does not expire in the past: {card:?}"
        );
        assert!(!card.is_default, "no default was set yet: {card:?}");
    }
    let listed_visa = listed
        .iter()
        .find(|c| c.payment_method == visa.payment_method)
        .expect("visa listed");
    assert_eq!(
        (
            listed_visa.brand.as_str(),
            listed_visa.last4.as_str(),
            listed_visa.exp_month,
            listed_visa.exp_year
        ),
        (
            visa.brand.as_str(),
            visa.last4.as_str(),
            visa.exp_month,
            visa.exp_year
        )
    );

    gateway
        .set_default_card(account.clone(), &customer, &mastercard.payment_method)
        .await
        .expect("default set");
    let listed = gateway
        .list_cards(account.clone(), &customer)
        .await
        .expect("list");
    let defaults: Vec<&str> = listed
        .iter()
        .filter(|c| c.is_default)
        .map(|c| c.payment_method.as_str())
        .collect();
    assert_eq!(defaults, vec![mastercard.payment_method.as_str()]);
    // Switching back and forth is not mistaken for a replay.
    gateway
        .set_default_card(account.clone(), &customer, &visa.payment_method)
        .await
        .expect("default set");
    gateway
        .set_default_card(account.clone(), &customer, &mastercard.payment_method)
        .await
        .expect("default set again");
    let listed = gateway
        .list_cards(account.clone(), &customer)
        .await
        .expect("list");
    assert!(
        listed
            .iter()
            .any(|c| c.is_default && c.payment_method == mastercard.payment_method),
        "{listed:?}"
    );

    gateway
        .detach_card(account.clone(), &visa.payment_method)
        .await
        .expect("detached");
    let listed = gateway
        .list_cards(account.clone(), &customer)
        .await
        .expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|c| c.payment_method.as_str())
            .collect::<Vec<_>>(),
        vec![mastercard.payment_method.as_str()]
    );
    assert_not_found(
        gateway.detach_card(account, &visa.payment_method).await,
        "detaching twice",
    );
}

/// Unknown customers and payment methods are [`GatewayError::NotFound`].
///
/// [`GatewayError::NotFound`]: crate::ports::GatewayError::NotFound
pub async fn unknown_objects_are_not_found<F: GatewayFixture>(fixture: F) {
    let gateway = fixture.gateway();
    let account = fixture.account();
    assert_not_found(
        gateway
            .list_cards(account.clone(), "cus_doesnotexist")
            .await,
        "cards of an unknown customer",
    );
    let customer = customer(&fixture, "unknown").await;
    assert_not_found(
        gateway
            .attach_card(account.clone(), &customer, "pm_doesnotexist")
            .await,
        "attaching an unknown payment method",
    );
    assert_not_found(
        gateway
            .attach_card(account.clone(), "cus_doesnotexist", "pm_card_visa")
            .await,
        "attaching to an unknown customer",
    );
    assert_not_found(
        gateway
            .capture(&capture_request(
                &fixture,
                "pi_doesnotexist",
                "pay_unknown_capture",
                eur(100),
                true,
            ))
            .await,
        "capturing an unknown payment",
    );
    assert_not_found(
        gateway
            .refund(&refund_request(
                &fixture,
                "pi_doesnotexist",
                "pay_unknown_refund",
                eur(100),
            ))
            .await,
        "refunding an unknown payment",
    );
}

/// A card set-up gives a reference and a client secret; an unknown customer is not found.
pub async fn card_setup_starts<F: GatewayFixture>(fixture: F) {
    let customer = customer(&fixture, "setup").await;
    let setup = fixture
        .gateway()
        .start_card_setup(fixture.account(), &customer, "pay_setup_1:setup")
        .await
        .expect("started");
    assert!(!setup.reference.is_empty());
    assert!(!setup.client_secret.is_empty());
    assert_ne!(setup.reference, setup.client_secret);
    let again = fixture
        .gateway()
        .start_card_setup(fixture.account(), &customer, "pay_setup_2:setup")
        .await
        .expect("started");
    assert_ne!(
        again.reference, setup.reference,
        "another key, another set-up"
    );
    assert_not_found(
        fixture
            .gateway()
            .start_card_setup(fixture.account(), "cus_doesnotexist", "pay_setup_3:setup")
            .await,
        "set-up for an unknown customer",
    );
}
