//! The gateway contract suite: the same cases, with the same expected results, for every
//! [`PaymentGateway`] (the in-process sandbox, the Stripe adapter against a fake Stripe server,
//! and — by hand — Stripe's own test mode). An adapter crate runs it with
//! [`gateway_contract!`](crate::gateway_contract):
//!
//! ```text
//! billing_core::gateway_contract!(async { MyFixture::start().await });
//! ```
//!
//! which expands to one `#[tokio::test]` per case, each on a fresh fixture.
//!
//! The cases only use Stripe's documented test payment methods (`pm_card_visa`,
//! `pm_card_chargeDeclined`...), so that every gateway that claims "behaves like Stripe's test
//! mode" is held to the same answers. Decline and authentication cards are charged by their test
//! id without being attached first, because Stripe refuses to save a card that declines.

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};

use crate::customer::SavedCard;
use crate::ids::{CustomerId, PaymentId};
use crate::money::{Currency, Money};
use crate::payment::{CardRef, gateway_key};
use crate::ports::{
    CancelRequest, CaptureRequest, GatewayError, GatewayPayment, GatewayStatus, NewGatewayCustomer,
    PaymentGateway, PaymentRequest, RefundRequest, RefundStatus,
};

/// Makes a gateway for one case of the suite.
#[async_trait]
pub trait GatewayFixture: Send + Sync {
    /// The gateway under test.
    type Gateway: PaymentGateway;

    /// The gateway. Every call of a case goes through it.
    fn gateway(&self) -> &Self::Gateway;

    /// The connected account every call acts on (`acct_...`), or `None` for the platform.
    fn account(&self) -> Option<String>;

    /// A second connected account, to check that objects made under [`Self::account`] are not
    /// visible from it. `None` when the gateway cannot be asked (real Stripe refuses unknown
    /// accounts outright), which leaves that check out.
    fn other_account(&self) -> Option<String> {
        None
    }

    /// The time as the gateway sees it, so that "a hold expires in the future" means the same
    /// for a gateway on a test clock and for one on the wall clock.
    fn now(&self) -> DateTime<Utc>;
}

fn pid(text: &str) -> PaymentId {
    PaymentId::new(text).expect("contract ids are valid")
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

/// A customer made for one case.
async fn customer<F: GatewayFixture>(fixture: &F, name: &str) -> String {
    let created = fixture
        .gateway()
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account: fixture.account(),
            customer: CustomerId::new(format!("contract-{name}")).expect("valid customer id"),
            name: format!("Contract {name}"),
            email: Some(format!("{name}@example.com")),
        })
        .await
        .expect("customer created");
    assert!(!created.is_empty(), "a gateway customer id");
    created
}

/// A customer with `pm_card_visa` saved, and the saved card's own id (Stripe gives a test
/// payment method a new id when it is attached).
async fn customer_with_visa<F: GatewayFixture>(fixture: &F, name: &str) -> (String, SavedCard) {
    let customer = customer(fixture, name).await;
    let card = fixture
        .gateway()
        .attach_card(fixture.account(), &customer, "pm_card_visa")
        .await
        .expect("visa attached");
    (customer, card)
}

fn payment_request<F: GatewayFixture>(
    fixture: &F,
    payment: &str,
    customer: &str,
    payment_method: &str,
    amount: Money,
) -> PaymentRequest {
    let payment = pid(payment);
    PaymentRequest {
        account: fixture.account(),
        idempotency_key: gateway_key(&payment, "attempt"),
        payment,
        card: CardRef {
            gateway_customer: customer.to_owned(),
            payment_method: payment_method.to_owned(),
        },
        amount,
        description: Some("Contract booking".into()),
    }
}

/// A hold of `amount` on a fresh customer's visa.
async fn hold<F: GatewayFixture>(fixture: &F, name: &str, amount: Money) -> GatewayPayment {
    let (customer, card) = customer_with_visa(fixture, name).await;
    let request = payment_request(
        fixture,
        &format!("pay_{name}_hold"),
        &customer,
        &card.payment_method,
        amount,
    );
    let held = fixture
        .gateway()
        .authorize(&request)
        .await
        .expect("hold placed");
    assert_eq!(held.status, GatewayStatus::RequiresCapture, "{held:?}");
    held
}

/// A captured charge of `amount` on a fresh customer's visa, with the request made.
async fn charged<F: GatewayFixture>(
    fixture: &F,
    name: &str,
    amount: Money,
) -> (PaymentRequest, GatewayPayment) {
    let (customer, card) = customer_with_visa(fixture, name).await;
    let request = payment_request(
        fixture,
        &format!("pay_{name}_charge"),
        &customer,
        &card.payment_method,
        amount,
    );
    let paid = fixture
        .gateway()
        .charge(&request)
        .await
        .expect("charge answered");
    assert_eq!(paid.status, GatewayStatus::Succeeded, "{paid:?}");
    (request, paid)
}

fn capture_request<F: GatewayFixture>(
    fixture: &F,
    reference: &str,
    capture: &str,
    amount: Money,
    final_capture: bool,
) -> CaptureRequest {
    let capture = pid(capture);
    CaptureRequest {
        account: fixture.account(),
        payment_reference: reference.to_owned(),
        idempotency_key: gateway_key(&capture, "attempt"),
        capture,
        amount,
        final_capture,
    }
}

fn refund_request<F: GatewayFixture>(
    fixture: &F,
    reference: &str,
    refund: &str,
    amount: Money,
) -> RefundRequest {
    let refund = pid(refund);
    RefundRequest {
        account: fixture.account(),
        payment_reference: reference.to_owned(),
        idempotency_key: gateway_key(&refund, "attempt"),
        refund,
        amount,
        reason: Some("Contract refund".into()),
    }
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, GatewayError>, what: &str) {
    assert!(
        matches!(result, Err(GatewayError::InvalidRequest { .. })),
        "{what}: expected InvalidRequest, got {result:?}"
    );
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, GatewayError>, what: &str) {
    assert!(
        matches!(result, Err(GatewayError::NotFound(_))),
        "{what}: expected NotFound, got {result:?}"
    );
}

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
    let customer = customer(&fixture, "declined").await;
    let request = payment_request(
        &fixture,
        "pay_declined",
        &customer,
        "pm_card_chargeDeclined",
        eur(5000),
    );
    let answer = fixture
        .gateway()
        .charge(&request)
        .await
        .expect("a decline is an answer");
    let GatewayStatus::Failed(failure) = &answer.status else {
        panic!("expected a failure, got {answer:?}");
    };
    assert_eq!(failure.code, "card_declined");
    assert_eq!(failure.decline_code.as_deref(), Some("generic_decline"));
    assert!(!failure.message.is_empty());
    assert!(!answer.reference.is_empty(), "the attempt is on record");
    assert_eq!(answer.amount, eur(5000));
    assert_eq!(answer.amount_received, eur(0));
}

/// Insufficient funds: declined with `insufficient_funds`.
pub async fn insufficient_funds_decline<F: GatewayFixture>(fixture: F) {
    let customer = customer(&fixture, "nsf").await;
    let request = payment_request(
        &fixture,
        "pay_nsf",
        &customer,
        "pm_card_chargeDeclinedInsufficientFunds",
        eur(5000),
    );
    let answer = fixture
        .gateway()
        .charge(&request)
        .await
        .expect("a decline is an answer");
    let GatewayStatus::Failed(failure) = &answer.status else {
        panic!("expected a failure, got {answer:?}");
    };
    assert_eq!(failure.code, "card_declined");
    assert_eq!(failure.decline_code.as_deref(), Some("insufficient_funds"));
}

/// A card that demands authentication off-session asks for action, for charges and holds.
pub async fn authentication_required<F: GatewayFixture>(fixture: F) {
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
        .expect("requires action is an answer");
        assert_eq!(answer.status, GatewayStatus::RequiresAction, "{answer:?}");
        assert_eq!(answer.amount_received, eur(0));
    }
}

/// A hold can capture its amount and expires in the future.
pub async fn authorize_places_a_hold<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "hold", eur(10000)).await;
    assert_eq!(held.amount, eur(10000));
    assert_eq!(held.amount_capturable, eur(10000));
    assert_eq!(held.amount_received, eur(0));
    let expires = held.hold_expires_at.expect("a hold expiry");
    let now = fixture.now();
    assert!(
        expires > now + chrono::Duration::days(1),
        "{expires} is not well after {now}"
    );
    assert!(
        expires <= now + chrono::Duration::days(31),
        "{expires} is too far after {now}"
    );
}

/// A final capture of part of a hold takes that part and releases the rest.
pub async fn partial_capture_releases_the_rest<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "partial", eur(10000)).await;
    let captured = fixture
        .gateway()
        .capture(&capture_request(
            &fixture,
            &held.reference,
            "pay_partial_capture",
            eur(6000),
            true,
        ))
        .await
        .expect("captured");
    assert_eq!(captured.reference, held.reference);
    assert_eq!(captured.status, GatewayStatus::Succeeded);
    assert_eq!(captured.amount_received, eur(6000));
    assert_eq!(captured.amount_capturable, eur(0), "the rest is released");
    // Nothing is left to capture.
    assert_invalid(
        fixture
            .gateway()
            .capture(&capture_request(
                &fixture,
                &held.reference,
                "pay_partial_capture_2",
                eur(1000),
                true,
            ))
            .await,
        "capturing a closed hold",
    );
}

/// Capturing more than the hold is refused and captures nothing.
pub async fn over_capture_is_invalid<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "over_capture", eur(10000)).await;
    assert_invalid(
        fixture
            .gateway()
            .capture(&capture_request(
                &fixture,
                &held.reference,
                "pay_over_capture",
                eur(10001),
                true,
            ))
            .await,
        "over-capture",
    );
    let after = fixture
        .gateway()
        .find_payment(fixture.account(), &pid("pay_over_capture_hold"))
        .await
        .expect("found")
        .expect("the hold");
    assert_eq!(after.status, GatewayStatus::RequiresCapture);
    assert_eq!(after.amount_capturable, eur(10000));
    // The full amount still captures.
    let captured = fixture
        .gateway()
        .capture(&capture_request(
            &fixture,
            &held.reference,
            "pay_over_capture_ok",
            eur(10000),
            true,
        ))
        .await
        .expect("captured");
    assert_eq!(captured.amount_received, eur(10000));
}

/// Canceling a hold releases it; it cannot be captured afterwards.
pub async fn cancel_releases_a_hold<F: GatewayFixture>(fixture: F) {
    let held = hold(&fixture, "cancel", eur(3000)).await;
    let canceled = fixture
        .gateway()
        .cancel(&CancelRequest {
            account: fixture.account(),
            payment_reference: held.reference.clone(),
            idempotency_key: gateway_key(&pid("pay_cancel_hold"), "cancel"),
        })
        .await
        .expect("canceled");
    assert_eq!(canceled.reference, held.reference);
    assert_eq!(canceled.status, GatewayStatus::Canceled);
    assert_eq!(canceled.amount_capturable, eur(0));
    assert_eq!(canceled.amount_received, eur(0));
    assert_invalid(
        fixture
            .gateway()
            .capture(&capture_request(
                &fixture,
                &held.reference,
                "pay_cancel_capture",
                eur(3000),
                true,
            ))
            .await,
        "capturing a canceled hold",
    );
}

/// A charge is refunded in two parts; a third refund finds nothing left.
pub async fn refund_in_parts<F: GatewayFixture>(fixture: F) {
    let (_, paid) = charged(&fixture, "refunds", eur(10000)).await;
    let first = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_refund_1",
            eur(3000),
        ))
        .await
        .expect("refunded");
    assert_eq!(first.status, RefundStatus::Succeeded);
    assert_eq!(first.amount, eur(3000));
    let rest = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_refund_2",
            eur(7000),
        ))
        .await
        .expect("refunded the rest");
    assert_eq!(rest.status, RefundStatus::Succeeded);
    assert_eq!(rest.amount, eur(7000));
    assert_ne!(first.reference, rest.reference);
    assert_invalid(
        fixture
            .gateway()
            .refund(&refund_request(
                &fixture,
                &paid.reference,
                "pay_refund_3",
                eur(1),
            ))
            .await,
        "refunding a fully refunded charge",
    );
}

/// Refunding more than was captured is refused and refunds nothing.
pub async fn over_refund_is_invalid<F: GatewayFixture>(fixture: F) {
    let (_, paid) = charged(&fixture, "over_refund", eur(10000)).await;
    assert_invalid(
        fixture
            .gateway()
            .refund(&refund_request(
                &fixture,
                &paid.reference,
                "pay_over_refund",
                eur(10001),
            ))
            .await,
        "over-refund",
    );
    assert_eq!(
        fixture
            .gateway()
            .find_refund(fixture.account(), &paid.reference, &pid("pay_over_refund"))
            .await
            .expect("looked up"),
        None
    );
    // A refund of a part of a captured hold is bounded by what was captured.
    let held = hold(&fixture, "over_refund_hold", eur(5000)).await;
    fixture
        .gateway()
        .capture(&capture_request(
            &fixture,
            &held.reference,
            "pay_over_refund_capture",
            eur(2000),
            true,
        ))
        .await
        .expect("captured");
    assert_invalid(
        fixture
            .gateway()
            .refund(&refund_request(
                &fixture,
                &held.reference,
                "pay_over_refund_held",
                eur(2001),
            ))
            .await,
        "refunding more than was captured",
    );
}

/// The same idempotency key with the same request answers the same payment: one attempt.
pub async fn same_key_same_request_replays<F: GatewayFixture>(fixture: F) {
    let (customer, card) = customer_with_visa(&fixture, "replay").await;
    let request = payment_request(
        &fixture,
        "pay_replay",
        &customer,
        &card.payment_method,
        eur(2500),
    );
    let first = fixture.gateway().charge(&request).await.expect("first");
    let second = fixture.gateway().charge(&request).await.expect("replay");
    assert_eq!(
        first.reference, second.reference,
        "one attempt, answered twice"
    );
    assert_eq!(second.status, GatewayStatus::Succeeded);
    assert_eq!(second.amount_received, eur(2500));
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &request.payment)
        .await
        .expect("found")
        .expect("present");
    assert_eq!(found.reference, first.reference);
    // Refunds replay the same way.
    let refund = refund_request(&fixture, &first.reference, "pay_replay_refund", eur(500));
    let r1 = fixture.gateway().refund(&refund).await.expect("refund");
    let r2 = fixture.gateway().refund(&refund).await.expect("replay");
    assert_eq!(r1.reference, r2.reference);
    // Only 500 was refunded: 2000 is left.
    let rest = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &first.reference,
            "pay_replay_refund_rest",
            eur(2000),
        ))
        .await
        .expect("the rest");
    assert_eq!(rest.amount, eur(2000));
}

/// The same idempotency key with another request is refused, as Stripe does.
pub async fn same_key_other_request_is_invalid<F: GatewayFixture>(fixture: F) {
    let (customer, card) = customer_with_visa(&fixture, "key_reuse").await;
    let request = payment_request(
        &fixture,
        "pay_key_reuse",
        &customer,
        &card.payment_method,
        eur(2500),
    );
    fixture.gateway().charge(&request).await.expect("first");
    let mut other = request.clone();
    other.amount = eur(9999);
    assert_invalid(
        fixture.gateway().charge(&other).await,
        "same key, other amount",
    );
}

/// The reconciler finds a payment by our id; an unknown id is `None`.
pub async fn find_payment_by_our_id<F: GatewayFixture>(fixture: F) {
    let (request, paid) = charged(&fixture, "find", eur(4200)).await;
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &request.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.reference, paid.reference);
    assert_eq!(found.status, GatewayStatus::Succeeded);
    assert_eq!(
        (found.amount, found.amount_received),
        (eur(4200), eur(4200))
    );
    assert_eq!(
        fixture
            .gateway()
            .find_payment(fixture.account(), &pid("pay_never_made"))
            .await
            .expect("looked up"),
        None
    );
    // A declined attempt is found as failed, a hold as a hold.
    let customer = customer(&fixture, "find_declined").await;
    let declined = payment_request(
        &fixture,
        "pay_find_declined",
        &customer,
        "pm_card_chargeDeclined",
        eur(1000),
    );
    fixture.gateway().charge(&declined).await.expect("answered");
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &declined.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert!(
        matches!(&found.status, GatewayStatus::Failed(f) if f.decline_code.as_deref() == Some("generic_decline")),
        "{found:?}"
    );
    let held = hold(&fixture, "find_hold", eur(1500)).await;
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &pid("pay_find_hold_hold"))
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.reference, held.reference);
    assert_eq!(found.status, GatewayStatus::RequiresCapture);
    assert_eq!(found.amount_capturable, eur(1500));
    assert!(found.hold_expires_at.is_some());
}

/// The reconciler finds a refund by our refund id; an unknown id is `None`.
pub async fn find_refund_by_our_id<F: GatewayFixture>(fixture: F) {
    let (_, paid) = charged(&fixture, "find_refund", eur(6000)).await;
    let made = fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_find_refund_1",
            eur(1000),
        ))
        .await
        .expect("refunded");
    fixture
        .gateway()
        .refund(&refund_request(
            &fixture,
            &paid.reference,
            "pay_find_refund_2",
            eur(2000),
        ))
        .await
        .expect("refunded");
    let found = fixture
        .gateway()
        .find_refund(
            fixture.account(),
            &paid.reference,
            &pid("pay_find_refund_1"),
        )
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.reference, made.reference);
    assert_eq!(found.amount, eur(1000));
    assert_eq!(found.status, RefundStatus::Succeeded);
    assert_eq!(
        fixture
            .gateway()
            .find_refund(fixture.account(), &paid.reference, &pid("pay_no_refund"))
            .await
            .expect("looked up"),
        None
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

/// Calls on behalf of a connected account work, and what one account makes is not visible
/// from another (when the fixture has a second account to ask).
pub async fn connected_account_scopes_objects<F: GatewayFixture>(fixture: F) {
    let (request, paid) = charged(&fixture, "connect", eur(1200)).await;
    assert_eq!(request.account, fixture.account());
    let found = fixture
        .gateway()
        .find_payment(fixture.account(), &request.payment)
        .await
        .expect("looked up");
    assert_eq!(found.map(|p| p.reference), Some(paid.reference.clone()));
    let Some(other) = fixture.other_account() else {
        return;
    };
    assert_ne!(Some(other.clone()), fixture.account());
    assert_eq!(
        fixture
            .gateway()
            .find_payment(Some(other.clone()), &request.payment)
            .await
            .expect("looked up"),
        None,
        "another account does not see the payment"
    );
    assert_not_found(
        fixture
            .gateway()
            .list_cards(Some(other.clone()), &request.card.gateway_customer)
            .await,
        "another account's customer",
    );
    let mut elsewhere = refund_request(&fixture, &paid.reference, "pay_connect_refund", eur(100));
    elsewhere.account = Some(other);
    assert_not_found(
        fixture.gateway().refund(&elsewhere).await,
        "refund from another account",
    );
}

/// Runs every gateway contract case as its own `#[tokio::test]`, each on a fresh fixture made
/// by `$fixture` (an expression, awaited: write `async { ... }`).
#[macro_export]
macro_rules! gateway_contract {
    ($fixture:expr) => {
        $crate::gateway_contract!(@cases $fixture;
            cards_attach_list_default_detach,
            unknown_objects_are_not_found,
            charge_succeeds,
            zero_decimal_currency_charge,
            declined_card_fails,
            insufficient_funds_decline,
            authentication_required,
            authorize_places_a_hold,
            partial_capture_releases_the_rest,
            over_capture_is_invalid,
            cancel_releases_a_hold,
            refund_in_parts,
            over_refund_is_invalid,
            same_key_same_request_replays,
            same_key_other_request_is_invalid,
            find_payment_by_our_id,
            find_refund_by_our_id,
            card_setup_starts,
            connected_account_scopes_objects
        );
    };
    (@cases $fixture:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture.await;
                $crate::testkit::gateway_contract::$case(fixture).await;
            }
        )*
    };
}
