//! The gateway contract suite run against the testkit's scripted gateway, so that the double
//! used by the core's own tests answers as the sandbox and Stripe do. The gateway reads the
//! fixture's clock, as it would read the core's, so that its holds expire in the test's time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use billing_core::ids::PaymentId;
use billing_core::money::{Currency, Money};
use billing_core::payment::{CardRef, gateway_key};
use billing_core::ports::{
    CaptureRequest, Clock, GatewayError, GatewayStatus, PaymentGateway, PaymentRequest,
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
    assert_eq!(found.status, GatewayStatus::Canceled);
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
