//! The gateway contract suite run against the testkit's scripted gateway, so that the double
//! used by the core's own tests answers as the sandbox and Stripe do. The gateway reads the
//! fixture's clock, as it would read the core's, so that its holds expire in the test's time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use billing_core::ids::PaymentId;
use billing_core::money::{Currency, Money};
use billing_core::payment::{CardRef, gateway_key};
use billing_core::ports::{
    CaptureRequest, Clock, GatewayError, GatewayStatus, PaymentGateway, PaymentRequest, Presence,
};
use billing_core::testkit::gateway_contract::GatewayFixture;
use billing_core::testkit::{FixedClock, ScriptedGateway};
use chrono::{DateTime, Utc};

struct Scripted {
    gateway: ScriptedGateway,
    clock: Arc<FixedClock>,
    account: Option<String>,
    other_account: Option<String>,
}

impl Scripted {
    fn new(account: Option<&str>, other_account: &str) -> Self {
        let clock = Arc::new(FixedClock::default());
        Scripted {
            gateway: ScriptedGateway::with_clock(clock.clone()),
            clock,
            account: account.map(str::to_owned),
            other_account: Some(other_account.to_owned()),
        }
    }
}

impl GatewayFixture for Scripted {
    type Gateway = ScriptedGateway;

    fn gateway(&self) -> &ScriptedGateway {
        &self.gateway
    }

    fn account(&self) -> Option<String> {
        self.account.clone()
    }

    fn other_account(&self) -> Option<String> {
        self.other_account.clone()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

billing_core::gateway_contract!(async { Scripted::new(Some("acct_contract"), "acct_other") });

/// The same cases on the platform's own account, which the core's tests use: what it makes is
/// not found from a connected account.
mod platform {
    use super::Scripted;

    billing_core::gateway_contract!(async { Scripted::new(None, "acct_other") });
}

fn visa_request(account: Option<String>, payment: &str, amount: i64) -> PaymentRequest {
    let payment = PaymentId::new(payment).unwrap();
    PaymentRequest {
        account,
        idempotency_key: gateway_key(&payment, "attempt"),
        payment,
        card: CardRef {
            gateway_customer: "cus_1".into(),
            payment_method: "pm_card_visa".into(),
        },
        amount: Money::from_minor(amount, Currency::EUR),
        description: None,
        presence: Presence::OffSession,
    }
}

/// Without a clock, a card seeded straight into a store (customer `cus_1`, never made at the
/// gateway) is charged, and a hold carries no expiry (the core applies its own).
#[tokio::test]
async fn a_gateway_without_a_clock_charges_seeded_cards() {
    let gateway = ScriptedGateway::new();
    let paid = gateway.charge(&visa_request(None, "pay_1", 1000)).await;
    assert_eq!(paid.unwrap().status, GatewayStatus::Succeeded);
    let held = gateway
        .authorize(&visa_request(None, "pay_2", 1000))
        .await
        .unwrap();
    assert_eq!(held.status, GatewayStatus::RequiresCapture);
    assert_eq!(held.hold_expires_at, None);
    assert_eq!(gateway.payments_made(), 2);
}

/// On a clock, a hold is released once its expiry passes: it can no longer be captured.
#[tokio::test]
async fn a_hold_on_a_clock_expires() {
    let clock = Arc::new(FixedClock::default());
    let gateway = ScriptedGateway::with_clock(clock.clone());
    let account = Some("acct_1".to_owned());
    let held = gateway
        .authorize(&visa_request(account.clone(), "pay_1", 1000))
        .await
        .unwrap();
    assert_eq!(
        held.hold_expires_at,
        Some(clock.now() + chrono::Duration::days(7))
    );
    clock.advance(chrono::Duration::days(7));
    let found = gateway
        .find_payment(account.clone(), &PaymentId::new("pay_1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.status, GatewayStatus::Expired);
    let capture = PaymentId::new("pay_1_capture").unwrap();
    let late = gateway
        .capture(&CaptureRequest {
            account,
            payment_reference: held.reference,
            idempotency_key: gateway_key(&capture, "attempt"),
            capture,
            amount: Money::from_minor(1000, Currency::EUR),
            final_capture: true,
        })
        .await;
    assert!(
        matches!(late, Err(GatewayError::InvalidRequest { .. })),
        "{late:?}"
    );
}

fn customer_request(
    customer: &str,
    payment: &str,
    method: &str,
    presence: Presence,
) -> PaymentRequest {
    let mut request = visa_request(None, payment, 2000);
    request.card = CardRef {
        gateway_customer: customer.into(),
        payment_method: method.into(),
    };
    request.presence = presence;
    request
}

async fn gateway_customer(gateway: &ScriptedGateway) -> String {
    gateway
        .create_customer(&billing_core::ports::NewGatewayCustomer {
            account: None,
            business: "acme".parse().unwrap(),
            customer: "c-1".parse().unwrap(),
            name: "Ada".into(),
            email: None,
        })
        .await
        .unwrap()
}

fn on_session(save_card: bool) -> Presence {
    Presence::OnSession {
        return_url: "https://pay.example.com/return".into(),
        save_card,
    }
}

/// The card that asks when set up charges without the customer only once set up, by a card
/// set-up or by a payment that kept it; the cards that always ask never do.
#[tokio::test]
async fn three_d_secure_cards_behave_as_stripes() {
    let gateway = ScriptedGateway::new();
    let customer = gateway_customer(&gateway).await;
    let setup_card = "pm_card_authenticationRequiredOnSetup";
    let away = gateway
        .charge(&customer_request(
            &customer,
            "pay_1",
            setup_card,
            Presence::OffSession,
        ))
        .await
        .unwrap();
    assert!(matches!(&away.status, GatewayStatus::Failed(f) if f.suggests_payment_link()));
    let here = gateway
        .charge(&customer_request(
            &customer,
            "pay_2",
            setup_card,
            on_session(true),
        ))
        .await
        .unwrap();
    assert_eq!(here.status, GatewayStatus::RequiresAction);
    gateway.authenticate(None, &here.reference, true).unwrap();
    let cards = gateway.list_cards(None, &customer).await.unwrap();
    assert_eq!(cards.len(), 1, "kept once paid");
    let later = gateway
        .charge(&customer_request(
            &customer,
            "pay_3",
            setup_card,
            Presence::OffSession,
        ))
        .await
        .unwrap();
    assert_eq!(later.status, GatewayStatus::Succeeded, "set up now");
    for always in [
        "pm_card_authenticationRequired",
        "pm_card_threeDSecure2Required",
    ] {
        let asked = gateway
            .charge(&customer_request(
                &customer,
                &format!("pay_{always}"),
                always,
                on_session(true),
            ))
            .await
            .unwrap();
        gateway.authenticate(None, &asked.reference, true).unwrap();
        let again = gateway
            .charge(&customer_request(
                &customer,
                &format!("pay_{always}_away"),
                always,
                Presence::OffSession,
            ))
            .await
            .unwrap();
        assert!(
            matches!(again.status, GatewayStatus::Failed(_)),
            "{always}: {again:?}"
        );
    }
}

/// What a business does in the dashboard is on the record, and each change records its event.
#[tokio::test]
async fn dashboard_changes_are_on_the_record_with_their_events() {
    let gateway = ScriptedGateway::new();
    let held = gateway
        .authorize(&visa_request(None, "pay_hold", 10_000))
        .await
        .unwrap();
    assert!(held.multicapture, "allowed by default");
    let eur = |minor| Money::from_minor(minor, Currency::EUR);
    gateway
        .dashboard_capture(None, &held.reference, eur(4_000), false)
        .unwrap();
    let refund = gateway
        .dashboard_refund(None, &held.reference, eur(1_000))
        .unwrap();
    assert_eq!(refund.refund, None, "none of ours");
    let dispute = gateway
        .open_dispute(None, &held.reference, eur(500), "fraudulent")
        .unwrap();
    gateway
        .close_dispute(None, &dispute.reference, true)
        .unwrap();
    assert!(
        gateway
            .close_dispute(None, &dispute.reference, false)
            .is_err()
    );
    let record = gateway.payment_record(None, &held.reference).await.unwrap();
    assert_eq!(record.payment.status, GatewayStatus::RequiresCapture);
    assert_eq!(record.payment.amount_received, eur(4_000));
    assert_eq!(record.refunds.len(), 1);
    assert_eq!(
        record.disputes[0].status,
        billing_core::ports::DisputeStatus::Won
    );
    let types: Vec<String> = gateway.events().into_iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            "payment_intent.amount_capturable_updated",
            "payment_intent.amount_capturable_updated",
            "charge.refunded",
            "charge.dispute.created",
            "charge.dispute.closed",
        ]
    );
}

/// Without multicapture a non-final capture is refused; a search lag hides a new payment.
#[tokio::test]
async fn multicapture_per_account_and_the_search_lag() {
    let clock = Arc::new(FixedClock::default());
    let gateway =
        ScriptedGateway::with_clock(clock.clone()).with_search_lag(chrono::Duration::minutes(1));
    gateway.set_multicapture(Some("acct_single"), false);
    let held = gateway
        .authorize(&visa_request(Some("acct_single".into()), "pay_1", 1000))
        .await
        .unwrap();
    assert!(!held.multicapture);
    let capture = PaymentId::new("pay_1_capture").unwrap();
    let partial = gateway
        .capture(&CaptureRequest {
            account: Some("acct_single".into()),
            payment_reference: held.reference.clone(),
            idempotency_key: gateway_key(&capture, "attempt"),
            capture,
            amount: Money::from_minor(500, Currency::EUR),
            final_capture: false,
        })
        .await;
    assert!(
        matches!(partial, Err(GatewayError::InvalidRequest { .. })),
        "{partial:?}"
    );
    let ours = PaymentId::new("pay_1").unwrap();
    let hidden = gateway
        .find_payment(Some("acct_single".into()), &ours)
        .await
        .unwrap();
    assert_eq!(hidden, None, "not searchable yet");
    clock.advance(chrono::Duration::minutes(1));
    let found = gateway
        .find_payment(Some("acct_single".into()), &ours)
        .await
        .unwrap();
    assert_eq!(found.map(|p| p.reference), Some(held.reference));
    assert_eq!(gateway.search_lag(), chrono::Duration::minutes(1));
}
