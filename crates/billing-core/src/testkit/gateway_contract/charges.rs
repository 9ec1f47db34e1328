//! Charges: successes, currencies without minor units, declines and authentication.

use crate::money::{Currency, Money};
use crate::payment::Failure;
use crate::ports::{GatewayPayment, GatewayStatus, PaymentGateway};

use super::{GatewayFixture, charged, customer, customer_with_visa, eur, payment_request};

/// A charge on a saved card succeeds and echoes the amount and currency asked.
pub async fn charge_succeeds<F: GatewayFixture>(fixture: F) {
    let (request, paid) = charged(&fixture, "charge", eur(21550)).await;
    assert!(!paid.reference.is_empty());
    assert_eq!(paid.amount, request.amount);
    assert_eq!(paid.amount_received, eur(21550));
    assert_eq!(paid.amount_capturable, eur(0));
    assert_eq!(
        paid.hold_expires_at, None,
        "a captured charge holds nothing"
    );
}

/// A currency without minor units (JPY) goes through unchanged.
pub async fn zero_decimal_currency_charge<F: GatewayFixture>(fixture: F) {
    let (customer, card) = customer_with_visa(&fixture, "yen").await;
    let amount = Money::from_minor(1500, Currency::JPY);
    let request = payment_request(&fixture, "pay_yen", &customer, &card.payment_method, amount);
    let paid = fixture.gateway().charge(&request).await.expect("charged");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    assert_eq!((paid.amount, paid.amount_received), (amount, amount));
}

/// A declined card is an answer, not an error: `Failed` with the issuer's decline code.
pub async fn declined_card_fails<F: GatewayFixture>(fixture: F) {
    let (answer, failure) = declined(&fixture, "declined", "pm_card_chargeDeclined").await;
    assert_eq!(failure.code, "card_declined");
    assert_eq!(failure.decline_code.as_deref(), Some("generic_decline"));
    assert!(!failure.message.is_empty());
    assert!(!answer.reference.is_empty(), "the attempt is on record");
    assert_eq!(answer.amount, eur(5000));
    assert_eq!(answer.amount_received, eur(0));
}

/// Insufficient funds: declined with `insufficient_funds`.
pub async fn insufficient_funds_decline<F: GatewayFixture>(fixture: F) {
    let (_, failure) = declined(&fixture, "nsf", "pm_card_chargeDeclinedInsufficientFunds").await;
    assert_eq!(failure.code, "card_declined");
    assert_eq!(failure.decline_code.as_deref(), Some("insufficient_funds"));
}

/// A card that demands authentication, charged or held with the customer away, is declined
/// (`authentication_required`, which suggests a payment link): nobody can authenticate.
pub async fn off_session_authentication_declines<F: GatewayFixture>(fixture: F) {
    let customer = customer(&fixture, "sca").await;
    for (n, hold) in [(1, false), (2, true)] {
        let request = payment_request(
            &fixture,
            &format!("pay_sca_{n}"),
            &customer,
            "pm_card_authenticationRequired",
            eur(8000),
        );
        let answer = if hold {
            fixture.gateway().authorize(&request).await
        } else {
            fixture.gateway().charge(&request).await
        }
        .expect("a decline is an answer");
        let GatewayStatus::Failed(failure) = &answer.status else {
            panic!("expected a decline, got {answer:?}");
        };
        assert!(failure.suggests_payment_link(), "{failure:?}");
        assert_eq!(answer.amount_received, eur(0));
        assert_eq!(answer.next_action, None);
    }
}

/// Charges a decline test card of a fresh customer (`name`) 50.00: the answer, which must be a
/// failure, and its failure.
async fn declined<F: GatewayFixture>(
    fixture: &F,
    name: &str,
    card: &str,
) -> (GatewayPayment, Failure) {
    let customer = customer(fixture, name).await;
    let request = payment_request(fixture, &format!("pay_{name}"), &customer, card, eur(5000));
    let answer = fixture
        .gateway()
        .charge(&request)
        .await
        .expect("a decline is an answer");
    let GatewayStatus::Failed(failure) = &answer.status else {
        panic!("expected a failure, got {answer:?}");
    };
    let failure = failure.clone();
    (answer, failure)
}
