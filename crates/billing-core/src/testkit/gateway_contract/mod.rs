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
//!
//! The cases live in one module per area (cards and customers, charges, holds, refunds,
//! idempotency and accounts, authentication with the customer there, records, amounts and
//! timings) and are re-exported here, with the helpers they share. A new case is also listed
//! in the macro, which cannot find the cases by itself.

mod authentication;
mod cards;
mod charges;
mod holds;
mod idempotency;
mod records;
mod refunds;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::customer::SavedCard;
use crate::ids::{CustomerId, PaymentId};
use crate::money::{Currency, Money};
use crate::payment::{CardRef, gateway_key};
use crate::ports::{
    CaptureRequest, GatewayError, GatewayPayment, GatewayStatus, NewGatewayCustomer,
    PaymentGateway, PaymentRequest, Presence, RefundRequest,
};

pub use authentication::{
    card_setup_asks_for_authentication, card_setup_confirms_on_session,
    on_session_authentication_asks_the_page, on_session_charge_keeps_the_card_when_asked,
    on_session_hold_keeps_the_card_when_asked,
};
pub use cards::{
    card_setup_starts, cards_attach_list_default_detach, unknown_objects_are_not_found,
};
pub use charges::{
    charge_succeeds, declined_card_fails, insufficient_funds_decline,
    off_session_authentication_declines, zero_decimal_currency_charge,
};
pub use holds::{
    authorize_places_a_hold, cancel_releases_a_hold, over_capture_is_invalid,
    partial_capture_releases_the_rest,
};
pub use idempotency::{
    connected_account_scopes_objects, find_payment_by_our_id,
    same_key_other_request_is_refused_as_unknown, same_key_same_request_replays,
};
pub use records::{
    amounts_follow_the_gateway_rules, multicapture_as_the_account_allows,
    payment_record_lists_refunds, timings_and_events_are_readable,
};
pub use refunds::{find_refund_by_our_id, over_refund_is_invalid, refund_in_parts};

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
        presence: Presence::OffSession,
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
            off_session_authentication_declines,
            on_session_authentication_asks_the_page,
            on_session_charge_keeps_the_card_when_asked,
            on_session_hold_keeps_the_card_when_asked,
            authorize_places_a_hold,
            partial_capture_releases_the_rest,
            over_capture_is_invalid,
            cancel_releases_a_hold,
            refund_in_parts,
            over_refund_is_invalid,
            same_key_same_request_replays,
            same_key_other_request_is_refused_as_unknown,
            find_payment_by_our_id,
            find_refund_by_our_id,
            card_setup_starts,
            card_setup_confirms_on_session,
            card_setup_asks_for_authentication,
            connected_account_scopes_objects,
            payment_record_lists_refunds,
            amounts_follow_the_gateway_rules,
            multicapture_as_the_account_allows,
            timings_and_events_are_readable
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
