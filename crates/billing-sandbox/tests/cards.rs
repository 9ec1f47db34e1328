//! Customers and their cards: Stripe's decline cards, card numbers typed into a card form,
//! cards kept per account, detached cards.

mod common;

use billing_core::ids::CustomerId;
use billing_core::payment::AUTHENTICATION_REQUIRED;
use billing_core::ports::{GatewayError, GatewayStatus, NewGatewayCustomer, PaymentGateway};
use billing_sandbox::CardError;

use common::{acct, customer, request, sandbox, usd, visa_customer};

#[tokio::test]
async fn decline_cards_by_id() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "c1").await;
    let cases = [
        (
            "pm_card_visa_chargeDeclinedExpiredCard",
            "expired_card",
            "expired_card",
        ),
        (
            "pm_card_chargeDeclinedIncorrectCvc",
            "incorrect_cvc",
            "incorrect_cvc",
        ),
        (
            "pm_card_chargeDeclinedProcessingError",
            "processing_error",
            "processing_error",
        ),
        (
            "pm_card_chargeDeclinedLostCard",
            "card_declined",
            "lost_card",
        ),
    ];
    for (n, (pm, code, decline)) in cases.into_iter().enumerate() {
        let answer = gateway
            .charge(&request(&format!("pay_{n}"), &customer, pm, usd(1_000)))
            .await
            .expect("answered");
        match answer.status {
            GatewayStatus::Failed(failure) => {
                assert_eq!(failure.code, code);
                assert_eq!(failure.decline_code.as_deref(), Some(decline));
                assert!(!failure.message.is_empty());
            }
            other => panic!("{pm}: expected a decline, got {other:?}"),
        }
    }
    // Decline cards cannot be saved, except Stripe's chargeCustomerFail card.
    assert!(matches!(
        gateway
            .attach_card(acct(), &customer, "pm_card_chargeDeclined")
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let saved = gateway
        .attach_card(acct(), &customer, "pm_card_chargeCustomerFail")
        .await
        .expect("saved");
    let answer = gateway
        .charge(&request(
            "pay_saved",
            &customer,
            &saved.payment_method,
            usd(1_000),
        ))
        .await
        .expect("answered");
    assert!(matches!(answer.status, GatewayStatus::Failed(_)));
    let amex = gateway
        .attach_card(acct(), &customer, "pm_card_amex")
        .await
        .expect("amex");
    assert_eq!((amex.brand.as_str(), amex.last4.as_str()), ("amex", "0005"));
}

#[tokio::test]
async fn card_numbers_from_the_card_form() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "c1").await;
    let visa = gateway
        .create_payment_method_from_card("4242 4242 4242 4242", 12, 2030, "123")
        .expect("valid card");
    let saved = gateway
        .attach_card(acct(), &customer, &visa)
        .await
        .expect("attached");
    assert_eq!(saved.payment_method, visa);
    assert_eq!(
        (
            saved.brand.as_str(),
            saved.last4.as_str(),
            saved.exp_month,
            saved.exp_year
        ),
        ("visa", "4242", 12, 2030)
    );
    let paid = gateway
        .charge(&request("pay_1", &customer, &visa, usd(1_000)))
        .await
        .expect("charged");
    assert_eq!(paid.status, GatewayStatus::Succeeded);

    let outcomes = [
        ("4000000000000002", Some("generic_decline")),
        ("4000000000009995", Some("insufficient_funds")),
    ];
    for (n, (number, decline)) in outcomes.into_iter().enumerate() {
        let pm = gateway
            .create_payment_method_from_card(number, 1, 30, "999")
            .expect("valid card");
        // Stripe refuses to save a card that declines...
        assert!(matches!(
            gateway.attach_card(acct(), &customer, &pm).await,
            Err(GatewayError::InvalidRequest { .. })
        ));
        // ...and declines it when charged.
        let answer = gateway
            .charge(&request(&format!("pay_d{n}"), &customer, &pm, usd(1_000)))
            .await
            .expect("answered");
        assert!(
            matches!(&answer.status, GatewayStatus::Failed(f) if f.decline_code.as_deref() == decline),
            "{number}: {answer:?}"
        );
    }
    let sca = gateway
        .create_payment_method_from_card("4000002500003155", 6, 2031, "123")
        .expect("valid");
    gateway
        .attach_card(acct(), &customer, &sca)
        .await
        .expect("authentication cards can be saved");
    // Saved without a set-up, it still asks; with the customer away, that is a decline.
    let answer = gateway
        .charge(&request("pay_sca", &customer, &sca, usd(1_000)))
        .await
        .expect("answered");
    assert!(
        matches!(&answer.status, GatewayStatus::Failed(f) if f.decline_code.as_deref() == Some(AUTHENTICATION_REQUIRED)),
        "{answer:?}"
    );

    // The form's checks.
    assert_eq!(
        gateway.create_payment_method_from_card("4242424242424241", 12, 2030, "123"),
        Err(CardError::InvalidNumber)
    );
    assert_eq!(
        gateway.create_payment_method_from_card("4242424242424242", 13, 2030, "123"),
        Err(CardError::InvalidExpiry)
    );
    assert_eq!(
        gateway.create_payment_method_from_card("4242424242424242", 12, 2025, "123"),
        Err(CardError::Expired),
        "the clock is in January 2026"
    );
    assert!(
        gateway
            .create_payment_method_from_card("4242424242424242", 1, 2026, "123")
            .is_ok(),
        "a card is good through its expiry month"
    );
    assert_eq!(
        gateway.create_payment_method_from_card("378282246310005", 12, 2030, "123"),
        Err(CardError::InvalidCvc),
        "American Express has four digits"
    );
    assert!(
        gateway
            .create_payment_method_from_card("378282246310005", 12, 2030, "1234")
            .is_ok()
    );
}

#[tokio::test]
async fn a_card_form_method_belongs_to_the_first_account_using_it() {
    let (gateway, _) = sandbox();
    let pm = gateway
        .create_payment_method_from_card("5555555555554444", 3, 2029, "123")
        .expect("valid");
    let a = customer(&gateway, acct(), "c1").await;
    let b = customer(&gateway, Some("acct_b".into()), "c1").await;
    gateway
        .attach_card(acct(), &a, &pm)
        .await
        .expect("attached in A");
    assert!(matches!(
        gateway.attach_card(Some("acct_b".into()), &b, &pm).await,
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        gateway.list_cards(Some("acct_b".into()), &a).await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_customer_is_made_once_per_account_and_our_id() {
    let (gateway, _) = sandbox();
    let first = customer(&gateway, acct(), "c1").await;
    assert_eq!(customer(&gateway, acct(), "c1").await, first);
    assert_ne!(customer(&gateway, acct(), "c2").await, first);
    assert_ne!(customer(&gateway, None, "c1").await, first);
    let renamed = gateway
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account: acct(),
            customer: CustomerId::new("c1").expect("id"),
            name: "Another name".into(),
            email: None,
        })
        .await
        .expect("customer");
    assert_ne!(renamed, first, "other details, another request");
}

#[tokio::test]
async fn detached_cards_cannot_be_charged() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    gateway.detach_card(acct(), &pm).await.expect("detached");
    assert!(matches!(
        gateway
            .charge(&request("pay_1", &customer, &pm, usd(1_000)))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let other = common::customer(&gateway, acct(), "c2").await;
    let (_, pm2) = visa_customer(&gateway, "c3").await;
    assert!(
        matches!(
            gateway
                .charge(&request("pay_2", &other, &pm2, usd(1_000)))
                .await,
            Err(GatewayError::InvalidRequest { .. })
        ),
        "another customer's card"
    );
}
